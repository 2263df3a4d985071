#!/usr/bin/env bash
# Hyperband search on Ren-CECps (Chinese), objective dev micro-F1.
# Usage: tuning/ren-cecps.sh DATA_DIR [OUT_DIR] [extra lem-keras tune options, e.g. --stopwords FILE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:?usage: ren-cecps.sh DATA_DIR [OUT_DIR] [options]}"; out="${2:-runs/tune-ren-cecps}"
shift $(( $# >= 2 ? 2 : 1 ))
exec lem-keras tune --data "$data" --format ren-cecps --config ren-cecps \
  --space "$here/ren-cecps-space.json" --tuner hyperband --epochs 30 \
  --objective val_micro_f1 --out "$out" "$@"
