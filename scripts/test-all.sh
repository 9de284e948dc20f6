#!/usr/bin/env bash
# The whole test suite: unit + integration tests, then the conformance sweeps against the
# reference implementations (pycocotools etc., installed into .venv on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
cargo build --release
cargo test --release
for s in scripts/conformance/*.sh; do
  [ -e "$s" ] || continue
  echo "== $s"
  bash "$s"
done
