"""Data handling: readers, text standardisation, eBoW, featurizer, word vectors.

Names are imported lazily so that ``import lem_keras.data.readers`` does not
load TensorFlow.
"""

import importlib

_EXPORTS = {
    "readers": (
        "DataFormatError",
        "Dataset",
        "REN_CECPS_EMOTIONS",
        "decode_lines",
        "detect_format",
        "find_split_files",
        "load_dataset",
        "read_lines",
        "read_ren_cecps",
        "read_semeval",
        "read_table",
    ),
    "text": ("segment_chinese", "standardize_en", "standardize_zh", "tokenize"),
    "ebow": (
        "ENGLISH_STOPWORDS",
        "compute_ebow",
        "ebow_coverage",
        "load_class_lexicon",
        "load_lexicon",
        "load_stopwords",
        "select_ebow_vocabulary",
    ),
    "featurizer": ("TextFeaturizer", "TextPipeline", "make_tf_dataset"),
    "embeddings": ("build_embedding_matrix", "load_word_vectors", "train_word2vec"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "ENGLISH_STOPWORDS",
    "REN_CECPS_EMOTIONS",
    "DataFormatError",
    "Dataset",
    "TextFeaturizer",
    "TextPipeline",
    "build_embedding_matrix",
    "compute_ebow",
    "decode_lines",
    "detect_format",
    "ebow_coverage",
    "find_split_files",
    "load_class_lexicon",
    "load_dataset",
    "load_lexicon",
    "load_stopwords",
    "load_word_vectors",
    "make_tf_dataset",
    "read_lines",
    "read_ren_cecps",
    "read_semeval",
    "read_table",
    "segment_chinese",
    "select_ebow_vocabulary",
    "standardize_en",
    "standardize_zh",
    "tokenize",
    "train_word2vec",
]


def __getattr__(name):
    if name in _WHERE:
        module = importlib.import_module(f"lem_keras.data.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'lem_keras.data' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
