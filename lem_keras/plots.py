"""`lem-keras evaluate --plot FILE`: per-emotion precision–recall curves and a reliability diagram.

One panel per emotion: the precision–recall curve of its scores, and the operating point of
the decision rule's threshold (precision and recall of ``score >= threshold``). A last panel:
the reliability diagram (pooled over emotions, 10 equal bins) — mean predicted probability
against the observed frequency of the emotion, the diagonal being perfect calibration.
Drawn with matplotlib's Agg canvas (no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

RELIABILITY_TITLE = "reliability (all emotions)"


def plot_evaluation(y_true, scores, thresholds, emotion_names: Sequence[str], path: str | Path,
                    rule: str = "", bins: int = 10):
    """Draw the figure into ``path`` (format from its extension, e.g. .png, .pdf, .svg) and
    return the ``matplotlib.figure.Figure``: K precision–recall axes titled by emotion, then
    the reliability axes titled :data:`RELIABILITY_TITLE`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from lem_keras.calibration import expected_calibration_error, reliability

    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype="float64")
    t = np.broadcast_to(np.asarray(thresholds, dtype="float64"), (y.shape[1],))
    k = y.shape[1]
    columns = min(4, k + 1)
    rows = math.ceil((k + 1) / columns)
    figure = Figure(figsize=(3.2 * columns, 3.0 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    ece = expected_calibration_error(y, s, bins=bins)
    for j, name in enumerate(emotion_names):
        axes = figure.add_subplot(rows, columns, j + 1)
        precision, recall = _pr_curve(y[:, j], s[:, j])
        axes.plot(recall, precision, lw=1.2)
        predicted = s[:, j] >= t[j]
        tp = int(np.sum(predicted & y[:, j]))
        point_p = tp / max(int(predicted.sum()), 1)
        point_r = tp / max(int(y[:, j].sum()), 1)
        axes.plot([point_r], [point_p], "o", color="C3", label=f"t = {t[j]:.2f}")
        axes.set(title=str(name), xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
        axes.legend(loc="lower left", fontsize=7, title=f"ECE {ece[j]:.3f}", title_fontsize=7)
    axes = figure.add_subplot(rows, columns, k + 1)
    bins_ = reliability(y, s, bins=bins)
    edges = np.linspace(0, 1, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    filled = bins_["count"] > 0
    axes.bar(centres[filled], bins_["frequency"][filled], width=1.0 / bins, alpha=0.35, edgecolor="C0",
             label="observed frequency")
    axes.plot(bins_["confidence"][filled], bins_["frequency"][filled], "o-", color="C0", ms=3)
    axes.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="perfect calibration")
    axes.set(title=RELIABILITY_TITLE, xlabel="mean predicted probability", ylabel="observed frequency",
             xlim=(0, 1), ylim=(0, 1))
    axes.legend(loc="upper left", fontsize=7, title=f"mean ECE {ece.mean():.3f}", title_fontsize=7)
    if rule:
        from lem_keras.decision import SET_RULES

        extra = " (its per-text sets add emotions under them)" if rule in SET_RULES else ""
        figure.suptitle(f"precision–recall at the thresholds of rule {rule}{extra}")
    figure.savefig(path, dpi=100)
    return figure


def _pr_curve(gold: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every distinct score, from the highest (recall 0, precision 1) down."""
    order = np.argsort(-scores, kind="mergesort")
    s, g = scores[order], gold[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1] if len(s) else np.array([], dtype=int)
    tp = np.cumsum(g)[last] if len(s) else np.array([])
    precision = tp / (last + 1)
    recall = tp / max(int(g.sum()), 1)
    return np.r_[1.0, precision], np.r_[0.0, recall]
