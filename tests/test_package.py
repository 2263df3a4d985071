"""``import lem_keras``: what a user gets from the package itself (issue 14, items 9, 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from lem_keras import metrics as lem_metrics
from lem_keras.model import LatentEmotionMemory
from tests.sizes import TINY_NETWORK

ROOT = Path(__file__).resolve().parents[1]
K, V, T, L = 3, 12, 20, 6
METRICS = ("MicroF1", "MacroF1", "JaccardAccuracy", "MacroPRAUC", "HammingLoss", "RankingLoss")
SIZES = TINY_NETWORK


def _python(code: str, **env) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter (nothing of this test process registered there)."""
    environment = {k: v for k, v in os.environ.items() if k not in env}
    environment.update({k: v for k, v in env.items() if v is not None}, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=300, check=False)


def _tiny_saved_model(path: Path) -> Path:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = {"tokens": rng.integers(1, T, size=(8, L)).astype("int32"),
         "ebow": rng.dirichlet(np.ones(V), size=8).astype("float32")}
    y = (rng.random((8, K)) < 0.4).astype("float32")
    model = LatentEmotionMemory(K, V, T, emotion_names=["a", "b", "c"], **SIZES)
    metrics = [getattr(lem_metrics, name)() for name in METRICS]
    model.compile(optimizer="adam", latent_optimizer=keras.optimizers.Adam(1e-3), metrics=metrics)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    target = path / "model.keras"
    model.save(target)
    return target


def test_import_lem_keras_registers_every_saved_object(tmp_path):
    target = _tiny_saved_model(tmp_path)
    result = _python(
        "import keras, lem_keras\n"
        f"model = keras.saving.load_model({str(target)!r}, safe_mode=True)\n"
        "print(type(model).__name__)\n"
        "for name in " + repr(METRICS) + ":\n"
        "    found = keras.saving.get_registered_object('lem_keras>' + name)\n"
        "    print(name, found is getattr(lem_keras, name))\n"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["LatentEmotionMemory"] + [w for n in METRICS for w in (n, "True")]


def test_public_names():
    import lem_keras

    for name in lem_keras.__all__:
        assert getattr(lem_keras, name) is not None
    assert lem_keras.LatentEmotionMemory is LatentEmotionMemory
