"""What LEM looked at: the latent distribution Z and each emotion's memory attention.

- :func:`explain_text` — for one sentence, the paper's Figure 4 as data: Z per emotion,
  each emotion's attention over the tokens (last hop), the probabilities and the
  predicted set; :func:`plot_explanation` draws it (bars for Z, a heat map for attention).
- :func:`emotion_keywords` — the paper's Table 7: for every emotion, the tokens most often
  among the top-3 attended tokens of a sentence, counted over a corpus.

For a seed ensemble (:class:`~lem_keras.ensemble.LatentEmotionEnsemble`) Z and the attention
are the means over its members (all read the same tokens: one text pipeline), and the
probabilities and predicted set are the ensemble's.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from lem_keras.data.text import OOV_TOKEN, RESERVED_TOKENS

#: Tokens never shown as attended words: padding and out-of-vocabulary.
SPECIAL_TOKENS = RESERVED_TOKENS


def _details(model, pipeline, texts: list[str], batch_size: int = 256) -> dict[str, np.ndarray]:
    features = pipeline.transform(list(texts))
    outputs: dict[str, list[np.ndarray]] = {}
    total = len(texts)
    for start in range(0, total, batch_size):
        batch = {key: value[start : start + batch_size] for key, value in features.items()}
        details = model(batch, training=False, return_details=True)
        for key in ("probabilities", "latent_distribution", "attention"):
            outputs.setdefault(key, []).append(np.asarray(details[key]))
    result = {key: np.concatenate(parts, axis=0) for key, parts in outputs.items()}
    result["tokens"] = features["tokens"]
    return result


def _token_strings(pipeline, token_ids: np.ndarray) -> list[str]:
    vocabulary = pipeline.token_vocabulary
    return [
        vocabulary[int(i)] if int(i) < len(vocabulary) else OOV_TOKEN for i in token_ids if int(i) != 0
    ]


def explain_text(model, pipeline, text: str) -> dict:
    """Z, per-emotion token attention, probabilities and predicted emotions for ``text``.

    Tokens are the model's own (after normalisation and vocabulary lookup; unknown words
    show as ``[UNK]``), so the attention weights line up with them one to one.
    """
    from lem_keras.training import emotions_at

    details = _details(model, pipeline, [text])
    names = list(model.emotion_names)
    tokens = _token_strings(pipeline, details["tokens"][0])
    probabilities = details["probabilities"][0]
    thresholds = np.asarray(model.get_thresholds())
    attention = details["attention"][0][:, : len(tokens)]
    return {
        "text": text,
        "tokens": tokens,
        "latent_distribution": {n: float(z) for n, z in zip(names, details["latent_distribution"][0])},
        "probabilities": {n: float(p) for n, p in zip(names, probabilities)},
        "emotions": emotions_at([probabilities], thresholds, names, model.decision_rule)[0],
        "attention": {n: [float(a) for a in row] for n, row in zip(names, attention)},
    }


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib import ft2font

    try:
        return frozenset(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):  # a font file FreeType cannot read
        return frozenset()


def label_font(strings) -> tuple[str | None, str]:
    """``(family, missing)`` for drawing ``strings``: ``(None, "")`` when matplotlib's default
    font has every glyph; else the family of an installed font that has them all (a CJK font
    for Chinese tokens, say); else ``(None, the characters no installed font has)``.

    >>> label_font(["so happy"])
    (None, '')
    """
    from matplotlib import font_manager

    wanted = {ord(c) for text in strings for c in text if c.isprintable() and not c.isspace()}
    if wanted <= _charmap(font_manager.findfont(font_manager.FontProperties())):
        return None, ""
    # Last Resort draws a placeholder for every code point: it has no glyphs worth choosing.
    fonts = sorted((f for f in font_manager.fontManager.ttflist if not f.name.startswith("Last Resort")),
                   key=lambda f: (f.name, f.fname))
    for font in fonts:
        if wanted <= _charmap(font.fname):
            return font.name, ""
    covered = frozenset().union(*(_charmap(font.fname) for font in fonts))
    return None, "".join(sorted(chr(c) for c in wanted - covered))


def draw_explanation(explanation: dict, fig=None):
    """Figure 4 of the paper for one text: Z as bars (red: the predicted emotions, grey: the
    others, each labelled with its probability) beside the emotions × tokens attention heat
    map with a labelled colour bar. A text with no tokens gets a note instead of a heat map.
    Returns the matplotlib Figure (``fig`` if given)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    names = list(explanation["latent_distribution"])
    z = [explanation["latent_distribution"][n] for n in names]
    probabilities = explanation.get("probabilities", {})
    tokens = list(explanation["tokens"])
    width = min(4 + 0.45 * max(len(tokens), 6), 40)
    if fig is None:
        fig = plt.figure(figsize=(5 + width, 0.45 * len(names) + 2.5))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [5, width]})
    predicted = set(explanation["emotions"])
    colors = ["tab:red" if n in predicted else "tab:gray" for n in names]
    left.barh(range(len(names)), z, color=colors)
    left.set_yticks(range(len(names)), names)
    left.invert_yaxis()
    top = max(z) if z else 1.0
    left.set_xlim(0, top * 1.45 if top > 0 else 1.0)
    for row, name in enumerate(names):
        if name in probabilities:
            label = f"p={probabilities[name]:.2f}"
            left.text(z[row] + 0.02 * (top or 1.0), row, label, va="center", fontsize=8)
    left.set_xlabel("latent Z")
    left.set_title("latent emotion distribution")
    left.legend(
        handles=[Patch(color="tab:red", label="predicted"), Patch(color="tab:gray", label="other emotions")],
        loc="lower right", fontsize=8,
    )
    if tokens:
        heat = np.array([explanation["attention"][n] for n in names], dtype="float64")
        image = right.imshow(heat, aspect="auto", cmap="Reds", vmin=0.0, vmax=max(float(heat.max()), 1e-6))
        right.set_yticks(range(len(names)), names)
        right.set_xticks(range(len(tokens)), tokens, rotation=60, ha="right")
        colorbar = fig.colorbar(image, ax=right, fraction=0.03)
        colorbar.set_label("attention weight")
    else:
        right.set_axis_off()
        right.text(0.5, 0.5, "no tokens: nothing to attend to\n(the text is empty after normalisation)",
                   ha="center", va="center", transform=right.transAxes, color="dimgray")
    right.set_title("memory attention (last hop)")
    title = fig.suptitle(explanation["text"][:120] or "(empty text)")
    family, missing = label_font(tokens + [title.get_text()])
    if family is not None:
        for label in right.get_xticklabels() + [title]:
            label.set_fontfamily(family)
    elif missing:
        # Boxes say nothing: a token that cannot be drawn is labelled by its position in the
        # explanation's "tokens" list (1-based), the text by a note.
        gaps = set(missing)
        if tokens:
            shown = [f"[{i}]" if gaps & set(token) else token for i, token in enumerate(tokens, 1)]
            right.set_xticks(range(len(tokens)), shown, rotation=60, ha="right")
        if gaps & set(title.get_text()):
            title.set_text("(the text's characters have no installed font: see the JSON)")
        warnings.warn(
            f"explain: no installed font has glyphs for {missing[:20]!r}"
            f"{f' (and {len(missing) - 20} more)' if len(missing) > 20 else ''}: the figure labels "
            "those tokens [position]; install a font that has them (Chinese: e.g. Noto Sans CJK, "
            "`apt install fonts-noto-cjk`)",
            stacklevel=2,
        )
    with _no_glyph_warnings():
        fig.tight_layout()
    return fig


