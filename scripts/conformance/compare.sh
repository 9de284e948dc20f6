#!/usr/bin/env bash
# compare: bootstrap replicates rebuilt as COCO files and scored by pycocotools 2.0.11, bit for
# bit (ties, distinct scores, useCats=0, maxDets, --img-ids, segm). About 30 s.
# COMPARE_CHECK=20 bash scripts/conformance/compare.sh for a longer local run.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" scripts/conformance/compare_pycocotools.py --bin target/release/retina-tools --bootstrap "${COMPARE_BOOTSTRAP:-20}" --check "${COMPARE_CHECK:-3}"
