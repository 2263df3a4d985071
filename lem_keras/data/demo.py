"""The embedded demo corpus: small English and Chinese multi-label emotion data.

The corpus is written by this project (``tools/make_demo_corpus.py``; nothing is
copied from any dataset) and ships as package data in ``data/demo_corpus/``:

* English: ``demo-en-train.txt`` (288 tweets) and ``demo-en-dev.txt`` (72), in the
  SemEval-2018 E-c format with its 11 emotions.
* Chinese: ``demo-zh-train.csv`` (96 sentences) and ``demo-zh-dev.csv`` (24), in
  the Ren-CECps format (word-segmented text, 8 emotions).

It is big enough for ``lem-keras train`` with no data to learn sensible
predictions in a couple of minutes, and small enough to ship.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lem_keras.data.readers import Dataset

__all__ = ["DEMO_FILES", "demo_path", "load_demo"]

DEMO_FILES: dict[tuple[str, str], str] = {
    ("en", "train"): "demo-en-train.txt",
    ("en", "dev"): "demo-en-dev.txt",
    ("zh", "train"): "demo-zh-train.csv",
    ("zh", "dev"): "demo-zh-dev.csv",
}


def _normalise_language(language: str) -> str:
    lang = language.strip().lower()
    if lang in ("en", "english"):
        return "en"
    if lang in ("zh", "cn", "chinese", "zh-cn"):
        return "zh"
    raise ValueError(f"unknown demo language {language!r}; expected 'en' or 'zh'")


def demo_path(language: str = "en", split: str = "train") -> Path:
    """Path of one demo corpus file.

    Args:
        language: ``"en"`` or ``"zh"``.
        split: ``"train"`` or ``"dev"``.

    Returns:
        The file's path inside the installed package.

    Raises:
        ValueError: on an unknown language or split.
        FileNotFoundError: when the package data is missing (a broken install).
    """
    lang = _normalise_language(language)
    if split not in ("train", "dev"):
        raise ValueError(f"unknown demo split {split!r}; expected 'train' or 'dev'")
    resource = importlib.resources.files("lem_keras") / "data" / "demo_corpus" / DEMO_FILES[(lang, split)]
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(
            f"demo corpus file {path} is missing; reinstall lem_keras (package data data/demo_corpus/*)"
        )
    return path


def load_demo(language: str = "en") -> tuple[Dataset, Dataset]:
    """Load the demo corpus.

    Args:
        language: ``"en"`` (SemEval-2018 E-c style, 11 emotions) or ``"zh"``
            (Ren-CECps style, 8 emotions, word-segmented text).

    Returns:
        ``(train, dev)`` :class:`~lem_keras.data.readers.Dataset` objects.
    """
    from lem_keras.data.readers import read_ren_cecps, read_semeval

    lang = _normalise_language(language)
    reader = read_semeval if lang == "en" else read_ren_cecps
    return reader(demo_path(lang, "train")), reader(demo_path(lang, "dev"))
