"""The ``lem-keras`` command line: train, evaluate, predict, pretrain-embeddings and more.

Every subcommand turns a user mistake (a missing file, a malformed row, bad UTF-8) into a
one-line error that names the file and line, and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path

from lem_keras.config import MONITORS
from lem_keras.data.readers import FORMATS


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# ----------------------------------------------------------------------------- helpers


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help shows its default: ``(default: VALUE)`` is appended unless the
    help already names it (options whose default is "the configuration's" say so)."""

    def _get_help_string(self, action):
        text = action.help or ""
        hidden = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or action.required or hidden:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser (and sub-command parsers) using :class:`_HelpFormatter`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _progress_verbosity(requested: int | None, default: int = 1, stream=None) -> int:
    """Keras ``verbose`` for fit: ``requested`` (``None``: ``default``), except that a progress
    bar (1) becomes one line per epoch (2) when the output is not a terminal: Keras redraws its
    bar with ``\r`` and ANSI codes, which fill a redirected log."""
    verbose = default if requested is None else int(requested)
    stream = sys.stderr if stream is None else stream
    is_terminal = getattr(stream, "isatty", None)
    if verbose == 1 and not (callable(is_terminal) and is_terminal()):
        return 2
    return verbose


def _table_options(args) -> dict:
    options = {}
    for name in ("text_column", "label_columns", "labels_column", "label_delimiter"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value.split(",") if name == "label_columns" else value
    return options


def _load(path: str, fmt: str | None, args=None, emotion_names=None):
    from lem_keras.data.readers import load_dataset

    options = _table_options(args) if args is not None else {}
    if emotion_names is not None:
        # A labels column names the emotions it holds; a dev or test file in which an
        # emotion never occurs must still use the training emotions, in their order.
        # (SemEval and Ren-CECps files fix their emotions themselves.)
        options["emotion_names"] = list(emotion_names)
    return load_dataset(path, fmt or "auto", **options)


#: The shipped configuration of a data format (others: the default TrainConfig).
_FORMAT_CONFIGS = {"semeval": "semeval", "ren-cecps": "ren-cecps"}


def _training_setup(args):
    """``(train, dev, config, config_name)`` for `train` and `tune`: the data (``--data``,
    else the embedded demo corpus), the configuration (``--config``, else the shipped one
    of the data's format) with the command line's overrides, ``{data}`` resolved."""
    from lem_keras.config import TrainConfig, apply_overrides, load_config, resolve_data_paths

    if not args.data:
        from lem_keras.data.demo import load_demo

        language = args.language or "en"
        train, dev = load_demo(language)
        fmt, data_dir, default_name = None, None, "demo"
    else:
        from lem_keras.training import load_splits

        splits = load_splits(args.data, args.format, **_table_options(args))
        train, dev, fmt = splits.train, splits.dev, splits.format
        data_dir = args.data[0] if len(args.data) == 1 and Path(args.data[0]).is_dir() else None
        default_name = _FORMAT_CONFIGS.get(fmt)
        language = args.language or ("zh" if fmt == "ren-cecps" else None)
    name = args.config or default_name
    config = load_config(name) if name else TrainConfig()
    config = apply_overrides(
        config,
        language=language,
        hops=args.hops,
        seed=args.seed,
        epochs=args.epochs,
        pretrain_epochs=args.pretrain_epochs,
        embedding_dim=args.embedding_dim,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        stopwords=args.stopwords,
        segmentation=args.segmentation,
        embeddings=args.embeddings,
        lexicons=args.lexicon,
        freeze_embeddings=args.freeze_embeddings,
        no_wled=args.no_wled,
        no_rle=args.no_rle,
        ensemble=getattr(args, "ensemble", None),  # train only
    )
    try:
        resolve_data_paths(config, data_dir, origin=f"configuration {name or 'default'}")
    except (ValueError, FileNotFoundError) as error:
        raise CLIError(
            f"{error}; override it with --embeddings/--lexicon (none to go without) or --config FILE"
        ) from None
    return train, dev, config, name or "default"


def _read_input_lines(path: str | None) -> list[str]:
    from lem_keras.data.readers import decode_lines, read_lines

    # Invalid UTF-8 is replaced with U+FFFD, as the exported SavedModel does in-graph, with a
    # warning naming the lines: every line still gets its answer.
    def warn(message: str) -> None:
        print(f"lem-keras: warning: {message}", file=sys.stderr)

    if path is None or path == "-":
        return decode_lines(sys.stdin.buffer.read(), "<stdin>", keep_blank=True, errors="replace", warn=warn)
    return read_lines(path, keep_blank=True, errors="replace", warn=warn)


# Characters that JSON leaves raw but that many line readers (str.splitlines, JavaScript)
# take as line ends: escaped, so that every record stays on one line.
_LINE_BREAKERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKERS)