@contextlib.contextmanager
def _no_glyph_warnings():
    """Matplotlib warns once per missing glyph; :func:`draw_explanation` has said it once."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        yield


def plot_explanation(explanation: dict, path: str | Path) -> Path:
    """:func:`draw_explanation` into an image file (PNG, or what the suffix names)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw_explanation(explanation)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _no_glyph_warnings():
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def emotion_keywords(
    model, pipeline, texts: list[str], per_sentence: int = 3, top: int = 10, skip=SPECIAL_TOKENS
) -> dict[str, list[tuple[str, int]]]:
    """Table 7: each emotion's ``top`` tokens by how often they are among a sentence's
    ``per_sentence`` most attended tokens (last hop), over ``texts``.

    Tokens in ``skip`` (e.g. stop words, punctuation) are not candidates: the top tokens
    of a sentence are chosen among the others."""
    details = _details(model, pipeline, texts)
    names = list(model.emotion_names)
    vocabulary = pipeline.token_vocabulary
    skip = set(skip)
    counters = [Counter() for _ in names]
    for token_ids, attention in zip(details["tokens"], details["attention"]):
        words = [vocabulary[int(i)] if int(i) < len(vocabulary) else OOV_TOKEN for i in token_ids]
        positions = [p for p, (i, w) in enumerate(zip(token_ids, words)) if int(i) != 0 and w not in skip]
        if not positions:
            continue
        for k in range(len(names)):
            order = sorted(positions, key=lambda p: -attention[k, p])[:per_sentence]
            for position in order:
                counters[k][words[position]] += 1
    return {name: counter.most_common(top) for name, counter in zip(names, counters)}
