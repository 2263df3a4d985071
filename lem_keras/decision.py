"""Decision rules: from dev labels and scores to one threshold per emotion.

A model's probabilities rank emotions; a *decision rule* turns them into a predicted set,
``score_k >= t_k``. Every rule here maps the dev labels ``Y`` (N, K) and dev scores ``S``
(N, K) to thresholds ``t`` (K,); a trained model directory stores each rule's thresholds
(``DIR/decision.json``) and predicts with its default rule (:data:`DEFAULT_RULE`) unless
told another.

* ``per_emotion_f1``: each emotion's threshold maximises that emotion's F1 on dev
  (best for macro-F1 on dev, but it over-fits emotions with few dev positives);
* ``global_jaccard``: one threshold for all emotions, maximising the SemEval Jaccard
  accuracy;
* ``global_micro_f1``: one threshold for all emotions, maximising micro-F1;
* ``global_balanced``: one threshold maximising ``(1 - HL) + miF1 + maF1 + Jaccard``;
* ``fixed_0.5``: 0.5 for every emotion;
* ``shrunk``: the per-emotion F1 thresholds shrunk toward the global Jaccard one,
  ``t_k = (n_k t_k + λ t_g) / (n_k + λ)`` with ``n_k`` the emotion's dev positives and
  λ = :data:`SHRINKAGE` (chosen by cross-validation, ``benchmarks/decision_rules.py``):
  an emotion with few dev positives keeps close to the global threshold, one with many
  keeps most of its own;
* ``expected_jaccard``: not thresholds alone: per text, the most probable emotions in
  the number that maximises the expected Jaccard accuracy under the (calibrated)
  probabilities (:func:`lem_keras.layers.expected_jaccard.expected_jaccard_sets`), united
  with the emotions at or above ``shrunk`` thresholds of strength
  :data:`EXPECTED_JACCARD_SHRINKAGE` (its stored thresholds). :func:`decide` applies any
  rule; the rules of :data:`SET_RULES` are those with the per-text part.

Every threshold is at least 1e-6, so that a text without evidence (probability 0) never
predicts an emotion. numpy only at import: the per-text sets load Keras when first used.

Example:
>>> import numpy as np
>>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
>>> s = np.array([[0.9, 0.2], [0.3, 0.6], [0.7, 0.8], [0.1, 0.4]])
>>> rules = fit_rules(y, s)
>>> sorted(rules) == sorted(RULES)
True
>>> [float(t) for t in rules["fixed_0.5"]]
[0.5, 0.5]
>>> bool(np.all(predict(s, rules["per_emotion_f1"]) == y))
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = [
    "DEFAULT_RULE",
    "EXPECTED_JACCARD_SHRINKAGE",
    "GLOBAL_GRID",
    "RULES",
    "SET_RULES",
    "SHRINKAGE",
    "decide",
    "fit_rule",
    "fit_rules",
    "global_threshold",
    "label_score_arrays",
    "per_emotion_f1",
    "predict",
    "shrunk",
]

#: Shrinkage strength λ of the ``shrunk`` rule, in dev positives: the λ whose out-of-fold
#: HL, miF1, maF1 and Jaccard on SemEval dev keep the largest worst margin to the bar of
#: issue 12 (``benchmarks/decision_rules.py --bar``, README "Decision rules").
SHRINKAGE = 50.0
#: λ of the ``shrunk`` thresholds inside the ``expected_jaccard`` rule: on the held-out folds
#: of train (``benchmarks/heldout_cv.py``), the λ whose HL, miF1, maF1 and Jaccard keep the
#: largest worst margin to the bar of issue 12 (README "A held-out check").
EXPECTED_JACCARD_SHRINKAGE = 200.0
#: Candidate thresholds of the global rules.
GLOBAL_GRID = np.round(np.arange(0.02, 0.981, 0.01), 4)
_FLOOR = 1e-6


def label_score_arrays(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """``(bool labels, float64 scores)``, both ``(N, K)``; a one-line ValueError otherwise
    (shared by :mod:`lem_keras.calibration`)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype="float64")
    if y.ndim != 2 or s.shape != y.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} must both be (N, K)")
    return y, s


def predict(scores, thresholds, rule: str | None = None) -> np.ndarray:
    """0/1 predictions (N, K) of :func:`decide`."""
    return decide(scores, thresholds, rule).astype("int32")


def decide(scores, thresholds, rule: str | None = None) -> np.ndarray:
    """The predicted emotions, bool (N, K) (or (K,) for one text's scores): ``scores >=
    thresholds``, and for a rule of :data:`SET_RULES` also each text's expected-Jaccard set
    (None: thresholds alone)."""
    s = np.asarray(scores, dtype="float64")
    chosen = s >= np.asarray(thresholds, dtype="float64")
    if rule in SET_RULES and s.size:
        from lem_keras.layers.expected_jaccard import expected_jaccard_sets

        rows = s.reshape(-1, s.shape[-1]).astype("float32")  # one text (K,) or a batch (N, K)
        chosen |= np.asarray(expected_jaccard_sets(rows), dtype=bool).reshape(s.shape)
    return chosen


def _finish(thresholds) -> np.ndarray:
    return np.maximum(np.asarray(thresholds, dtype="float64"), _FLOOR).astype("float32")


