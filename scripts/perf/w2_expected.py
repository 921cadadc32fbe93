# Float64 references for the W2 einsums (numpy, optimized path), written next to the data as
# expected_<name>_f64.npy for tests/bench_fixtures.rs. Usage: python w2_expected.py DATA_DIR
import json, os, sys
import numpy as np
d = os.path.join(sys.argv[1], "einsum_chain")
spec = json.load(open(os.path.join(d, "workload.json")))
for e in spec["einsums"]:
    ops = [np.load(os.path.join(d, o + ".npy")).astype(np.float64) for o in e["operands"]]
    out = np.einsum(e["equation"], *ops, optimize="optimal" if len(ops) <= 7 else "greedy")
    np.save(os.path.join(d, "expected_%s_f64.npy" % e["name"]), out)
    print(e["name"], out.shape)
