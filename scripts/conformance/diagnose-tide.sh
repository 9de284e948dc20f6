#!/usr/bin/env bash
# TIDE conformance sweep against the authors' tidecv 1.0.1 (bbox and segm): a few hundred seeded
# cases in CI (about 30 s on 2 cores); TIDE_CASES=3000 bash scripts/conformance/diagnose-tide.sh
# for a long local sweep. Prints `N passed, M failed`; exits non-zero on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || bash scripts/setup-venv.sh
.venv/bin/python scripts/conformance/diagnose_tide.py --bin "${RETINA_BIN:-target/release/retina-tools}" \
    --cases "${TIDE_CASES:-300}" --seed "${TIDE_SEED:-0}"
