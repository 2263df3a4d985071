"""Readers for multi-label emotion datasets.

Every reader returns a :class:`Dataset` and reports malformed input with a
:class:`DataFormatError` whose message starts with ``file:line:``, so that a user
can jump straight to the offending row.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "FORMATS",
    "REN_CECPS_EMOTIONS",
    "DataFormatError",
    "Dataset",
    "decode_lines",
    "detect_format",
    "find_split_files",
    "load_dataset",
    "read_lines",
    "read_ren_cecps",
    "read_semeval",
    "read_table",
]

#: Label order of the Ren-CECps ``label`` column.
REN_CECPS_EMOTIONS = ("joy", "hate", "love", "sorrow", "anxiety", "surprise", "anger", "expect")
#: Formats accepted by :func:`load_dataset`.
FORMATS = ("semeval", "ren-cecps", "csv", "tsv", "jsonl")


class DataFormatError(ValueError):
    """A data file does not have the expected format.

    Attributes:
        path: the file, as given by the caller.
        line: 1-based line number of the problem, or ``None`` for the whole file.
        problem: what is wrong, without the location.
    """

    def __init__(self, path: str | os.PathLike, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@dataclass
class Dataset:
    """Texts with their multi-hot emotion labels.

    Attributes:
        texts: one string per example.
        labels: int array ``(N, K)`` of 0/1.
        emotion_names: the K emotion names, in column order.
        ids: one identifier per example.
    """

    texts: list[str]
    labels: np.ndarray
    emotion_names: list[str]
    ids: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int32).reshape(len(self.texts), -1)
        if not self.ids:
            self.ids = [str(i) for i in range(len(self.texts))]
        if self.labels.shape[1] != len(self.emotion_names):
            raise ValueError(
                f"labels have {self.labels.shape[1]} columns but there are "
                f"{len(self.emotion_names)} emotion names"
            )

    def __len__(self) -> int:
        return len(self.texts)


def _short(value, limit: int = 80) -> str:
    """``repr(value)``, cut to about ``limit`` characters: a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def _read_data_text(path: str | os.PathLike) -> str:
    """:func:`_read_text` for a labelled data file, which must not hold NUL characters."""
    text = _read_text(path)
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise DataFormatError(
            path, line, "NUL byte (0x00): not a UTF-8 text file (UTF-16? binary?); save it as UTF-8 text"
        )
    return text


def _read_text(path: str | os.PathLike, allow_empty: bool = False) -> str:
    """Decode a whole file as UTF-8, naming the line of the first bad byte."""
    return _decode_text(Path(path).read_bytes(), path, allow_empty)


def _decode_text(
    data: bytes,
    path: str | os.PathLike,
    allow_empty: bool = False,
    errors: str = "strict",
    warn: Callable[[str], None] | None = None,
) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        if errors != "replace":
            raise DataFormatError(
                path, line, f"invalid UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8"
            ) from None
        text = data.decode("utf-8", "replace")
        if warn is not None:
            warn(_replaced_message(data, path))
    text = text.removeprefix("\ufeff")
    if not text.strip() and not allow_empty:
        raise DataFormatError(path, None, "the file is empty")
    return text


def _replaced_message(data: bytes, path) -> str:
    """One line naming the lines whose invalid UTF-8 was replaced with U+FFFD."""
    bad = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            bad.append((number, line[error.start]))
    (first, byte), rest = bad[0], [n for n, _ in bad[1:]]
    message = f"{path}:{first}: invalid UTF-8 (byte 0x{byte:02x}) replaced with U+FFFD"
    if rest:
        shown = ", ".join(map(str, rest[:10])) + (f" and {len(rest) - 10} more" if len(rest) > 10 else "")
        message += f"; also on line{'s' if len(rest) > 1 else ''} {shown}"
    return message


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): tweets may hold U+2028 or \x1c, which are not row ends.
    lines = text.split("\n")
    return [line.removesuffix("\r") for line in lines]


@contextlib.contextmanager
def _field_limit(text: str) -> Iterator[None]:
    """Let the csv module read fields as long as ``text`` itself (its default stops at
    131,072 characters), then put the previous limit back."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, len(text) + 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_rows(text: str, **options) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of every row of ``text``, fields of any length allowed."""
    reader = csv.reader(_lines(text), **options)
    with _field_limit(text):
        return [(reader.line_num, row) for row in reader]


