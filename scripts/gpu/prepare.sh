#!/usr/bin/env bash
# Builds everything the GPU check needs (here, where Rust is) into device/ (git-ignored),
# for scripts/gpu/check.sh to run on the GPU machine, which has no Rust toolchain:
#
#   scripts/gpu/prepare.sh            # from the repository root; a few minutes
#   (device tool) run: bash scripts/gpu/check.sh   carry: ["device"]   timeout_s: 540
#
# device/bin/   stripped release binaries: the circuit-cuda unit tests (unit), the
#               CPU-vs-GPU tests (backend), the NVRTC check (nvrtc), the benchmarks
#               (bench), the circ CLI (circ) and the bench-circuit writer (bench_circuits)
# device/perf/  the perf workloads' Python (workloads.py, gpu_ref.py, torch_impl.py and
#               results_cpu.json from ../shared/perf, which does not travel)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target-cuda}
SHARED=${SHARED_PERF:-$PWD/../shared/perf}
rm -rf device/bin device/perf
mkdir -p device/bin device/perf

# Executable paths from cargo's JSON messages (test binaries have hashed names).
exe() { # cargo args... ; prints "<target name> <kind> <path>" per executable
  cargo "$@" --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        t = m["target"]
        print(t["name"], t["kind"][0], m["executable"])
'
}

echo "building circuit-cuda tests and bench (release)..."
exe test -p circuit-cuda --release --no-run | while read -r name kind path; do
  case "$kind:$name" in
    lib:*) cp "$path" device/bin/unit ;;
    test:backend) cp "$path" device/bin/backend ;;
    test:nvrtc) cp "$path" device/bin/nvrtc ;;
  esac
done
exe bench -p circuit-cuda --no-run | while read -r name kind path; do
  [ "$kind:$name" = "bench:cuda" ] && cp "$path" device/bin/bench
done
echo "building circ and bench_circuits (release)..."
exe build -p circuit-cli --release --bin circ | while read -r name kind path; do
  [ "$name" = circ ] && cp "$path" device/bin/circ
done
exe build -p circuit --release --example bench_circuits | while read -r name kind path; do
  [ "$name" = bench_circuits ] && cp "$path" device/bin/bench_circuits
done
for f in device/bin/*; do
  strip --strip-debug "$f" 2>/dev/null || true
done
for f in workloads.py gpu_ref.py torch_impl.py results_cpu.json; do
  [ -f "$SHARED/$f" ] && cp "$SHARED/$f" device/perf/
done
ls -la device/bin device/perf
du -sh device
missing=0
for b in unit backend nvrtc bench circ bench_circuits; do
  [ -x device/bin/$b ] || { echo "MISSING device/bin/$b"; missing=1; }
done
exit $missing
