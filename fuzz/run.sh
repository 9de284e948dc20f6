#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/*.rs) for SECONDS each (default 30), starting from
# its committed seeds (fuzz/seeds/<target>/) plus what earlier runs found (fuzz/corpus/<target>/,
# git-ignored). A crash, a failed property, a timeout or an out-of-memory stops with the input
# saved under fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ once fixed, and
# `cargo test` replays it for good. Needs a nightly toolchain and cargo-fuzz (installed here if
# missing); without nightly it says so and exits 0.
# FUZZ_GATE=0 (what .ci/run sets) reports a finding loudly but exits 0: a new input found in a
# 30-second run is news for the next session, not a reason to refuse the commit (the inputs kept
# under fuzz/regressions are what gates, through cargo test). Runs use -seed=1.
# Usage: bash fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
shift || true
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain here, so no fuzzing (cargo test still replays fuzz/regressions and fuzz/seeds)"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  if ! cargo install cargo-fuzz --locked --quiet; then
    echo "fuzz: cargo-fuzz could not be installed here, so no fuzzing (cargo test still replays the kept inputs)"
    exit 0
  fi
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz_targets | sed 's/\.rs$//'))
cargo +nightly fuzz build -O 2>&1 | grep -vE '^\s+(Compiling|Downloaded|Downloading)' || true
status=0
for t in "${targets[@]}"; do
  mkdir -p corpus/$t
  dict=(); case $t in json_reader|coco_gt|coco_results) dict=(-dict=json.dict) ;; esac
  log=$(mktemp)
  start=$(date +%s)
  if cargo +nightly fuzz run -O $t corpus/$t seeds/$t -- -max_total_time=$secs -seed=1 -rss_limit_mb=2048 -timeout=20 \
       -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
    echo "fuzz $t: ok, ${secs}s, $execs runs, ${cov:-cov: ?}, corpus $(ls corpus/$t | wc -l) inputs"
  else
    echo "fuzz $t: FAILED after $(( $(date +%s) - start ))s (input saved under fuzz/artifacts/$t/):"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/  /'
    status=1
  fi
  rm -f "$log"
done
if [ $status != 0 ] && [ "${FUZZ_GATE:-1}" = 0 ]; then
  echo "fuzz: FINDINGS above (inputs under fuzz/artifacts/); not gating (FUZZ_GATE=0)"
  exit 0
fi
exit $status
