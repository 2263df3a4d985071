"""The ``lem-keras`` command line end to end, on a tiny hand-written fixture.

Two tiny trainings are shared by the whole module (SemEval directory and generic CSV,
same data and seed); everything else (evaluate, predict, explain, errors, help) runs
in-process through ``lem_keras.cli.main``, or in a subprocess where the check is about
what a user's terminal would show (no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lem_keras.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "cli"
TINY = FIXTURES / "tiny.json"
SEMEVAL_DIR = FIXTURES / "semeval"
DEV = SEMEVAL_DIR / "tiny-dev.txt"
EMOTIONS = ["anger", "fear", "joy", "sadness"]
METRIC_KEYS = {"hamming_loss", "ranking_loss", "micro_f1", "macro_f1", "macro_pr_auc", "lrap", "jaccard"}


def _run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _subprocess(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "lem_keras.cli", *map(str, argv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


@pytest.fixture(scope="module")
def semeval_run(tmp_path_factory):
    """`train --data DIR --format semeval`: train/dev found by name in the directory."""
    out = tmp_path_factory.mktemp("semeval_model")
    code, stdout, stderr = _run_main(
        [
            "train",
            "--data",
            SEMEVAL_DIR,
            "--format",
            "semeval",
            "--config",
            TINY,
            "--verbose",
            "0",
            "--out",
            out,
        ]
    )
    assert code == 0, stderr
    return out, stdout, stderr


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """The same 52 texts as a generic CSV with a ';'-joined `labels` column, same seed."""
    out = tmp_path_factory.mktemp("csv_model")
    code, stdout, stderr = _run_main(
        [
            "train",
            "--data",
            FIXTURES / "table-train.csv",
            FIXTURES / "table-dev.csv",
            "--format",
            "csv",
            "--labels-column",
            "labels",
            "--config",
            TINY,
            "--verbose",
            "0",
            "--out",
            out,
        ]
    )
    assert code == 0, stderr
    return out, stdout, stderr


def _metrics(model_dir: Path) -> dict:
    return json.loads((model_dir / "metrics.json").read_text("utf-8"))


# ----------------------------------------------------------------------------- train


def test_train_finds_split_files_by_name_and_writes_artefacts(semeval_run):
    out, stdout, stderr = semeval_run
    for name in ("model.keras", "pipeline.json", "config.json", "metrics.json"):
        assert (out / name).is_file(), name
    assert (out / "logs").is_dir()
    assert not (out / "backup").exists()  # BackupAndRestore cleans up after a finished run
    assert "40 train / 12 dev texts, 4 emotions" in stderr
    config = json.loads((out / "config.json").read_text("utf-8"))
    assert config["hops"] == 1 and config["embedding_dim"] == 16 and config["epochs"] == 3
    metrics = _metrics(out)
    assert METRIC_KEYS <= set(metrics)
    assert len(metrics["thresholds"]) == len(EMOTIONS)
    printed = json.loads(stdout)
    assert set(printed) == METRIC_KEYS
    assert all(printed[k] == pytest.approx(metrics[k], abs=1e-4) for k in METRIC_KEYS)
    pipeline = json.loads((out / "pipeline.json").read_text("utf-8"))
    assert pipeline["token_vocabulary"][:2] == ["", "[UNK]"]


def test_generic_csv_with_labels_column(csv_run):
    out, _, stderr = csv_run
    assert "40 train / 12 dev texts, 4 emotions" in stderr
    from lem_keras.training import load_artifacts

    model, _ = load_artifacts(out)
    assert list(model.emotion_names) == EMOTIONS  # sorted names seen in the labels column
    assert METRIC_KEYS <= set(_metrics(out))


def test_same_seed_same_metrics(semeval_run, csv_run):
    # Identical texts, labels, emotion order, config and seed: identical models.
    first, second = _metrics(semeval_run[0]), _metrics(csv_run[0])
    for key in sorted(METRIC_KEYS):
        assert first[key] == second[key], key
    assert first["thresholds"] == second["thresholds"]


def test_csv_dev_missing_an_emotion_still_lines_up(tmp_path):
    """A dev CSV in which one emotion never occurs must still use the train emotions."""
    from lem_keras.cli import _training_setup

    dev = tmp_path / "dev.csv"
    dev.write_text("id,text,labels\n1,so happy,joy\n2,so sad,sadness\n", encoding="utf-8")
    parser = build_parser()
    args = parser.parse_args(
        [
            "train",
            "--data",
            str(FIXTURES / "table-train.csv"),
            str(dev),
            "--format",
            "csv",
            "--out",
            str(tmp_path),
        ]
    )
    train, dev_data, _, _ = _training_setup(args)
    assert dev_data.emotion_names == train.emotion_names == EMOTIONS
    assert dev_data.labels.tolist() == [[0, 0, 1, 0], [0, 0, 0, 1]]


def test_train_data_directory_without_format(tmp_path):
    """`train --data DIR` with no --format: the format comes from the files (extension, header)."""
    from lem_keras.training import load_splits

    args = build_parser().parse_args(["train", "--data", str(SEMEVAL_DIR), "--out", str(tmp_path)])
    assert args.format is None
    splits = load_splits(args.data, args.format)
    assert splits.format == "semeval"  # picks the shipped semeval configuration
    assert (len(splits.train), len(splits.dev)) == (40, 12)
    assert splits.train.emotion_names == splits.dev.emotion_names == EMOTIONS


# ----------------------------------------------------------------------------- evaluate


def test_evaluate_on_dev_reproduces_training_metrics(semeval_run):
    out = semeval_run[0]
    code, stdout, stderr = _run_main(["evaluate", "--model", out, "--data", DEV, "--json"])
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["examples"] == 12
    metrics = _metrics(out)
    # Thresholds were calibrated on this very file: the saved model must score it the same.
    for key in METRIC_KEYS:
        assert report[key] == pytest.approx(metrics[key], abs=1e-5), key

    code, stdout, _ = _run_main(["evaluate", "--model", out, "--data", DEV])
    assert code == 0
    assert "12 examples" in stdout and "micro_f1" in stdout


def test_evaluate_csv_without_an_emotion(csv_run, tmp_path):
    test = tmp_path / "test.csv"
    test.write_text(
        'id,text,labels\n1,"so happy, great day",joy\n2,crying all night,sadness\n', encoding="utf-8"
    )
    code, stdout, stderr = _run_main(
        ["evaluate", "--model", csv_run[0], "--data", test, "--format", "csv", "--json"]
    )
    assert code == 0, stderr
    assert json.loads(stdout)["examples"] == 2


# ----------------------------------------------------------------------------- predict

ODD_LINES = [
    "so happy today, best day ever",
    "",
    "   \t  ",
    "😀😀🎉🔥",
    "happy sad angry " * 6250,  # 100,000 characters
    "x" * 100_000,  # one 100,000-character "word"
    "I love 北京 и Москва, مرحبا بالعالم, こんにちは 😊",
    "\u200b\u2028 zero-width and line-separator characters",
    "terrified and crying",
]


def _check_predictions(stdout: str, lines: list[str]) -> list[dict]:
    records = [json.loads(row) for row in stdout.splitlines()]
    assert len(records) == len(lines)
    for number, (record, text) in enumerate(zip(records, lines), start=1):
        assert record["line"] == number
        assert record["text"] == text
        assert list(record["probabilities"]) == EMOTIONS
        probabilities = np.array(list(record["probabilities"].values()))
        assert np.all(np.isfinite(probabilities)) and np.all((probabilities >= 0) & (probabilities <= 1))
        assert set(record["emotions"]) <= set(EMOTIONS)
    return records


def test_predict_answers_every_odd_line(semeval_run, tmp_path):
    assert len(ODD_LINES[4]) == len(ODD_LINES[5]) == 100_000
    path = tmp_path / "odd.txt"
    path.write_text("\n".join(ODD_LINES) + "\n", encoding="utf-8")
    code, stdout, stderr = _run_main(
        ["predict", "--model", semeval_run[0], "--input", path, "--batch-size", "4"]
    )
    assert code == 0, stderr
    records = _check_predictions(stdout, ODD_LINES)
    # A blank line and a whitespace-only line carry no tokens: the same prediction.
    assert records[1]["probabilities"] == records[2]["probabilities"]


def test_predict_reads_stdin(semeval_run, monkeypatch):
    lines = ["so happy", "", "scared 😱"]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, stdout, stderr = _run_main(["predict", "--model", semeval_run[0]])
    assert code == 0, stderr
    _check_predictions(stdout, lines)


def test_predict_replaces_invalid_utf8_and_names_the_line(semeval_run, tmp_path, monkeypatch):
    """As the SavedModel does in-graph: invalid bytes become U+FFFD; a warning names the line."""
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine line\nanother fine line\nbroken \xff so happy\nlast \xfe\n")
    lines = ["fine line", "another fine line", "broken \ufffd so happy", "last \ufffd"]
    code, stdout, stderr = _run_main(["predict", "--model", semeval_run[0], "--input", path])
    assert code == 0, stderr
    assert stderr.strip() == (
        f"lem-keras: warning: {path}:3: invalid UTF-8 (byte 0xff) replaced with U+FFFD; also on line 4"
    )
    records = _check_predictions(stdout, lines)
    from lem_keras.training import load_artifacts, predict_scores

    model, pipeline = load_artifacts(semeval_run[0])
    expected = predict_scores(model, pipeline, [lines[2]])[0]
    assert list(records[2]["probabilities"].values()) == pytest.approx(expected.tolist(), abs=1e-6)
    data = b"ok\n\xff\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, stdout, stderr = _run_main(["predict", "--model", semeval_run[0]])
    assert code == 0 and "<stdin>:2: invalid UTF-8" in stderr
    _check_predictions(stdout, ["ok", "\ufffd"])


# ----------------------------------------------------------------------------- explain


def test_explain_prints_aligned_json_and_writes_png(semeval_run, tmp_path):
    png = tmp_path / "figure" / "explain.png"
    code, stdout, stderr = _run_main(
        ["explain", "--model", semeval_run[0], "so angry and scared about the storm", "--png", png]
    )
    assert code == 0, stderr
    explanation = json.loads(stdout)
    tokens = explanation["tokens"]
    assert tokens[:3] == ["so", "angry", "and"]
    assert list(explanation["latent_distribution"]) == EMOTIONS
    z = np.array(list(explanation["latent_distribution"].values()))
    assert np.all(z >= 0)
    assert list(explanation["attention"]) == EMOTIONS
    for name, weights in explanation["attention"].items():
        assert len(weights) == len(tokens), name
        assert sum(weights) == pytest.approx(1.0, abs=1e-3), name
    assert list(explanation["probabilities"]) == EMOTIONS
    assert set(explanation["emotions"]) <= set(EMOTIONS)
    assert explanation["png"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_empty_text(semeval_run, tmp_path):
    png = tmp_path / "empty.png"
    code, stdout, stderr = _run_main(["explain", "--model", semeval_run[0], "", "--png", png])
    assert code == 0, stderr
    explanation = json.loads(stdout)
    assert explanation["tokens"] == []
    assert all(weights == [] for weights in explanation["attention"].values())
    assert png.is_file()


# ----------------------------------------------------------------------------- help and errors


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_has_help(capsys):
    subcommands = _subcommands()
    assert {"train", "evaluate", "predict", "explain", "export", "pretrain-embeddings"} <= set(subcommands)
    for name, sub in subcommands.items():
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0, name
        text = capsys.readouterr().out
        assert sub.description, name
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.dest}: no help"
            shown = action.option_strings[-1] if action.option_strings else action.dest
            assert shown in text, f"{name}: {shown} missing from --help"
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "train" in capsys.readouterr().out


def test_pretrain_embeddings_defaults_to_the_shipped_recipes_vectors(tmp_path, monkeypatch):
    """`lem-keras pretrain-embeddings` with no --method trains the kind of vectors the shipped
    SemEval configuration pre-trains, so `train --embeddings FILE` with its output is that recipe."""
    from lem_keras.data import embeddings
    from lem_keras.training import named_config

    calls = []
    monkeypatch.setattr(embeddings, "train_word2vec", lambda *args, **kwargs: calls.append(kwargs))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("so happy today\n", "utf-8")
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["pretrain-embeddings", "--input", str(corpus), "--out", str(tmp_path / "v.txt")]) == 0
    assert calls and calls[0]["method"] == named_config("semeval").embeddings_method == "fasttext"


def test_every_option_shows_its_default(capsys):
    """Each option's help line says its default: the value (``(default: 5)``) or, for options
    taken from the configuration, "default: the configuration's" (issue 14 item 16)."""
    for name, sub in _subcommands().items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = "".join(capsys.readouterr().out.split())  # wrapping may break lines at any space or hyphen
        for action in sub._actions:
            if not action.option_strings or action.required or isinstance(
                action, (argparse._HelpAction, argparse._StoreTrueAction)
            ):
                continue
            shown = " ".join(sub._get_formatter()._expand_help(action).split())
            assert "default" in shown, f"{name} {action.option_strings[-1]}: {shown!r} names no default"
            where = f"{name} {action.option_strings[-1]}"
            assert "".join(shown.split()) in text, f"{where}: {shown!r} not in --help"
            if action.default is not None and action.default is not False:
                assert str(action.default) in shown, f"{name} {action.option_strings[-1]}: {shown!r}"


def test_pretrain_embeddings_help_and_dim_match_the_shipped_semeval_configuration(capsys):
    from lem_keras.config import TrainConfig
    from lem_keras.training import pretrained_dim

    shipped = json.loads((ROOT / "lem_keras" / "configs" / "semeval.json").read_text("utf-8"))
    sub = _subcommands()["pretrain-embeddings"]
    defaults = {action.dest: action.default for action in sub._actions}
    # the width of the vectors the shipped recipe pre-trains (its embedding_dim less GloVe's columns)
    assert defaults["dim"] == pretrained_dim(TrainConfig.from_dict(shipped))
    assert defaults["method"] == shipped["embeddings_method"]
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "pretrain-embeddings train fastText (default) or word2vec vectors" in text


def test_train_names_the_configuration_it_loaded(semeval_run):
    """`train --format semeval --config FILE` trains with FILE and says so (not "config semeval")."""
    _, _, stderr = semeval_run
    assert f"config {TINY}" in stderr and "config semeval" not in stderr


def test_progress_bar_becomes_one_line_per_epoch_off_a_terminal():
    from lem_keras.cli import _progress_verbosity

    class Stream(io.StringIO):
        def __init__(self, tty):
            super().__init__()
            self.tty = tty

        def isatty(self):
            return self.tty

    assert _progress_verbosity(None, stream=Stream(True)) == 1
    assert _progress_verbosity(None, stream=Stream(False)) == 2
    assert _progress_verbosity(1, stream=io.StringIO()) == 2
    assert _progress_verbosity(0, stream=Stream(False)) == 0
    assert _progress_verbosity(None, default=0, stream=Stream(False)) == 0
    assert build_parser().parse_args(["train", "--out", "x"]).verbose is None


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out.lower()


def test_missing_data_file(tmp_path):
    missing = tmp_path / "nope-train.txt"
    code, stdout, stderr = _run_main(["train", "--data", missing, DEV, "--out", tmp_path / "m"])
    assert code == 2 and stdout == ""
    assert str(missing) in stderr and stderr.startswith("lem-keras: error:")
    assert not (tmp_path / "m" / "model.keras").exists()


def test_directory_without_split_files(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here\n", encoding="utf-8")
    code, _, stderr = _run_main(["train", "--data", tmp_path, "--format", "semeval", "--out", tmp_path / "m"])
    assert code == 2
    assert "train file" in stderr and str(tmp_path) in stderr


def test_missing_model_directory(tmp_path):
    code, _, stderr = _run_main(["predict", "--model", tmp_path, "--input", DEV])
    assert code == 2
    assert "model.keras" in stderr and "Traceback" not in stderr


def test_malformed_data_file_in_process(semeval_run):
    code, stdout, stderr = _run_main(
        ["evaluate", "--model", semeval_run[0], "--data", FIXTURES / "malformed.txt"]
    )
    assert code == 2
    assert f"{FIXTURES / 'malformed.txt'}:5:" in stderr and "'fear'" in stderr
    assert stdout == ""


@pytest.mark.slow  # a CLI subprocess
def test_malformed_data_file_subprocess_has_no_traceback(tmp_path):
    bad = FIXTURES / "malformed.txt"
    result = _subprocess(["train", "--data", SEMEVAL_DIR / "tiny-train.txt", bad, "--out", tmp_path / "m"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}:5:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bad_config_file(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"hops": 1, "no_such_key": 3}', encoding="utf-8")
    code, _, stderr = _run_main(["train", "--config", config, "--out", tmp_path / "m"])
    assert code == 2
    assert "no_such_key" in stderr
    config.write_text("{not json", encoding="utf-8")
    code, _, stderr = _run_main(["train", "--config", config, "--out", tmp_path / "m"])
    assert code == 2
    assert str(config) in stderr


def test_damaged_model_file_is_not_reported_as_missing(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"not a zip archive " * 100)
    code, _, stderr = _run_main(["predict", "--model", tmp_path, "--input", DEV])
    assert code == 2
    assert stderr.startswith(f"lem-keras: error: {tmp_path / 'model.keras'}: cannot load the model: ")
    assert "not found" not in stderr.lower() and "damaged" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_train_refuses_a_finished_model_and_a_directory_in_use(tmp_path):
    """`train --out DIR` over a finished model needs --overwrite; a directory in use is refused."""
    import fcntl

    from lem_keras.training import output_directory

    out = tmp_path / "model"
    out.mkdir()
    (out / "model.keras").write_bytes(b"a finished model")
    with pytest.raises(FileExistsError, match="finished model.*--overwrite"), output_directory(out):
        pass
    with output_directory(out, overwrite=True) as held:
        assert held == out
        # A second run while the first holds the directory (another process: flock is per open file).
        with open(out / ".lock") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = pytest.raises(FileExistsError, match=r"another training run \(pid \d+\)")
        with busy, output_directory(out, overwrite=True):
            pass
    # Released at the end: the directory can be used again.
    with output_directory(out, overwrite=True):
        pass
    code, _, err = _run_main(["train", "--out", out])
    assert code == 2 and "finished model" in err and "--overwrite" in err
    assert (out / "model.keras").read_bytes() == b"a finished model"


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["predict", "--model", "m", "--batch-size", "-1"], "--batch-size"),
        (["predict", "--model", "m", "--batch-size", "0"], "--batch-size"),
        (["train", "--out", "o", "--epochs", "0"], "--epochs"),
        (["train", "--out", "o", "--hops", "x"], "--hops"),
        (["train", "--out", "o", "--learning-rate", "-0.1"], "--learning-rate"),
        (["train", "--out", "o", "--learning-rate", "nan"], "--learning-rate"),
        (["train", "--out", "o", "--seed", "-3"], "--seed"),
        (["train", "--out", "o", "--ensemble", "0"], "--ensemble"),
        (["tune", "--out", "o", "--max-trials", "0"], "--max-trials"),
        (["pretrain-embeddings", "--input", "i", "--out", "o", "--dim", "0"], "--dim"),
        (["export", "--model", "m", "--out", "o", "--version", "0"], "--version"),
    ],
)
def test_every_numeric_option_is_checked_by_the_parser(argv, option, capsys):
    """`predict --batch-size -1` used to exit 0 and print nothing; 0 failed inside range()."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {option}" in message and "expected" in message and repr(argv[-1]) in message, message


def test_numeric_options_accept_their_smallest_value():
    args = build_parser().parse_args(["train", "--out", "o", "--seed", "0", "--pretrain-epochs", "0"])
    assert args.seed == 0 and args.pretrain_epochs == 0
    assert build_parser().parse_args(["predict", "--model", "m", "--batch-size", "1"]).batch_size == 1
