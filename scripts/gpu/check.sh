#!/usr/bin/env bash
# The GPU check of circuit-cuda, run on the device machine from the repository root
# with device/ (made by scripts/gpu/prepare.sh) carried along. Needs no Rust.
#
#   (device tool) run: bash scripts/gpu/check.sh   carry: ["device"]   timeout_s: 540
#
# Steps, each with its own time limit so one hang cannot eat the lease:
#   1. find libcuda / libnvrtc / libcublas, print the GPU
#   2. host-logic unit tests (device/bin/unit)
#   3. every backend test on the GPU against the CPU backend (device/bin/backend)
#   4. every kernel source (catalog + those the tests compiled) through the device's
#      NVRTC and ptxas (device/bin/nvrtc)
#   5. circ bench/eval --device cuda on the W1/W2 circuit files
#   6. benchmarks W2, W1 (batch 32 and 256), W3 (8 batches) -> bench.jsonl
#   7. PyTorch eager on the same data in the same session (gpu_ref.py, W1 at batch 256)
#      -> gpu_ref.jsonl, then the ratios (summarize.py)
#   8. compute-sanitizer memcheck over the kernel tests (if time is left)
# Results in $OUT (at most 8 files come back): summary.txt (read first), tests.log,
# bench.jsonl, gpu_ref.jsonl, bench.log, sanitizer.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/circuit-gpu-check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
D=device
SUM=$OUT/summary.txt
: > "$SUM"
say() { echo "$*" | tee -a "$SUM"; }
# step NAME TIMEOUT LOG CMD...: runs CMD with its output appended to LOG, records the exit code.
step() {
  local name=$1 t=$2 log=$3; shift 3
  local s=$SECONDS
  echo "### $name: $*" >> "$log"
  timeout "$t" "$@" >> "$log" 2>&1
  local rc=$?
  say "[$name] exit $rc in $((SECONDS - s)) s"
  return $rc
}
START=$SECONDS

# 1. Libraries and GPU.
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true) | tee -a "$SUM"
dirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64; do
  [ -d "$d" ] && dirs="$dirs:$d"
done
for f in $(find /usr /opt -name 'libnvrtc.so.1[0-9]' -o -name 'libcublas.so.1[0-9]' 2>/dev/null | head -20); do
  case ":$dirs:" in *":$(dirname "$f"):"*) ;; *) dirs="$dirs:$(dirname "$f")" ;; esac
done
export LD_LIBRARY_PATH="${dirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
NVRTC=$(find /usr/local/cuda/lib64 /usr/local/cuda/targets /usr /opt -name 'libnvrtc.so.13' 2>/dev/null | head -1)
[ -z "$NVRTC" ] && NVRTC=$(find /usr /opt -name 'libnvrtc.so.1[0-9]' 2>/dev/null | head -1)
PTXAS=$(command -v ptxas || ls /usr/local/cuda/bin/ptxas 2>/dev/null || true)
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
say "NVRTC=$NVRTC PTXAS=$PTXAS"
chmod +x $D/bin/* 2>/dev/null

# 2-4. Tests.
T=$OUT/tests.log
: > "$T"
step unit 60 "$T" $D/bin/unit --test-threads=8
SRC=/tmp/circuit-cuda-sources
rm -rf "$SRC"
CIRCUIT_CUDA_SOURCES_DIR=$SRC step backend 180 "$T" $D/bin/backend --test-threads=8
grep -E "test result|panicked|FAILED|^failures|^    [a-z_]+::" "$T" | head -40 | tee -a "$SUM"
say "SKIPPED lines: $(grep -c SKIPPED "$T")"
if [ -n "$NVRTC" ]; then
  CIRCUIT_NVRTC=$NVRTC CIRCUIT_PTXAS=$PTXAS CIRCUIT_CUDA_SOURCES_DIR=$SRC \
    step nvrtc 150 "$T" $D/bin/nvrtc --nocapture
  grep -E "^NVRTC|failed:" "$T" | tail -3 | tee -a "$SUM"
fi

# 5-6. Data, circ --device cuda, benchmarks.
B=$OUT/bench.log
: > "$B"
DATA=/tmp/perfdata
step workloads 90 "$B" $PY $D/perf/workloads.py --data $DATA
STORE=/tmp/perf-store CIRCS=/tmp/bench-circs
mkdir -p $CIRCS
step bench_circuits 120 "$B" $D/bin/bench_circuits $DATA $STORE $CIRCS
for f in w2_kcomp7 w1_attn2; do
  CIRCUIT_TENSOR_DIR=$STORE step "circ bench --device cuda $f" 120 "$B" \
    $D/bin/circ bench $CIRCS/$f.circ --device cuda --repeat 10
done
grep -E "^(file|device|median|device time|throughput|bandwidth|device peak):" "$B" | tee -a "$SUM"
CIRCUIT_TENSOR_DIR=$STORE step "circ eval --device cuda" 120 "$B" $D/bin/circ eval $CIRCS/w2_kcomp7.circ --device cuda --out /tmp/w2_cuda.npy
CIRCUIT_TENSOR_DIR=$STORE step "circ eval --device cpu" 120 "$B" $D/bin/circ eval $CIRCS/w2_kcomp7.circ --out /tmp/w2_cpu.npy
$PY -c "import numpy as n; a=n.load('/tmp/w2_cuda.npy'); b=n.load('/tmp/w2_cpu.npy'); print('circ eval kcomp7 --device cuda vs cpu: max |diff| / max |cpu| =', float(abs(a-b).max()/abs(b).max()))" 2>&1 | tee -a "$SUM"
CIRCUIT_PERF_DATA=$DATA W3_BATCHES=8 timeout 240 $D/bin/bench w2 w1 w1b256 w3 > "$OUT/bench.jsonl" 2>> "$B"
say "[bench] exit $?"
grep -E "^(W1|W2|W3|device|SKIPPED)" "$B" | tee -a "$SUM"

# 7. PyTorch eager, same session.
PYTHONUNBUFFERED=1 timeout 240 $PY $D/perf/gpu_ref.py --data $DATA --repeats 20 > "$OUT/gpu_ref.jsonl" 2>> "$B"
say "[gpu_ref] exit $?"
PYTHONUNBUFFERED=1 timeout 120 $PY scripts/gpu/torch_w1_batch.py --perf $D/perf --data $DATA --batch 256 >> "$OUT/gpu_ref.jsonl" 2>> "$B"
say "[torch W1 batch 256] exit $?"
$PY scripts/gpu/summarize.py "$OUT/bench.jsonl" "$OUT/gpu_ref.jsonl" 2>&1 | tee -a "$SUM"

# 8. Memory checking of the kernels, if time is left (the lease is short).
if [ $((SECONDS - START)) -lt 330 ] && command -v compute-sanitizer > /dev/null; then
  step sanitizer 100 "$OUT/sanitizer.log" compute-sanitizer --tool memcheck --error-exitcode 9 \
    $D/bin/backend --test-threads=1 kinds::
  grep -E "ERROR SUMMARY|test result" "$OUT/sanitizer.log" | tail -3 | tee -a "$SUM"
fi
say "total $((SECONDS - START)) s"
