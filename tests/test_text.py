"""Tweet and Chinese standardisation, in-graph and through `tokenize`."""

import keras
import pytest
import tensorflow as tf

from lem_keras.data.text import (
    EMOTICON_TOKENS,
    is_emoji_token,
    segment_chinese,
    standardize_en,
    standardize_zh,
    tokenize,
)


def tok(text):
    return tokenize([text], "en")[0]


def test_urls_mentions_and_hashtags():
    tokens = tok("@Max_Kellerman look https://t.co/AbC123 and www.example.com/x #Happy")
    assert tokens == ["<user>", "look", "<url>", "and", "<url>", "#", "happy"]


def test_emoji_each_its_own_token_even_when_glued():
    assert tok("love😂😂you👍🏽") == ["love", "😂", "😂", "you", "👍"]
    # ZWJ sequences and variation selectors fall apart into pictographs.
    assert tok("❤️👨‍👩‍👧") == ["❤", "👨", "👩", "👧"]
    assert tok("😂") == ["😂"]


@pytest.mark.parametrize(
    "emoticon, token",
    [
        (":)", "<smile>"),
        (":-)", "<smile>"),
        ("(:", "<smile>"),
        (":(", "<sad>"),
        (":-(", "<sad>"),
        (":D", "<laugh>"),
        ("XD", "<laugh>"),
        (";)", "<wink>"),
        (":P", "<tongue>"),
        ("<3", "<heart>"),
        (":/", "<annoyed>"),
    ],
)
def test_emoticons_are_canonical_tokens(emoticon, token):
    assert tok(f"well {emoticon} ok") == ["well", token, "ok"]
    assert token in EMOTICON_TOKENS


def test_no_false_emoticons_in_times_and_words():
    assert tok("at 10:30 (see above): done:done") == [
        "at", "10", ":", "30", "(", "see", "above", ")", ":", "done", ":", "done"
    ]


def test_elongation_punctuation_and_apostrophes():
    assert tok("Soooo happyyyy!!!!") == ["soo", "happyy", "!", "!"]
    assert tok("I can't, O’Brien's 'quoted'.") == [
        "i", "can't", ",", "o'brien's", "'", "quoted", "'", "."
    ]


@pytest.mark.parametrize("text", ["", "   ", "\t\n ", "\u200d\ufe0f"])
def test_empty_and_whitespace_give_no_tokens(text):
    assert tok(text) == []


def test_huge_input_is_bounded_and_never_raises():
    tokens = tok("word " * 20000)
    assert 0 < len(tokens) <= 4000  # cut to 20,000 bytes
    assert set(tokens) <= {"word", "wor", "wo", "w"}
    assert tok("a" * 100_000) == ["aa"]


def test_invalid_utf8_bytes_are_replaced():
    out = standardize_en(tf.constant([b"ok \xff\xfe caf\xc3", b"\xc3\x28 fine"])).numpy()
    for value in out:
        value.decode("utf-8")  # valid UTF-8 again
    assert out[0].decode().split()[0] == "ok"
    assert tokenize([b"\xff good"], "en")[0][-1] == "good"


def test_mixed_scripts():
    assert tok("Привет café 你好 naïve") == ["привет", "café", "你好", "naïve"]


def test_standardize_keeps_shape_and_works_in_graph():
    fn = tf.function(standardize_en, input_signature=[tf.TensorSpec([None, 1], tf.string)])
    out = fn(tf.constant([["Hi :)"], ["#Yes"]]))
    assert out.shape == (2, 1)
    assert out.numpy()[1, 0] == b"# yes"


def test_functions_are_registered_and_usable_by_text_vectorization():
    assert keras.saving.get_registered_name(standardize_en) == "lem_keras>standardize_en"
    assert keras.saving.get_registered_object("lem_keras>standardize_zh") is standardize_zh
    layer = keras.layers.TextVectorization(
        standardize=standardize_en, split="whitespace", vocabulary=["happy", "#"]
    )
    assert layer(tf.constant(["#Happy :)"])).numpy().tolist() == [[3, 2, 1]]


def test_chinese_jieba_vs_presegmented_and_auto():
    raw = "我今天非常高兴。"
    jieba_out = segment_chinese([raw], "jieba")[0]
    assert "".join(jieba_out.split()) == raw
    assert len(jieba_out.split()) > 1
    seg = "我 今天 非常 高兴 。"
    assert segment_chinese([seg], "pre-segmented") == [seg]
    assert segment_chinese([seg, raw], "auto") == [seg, jieba_out]
    # auto must not re-segment pre-segmented words (jieba could merge them).
    assert segment_chinese(["高 兴"], "auto") == ["高 兴"]
    assert segment_chinese([raw], "jieba") == segment_chinese([raw], "jieba")  # deterministic
    with pytest.raises(ValueError):
        segment_chinese([raw], "spaces")


def test_chinese_tokenize_and_standardize_zh():
    assert tokenize(["我 很 高兴 😂😂 ABC"], "zh") == [["我", "很", "高兴", "😂", "😂", "abc"]]
    assert standardize_zh(tf.constant([b"\xff \xe4\xbd\xa0"])).numpy()[0].decode() == "\ufffd 你"


def test_is_emoji_token():
    assert is_emoji_token("😂") and is_emoji_token("<smile>")
    assert not is_emoji_token("happy") and not is_emoji_token("<url>")


def test_escaped_newlines_and_html_entities():
    assert tok("one\\ntwo &amp; &lt;3") == ["one", "two", "&", "<heart>"]


def test_jieba_mode_resegments_presegmented_text():
    raw = "我今天非常高兴。"
    spaced = " ".join(raw)  # one character per "word"
    assert segment_chinese([spaced], "jieba") == segment_chinese([raw], "jieba")
    assert segment_chinese([spaced], "auto") == [spaced]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I'm not happy today", ["i'm", "not", "not_happy", "today"]),
        ("It will never get better", ["it", "will", "never", "get", "not_better"]),
        ("Nothing will ever get better", ["nothing", "will", "ever", "get", "not_better"]),
        ("I dont like it, I love it", ["i", "dont", "not_like", "it", ",", "i", "love", "it"]),
        ("not very happy :)", ["not", "very", "not_happy", "<smile>"]),
        ("no!", ["no", "!"]),
        ("not <3", ["not", "<heart>"]),
        ("not", ["not"]),
        ("notable nothingness", ["notable", "nothingness"]),
    ],
)
def test_the_first_word_after_a_negator_is_marked(text, tokens):
    assert tok(text) == tokens
    # in-graph too, as the served model reads it
    assert standardize_en(tf.constant([text])).numpy()[0].decode() == " ".join(tokens)
