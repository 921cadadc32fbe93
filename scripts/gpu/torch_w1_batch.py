#!/usr/bin/env python3
"""PyTorch eager W1 (attn2 forward + per-token NLL) at another batch size: the 32
sequences of the workload tiled to --batch, timed like gpu_ref.py (CUDA events, warm-up
then the median of --repeats runs, fp32 without TF32). Prints one JSON line."""
import argparse
import json
import os
import statistics
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--perf", required=True, help="folder with torch_impl.py")
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    import numpy as np
    import torch

    sys.path.insert(0, a.perf)
    import torch_impl as ti

    if not torch.cuda.is_available():
        print(json.dumps({"workload": f"attn2_b{a.batch}", "status": "error", "error": "no CUDA"}))
        return 2
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_grad_enabled(False)
    model, _ = ti.load_model(a.data, dev)
    toks = torch.from_numpy(np.load(os.path.join(a.data, "attn2", "tokens.npy"))).to(dev)
    reps = (a.batch + toks.shape[0] - 1) // toks.shape[0]
    toks = toks.repeat(reps, 1)[: a.batch]
    torch.cuda.reset_peak_memory_stats(dev)
    for _ in range(3):
        nll = model.nll(toks)
    torch.cuda.synchronize()
    ms = []
    for _ in range(a.repeats):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        nll = model.nll(toks)
        e.record()
        e.synchronize()
        ms.append(s.elapsed_time(e))
    print(json.dumps({
        "workload": f"attn2_b{a.batch}", "ms": statistics.median(ms), "min_ms": min(ms),
        "mean_nll": float(nll.double().mean()),
        "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated(dev) / 2**30, 3), "status": "ok",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
