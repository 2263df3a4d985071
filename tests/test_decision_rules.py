"""benchmarks/decision_rules.py: the out-of-fold choice of the default decision rule."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "decision_rules.py"


@pytest.fixture(scope="module")
def rules_script():
    spec = importlib.util.spec_from_file_location("decision_rules", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reports(hl, mi, ma, j, n=3):
    return [{"hamming_loss": hl, "micro_f1": mi, "macro_f1": ma, "jaccard": j}] * n


def test_worst_margin_is_the_metric_closest_to_failing_the_bar(rules_script):
    bar = rules_script.parse_bar("0.16,0.665,0.54,0.55")
    assert bar == {"hamming_loss": 0.16, "micro_f1": 0.665, "macro_f1": 0.54, "jaccard": 0.55}
    results = {("lem", "a"): _reports(0.140, 0.685, 0.538, 0.566),   # maF1 2e-3 short
               ("lem", "b"): _reports(0.146, 0.680, 0.548, 0.559),   # every metric clears it
               ("lem", "c"): _reports(0.170, 0.700, 0.600, 0.600)}   # HL 1e-2 over its bound
    margins = rules_script.worst_margins(results, "lem", ["a", "b", "c"], bar)
    assert margins["a"] == pytest.approx(-0.002)
    assert margins["b"] == pytest.approx(0.548 - 0.54)   # maF1's .008 < Jaccard's .009 < HL's .014
    assert margins["c"] == pytest.approx(-0.010)
    with pytest.raises(ValueError, match="4 values"):
        rules_script.parse_bar("0.16,0.665")


def test_the_bar_chooses_the_default_and_mean_rank_without_it(rules_script, tmp_path, capsys):
    # Two tiny "runs" whose emotion 1 is rare and separable only at a low score.
    rng = np.random.default_rng(0)
    for seed in (0, 1):
        y = (rng.random((200, 3)) < [0.5, 0.08, 0.4]).astype(int)
        s = np.clip(0.35 * y + rng.random((200, 3)) * 0.6, 0, 1)
        s[:, 1] = np.where(y[:, 1] == 1, 0.2 + 0.05 * rng.random(200), 0.1 * rng.random(200))
        np.savez(tmp_path / f"toy__lem__seed{seed}.npz", scores=s, labels=y)
    out = tmp_path / "rules.md"
    args = ["--runs", str(tmp_path), "--dataset", "toy", "--folds", "2", "--repeats", "1",
            "--no-calibration", "--out", str(out)]
    assert rules_script.main(args + ["--bar", "1,0,0.9,0"]) == 0
    text = out.read_text("utf-8")
    assert "worst margin" in text and "largest worst margin" in text
    chosen = text.split("Best on lem by ")[1].split("**")[1]
    cv_part = text.split("## Each rule fitted")[0]
    rows = [line.split(" | ") for line in cv_part.splitlines() if line.startswith("| lem (2 seeds) |")]
    margins = {row[1]: float(row[-1].strip(" |")) for row in rows}
    assert len(margins) == len(rules_script.decision.RULES) and margins[chosen] == max(margins.values())
    # With HL free (bound 1) and maF1 at 0.9, the margin is maF1's: per-emotion F1 wins it.
    assert margins["per_emotion_f1"] > margins["fixed_0.5"]
    assert rules_script.main(args) == 0
    assert "the best mean rank" in out.read_text("utf-8")
    assert rules_script.main(args + ["--choose-on", "bigru"]) == 2
    assert "no such model" in capsys.readouterr().err