# ---------------------------------------------------------------------------- rules
def per_emotion_f1(y_true, scores) -> np.ndarray:
    """Per emotion, the threshold maximising that emotion's F1.

    The candidates are the distinct scores; the threshold is the midpoint between the best
    candidate and the next lower score (so ``score >= threshold`` reproduces the best
    prediction with a margin). An emotion without a gold example gets 0.5.
    """
    y, s = label_score_arrays(y_true, scores)
    k = y.shape[1]
    thresholds = np.full(k, 0.5, dtype="float64")
    for j in range(k):
        gold = y[:, j]
        if not gold.any():
            continue
        order = np.argsort(-s[:, j], kind="mergesort")
        col, g = s[order, j], gold[order]
        last = np.r_[np.flatnonzero(np.diff(col)), len(col) - 1]
        tp = np.cumsum(g)[last]
        f1 = 2 * tp / (last + 1 + gold.sum())
        best = int(np.argmax(f1))
        upper = col[last[best]]
        lower = col[last[best] + 1] if last[best] + 1 < len(col) else upper - 1e-3
        thresholds[j] = (upper + lower) / 2.0
    return _finish(thresholds)


def _grid_metrics(y: np.ndarray, s: np.ndarray, grid: np.ndarray) -> dict[str, np.ndarray]:
    """HL, miF1, maF1 and Jaccard (each (T,)) of one global threshold per grid value."""
    p = s[None] >= grid[:, None, None]  # (T, N, K)
    yb = y[None]
    tp_k = np.sum(p & yb, axis=1)  # (T, K)
    fp_k = np.sum(p & ~yb, axis=1)
    fn_k = np.sum(~p & yb, axis=1)
    n, k = y.shape
    tp, fp, fn = tp_k.sum(1), fp_k.sum(1), fn_k.sum(1)
    micro = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(grid)), where=(2 * tp + fp + fn) > 0)
    denom_k = 2 * tp_k + fp_k + fn_k
    macro = np.divide(2 * tp_k, denom_k, out=np.zeros(tp_k.shape), where=denom_k > 0).mean(axis=1)
    inter = np.sum(p & yb, axis=2)  # (T, N)
    union = np.sum(p | yb, axis=2)
    jaccard = np.divide(inter, union, out=np.ones(inter.shape), where=union > 0).mean(axis=1)
    hamming = (fp + fn) / max(n * k, 1)
    return {"hamming_loss": hamming, "micro_f1": micro, "macro_f1": macro, "jaccard": jaccard}


def global_threshold(y_true, scores, objective: Callable[[dict], np.ndarray] | str = "jaccard") -> float:
    """The one threshold of :data:`GLOBAL_GRID` that maximises ``objective`` on these data.

    ``objective``: a metric name (``jaccard``, ``micro_f1``, ``macro_f1``) or a function of
    the dict of per-threshold metric arrays (see ``_grid_metrics``). Among equally good
    thresholds, the middle one.
    """
    y, s = label_score_arrays(y_true, scores)
    values = _grid_metrics(y, s, GLOBAL_GRID)
    score = values[objective] if isinstance(objective, str) else objective(values)
    best = np.flatnonzero(score >= score.max() - 1e-12)
    return float(GLOBAL_GRID[best[len(best) // 2]])


def _balanced(values: dict) -> np.ndarray:
    return (1.0 - values["hamming_loss"]) + values["micro_f1"] + values["macro_f1"] + values["jaccard"]


def shrunk(y_true, scores, strength: float = SHRINKAGE, target: float | None = None) -> np.ndarray:
    """Per-emotion F1 thresholds shrunk toward one global threshold ``target`` (default: the
    global Jaccard one): ``t_k = (n_k t_k + λ t_g) / (n_k + λ)``, ``n_k`` the dev positives."""
    y, s = label_score_arrays(y_true, scores)
    own = per_emotion_f1(y, s).astype("float64")
    t_g = global_threshold(y, s, "jaccard") if target is None else float(target)
    n = y.sum(axis=0).astype("float64")
    return _finish((n * own + strength * t_g) / (n + strength))


def _constant(value: Callable[[np.ndarray, np.ndarray], float]):
    def rule(y_true, scores):
        y, s = label_score_arrays(y_true, scores)
        return _finish(np.full(y.shape[1], value(y, s)))

    return rule


_RULES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "per_emotion_f1": per_emotion_f1,
    "global_jaccard": _constant(lambda y, s: global_threshold(y, s, "jaccard")),
    "global_micro_f1": _constant(lambda y, s: global_threshold(y, s, "micro_f1")),
    "global_balanced": _constant(lambda y, s: global_threshold(y, s, _balanced)),
    "fixed_0.5": _constant(lambda y, s: 0.5),
    "shrunk": shrunk,
    "expected_jaccard": lambda y, s: shrunk(y, s, strength=EXPECTED_JACCARD_SHRINKAGE),
}
#: The rules whose predicted set also holds each text's expected-Jaccard set.
SET_RULES = frozenset({"expected_jaccard"})
#: The rule names, in the order tables list them.
RULES: tuple[str, ...] = tuple(_RULES)
#: The rule a model predicts with unless told another: the rule whose HL, miF1, maF1 and
#: Jaccard on the held-out folds of SemEval train (the shipped recipe trained on the other
#: folds, ``benchmarks/heldout_cv.py``) keep the largest worst margin to the bar of issue 12
#: (README "A held-out check").
DEFAULT_RULE = "expected_jaccard"


def check_rule(name: str) -> str:
    """``name`` if it is a rule, else ValueError listing the rules."""
    if name not in _RULES:
        raise ValueError(f"unknown decision rule {name!r}; choose one of {', '.join(RULES)}")
    return name


def fit_rule(name: str, y_true, scores) -> np.ndarray:
    """The thresholds (K,) float32 of rule ``name`` on ``(y_true, scores)``."""
    return _RULES[check_rule(name)](y_true, scores)


def fit_rules(y_true, scores, rules: Iterable[str] = RULES) -> dict[str, np.ndarray]:
    """``{rule: thresholds (K,)}`` for every rule in ``rules``."""
    return {name: fit_rule(name, y_true, scores) for name in rules}
