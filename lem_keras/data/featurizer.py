"""Strings to model inputs: the in-graph :class:`TextFeaturizer` and the
Python-side :class:`TextPipeline` that fits its vocabularies."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lem_keras.data.ebow import (
    ENGLISH_STOPWORDS,
    ebow_idf,
    ebow_terms,
    load_lexicon,
    load_stopwords,
    select_ebow_vocabulary,
)
from lem_keras.data.text import (
    CHARACTERS,
    OOV_TOKEN,
    PAD_TOKEN,
    RESERVED_TOKENS,
    TEXT_VERSION,
    segment_chinese,
    standardize,
    tokenize,
)
from lem_keras.data.wordpiece import WordPieceTokenizer

__all__ = ["OOV_TOKEN", "PAD_TOKEN", "TextFeaturizer", "TextPipeline", "check_texts", "make_tf_dataset"]

PIPELINE_FILE = "pipeline.json"
# 2: English text is negation-marked (data.text.TEXT_VERSION 2).
_FORMAT_VERSION = 2


def check_texts(texts, name: str = "texts") -> list[str]:
    """``texts`` as a list of strings, or a ``TypeError`` that says what was expected.

    A bare string is refused (iterated, it would be one text per character), and so are
    ``None`` and an item that is not a string (the error names its index).

    Args:
        texts: a list (or any iterable) of ``str``.
        name: what to call them in the error.

    Returns:
        The texts, as a new list.

    Raises:
        TypeError: on anything but an iterable of strings.
    """
    expected = f"{name} must be a list of strings"
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{expected}, got a single {type(texts).__name__}; wrap one text in a list: [text]")
    if texts is None:
        raise TypeError(f"{expected}, got None")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"{expected}, got {type(texts).__name__}") from None
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:37] + "..."
            raise TypeError(f"{name}[{index}] is {type(text).__name__} {shown}, expected a str")
    return texts


def _strip_reserved(vocabulary: Sequence[str]) -> list[str]:
    vocabulary = list(vocabulary)
    if vocabulary[:2] == list(RESERVED_TOKENS):
        return vocabulary[2:]
    if any(token in vocabulary for token in RESERVED_TOKENS):
        raise ValueError("'' and '[UNK]' may only appear as the first two vocabulary entries")
    return vocabulary


#: The longest class-lexicon word kept for character tokens, in characters (4 covers the
#: idioms; longer words are rare in text).
LEXICON_MAX_NGRAMS = 4


def _lexicon_separator(segmentation: str | None) -> str:
    """How a class-lexicon word's tokens are joined, in the pipeline's keys and the
    featurizer's n-grams alike: characters without a separator, words with a space."""
    return "" if segmentation == CHARACTERS else " "


#: The TF-IDF member's terms (README "Seed ensembles"): the tokens and their bigrams, and
#: the character 2..5-grams of each token padded with a space on both sides (scikit-learn's
#: ``char_wb`` analyzer), as ``lem_keras.baselines.TfidfLogisticRegression`` reads raw text.
TFIDF_WORD_NGRAMS = 2
TFIDF_CHAR_NGRAMS = (2, 5)
#: The most distinct vocabulary terms kept per text, the heaviest (SemEval's tweets have at
#: most 460; English text of about 640 characters or more reaches it).
TFIDF_MAX_TERMS = 1024
#: WordPiece ids per text for the sentence-embedding member, [CLS] and [SEP] included: the
#: max_seq_length of all-MiniLM-L6-v2's sentence-transformers configuration (the longest
#: SemEval training tweet has 69; a longer text is cut; the encoder reads only the columns
#: the batch uses).
WORDPIECE_MAX_LENGTH = 256


