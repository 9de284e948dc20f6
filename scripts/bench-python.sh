#!/usr/bin/env bash
# Benchmark the Python package against hotcoco's, faster-coco-eval's and pycocotools' Python
# packages, side by side in one run, on the generated 5,000-image bbox set: COCO + loadRes +
# evaluate/accumulate/summarize, each engine in its own process, timed after its import.
#   bash scripts/bench-python.sh [IMAGES] [RUNS] [SLOW_RUNS]
# Installs retina_tools (pip install ./python) and the peers into .venv-bench on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-5000}
RUNS=${2:-5}
SLOW_RUNS=${3:-1}
DATA=bench-data/val${IMAGES}
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q numpy pycocotools==2.0.11 faster-coco-eval hotcoco ultrafast-pycocotools vernier
fi
CARGO_TARGET_DIR="$PWD/target" .venv-bench/bin/pip install -q --disable-pip-version-check ./python
[ -f "$DATA/dt.json" ] || python3 scripts/bench/gen_bbox.py "$DATA" --images "$IMAGES"
.venv-bench/bin/python scripts/bench/bench_python.py --gt "$DATA/gt.json" --dt "$DATA/dt.json" \
  --python .venv-bench/bin/python --runs "$RUNS" --slow-runs "$SLOW_RUNS" --threads 2 --markdown "$DATA/python.md"
