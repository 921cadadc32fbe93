#!/usr/bin/env python3
"""Writes the tiny model fixtures of circuit-models' oracle tests (numpy only).

    python3 crates/models/tests/data/make_tiny.py

Two random models (d_model 16, 2 heads of 8, vocab 11, 7 positions, 2 layers), each a
folder with the weights, a config, token sequences and float64 numpy references
computed by an independent implementation of the math below:

* tiny_attn2/  attention-only, the W1 / bundled-model family: pre-norm LayerNorm, shortformer
  positions (pos[s] added to the LayerNorm output feeding q and k, not v), attention
  biases, scores * 1/sqrt(d_head), masked scores set to -10000, final LayerNorm,
  untied unembedding. Weights in TransformerLens names (as the bundled model):
  model.safetensors, config.json in the bundled model's format.
* tiny_gpt2/   GPT-2: GPT positions (added to the token embedding), attention + gelu_new
  MLP blocks with biases, final LayerNorm, unembedding tied to wte. Weights in Hugging
  Face GPT-2 names and Conv1D layout (x @ W): model.safetensors, config.json (HF).

Each folder also has tokens.npy int64 [3, 8] and reference_logits.npy [3, 7, 11],
reference_nll.npy [3, 7], reference_probs.npy [2 layers, 3, 2 heads, 7, 7] (float64).
Weights are float32; references use them cast to float64.
"""
import json
import math
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
V, M, H, C, S, L, P = 11, 16, 2, 8, 7, 2, 64
EPS = 1e-5


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return xc / np.sqrt(var + EPS) * w + b


def attention(x_qk, x_v, wq, bq, wk, bk, wv, bv, wo, bo):
    """x_*: [B, S, M]; wq/wk/wv [H, M, C] (x @ W per head), wo [H, C, M]."""
    q = np.einsum("bsm,hmc->bhsc", x_qk, wq) + bq[None, :, None, :]
    k = np.einsum("bsm,hmc->bhsc", x_qk, wk) + bk[None, :, None, :]
    v = np.einsum("bsm,hmc->bhsc", x_v, wv) + bv[None, :, None, :]
    s = np.einsum("bhqc,bhkc->bhqk", q, k) / math.sqrt(C)
    n = s.shape[-1]
    causal = np.tril(np.ones((n, n), dtype=bool))
    s = np.where(causal, s, -10000.0)
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(-1, keepdims=True)
    z = np.einsum("bhqk,bhkc->bhqc", p, v)
    return np.einsum("bhqc,hcm->bqm", z, wo) + bo, p


def nll(logits, targets):
    mx = logits.max(-1, keepdims=True)
    lse = np.log(np.exp(logits - mx).sum(-1)) + mx[..., 0]
    return lse - np.take_along_axis(logits, targets[..., None], -1)[..., 0]


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def save_refs(out, toks, logits, pats):
    np.save(os.path.join(out, "tokens.npy"), toks)
    np.save(os.path.join(out, "reference_logits.npy"), logits)
    np.save(os.path.join(out, "reference_nll.npy"), nll(logits, toks[:, 1:]))
    np.save(os.path.join(out, "reference_probs.npy"), np.stack(pats))


