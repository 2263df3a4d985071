"""`explain --png`: the figure's parts, read from its artists (issue 14 item 18)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from lem_keras.explain import draw_explanation, plot_explanation

NAMES = ["anger", "joy", "sadness"]


def _explanation(text: str, tokens: list[str]) -> dict:
    n = len(tokens)
    return {
        "text": text,
        "tokens": tokens,
        "latent_distribution": {"anger": 0.2, "joy": 0.7, "sadness": 0.1},
        "probabilities": {"anger": 0.12, "joy": 0.93, "sadness": 0.05},
        "emotions": ["joy"],
        "attention": {name: [1.0 / n] * n if n else [] for name in NAMES},
    }


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_figure_has_colorbar_label_legend_and_probabilities():
    fig = draw_explanation(_explanation("so happy today", ["so", "happy", "today"]))
    try:
        labels = [ax.get_ylabel() for ax in fig.axes] + [ax.get_xlabel() for ax in fig.axes]
        assert "attention weight" in labels  # the colour bar's axis
        legend = fig.axes[0].get_legend()
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == ["predicted", "other emotions"]
        assert {"p=0.12", "p=0.93", "p=0.05"} <= set(_texts(fig))
        bars = fig.axes[0].patches
        assert [tuple(b.get_facecolor()) for b in bars][1] != tuple(bars[0].get_facecolor())  # joy is red
    finally:
        plt.close(fig)


def test_empty_text_draws_a_note_not_a_heat_map(tmp_path):
    fig = draw_explanation(_explanation("", []))
    try:
        assert any("no tokens" in text for text in _texts(fig))
        assert not any(ax.images for ax in fig.axes)  # no solid block
        assert len(fig.axes) == 2  # no colour bar with a meaningless scale
    finally:
        plt.close(fig)
    assert plot_explanation(_explanation("", []), tmp_path / "empty.png").stat().st_size > 0


def test_tokens_the_default_font_lacks_are_drawn_in_a_font_that_has_them():
    from lem_keras.explain import label_font

    assert label_font(["so happy"]) == (None, "")
    family, missing = label_font(["\u20dd"])  # in matplotlib's own STIX/TeX Gyre fonts, not in DejaVu Sans
    assert family is not None and missing == ""
    fig = draw_explanation(_explanation("ring \u20dd", ["ring", "\u20dd"]))
    try:
        right = fig.axes[1]
        assert [label.get_fontfamily() for label in right.get_xticklabels()] == [[family], [family]]
    finally:
        plt.close(fig)


def test_chinese_tokens_warn_once_not_once_per_glyph(tmp_path):
    import warnings

    from lem_keras.explain import label_font

    tokens = ["我", "很", "开", "心"]
    family, missing = label_font(tokens)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_explanation(_explanation("我很开心", tokens), tmp_path / "zh.png")
    messages = [str(w.message) for w in caught]
    assert not any("missing from font" in m for m in messages), messages
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning checked above
        fig = draw_explanation(_explanation("我很开心 ok", tokens + ["ok"]))
    try:
        labels = [label.get_text() for label in fig.axes[1].get_xticklabels()]
        title = fig._suptitle.get_text()
    finally:
        plt.close(fig)
    if family is None:  # no CJK font installed (as on CI): one warning naming the characters
        assert missing and set(missing) <= set("我很开心")
        assert len(messages) == 1 and "install a font" in messages[0] and missing in messages[0]
        # and the boxes become positions in the explanation's token list; drawable tokens stay
        assert labels == ["[1]", "[2]", "[3]", "[4]", "ok"]
        assert "no installed font" in title
    else:  # a CJK font is installed: the tokens are drawn in it, silently
        assert messages == [] and labels == tokens + ["ok"] and title == "我很开心 ok"
