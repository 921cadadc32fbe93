# PyTorch timing of perf workload W2 (the three einsum chains) and of a 4096^3 float32
# matmul (the machine's practical GEMM peak, for the compute bound), for same-run ratios
# with `cargo bench -p circuit-eval --bench eval_cpu -- w2`.
# Usage: python w2_torch.py DATA_DIR   (torch; opt_einsum optional for the precomputed path)
import json, os, sys, time
import numpy as np
import torch

torch.set_num_threads(2)
d = os.path.join(sys.argv[1], "einsum_chain")
spec = json.load(open(os.path.join(d, "workload.json")))


def timed(f, runs):
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2], ts[0]


a = torch.randn(4096, 4096)
b = torch.randn(4096, 4096)
med, best = timed(lambda: torch.mm(a, b), 7)
print("matmul 4096^3 median %.1f GFLOP/s best %.1f GFLOP/s" % (2 * 4096**3 / med / 1e9, 2 * 4096**3 / best / 1e9))
try:
    import opt_einsum as oe
except ImportError:
    oe = None
with torch.no_grad():
    for e in spec["einsums"]:
        ops = [torch.from_numpy(np.load(os.path.join(d, o + ".npy"))) for o in e["operands"]]
        med, best = timed(lambda: torch.einsum(e["equation"], *ops), 20)
        line = "%s torch.einsum median %.2f ms best %.2f ms" % (e["name"], med * 1e3, best * 1e3)
        if oe is not None:
            expr = oe.contract_expression(e["equation"], *[o.shape for o in ops], optimize="dp")
            med, best = timed(lambda: expr(*ops, backend="torch"), 20)
            line += " | precomputed path median %.2f ms best %.2f ms" % (med * 1e3, best * 1e3)
        print(line)