def attn_only(rng):
    P32 = {
        "embed.W_E": rng.normal(0, 0.5, (V, M)),
        "pos_embed.W_pos": rng.normal(0, 0.5, (S, M)),
        "ln_final.w": 1 + rng.normal(0, 0.1, M),
        "ln_final.b": rng.normal(0, 0.1, M),
        "unembed.W_U": rng.normal(0, 0.25, (M, V)),
    }
    for l in range(L):
        b = f"blocks.{l}"
        P32[f"{b}.ln1.w"] = 1 + rng.normal(0, 0.1, M)
        P32[f"{b}.ln1.b"] = rng.normal(0, 0.1, M)
        for n in "QKV":
            P32[f"{b}.attn.W_{n}"] = rng.normal(0, 0.5, (H, M, C))
            P32[f"{b}.attn.b_{n}"] = rng.normal(0, 0.1, (H, C))
        P32[f"{b}.attn.W_O"] = rng.normal(0, 0.25, (H, C, M))
        P32[f"{b}.attn.b_O"] = rng.normal(0, 0.1, M)
    P32 = {k: v.astype(np.float32) for k, v in P32.items()}
    Pd = {k: v.astype(np.float64) for k, v in P32.items()}
    toks = rng.integers(0, V, (3, S + 1)).astype(np.int64)
    x = toks[:, :-1]
    resid = Pd["embed.W_E"][x]
    pos = Pd["pos_embed.W_pos"][: x.shape[1]]
    pats = []
    for l in range(L):
        b = f"blocks.{l}"
        h = layer_norm(resid, Pd[f"{b}.ln1.w"], Pd[f"{b}.ln1.b"])
        a = [Pd[f"{b}.attn.{n}"] for n in ("W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O")]
        out, p = attention(h + pos, h, *a)
        pats.append(p)
        resid = resid + out
    logits = layer_norm(resid, Pd["ln_final.w"], Pd["ln_final.b"]) @ Pd["unembed.W_U"]
    out = os.path.join(HERE, "tiny_attn2")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), P32)
    cfg = {"name": "tiny-attn2", "architecture": {"vocab": V, "d_model": M, "n_heads": H, "d_head": C,
           "n_layers": L, "seq_len": S, "ln_eps": EPS, "mask_fill": -10000.0,
           "attn_scale": 1 / math.sqrt(C), "pos_enc": "shortformer"}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    save_refs(out, toks, logits, pats)


def gpt2(rng):
    P32 = {"wte.weight": rng.normal(0, 0.5, (V, M)), "wpe.weight": rng.normal(0, 0.3, (S, M)),
           "ln_f.weight": 1 + rng.normal(0, 0.1, M), "ln_f.bias": rng.normal(0, 0.1, M)}
    for l in range(L):
        b = f"h.{l}"
        P32[f"{b}.ln_1.weight"] = 1 + rng.normal(0, 0.1, M)
        P32[f"{b}.ln_1.bias"] = rng.normal(0, 0.1, M)
        P32[f"{b}.attn.c_attn.weight"] = rng.normal(0, 0.5, (M, 3 * M))
        P32[f"{b}.attn.c_attn.bias"] = rng.normal(0, 0.1, 3 * M)
        P32[f"{b}.attn.c_proj.weight"] = rng.normal(0, 0.25, (M, M))
        P32[f"{b}.attn.c_proj.bias"] = rng.normal(0, 0.1, M)
        P32[f"{b}.ln_2.weight"] = 1 + rng.normal(0, 0.1, M)
        P32[f"{b}.ln_2.bias"] = rng.normal(0, 0.1, M)
        P32[f"{b}.mlp.c_fc.weight"] = rng.normal(0, 0.25, (M, P))
        P32[f"{b}.mlp.c_fc.bias"] = rng.normal(0, 0.1, P)
        P32[f"{b}.mlp.c_proj.weight"] = rng.normal(0, 0.125, (P, M))
        P32[f"{b}.mlp.c_proj.bias"] = rng.normal(0, 0.1, M)
        # the causal-mask buffer some GPT-2 checkpoints carry: must be ignored
        P32[f"{b}.attn.bias"] = np.tril(np.ones((S, S)))[None, None]
    P32 = {k: v.astype(np.float32) for k, v in P32.items()}
    Pd = {k: v.astype(np.float64) for k, v in P32.items()}
    toks = rng.integers(0, V, (3, S + 1)).astype(np.int64)
    x = toks[:, :-1]
    resid = Pd["wte.weight"][x] + Pd["wpe.weight"][: x.shape[1]]
    pats = []
    for l in range(L):
        b = f"h.{l}"
        h = layer_norm(resid, Pd[f"{b}.ln_1.weight"], Pd[f"{b}.ln_1.bias"])
        W, B = Pd[f"{b}.attn.c_attn.weight"], Pd[f"{b}.attn.c_attn.bias"]
        heads = lambda w: w.reshape(M, H, C).transpose(1, 0, 2)  # [M, H*C] -> [H, M, C]
        wq, wk, wv = (heads(W[:, j * M:(j + 1) * M]) for j in range(3))
        bq, bk, bv = (B[j * M:(j + 1) * M].reshape(H, C) for j in range(3))
        wo = Pd[f"{b}.attn.c_proj.weight"].reshape(H, C, M)
        out, p = attention(h, h, wq, bq, wk, bk, wv, bv, wo, Pd[f"{b}.attn.c_proj.bias"])
        pats.append(p)
        resid = resid + out
        h2 = layer_norm(resid, Pd[f"{b}.ln_2.weight"], Pd[f"{b}.ln_2.bias"])
        mid = gelu_new(h2 @ Pd[f"{b}.mlp.c_fc.weight"] + Pd[f"{b}.mlp.c_fc.bias"])
        resid = resid + mid @ Pd[f"{b}.mlp.c_proj.weight"] + Pd[f"{b}.mlp.c_proj.bias"]
    logits = layer_norm(resid, Pd["ln_f.weight"], Pd["ln_f.bias"]) @ Pd["wte.weight"].T
    out = os.path.join(HERE, "tiny_gpt2")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), P32)
    cfg = {"model_type": "gpt2", "n_embd": M, "n_head": H, "n_layer": L, "vocab_size": V,
           "n_positions": S, "layer_norm_epsilon": EPS, "activation_function": "gelu_new", "n_inner": P}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    save_refs(out, toks, logits, pats)


if __name__ == "__main__":
    rng = np.random.default_rng(20251125)
    attn_only(rng)
    gpt2(rng)
    print("wrote", os.path.join(HERE, "tiny_attn2"), os.path.join(HERE, "tiny_gpt2"))
