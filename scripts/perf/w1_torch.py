# PyTorch eager timing of perf workload W1 (shared/perf torch_impl), for same-run ratios with
# `cargo bench -p circuit-models --bench models -- w1`. Usage: python w1_torch.py DATA_DIR
import os, sys, time, torch, numpy as np
sys.path.insert(0, os.environ.get('SHARED_PERF', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/perf')))
import torch_impl as ti
torch.set_num_threads(2)
data = sys.argv[1]
model = ti.load_model(data, "cpu")[0]
toks = torch.from_numpy(np.load(data + '/attn2/tokens.npy')).long()
with torch.no_grad():
    model.nll(toks)
    ts = []
    for _ in range(3):
        t = time.perf_counter(); out = model.nll(toks); ts.append(time.perf_counter() - t)
print("torch", torch.__version__, "W1 eager median %.2f s" % sorted(ts)[1], [round(x, 2) for x in ts])
