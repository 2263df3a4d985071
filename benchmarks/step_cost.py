"""Cost of one LEM training step and inference step beside a plain Keras BiGRU classifier.

SemEval-2018 E-c shaped batches: 32 sentences of 50 tokens, 11 emotions, eBoW vocabulary
5,000, token vocabulary 20,000, 300-d embeddings, 3 memory hops. Both models run in the
same process under the same thread settings; each step is warmed up, then the median of
many timed steps (LEM and BiGRU steps alternating) is reported. The last line is the
LEM/BiGRU train-step cost ratio.

Usage: python benchmarks/step_cost.py [--steps N] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def _interleaved_medians(fns, warmup: int, steps: int) -> list[float]:
    """Median seconds of each function, timed in alternating rounds.

    Alternating (A, B, A, B, ...) exposes both models to the same background load, so
    the ratio stays meaningful on a shared machine.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(steps):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads (0 = TF default)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--emotions", type=int, default=11)
    parser.add_argument("--ebow", type=int, default=5000)
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--embedding-dim", type=int, default=300)
    parser.add_argument("--hops", type=int, default=3)
    parser.add_argument("--attention-dim", type=int, default=None, help="override LEM's attention_dim")
    parser.add_argument(
        "--ef-dim", type=int, default=None, help="override LEM's ef_dim (default: model default)"
    )
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    from lem_keras.baselines import build_bigru_classifier
    from lem_keras.model import LatentEmotionMemory

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    b, length, k, v = args.batch, args.length, args.emotions, args.ebow
    tokens = rng.integers(1, args.vocab, size=(b, length)).astype("int32")
    lengths = rng.integers(8, length + 1, size=b)
    tokens[np.arange(length)[None, :] >= lengths[:, None]] = 0
    ebow = (rng.random((b, v)) < 0.002).astype("float32")
    ebow[:, 0] += 1.0
    ebow /= ebow.sum(axis=1, keepdims=True)
    labels = (rng.random((b, k)) < 0.3).astype("float32")
    inputs = {"tokens": tf.constant(tokens), "ebow": tf.constant(ebow)}
    y = tf.constant(labels)

    overrides = {"ef_dim": args.ef_dim, "attention_dim": args.attention_dim}
    lem = LatentEmotionMemory(
        num_emotions=k,
        ebow_size=v,
        vocab_size=args.vocab,
        embedding_dim=args.embedding_dim,
        hops=args.hops,
        **{key: value for key, value in overrides.items() if value is not None},
    )
    lem.compile(optimizer=keras.optimizers.Adam(1e-3))
    lem.set_phase("joint")
    lem.make_train_function()
    lem_train = lem.train_function
    lem_data = tf.data.Dataset.from_tensors((inputs, y)).repeat()
    lem_iter = iter(lem_data)

    bigru = build_bigru_classifier(args.vocab, args.embedding_dim, length, k)
    bigru.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    bigru.make_train_function()
    bigru_train = bigru.train_function
    bigru_iter = iter(tf.data.Dataset.from_tensors((tf.constant(tokens), y)).repeat())

    lem_infer = tf.function(lambda x: lem(x, training=False))
    bigru_infer = tf.function(lambda x: bigru(x, training=False))
    tokens_t = tf.constant(tokens)

    def run(fn):
        return lambda: [t.numpy() if hasattr(t, "numpy") else t for t in tf.nest.flatten(fn())]

    train_lem, train_bigru = _interleaved_medians(
        [run(lambda: lem_train(lem_iter)), run(lambda: bigru_train(bigru_iter))], args.warmup, args.steps
    )
    infer_lem, infer_bigru = _interleaved_medians(
        [run(lambda: lem_infer(inputs)), run(lambda: bigru_infer(tokens_t))], args.warmup, args.steps
    )
    rows = [
        ("LEM train step (joint)", train_lem),
        ("BiGRU train step", train_bigru),
        ("LEM inference step", infer_lem),
        ("BiGRU inference step", infer_bigru),
    ]
    print(
        f"batch {b}, {length} tokens, {k} emotions, eBoW {v}, vocab {args.vocab}, "
        f"{args.embedding_dim}-d embeddings, {args.hops} hops, "
        f"threads intra={tf.config.threading.get_intra_op_parallelism_threads()} "
        f"inter={tf.config.threading.get_inter_op_parallelism_threads()}, median of {args.steps} steps"
    )
    print(f"LEM parameters: {lem.count_params():,}   BiGRU parameters: {bigru.count_params():,}")
    print(f"{'step':<26}{'median ms':>12}")
    for name, seconds in rows:
        print(f"{name:<26}{seconds * 1e3:>12.2f}")
    print(f"LEM/BiGRU inference-step cost ratio: {rows[2][1] / rows[3][1]:.3f}")
    print(f"LEM/BiGRU train-step cost ratio: {rows[0][1] / rows[1][1]:.3f}")


if __name__ == "__main__":
    main()
