#!/usr/bin/env bash
# Conformance: retina-tools eval --iou-type segm|keypoints vs pycocotools 2.0.11, bit for bit.
# CI runs a modest sweep (SEGM_KP_CASES, default 300 per IoU type, about 45 s on 2 cores);
# run thousands locally with e.g. SEGM_KP_CASES=3000 bash scripts/conformance/eval-segm-kp.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || bash scripts/setup-venv.sh
[ -x target/release/retina-tools ] || cargo build --release -q
exec "$PY" scripts/conformance/eval_segm_kp.py --bin target/release/retina-tools \
  --cases "${SEGM_KP_CASES:-300}" --seed "${SEGM_KP_SEED:-0}" "$@"
