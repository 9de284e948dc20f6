#!/usr/bin/env bash
# Benchmark `retina-tools eval` under the LVIS protocol against hotcoco's Python LVISEval and the
# lvis package 0.5.3, side by side in one run, on a generated LVIS-scale set (IMAGES images,
# 1,203 categories, 300 detections per image).
#   bash scripts/bench-lvis.sh [IMAGES] [RUNS] [LVIS_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-5000}
RUNS=${2:-5}
LVIS_RUNS=${3:-1}
DATA=bench-data/lvis${IMAGES}
cargo build --release -q
bash scripts/setup-venv.sh
[ -f "$DATA/dt.json" ] || .venv/bin/python scripts/bench/gen_lvis.py "$DATA" --images "$IMAGES"
.venv/bin/python scripts/bench/bench_lvis.py --gt "$DATA/gt.json" --dt "$DATA/dt.json" \
  --ours target/release/retina-tools --runs "$RUNS" --lvis-runs "$LVIS_RUNS" --threads 2 \
  --python .venv/bin/python --markdown "$DATA/lvis.md"
