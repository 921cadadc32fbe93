# PyTorch eager timing of perf workload W3 (first N batches of 32), writing its per-sample
# losses for `W3_TORCH=OUT.npy W3_BATCHES=N cargo bench -p circuit-models --bench models -- w3`.
# Usage: python w3_torch.py DATA_DIR N OUT.npy
import os, sys, time, torch, numpy as np
sys.path.insert(0, os.environ.get('SHARED_PERF', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/perf')))
import torch_impl as ti
torch.set_num_threads(2)
data, nb, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
model = ti.load_model(data, "cpu")[0]
d = data + '/sampled_scrub/'
ds = torch.from_numpy(np.load(d + 'dataset.npy').astype(np.int64))
ia = torch.from_numpy(np.load(d + 'idx_a.npy').astype(np.int64))
ib = torch.from_numpy(np.load(d + 'idx_b.npy').astype(np.int64))
with torch.no_grad():
    ti.scrub_eval(model, ds, ia, ib, 32, n_batches=1)
    t = time.perf_counter()
    res = ti.scrub_eval(model, ds, ia, ib, 32, n_batches=nb)
    dt = time.perf_counter() - t
np.save(out, res.numpy().astype(np.float64))
print("torch %s W3 eager: %d batches of 32 in %.2f s = %.2f s per batch" % (torch.__version__, nb, dt, dt / nb))
