#!/usr/bin/env bash
# focal benchmark, side by side in one run: logits [2, 201600, 80] float32 (129 MB), ~1% fg,
# ~1% ignored. `retina-tools focal --backend cpu --gammas 2` as a whole process (load, sums,
# Fig. 4 curves, JSON) vs torchvision's sigmoid_focal_loss (sum) and numpy on already-loaded
# arrays, then the GPU backend (lavapipe here) as a whole process.
#   PY=/path/to/python-with-numpy-and-torch bash scripts/bench-focal.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-2}"
PY="${PY:-.venv/bin/python}"
DATA=bench-data/focal
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
cargo build --release -q
[ -f "$DATA/logits.npy" ] || "$PY" scripts/bench_focal_data.py "$DATA"
BIN=target/release/retina-tools
best() { # best wall time of 3 runs of "$@"
  local b=999
  for _ in 1 2 3; do
    local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    b=$(echo "$e - $s" | bc -l | awk -v b="$b" '{print ($1 < b) ? $1 : b}')
  done
  printf '%.3f' "$b"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; threads $THREADS"
cpu=$(best "$BIN" focal --logits "$DATA/logits.npy" --targets "$DATA/targets.npy" --backend cpu --gammas 2 --threads "$THREADS" --json /dev/null -q)
peers=$("$PY" scripts/bench_focal_peers.py "$DATA" --threads "$THREADS")
echo "$peers"
torch=$(echo "$peers" | awk '$1=="torch"{print $2}')
numpy=$(echo "$peers" | awk '$1=="numpy"{print $2}')
gpu=$(best "$BIN" focal --logits "$DATA/logits.npy" --targets "$DATA/targets.npy" --backend gpu --gammas 2 --threads "$THREADS" --json /dev/null -q || echo n/a)
adapter=$("$BIN" focal --logits fixtures/focal/demo_logits.npy --targets fixtures/focal/demo_targets.npy --backend gpu --json - -q 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["adapter"])' || echo none)
echo
echo "| what | seconds | vs retina-tools cpu |"
echo "| --- | ---: | ---: |"
echo "| retina-tools focal --backend cpu (whole process, Fig. 4 included) | $cpu | 1.00× |"
[ -n "$torch" ] && echo "| torchvision sigmoid_focal_loss, sum (compute only) | $torch | $(echo "$torch / $cpu" | bc -l | xargs printf '%.2f')× slower |"
echo "| numpy float32, same formula (compute only) | $numpy | $(echo "$numpy / $cpu" | bc -l | xargs printf '%.2f')× slower |"
echo "| retina-tools focal --backend gpu on $adapter (whole process) | $gpu | |"
