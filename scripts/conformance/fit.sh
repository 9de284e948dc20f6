#!/usr/bin/env bash
# anchors --fit: every config snippet, given to its framework's anchor generator, yields the
# anchors `anchors --convention <framework>` writes for the same flags (detectron2 by the shared
# oracle's formula; torchvision and mmdet when $FIT_PYTHON has them, e.g. a venv made as in
# docs/fit.md; else those two are reported as SKIP). About 10 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
ORACLES=${RETINA_ORACLES:-../shared/oracles/anchors}
PY=${FIT_PYTHON:-${PYTHON:-.venv/bin/python}}
if [ ! -f "$ORACLES/ref_anchors.py" ]; then
  echo "fit conformance: SKIP (no oracles at $ORACLES; set RETINA_ORACLES)"; exit 0
fi
cargo build --release -q
"$PY" scripts/conformance/fit_snippets.py target/release/retina-tools "$ORACLES" \
  fixtures/coco-val2014-100/instances_val2014_100.json
