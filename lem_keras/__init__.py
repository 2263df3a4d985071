"""lem_keras: Latent Emotion Memory (Fei et al., AAAI 2020) in Keras 3."""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy so that `import lem_keras.data.text` does not pull the model in.
    if name == "LatentEmotionMemory":
        from lem_keras.model import LatentEmotionMemory

        return LatentEmotionMemory
    raise AttributeError(f"module 'lem_keras' has no attribute {name!r}")
