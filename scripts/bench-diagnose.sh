#!/usr/bin/env bash
# Benchmark `retina-tools diagnose` (default sections) against hotcoco's Python API (evaluate +
# tide_errors + confusion_matrix + calibration + f_scores) and tidecv, side by side in one run, on
# the generated COCO val2017-scale set of bench-eval.sh (5,000 images, ~470k detections).
#   bash scripts/bench-diagnose.sh [IMAGES] [RUNS] [TIDECV_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-5000}
RUNS=${2:-5}
TIDECV_RUNS=${3:-1}
DATA=bench-data/val${IMAGES}
cargo build --release -q
bash scripts/setup-venv.sh
[ -f "$DATA/dt.json" ] || python3 scripts/bench/gen_bbox.py "$DATA" --images "$IMAGES"
.venv/bin/python scripts/bench/bench_diagnose.py --gt "$DATA/gt.json" --dt "$DATA/dt.json" \
  --ours target/release/retina-tools --runs "$RUNS" --tidecv-runs "$TIDECV_RUNS" --threads 2 \
  --python .venv/bin/python --markdown "$DATA/diagnose.md"
