"""What a user sees besides the answers: no TensorFlow start-up noise, no spurious warnings,
plain logs when redirected (issue 14, item 15). The package's own warnings stay."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from lem_keras.model import LatentEmotionMemory
from tests.sizes import TINY_NETWORK

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "fixtures" / "cli" / "tiny.json"
K, V, T, L = 3, 12, 20, 6
SIZES = TINY_NETWORK


def _user_env() -> dict:
    """The environment of a user who set nothing for TensorFlow."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "PYTHONWARNINGS")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "cuInit" in line or "CUDA error" in line or " I tensorflow/" in line or " I external/" in line
            or "oneDNN" in line or "cpu_feature_guard" in line or "cuda drivers" in line]


def test_import_prints_no_tensorflow_noise_but_keeps_python_warnings():
    code = ("import warnings, lem_keras, tensorflow as tf\n"
            "tf.constant(1.0) + 1.0\n"  # devices are created by now
            "warnings.warn('a warning of the package stays')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_user_env(), capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not _noise(result.stderr), result.stderr
    assert "a warning of the package stays" in result.stderr


@pytest.mark.slow  # a CLI subprocess that trains
def test_redirected_training_log_is_plain_lines(tmp_path):
    """`lem-keras train` into a file: one line per epoch, no progress-bar redraws (\\r, ANSI)."""
    log = tmp_path / "train.log"
    with log.open("w") as stream:
        result = subprocess.run(
            [sys.executable, "-m", "lem_keras.cli", "train", "--config", str(TINY_CONFIG), "--epochs", "2",
             "--out", str(tmp_path / "model")],
            cwd=ROOT, env=_user_env(), stdout=subprocess.DEVNULL, stderr=stream, timeout=600, check=False,
        )
    text = log.read_text("utf-8")
    assert result.returncode == 0, text[-3000:]
    assert "\r" not in text and "\x1b[" not in text, repr(text[-1500:])
    assert not _noise(text), text
    assert text.count("Epoch 1/2") == 1 and "Epoch 2/2" in text


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = LatentEmotionMemory(K, V, T, **SIZES)
    model.compile(optimizer="adam")
    return model


def _dataset():
    rng = np.random.default_rng(0)
    x = {"tokens": rng.integers(1, T, size=(8, L)).astype("int32"),
         "ebow": rng.dirichlet(np.ones(V), size=8).astype("float32")}
    y = (rng.random((8, K)) < 0.4).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(8, seed=0).batch(4)


def test_fit_on_a_shuffled_dataset_does_not_warn_about_shuffle():
    model = _tiny_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(_dataset(), epochs=1, verbose=0)
    assert not [w for w in caught if "shuffle" in str(w.message)], [str(w.message) for w in caught]


def test_numpy_copy_deprecation_of_tf_variables_is_filtered_in_tests():
    """numpy 2's `__array__ ... copy` DeprecationWarning comes from TensorFlow's variables via
    Keras (saving, convert_to_numpy): filtered in setup.cfg, and our own thresholds avoid it."""
    model = _tiny_model()
    model(next(iter(_dataset()))[0])
    with warnings.catch_warnings(record=True) as caught:
        keras.ops.convert_to_numpy(keras.Variable(np.zeros(2)))
    assert not caught, [str(w.message) for w in caught]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert model.get_thresholds().shape == (K,)
    assert not caught, [str(w.message) for w in caught]
