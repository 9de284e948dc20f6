#!/usr/bin/env bash
# focal vs the float64 numpy oracle (ref_focal.py, vendored): sums ≤ 1e-6 relative, Fig. 4 points
# and loss shares ≤ 1e-4, on seeded random/extreme inputs and every storage variant. Both
# backends when a GPU adapter (lavapipe counts) is there; with RETINA_REQUIRE_GPU=1 the GPU
# backend is always checked. Needs .venv (bash scripts/setup-venv.sh) and a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
BIN=target/release/retina-tools
[ -x "$BIN" ] || cargo build --release -q
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
backends=(cpu)
if [ "${RETINA_REQUIRE_GPU:-0}" = 1 ] || "$BIN" focal --logits fixtures/focal/demo_logits.npy \
     --targets fixtures/focal/demo_targets.npy --backend gpu -q >/dev/null 2>&1; then
  backends+=(gpu)
else
  echo "focal conformance: no GPU adapter; checking the CPU backend only"
fi
"$PY" scripts/conformance/focal_check.py --bin "$BIN" --backend "${backends[@]}"
