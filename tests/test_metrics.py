"""Metrics against scikit-learn on random data and against a hand-computed case."""

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from lem_keras import metrics as M


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(7)
    y = (rng.random((150, 6)) < 0.3).astype(int)
    y[0] = 0  # an example with no gold emotion
    y[1] = 1  # and one with all
    y[2:6, 0] = 1  # every emotion has a gold example
    scores = rng.random((150, 6))
    scores[10:20, :3] = 0.5  # ties
    return y, scores


def test_report_matches_sklearn(random_case):
    y, s = random_case
    thresholds = np.array([0.5, 0.4, 0.6, 0.5, 0.3, 0.7])
    p = (s >= thresholds).astype(int)
    report = M.multilabel_report(y, s, thresholds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "hamming_loss": skm.hamming_loss(y, p),
            "ranking_loss": skm.label_ranking_loss(y, s),
            "micro_f1": skm.f1_score(y, p, average="micro", zero_division=0),
            "macro_f1": skm.f1_score(y, p, average="macro", zero_division=0),
            "macro_pr_auc": skm.average_precision_score(y, s, average="macro"),
            "lrap": skm.label_ranking_average_precision_score(y, s),
            "jaccard": skm.jaccard_score(y, p, average="samples", zero_division=1),
        }
    assert set(report) == set(expected)
    for key, value in expected.items():
        assert report[key] == pytest.approx(value, abs=1e-9), key


def test_hand_computed_case():
    # Example 3 has no gold and no predicted emotion.
    y = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.6, 0.4], [0.2, 0.3, 0.8], [0.1, 0.2, 0.3]])
    p = s >= 0.5  # [[1,1,0],[0,0,1],[0,0,0]]
    r = M.multilabel_report(y, s, 0.5)
    assert r["hamming_loss"] == pytest.approx(4 / 9)
    # TP=1, FP=2, FN=2 -> 2/(2+2+2)
    assert r["micro_f1"] == pytest.approx(1 / 3)
    # per emotion F1: e0 1, e1 0, e2 0
    assert r["macro_f1"] == pytest.approx(1 / 3)
    # Jaccard: 1/3, 0/2, empty-empty = 1
    assert r["jaccard"] == pytest.approx((1 / 3 + 0 + 1) / 3)
    # ranking loss: ex1 pairs (e0,e1) ok, (e2,e1) wrong -> 1/2;
    # ex2 (e1 vs e0 ok, e1 vs e2 wrong) -> 1/2; ex3 -> 0
    assert r["ranking_loss"] == pytest.approx((0.5 + 0.5 + 0) / 3)
    # LRAP: ex1 gold e0 rank1 -> 1, e2 rank3 with 2 gold above-or-equal -> 2/3; ex2 e1 rank2 -> 1/2; ex3 -> 1
    assert r["lrap"] == pytest.approx(((1 + 2 / 3) / 2 + 0.5 + 1) / 3)
    # AP per emotion: e0 gold only ex1 (top score) -> 1; e1 gold ex2 at rank 2 -> 1/2;
    # e2 gold ex1 at rank 2 -> 1/2
    assert r["macro_pr_auc"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert M.hamming_loss(y, p) == r["hamming_loss"]


def test_pr_auc_skips_emotions_without_gold():
    y = np.array([[1, 0], [0, 0]])
    s = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert M.macro_pr_auc(y, s) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "metric_cls,key",
    [
        (M.HammingLoss, "hamming_loss"),
        (M.JaccardAccuracy, "jaccard"),
        (M.MicroF1, "micro_f1"),
        (M.MacroF1, "macro_f1"),
        (M.RankingLoss, "ranking_loss"),
        (M.MacroPRAUC, "macro_pr_auc"),
    ],
)
def test_streaming_metrics_match_report(random_case, metric_cls, key):
    y, s = random_case
    metric = metric_cls()
    assert metric.name == key
    for start in range(0, len(y), 40):
        metric.update_state(y[start : start + 40].astype("float32"), s[start : start + 40].astype("float32"))
    expected = M.multilabel_report(y, s, 0.5)[key]
    tolerance = 0.01 if key == "macro_pr_auc" else 1e-5  # binned approximation
    assert float(metric.result()) == pytest.approx(expected, abs=tolerance)
    metric.reset_state()
    metric.update_state(y[:40].astype("float32"), s[:40].astype("float32"))
    assert float(metric.result()) == pytest.approx(
        M.multilabel_report(y[:40], s[:40], 0.5)[key], abs=tolerance
    )


def test_calibrate_thresholds_maximises_each_f1(random_case):
    y, s = random_case
    thresholds = M.calibrate_thresholds(y, s)
    assert thresholds.shape == (6,)
    for k in range(6):
        f1 = skm.f1_score(y[:, k], s[:, k] >= thresholds[k])
        best = max(skm.f1_score(y[:, k], s[:, k] >= t) for t in np.unique(s[:, k]))
        assert f1 == pytest.approx(best)


def test_threshold_shape_checked():
    with pytest.raises(ValueError):
        M.multilabel_report(np.zeros((2, 3)), np.zeros((2, 3)), np.array([0.5, 0.5]))
