"""Serving latency and throughput: the exported SavedModel beside Keras in Python.

Contenders, all on the same demo-dev sentences in the same process:

* ``SavedModel signature``: ``tf.saved_model.load(DIR).signatures["serving_default"]``
  called on raw strings (all preprocessing in the graph), as TF Serving runs it;
* ``transform + model.predict``: ``pipeline.transform(texts)`` then ``model.predict``;
* ``transform + model(x)``: ``pipeline.transform(texts)`` then a direct eager
  ``model(features, training=False)`` call.

Workloads: one sentence per call (latency p50 / p99) and batches of 64 (throughput in
sentences per second, from the total time of all batch calls). Each round times every
contender in turn (so all of them see the same background load); the table reports the
best round and, in brackets, the spread (worst round) of several rounds, because the
machine may be shared.

Usage: python benchmarks/serving.py [--model DIR] [--rounds R] [--single N] [--batches N]
       (no --model: trains the demo model into a temporary directory first, ~1-3 min)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_P50_MS = 5.0
TARGET_THROUGHPUT = 2000.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _time_calls(fn, inputs: list, calls: int) -> list[float]:
    seconds = []
    for i in range(calls):
        x = inputs[i % len(inputs)]
        start = time.perf_counter()
        fn(x)
        seconds.append(time.perf_counter() - start)
    return seconds


def _train_demo(directory: Path) -> None:
    from lem_keras.data.demo import load_demo
    from lem_keras.training import named_config, train

    print(f"no --model: training the demo model into {directory} ...", file=sys.stderr)
    train_data, dev_data = load_demo("en")
    train(named_config("demo"), train_data, dev_data, out_dir=directory, verbose=0, log=lambda *_: None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", metavar="DIR", help="a directory written by `lem-keras train` (English)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best and worst are reported)")
    parser.add_argument("--single", type=int, default=200, help="one-sentence calls per round and contender")
    parser.add_argument("--batches", type=int, default=30, help="batch-64 calls per round and contender")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads (0: TF default)")
    parser.add_argument("--skip-predict", action="store_true", help="leave model.predict out (it is slow)")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    from lem_keras.data.demo import load_demo
    from lem_keras.export import export_saved_model
    from lem_keras.training import load_artifacts

    with tempfile.TemporaryDirectory(prefix="lem_serving_") as tmp:
        model_dir = Path(args.model) if args.model else Path(tmp) / "model"
        if not args.model:
            _train_demo(model_dir)
        model, pipeline = load_artifacts(model_dir)
        start = time.perf_counter()
        saved = export_saved_model(model, pipeline, Path(tmp) / "saved_models" / "lem")
        export_seconds = time.perf_counter() - start
        signature = tf.saved_model.load(str(saved)).signatures["serving_default"]

        _, dev = load_demo(pipeline.language)
        texts = list(dev.texts)
        b = args.batch_size
        singles = [[t] for t in texts]
        batches = [(texts * (b // len(texts) + 2))[i : i + b] for i in range(0, len(texts), 7)]

        # Same answers before timing anything.
        check = texts[:b]
        served = signature(texts=tf.constant(check))["probabilities"].numpy()
        local = np.asarray(model(pipeline.transform(check), training=False))
        max_diff = float(np.abs(served - local).max())

        contenders = {
            "SavedModel signature": lambda x: signature(texts=tf.constant(x)),
            "transform + model.predict": lambda x: model.predict(
                pipeline.transform(x), batch_size=len(x), verbose=0
            ),
            "transform + model(x)": lambda x: model(pipeline.transform(x), training=False),
        }
        if args.skip_predict:
            del contenders["transform + model.predict"]
        for fn in contenders.values():  # warm-up: traces, caches, first allocations
            _time_calls(fn, singles, 5)
            _time_calls(fn, batches, 3)

        # The Python paths are ~50x slower: they get a fifth of the calls (p99 is coarser).
        calls = {
            name: (args.single, args.batches)
            if name.startswith("SavedModel")
            else (max(20, args.single // 5), max(5, args.batches // 5))
            for name in contenders
        }
        results = {name: {"p50": [], "p99": [], "bp50": [], "tput": []} for name in contenders}
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                one = _time_calls(fn, singles, calls[name][0])
                many = _time_calls(fn, batches, calls[name][1])
                r = results[name]
                r["p50"].append(statistics.median(one) * 1e3)
                r["p99"].append(_percentile(one, 99) * 1e3)
                r["bp50"].append(statistics.median(many) * 1e3)
                r["tput"].append(b * len(many) / sum(many))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"TF {tf.__version__}, {os.cpu_count()} CPUs, load average {load:.1f}, threads "
        f"{args.threads or 'default'}, "
        f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}; "
        f"{args.rounds} rounds x {args.single} single calls and {args.batches} batch-{b} calls "
        f"(Python paths: a fifth); "
        f"export {export_seconds:.1f} s; max |SavedModel - Keras| = {max_diff:.1e}"
    )
    print("best round (worst round in brackets)\n")
    header = (
        f"| {'contender':<26} | {'1 sentence p50 ms':>18} | {'1 sentence p99 ms':>18} | "
        f"{f'batch {b} p50 ms':>18} | {f'batch {b} sentences/s':>22} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    for name, r in results.items():
        cells = [
            f"{min(r['p50']):.2f} ({max(r['p50']):.2f})",
            f"{min(r['p99']):.2f} ({max(r['p99']):.2f})",
            f"{min(r['bp50']):.1f} ({max(r['bp50']):.1f})",
            f"{max(r['tput']):,.0f} ({min(r['tput']):,.0f})",
        ]
        print(f"| {name:<26} | {cells[0]:>18} | {cells[1]:>18} | {cells[2]:>18} | {cells[3]:>22} |")
    sm = results["SavedModel signature"]
    p50, tput = min(sm["p50"]), max(sm["tput"])
    print(
        f"\ntargets (SavedModel, best round): 1-sentence p50 < {TARGET_P50_MS:g} ms: "
        f"{'met' if p50 < TARGET_P50_MS else 'MISSED'} ({p50:.2f} ms; worst round {max(sm['p50']):.2f}); "
        f">= {TARGET_THROUGHPUT:,.0f} sentences/s at batch {b}: "
        f"{'met' if tput >= TARGET_THROUGHPUT else 'MISSED'} "
        f"({tput:,.0f}; worst round {min(sm['tput']):,.0f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
