"""Do the probabilities mean what they say? Expected calibration error and temperature scaling.

* Expected calibration error (ECE) of one emotion: its scores are put in ``bins`` equal
  bins of [0, 1] (a score of 1 in the last); ``ECE = sum_b |B_b| / N * |gold rate in B_b -
  mean score in B_b|`` — the mean gap between what the model says and how often it is
  right, weighted by how often it says it.
* Temperature scaling: ``p -> sigmoid(logit(p) / T)``; a probability of 0 (a text without
  evidence) stays 0. One ``T`` for all emotions keeps every ranking (per emotion and
  within an example); ``T`` is fitted by minimising the binary cross-entropy on dev.

numpy/scipy only: no TensorFlow here.

Example (two bins: scores .2 and .4 fall in the first, |1/2 - .3| * 2/3; .9 in the second, |1 - .9| * 1/3):
>>> import numpy as np
>>> y = np.array([[0], [1], [1]])
>>> s = np.array([[0.2], [0.4], [0.9]])
>>> [round(float(e), 4) for e in expected_calibration_error(y, s, bins=2)]
[0.1667]
"""

from __future__ import annotations

import numpy as np

from lem_keras.decision import label_score_arrays

__all__ = ["apply_temperature", "expected_calibration_error", "fit_temperature", "reliability"]

_EPS = 1e-7


def _arrays(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y, s = label_score_arrays(y_true, scores)
    return y.astype("float64"), s


def _bin_index(s: np.ndarray, bins: int) -> np.ndarray:
    return np.clip(np.floor(s * bins).astype("int64"), 0, bins - 1)


def reliability(y_true, scores, bins: int = 10) -> dict[str, np.ndarray]:
    """Per bin (pooled over all emotions): ``count``, ``confidence`` (mean score) and
    ``frequency`` (gold rate); empty bins have NaN confidence and frequency."""
    y, s = _arrays(y_true, scores)
    index = _bin_index(s.ravel(), bins)
    count = np.bincount(index, minlength=bins).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=s.ravel(), minlength=bins) / count
        frequency = np.bincount(index, weights=y.ravel(), minlength=bins) / count
    return {"count": count, "confidence": confidence, "frequency": frequency}


def expected_calibration_error(y_true, scores, bins: int = 10) -> np.ndarray:
    """ECE of each emotion, (K,) (see the module docstring); 0 for no example."""
    y, s = _arrays(y_true, scores)
    n, k = y.shape
    ece = np.zeros(k)
    if n == 0:
        return ece
    for j in range(k):
        index = _bin_index(s[:, j], bins)
        gap = np.abs(np.bincount(index, weights=y[:, j], minlength=bins)
                     - np.bincount(index, weights=s[:, j], minlength=bins))
        ece[j] = gap.sum() / n  # sum_b |B_b|/N * |mean y - mean s| = sum_b |sum y - sum s| / N
    return ece


def apply_temperature(scores, temperature) -> np.ndarray:
    """``sigmoid(logit(p) / T)`` (``T`` a float or one per emotion); 0 stays 0."""
    s = np.asarray(scores, dtype="float64")
    t = np.asarray(temperature, dtype="float64")
    clipped = np.clip(s, _EPS, 1.0 - _EPS)
    logits = np.log(clipped) - np.log1p(-clipped)
    return np.where(s > 0, 1.0 / (1.0 + np.exp(-logits / t)), 0.0)


def _nll(y: np.ndarray, s: np.ndarray, temperature: float) -> float:
    p = np.clip(apply_temperature(s, temperature), _EPS, 1.0 - _EPS)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def fit_temperature(y_true, scores, per_emotion: bool = False):
    """The temperature minimising the binary cross-entropy of ``apply_temperature(scores,
    T)`` on these data: a float, or (K,) with ``per_emotion``; searched over [0.05, 20].
    Scores of 0 (texts without evidence) are left out: no temperature moves them."""
    from scipy.optimize import minimize_scalar

    y, s = _arrays(y_true, scores)

    def fit(yy: np.ndarray, ss: np.ndarray) -> float:
        keep = ss > 0
        if not keep.any():
            return 1.0
        yy, ss = yy[keep], ss[keep]
        found = minimize_scalar(lambda log_t: _nll(yy, ss, float(np.exp(log_t))),
                                bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                                options={"xatol": 1e-5})
        return float(np.exp(found.x))

    if per_emotion:
        return np.array([fit(y[:, j], s[:, j]) for j in range(y.shape[1])])
    return fit(y, s)
