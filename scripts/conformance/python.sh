#!/usr/bin/env bash
# The Python package against pycocotools 2.0.11 and the CLI: builds and installs ./python into
# .venv (pip install, maturin from PyPI; the Rust build shares target/ with the CLI's), then runs
# pytest on python/tests (~200 cases, about 40 s on 2 cores after the build). The torchmetrics
# test runs only where torch and torchmetrics are installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || bash scripts/setup-venv.sh
[ -x target/release/retina-tools ] || cargo build --release -q
CARGO_TARGET_DIR="$PWD/target" "$PY" -m pip install -q --disable-pip-version-check ./python
# Run from the tests directory so that the installed package (not ./python) is imported.
PYABS=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")
cd python/tests
RETINA_TOOLS_BIN="$OLDPWD/target/release/retina-tools" exec "$PYABS" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning .
