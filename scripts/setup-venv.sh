#!/usr/bin/env bash
# Creates .venv with the reference implementations the conformance checks run against.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check numpy pycocotools==2.0.11 tidecv==1.0.1 hotcoco==1.3.0 lvis==0.5.3 pytest
