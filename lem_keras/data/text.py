"""Text preprocessing shared by training, word-vector pre-training and serving.

The standardisation functions are pure TensorFlow string ops (RE2 regexes) so the
exact same code runs inside an exported SavedModel on raw request strings. The
Python helper :func:`tokenize` calls them too, which keeps word2vec tokens, the
training vocabulary and the served model in agreement.

Chinese word segmentation (jieba) cannot run in-graph: a word-level Chinese model's
SavedModel accepts pre-segmented Chinese and :func:`segment_chinese` is the client-side
step. With ``segmentation="characters"`` the tokens are characters, split in-graph by
:func:`standardize_zh_chars`, so raw and pre-segmented text give the same tokens.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence

import keras
import tensorflow as tf

__all__ = [
    "EMOTICON_TOKENS",
    "MAX_INPUT_BYTES",
    "NEGATION_PREFIX",
    "OOV_TOKEN",
    "PAD_TOKEN",
    "RESERVED_TOKENS",
    "TEXT_VERSION",
    "is_emoji_token",
    "segment_chinese",
    "standardize",
    "standardize_en",
    "standardize_zh",
    "standardize_zh_chars",
    "tokenize",
]

#: Inputs are cut to this many bytes before any regex runs, so that a huge
#: request cannot make serving slow; tweets are far shorter.
MAX_INPUT_BYTES = 20_000

# Placeholder tokens are wrapped in a private-use character while punctuation is
# split off, because `<` and `>` would otherwise be split from the word.
_MARK = "\ue000"

# Emoticon patterns run on lowercased text; `\b` keeps `:d` out of `:done`.
_EMOTICONS: tuple[tuple[str, str], ...] = (
    ("heart", r"<+3+"),
    ("sad", r"[:=]'?-?\(+"),
    ("wink", r";-?\)+|;-?d\b"),
    ("tongue", r"[:=;]-?p+\b"),
    ("laugh", r"[:=]-?d+\b|\bx-?d+\b"),
    ("smile", r"[:=]-?[)\]]+|\(+-?[:=]|\^_*\^"),
    ("annoyed", r"[:=]-?[/\\|]+(?:\s|$)|-_+-"),
)

#: The canonical emoticon tokens produced by :func:`standardize_en`.
EMOTICON_TOKENS: tuple[str, ...] = tuple(f"<{name}>" for name, _ in _EMOTICONS)

#: Index 0 of every token vocabulary: padding (never produced by :func:`tokenize`).
PAD_TOKEN = ""
#: Index 1 of every token vocabulary: out-of-vocabulary.
OOV_TOKEN = "[UNK]"
#: The reserved tokens, in vocabulary order; no word vector or eBoW word is one of them.
RESERVED_TOKENS: tuple[str, str] = (PAD_TOKEN, OOV_TOKEN)

# Code points that are pictographs: each becomes a token of its own.
_EMOJI_RANGES = (
    r"\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}\x{2300}-\x{23FF}"
    r"\x{2190}-\x{21FF}\x{3030}\x{303D}\x{3297}\x{3299}\x{00A9}\x{00AE}\x{2122}"
)
# Variation selectors, ZWJ, skin-tone modifiers, BOM and our own marker: dropped,
# so that composite emoji fall apart into their base pictographs.
_STRIP_CHARS = r"[\x{FE00}-\x{FE0F}\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{1F3FB}-\x{1F3FF}\x{E000}]"
# Unicode spaces and control characters (RE2's \s is ASCII-only).
_SPACE_CHARS = r"[\pZ\pC]"
_URL = r"(?:https?://|www\.)[!-~]+"
_MENTION = r"@[a-z0-9_]+"
# Anything that is not a letter, digit, combining mark, space, apostrophe or
# marker is split off as a token of its own (this includes every emoji).
_PUNCT = rf"([^\pL\pN\pM\s'{_MARK}])"

#: Version of the English standardisation; part of the word-vector cache key (vectors must
#: come from the tokens the model sees). 2: negation marking.
TEXT_VERSION = 2
#: Prefix of a word that follows a negator (``not happy`` -> ``not not_happy``).
NEGATION_PREFIX = "not_"
# Negation marking (Das & Chen 2001; Pang et al. 2002), narrowed to one word: the first word
# after a negator that is not a linking word (up to three of them: "not very happy", "nothing
# will ever get better") gets the prefix, so that "happy" in "not happy" is neither the eBoW
# word happy nor its vector. Tweets drop apostrophes, hence dont/cant/...
_NEGATORS = (
    r"not|no|never|cannot|nothing|nobody|none|nor|neither|nowhere|without|[a-z]+n't|"
    r"dont|cant|wont|didnt|doesnt|isnt|arent|wasnt|werent|couldnt|wouldnt|shouldnt|aint|havent|hasnt|hadnt"
)
_NEGATION_LINKS = (
    r"so|very|really|too|that|even|ever|quite|much|as|a|an|the|be|been|being|feel|feeling|felt|"
    r"get|getting|got|gonna|going|seem|seems|look|looks|sound|sounds|at|all|any|more|one|will|was|is"
)
_NEGATION = rf"(^| )({_NEGATORS})((?: (?:{_NEGATION_LINKS})){{0,3}}) ([a-z]+)"


def _cut_and_repair(strings: tf.Tensor) -> tf.Tensor:
    """Bound the byte length, then replace invalid UTF-8 instead of raising."""
    strings = tf.convert_to_tensor(strings, dtype=tf.string)
    strings = tf.strings.substr(strings, 0, MAX_INPUT_BYTES, unit="BYTE")
    # A cut in the middle of a character is repaired here as well.
    strings = tf.strings.unicode_transcode(
        strings,
        input_encoding="UTF-8",
        output_encoding="UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
        replace_control_characters=False,
    )
    strings = tf.strings.regex_replace(strings, _STRIP_CHARS, "")
    return tf.strings.regex_replace(strings, _SPACE_CHARS, " ")


def _finish(strings: tf.Tensor) -> tf.Tensor:
    """Restore placeholders and leave tokens separated by single spaces."""
    strings = tf.strings.regex_replace(strings, rf"{_MARK}([a-z]+){_MARK}", r"<\1>")
    strings = tf.strings.regex_replace(strings, r"\s+", " ")
    return tf.strings.strip(strings)


@keras.saving.register_keras_serializable(package="lem_keras")
def standardize_en(strings: tf.Tensor) -> tf.Tensor:
    """Standardise English tweets into space-separated tokens, in-graph.

    Steps: cut to :data:`MAX_INPUT_BYTES`, repair invalid UTF-8, drop variation
    selectors / ZWJ / skin tones, lowercase, escaped ``\\n`` -> space, HTML
    entities ``&amp; &lt; &gt;`` decoded, URLs -> ``<url>``, @mentions ->
    ``<user>``, emoticons -> ``<smile>``, ``<sad>``, ``<laugh>``, ``<wink>``,
    ``<tongue>``, ``<heart>``, ``<annoyed>``, letters repeated three or more times
    cut to two (``soooo`` -> ``soo``), punctuation and each emoji split off as
    tokens (``#happy`` -> ``# happy``), apostrophes kept inside words (``can't``), and
    the first word after a negator that is not a linking word such as ``very`` or ``get``
    (at most three of those in between) marked with :data:`NEGATION_PREFIX`: ``not happy``
    -> ``not not_happy``, ``never get better`` -> ``never get not_better``.

    Args:
        strings: string tensor of any shape (usually ``(B,)``).

    Returns:
        A string tensor of the same shape whose elements are tokens separated by
        single spaces (empty string when there is no token). Never raises on
        malformed input.
    """
    strings = _cut_and_repair(strings)
    strings = tf.strings.lower(strings, encoding="utf-8")
    # Tweet dumps carry escaped newlines and HTML entities (`&lt;3` is a heart).
    strings = tf.strings.regex_replace(strings, r"\\n", " ")
    strings = tf.strings.regex_replace(strings, "&amp;", " & ")
    strings = tf.strings.regex_replace(strings, "&lt;", "<")
    strings = tf.strings.regex_replace(strings, "&gt;", ">")
    strings = tf.strings.regex_replace(strings, "[\u2018\u2019\u02bc\u0060\u00b4]", "'")
    strings = tf.strings.regex_replace(strings, _URL, f" {_MARK}url{_MARK} ")
    strings = tf.strings.regex_replace(strings, _MENTION, f" {_MARK}user{_MARK} ")
    for name, pattern in _EMOTICONS:
        strings = tf.strings.regex_replace(strings, pattern, f" {_MARK}{name}{_MARK} ")
    # RE2 has no backreferences, hence one pattern per character.
    for char in "abcdefghijklmnopqrstuvwxyz!?.":
        escaped = re.escape(char)
        strings = tf.strings.regex_replace(strings, f"{escaped}{{3,}}", char * 2)
    strings = tf.strings.regex_replace(strings, _PUNCT, r" \1 ")
    # Apostrophes survive only between word characters (can't, o'brien).
    strings = tf.strings.regex_replace(strings, r"(^|\s)('+)", r"\1\2 ")
    strings = tf.strings.regex_replace(strings, r"('+)(\s|$)", r" \1\2")
    strings = _finish(strings)
    return tf.strings.regex_replace(strings, _NEGATION, rf"\1\2\3 {NEGATION_PREFIX}\4")


@keras.saving.register_keras_serializable(package="lem_keras")
def standardize_zh(strings: tf.Tensor) -> tf.Tensor:
    """Standardise already-segmented Chinese text into space-separated tokens.

    Word boundaries come from the input's spaces (see :func:`segment_chinese`);
    this step bounds and repairs the input, lowercases Latin letters, maps URLs
    to ``<url>`` and splits emoji off as tokens.

    Args:
        strings: string tensor of any shape, words separated by whitespace.

    Returns:
        A string tensor of the same shape, tokens separated by single spaces.
    """
    strings = _cut_and_repair(strings)
    strings = tf.strings.lower(strings, encoding="utf-8")
    strings = tf.strings.regex_replace(strings, _URL, f" {_MARK}url{_MARK} ")
    strings = tf.strings.regex_replace(strings, f"([{_EMOJI_RANGES}])", r" \1 ")
    return _finish(strings)


# Every character that is not an ASCII letter or digit, a space or the placeholder
# marker: a token of its own (CJK characters, punctuation, emoji).
_CHAR_TOKEN = r"([^a-z0-9\s\x{E000}])"


@keras.saving.register_keras_serializable(package="lem_keras")
def standardize_zh_chars(strings: tf.Tensor) -> tf.Tensor:
    """Standardise Chinese text, raw or pre-segmented, into character tokens.

    As :func:`standardize_zh`, then every character except ASCII letters and digits
    becomes a token of its own (Chinese characters, full-width forms, punctuation,
    emoji); runs of ASCII letters and digits stay whole (``iphone``, ``2020``, ``<url>``).
    The input's spaces only separate such runs, so unsegmented text and its
    segmentation give the same tokens (except for spaces between two ASCII runs).

    Args:
        strings: string tensor of any shape.

    Returns:
        A string tensor of the same shape, tokens separated by single spaces.
    """
    strings = _cut_and_repair(strings)
    strings = tf.strings.lower(strings, encoding="utf-8")
    strings = tf.strings.regex_replace(strings, _URL, f" {_MARK}url{_MARK} ")
    strings = tf.strings.regex_replace(strings, _CHAR_TOKEN, r" \1 ")
    return _finish(strings)


_STANDARDIZERS = {"en": standardize_en, "zh": standardize_zh}
#: Segmentation mode of character-level Chinese (no word segmentation at all).
CHARACTERS = "characters"


def standardize(language: str, segmentation: str | None = None):
    """Return the registered standardisation function for a language.

    Args:
        language: ``"en"`` or ``"zh"``.
        segmentation: ``"characters"`` selects :func:`standardize_zh_chars` for Chinese.

    Returns:
        :func:`standardize_en`, :func:`standardize_zh` or :func:`standardize_zh_chars`.
    """
    try:
        function = _STANDARDIZERS[language]
    except KeyError:
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}") from None
    return standardize_zh_chars if language == "zh" and segmentation == CHARACTERS else function


_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_PRESEGMENTED = re.compile(f"[{_CJK}]\\s+[{_CJK}]")
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_JIEBA_LOCK = threading.Lock()
_jieba_tokenizer = None


def _jieba():
    """A private, initialised jieba tokenizer (quiet, built once)."""
    global _jieba_tokenizer
    with _JIEBA_LOCK:
        if _jieba_tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            logging.getLogger("jieba").setLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _jieba_tokenizer = tokenizer
    return _jieba_tokenizer


def is_presegmented(text: str) -> bool:
    """Whether Chinese text already has whitespace between CJK characters."""
    return bool(_PRESEGMENTED.search(text))


SEGMENTATIONS = ("auto", "jieba", "pre-segmented", CHARACTERS)


def segment_chinese(texts: Iterable[str], mode: str = "auto") -> list[str]:
    """Segment Chinese sentences into space-separated words.

    Args:
        texts: sentences, raw or pre-segmented.
        mode: ``"characters"`` leaves the texts as they are (the in-graph
            :func:`standardize_zh_chars` splits them); ``"jieba"`` segments every text with
            jieba (HMM on, deterministic),
            after removing whitespace between CJK characters, so pre-segmented
            text is re-segmented the way raw text at prediction time will be;
            ``"pre-segmented"`` only normalises whitespace; ``"auto"`` treats a
            text as pre-segmented when it has whitespace between two CJK
            characters and segments it with jieba otherwise.

    Returns:
        One string per text, words separated by single spaces.
    """
    if mode not in SEGMENTATIONS:
        raise ValueError(f"mode must be one of {', '.join(map(repr, SEGMENTATIONS))}, got {mode!r}")
    if mode == CHARACTERS:
        return list(texts)
    result = []
    for text in texts:
        if mode == "pre-segmented" or (mode == "auto" and is_presegmented(text)):
            result.append(" ".join(text.split()))
        else:
            if mode == "jieba":
                text = _CJK_GAP.sub("", text)
            words = _jieba().lcut(text, HMM=True)
            result.append(" ".join(w.strip() for w in words if w.strip()))
    return result


def _to_bytes(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    # Lone surrogates (from surrogateescape decoding) cannot be encoded strictly.
    return text.encode("utf-8", "replace")


def tokenize(
    texts: Sequence[str | bytes],
    language: str = "en",
    segmentation: str = "auto",
    batch_size: int = 4096,
) -> list[list[str]]:
    """Prepare, standardise and split texts exactly as the model does.

    Args:
        texts: raw texts (``str`` or UTF-8 ``bytes``, invalid bytes tolerated).
        language: ``"en"`` or ``"zh"``.
        segmentation: Chinese segmentation mode (see :func:`segment_chinese`).
        batch_size: how many texts go through TensorFlow at once.

    Returns:
        One list of tokens per text.
    """
    fn = standardize(language, segmentation)
    texts = list(texts)
    if language == "zh":
        texts = segment_chinese(
            [t.decode("utf-8", "replace") if isinstance(t, bytes) else t for t in texts],
            segmentation,
        )
    tokens: list[list[str]] = []
    for start in range(0, len(texts), batch_size):
        chunk = [_to_bytes(t) for t in texts[start : start + batch_size]]
        out = fn(tf.constant(chunk, dtype=tf.string)).numpy()
        tokens.extend(s.decode("utf-8").split() for s in out)
    return tokens


def is_emoji_token(token: str) -> bool:
    """Whether a token is an emoticon placeholder or an emoji pictograph."""
    if token in EMOTICON_TOKENS:
        return True
    return len(token) == 1 and _EMOJI_PY.match(token) is not None


_EMOJI_PY = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u2190-\u21ff"
    "\u3030\u303d\u3297\u3299]"
)
