#!/usr/bin/env bash
# Benchmark `retina-tools eval` (bbox) against its peers, side by side in one run, on a generated
# COCO val2017-scale set (5,000 images, ~35k GT, ~470k detections).
#   bash scripts/bench-eval.sh [IMAGES] [RUNS] [DETS_PER_IMAGE]
# DETS_PER_IMAGE (default 94) sets the density: `bash scripts/bench-eval.sh 5000 9 10` is the
# sparse set (~50k detections, so the fixed costs dominate). ENGINES=retina-tools,hotcoco-cli
# limits the engines (default: all).
# Installs the peers on first use: a venv .venv-bench (pycocotools, faster-coco-eval, hotcoco,
# ultrafast-pycocotools, vernier from PyPI) and hotcoco's Rust CLI (cargo install hotcoco-cli)
# under .bench-tools/. Timings drift between runs; compare within one run only.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-5000}
RUNS=${2:-3}
DETS=${3:-94}
DATA=bench-data/val${IMAGES}
[ "$DETS" = 94 ] || DATA=bench-data/val${IMAGES}-d${DETS}
cargo build --release -q
PY=.venv-bench/bin/python
if [ -n "${ENGINES:-}" ] && [ -z "$(echo "$ENGINES" | tr ',' '\n' | grep -vx 'retina-tools\|hotcoco-cli')" ]; then
  PY=python3  # no Python peer asked for: no venv needed
elif [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q numpy pycocotools==2.0.11 faster-coco-eval hotcoco ultrafast-pycocotools vernier
fi
HOTCOCO_CLI=${HOTCOCO_CLI:-.bench-tools/bin/coco-eval}
if [ ! -x "$HOTCOCO_CLI" ] && [ -z "${SKIP_HOTCOCO_CLI:-}" ]; then
  cargo install -q hotcoco-cli --root .bench-tools || echo "note: cargo install hotcoco-cli failed; skipping it" >&2
fi
[ -f "$DATA/dt.json" ] || python3 scripts/bench/gen_bbox.py "$DATA" --images "$IMAGES" --dets-per-image "$DETS"
"$PY" scripts/bench/bench_eval.py --gt "$DATA/gt.json" --dt "$DATA/dt.json" \
  --ours target/release/retina-tools --hotcoco-cli "$HOTCOCO_CLI" --runs "$RUNS" --threads 2 \
  --python "$PY" --markdown "$DATA/results.md" \
  ${ENGINES:+--engines "$ENGINES"}