# ----------------------------------------------------------------------------- numbers


def _number_type(kind: type, minimum: float, strict: bool, description: str):
    """An argparse ``type`` that refuses a value below ``minimum``; argparse's message
    then names the option: ``argument --batch-size: expected an integer >= 1, got '-1'``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if math.isnan(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}")
        return value

    parse.__name__ = description  # argparse names the type in its own messages
    return parse


POSITIVE_INT = _number_type(int, 1, False, "an integer >= 1")
NONNEGATIVE_INT = _number_type(int, 0, False, "an integer >= 0")
POSITIVE_FLOAT = _number_type(float, 0.0, True, "a number > 0")


# ----------------------------------------------------------------------------- commands


def cmd_train(args) -> int:
    from lem_keras.training import train

    strategy = None
    if args.strategy == "mirrored":
        from lem_keras.training import mirrored_strategy

        # First: the CPU can only be split into logical devices before TF initialises them.
        strategy = mirrored_strategy()
        print(f"MirroredStrategy over {strategy.num_replicas_in_sync} replicas", file=sys.stderr)
    train_data, dev_data, config, config_name = _training_setup(args)
    print(
        f"training LEM on {len(train_data.texts)} train / {len(dev_data.texts)} dev texts, "
        f"{len(train_data.emotion_names)} emotions, config {config_name}",
        file=sys.stderr,
    )
    # stdout carries only the final JSON (so it can be piped); progress and logs go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        result = train(
            config,
            train_data,
            dev_data,
            out_dir=args.out,
            verbose=_progress_verbosity(args.verbose),
            strategy=strategy,
            log=lambda message: print(message, file=sys.stderr),
            overwrite=args.overwrite,
        )
    print(json.dumps({k: round(v, 4) for k, v in result.dev_metrics.items()}, indent=2))
    print(f"model written to {args.out}", file=sys.stderr)
    return 0


def cmd_tune(args) -> int:
    from lem_keras.tuning import distributed_role, format_table, load_space, run_search

    train_data, dev_data, config, config_name = _training_setup(args)
    space = load_space(args.space)
    role = distributed_role()
    objective = args.objective or config.monitor
    print(
        f"tuning LEM ({args.tuner}, {args.max_trials} trials, {args.epochs} epochs, objective "
        f"{objective}, role {role}) on {len(train_data.texts)} train / {len(dev_data.texts)} dev "
        f"texts, config {config_name}; searching {', '.join(sorted(space))}",
        file=sys.stderr,
    )
    result = run_search(
        config,
        train_data,
        dev_data,
        args.out,
        tuner=args.tuner,
        max_trials=args.max_trials,
        epochs=args.epochs,
        objective=objective,
        space=space,
        overwrite=args.overwrite,
        verbose=_progress_verbosity(args.verbose, default=0),
        log=lambda message: print(message, file=sys.stderr),
        print_table=False,
    )
    if result.role == "worker":
        print(f"worker {os.environ.get('KERASTUNER_TUNER_ID')} finished", file=sys.stderr)
        return 0
    print(format_table(result.rows, objective) if result.rows else "no trials")
    if result.dev_metrics is not None:
        print(json.dumps({k: round(v, 4) for k, v in result.dev_metrics.items()}, indent=2))
        print(f"best model written to {args.out} (trials: {args.out}/trials.md)", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    from lem_keras.calibration import expected_calibration_error
    from lem_keras.metrics import multilabel_report
    from lem_keras.training import load_artifacts, load_decision, predict_scores, thresholds_for

    # Read the data first: a bad file fails at once, before TensorFlow loads the model.
    data = _load(args.data, args.format, args)
    model, pipeline = load_artifacts(args.model)
    names = list(model.emotion_names)
    if list(data.emotion_names) != names and set(data.emotion_names) <= set(names):
        # A labels column only names the emotions it holds: re-read with the model's.
        data = _load(args.data, args.format, args, emotion_names=names)
    if list(data.emotion_names) != names:
        raise CLIError(f"{args.data}: emotions {data.emotion_names} do not match the model's {names}")
    chosen, thresholds = thresholds_for(args.model, args.decision)
    rules = load_decision(args.model)["rules"]
    scores = predict_scores(model, pipeline, data.texts)
    reports = {rule: multilabel_report(data.labels, scores, values, rule) for rule, values in rules.items()}
    ece = expected_calibration_error(data.labels, scores)
    if args.plot:
        from lem_keras.plots import plot_evaluation

        plot_evaluation(data.labels, scores, thresholds, names, args.plot, rule=chosen)
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.json:
        # The chosen rule's metrics at the top level (the keys `evaluate --json` always had),
        # every rule's under "rules".
        record = {"file": args.data, "examples": len(data.texts), **reports[chosen], "decision": chosen,
                  "ece": float(ece.mean()), "ece_per_emotion": dict(zip(names, map(float, ece))),
                  "rules": reports}
        print(json.dumps(record, indent=2))
    else:
        print(f"{args.data}: {len(data.texts)} examples; decision rule: {chosen} (*)")
        keys = list(reports[chosen])
        width = max(len(rule) for rule in reports) + 2
        print(f"{'rule':<{width}s}" + "".join(f"{key:>14s}" for key in keys))
        for rule, report in reports.items():
            mark = "*" if rule == chosen else " "
            print(f"{rule + mark:<{width}s}" + "".join(f"{report[key]:>14.4f}" for key in keys))
        print(f"expected calibration error (10 bins): mean {ece.mean():.4f}; "
              + ", ".join(f"{name} {value:.3f}" for name, value in zip(names, ece)))
    return 0


def cmd_predict(args) -> int:
    from lem_keras.training import emotions_at, load_artifacts, predict_scores, thresholds_for

    texts = _read_input_lines(args.input)
    model, pipeline = load_artifacts(args.model)
    names = list(model.emotion_names)
    # The rule changes the emotions, never the probabilities.
    rule, thresholds = thresholds_for(args.model, args.decision)
    out = sys.stdout
    for start in range(0, len(texts), args.batch_size):
        chunk = texts[start : start + args.batch_size]
        scores = predict_scores(model, pipeline, chunk)
        predicted = emotions_at(scores, thresholds, names, rule)
        for offset, (text, row, emotions) in enumerate(zip(chunk, scores, predicted)):
            record = {
                "line": start + offset + 1,
                "text": text,
                "probabilities": {name: round(float(p), 6) for name, p in zip(names, row)},
                "emotions": emotions,
            }
            out.write(_json_line(record) + "\n")
    out.flush()
    return 0


def cmd_pretrain_embeddings(args) -> int:
    from lem_keras.data.embeddings import train_word2vec

    train_word2vec(
        args.input,
        args.out,
        language=args.language,
        dim=args.dim,
        window=args.window,
        min_count=args.min_count,
        epochs=args.epochs,
        workers=args.workers,
        seed=args.seed,
        method=args.method,
    )
    print(f"word vectors written to {args.out}", file=sys.stderr)
    return 0


def cmd_explain(args) -> int:
    from lem_keras.explain import explain_text, plot_explanation
    from lem_keras.training import load_artifacts

    model, pipeline = load_artifacts(args.model)
    explanation = explain_text(model, pipeline, args.text)
    if args.png:
        explanation["png"] = str(plot_explanation(explanation, args.png))
    print(json.dumps(explanation, ensure_ascii=False, indent=2))
    return 0


def cmd_export(args) -> int:
    from lem_keras.export import export_saved_model
    from lem_keras.training import load_artifacts, thresholds_for

    model, pipeline = load_artifacts(args.model)
    rule, thresholds = thresholds_for(args.model, args.decision)
    # Baked into the `emotions` output (the model on disk is untouched).
    model.set_thresholds(thresholds)
    model.decision_rule = rule
    target = export_saved_model(model, pipeline, args.out, version=args.version)
    print(f"SavedModel written to {target} (signature serving_default: raw strings in; "
          f"emotions by decision rule {rule})", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- parser


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generic CSV/TSV/JSONL columns")
    group.add_argument("--text-column", help="name of the text column (default: text, Tweet or sentence)")
    group.add_argument(
        "--label-columns", help="comma-separated 0/1 emotion columns (default: every column but id and text)"
    )
    group.add_argument("--labels-column", help="one column holding a delimited list of emotion names "
                       "(default: none, 0/1 columns)")
    group.add_argument("--label-delimiter", help="delimiter inside --labels-column (default ';')")


def _add_data_and_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `tune`: the data, the text pipeline, the base configuration."""
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="PATH",
        help="a directory with train and dev files (found by name), or two files TRAIN DEV; "
        "default: the embedded demo corpus",
    )
    parser.add_argument("--format", choices=FORMATS, help="data format (default: from the file extension)")
    parser.add_argument("--language", choices=("en", "zh"),
                        help="text language (default: zh for ren-cecps, else en)")
    parser.add_argument(
        "--segmentation",
        choices=("auto", "jieba", "pre-segmented", "characters"),
        help="Chinese: segment raw text with jieba, take space-separated tokens as given, or read "
        "characters (no segmenter; default: the configuration's)",
    )
    parser.add_argument(
        "--config",
        help="a shipped configuration (demo, semeval, ren-cecps, ren-cecps-words) or a JSON file of "
        "TrainConfig fields; "
        "default: the shipped one for --format",
    )
    parser.add_argument("--lexicon", nargs="+", metavar="FILE", help="emotion lexicons for the eBoW "
                        "vocabulary (NRC EmoLex, Hu-Liu, MPQA .tff or a word list); 'none': chi-squared "
                        "selection on train; "
                        "default: the configuration's")
    parser.add_argument("--stopwords", metavar="FILE",
                        help="stop-word list, one per line (Chinese needs one); default: the configuration's")
    parser.add_argument("--embeddings", metavar="FILE", help="GloVe or word2vec vectors (text or binary); "
                        "'none': randomly initialised; replaces the configuration's vectors (and its GloVe); "
                        "default: the configuration's")
    parser.add_argument("--freeze-embeddings", action="store_true", help="keep the loaded word vectors fixed")
    parser.add_argument("--embedding-dim", type=POSITIVE_INT,
                        help="token embedding size (ignored with --embeddings; default: the configuration's)")
    parser.add_argument("--max-length", type=POSITIVE_INT,
                        help="tokens kept per text (default: the configuration's)")
    parser.add_argument("--batch-size", type=POSITIVE_INT, help="batch size (default: the configuration's)")
    parser.add_argument("--seed", type=NONNEGATIVE_INT,
                        help="random seed, same seed, same result (default: the configuration's)")


