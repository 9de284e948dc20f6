#!/usr/bin/env bash
# Scale rows: `retina-tools eval` (bbox) against hotcoco's Rust CLI on large generated sets, wall
# time and peak memory (maximum resident set size, as `/usr/bin/time -v` reports it), engines
# alternating round by round, medians and the median of per-round ratios.
#   bash scripts/bench-scale.sh [RUNS] [SETS]
# SETS (default "scale50k o365"): scale50k = 50,000 images, ~4.7M detections, COCO's 80
# categories; o365 = Objects365's size, 80,000 images and 365 categories, ~7.5M detections.
# Both come from scripts/bench/gen_bbox.py (seed 0) into bench-data/ (≈ 0.45 and 0.75 GB of
# results; the generator takes a few minutes each). hotcoco's CLI is installed under
# .bench-tools/ (cargo install hotcoco-cli) when missing, or taken from $HOTCOCO_CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SETS=${2:-scale50k o365}
cargo build --release -q
HOTCOCO_CLI=${HOTCOCO_CLI:-.bench-tools/bin/coco-eval}
if [ ! -x "$HOTCOCO_CLI" ]; then
  cargo install -q hotcoco-cli --root .bench-tools
fi
for s in $SETS; do
  case $s in
    scale50k) args=(--images 50000) ;;
    o365) args=(--images 80000 --categories 365) ;;
    *) echo "unknown set $s (scale50k, o365)" >&2; exit 2 ;;
  esac
  d=bench-data/$s
  [ -f "$d/dt.json" ] || python3 scripts/bench/gen_bbox.py "$d" "${args[@]}"
  echo "== $s: $(du -h "$d/dt.json" | cut -f1) of results" >&2
  python3 scripts/bench/bench_eval.py --gt "$d/gt.json" --dt "$d/dt.json" --ours target/release/retina-tools \
    --hotcoco-cli "$HOTCOCO_CLI" --runs "$RUNS" --threads 2 --engines retina-tools,hotcoco-cli --markdown "$d/results.md"
done
