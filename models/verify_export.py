#!/usr/bin/env python3
"""Independent check of an exported attn2-pystdlib model: re-implements the
forward pass from models/README.md in plain numpy float64 (no PyTorch; the
safetensors file is parsed by hand) and compares it with the PyTorch
references written by train_attn2.py.

    python3 models/verify_export.py [fixtures/models/attn2-pystdlib]
"""
import json
import os
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(buf[base + a : base + b], dtype="<f4").reshape(e["shape"])
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return xc / np.sqrt(var + eps) * w + b


def forward(W, tokens, cfg):
    """tokens [B, 300] int -> logits [B, 300, 256], patterns per layer [B, 8, 300, 300]."""
    W = {k: v.astype(np.float64) for k, v in W.items()}
    S = tokens.shape[1]
    pos = W["pos_embed.W_pos"][:S]
    causal = np.tril(np.ones((S, S), dtype=bool))
    resid = W["embed.W_E"][tokens]
    pats = []
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}"
        h = layer_norm(resid, W[f"{p}.ln1.w"], W[f"{p}.ln1.b"], cfg["ln_eps"])
        qk_in = h + pos
        q = np.einsum("bsm,hmc->bhsc", qk_in, W[f"{p}.attn.W_Q"]) + W[f"{p}.attn.b_Q"][:, None, :]
        k = np.einsum("btm,hmc->bhtc", qk_in, W[f"{p}.attn.W_K"]) + W[f"{p}.attn.b_K"][:, None, :]
        v = np.einsum("btm,hmc->bhtc", h, W[f"{p}.attn.W_V"]) + W[f"{p}.attn.b_V"][:, None, :]
        scores = np.einsum("bhsc,bhtc->bhst", q, k) * cfg["attn_scale"]
        scores = np.where(causal, scores, cfg["mask_fill"])
        scores = scores - scores.max(-1, keepdims=True)
        e = np.exp(scores)
        probs = e / e.sum(-1, keepdims=True)
        pats.append(probs)
        z = np.einsum("bhst,bhtc->bhsc", probs, v)
        resid = resid + np.einsum("bhsc,hcm->bsm", z, W[f"{p}.attn.W_O"]) + W[f"{p}.attn.b_O"]
    x = layer_norm(resid, W["ln_final.w"], W["ln_final.b"], cfg["ln_eps"])
    return x @ W["unembed.W_U"], pats


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "models", "attn2-pystdlib")
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch = cfg["architecture"]
    W = load_safetensors(os.path.join(d, "model.safetensors"))
    for n, s in cfg["tensors"].items():
        assert list(W[n].shape) == s, (n, W[n].shape, s)
    assert set(W) == set(cfg["tensors"])
    ds = np.load(os.path.join(d, "dataset.npy"))
    assert ds.dtype == np.uint8 and ds.shape == (4000, 301), (ds.dtype, ds.shape)
    ref = ds[:4].astype(np.int64)
    logits, pats = forward(W, ref[:, :-1], arch)
    m = logits.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))[..., 0]
    nll = lse - np.take_along_axis(logits, ref[:, 1:, None], -1)[..., 0]
    ref_logits = np.load(os.path.join(d, "reference_logits.npy"))
    ref_nll = np.load(os.path.join(d, "reference_nll.npy"))
    e_logits = np.abs(logits - ref_logits).max()
    e_nll = np.abs(nll - ref_nll).max()
    print(f"max |logits - reference| = {e_logits:.3g}   max |nll - reference| = {e_nll:.3g}   mean nll = {nll.mean():.4f}")
    ok = e_logits < 1e-5 and e_nll < 1e-9
    for l in range(arch["n_layers"]):
        rp = np.load(os.path.join(d, f"reference_attn_patterns_layer{l}.npy"))
        n = rp.shape[-1]
        e = np.abs(pats[l][0, :, :n, :n] - rp).max()
        print(f"layer {l} pattern max err {e:.3g}")
        ok &= e < 1e-6
    cand = np.load(os.path.join(d, "good_induction_candidates.npy"))
    assert cand.shape == (256,) and cand.dtype == np.uint8
    print(f"{int(cand.sum())} good induction candidates")
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
