"""lem_keras: Latent Emotion Memory (Fei et al., AAAI 2020) in Keras 3.

``import lem_keras`` registers every custom Keras object of the package (the model, its
layers and metrics), as keras-hub does, so that a saved model loads with the Keras
convention::

    import keras, lem_keras
    model = keras.saving.load_model("DIR/model.keras", safe_mode=True)
"""

import os as _os

__version__ = "0.1.0"

# TensorFlow's start-up noise (info lines on import), set before anything imports it; the
# user's own settings win. oneDNN off: the same numbers from the API as from the CLI.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from lem_keras._startup import silence_cuda_probe as _silence_cuda_probe

_silence_cuda_probe()  # no "failed call to cuInit" line on a machine without a GPU

# Importing these registers the model, its layers and its metrics with Keras.
from lem_keras import layers, metrics
from lem_keras.ensemble import LatentEmotionEnsemble
from lem_keras.layers import (
    EmotionMemoryHop,
    EmotionSequenceClassifier,
    GaussianSampling,
    LatentEmotionModule,
    MaskedLatentEmbedding,
)
from lem_keras.metrics import (
    HammingLoss,
    JaccardAccuracy,
    MacroF1,
    MacroPRAUC,
    MicroF1,
    RankingLoss,
)
from lem_keras.model import LatentEmotionMemory

__all__ = [
    "EmotionMemoryHop",
    "EmotionSequenceClassifier",
    "GaussianSampling",
    "HammingLoss",
    "JaccardAccuracy",
    "LatentEmotionEnsemble",
    "LatentEmotionMemory",
    "LatentEmotionModule",
    "MacroF1",
    "MacroPRAUC",
    "MaskedLatentEmbedding",
    "MicroF1",
    "RankingLoss",
    "layers",
    "metrics",
]