def _parse_binary(path, line: int, column: str, value: str) -> int:
    value = value.strip()
    if value in ("0", "1"):
        return int(value)
    if value in ("0.0", "1.0", "true", "false", "True", "False"):
        return int(value in ("1.0", "true", "True"))
    raise DataFormatError(path, line, f"label {_short(column)} is {_short(value)}, expected 0 or 1")


def _no_rows(path) -> DataFormatError:
    return DataFormatError(path, None, "the file has a header but no data rows")


def _expected_emotions(path, found: Sequence[str], expected: Sequence[str] | None) -> list[str]:
    """The emotion columns in the ``expected`` order; a column missing or extra is an error
    naming the file (e.g. a dev file that lacks one of the training file's emotions)."""
    if expected is None:
        return list(found)
    expected = list(expected)
    missing = [name for name in expected if name not in found]
    if missing:
        raise DataFormatError(
            path, 1, f"no column for the emotion(s) {_short(missing)} (expected {_short(expected)})"
        )
    extra = [name for name in found if name not in expected]
    if extra:
        raise DataFormatError(
            path, 1, f"unexpected emotion column(s) {_short(extra)} (expected {_short(expected)})"
        )
    return expected


def read_semeval(path: str | os.PathLike, emotion_names: Sequence[str] | None = None) -> Dataset:
    """Read a SemEval-2018 Task 1 E-c file (train, dev or test-gold).

    Tab-separated with a header ``ID  Tweet  <emotion>...``; read with
    ``csv.QUOTE_NONE`` because tweets contain unbalanced quotes.

    Args:
        path: the ``.txt`` file.
        emotion_names: the emotions the file must hold (e.g. the training file's), in the
            order wanted; default: the header's.

    Returns:
        A :class:`Dataset` whose emotion names are the header's label columns (or
        ``emotion_names``).

    Raises:
        DataFormatError: on a missing column, wrong field count, a label that is
            not 0/1, invalid UTF-8, a NUL byte or an empty file.
    """
    rows = iter(_csv_rows(_read_data_text(path), delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [h.strip() for h in next(rows)[1]]
    for column in ("ID", "Tweet"):
        if column not in header:
            raise DataFormatError(path, 1, f"missing column {column!r} (header is {_short(header)})")
    id_index, text_index = header.index("ID"), header.index("Tweet")
    label_indices = [i for i in range(len(header)) if i not in (id_index, text_index)]
    if not label_indices:
        raise DataFormatError(path, 1, "no emotion columns in the header")
    names = _expected_emotions(path, [header[i] for i in label_indices], emotion_names)
    label_indices = [header.index(name) for name in names]
    texts, ids, labels = [], [], []
    for line_number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(
                path,
                line_number,
                f"expected {len(header)} tab-separated fields, found {len(row)}",
            )
        ids.append(row[id_index])
        texts.append(row[text_index])
        labels.append([_parse_binary(path, line_number, header[i], row[i]) for i in label_indices])
    if not texts:
        raise _no_rows(path)
    return Dataset(texts, np.array(labels), names, ids)


def read_ren_cecps(
    path: str | os.PathLike, emotion_names: Sequence[str] = REN_CECPS_EMOTIONS
) -> Dataset:
    """Read a Ren-CECps CSV file (header ``Tweet,label``).

    ``label`` holds ``|``-joined 0/1 values in the order of ``emotion_names``.
    Texts are quoted by the CSV rules when they contain commas; an unquoted text
    with commas is still read correctly, because the label is the last field.

    Args:
        path: the ``.csv`` file.
        emotion_names: the label order (default: joy|hate|love|sorrow|anxiety|
            surprise|anger|expect).

    Returns:
        A :class:`Dataset`; ids are the 1-based data row numbers.

    Raises:
        DataFormatError: on a missing column, a wrong number of label values, a
            value that is not 0/1, invalid UTF-8 or an empty file.
    """
    emotion_names = list(emotion_names)
    rows = iter(_csv_rows(_read_data_text(path)))
    header = [h.strip() for h in next(rows)[1]]
    for column in ("Tweet", "label"):
        if column not in header:
            raise DataFormatError(path, 1, f"missing column {column!r} (header is {_short(header)})")
    if header != ["Tweet", "label"]:
        raise DataFormatError(path, 1, f"expected the header 'Tweet,label', found {_short(header)}")
    texts, labels = [], []
    for line_number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise DataFormatError(path, line_number, "missing the 'label' field")
        sentence, label = ",".join(row[:-1]), row[-1].strip()
        values = label.split("|")
        if len(values) != len(emotion_names):
            raise DataFormatError(
                path,
                line_number,
                f"label {_short(label)} has {len(values)} values, expected {len(emotion_names)} "
                f"({'|'.join(emotion_names)})",
            )
        texts.append(sentence)
        labels.append(
            [_parse_binary(path, line_number, n, v) for n, v in zip(emotion_names, values)]
        )
    if not texts:
        raise _no_rows(path)
    return Dataset(texts, np.array(labels), emotion_names, [str(i + 1) for i in range(len(texts))])


def _find_column(path, header: Sequence[str], wanted: str | None, candidates: Sequence[str]):
    if wanted is not None:
        if wanted not in header:
            raise DataFormatError(
                path, 1, f"missing column {_short(wanted)} (header is {_short(list(header))})"
            )
        return wanted
    for name in candidates:
        if name in header:
            return name
    return None


def read_table(
    path: str | os.PathLike,
    format: str | None = None,
    text_column: str | None = None,
    label_columns: Sequence[str] | None = None,
    labels_column: str | None = None,
    label_delimiter: str = ";",
    emotion_names: Sequence[str] | None = None,
    id_column: str | None = None,
) -> Dataset:
    """Read a generic CSV, TSV or JSONL dataset.

    Labels come either as one 0/1 column per emotion (``label_columns``; by
    default every column but the text and id columns) or as one column holding a
    delimited list of emotion names (``labels_column``, e.g. ``"joy;fear"``; used
    by default when a column ``labels`` exists). In JSONL the list may also be a
    JSON array.

    Args:
        path: the file.
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``; default from the extension.
        text_column: the text column; default the first of ``text``, ``Tweet``,
            ``tweet``, ``sentence``.
        label_columns: 0/1 columns, one per emotion, in the order wanted.
        labels_column: column holding a delimited list of emotion names.
        label_delimiter: delimiter inside ``labels_column``.
        emotion_names: the allowed emotion names for ``labels_column`` (an
            unknown name is an error); default: the sorted set of names seen. With
            0/1 columns found by default: the columns the file must hold, in this order.
        id_column: identifier column; default ``id``/``ID`` when present.

    Returns:
        A :class:`Dataset`.

    Raises:
        DataFormatError: on a missing column, a value that is not 0/1, an
            unknown emotion name, malformed JSON, invalid UTF-8 or an empty file.
    """
    path = Path(path)
    format = format or _format_from_extension(path)
    if format not in ("csv", "tsv", "jsonl"):
        raise ValueError(f"read_table reads csv, tsv or jsonl, not {format!r}")
    text = _read_data_text(path)
    records: list[tuple[int, dict]] = []
    if format == "jsonl":
        header: list[str] = []
        for line_number, line in enumerate(_lines(text), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(path, line_number, f"invalid JSON: {error.msg}") from None
            if not isinstance(record, dict):
                raise DataFormatError(path, line_number, "expected a JSON object")
            records.append((line_number, record))
            header.extend(k for k in record if k not in header)
    else:
        options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if format == "tsv" else {}
        rows = iter(_csv_rows(text, **options))
        header = [h.strip() for h in next(rows)[1]]
        for line_number, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataFormatError(
                    path, line_number, f"expected {len(header)} fields, found {len(row)}"
                )
            records.append((line_number, dict(zip(header, row))))
    if not records:
        raise _no_rows(path)

    text_column = _find_column(path, header, text_column, ("text", "Tweet", "tweet", "sentence"))
    if text_column is None:
        raise DataFormatError(path, 1, f"missing a text column (header is {_short(header)})")
    id_column = _find_column(path, header, id_column, ("id", "ID"))
    if label_columns is None and labels_column is None:
        labels_column = _find_column(path, header, None, ("labels",))
    if labels_column is None:
        if label_columns is None:
            label_columns = [h for h in header if h not in (text_column, id_column)]
            label_columns = _expected_emotions(path, label_columns, emotion_names)
        if not label_columns:
            raise DataFormatError(path, 1, "no label columns found")
        for column in label_columns:
            _find_column(path, header, column, ())
    else:
        _find_column(path, header, labels_column, ())

    texts, ids, rows = [], [], []
    for line_number, record in records:
        for column in (text_column, labels_column, *(label_columns or ())):
            if column is not None and column not in record:
                raise DataFormatError(path, line_number, f"missing field {_short(column)}")
        value = record[text_column]
        if not isinstance(value, str):
            raise DataFormatError(path, line_number, f"{_short(text_column)} is not a string")
        texts.append(value)
        ids.append(str(record[id_column]) if id_column else str(len(ids)))
        if labels_column is None:
            rows.append(
                [_parse_binary(path, line_number, c, str(record[c])) for c in label_columns]
            )
        else:
            names = record[labels_column]
            if isinstance(names, str):
                names = [n.strip() for n in names.split(label_delimiter) if n.strip()]
            elif not isinstance(names, list):
                raise DataFormatError(path, line_number, f"{_short(labels_column)} is not a list")
            rows.append((line_number, names))

    if labels_column is None:
        return Dataset(texts, np.array(rows, dtype=np.int32), list(label_columns), ids)
    if emotion_names is None:
        emotion_names = sorted({str(n) for _, names in rows for n in names})
    emotion_names = list(emotion_names)
    index = {name: k for k, name in enumerate(emotion_names)}
    labels = np.zeros((len(texts), len(emotion_names)), dtype=np.int32)
    for i, (line_number, names) in enumerate(rows):
        for name in names:
            if name not in index:
                raise DataFormatError(
                    path,
                    line_number,
                    f"unknown emotion {_short(name)} (expected one of {', '.join(emotion_names)})",
                )
            labels[i, index[name]] = 1
    return Dataset(texts, labels, emotion_names, ids)


def read_lines(
    path: str | os.PathLike,
    keep_blank: bool = False,
    errors: str = "strict",
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """Read unlabeled text, one text per line.

    Args:
        path: a UTF-8 text file.
        keep_blank: keep blank and whitespace-only lines (prediction answers every line);
            by default they are skipped (corpora for word vectors).
        errors: ``"strict"``: invalid UTF-8 is an error; ``"replace"``: invalid bytes become
            U+FFFD (as the exported SavedModel does in-graph) and ``warn`` is called with one
            line naming the file and the lines concerned.
        warn: receives that message (``errors="replace"`` only).

    Returns:
        The lines, without line ends.

    Raises:
        DataFormatError: on invalid UTF-8 (naming the line) unless ``errors="replace"``, or
            an empty file unless ``keep_blank``.
    """
    data = Path(path).read_bytes()
    return _select_lines(_decode_text(data, path, keep_blank, errors, warn), keep_blank)


def decode_lines(
    data: bytes,
    source: str = "<stdin>",
    keep_blank: bool = False,
    errors: str = "strict",
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """Like :func:`read_lines`, for bytes already read (e.g. from stdin).

    Args:
        data: UTF-8 bytes, one text per line.
        source: the name used in error messages.
        keep_blank: as in :func:`read_lines`.
        errors: as in :func:`read_lines`.
        warn: as in :func:`read_lines`.

    Returns:
        The lines, without line ends.

    Raises:
        DataFormatError: on invalid UTF-8 (naming the line) unless ``errors="replace"``, or
            empty input unless ``keep_blank``.
    """
    return _select_lines(_decode_text(data, source, keep_blank, errors, warn), keep_blank)


def _select_lines(text: str, keep_blank: bool) -> list[str]:
    lines = _lines(text)
    if not keep_blank:
        return [line for line in lines if line.strip()]
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    return lines


def _format_from_extension(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix in (".tsv", ".txt", ".tab"):
        return "tsv"
    raise ValueError(f"{path}: cannot tell the format from the extension {suffix!r}")


def _first_line(path: Path) -> str:
    with open(path, "rb") as handle:
        return handle.readline(65536).decode("utf-8", "replace").lstrip("\ufeff").strip()


def detect_format(path: str | os.PathLike) -> str:
    """The format of a data file: from its extension, then from its header.

    A ``.csv`` file whose header is ``Tweet,label`` is ``ren-cecps``; a ``.txt``/``.tsv``
    file whose header starts ``ID<tab>Tweet`` is ``semeval``; otherwise the extension
    decides (``.csv``: csv, ``.tsv``/``.txt``/``.tab``: tsv, ``.jsonl``/``.json``/
    ``.ndjson``: jsonl). A file with another extension is told by its header alone.

    Args:
        path: an existing data file.

    Returns:
        One of :data:`FORMATS`.

    Raises:
        FileNotFoundError: when the file does not exist.
        DataFormatError: when neither the extension nor the header tells the format.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise DataFormatError(path, None, "not a file")
    try:
        fmt = _format_from_extension(path)
    except ValueError:
        fmt = None
    if fmt == "jsonl":
        return fmt
    first = _first_line(path)
    if fmt in ("csv", None) and [h.strip() for h in first.split(",")] == ["Tweet", "label"]:
        return "ren-cecps"
    if fmt in ("tsv", None) and [h.strip() for h in first.split("\t")[:2]] == ["ID", "Tweet"]:
        return "semeval"
    if fmt is not None:
        return fmt
    if first.startswith("{"):
        return "jsonl"
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    raise DataFormatError(
        path, None, f"cannot tell the format from the extension {path.suffix!r} or the header; "
        f"give it (one of {', '.join(FORMATS)})"
    )


def load_dataset(path: str | os.PathLike, format: str | None = "auto", **kwargs) -> Dataset:
    """Read a dataset in any supported format.

    Args:
        path: the file.
        format: one of ``semeval``, ``ren-cecps``, ``csv``, ``tsv``, ``jsonl`` or
            ``auto``/``None`` (see :func:`detect_format`).
        **kwargs: passed to :func:`read_table` for csv/tsv/jsonl; of them, ``emotion_names``
            (the emotions the file must hold, in order) applies to every format.

    Returns:
        A :class:`Dataset`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if format in ("auto", None):
        format = detect_format(path)
    emotion_names = kwargs.get("emotion_names")
    if format == "semeval":
        return read_semeval(path, emotion_names)
    if format == "ren-cecps":
        return read_ren_cecps(path, *([emotion_names] if emotion_names is not None else []))
    if format in ("csv", "tsv", "jsonl"):
        return read_table(path, format=format, **kwargs)
    raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)} or auto")


_EXTENSIONS = {
    "semeval": (".txt", ".tsv"),
    "ren-cecps": (".csv",),
    "csv": (".csv",),
    "tsv": (".tsv", ".txt"),
    "jsonl": (".jsonl", ".json", ".ndjson"),
    "auto": (".txt", ".tsv", ".csv", ".jsonl", ".json", ".ndjson"),
}


def find_split_files(directory: str | os.PathLike, format: str | None = "auto") -> tuple[Path, Path]:
    """Find the training and development files of a dataset directory.

    A file is the training split when its name contains ``train`` and the
    development split when it contains ``dev``, ``valid`` or ``val``.

    Args:
        directory: the folder to search (not recursive).
        format: restricts the extensions considered (see :func:`load_dataset`); ``None``
            or ``"auto"``: every data extension (then :func:`detect_format` on each file).

    Returns:
        ``(train_path, dev_path)``.

    Raises:
        FileNotFoundError: when either split is missing or ambiguous.
    """
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"{directory}: no such file or directory")
    if not directory.is_dir():
        raise ValueError(
            f"{directory}: not a directory (give a directory holding train and dev files, or two files)"
        )
    format = format or "auto"
    if format not in _EXTENSIONS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)} or auto")
    files = sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in _EXTENSIONS[format]
    )
    names = [p.name for p in files]

    def pick(split: str, keys: tuple[str, ...]) -> Path:
        matches = [p for p in files if any(k in p.stem.lower() for k in keys)]
        if len(matches) > 1 and split == "dev":
            # `val` also matches `valid`; prefer the more specific names.
            strong = [p for p in matches if any(k in p.stem.lower() for k in keys[:2])]
            matches = strong or matches
        if len(matches) == 1:
            return matches[0]
        what = "no" if not matches else "more than one"
        raise FileNotFoundError(
            f"{directory}: {what} {split} file (a name containing {' or '.join(map(repr, keys))}"
            f" with extension {'/'.join(_EXTENSIONS[format])}); files seen: {names}"
        )

    return pick("train", ("train",)), pick("dev", ("dev", "valid", "val"))
