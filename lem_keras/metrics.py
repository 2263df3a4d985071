"""Multi-label emotion classification metrics (the paper's Table 2 plus SemEval-2018's Jaccard).

Notation: N examples, K emotions, ``y`` the gold 0/1 matrix (N, K), ``s`` the scores
(N, K), ``p = s >= t`` the predictions at thresholds ``t`` (a float or one per emotion).

* Hamming loss: ``mean_{n,k} [p_nk != y_nk]``.
* Ranking loss: per example, the fraction of (gold, non-gold) emotion pairs whose
  non-gold score is >= the gold score (ties count as errors); 0 for an example with no
  gold emotion or with all emotions gold; averaged over examples.
* Micro-F1: ``2 TP / (2 TP + FP + FN)`` over all cells (0 if the denominator is 0).
* Macro-F1: the mean over emotions of each emotion's F1 (0 for an emotion with no gold
  and no predicted example, as scikit-learn's ``zero_division=0``).
* Macro PR-AUC (``macro_pr_auc``, what the paper's "AP" appears to be): per emotion the
  average precision ``sum_i (R_i - R_{i-1}) P_i`` over the score thresholds (no
  interpolation, scikit-learn's ``average_precision_score``), averaged over the emotions
  that have at least one gold example (an emotion never gold has no defined AP).
* LRAP (label-ranking average precision): per example, the mean over its gold emotions j
  of ``|{gold l: s_l >= s_j}| / |{l: s_l >= s_j}|``; 1 for an example with no gold
  emotion; averaged over examples.
* Jaccard accuracy (SemEval-2018 E-c): per example ``|gold ∩ predicted| / |gold ∪
  predicted|``, 1 when both are empty; averaged over examples.

The streaming ``keras.metrics.Metric`` classes accumulate the same quantities batch by
batch at a fixed threshold (default 0.5); all of them are exact except
:class:`MacroPRAUC`, which bins the scores (``num_thresholds`` bins).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = [
    "HammingLoss",
    "JaccardAccuracy",
    "MacroF1",
    "MacroPRAUC",
    "MicroF1",
    "RankingLoss",
    "calibrate_thresholds",
    "hamming_loss",
    "jaccard_accuracy",
    "label_ranking_average_precision",
    "macro_f1",
    "macro_pr_auc",
    "micro_f1",
    "multilabel_report",
    "ranking_loss",
]


# ---------------------------------------------------------------------------- numpy
def _as_arrays(y_true, scores=None):
    y = np.asarray(y_true).astype(bool)
    if y.ndim != 2:
        raise ValueError(f"y_true must be (N, K), got shape {y.shape}.")
    if scores is None:
        return y
    s = np.asarray(scores, dtype="float64")
    if s.shape != y.shape:
        raise ValueError(f"scores have shape {s.shape}, y_true has {y.shape}.")
    return y, s


def _predict(scores: np.ndarray, thresholds) -> np.ndarray:
    t = np.asarray(thresholds, dtype="float64")
    if t.ndim not in (0, 1) or (t.ndim == 1 and t.shape[0] != scores.shape[1]):
        raise ValueError(f"thresholds must be a float or shape ({scores.shape[1]},), got {t.shape}.")
    return scores >= t


def hamming_loss(y_true, y_pred) -> float:
    """Fraction of (example, emotion) cells predicted wrongly."""
    y, p = _as_arrays(y_true), _as_arrays(y_pred)
    return float(np.mean(y != p)) if y.size else 0.0


def micro_f1(y_true, y_pred) -> float:
    """``2 TP / (2 TP + FP + FN)`` pooled over all cells; 0 when nothing is gold or predicted."""
    y, p = _as_arrays(y_true), _as_arrays(y_pred)
    tp = np.sum(y & p)
    denom = 2 * tp + np.sum(~y & p) + np.sum(y & ~p)
    return float(2 * tp / denom) if denom else 0.0


def macro_f1(y_true, y_pred) -> float:
    """Mean of the per-emotion F1 scores (0 for an emotion never gold nor predicted)."""
    y, p = _as_arrays(y_true), _as_arrays(y_pred)
    tp = np.sum(y & p, axis=0)
    denom = 2 * tp + np.sum(~y & p, axis=0) + np.sum(y & ~p, axis=0)
    f1 = np.divide(2 * tp, denom, out=np.zeros(tp.shape, dtype="float64"), where=denom > 0)
    return float(np.mean(f1))


def jaccard_accuracy(y_true, y_pred) -> float:
    """SemEval-2018 E-c accuracy: mean ``|y ∩ p| / |y ∪ p|``, 1 for an empty gold and prediction."""
    y, p = _as_arrays(y_true), _as_arrays(y_pred)
    inter = np.sum(y & p, axis=1)
    union = np.sum(y | p, axis=1)
    per_example = np.divide(inter, union, out=np.ones(inter.shape, dtype="float64"), where=union > 0)
    return float(np.mean(per_example)) if len(per_example) else 0.0


def ranking_loss(y_true, scores) -> float:
    """Mean fraction of (gold, non-gold) pairs with the non-gold score >= the gold score.

    Examples with no gold emotion or only gold emotions contribute 0 (scikit-learn's
    ``label_ranking_loss``).
    """
    y, s = _as_arrays(y_true, scores)
    n, k = y.shape
    if n == 0:
        return 0.0
    n_pos = y.sum(axis=1)
    n_neg = k - n_pos
    # For each gold j, count non-gold l with s_l >= s_j: compare all pairs (K is small).
    wrong = (s[:, None, :] >= s[:, :, None]) & y[:, :, None] & ~y[:, None, :]
    errors = wrong.sum(axis=(1, 2)).astype("float64")
    pairs = (n_pos * n_neg).astype("float64")
    per_example = np.divide(errors, pairs, out=np.zeros(n, dtype="float64"), where=pairs > 0)
    return float(per_example.mean())


def label_ranking_average_precision(y_true, scores) -> float:
    """LRAP: mean over gold emotions j of ``|{gold l: s_l >= s_j}| / |{l: s_l >= s_j}|``.

    An example with no gold emotion (or with all emotions gold) scores 1
    (scikit-learn's ``label_ranking_average_precision_score``).
    """
    y, s = _as_arrays(y_true, scores)
    n, k = y.shape
    if n == 0:
        return 0.0
    at_least = s[:, None, :] >= s[:, :, None]  # [n, j, l]: s_l >= s_j
    rank = at_least.sum(axis=2)
    gold_rank = (at_least & y[:, None, :]).sum(axis=2)
    ratio = np.where(y, gold_rank / np.maximum(rank, 1), 0.0)
    n_pos = y.sum(axis=1)
    per_example = np.where((n_pos > 0) & (n_pos < k), ratio.sum(axis=1) / np.maximum(n_pos, 1), 1.0)
    return float(per_example.mean())


def _average_precision(gold: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="mergesort")
    s, g = scores[order], gold[order]
    # Keep the last index of each run of equal scores: one threshold per distinct score.
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(g)[last]
    predicted = last + 1
    precision = tp / predicted
    recall = tp / g.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def macro_pr_auc(y_true, scores) -> float:
    """Mean over emotions (those with a gold example) of the non-interpolated average precision."""
    y, s = _as_arrays(y_true, scores)
    values = [_average_precision(y[:, k], s[:, k]) for k in range(y.shape[1]) if y[:, k].any()]
    return float(np.mean(values)) if values else 0.0


def multilabel_report(y_true, scores, thresholds=0.5, rule: str | None = None) -> dict[str, float]:
    """All the metrics at once.

    Args:
        y_true: 0/1 array (N, K).
        scores: probabilities (N, K).
        thresholds: a float or one threshold per emotion (K,); an emotion is predicted
            when its score is >= its threshold.
        rule: the decision rule the thresholds belong to (``lem_keras.decision.decide``:
            ``expected_jaccard`` adds each text's expected-Jaccard set); None: thresholds alone.

    Returns:
        dict with ``hamming_loss``, ``ranking_loss``, ``micro_f1``, ``macro_f1``,
        ``macro_pr_auc``, ``lrap`` and ``jaccard`` (definitions in the module docstring).
    """
    y, s = _as_arrays(y_true, scores)
    p = _predict(s, thresholds)
    if rule is not None:
        from lem_keras.decision import decide

        p = decide(s, thresholds, rule)
    return {
        "hamming_loss": hamming_loss(y, p),
        "ranking_loss": ranking_loss(y, s),
        "micro_f1": micro_f1(y, p),
        "macro_f1": macro_f1(y, p),
        "macro_pr_auc": macro_pr_auc(y, s),
        "lrap": label_ranking_average_precision(y, s),
        "jaccard": jaccard_accuracy(y, p),
    }


def calibrate_thresholds(y_true, scores) -> np.ndarray:
    """Per-emotion threshold maximising that emotion's F1 on the given (dev) data (the
    ``per_emotion_f1`` rule of :mod:`lem_keras.decision`).

    The candidates are the distinct scores; the returned threshold is the midpoint between
    the best candidate and the next lower score (so ``score >= threshold`` reproduces the
    best prediction on these data with a margin). An emotion without a gold example gets
    0.5.

    Returns:
        float32 array (K,).
    """
    from lem_keras.decision import per_emotion_f1

    y, s = _as_arrays(y_true, scores)
    # Above 0: a text without evidence (probability 0) never predicts an emotion.
    return per_emotion_f1(y, s)


# ---------------------------------------------------------------------------- streaming
class _MultiLabelMetric(keras.metrics.Metric):
    """Base: thresholded predictions of (batch, K) probabilities, lazily sized states."""

    def __init__(self, name: str, threshold: float = 0.5, num_labels: int | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = float(threshold)
        self.num_labels = num_labels
        self._states_built = False
        if num_labels is not None:
            self._build_states(int(num_labels))

    def _build_states(self, num_labels: int) -> None:
        self._states_built = True

    def _ensure_states(self, y_pred) -> None:
        if not self._states_built:
            k = y_pred.shape[-1]
            if k is None:
                raise ValueError(f"{self.name}: the number of labels must be static or given as num_labels.")
            self.num_labels = int(k)
            self._build_states(int(k))

    def _inputs(self, y_true, y_pred, sample_weight):
        self._ensure_states(y_pred)
        y = ops.cast(y_true, "float32")
        s = ops.cast(y_pred, "float32")
        p = ops.cast(ops.greater_equal(s, self.threshold), "float32")
        w = (
            ops.ones_like(s[:, 0])
            if sample_weight is None
            else ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        )
        return y, s, p, w

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold, "num_labels": self.num_labels}


@keras.saving.register_keras_serializable(package="lem_keras")
class HammingLoss(_MultiLabelMetric):
    """Streaming Hamming loss at ``threshold`` (logged as ``hamming_loss``)."""

    def __init__(
        self, name: str = "hamming_loss", threshold: float = 0.5, num_labels: int | None = None, dtype=None
    ):
        super().__init__(name, threshold, num_labels, dtype)
        self.errors = self.add_variable(shape=(), initializer="zeros", name="errors")
        self.cells = self.add_variable(shape=(), initializer="zeros", name="cells")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, _, p, w = self._inputs(y_true, y_pred, sample_weight)
        self.errors.assign_add(ops.sum(ops.sum(ops.abs(y - p), axis=-1) * w))
        self.cells.assign_add(ops.sum(w) * ops.cast(ops.shape(y)[-1], "float32"))

    def result(self):
        return ops.divide_no_nan(self.errors, self.cells)


@keras.saving.register_keras_serializable(package="lem_keras")
class JaccardAccuracy(_MultiLabelMetric):
    """Streaming SemEval-2018 Jaccard accuracy (1 for empty gold and prediction); logged as ``jaccard``."""

    def __init__(
        self, name: str = "jaccard", threshold: float = 0.5, num_labels: int | None = None, dtype=None
    ):
        super().__init__(name, threshold, num_labels, dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, _, p, w = self._inputs(y_true, y_pred, sample_weight)
        inter = ops.sum(y * p, axis=-1)
        union = ops.sum(ops.maximum(y, p), axis=-1)
        per_example = ops.where(union > 0, inter / ops.maximum(union, 1.0), ops.ones_like(union))
        self.total.assign_add(ops.sum(per_example * w))
        self.count.assign_add(ops.sum(w))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


@keras.saving.register_keras_serializable(package="lem_keras")
class MicroF1(_MultiLabelMetric):
    """Streaming micro-averaged F1 at ``threshold`` (logged as ``micro_f1``)."""

    def __init__(
        self, name: str = "micro_f1", threshold: float = 0.5, num_labels: int | None = None, dtype=None
    ):
        super().__init__(name, threshold, num_labels, dtype)
        self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=(), initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=(), initializer="zeros", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, _, p, w = self._inputs(y_true, y_pred, sample_weight)
        w = w[:, None]
        self.tp.assign_add(ops.sum(y * p * w))
        self.fp.assign_add(ops.sum((1.0 - y) * p * w))
        self.fn.assign_add(ops.sum(y * (1.0 - p) * w))

    def result(self):
        return ops.divide_no_nan(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn)


@keras.saving.register_keras_serializable(package="lem_keras")
class MacroF1(_MultiLabelMetric):
    """Streaming macro-averaged F1 at ``threshold`` (logged as ``macro_f1``); K is read from the
    first batch."""

    def __init__(
        self, name: str = "macro_f1", threshold: float = 0.5, num_labels: int | None = None, dtype=None
    ):
        super().__init__(name, threshold, num_labels, dtype)

    def _build_states(self, num_labels: int) -> None:
        self.tp = self.add_variable(shape=(num_labels,), initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=(num_labels,), initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=(num_labels,), initializer="zeros", name="fn")
        super()._build_states(num_labels)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, _, p, w = self._inputs(y_true, y_pred, sample_weight)
        w = w[:, None]
        self.tp.assign_add(ops.sum(y * p * w, axis=0))
        self.fp.assign_add(ops.sum((1.0 - y) * p * w, axis=0))
        self.fn.assign_add(ops.sum(y * (1.0 - p) * w, axis=0))

    def result(self):
        if not self._states_built:
            return ops.convert_to_tensor(0.0)
        return ops.mean(ops.divide_no_nan(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn))


@keras.saving.register_keras_serializable(package="lem_keras")
class RankingLoss(_MultiLabelMetric):
    """Streaming ranking loss (exact; logged as ``ranking_loss``)."""

    def __init__(
        self, name: str = "ranking_loss", num_labels: int | None = None, dtype=None, threshold: float = 0.5
    ):
        super().__init__(name, threshold, num_labels, dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, s, _, w = self._inputs(y_true, y_pred, sample_weight)
        # wrong[n, j, l]: gold j, non-gold l, s_l >= s_j.
        higher = ops.cast(ops.greater_equal(s[:, None, :], s[:, :, None]), "float32")
        wrong = ops.sum(higher * y[:, :, None] * (1.0 - y)[:, None, :], axis=(1, 2))
        n_pos = ops.sum(y, axis=-1)
        pairs = n_pos * (ops.cast(ops.shape(y)[-1], "float32") - n_pos)
        per_example = ops.divide_no_nan(wrong, pairs)
        self.total.assign_add(ops.sum(per_example * w))
        self.count.assign_add(ops.sum(w))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


@keras.saving.register_keras_serializable(package="lem_keras")
class MacroPRAUC(_MultiLabelMetric):
    """Streaming macro PR-AUC (non-interpolated average precision), logged as ``macro_pr_auc``.

    Scores are binned into ``num_thresholds`` equal bins on [0, 1]; the result is exact for
    scores on the bin edges and an approximation otherwise. Emotions without a gold
    example are left out of the mean.
    """

    def __init__(
        self,
        name: str = "macro_pr_auc",
        num_thresholds: int = 200,
        num_labels: int | None = None,
        dtype=None,
        threshold: float = 0.5,
    ):
        self.num_thresholds = int(num_thresholds)
        super().__init__(name, threshold, num_labels, dtype)

    def _build_states(self, num_labels: int) -> None:
        shape = (self.num_thresholds, num_labels)
        self.positives = self.add_variable(shape=shape, initializer="zeros", name="positives")
        self.negatives = self.add_variable(shape=shape, initializer="zeros", name="negatives")
        super()._build_states(num_labels)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y, s, _, w = self._inputs(y_true, y_pred, sample_weight)
        bins = ops.cast(ops.clip(ops.floor(s * self.num_thresholds), 0, self.num_thresholds - 1), "int32")
        one_hot = ops.one_hot(bins, self.num_thresholds, dtype="float32")  # (B, K, T)
        w = w[:, None, None]
        self.positives.assign_add(ops.transpose(ops.sum(one_hot * y[:, :, None] * w, axis=0)))
        self.negatives.assign_add(ops.transpose(ops.sum(one_hot * (1.0 - y)[:, :, None] * w, axis=0)))

    def result(self):
        if not self._states_built:
            return ops.convert_to_tensor(0.0)
        # Thresholds from the top bin down: cumulative TP and predicted counts.
        tp = ops.cumsum(ops.flip(self.positives, axis=0), axis=0)
        predicted = tp + ops.cumsum(ops.flip(self.negatives, axis=0), axis=0)
        total_pos = tp[-1]
        precision = ops.divide_no_nan(tp, predicted)
        recall = ops.divide_no_nan(tp, total_pos[None])
        delta = recall - ops.concatenate([ops.zeros_like(recall[:1]), recall[:-1]], axis=0)
        ap = ops.sum(delta * precision, axis=0)
        has_pos = ops.cast(total_pos > 0, "float32")
        return ops.divide_no_nan(ops.sum(ap * has_pos), ops.sum(has_pos))

    def get_config(self):
        config = super().get_config()
        config["num_thresholds"] = self.num_thresholds
        return config