def tfidf_terms(words: tf.RaggedTensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """The TF-IDF terms of standardised, split texts: ``(word terms, character terms)``,
    each a ragged ``(B, None)`` string tensor. Word terms are the tokens and their
    2..``TFIDF_WORD_NGRAMS``-grams joined by a space; character terms the
    ``TFIDF_CHAR_NGRAMS`` n-grams of each token written `` token `` (a token shorter than n
    gives none for that n, as scikit-learn's ``char_wb``).

    >>> w, c = tfidf_terms(tf.ragged.constant([["so", "sad"]]))
    >>> [t.decode() for t in w[0].numpy()], len(c[0])
    (['so', 'sad', 'so sad'], 16)
    """
    grams = [tf.strings.ngrams(words, n, separator=" ") for n in range(2, TFIDF_WORD_NGRAMS + 1)]
    word_terms = tf.concat([words, *grams], axis=1)
    low, high = TFIDF_CHAR_NGRAMS
    chars = tf.strings.unicode_split(tf.strings.join([" ", words.flat_values, " "]), "UTF-8",
                                     errors="replace")
    per_token = tf.concat([tf.strings.ngrams(chars, n, separator="") for n in range(low, high + 1)], axis=1)
    rows = tf.gather(words.value_rowids(), per_token.value_rowids())
    char_terms = tf.RaggedTensor.from_value_rowids(per_token.flat_values, rows, nrows=words.nrows())
    return word_terms, char_terms


@keras.saving.register_keras_serializable(package="lem_keras")
class TextFeaturizer(keras.layers.Layer):
    """Raw strings to the LEM inputs, with TensorFlow ops only.

    The strings are standardised once, with the registered
    :func:`~lem_keras.data.text.standardize_en` / ``standardize_zh``, and split
    on whitespace; a ``keras.layers.StringLookup`` maps the words to token ids
    (the ids ``keras.layers.TextVectorization`` would give: 0 padding, 1 OOV),
    padded / truncated to ``max_length``, and a second one to eBoW ids, giving the
    presence (1.0 or 0.0) of each eBoW term in the text: exactly what
    :class:`~lem_keras.layers.LatentEmotionModule` encodes and reconstructs (an
    all-zero row when no eBoW term occurs). Word-level Chinese input must be
    pre-segmented (words separated by spaces); with ``segmentation="characters"`` the
    tokens are characters (:func:`~lem_keras.data.text.standardize_zh_chars`) and raw
    text is read as it is. With ``ebow_ngrams`` n > 1 the eBoW terms are the tokens and
    their joined 2..n-grams (``开心`` from ``开 心``), as
    :func:`~lem_keras.data.ebow.ebow_terms` lists them. With a class ``lexicon`` it also
    counts, per class, the lexicon words in the text (every token n-gram up to
    ``lexicon_ngrams``, joined as the lexicon's keys are: without a separator for
    characters, with a space for words).

    Args:
        language: ``"en"`` or ``"zh"``.
        token_vocabulary: token list; index 0 is padding (``""``) and 1 is OOV
            (``"[UNK]"``). They are added when missing.
        ebow_vocabulary: the eBoW words (V of them).
        max_length: length L of the token sequences (padded / truncated).
        segmentation: ``"characters"`` for character tokens (Chinese); anything else: words.
        ebow_ngrams: longest token n-gram among the eBoW terms.
        lexicon: optional ``{class: words}`` (C classes), each word written as its tokens
            joined (see above; ``TextPipeline.fit`` prepares it).
        lexicon_ngrams: the longest lexicon word, in tokens.
        tfidf_vocabulary: optional ``(word terms, character terms)`` of the TF-IDF member
            (:func:`tfidf_terms`; ids 1.. in that order, 0 padding), with
        tfidf_idf: their inverse document frequencies, one per term.
        wordpiece_vocabulary: optional BERT WordPiece vocabulary of the sentence-embedding
            member.

    Call arguments:
        inputs: string tensor ``(B,)`` (or ``(B, 1)``).

    Returns:
        ``{"tokens": int32 (B, L), "ebow": float32 (B, V)}``, and with a lexicon
        ``"lexicon": float32 (B, C)``, the count of each class's words. With a TF-IDF
        vocabulary, the text's distinct terms ``"tfidf_ids": int32 (B, T)`` (0: padding) and
        their weights ``"tfidf_values": float32 (B, T)``: ``(1 + ln count) * idf``,
        L2-normalised over the word terms and over the character terms apart (scikit-learn's
        ``TfidfVectorizer(sublinear_tf=True)``, one per kind); ``T = TFIDF_MAX_TERMS``: a
        longer text (over about 500 characters of English) keeps its T heaviest terms,
        normalised over those. With a WordPiece vocabulary, ``"wordpiece_ids": int32 (B,
        WORDPIECE_MAX_LENGTH)``: the raw text's BERT WordPiece ids
        (:class:`~lem_keras.data.wordpiece.WordPieceTokenizer`).

    Example:
        >>> f = TextFeaturizer("en", ["happy", "sad"], ["happy"], max_length=4)
        >>> f(tf.constant(["So happy!!"]))["tokens"].numpy().tolist()
        [[1, 2, 1, 1]]
    """

    def __init__(
        self,
        language: str,
        token_vocabulary: Sequence[str],
        ebow_vocabulary: Sequence[str],
        max_length: int,
        segmentation: str | None = None,
        ebow_ngrams: int = 1,
        lexicon: dict[str, Sequence[str]] | None = None,
        lexicon_ngrams: int = 1,
        tfidf_vocabulary: Sequence[Sequence[str]] | None = None,
        tfidf_idf: Sequence[float] | None = None,
        wordpiece_vocabulary: Sequence[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.language = language
        self.max_length = int(max_length)
        self.segmentation = segmentation
        if int(ebow_ngrams) < 1:
            raise ValueError(f"ebow_ngrams must be >= 1, got {ebow_ngrams!r}")
        self.ebow_ngrams = int(ebow_ngrams)
        words = _strip_reserved(token_vocabulary)
        self.token_vocabulary = [PAD_TOKEN, OOV_TOKEN, *words]
        self.ebow_vocabulary = list(ebow_vocabulary)
        self._standardize = standardize(language, segmentation)
        # Token ids: "" (never produced by the split) -> 0, OOV -> 1, words -> 2, 3, ...
        # the same ids TextVectorization gives, without a second standardisation pass.
        self._empty_tokens = not words
        self.token_lookup = keras.layers.StringLookup(
            vocabulary=words or None,
            mask_token=PAD_TOKEN,
            oov_token=OOV_TOKEN,
            num_oov_indices=1,
            output_mode="int",
            name="token_lookup",
        )
        # eBoW ids: OOV -> 0, eBoW words -> 1..V.
        self._empty_ebow = not self.ebow_vocabulary
        self.ebow_lookup = keras.layers.StringLookup(
            vocabulary=self.ebow_vocabulary or None,
            num_oov_indices=1,
            output_mode="int",
            name="ebow_lookup",
        )
        # Class lexicon: word ids (OOV -> 0, words -> 1..W) and a (W + 1, C) class matrix.
        self.lexicon = {str(k): list(v) for k, v in (lexicon or {}).items()}
        if int(lexicon_ngrams) < 1:
            raise ValueError(f"lexicon_ngrams must be >= 1, got {lexicon_ngrams!r}")
        self.lexicon_ngrams = int(lexicon_ngrams)
        self._lexicon_separator = _lexicon_separator(segmentation)
        if self.lexicon:
            keys = sorted({w for words in self.lexicon.values() for w in words})
            row = {w: i + 1 for i, w in enumerate(keys)}
            matrix = np.zeros((len(keys) + 1, len(self.lexicon)), np.float32)
            for c, words in enumerate(self.lexicon.values()):
                matrix[[row[w] for w in words], c] = 1.0
            self._lexicon_matrix = tf.constant(matrix)
            # No word at all (every one longer than lexicon_ngrams): every count is 0.
            self.lexicon_lookup = keras.layers.StringLookup(
                vocabulary=keys, num_oov_indices=1, output_mode="int", name="lexicon_lookup"
            ) if keys else None
        # TF-IDF member: word terms -> 1..W, character terms -> W+1..W+C, both OOV -> 0.
        self.tfidf_vocabulary = None
        if tfidf_vocabulary is not None:
            word_terms, char_terms = (list(part) for part in tfidf_vocabulary)
            idf = np.asarray(tfidf_idf if tfidf_idf is not None else [], np.float32)
            if idf.shape != (len(word_terms) + len(char_terms),):
                raise ValueError(f"tfidf_idf has {idf.size} values for {len(word_terms)} + "
                                 f"{len(char_terms)} TF-IDF terms")
            self.tfidf_vocabulary = [word_terms, char_terms]
            self.tfidf_idf = [float(v) for v in idf]
            self._tfidf_scale = tf.constant(np.concatenate([[0.0], idf]).astype(np.float32))
            self.tfidf_word_lookup, self.tfidf_char_lookup = (keras.layers.StringLookup(
                vocabulary=terms or None, num_oov_indices=1, output_mode="int", name=f"tfidf_{kind}_lookup",
            ) for kind, terms in (("word", word_terms), ("char", char_terms)))
        # Sentence-embedding member: BERT WordPiece ids of the raw text (wordpiece.py).
        self.wordpiece_vocabulary = list(wordpiece_vocabulary) if wordpiece_vocabulary is not None else None
        self._wordpiece = (WordPieceTokenizer(self.wordpiece_vocabulary, WORDPIECE_MAX_LENGTH)
                           if self.wordpiece_vocabulary is not None else None)

    @property
    def lexicon_size(self) -> int:
        """Number of lexicon classes, C (0 without a lexicon)."""
        return len(self.lexicon)

    @property
    def vocab_size(self) -> int:
        """Number of token ids (including padding and OOV)."""
        return len(self.token_vocabulary)

    @property
    def ebow_size(self) -> int:
        """Number of eBoW words, V."""
        return len(self.ebow_vocabulary)

    @property
    def tfidf_size(self) -> int:
        """Number of TF-IDF term ids, padding included (0 without a TF-IDF vocabulary)."""
        return 1 + sum(len(part) for part in self.tfidf_vocabulary) if self.tfidf_vocabulary else 0

    def build(self, input_shape):
        # The lookup tables are created in __init__ from the fixed vocabularies.
        self.built = True

    def call(self, inputs):
        strings = tf.reshape(tf.convert_to_tensor(inputs, dtype=tf.string), [-1])
        batch = tf.shape(strings)[0]
        # Standardise once; every lookup reads the same split (ragged, no string padding).
        words = self.split(strings)
        flat = words.flat_values
        if self._empty_tokens:
            ids = tf.ones_like(flat, dtype=tf.int32)
        else:
            ids = tf.cast(self.token_lookup(flat), tf.int32)
        tokens = words.with_flat_values(ids).to_tensor(default_value=0, shape=[None, self.max_length])
        tokens = tf.reshape(tokens, [batch, self.max_length])
        out = {"tokens": tokens}
        if self.lexicon:
            out["lexicon"] = self._lexicon_counts(words, batch)
        if self.tfidf_vocabulary is not None:
            out["tfidf_ids"], out["tfidf_values"] = self._tfidf(words, batch)
        if self._wordpiece is not None:
            out["wordpiece_ids"] = tf.reshape(self._wordpiece(strings), [batch, WORDPIECE_MAX_LENGTH])
        if self._empty_ebow:
            return {**out, "ebow": tf.zeros([batch, 0], tf.float32)}
        terms = words
        if self.ebow_ngrams > 1:
            # The tokens, then their 2..n-grams joined without a separator (ebow_terms).
            terms = tf.concat(
                [words] + [tf.strings.ngrams(words, n, separator="") for n in range(2, self.ebow_ngrams + 1)],
                axis=1,
            )
        # Presence per (row, eBoW id) in one bincount; column 0 (OOV) is dropped.
        width = self.ebow_size + 1
        cells = tf.cast(terms.value_rowids(), tf.int32) * width + tf.cast(
            self.ebow_lookup(terms.flat_values), tf.int32
        )
        size = batch * width
        counts = tf.math.bincount(cells, minlength=size, maxlength=size, dtype=tf.float32)
        ebow = tf.cast(tf.reshape(counts, [batch, width])[:, 1:] > 0, tf.float32)
        return {**out, "ebow": ebow}

    def _lexicon_counts(self, words, batch):
        """(B, C): per text, how many of its token n-grams are words of each class."""
        if self.lexicon_lookup is None:
            return tf.zeros([batch, self.lexicon_size], tf.float32)
        grams = [words] + [tf.strings.ngrams(words, n, separator=self._lexicon_separator)
                           for n in range(2, self.lexicon_ngrams + 1)]
        terms = tf.concat(grams, axis=1) if len(grams) > 1 else words
        classes = tf.gather(self._lexicon_matrix, self.lexicon_lookup(terms.flat_values))
        return tf.math.unsorted_segment_sum(classes, tf.cast(terms.value_rowids(), tf.int32), batch)

    def split(self, strings) -> tf.RaggedTensor:
        """The standardised tokens of ``strings`` (B,): a ragged (B, None) string tensor."""
        return tf.strings.split(self._standardize(strings))

    def _tfidf(self, words, batch):
        """``(ids, values)``, each (B, TFIDF_MAX_TERMS): the text's distinct TF-IDF terms."""
        word_terms, char_terms = tfidf_terms(words)
        offset = len(self.tfidf_vocabulary[0])
        char_ids = tf.cast(self.tfidf_char_lookup(char_terms.flat_values), tf.int64)
        ids = tf.concat([tf.cast(self.tfidf_word_lookup(word_terms.flat_values), tf.int64),
                         tf.where(char_ids > 0, char_ids + offset, 0)], axis=0)
        rows = tf.concat([word_terms.value_rowids(), char_terms.value_rowids()], axis=0)
        known = ids > 0
        ids, rows = ids[known], rows[known]
        # Distinct (row, id) cells with their counts (ordered by row below).
        width = tf.cast(self.tfidf_size, tf.int64)
        cells, _, counts = tf.unique_with_counts(rows * width + ids)
        rows, ids = cells // width, cells % width
        values = (1.0 + tf.math.log(tf.cast(counts, tf.float32))) * tf.gather(self._tfidf_scale, ids)
        # A text keeps its TFIDF_MAX_TERMS heaviest terms (every term of a tweet), normalised
        # over what it keeps: by row, heaviest first, then the first ones of each row.
        order = tf.argsort(tf.cast(rows, tf.float64) * 1e6 - tf.cast(values, tf.float64), stable=True)
        rows, ids, values = (tf.gather(v, order) for v in (rows, ids, values))
        first = tf.searchsorted(rows, rows, out_type=tf.int64)  # each row's first entry
        position = tf.range(tf.size(rows, out_type=tf.int64), dtype=tf.int64) - first
        kept = position < TFIDF_MAX_TERMS
        rows, ids, values = rows[kept], ids[kept], values[kept]
        part = tf.cast(rows * 2 + tf.cast(ids > offset, tf.int64), tf.int32)
        norms = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(values), part, batch * 2))
        values = values / tf.gather(norms, part)
        shape, nrows = [batch, TFIDF_MAX_TERMS], tf.cast(batch, tf.int64)
        ids, values = (tf.RaggedTensor.from_value_rowids(v, rows, nrows=nrows).to_tensor(0, shape=shape)
                       for v in (ids, values))
        return tf.cast(ids, tf.int32), values

    def compute_output_spec(self, inputs):
        batch = inputs.shape[0]
        spec = {
            "tokens": keras.KerasTensor((batch, self.max_length), dtype="int32"),
            "ebow": keras.KerasTensor((batch, self.ebow_size), dtype="float32"),
        }
        if self.lexicon:
            spec["lexicon"] = keras.KerasTensor((batch, self.lexicon_size), dtype="float32")
        if self.tfidf_vocabulary is not None:
            spec["tfidf_ids"] = keras.KerasTensor((batch, TFIDF_MAX_TERMS), dtype="int32")
            spec["tfidf_values"] = keras.KerasTensor((batch, TFIDF_MAX_TERMS), dtype="float32")
        if self._wordpiece is not None:
            spec["wordpiece_ids"] = keras.KerasTensor((batch, WORDPIECE_MAX_LENGTH), dtype="int32")
        return spec

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "language": self.language,
                "token_vocabulary": list(self.token_vocabulary),
                "ebow_vocabulary": list(self.ebow_vocabulary),
                "max_length": self.max_length,
                "segmentation": self.segmentation,
                "ebow_ngrams": self.ebow_ngrams,
                "lexicon": self.lexicon or None,
                "lexicon_ngrams": self.lexicon_ngrams,
                "tfidf_vocabulary": self.tfidf_vocabulary,
                "tfidf_idf": self.tfidf_idf if self.tfidf_vocabulary is not None else None,
                "wordpiece_vocabulary": self.wordpiece_vocabulary,
            }
        )
        return config


