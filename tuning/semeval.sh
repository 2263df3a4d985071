#!/usr/bin/env bash
# Bayesian search on SemEval-2018 Task 1 E-c (English), objective dev Jaccard (the task's metric).
# Usage: tuning/semeval.sh DATA_DIR [OUT_DIR] [extra lem-keras tune options, e.g. --embeddings glove.txt]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:?usage: semeval.sh DATA_DIR [OUT_DIR] [options]}"; out="${2:-runs/tune-semeval}"
shift $(( $# >= 2 ? 2 : 1 ))
exec lem-keras tune --data "$data" --format semeval --config semeval \
  --space "$here/semeval-space.json" --tuner bayesian --max-trials 40 --epochs 30 \
  --objective val_jaccard --out "$out" "$@"
