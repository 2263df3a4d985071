"""Keras layers of the Latent Emotion Memory network, one per file."""

from lem_keras.layers.emotion_memory_hop import EmotionMemoryHop
from lem_keras.layers.emotion_sequence_classifier import EmotionSequenceClassifier
from lem_keras.layers.gaussian_sampling import GaussianSampling
from lem_keras.layers.latent_emotion_module import LatentEmotionModule
from lem_keras.layers.masked_latent_embedding import MaskedLatentEmbedding
from lem_keras.layers.sentence_encoder import SentenceEncoder
from lem_keras.layers.sparse_linear import SparseLinear

__all__ = [
    "EmotionMemoryHop",
    "EmotionSequenceClassifier",
    "GaussianSampling",
    "LatentEmotionModule",
    "MaskedLatentEmbedding",
    "SentenceEncoder",
    "SparseLinear",
]
