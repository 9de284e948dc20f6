#!/usr/bin/env bash
# anchors --fit benchmark: time to result and objective reached on the 5,000-image COCO-like set
# and the 2,000-image elongated set, against a random search of equal evaluation count and
# YOLOv5-style k-means anchors mapped onto RetinaNet. Makes the data on first use (bench-data/).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
PY=${PYTHON:-.venv/bin/python}
[ -f bench-data/val5000/gt.json ] || python3 scripts/bench/gen_bbox.py bench-data/val5000 --images 5000
[ -f bench-data/elongated2000/gt.json ] || python3 scripts/bench/gen_elongated.py bench-data/elongated2000 --images 2000
exec "$PY" scripts/bench/bench_fit.py target/release/retina-tools bench-data/val5000/gt.json bench-data/elongated2000/gt.json "$@"
