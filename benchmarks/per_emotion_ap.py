"""Per-emotion average precision of trained models beside the TF-IDF baseline.

    python benchmarks/per_emotion_ap.py --data ../shared/data/semeval2018-ec --format semeval \
        MODEL_DIR [MODEL_DIR ...] [--split train]

Prints one row per emotion: its prevalence in the split, then the average precision (area
under the precision-recall curve) of the TF-IDF word+char logistic regression (trained on
train) and of each model directory written by `lem-keras train`. `--split train` scores the
training split itself, which tells under-fitting (low train AP) from over-fitting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="*", help="directories written by `lem-keras train`")
    parser.add_argument("--data", required=True, help="directory with the train and dev files")
    parser.add_argument("--format", default="semeval", choices=("semeval", "ren-cecps"))
    parser.add_argument("--split", default="dev", choices=("dev", "train"))
    args = parser.parse_args(argv)

    from sklearn.metrics import average_precision_score

    from lem_keras.baselines import TfidfLogisticRegression
    from lem_keras.data.readers import find_split_files, load_dataset
    from lem_keras.training import load_artifacts, predict_scores

    train_path, dev_path = find_split_files(args.data, args.format)
    train = load_dataset(train_path, args.format)
    scored = train if args.split == "train" else load_dataset(dev_path, args.format)
    columns = {"tfidf": TfidfLogisticRegression(class_weight="balanced").fit(train.texts, train.labels)
               .predict_scores(scored.texts)}
    for directory in args.models:
        model, pipeline = load_artifacts(directory)
        columns[Path(directory).name] = predict_scores(model, pipeline, scored.texts)
    print(f"# per-emotion average precision on {args.split} ({len(scored.texts)} texts)")
    print("| emotion | prevalence | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for k, name in enumerate(scored.emotion_names):
        y = scored.labels[:, k]
        cells = [f"{average_precision_score(y, s[:, k]):.3f}" if y.any() else "—" for s in columns.values()]
        print(f"| {name} | {y.mean():.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
