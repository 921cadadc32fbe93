#!/usr/bin/env bash
# Same-run comparison of the circuit evaluator and PyTorch eager on the shared perf
# workloads: W1 and W3 (time and peak-memory ratios), W2 (time against torch.einsum,
# against a precomputed opt_einsum path on torch, and against the compute bound at this
# machine's measured float32 matmul peak).
#
# Usage: benches/compare.sh [PYTHON_WITH_TORCH]
#   CIRCUIT_PERF_DATA  workload data (default .scratch/perfdata; made with shared/perf/workloads.py if absent)
#   SHARED_PERF        shared/perf folder (default ../shared/perf)
#   W3_BATCHES         W3 batches of 32 to time (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
DATA=${CIRCUIT_PERF_DATA:-.scratch/perfdata}
export SHARED_PERF=${SHARED_PERF:-../shared/perf}
export W3_BATCHES=${W3_BATCHES:-4}
[ -f "$DATA/attn2/tokens.npy" ] || "$PY" "$SHARED_PERF/workloads.py" --data "$DATA"
cargo bench -q -p circuit-models --bench models --no-run 2>/dev/null
BENCH=$(ls -t target/release/deps/models-* | grep -v '\.d$' | head -1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Runs a command, prints its stdout to $TMP/out and its peak RSS in MB.
peak() { /usr/bin/time -f '%M' -o "$TMP/rss" "$@" > "$TMP/out" 2>/dev/null; echo $(( $(cat "$TMP/rss") / 1024 )); }
num() { grep -o "$1 [0-9.]*" "$TMP/out" | head -1 | awk '{print $NF}'; }

rss_t=$(peak "$PY" scripts/perf/w1_torch.py "$DATA"); t_t=$(num 'eager median')
rss_o=$(peak env CIRCUIT_PERF_DATA="$DATA" CIRCUIT_MAX_MEMORY=1000000000 "$BENCH" w1); t_o=$(num 'run median')
printf 'W1  ours %6.2f s %6d MB | torch %6.2f s %6d MB | time ratio %.2f, memory ratio %.2f\n' \
  "$t_o" "$rss_o" "$t_t" "$rss_t" "$(echo "$t_o / $t_t" | bc -l)" "$(echo "$rss_o / $rss_t" | bc -l)"

rss_t=$(peak "$PY" scripts/perf/w3_torch.py "$DATA" "$W3_BATCHES" "$TMP/w3_torch.npy"); t_t=$(num '=')
rss_o=$(peak env CIRCUIT_PERF_DATA="$DATA" CIRCUIT_MAX_MEMORY=1000000000 W3_TORCH="$TMP/w3_torch.npy" "$BENCH" w3); t_o=$(num 'median')
printf 'W3  ours %6.2f s %6d MB | torch %6.2f s %6d MB per batch of 32 | time ratio %.2f, memory ratio %.2f\n' \
  "$t_o" "$rss_o" "$t_t" "$rss_t" "$(echo "$t_o / $t_t" | bc -l)" "$(echo "$rss_o / $rss_t" | bc -l)"
grep -o 'max rel. diff vs PyTorch [0-9.e-]*' "$TMP/out" || true

cargo bench -q -p circuit-eval --bench eval_cpu --no-run 2>/dev/null
EBENCH=$(ls -t target/release/deps/eval_cpu-* | grep -v '\.d$' | head -1)
"$PY" scripts/perf/w2_torch.py "$DATA" > "$TMP/w2_torch"
CIRCUIT_PERF_DATA="$DATA" "$EBENCH" w2 > "$TMP/w2_ours"
python3 - "$TMP/w2_torch" "$TMP/w2_ours" <<'PY'
import re, sys
torch, ours = open(sys.argv[1]).read(), open(sys.argv[2]).read()
peak = float(re.search(r"matmul 4096\^3 median ([\d.]+)", torch).group(1))
print("W2  matmul peak (torch, same run) %.1f GFLOP/s" % peak)
for m in re.finditer(r"w2 (\S+)\s+median\s+([\d.]+) ms, best\s+([\d.]+) ms.*?; ([\d.]+) GFLOP", ours):
    name, med, best, gflop = m.group(1), float(m.group(2)), float(m.group(3)), float(m.group(4))
    t = re.search(name + r" torch.einsum median ([\d.]+) ms.*?(?:precomputed path median ([\d.]+) ms.*)?$", torch, re.M)
    te, tp = float(t.group(1)), float(t.group(2) or "nan")
    bound = gflop / peak * 1e3
    print("W2  %-15s ours %6.2f ms (best %6.2f) | torch.einsum %6.2f ms, precomputed path %6.2f ms | "
          "ratio %.2f / %.2f | compute bound %.2f ms: %.2fx" % (name, med, best, te, tp, med / te, med / tp, bound, med / bound))
PY