def _resolve_stopwords(stopwords, language: str) -> set[str]:
    if stopwords is None:
        return set(ENGLISH_STOPWORDS) if language == "en" else set()
    if isinstance(stopwords, (str, os.PathLike)):
        return load_stopwords(stopwords)
    return {str(w).lower() for w in stopwords}


class TextPipeline:
    """Fits the vocabularies and turns texts into LEM inputs.

    Attributes:
        language: ``"en"`` or ``"zh"``.
        max_length: token sequence length L.
        segmentation: Chinese segmentation mode used by :meth:`prepare`
            (``"characters"``: none, the featurizer reads characters).
        token_vocabulary: ``["", "[UNK]", ...]``, most frequent first.
        ebow_vocabulary: the eBoW words.
        ebow_ngrams: longest token n-gram among the eBoW terms.
        ebow_idf: the eBoW terms' inverse document frequencies on the training texts
            (``ebow.ebow_idf``), for the model's wide path.
        lexicon: ``{class: words}`` of the class lexicon given to :meth:`fit` (the words
            as the featurizer matches them), or None.
        lexicon_ngrams: the longest lexicon word kept, in tokens.
        emotion_names: the label names, when given to :meth:`fit`.
        tfidf_vocabulary: ``[word terms, character terms]`` of the TF-IDF member
            (:meth:`fit_tfidf`), or None; ``tfidf_idf`` their idf.
        wordpiece_vocabulary: the sentence-embedding member's WordPiece vocabulary
            (:meth:`set_wordpiece`), or None.
        featurizer: the fitted :class:`TextFeaturizer` layer.
        settings: the fit arguments, saved with the vocabularies.

    Example:
        >>> pipeline = TextPipeline().fit(
        ...     ["so happy :)", "so sad :(", "happy day", "sad day"],
        ...     [[1, 0], [0, 1], [1, 0], [0, 1]],
        ...     language="en", min_count=1, ebow_min_df=1, emotion_names=["joy", "sadness"])
        >>> features = pipeline.transform(["so happy today :)"])
        >>> features["tokens"].shape, pipeline.emotion_names
        ((1, 50), ['joy', 'sadness'])
    """

    def __init__(self):
        self.language = "en"
        self.max_length = 0
        self.segmentation = "auto"
        self.token_vocabulary: list[str] = []
        self.ebow_vocabulary: list[str] = []
        self.ebow_ngrams = 1
        self.ebow_idf: list[float] = []
        self.lexicon: dict[str, list[str]] | None = None
        self.lexicon_ngrams = 1
        self.tfidf_vocabulary: list[list[str]] | None = None
        self.tfidf_idf: list[float] | None = None
        self.wordpiece_vocabulary: list[str] | None = None
        self.emotion_names: list[str] | None = None
        self.settings: dict = {}
        self.featurizer: TextFeaturizer | None = None

    def fit(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        language: str = "en",
        lexicon_paths: Iterable[str | os.PathLike] | None = None,
        stopwords: Iterable[str] | str | os.PathLike | None = None,
        max_tokens: int | None = None,
        min_count: int = 2,
        max_length: int | str | None = 50,
        max_length_cap: int = 200,
        ebow_max_size: int = 2000,
        ebow_min_df: int = 2,
        segmentation: str = "auto",
        emotion_names: Sequence[str] | None = None,
        extra_tokens: Iterable[str] | None = None,
        ebow_ngrams: int = 1,
        class_lexicon: dict[str, Sequence[str]] | None = None,
    ) -> TextPipeline:
        """Build the token and eBoW vocabularies from training data.

        Args:
            texts: training texts (raw; Chinese raw or pre-segmented).
            labels: ``(N, K)`` 0/1 labels (for the chi² eBoW selection).
            language: ``"en"`` or ``"zh"``.
            lexicon_paths: lexicon files (see ``load_lexicon``); their union
                restricts the eBoW. ``None``: chi² selection.
            stopwords: words or a stop-word file; ``None``: the built-in English
                list for English, none for Chinese.
            max_tokens: cap on the token vocabulary (excluding pad/OOV).
            min_count: minimum count of a token to enter the vocabulary.
            max_length: L, or ``"auto"`` (or ``None``) for the 95th percentile of
                training lengths, capped at ``max_length_cap``.
            max_length_cap: upper bound for ``"auto"``.
            ebow_max_size: maximum eBoW vocabulary size.
            ebow_min_df: minimum document frequency of an eBoW word.
            segmentation: Chinese segmentation mode (see ``segment_chinese``);
                ``"characters"``: character tokens, no segmenter.
            emotion_names: the K label names (``Dataset.emotion_names``), stored with
                the pipeline (``pipeline.json``); one per column of ``labels``.
            extra_tokens: more tokens for the vocabulary after the training ones (e.g.
                the words of pre-trained vectors), in order, within ``max_tokens``.
            ebow_ngrams: eBoW terms are the tokens and their 2..n-grams (chi² selection
                ranks them together).
            class_lexicon: optional ``{class: words}`` (``ebow.load_class_lexicon``): the
                featurizer then counts each class's words in a text (output
                ``"lexicon"``). The words are tokenised as texts are; words longer than
                :data:`LEXICON_MAX_NGRAMS` tokens (character segmentation) or one token
                (words) are left out.

        Returns:
            ``self``.
        """
        if emotion_names is not None:
            emotion_names = [str(name) for name in emotion_names]
            width = np.shape(labels)[1] if np.ndim(labels) == 2 else None
            if width is not None and len(emotion_names) != width:
                raise ValueError(f"{len(emotion_names)} emotion_names for {width} label columns")
        self.language = language
        self.segmentation = segmentation
        standardize(language)  # validates the language early
        if int(ebow_ngrams) < 1:
            raise ValueError(f"ebow_ngrams must be >= 1, got {ebow_ngrams!r}")
        self.ebow_ngrams = int(ebow_ngrams)
        token_lists = self.tokenize(texts)
        counts = Counter(t for tokens in token_lists for t in tokens)
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        words = [w for w in words if w not in RESERVED_TOKENS]
        if extra_tokens is not None:
            seen = set(words) | set(RESERVED_TOKENS)
            for token in extra_tokens:
                if token and token not in seen:
                    seen.add(token)
                    words.append(token)
        if max_tokens is not None:
            words = words[:max_tokens]
        if max_length is None or max_length == "auto":
            lengths = [len(t) for t in token_lists] or [1]
            max_length = int(min(max_length_cap, max(1, math.ceil(np.percentile(lengths, 95)))))
        lexicon = None
        if lexicon_paths:
            lexicon = set()
            for path in lexicon_paths:
                lexicon |= load_lexicon(path)
        term_lists = [ebow_terms(tokens, self.ebow_ngrams) for tokens in token_lists]
        self.ebow_vocabulary = select_ebow_vocabulary(
            term_lists,
            np.asarray(labels),
            stopwords=_resolve_stopwords(stopwords, language),
            lexicon=lexicon,
            max_size=ebow_max_size,
            min_df=ebow_min_df,
        )
        self.ebow_idf = ebow_idf(term_lists, self.ebow_vocabulary)
        self.lexicon, self.lexicon_ngrams = None, 1
        self.tfidf_vocabulary, self.tfidf_idf = None, None
        self.wordpiece_vocabulary = None
        if class_lexicon:
            self.lexicon_ngrams = LEXICON_MAX_NGRAMS if segmentation == CHARACTERS else 1
            self.lexicon = self._lexicon_keys(class_lexicon)
        self.token_vocabulary = [PAD_TOKEN, OOV_TOKEN, *words]
        self.max_length = int(max_length)
        self.emotion_names = emotion_names
        self.settings = {
            "lexicon_paths": [str(p) for p in lexicon_paths or ()],
            "stopwords": stopwords if isinstance(stopwords, (str, os.PathLike)) else None,
            "max_tokens": max_tokens,
            "min_count": min_count,
            "ebow_max_size": ebow_max_size,
            "ebow_min_df": ebow_min_df,
        }
        if isinstance(self.settings["stopwords"], os.PathLike):
            self.settings["stopwords"] = str(self.settings["stopwords"])
        self._build_featurizer()
        return self

    def _lexicon_keys(self, class_lexicon: dict[str, Sequence[str]]) -> dict[str, list[str]]:
        """Each class's words as the featurizer matches them: their tokens joined (without
        a separator for characters, with a space for words), at most ``lexicon_ngrams``."""
        separator = _lexicon_separator(self.segmentation)
        names = [str(name) for name in class_lexicon]
        words = sorted({str(w) for ws in class_lexicon.values() for w in ws if str(w).strip()})
        key = {w: separator.join(tokens) for w, tokens in zip(words, self.tokenize(words))
               if 1 <= len(tokens) <= self.lexicon_ngrams}
        return {name: sorted({key[str(w)] for w in class_lexicon[name] if str(w) in key}) for name in names}

    def fit_tfidf(self, texts: Sequence[str], min_df: int = 1, batch_size: int = 2048) -> TextPipeline:
        """Add the TF-IDF member's vocabulary, fitted on ``texts``: every word and character
        term (:func:`tfidf_terms` of the featurizer's tokens) in at least ``min_df`` of them,
        most frequent first, with scikit-learn's smoothed idf ``ln((1 + N) / (1 + df)) + 1``;
        the featurizer then also gives ``"tfidf_ids"`` / ``"tfidf_values"``.

        Args:
            texts: the training texts (raw).
            min_df: the fewest texts a term must occur in.
            batch_size: texts per featurizer call.

        Returns:
            ``self``.
        """
        if self.featurizer is None:
            raise RuntimeError("call fit() or load() first")
        prepared = self.prepare(check_texts(texts))
        frequency: list[Counter] = [Counter(), Counter()]
        for start in range(0, len(prepared), batch_size):
            chunk = [t.encode("utf-8", "replace") for t in prepared[start : start + batch_size]]
            for counter, terms in zip(frequency, tfidf_terms(self.featurizer.split(tf.constant(chunk)))):
                for row in terms.to_list():
                    counter.update(set(row))
        n = len(prepared)
        parts = [sorted((t for t, c in counter.items() if c >= min_df), key=lambda t: (-counter[t], t))
                 for counter in frequency]
        if not parts[0] or not parts[1]:
            raise ValueError(f"no TF-IDF term occurs in {min_df} of the {n} training texts")
        self.tfidf_vocabulary = [[t.decode("utf-8") for t in part] for part in parts]
        self.tfidf_idf = [math.log((1 + n) / (1 + counter[t])) + 1.0
                          for counter, part in zip(frequency, parts) for t in part]
        self._build_featurizer()
        return self

    def set_wordpiece(self, vocabulary: Sequence[str]) -> TextPipeline:
        """Give the featurizer the sentence-embedding member's input too: ``"wordpiece_ids"``,
        int32 (N, ``WORDPIECE_MAX_LENGTH``), the BERT WordPiece ids of the raw text
        (:class:`~lem_keras.data.wordpiece.WordPieceTokenizer` over ``vocabulary``).

        Returns:
            ``self``.
        """
        if self.featurizer is None:
            raise RuntimeError("call fit() or load() first")
        self.wordpiece_vocabulary = list(vocabulary)
        self._build_featurizer()
        return self

    def _build_featurizer(self):
        self.featurizer = TextFeaturizer(
            self.language, self.token_vocabulary, self.ebow_vocabulary, self.max_length,
            segmentation=self.segmentation, ebow_ngrams=self.ebow_ngrams,
            lexicon=self.lexicon, lexicon_ngrams=self.lexicon_ngrams,
            tfidf_vocabulary=self.tfidf_vocabulary, tfidf_idf=self.tfidf_idf,
            wordpiece_vocabulary=self.wordpiece_vocabulary,
        )

    def prepare(self, texts: Iterable[str]) -> list[str]:
        """Python-side preparation before the in-graph featurizer.

        Args:
            texts: raw texts.

        Returns:
            Chinese: texts segmented with jieba (or left as they are when already
            segmented, or read as characters, per ``segmentation``); English: the
            texts unchanged.

        Raises:
            TypeError: when ``texts`` is not a list of strings (see :func:`check_texts`).
        """
        texts = check_texts(texts)
        if self.language == "zh":
            return segment_chinese(texts, self.segmentation)
        return texts

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens the featurizer sees for each text (prepare + standardize).

        Args:
            texts: raw texts.

        Returns:
            One token list per text.
        """
        mode = CHARACTERS if self.segmentation == CHARACTERS else "pre-segmented"
        return tokenize(self.prepare(texts), self.language, segmentation=mode)

    def transform(self, texts: Sequence[str], batch_size: int = 2048) -> dict[str, np.ndarray]:
        """Turn texts into model inputs.

        Args:
            texts: raw texts.
            batch_size: texts per featurizer call.

        Returns:
            ``{"tokens": int32 (N, L), "ebow": float32 (N, V)}``, and with a class
            lexicon ``"lexicon": float32 (N, C)``.
        """
        if self.featurizer is None:
            raise RuntimeError("call fit() or load() first")
        prepared = self.prepare(texts)
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(prepared), batch_size):
            chunk = [t.encode("utf-8", "replace") for t in prepared[start : start + batch_size]]
            for key, value in self.featurizer(tf.constant(chunk, dtype=tf.string)).items():
                parts.setdefault(key, []).append(np.asarray(value))
        if not parts:  # no texts: the featurizer's outputs, with no rows
            spec = self.featurizer.compute_output_spec(keras.KerasTensor((0,), dtype="string"))
            return {key: np.zeros((0, *value.shape[1:]), value.dtype) for key, value in spec.items()}
        return {key: np.concatenate(values) for key, values in parts.items()}

    def get_config(self) -> dict:
        """All settings and vocabularies (what ``pipeline.json`` holds)."""
        return {
            "format_version": _FORMAT_VERSION,
            "language": self.language,
            "max_length": self.max_length,
            "segmentation": self.segmentation,
            "emotion_names": self.emotion_names,
            "settings": self.settings,
            "token_vocabulary": self.token_vocabulary,
            "ebow_vocabulary": self.ebow_vocabulary,
            "ebow_ngrams": self.ebow_ngrams,
            "ebow_idf": self.ebow_idf,
            "lexicon": self.lexicon,
            "lexicon_ngrams": self.lexicon_ngrams,
            "tfidf_vocabulary": self.tfidf_vocabulary,
            "tfidf_idf": self.tfidf_idf,
            "wordpiece_vocabulary": self.wordpiece_vocabulary,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``pipeline.json`` (UTF-8) into ``directory`` (created if needed).

        Args:
            directory: target folder.

        Returns:
            The path of the written file.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / PIPELINE_FILE
        path.write_text(json.dumps(self.get_config(), ensure_ascii=False, indent=1), "utf-8")
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> TextPipeline:
        """Read a pipeline written by :meth:`save`.

        Args:
            directory: the folder holding ``pipeline.json`` (or the file itself).

        Returns:
            The pipeline, featurizer included.
        """
        path = Path(directory)
        if path.is_dir():
            path = path / PIPELINE_FILE
        config = json.loads(path.read_text("utf-8"))
        if config.get("language") == "en" and int(config.get("format_version", 1)) < 2:
            warnings.warn(f"{path}: written before English negation marking (lem_keras text version "
                          f"{TEXT_VERSION}); this model reads 'not happy' as 'not not_happy', which its "
                          "vocabulary lacks: retrain it", stacklevel=2)
        pipeline = cls()
        pipeline.language = config["language"]
        pipeline.max_length = int(config["max_length"])
        pipeline.segmentation = config.get("segmentation", "auto")
        pipeline.emotion_names = config.get("emotion_names")
        pipeline.settings = config.get("settings", {})
        pipeline.token_vocabulary = list(config["token_vocabulary"])
        pipeline.ebow_vocabulary = list(config["ebow_vocabulary"])
        pipeline.ebow_ngrams = int(config.get("ebow_ngrams", 1))
        pipeline.ebow_idf = [float(v) for v in config.get("ebow_idf", [])]
        pipeline.lexicon = config.get("lexicon") or None
        pipeline.lexicon_ngrams = int(config.get("lexicon_ngrams", 1))
        pipeline.tfidf_vocabulary = config.get("tfidf_vocabulary")
        pipeline.tfidf_idf = config.get("tfidf_idf")
        pipeline.wordpiece_vocabulary = config.get("wordpiece_vocabulary")
        pipeline._build_featurizer()
        return pipeline


def make_tf_dataset(
    pipeline: TextPipeline,
    texts: Sequence[str],
    labels: np.ndarray | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = None,
    shuffle_epoch: tf.Variable | None = None,
) -> tf.data.Dataset:
    """A batched ``tf.data.Dataset`` for ``model.fit`` / ``evaluate`` / ``predict``.

    Features are computed once up front (the featurizer is not in the loop).

    Args:
        pipeline: a fitted :class:`TextPipeline`.
        texts: raw texts.
        labels: optional ``(N, K)`` labels, yielded as float32.
        batch_size: batch size.
        shuffle: shuffle the examples each epoch.
        seed: shuffle seed.
        shuffle_epoch: an int64 ``tf.Variable`` holding the epoch index (set by
            ``callbacks.ShuffleEpoch``): an epoch's order is then a function of
            ``(seed, epoch)`` alone, the same after a resumed run as in an uninterrupted
            one. Without it the order follows TensorFlow's shuffle from ``seed``.

    Returns:
        A dataset of ``features`` or ``(features, labels)``, where ``features``
        is ``{"tokens": int32 (B, L), "ebow": float32 (B, V)}``.
    """
    features = pipeline.transform(texts)
    if labels is None:
        dataset = tf.data.Dataset.from_tensor_slices(features)
    else:
        labels = np.asarray(labels, dtype=np.float32)
        if labels.shape[0] != features["tokens"].shape[0]:
            raise ValueError(f"{features['tokens'].shape[0]} texts but {labels.shape[0]} labels")
        dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    if shuffle and shuffle_epoch is not None:
        # The permutation is drawn when an epoch's iterator starts, from (seed, epoch).
        count = features["tokens"].shape[0]
        key = tf.constant(0 if seed is None else seed, tf.int64)

        def order(_):
            return tf.random.experimental.stateless_shuffle(
                tf.range(count, dtype=tf.int64), seed=tf.stack([key, tf.cast(shuffle_epoch, tf.int64)])
            )

        examples = (features, labels) if labels is not None else features
        examples = tf.nest.map_structure(tf.convert_to_tensor, examples)

        @tf.autograph.experimental.do_not_convert
        def gather(batch_indices):
            return tf.nest.map_structure(lambda t: tf.gather(t, batch_indices), examples)

        indices = tf.data.Dataset.from_tensors(0).map(order).unbatch()
        return indices.batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)
    if shuffle:
        buffer = max(1, features["tokens"].shape[0])
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
