#!/usr/bin/env bash
# assign benchmark: retina-tools vs vectorised numpy vs torchvision (if importable), one run.
# PYTHON defaults to /work/venv-torch/bin/python when present (torch is ~5 GB, not in CI), else .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x /work/venv-torch/bin/python ]; then PY=/work/venv-torch/bin/python; else PY=.venv/bin/python; fi
fi
exec "$PY" scripts/bench_assign.py "$@"
