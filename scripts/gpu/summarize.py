#!/usr/bin/env python3
"""Ratios of the CUDA backend (bench.jsonl from the `cuda` bench) to PyTorch eager
(gpu_ref.jsonl from gpu_ref.py + torch_w1_batch.py), both measured in one session, and
the fraction of the H100's fp32 peak (67 TFLOP/s, SXM datasheet, no tensor cores)."""
import json
import sys

PEAK_TFLOPS = 67.0


def load(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    if "workload" in d:
                        out[d["workload"]] = d
    except OSError as e:
        print(f"cannot read {path}: {e}")
    return out


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def main():
    ours, torch = load(sys.argv[1]), load(sys.argv[2])
    print("workload            ours (ms)   torch eager (ms)   ratio   notes")
    for w in ("attn2", "attn2_b256"):
        o, t = ours.get(w, {}), torch.get(w, {})
        om, tm = o.get("ms"), t.get("ms")
        note = f"{o.get('tflops', 0):.1f} TFLOP/s = {100 * o.get('tflops', 0) / PEAK_TFLOPS:.0f}% of fp32 peak; err vs f64 {o.get('max_abs_err_vs_f64')}"
        print(f"W1 {w:<16} {om or float('nan'):>9.3f}   {tm or float('nan'):>16.3f}   {ratio(om, tm):>6}   {note}")
    o = ours.get("einsum_chain", {}).get("einsums", {})
    t = torch.get("einsum_chain", {}).get("einsums", {})
    for name in ("chain5_batched", "kcomp7", "kcomp8_batched"):
        om = o.get(name, {}).get("ms")
        te = t.get(name, {}).get("torch.einsum", {}).get("ms")
        tp = t.get(name, {}).get("oe.contract_expression(torch)", {}).get("ms")
        print(f"W2 {name:<16} {om or float('nan'):>9.3f}   {te or float('nan'):>16.3f}   {ratio(om, te):>6}   vs precomputed path {ratio(om, tp)}; err {o.get(name, {}).get('max_err_over_max_ref')}")
    o, t = ours.get("sampled_scrub", {}), torch.get("sampled_scrub", {})
    om, tm = o.get("wall_ms_2048_samples"), t.get("ms")
    print(f"W3 sampled_scrub     {om or float('nan'):>9.1f}   {tm or float('nan'):>16.1f}   {ratio(om, tm):>6}   wall time x64 batches (GPU only {o.get('gpu_ms_2048_samples')} ms); one plan, tokens swapped in {o.get('host_ms_per_batch')} ms per batch, built+compiled once in {o.get('build_and_compile_ms')} ms; err {o.get('max_rel_err_vs_f64')}")


if __name__ == "__main__":
    main()
