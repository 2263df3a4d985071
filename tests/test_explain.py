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
