#!/usr/bin/env bash
# diagnose's confusion matrix, calibration and F-scores against hotcoco 1.3.0: a few hundred
# seeded bbox and segm cases (under 10 s on 2 cores); DIAG_CASES=3000 for a long local sweep.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" scripts/conformance/diagnose_hotcoco.py --bin target/release/retina-tools --cases "${DIAG_CASES:-500}" --seed "${DIAG_SEED:-0}"
