#!/usr/bin/env bash
# anchors/assign conformance against the shared numpy oracles (needs .venv with numpy; the
# oracles live outside the repository in ../shared/oracles/anchors or $RETINA_ORACLES).
set -euo pipefail
cd "$(dirname "$0")/../.."
ORACLES=${RETINA_ORACLES:-../shared/oracles/anchors}
PY=${PYTHON:-.venv/bin/python}
if [ ! -f "$ORACLES/ref_anchors.py" ]; then
  echo "anchors conformance: SKIP (no oracles at $ORACLES; set RETINA_ORACLES)"; exit 0
fi
cargo build --release -q
"$PY" scripts/conformance/anchors_check.py target/release/retina-tools "$ORACLES" \
  fixtures/coco-val2014-100/instances_val2014_100.json "${N_SIZES:-24}" "${N_IMAGES:-30}"
