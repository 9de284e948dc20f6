#!/usr/bin/env bash
# Benchmark `retina-tools compare` (1,000 paired bootstrap replicates, two models) against
# hotcoco 1.3.0's Python `compare(eval_a, eval_b, n_bootstrap=1000)`, side by side in one run,
# on the generated 5,000-image bbox set of bench-eval.sh (~470k detections) and a perturbed copy;
# then ours at 0, 1,000 and 10,000 replicates. hotcoco takes about two minutes per run.
#   bash scripts/bench-compare.sh [IMAGES] [RUNS] [HOTCOCO_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-5000}
RUNS=${2:-3}
HOTCOCO_RUNS=${3:-2}
DATA=bench-data/val${IMAGES}
cargo build --release -q
bash scripts/setup-venv.sh
[ -f "$DATA/dt.json" ] || python3 scripts/bench/gen_bbox.py "$DATA" --images "$IMAGES"
[ -f "$DATA/dt_b.json" ] || python3 scripts/bench/gen_compare_b.py "$DATA"
.venv/bin/python scripts/bench/bench_compare.py --gt "$DATA/gt.json" --a "$DATA/dt.json" --b "$DATA/dt_b.json" \
  --ours target/release/retina-tools --runs "$RUNS" --hotcoco-runs "$HOTCOCO_RUNS" --threads 2 \
  --python .venv/bin/python --markdown "$DATA/compare.md"
