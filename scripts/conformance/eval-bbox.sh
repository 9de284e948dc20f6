#!/usr/bin/env bash
# bbox conformance sweep against pycocotools 2.0.11: a few hundred seeded cases in CI;
# EVAL_CASES=5000 bash scripts/conformance/eval-bbox.sh for a long local sweep.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" scripts/conformance/eval_bbox.py --bin target/release/retina-tools --cases "${EVAL_CASES:-300}" --seed "${EVAL_SEED:-0}"
