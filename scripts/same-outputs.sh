#!/usr/bin/env bash
# Refactor check: runs two builds of retina-tools on the benchmark sets and the fixtures and
# compares every output byte for byte (stdout, --json, --arrays .npz, diagnose --json).
# Usage: scripts/same-outputs.sh OLD_BINARY NEW_BINARY   (bench-data/ made by the bench scripts)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
run() {  # name, then the arguments after the binary
  local name=$1; shift
  for b in old new; do
    local bin=$old; [ $b = new ] && bin=$new
    mkdir -p "$tmp/$b"
    "$bin" "$@" --json "$tmp/$b/$name.json" ${ARRAYS:+--arrays "$tmp/$b/$name.npz"} -q > "$tmp/$b/$name.out" 2>&1 || echo "exit $?" >> "$tmp/$b/$name.out"
  done
  if grep -q '^exit ' "$tmp/new/$name.out"; then echo "FAILED: $name: $(tail -2 "$tmp/new/$name.out" | head -1)"; bad=$((bad + 1)); fi
  for f in "$tmp"/old/"$name".*; do
    n=$((n + 1))
    if ! cmp -s "$f" "$tmp/new/$(basename "$f")"; then echo "DIFFERS: $(basename "$f")"; bad=$((bad + 1)); fi
  done
}
F=fixtures
ARRAYS=1 run coco-bbox eval $F/coco-val2014-100/fakebbox100_results.json --gt $F/coco-val2014-100/instances_val2014_100.json --per-class
for s in mixed no_cats with_boxes; do ARRAYS=1 run segm-$s eval $F/segm/${s}_dt.json --gt $F/segm/${s}_gt.json --iou-type segm; done
for s in keypoints gen; do ARRAYS=1 run kp-$s eval $F/keypoints/${s}_dt.json --gt $F/keypoints/${s}_gt.json --iou-type keypoints; done
for t in bbox segm; do ARRAYS=1 run lvis-$t eval $F/lvis-val-100/results_$t.json --gt $F/lvis-val-100/lvis_val_100.json --iou-type $t; done
[ -f bench-data/val5000/dt.json ] && ARRAYS=1 run val5000 eval bench-data/val5000/dt.json --gt bench-data/val5000/gt.json --per-class
[ -f bench-data/val5000/dt.json ] && run val5000-diagnose diagnose bench-data/val5000/dt.json --gt bench-data/val5000/gt.json
# The dense segm/keypoints sets of scripts/bench-segm-kp.py.
D=target/bench-segm-kp
[ -f $D/segm/dt.json ] && ARRAYS=1 run bench-segm eval $D/segm/dt.json --gt $D/segm/gt.json --iou-type segm
[ -f $D/segm/dt.json ] && run bench-segm-diagnose diagnose $D/segm/dt.json --gt $D/segm/gt.json --iou-type segm
[ -f $D/keypoints/dt.json ] && ARRAYS=1 run bench-kp eval $D/keypoints/dt.json --gt $D/keypoints/gt.json --iou-type keypoints
# The sparse sets of scripts/bench-eval.sh (5000 9 10) and scripts/bench-segm-kp.py.
[ -f bench-data/val5000-d10/dt.json ] && ARRAYS=1 run val5000-d10 eval bench-data/val5000-d10/dt.json --gt bench-data/val5000-d10/gt.json --per-class
S=target/bench-segm-kp
[ -f $S/segm-sparse/dt.json ] && ARRAYS=1 run segm-sparse eval $S/segm-sparse/dt.json --gt $S/segm-sparse/gt.json --iou-type segm
[ -f $S/keypoints-sparse/dt.json ] && ARRAYS=1 run kp-sparse eval $S/keypoints-sparse/dt.json --gt $S/keypoints-sparse/gt.json --iou-type keypoints
for n_ in 1000 5000; do [ -f bench-data/lvis$n_/dt.json ] && ARRAYS=1 run bench-lvis$n_ eval bench-data/lvis$n_/dt.json --gt bench-data/lvis$n_/gt.json --per-class; done
echo "$n outputs compared, $bad differ"
[ "$bad" = 0 ]
