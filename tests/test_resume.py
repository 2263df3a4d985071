"""`lem-keras train` killed mid-run resumes from its last finished epoch.

The first process is SIGKILLed as soon as ``BackupAndRestore`` has saved two epochs, and
its latest backup is truncated as if the kill had hit it mid-write; the same command then
continues from the epoch after the previous (intact) backup, in the schedule phase the
killed run had reached (the ``AlternatingSchedule`` state is a model weight, so it is
backed up).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# CLI training in subprocesses, one of them killed and resumed.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "cli"
EPOCHS = 6


def _command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lem_keras.cli",
        "train",
        "--data",
        str(FIXTURES / "semeval"),
        "--format",
        "semeval",
        "--config",
        str(FIXTURES / "tiny.json"),
        "--epochs",
        str(EPOCHS),
        "--pretrain-epochs",
        "1",
        "--verbose",
        "2",
        "--out",
        str(out),
    ]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")


def _saved_epoch(metadata: Path) -> int | None:
    try:
        return int(json.loads(metadata.read_text("utf-8"))["epoch"])
    except (OSError, ValueError, KeyError):
        return None  # not written yet, or caught mid-write


def _backups_intact(backup: Path) -> bool:
    """Both weight backups readable to the last byte, the metadata one epoch apart."""
    import h5py

    latest, previous = (_saved_epoch(backup / name) for name in
                        ("training_metadata.json", "training_metadata.json.bkp"))
    if latest is None or previous != latest - 1:
        return False
    for name in ("latest.weights.h5", "latest.weights.h5.bkp"):
        try:
            with h5py.File(backup / name, "r") as weights:
                weights.visititems(lambda _, item: item[()] if isinstance(item, h5py.Dataset) else None)
        except (OSError, KeyError, RuntimeError, ValueError):
            return False
    return True


def _epochs(progress: str) -> list[tuple[int, float]]:
    """(epoch number, phase) for every epoch in Keras' verbose=2 output."""
    found = []
    for match in re.finditer(rf"Epoch (\d+)/{EPOCHS}\n[^\n]*? - phase: ([0-9.e+-]+)", progress):
        found.append((int(match.group(1)), float(match.group(2))))
    return found


def test_killed_training_resumes_from_last_epoch(tmp_path):
    out = tmp_path / "model"
    metadata = out / "backup" / "training_metadata.json"
    log = tmp_path / "first.log"
    with open(log, "w") as handle:
        first = subprocess.Popen(_command(out), cwd=ROOT, env=_env(), stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert first.poll() is None, f"training ended before it could be killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no epoch backed up in time:\n{log.read_text()}"
            if 2 <= (_saved_epoch(metadata) or 0) <= EPOCHS - 2:
                # Freeze it and kill it only between two backups: the test then truncates the
                # latest weights itself. A kill landing while BackupAndRestore copies the latest
                # weights to the .bkp would leave both backups broken, a case no real kill makes
                # (that copy breaks only the .bkp, and the latest is whole).
                first.send_signal(signal.SIGSTOP)
                if _backups_intact(out / "backup"):
                    break
                first.send_signal(signal.SIGCONT)
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    killed_at = _saved_epoch(metadata)
    assert killed_at is not None and 2 <= killed_at < EPOCHS, killed_at
    assert not (out / "model.keras").exists()
    latest = out / "backup" / "latest.weights.h5"
    assert latest.is_file()
    # A kill in the middle of writing the backup: the next run falls back to the previous one.
    previous = _saved_epoch(out / "backup" / "training_metadata.json.bkp")
    assert previous == killed_at - 1
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])
    resume_from = previous

    second = subprocess.run(
        _command(out), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Traceback" not in second.stderr
    epochs = _epochs(second.stderr)
    assert epochs, second.stderr[-3000:]
    # It resumed: the first epoch run is the one after the last intact backup, and it ran
    # only the remaining epochs.
    assert epochs[0][0] == resume_from + 1, (resume_from, epochs)
    assert [e for e, _ in epochs] == list(range(resume_from + 1, EPOCHS + 1))
    # One epoch of latent pre-training (--pretrain-epochs 1): every resumed epoch is joint, which
    # it only is when the schedule state came back with the weights.
    assert all(phase == 1.0 for _, phase in epochs), epochs
    assert (out / "model.keras").is_file()
    assert not (out / "backup").exists()
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    assert 0.0 <= metrics["micro_f1"] <= 1.0
    assert set(json.loads(second.stdout)) >= {"micro_f1", "macro_f1", "jaccard"}


class _Killed(Exception):
    """Stands for SIGKILL: raised right after BackupAndRestore has saved an epoch."""


class _KillAfter:
    def __new__(cls, epochs: int):
        import keras

        class KillAfter(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch + 1 == epochs:
                    raise _Killed(f"killed after epoch {epochs}")

        return KillAfter()


def test_resumed_run_ends_exactly_as_an_uninterrupted_one(tmp_path):
    """Kill after epoch 3, resume: the same epochs, the same stop, the same dev metrics.

    The shuffle order of an epoch derives from (seed, epoch); the schedule, early-stopping
    and learning-rate-decay states are in the checkpoint, early stopping's best weights on
    disk beside it. The configuration alternates phases and decays the learning rate, so
    every piece of state is exercised before and after the kill.
    """
    import pytest

    from lem_keras.config import TrainConfig
    from lem_keras.data.demo import load_demo
    from lem_keras.data.readers import Dataset
    from lem_keras.training import train

    def head(data, n):
        return Dataset(data.texts[:n], data.labels[:n], data.emotion_names, data.ids[:n])

    full_train, full_dev = load_demo("en")
    data_train, data_dev = head(full_train, 240), head(full_dev, 80)
    config = TrainConfig.from_dict({
        **json.loads((FIXTURES / "tiny.json").read_text("utf-8")),
        "epochs": 9, "pretrain_epochs": 1, "latent_epochs": 1, "plateau_patience": 1,
        "early_stopping_patience": 3, "lr_plateau_factor": 0.5, "lr_plateau_patience": 1, "seed": 3,
    })

    def run(out: Path, callbacks=None):
        return train(config, data_train, data_dev, out_dir=out, verbose=0, extra_callbacks=callbacks,
                     log=lambda message: None)

    whole = run(tmp_path / "whole")
    with pytest.raises(_Killed):
        run(tmp_path / "resumed", [_KillAfter(3)])
    assert not (tmp_path / "resumed" / "metrics.json").exists()
    resumed = run(tmp_path / "resumed")
    assert len(resumed.history["loss"]) == len(whole.history["loss"]) - 3  # it resumed at epoch 4
    assert resumed.best_epoch == whole.best_epoch

    def metrics(out: Path) -> dict:
        values = json.loads((out / "metrics.json").read_text("utf-8"))
        values.pop("train_seconds")
        return values

    assert metrics(tmp_path / "resumed") == metrics(tmp_path / "whole")
