"""Distributed tuning (KerasTuner chief/worker on 127.0.0.1) and MirroredStrategy training.

Both run in subprocesses: KerasTuner reads its role from the environment, and the CPU can
only be split into two logical devices before TensorFlow initialises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_tuning import write_tiny

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tuning"))
from launch_distributed import free_port, wait_for_port

# Distributed tuning and MirroredStrategy training, in subprocesses.
pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


@pytest.fixture
def processes():
    """Started subprocesses; every one still running is killed at teardown."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_distributed_tuning_chief_and_two_workers(tmp_path, processes):
    config, space = write_tiny(tmp_path)
    out = tmp_path / "search"
    port = free_port()
    command = [sys.executable, "-m", "lem_keras.cli", "tune", "--config", str(config), "--space", str(space),
               "--tuner", "random", "--max-trials", "4", "--epochs", "1", "--out", str(out)]
    logs = {}

    def start(tuner_id: str) -> subprocess.Popen:
        logs[tuner_id] = open(tmp_path / f"{tuner_id}.log", "wb")  # noqa: SIM115
        env = _env(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=str(port))
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=logs[tuner_id], stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    def log_of(tuner_id: str) -> str:
        return (tmp_path / f"{tuner_id}.log").read_text("utf-8", errors="replace")[-3000:]

    chief = start("chief")
    # Workers start once the chief's oracle listens (the chief owns DIR/search).
    wait_for_port(port, timeout=120, process=chief)
    workers = [start("tuner0"), start("tuner1")]
    for tuner_id, process in zip(("tuner0", "tuner1", "chief"), (*workers, chief)):
        try:
            code = process.wait(timeout=240)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{tuner_id} still running after its timeout:\n{log_of(tuner_id)}")
        assert code == 0, f"{tuner_id} exited with {code}:\n{log_of(tuner_id)}"
    for handle in logs.values():
        handle.close()

    summary = json.loads((out / "trials.json").read_text("utf-8"))
    trials = summary["trials"]
    assert len(trials) == 4
    assert [t["status"] for t in trials] == ["COMPLETED"] * 4
    # Every trial ran on a worker (both exited 0 above); which one takes how many is the
    # scheduler's: a worker that starts late can find the four trials taken.
    assert {t["worker"] for t in trials} <= {"tuner0", "tuner1"}, trials
    assert summary["objective"] == "val_macro_pr_auc"  # the configuration's threshold-free monitor
    assert all(t["val_macro_pr_auc"] is not None for t in trials)
    # The chief saved the best trial's model as `train` does.
    assert (out / "model.keras").is_file() and (out / "metrics.json").is_file()
    assert "| trial | worker | status |" in log_of("chief")


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from lem_keras.cli import main

    config, out = sys.argv[1], sys.argv[2]
    common = ["train", "--config", config, "--seed", "3", "--verbose", "0"]
    # Mirrored first: it splits the CPU into two logical devices before TF initialises.
    assert main(common + ["--strategy", "mirrored", "--out", out + "/mirrored"]) == 0
    assert main(common + ["--out", out + "/default"]) == 0
    """
)


def test_train_mirrored_strategy_matches_default(tmp_path):
    config = {**json.loads(write_tiny(tmp_path)[0].read_text("utf-8")), "epochs": 2, "pretrain_epochs": 1,
              "batch_size": 32}
    config_path = tmp_path / "tiny3.json"
    config_path.write_text(json.dumps(config), "utf-8")
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(config_path), str(tmp_path)],
        check=False, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MirroredStrategy over 2 replicas" in result.stderr

    def load(name):
        return json.loads((tmp_path / name / "metrics.json").read_text("utf-8"))

    mirrored, default = load("mirrored"), load("default")
    # Same seed, same data: the 2-replica run follows the single-device run closely (the
    # Gaussian sampling noise differs per replica, so not bit for bit).
    for key in ("micro_f1", "macro_f1", "jaccard", "hamming_loss", "ranking_loss", "lrap"):
        assert abs(mirrored[key] - default[key]) < 0.05, (key, mirrored[key], default[key])
    assert (tmp_path / "mirrored" / "model.keras").is_file()


GRADIENT_SCRIPT = textwrap.dedent(
    """
    import contextlib, json, sys
    from lem_keras.training import TrainConfig, build_model, fit_pipeline, mirrored_strategy
    strategy = mirrored_strategy()
    import keras, numpy as np
    from lem_keras.data.demo import load_demo
    from lem_keras.data.featurizer import make_tf_dataset

    train, _ = load_demo("en")
    config = TrainConfig.from_dict(json.loads(open(sys.argv[1]).read()))
    pipeline = fit_pipeline(config, train)
    batch = make_tf_dataset(pipeline, train.texts[:64], train.labels[:64], batch_size=64)
    results = {}
    for name, scope in (("default", contextlib.nullcontext()), ("mirrored", strategy.scope())):
        keras.utils.set_random_seed(0)
        with scope:
            model = build_model(config, pipeline, train.emotion_names)
            model.compile(optimizer=keras.optimizers.SGD(0.1), latent_optimizer=keras.optimizers.SGD(0.1))
        before = [np.array(v) for v in model.classifier_variables]
        history = model.fit(batch, epochs=1, verbose=0)
        after = [np.array(v) for v in model.classifier_variables]
        step = float(np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(after, before))))
        results[name] = {"loss": history.history["loss"][0], "step": step}
    print("RESULT " + json.dumps(results))
    """
)


def test_mirrored_sgd_step_equals_single_device_step(tmp_path):
    config_path = write_tiny(tmp_path)[0]
    result = subprocess.run(
        [sys.executable, "-c", GRADIENT_SCRIPT, str(config_path)],
        check=False, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    results = json.loads(line[len("RESULT "):])
    # The logged loss is averaged over replicas correctly either way ...
    assert results["mirrored"]["loss"] == pytest.approx(results["default"]["loss"], rel=0.02)
    # ... and one SGD step must move the weights as far as on one device.
    ratio = results["mirrored"]["step"] / results["default"]["step"]
    assert ratio == pytest.approx(1.0, rel=0.05), ratio