def _add_decision_option(parser: argparse.ArgumentParser, what: str) -> None:
    from lem_keras.decision import RULES

    parser.add_argument("--decision", choices=RULES, metavar="RULE",
                        help=f"decision rule, {what}: {', '.join(RULES)} "
                        "(default: the model's default rule, DIR/decision.json)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lem-keras",
        description="Latent Emotion Memory (Fei et al., AAAI 2020): multi-label emotion classification.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "train",
        help="train a model (with no --data: on the embedded demo corpus)",
        description="Train LEM with the paper's schedule and write DIR/model.keras, DIR/pipeline.json, "
        "DIR/metrics.json and TensorBoard logs in DIR/logs. Killed mid-run, the same command resumes "
        "from the last finished epoch.",
    )
    _add_data_and_pipeline_options(p)
    p.add_argument("--hops", type=POSITIVE_INT,
                   help="number of memory hops H (default: the configuration's)")
    p.add_argument("--epochs", type=POSITIVE_INT,
                   help="maximum epochs, early stopping on dev usually ends sooner "
                   "(default: the configuration's)")
    p.add_argument("--pretrain-epochs", type=NONNEGATIVE_INT,
                   help="epochs of latent-module pre-training (default: the configuration's)")
    p.add_argument("--learning-rate", type=POSITIVE_FLOAT,
                   help="Adam learning rate of the classifier (default: the configuration's)")
    p.add_argument("--no-wled", action="store_true", help="ablation LEM-Wled: no latent embedding in eq. 15")
    p.add_argument("--no-rle", action="store_true", help="ablation LEM-Rle: no R^le in eq. 8")
    p.add_argument("--ensemble", type=POSITIVE_INT, metavar="N",
                   help="train N members (seeds SEED, SEED+1, ...) on one text pipeline and save them as one "
                   "model that averages their probabilities; a killed run resumes at the member it was "
                   "training (default: the configuration's, 1)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished model in --out (without it such a directory is refused)")
    p.add_argument("--strategy", choices=("default", "mirrored"), default="default",
                   help="tf.distribute strategy: mirrored trains on all local devices")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2),
                   help="Keras progress output: 0 none, 1 a progress bar, 2 one line per epoch "
                   "(default: 1 on a terminal; 1 becomes 2 when stderr is not a terminal)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    _add_table_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "tune",
        help="hyper-parameter search with KerasTuner (random, bayesian, hyperband)",
        description="Search hops, latent and memory sizes, dropout, learning rate and the length of "
        "latent pre-training with KerasTuner, on one machine or distributed (KerasTuner's chief/worker "
        "mode: set KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT). Writes "
        "DIR/trials.json, DIR/trials.md, TensorBoard HParams logs in DIR/logs and the best model "
        "(thresholds calibrated on dev) exactly as `train` writes one.",
    )
    _add_data_and_pipeline_options(p)
    p.add_argument("--space", metavar="FILE",
                   help="JSON search space merged onto the built-in one (see tuning/README.md; "
                   "default: the built-in space)")
    p.add_argument("--tuner", choices=("random", "bayesian", "hyperband"), default="random",
                   help="search algorithm")
    p.add_argument("--max-trials", type=POSITIVE_INT, default=10,
                   help="number of trials (random, bayesian)")
    p.add_argument("--epochs", type=POSITIVE_INT, default=30,
                   help="maximum epochs per trial (hyperband: max_epochs)")
    p.add_argument("--objective", choices=MONITORS,
                   help="dev quantity the search optimises and early stopping watches "
                   "(default: the configuration's monitor, val_macro_pr_auc in the shipped ones)")
    p.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming DIR/search")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=0,
                   help="Keras progress output: 0 none, 1 a progress bar (one line per epoch when stderr "
                   "is not a terminal), 2 one line per epoch")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    _add_table_options(p)
    p.set_defaults(func=cmd_tune, hops=None, pretrain_epochs=None, learning_rate=None, no_wled=False,
                   no_rle=False)

    p = sub.add_parser("evaluate", help="the full metric table of a model on a labelled file",
                       description="Score a trained model on a labelled file under each decision rule.")
    p.add_argument("--model", required=True, metavar="DIR", help="a directory written by `lem-keras train`")
    p.add_argument("--data", required=True, metavar="FILE", help="labelled file (e.g. SemEval test-gold)")
    p.add_argument("--format", choices=FORMATS, help="data format (default: from the file extension)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table: the decision rule's "
                   "metrics as top-level keys, every rule's under 'rules', the calibration error (ece)")
    _add_decision_option(p, "the rule whose metrics --json puts at the top level and --plot marks")
    p.add_argument("--plot", metavar="FILE", help="draw per-emotion precision-recall curves with the rule's "
                   "operating points and a reliability diagram into FILE (.png, .pdf, .svg; "
                   "default: no figure)")
    _add_table_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="one JSON line per input text",
                       description="Predict emotions for one text per line (stdin by default). Each output "
                       "line holds the probability of every emotion and the predicted set.")
    p.add_argument("--model", required=True, metavar="DIR", help="a directory written by `lem-keras train`")
    p.add_argument("--input", metavar="FILE", help="UTF-8 text, one text per line (default: stdin)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=256, help="texts per prediction batch")
    _add_decision_option(p, "how the probabilities become the predicted emotions")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("pretrain-embeddings",
                       help="train fastText (default) or word2vec vectors on unlabeled text",
                       description="Train word vectors with gensim, fastText (the default, as the shipped "
                       "SemEval configuration does) or word2vec, on one text per line, tokenised exactly as "
                       "the model tokenises, and save them for `train --embeddings`.")
    p.add_argument("--input", required=True, metavar="FILE", help="unlabeled UTF-8 text, one per line")
    p.add_argument("--out", required=True, metavar="FILE", help="output vectors (.bin: binary, else text)")
    p.add_argument("--language", choices=("en", "zh"), default="en", help="tokenizer language")
    p.add_argument("--dim", type=POSITIVE_INT, default=100,
                   help="vector size (the shipped SemEval configuration: 100)")
    p.add_argument("--window", type=POSITIVE_INT, default=5, help="context window")
    p.add_argument("--min-count", type=POSITIVE_INT, default=2, help="ignore rarer tokens")
    p.add_argument("--epochs", type=POSITIVE_INT, default=5, help="passes over the corpus")
    p.add_argument("--workers", type=POSITIVE_INT, default=2, help="worker threads")
    p.add_argument("--seed", type=NONNEGATIVE_INT, default=0, help="random seed")
    p.add_argument("--method", choices=("word2vec", "fasttext"), default="fasttext",
                   help="fasttext (what the shipped SemEval configuration pre-trains): vectors "
                   "that share character n-grams, so rare spellings land near their word; word2vec: "
                   "whole-word vectors (default: fasttext)")
    p.set_defaults(func=cmd_pretrain_embeddings)

    p = sub.add_parser("explain", help="latent distribution and memory attention for one text",
                       description="Print, as JSON, the latent emotion distribution Z, each emotion's "
                       "memory attention over the tokens, the probabilities and the predicted set for one "
                       "text, and draw them (bars for Z, a heat map for attention) into a PNG.")
    p.add_argument("--model", required=True, metavar="DIR", help="a directory written by `lem-keras train`")
    p.add_argument("text", help="the text to explain")
    p.add_argument("--png", default="explanation.png", metavar="FILE",
                   help="where to draw the figure; empty string: no figure (default: explanation.png)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", help="write a TensorFlow Serving SavedModel (raw strings in)",
                       description="Export a trained model with its whole text pipeline in the graph as a "
                       "SavedModel in TF Serving's layout OUT/VERSION/. Signature serving_default takes a "
                       "batch of UTF-8 strings (Chinese: pre-segmented) and returns probabilities, the "
                       "multi-hot predicted emotions and the latent distribution Z.")
    p.add_argument("--model", required=True, metavar="DIR", help="a directory written by `lem-keras train`")
    p.add_argument("--out", required=True, metavar="DIR", help="model base path, e.g. saved_models/NAME")
    p.add_argument("--version", type=POSITIVE_INT, default=1, help="model version subdirectory")
    _add_decision_option(p, "the rule (thresholds, and per-text sets for expected_jaccard) baked into "
                         "the SavedModel's `emotions` output")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from lem_keras.data.readers import DataFormatError

    try:
        return args.func(args)
    except (CLIError, DataFormatError, OSError, ValueError) as error:
        # DataFormatError, ConfigError and UnicodeDecodeError are ValueErrors; a missing
        # file, a directory given for a file, a refused output directory are OSErrors.
        print(f"lem-keras: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
