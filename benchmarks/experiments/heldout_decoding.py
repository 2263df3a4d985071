"""Probes on the held-out folds of ``benchmarks/heldout_cv.py`` (session 8; nothing shipped).

    python benchmarks/experiments/heldout_decoding.py [--folds results/heldout/semeval]

1. Expected-Jaccard decoding: for each text, the top-k emotions (by probability) whose
   expected Jaccard accuracy is highest, the emotions taken as independent Bernoulli
   variables with the model's (temperature-calibrated) probabilities; alone and united with
   the ``shrunk`` set at c × its thresholds.
2. A blend with TF-IDF + LR: ``sigmoid((1 - w) logit(LEM) + w logit(TF-IDF))``, rescaled by a
   per-emotion temperature and the rules fitted on dev, as training does.

Mean over folds of HL / miF1 / maF1 / Jaccard on the held-out texts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from lem_keras import calibration, decision, metrics
from lem_keras.layers.expected_jaccard import expected_jaccard_sets


def _scores(y, predicted) -> list[float]:
    return [metrics.hamming_loss(y, predicted), metrics.micro_f1(y, predicted),
            metrics.macro_f1(y, predicted), metrics.jaccard_accuracy(y, predicted)]


def print_decision_probes(folds_dir, probe, shipped_label: str = "`expected_jaccard` (shipped)") -> None:
    """Print ``| decision | HL↓ | miF1 | maF1 | Jaccard |``, the mean over the committed fold
    scores in ``folds_dir``: first the shipped ``expected_jaccard`` fitted on dev, then each
    ``label: predicted`` (0/1 on the held-out texts) that ``probe(fold)`` returns for a fold
    (``fold``: the arrays of one ``fold*.npz``)."""
    paths = sorted(Path(folds_dir).glob("fold*.npz"))
    if not paths:
        raise SystemExit(f"no fold*.npz in {folds_dir}")
    rows: dict[str, list] = {}
    for path in paths:
        fold = dict(np.load(path))
        y, p = fold["held_labels"], fold["held"]
        thresholds = decision.fit_rule("expected_jaccard", fold["dev_labels"], fold["dev"])
        shipped = decision.decide(p, thresholds, "expected_jaccard")
        rows.setdefault(shipped_label, []).append(_scores(y, shipped))
        for label, predicted in probe(fold).items():
            rows.setdefault(label, []).append(_scores(y, predicted))
        print(f"{path.name} done", file=sys.stderr, flush=True)
    print(f"| decision ({len(paths)} folds, mean) | HL↓ | miF1 | maF1 | Jaccard |")
    print("|---|---|---|---|---|")
    for label, values in rows.items():
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in np.mean(values, axis=0)) + " |")


def _blend(lem, tfidf, w: float) -> np.ndarray:
    """``sigmoid((1 - w) logit(lem) + w logit(tfidf))`` (probabilities clipped to 1e-6)."""
    from scipy.special import expit, logit

    lem, tfidf = (np.clip(p, 1e-6, 1 - 1e-6) for p in (lem, tfidf))
    return expit((1 - w) * logit(lem) + w * logit(tfidf))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default=str(REPO / "results" / "heldout" / "semeval"))
    args = parser.parse_args(argv)
    folds = [dict(np.load(p)) for p in sorted(Path(args.folds).glob("fold*.npz"))]
    rows: dict[str, list] = {}
    for fold in folds:
        y, dev_y = fold["held_labels"], fold["dev_labels"]
        for w in (0.0, 0.15, 0.3, 0.5):
            held, dev = (_blend(fold[part], fold[f"{part}_tfidf"], w) for part in ("held", "dev"))
            if w:
                t = calibration.fit_temperature(dev_y, dev, per_emotion=True)
                held, dev = calibration.apply_temperature(held, t), calibration.apply_temperature(dev, t)
            thresholds = decision.shrunk(dev_y, dev)
            rows.setdefault(f"TF-IDF weight {w:g}, shrunk", []).append(_scores(y, held >= thresholds))
            if w not in (0.0, 0.3):
                continue
            sets = np.asarray(expected_jaccard_sets(held.astype("float32")))
            for c in (1.0, 1.2, 1.4, None):
                label = f"TF-IDF weight {w:g}, expected-Jaccard set" + (f" ∪ shrunk × {c:g}" if c else "")
                union = sets | (held >= np.minimum(c * thresholds, 0.999)) if c else sets
                rows.setdefault(label, []).append(_scores(y, union))
    print(f"{len(folds)} folds | HL↓ | miF1 | maF1 | Jaccard")
    for label, values in rows.items():
        print(f"{label:55s}", " ".join(f"{v:.3f}" for v in np.mean(values, axis=0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
