"""Readers on small fixtures, malformed files included."""

from pathlib import Path

import numpy as np
import pytest

from lem_keras.data.readers import (
    REN_CECPS_EMOTIONS,
    DataFormatError,
    find_split_files,
    load_dataset,
    read_lines,
    read_ren_cecps,
    read_semeval,
    read_table,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_read_semeval_keeps_quotes_emoji_and_labels():
    data = read_semeval(FIXTURES / "semeval_sample.txt")
    assert len(data) == 4
    assert data.emotion_names[0] == "anger" and data.emotion_names[-1] == "trust"
    assert len(data.emotion_names) == 11
    assert data.ids[0] == "2017-En-1"
    # QUOTE_NONE: quotes are part of the text, not field delimiters.
    assert data.texts[0].startswith("“Worry") and data.texts[0].endswith("#motivation")
    assert '"so"' in data.texts[2]
    assert "😂😂" in data.texts[1]
    assert data.labels.shape == (4, 11)
    np.testing.assert_array_equal(data.labels[1], [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
    assert data.labels[3].sum() == 0


@pytest.mark.parametrize(
    "name, line, fragment",
    [
        ("semeval_bad_label.txt", 3, "label 'anger' is '2', expected 0 or 1"),
        ("semeval_missing_column.txt", 1, "missing column 'Tweet'"),
        ("semeval_short_row.txt", 4, "expected 13 tab-separated fields, found 12"),
        ("semeval_bad_utf8.txt", 4, "invalid UTF-8"),
    ],
)
def test_semeval_errors_name_file_and_line(name, line, fragment):
    with pytest.raises(DataFormatError) as info:
        read_semeval(FIXTURES / name)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.line == line
    assert error.path.endswith(name)
    assert str(error).startswith(f"{FIXTURES / name}:{line}: ")
    assert fragment in str(error)


@pytest.mark.parametrize("name", ["empty.txt", "header_only.txt"])
def test_empty_files_are_reported(name):
    with pytest.raises(DataFormatError, match=name):
        read_semeval(FIXTURES / name)


def test_read_ren_cecps_handles_commas_and_crlf():
    data = read_ren_cecps(FIXTURES / "ren_cecps_sample.csv")
    assert data.emotion_names == list(REN_CECPS_EMOTIONS)
    assert len(data) == 3
    assert data.texts[1] == "我 很 高兴 , 真的 。"  # quoted comma
    assert data.texts[2] == "他 说 , 好 吧"  # unquoted comma: label is the last field
    np.testing.assert_array_equal(data.labels[1], [1, 0, 1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(data.labels[0], [0, 0, 0, 0, 1, 0, 0, 0])


def test_ren_cecps_errors():
    with pytest.raises(DataFormatError, match=r"ren_cecps_bad_count.csv:2: .*3 values, expected 8"):
        read_ren_cecps(FIXTURES / "ren_cecps_bad_count.csv")
    with pytest.raises(DataFormatError, match=r"bad_value.csv:3: label 'sorrow' is 'x'"):
        read_ren_cecps(FIXTURES / "ren_cecps_bad_value.csv")


def test_read_table_one_column_per_emotion():
    data = read_table(FIXTURES / "table_onehot.csv")
    assert data.emotion_names == ["joy", "fear"]
    assert data.texts[0] == "so happy, yay"
    assert data.ids == ["1", "2", "3"]
    np.testing.assert_array_equal(data.labels, [[1, 0], [0, 1], [0, 0]])


def test_read_table_delimited_names_inferred_sorted():
    data = read_table(FIXTURES / "table_names.tsv")
    assert data.emotion_names == ["fear", "joy"]
    assert data.texts[0] == 'so happy "quoted'
    np.testing.assert_array_equal(data.labels, [[0, 1], [1, 1], [0, 0]])


def test_read_table_given_names_and_delimiter():
    data = read_table(
        FIXTURES / "table_names.tsv", emotion_names=["joy", "fear", "anger"], label_delimiter=";"
    )
    assert data.emotion_names == ["joy", "fear", "anger"]
    np.testing.assert_array_equal(data.labels[1], [1, 1, 0])


def test_read_jsonl_lists_and_strings():
    data = read_table(FIXTURES / "table.jsonl")
    assert data.ids == ["a", "b"]
    assert data.emotion_names == ["fear", "joy"]
    np.testing.assert_array_equal(data.labels, [[0, 1], [1, 1]])


@pytest.mark.parametrize(
    "name, kwargs, pattern",
    [
        ("table_bad_value.csv", {}, r"table_bad_value.csv:3: label 'fear' is 'yes', expected 0 or 1"),
        ("table_names_unknown.csv", {"emotion_names": ["joy"]}, r":3: unknown emotion 'rage'"),
        ("table_bad_json.jsonl", {}, r"table_bad_json.jsonl:2: invalid JSON"),
        ("table_missing_text.csv", {}, r"table_missing_text.csv:1: missing a text column"),
        ("table_onehot.csv", {"label_columns": ["joy", "anger"]}, r":1: missing column 'anger'"),
    ],
)
def test_read_table_errors(name, kwargs, pattern):
    with pytest.raises(DataFormatError, match=pattern):
        read_table(FIXTURES / name, **kwargs)


def test_load_dataset_auto_detects_formats():
    assert load_dataset(FIXTURES / "semeval_sample.txt").ids[0] == "2017-En-1"
    assert load_dataset(FIXTURES / "ren_cecps_sample.csv").emotion_names[0] == "joy"
    assert load_dataset(FIXTURES / "table_onehot.csv").emotion_names == ["joy", "fear"]
    assert len(load_dataset(FIXTURES / "table.jsonl", format="jsonl")) == 2
    with pytest.raises(ValueError, match="unknown format"):
        load_dataset(FIXTURES / "table.jsonl", format="xml")
    with pytest.raises(FileNotFoundError):
        load_dataset(FIXTURES / "nope.csv")


def test_find_split_files(tmp_path):
    for name in ("data-train.csv", "data-dev.csv", "data-test.csv", "notes.md"):
        (tmp_path / name).write_text("x")
    train, dev = find_split_files(tmp_path, "csv")
    assert (train.name, dev.name) == ("data-train.csv", "data-dev.csv")
    (tmp_path / "data-dev.csv").rename(tmp_path / "data-valid.csv")
    assert find_split_files(tmp_path, "auto")[1].name == "data-valid.csv"
    (tmp_path / "data-valid.csv").unlink()
    with pytest.raises(FileNotFoundError, match="no dev file"):
        find_split_files(tmp_path, "csv")
    with pytest.raises(FileNotFoundError, match="no train file"):
        find_split_files(tmp_path, "jsonl")


def test_read_lines():
    assert read_lines(FIXTURES / "unlabeled.txt") == ["I love this :)", "so sad today", "#happy days 😂"]
    with pytest.raises(DataFormatError, match=r"unlabeled_bad_utf8.txt:3: invalid UTF-8"):
        read_lines(FIXTURES / "unlabeled_bad_utf8.txt")


def test_decode_lines_names_source_and_line():
    from lem_keras.data.readers import decode_lines

    assert decode_lines(b"one\r\n\r\ntwo\n") == ["one", "two"]
    with pytest.raises(DataFormatError, match=r"^<stdin>:2: invalid UTF-8"):
        decode_lines(b"ok\n\xff\n")
    with pytest.raises(DataFormatError, match="empty"):
        decode_lines(b"  \n")


# ----------------------------------------------------------------------------- format detection


def test_detect_format_by_extension_then_header(tmp_path):
    from lem_keras.data.readers import detect_format

    assert detect_format(FIXTURES / "semeval_sample.txt") == "semeval"
    assert detect_format(FIXTURES / "ren_cecps_sample.csv") == "ren-cecps"
    assert detect_format(FIXTURES / "table_onehot.csv") == "csv"
    assert detect_format(FIXTURES / "table_names.tsv") == "tsv"
    assert detect_format(FIXTURES / "table.jsonl") == "jsonl"
    # No known extension: the header alone decides.
    for name, text, expected in [
        ("a.data", "ID\tTweet\tjoy\n1\thi\t1\n", "semeval"),
        ("b.data", "Tweet,label\nhi,1|0\n", "ren-cecps"),
        ("c", '{"text": "hi", "labels": ["joy"]}\n', "jsonl"),
        ("d.dat", "text\tjoy\nhi\t1\n", "tsv"),
        ("e.dat", "text,joy\nhi,1\n", "csv"),
    ]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert detect_format(tmp_path / name) == expected, name
    (tmp_path / "f.dat").write_text("just words\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"f.dat: cannot tell the format"):
        detect_format(tmp_path / "f.dat")
    with pytest.raises(FileNotFoundError, match="no such file"):
        detect_format(tmp_path / "missing.txt")


def test_find_split_files_and_load_dataset_without_a_format():
    """No --format: the split files are found and read in their detected format."""
    semeval_dir = FIXTURES / "cli" / "semeval"
    train, dev = find_split_files(semeval_dir, None)
    assert (train.name, dev.name) == ("tiny-train.txt", "tiny-dev.txt")
    for path in (train, dev):
        data = load_dataset(path, None)
        assert data.emotion_names == ["anger", "fear", "joy", "sadness"]


def test_fields_longer_than_the_csv_default_limit_are_read(tmp_path):
    """A text of 200,000 characters (the csv module stops at 131,072 by default)."""
    import csv

    long_text = "happy " * 33_334
    files = {
        "long.txt": ("semeval", f"ID\tTweet\tjoy\tfear\n1\t{long_text}\t1\t0\n2\tshort\t0\t1\n"),
        "long.csv": ("ren-cecps", f'Tweet,label\n"{long_text}",1|0|0|0|0|0|0|0\nshort,0|1|0|0|0|0|0|0\n'),
        "long-table.csv": ("csv", f'text,joy,fear\n"{long_text}",1,0\nshort,0,1\n'),
        "long-table.tsv": ("tsv", f"text\tjoy\tfear\n{long_text}\t1\t0\nshort\t0\t1\n"),
    }
    limit = csv.field_size_limit()
    for name, (fmt, content) in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        data = load_dataset(tmp_path / name, fmt)
        assert data.texts == [long_text, "short"], name
        assert data.labels[0, 0] == 1 and data.labels[1, 1] == 1, name
    assert csv.field_size_limit() == limit  # the limit is raised only while reading


# ----------------------------------------------------------------------------- messages


def test_missing_directory_says_it_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope: no such file or directory"):
        find_split_files(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match=r"file.txt: not a directory"):
        find_split_files(tmp_path / "file.txt")


@pytest.mark.parametrize(
    "name, content, fmt",
    [
        ("dev.txt", "ID\tTweet\tanger\tjoy\tsadness\n1\thi\t0\t1\t0\n", "semeval"),
        ("dev.csv", "id,text,anger,joy,sadness\n1,hi,0,1,0\n", "csv"),
    ],
)
def test_a_dev_file_lacking_an_emotion_column_is_named(tmp_path, name, content, fmt):
    """The training file's emotions are anger, fear, joy, sadness; the dev file lacks fear."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"^{path}:1: no column for the emotion\(s\) \['fear'\]"):
        load_dataset(path, "auto", emotion_names=["anger", "fear", "joy", "sadness"])
    # Same emotions in another order: read in the order asked for.
    data = load_dataset(path, fmt, emotion_names=["sadness", "joy", "anger"])
    assert data.emotion_names == ["sadness", "joy", "anger"]
    assert data.labels.tolist() == [[0, 1, 0]]


def test_nul_bytes_give_a_short_message(tmp_path):
    # A UTF-16 file without BOM is valid UTF-8 full of NUL bytes; its header is long.
    header = "ID\tTweet\t" + "\t".join(f"emotion_{k}" for k in range(2000))
    for name in ("utf16.txt", "utf16.csv"):
        path = tmp_path / name
        path.write_bytes((header + "\n1\thi\n").encode("utf-16-le"))
        with pytest.raises(DataFormatError) as info:
            load_dataset(path)
        message = str(info.value)
        assert message.startswith(f"{path}:1: ") and "NUL" in message
        assert len(message) < 200 and "\n" not in message
    # A long header is shortened in messages.
    path = tmp_path / "long.tsv"
    path.write_text(header.replace("ID\tTweet", "nothing") + "\n" + "x\t" * 2000 + "x\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="missing a text column") as info:
        load_dataset(path)
    assert len(str(info.value)) < 250


def test_lines_with_invalid_utf8_can_be_replaced_with_a_warning(tmp_path):
    from lem_keras.data.readers import decode_lines

    warnings = []
    data = b"ok\nbad \xff\n\nworse \xfe\xfd\n"
    assert decode_lines(data, "in", keep_blank=True, errors="replace", warn=warnings.append) == [
        "ok", "bad \ufffd", "", "worse \ufffd\ufffd"
    ]
    assert warnings == ["in:2: invalid UTF-8 (byte 0xff) replaced with U+FFFD; also on line 4"]
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    assert read_lines(path, errors="replace", warn=warnings.append)[-1] == "worse \ufffd\ufffd"
    assert warnings[-1].startswith(f"{path}:2: ")
    with pytest.raises(DataFormatError, match=":2: invalid UTF-8"):
        read_lines(path)  # strict by default
