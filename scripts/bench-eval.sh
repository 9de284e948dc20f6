#!/usr/bin/env bash
# Benchmark `retina-tools eval` (bbox) against its peers, side by side in one run, on a generated
# COCO val2017-scale set (5,000 images, ~35k GT, ~470k detections).
#   bash scripts/bench-eval.sh [IMAGES] [RUNS]
# Installs the peers on first use: a venv .venv-bench (pycocotools, faster-coco-eval, hotcoco,
# ultrafast-pycocotools, vernier from PyPI) and hotcoco's Rust CLI (cargo install hotcoco-cli)
# under .bench-tools/. Timings drift between runs; compare within one run only.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-5000}
RUNS=${2:-3}
DATA=bench-data/val${IMAGES}
cargo build --release -q
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q numpy pycocotools==2.0.11 faster-coco-eval hotcoco ultrafast-pycocotools vernier
fi
HOTCOCO_CLI=${HOTCOCO_CLI:-.bench-tools/bin/coco-eval}
if [ ! -x "$HOTCOCO_CLI" ] && [ -z "${SKIP_HOTCOCO_CLI:-}" ]; then
  cargo install -q hotcoco-cli --root .bench-tools || echo "note: cargo install hotcoco-cli failed; skipping it" >&2
fi
[ -f "$DATA/dt.json" ] || python3 scripts/bench/gen_bbox.py "$DATA" --images "$IMAGES"
.venv-bench/bin/python scripts/bench/bench_eval.py --gt "$DATA/gt.json" --dt "$DATA/dt.json" \
  --ours target/release/retina-tools --hotcoco-cli "$HOTCOCO_CLI" --runs "$RUNS" --threads 2 \
  --python .venv-bench/bin/python --markdown "$DATA/results.md"
