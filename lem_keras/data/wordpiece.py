"""BERT's uncased WordPiece tokenization in core TensorFlow ops (no tensorflow-text).

The sentence-embedding member (``lem_keras.layers.SentenceEncoder``) reads WordPiece ids.
They are computed in the graph, from raw strings, with core TensorFlow ops only, so that a
SavedModel that holds them runs in TensorFlow Serving without custom ops. The steps are those
of BERT's ``BasicTokenizer`` + ``WordpieceTokenizer`` (uncased), as the Hugging Face
``BertTokenizer`` runs them:

1. cut the text to ``MAX_INPUT_BYTES`` (as the featurizer does); drop NUL, U+FFFD and control
   characters; map whitespace (and line / paragraph separators) to a space; lowercase;
2. strip accents (NFD, then drop the combining marks, category Mn);
3. put spaces around punctuation (ASCII symbols and Unicode category P*) and CJK ideographs;
4. split on whitespace; a word longer than 100 characters is ``[UNK]``;
5. greedy longest-match-first WordPiece over each word (continuations prefixed ``##``); a
   word with a part no vocabulary entry matches is ``[UNK]``.

The per-character rules of steps 1-3 are tables over the code points below 0x30000, built
once from :mod:`unicodedata` (above them, planes 14-16 are dropped and the rest kept). The
differences known: accent stripping maps one code point to one (a character whose NFD leaves
several base characters, such as a Hangul syllable, stays as it is), and the Hugging Face
tokenizer also applies NFC normalisation first, which matters only for text already in
decomposed form. On SemEval's 6,838 training tweets, the 40 plain sentences and the odd
strings of ``tests/fixtures/minilm_reference.json`` the ids are the Hugging Face tokenizer's.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from lem_keras.data.text import MAX_INPUT_BYTES

#: Code points the character tables cover; those above are kept as they are.
TABLE_SIZE = 0x30000
#: Longest word (in characters) that WordPiece splits; a longer one is ``[UNK]`` (BERT's).
MAX_WORD_CHARS = 100

_KEEP, _DROP, _SPACE, _ISOLATE = 0, 1, 2, 3
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


@functools.lru_cache(maxsize=1)
def character_tables() -> tuple[np.ndarray, np.ndarray]:
    """``(kind, base)`` over code points ``0 .. TABLE_SIZE - 1``: each one's rule (keep, drop,
    space, isolate) and the code point it becomes once lowercased text is stripped of accents
    (itself unless NFD gives one base character plus combining marks)."""
    kind = np.zeros(TABLE_SIZE, np.int32)
    base = np.arange(TABLE_SIZE, dtype=np.int32)
    cjk = np.zeros(TABLE_SIZE, bool)
    for lo, hi in _CJK:
        cjk[lo : min(hi, TABLE_SIZE - 1) + 1] = True
    kind[cjk] = _ISOLATE
    punctuation = np.zeros(TABLE_SIZE, bool)
    for cp in np.flatnonzero(~cjk):  # the CJK ideographs need no look-up (about 80k of them)
        char = chr(cp)
        category = unicodedata.category(char)
        if cp in (0, 0xFFFD) or category == "Mn" or (category.startswith("C") and char not in "\t\n\r"):
            kind[cp] = _DROP  # BERT's _clean_text drops them; accent stripping drops marks
        elif char in " \t\n\r" or category in ("Zs", "Zl", "Zp"):
            kind[cp] = _SPACE
        punctuation[cp] = (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
                           or category.startswith("P"))
        if cp >= 0xC0 and not category.startswith(("C", "Z")):
            decomposed = [c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn"]
            if len(decomposed) == 1 and decomposed[0] != char:
                base[cp] = ord(decomposed[0])
    # Punctuation is split off after accent stripping: judged on the character it becomes.
    keep = kind == _KEEP
    kind[keep & punctuation[base]] = _ISOLATE
    return kind, base


class WordPieceTokenizer(tf.Module):
    """Raw strings to BERT WordPiece ids, in core TensorFlow ops.

    Args:
        vocabulary: the WordPiece vocabulary (``vocab.txt``'s lines, in order: id = index);
            it must hold ``[PAD]``, ``[UNK]``, ``[CLS]`` and ``[SEP]``.
        max_length: ids per text, ``[CLS]`` and ``[SEP]`` included (longer texts are cut).

    Call: ``tokenizer(strings)`` with a (B,) string tensor gives int32 ``(B, max_length)``:
    ``[CLS] pieces... [SEP]`` then ``[PAD]`` (id of ``[PAD]``, 0 in BERT's vocabulary).

    Example:
        >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##happy", "happy", "!"]
        >>> WordPieceTokenizer(vocab, max_length=8)(tf.constant(["Unhappy!", "happy"])).numpy().tolist()
        [[2, 4, 5, 7, 3, 0, 0, 0], [2, 6, 3, 0, 0, 0, 0, 0]]
    """

    def __init__(self, vocabulary: Sequence[str], max_length: int = 128):
        # A tf.Module, so that a layer holding it tracks its lookup table (SavedModel export).
        super().__init__(name="wordpiece")
        self.vocabulary = list(vocabulary)
        missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if t not in self.vocabulary]
        if missing:
            raise ValueError(f"the WordPiece vocabulary lacks {', '.join(missing)}")
        if int(max_length) < 3:
            raise ValueError(f"max_length must be >= 3, got {max_length!r}")
        self.max_length = int(max_length)
        self.pad_id, self.unk_id, self.cls_id, self.sep_id = (
            self.vocabulary.index(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
        )
        self.max_piece = max(len(t.removeprefix("##")) for t in self.vocabulary)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.vocabulary), tf.range(len(self.vocabulary), dtype=tf.int32)
            ),
            default_value=-1,
        )
        kind, base = character_tables()
        self._kind, self._base = tf.constant(kind), tf.constant(base)

    def words(self, strings) -> tf.RaggedTensor:
        """Steps 1-4: the lowercased, accent-stripped, punctuation-split words (B, None)."""
        strings = tf.reshape(tf.convert_to_tensor(strings, tf.string), [-1])
        # The featurizer's bound on a text (a cut character is repaired below); NUL would end
        # the lowercasing early, and BERT drops it anyway.
        strings = tf.strings.substr(strings, 0, MAX_INPUT_BYTES, unit="BYTE")
        strings = tf.strings.lower(tf.strings.regex_replace(strings, r"\x00", ""), encoding="utf-8")
        cps = tf.strings.unicode_decode(strings, "UTF-8", errors="replace", replacement_char=0xFFFD)
        flat = cps.flat_values
        inside = flat < TABLE_SIZE
        index = tf.where(inside, flat, 0)
        # Above the tables: planes 14-16 (tags, variation selectors, private use) are dropped.
        kind = tf.where(inside, tf.gather(self._kind, index), tf.where(flat >= 0xE0000, _DROP, _KEEP))
        flat = tf.where(inside, tf.gather(self._base, index), flat)
        flat = tf.where(kind == _SPACE, 32, flat)
        # Each isolated character becomes " c ", each dropped one nothing.
        width = tf.where(kind == _ISOLATE, 3, tf.where(kind == _DROP, 0, 1))
        spaced = tf.stack([tf.fill(tf.shape(flat), 32), flat, tf.fill(tf.shape(flat), 32)], axis=1)
        pick = tf.where(
            kind[:, None] == _ISOLATE,
            tf.ones_like(spaced, tf.bool),
            tf.logical_and(kind[:, None] != _DROP, tf.constant([[False, True, False]])),
        )
        chars = tf.boolean_mask(spaced, pick)
        rows = tf.repeat(cps.value_rowids(), width)
        text = tf.strings.unicode_encode(
            tf.RaggedTensor.from_value_rowids(chars, rows, nrows=tf.shape(strings, out_type=tf.int64)[0]),
            "UTF-8",
        )
        return tf.strings.split(text)

    def __call__(self, strings) -> tf.Tensor:
        # Every word gives at least one id: the words past max_length - 2 cannot be kept.
        words = self.words(strings)[:, : self.max_length - 2]
        pieces = self._wordpiece(words.flat_values)  # ragged (W, None) ids per word
        ids = tf.RaggedTensor.from_value_rowids(
            pieces.values, tf.gather(words.value_rowids(), pieces.value_rowids()), nrows=words.nrows()
        )
        ids = ids[:, : self.max_length - 2]
        batch = ids.nrows()
        ids = tf.concat([tf.fill([batch, 1], self.cls_id), ids, tf.fill([batch, 1], self.sep_id)], axis=1)
        return ids.to_tensor(default_value=self.pad_id, shape=[None, self.max_length])

    def _wordpiece(self, words) -> tf.RaggedTensor:
        """Step 5 over a flat (W,) string tensor: ragged (W, None) int32 ids."""
        length = tf.strings.length(words, unit="UTF8_CHAR")
        n = tf.size(words)
        lengths = tf.range(self.max_piece, 0, -1)  # longest first

        def step(start, done, failed, pieces, count):
            # Every candidate piece of every word at its current start, longest first.
            sub = tf.strings.substr(
                words[:, None],
                start[:, None] + tf.zeros_like(lengths)[None],
                tf.broadcast_to(lengths[None], [n, self.max_piece]),
                unit="UTF8_CHAR",
            )
            sub = tf.where(start[:, None] > 0, tf.strings.join(["##", sub]), sub)
            fits = (start[:, None] + lengths[None]) <= length[:, None]
            found = self._table.lookup(sub)
            hit = tf.logical_and(fits, found >= 0)
            best = tf.argmax(tf.cast(hit, tf.int32), axis=1, output_type=tf.int32)  # first hit = longest
            any_hit = tf.reduce_any(hit, axis=1)
            active = tf.logical_not(done)
            piece = tf.gather(found, best, batch_dims=1)
            emit = tf.logical_and(active, any_hit)
            pieces = pieces.write(count, tf.where(emit, piece, -1))
            start = tf.where(emit, start + tf.gather(lengths, best), start)
            failed = tf.logical_or(failed, tf.logical_and(active, tf.logical_not(any_hit)))
            done = tf.logical_or(done, tf.logical_or(failed, start >= length))
            return start, done, failed, pieces, count + 1

        start = tf.zeros([n], tf.int32)
        failed = length > MAX_WORD_CHARS
        done = tf.logical_or(failed, length == 0)
        pieces = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])
        _, _, failed, pieces, count = tf.while_loop(
            lambda start, done, *_: tf.reduce_any(tf.logical_not(done)),
            step,
            (start, done, failed, pieces, tf.constant(0)),
        )
        grid = tf.cond(count > 0, lambda: tf.transpose(pieces.stack()), lambda: tf.zeros([n, 0], tf.int32))
        grid = tf.where(failed[:, None], -1, grid)
        unk = tf.where(failed, self.unk_id, -1)[:, None]
        grid = tf.concat([unk, grid], axis=1)
        return tf.ragged.boolean_mask(grid, grid >= 0)
