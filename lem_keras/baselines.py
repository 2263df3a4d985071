"""Reference baselines that LEM is compared against.

Two models live here:

* :func:`build_bigru_classifier` -- a plain Keras binary-relevance BiGRU text
  classifier (embedding -> bidirectional GRU -> dropout -> sigmoid per label).
  It takes the same integer token ids as LEM's ``"tokens"`` input, so callers
  map a LEM dataset with ``lambda x, y: (x["tokens"], y)``.
* :class:`TfidfLogisticRegression` -- TF-IDF word and character n-grams with a
  one-vs-rest logistic regression per emotion (scikit-learn).  It works on raw
  strings with scikit-learn's own tokenization: it is the external "strong
  linear" baseline that users compare with.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

__all__ = ["TfidfLogisticRegression", "build_bigru_classifier"]


def build_bigru_classifier(
    vocab_size: int,
    embedding_dim: int,
    max_length: int,
    num_labels: int,
    units: int = 128,
    dropout: float = 0.2,
    embedding_matrix: np.ndarray | None = None,
) -> keras.Model:
    """Build an (uncompiled) binary-relevance BiGRU multi-label classifier.

    Args:
        vocab_size: number of token ids (id 0 is padding and is masked).
        embedding_dim: size of the word embeddings.
        max_length: padded sequence length of the ``tokens`` input.
        num_labels: number of emotions K; the output is (B, K) sigmoid
            probabilities.
        units: GRU units per direction.
        dropout: dropout rate before the output layer.
        embedding_matrix: optional initial embedding matrix of shape
            ``(vocab_size, embedding_dim)``.

    Returns:
        A functional ``keras.Model`` mapping int tokens (B, max_length) to
        probabilities (B, num_labels). The caller compiles it (e.g. with
        ``binary_crossentropy``).
    """
    if embedding_matrix is not None:
        embedding_matrix = np.asarray(embedding_matrix, dtype="float32")
        if embedding_matrix.shape != (vocab_size, embedding_dim):
            raise ValueError(
                "embedding_matrix has shape "
                f"{embedding_matrix.shape}, expected {(vocab_size, embedding_dim)}"
            )
        initializer = keras.initializers.Constant(embedding_matrix)
    else:
        initializer = "uniform"
    tokens = keras.Input(shape=(max_length,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(
        vocab_size,
        embedding_dim,
        embeddings_initializer=initializer,
        mask_zero=True,
        name="embedding",
    )(tokens)
    x = keras.layers.Bidirectional(keras.layers.GRU(units), name="bigru")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(
        num_labels, activation="sigmoid", name="probabilities"
    )(x)
    return keras.Model(tokens, outputs, name="bigru_classifier")


class TfidfLogisticRegression:
    """TF-IDF word + character n-grams with one-vs-rest logistic regression.

    Features: word 1-2-grams and character 2-5-grams (``char_wb``), both with
    sublinear term frequency, concatenated.  One ``LogisticRegression``
    (liblinear) is trained per label; a label that has a single class in the
    training data gets a constant score (its training frequency, 0 or 1).

    Args:
        C: inverse regularisation strength of each logistic regression.
        class_weight: ``None`` or ``"balanced"`` (passed to scikit-learn).
        word_ngram_range: word n-gram range.
        char_ngram_range: character n-gram range.
        min_df: minimum document frequency of an n-gram.
        max_features: optional cap on each vectorizer's vocabulary.
        lowercase: lowercase texts before extracting n-grams.
    """

    def __init__(
        self,
        C: float = 4.0,
        class_weight: str | dict | None = None,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 1,
        max_features: int | None = None,
        lowercase: bool = True,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.lowercase = lowercase
        self.vectorizer_ = None
        self.estimators_: list = []
        self.constant_scores_: list[float | None] = []

    def _make_vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        common = {
            "sublinear_tf": True,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "lowercase": self.lowercase,
            "dtype": np.float32,
        }
        return FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(
                        analyzer="word",
                        ngram_range=self.word_ngram_range,
                        token_pattern=r"(?u)\b\w+\b|[^\w\s]",
                        **common,
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=self.char_ngram_range, **common
                    ),
                ),
            ]
        )

    def fit(self, texts: Sequence[str], labels: np.ndarray) -> TfidfLogisticRegression:
        """Fit the vectorizers and one classifier per label.

        Args:
            texts: N raw strings.
            labels: (N, K) array of 0/1 labels.

        Returns:
            ``self``.
        """
        from sklearn.linear_model import LogisticRegression

        texts = list(texts)
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[0] != len(texts):
            raise ValueError(
                f"labels must have shape (N, K) with N={len(texts)}, got {labels.shape}"
            )
        self.vectorizer_ = self._make_vectorizer()
        features = self.vectorizer_.fit_transform(texts)
        self.estimators_ = []
        self.constant_scores_ = []
        for k in range(labels.shape[1]):
            column = (labels[:, k] > 0).astype(int)
            if column.min() == column.max():
                self.estimators_.append(None)
                self.constant_scores_.append(float(column[0]) if len(column) else 0.0)
                continue
            estimator = LogisticRegression(
                C=self.C,
                solver="liblinear",
                class_weight=self.class_weight,
                max_iter=1000,
            )
            estimator.fit(features, column)
            self.estimators_.append(estimator)
            self.constant_scores_.append(None)
        return self

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Per-label probabilities, shape (N, K), float32."""
        if self.vectorizer_ is None:
            raise RuntimeError(
                "TfidfLogisticRegression is not fitted; call fit() first"
            )
        features = self.vectorizer_.transform(list(texts))
        n = features.shape[0]
        scores = np.empty((n, len(self.estimators_)), dtype=np.float32)
        for k, (estimator, constant) in enumerate(
            zip(self.estimators_, self.constant_scores_)
        ):
            if estimator is None:
                scores[:, k] = constant
            else:
                scores[:, k] = estimator.predict_proba(features)[:, 1]
        return scores

    def predict(
        self, texts: Sequence[str], thresholds: float | np.ndarray = 0.5
    ) -> np.ndarray:
        """0/1 predictions (N, K): scores at or above ``thresholds`` (float or (K,))."""
        return (self.predict_scores(texts) >= np.asarray(thresholds)).astype(np.int32)
