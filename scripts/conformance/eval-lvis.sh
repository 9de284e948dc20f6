#!/usr/bin/env bash
# LVIS conformance sweep against lvis 0.5.3: a few hundred seeded synthetic LVIS-style cases
# (bbox and segm); EVAL_CASES=3000 bash scripts/conformance/eval-lvis.sh for a long local sweep.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" scripts/conformance/eval_lvis.py --bin target/release/retina-tools --cases "${EVAL_CASES:-300}" --seed "${EVAL_SEED:-0}"
