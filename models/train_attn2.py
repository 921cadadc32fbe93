#!/usr/bin/env python3
"""Train and export the bundled 2-layer attention-only byte-level model
("attn2-pystdlib") used by the induction-heads causal-scrubbing replication.

Run once by hand (not in CI); see models/README.md for the exact commands,
the architecture math and the exported files.

    python models/train_attn2.py train  --workdir /tmp/attn2-work
    python models/train_attn2.py export --workdir /tmp/attn2-work \
        --out fixtures/models/attn2-pystdlib

`train` writes a checkpoint (ckpt.pt) and a log into --workdir; `export`
loads the checkpoint and writes every artefact. `all` does both.

The architecture is the one of the perf workload W1 (shared/perf/specs/attn2.json,
rust_circuit's attention_only_2) with a 256-token byte vocabulary.
"""
import argparse
import hashlib
import json
import math
import os
import platform
import sys
import sysconfig
import time

import numpy as np
import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------
# Configuration (everything that determines the result lives here)
# ----------------------------------------------------------------------------
CFG = dict(
    vocab=256,
    d_model=256,
    n_heads=8,
    d_head=32,
    n_layers=2,
    seq_len=300,  # model input length; sequences are seq_len + 1 tokens
    tokens_per_sequence=301,
    ln_eps=1e-5,
    mask_fill=-10000.0,
    attn_scale=1.0 / math.sqrt(32),
    pos_enc="shortformer",
)
TRAIN = dict(
    seed=20251122,
    steps=6000,
    batch=8,
    lr=2e-3,
    min_lr_frac=0.1,
    warmup=200,
    betas=(0.9, 0.95),
    weight_decay=0.1,
    grad_clip=1.0,
    init_std=0.02,  # W_E, W_O (W_O additionally / sqrt(2 * n_layers)), W_U
    qkv_init_std=1.0 / math.sqrt(256),  # W_Q, W_K, W_V
    # W_pos starts as the sinusoidal encoding of Vaswani et al. (entries in
    # [-1, 1]) and is then learned. It is added to a LayerNorm output (entries
    # ~1), not to the residual stream, so it needs that scale to matter for q/k;
    # with a normal(0, 0.02) or normal(0, 0.5) start no previous-token head had
    # formed after 750 / 250 steps.
    pos_init="sinusoidal",
    eval_every=250,
    eval_batches=4,  # x batch sequences of held-out data per evaluation
)
SPLIT = dict(
    rule="held-out iff int(sha256(relpath)[:8], 16) % 100 < 6",
    modulus=100,
    threshold=6,
)
EXPORT = dict(
    n_dataset=4000,
    n_train_loss=1000,
    n_reference=4,
    pattern_positions=100,  # reference attention patterns: sequence 0, first N query/key positions
    rep_half=150,  # repeated random sequences: R (150) + R (150) + 1 extra token = 301
    n_rep=256,
    rep_seed=1234,
    n_prev_seqs=256,
    cand_seed=4321,
    cand_windows=2000,
    cand_min_count=20,
    cand_threshold=0.75,  # nats of mean loss reduction on the second copy
    thresholds=dict(previous_token=0.4, induction=0.1, duplicate=0.1),
)
PARAM_ORDER = None  # filled by param_shapes()

# One intra-op thread: on the shared 2-core machine this was trained on (load
# average ~10 from concurrent compiles) two OpenMP threads spent ~3x the CPU time
# per step spinning and ran ~2x slower in wall time than one. --threads overrides.
torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def param_shapes(cfg=CFG):
    V, M, H, C, S = cfg["vocab"], cfg["d_model"], cfg["n_heads"], cfg["d_head"], cfg["seq_len"]
    shapes = {"embed.W_E": (V, M), "pos_embed.W_pos": (S, M)}
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}"
        shapes[f"{p}.ln1.w"] = (M,)
        shapes[f"{p}.ln1.b"] = (M,)
        for n in "QKV":
            shapes[f"{p}.attn.W_{n}"] = (H, M, C)
            shapes[f"{p}.attn.b_{n}"] = (H, C)
        shapes[f"{p}.attn.W_O"] = (H, C, M)
        shapes[f"{p}.attn.b_O"] = (M,)
    shapes["ln_final.w"] = (M,)
    shapes["ln_final.b"] = (M,)
    shapes["unembed.W_U"] = (M, V)
    return shapes


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------
def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    rels = []
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.abspath(dirpath) == os.path.abspath(root):
            # third-party packages are not the standard library
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "dist-packages")]
        for f in filenames:
            if f.endswith(".py"):
                rels.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    rels.sort()
    return root, rels


def is_heldout(rel):
    return int(hashlib.sha256(rel.encode("utf-8")).hexdigest()[:8], 16) % SPLIT["modulus"] < SPLIT["threshold"]


def load_data():
    root, rels = stdlib_files()
    train_parts, held_parts, held_files = [], [], []
    for rel in rels:
        with open(os.path.join(root, rel), "rb") as f:
            b = f.read()
        if is_heldout(rel):
            held_parts.append(b)
            held_files.append(rel)
        else:
            train_parts.append(b)
    train = np.frombuffer(b"".join(train_parts), dtype=np.uint8)
    held = np.frombuffer(b"".join(held_parts), dtype=np.uint8)
    info = dict(
        source="CPython standard library *.py sources (site-packages excluded), "
        "sorted by relative path, raw file bytes concatenated with no separator",
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        stdlib_path=root,
        n_files=len(rels),
        n_train_files=len(rels) - len(held_files),
        n_heldout_files=len(held_files),
        total_bytes=int(train.size + held.size),
        train_bytes=int(train.size),
        heldout_bytes=int(held.size),
        train_sha256=hashlib.sha256(train.tobytes()).hexdigest(),
        heldout_sha256=hashlib.sha256(held.tobytes()).hexdigest(),
        split=SPLIT["rule"],
        heldout_files=held_files,
    )
    return train, held, info


def heldout_windows(held, n, T):
    """Deterministic, non-overlapping (if the held-out text is long enough)
    windows: window k starts at floor(k * (len - T) / (n - 1))."""
    L = held.size
    starts = (np.arange(n, dtype=np.int64) * (L - T)) // (n - 1)
    return np.stack([held[s : s + T] for s in starts]), starts


# ----------------------------------------------------------------------------
# Model (same math for training in float32 and references in float64)
# ----------------------------------------------------------------------------
def init_params(gen, cfg=CFG, std=TRAIN["init_std"]):
    P = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith(".w"):
            t = torch.ones(shape)
        elif name.endswith(".b") or ".b_" in name:
            t = torch.zeros(shape)
        else:
            s = std
            if name.endswith("W_O"):
                s = std / math.sqrt(2 * cfg["n_layers"])
            if name.endswith(("W_Q", "W_K", "W_V")):
                s = TRAIN["qkv_init_std"]
            t = torch.randn(shape, generator=gen) * s
            if name == "pos_embed.W_pos":
                pos = torch.arange(shape[0], dtype=torch.float64)[:, None]
                freq = 10000.0 ** (-torch.arange(0, shape[1], 2, dtype=torch.float64) / shape[1])
                t = torch.zeros(shape, dtype=torch.float64)
                t[:, 0::2] = torch.sin(pos * freq)
                t[:, 1::2] = torch.cos(pos * freq)
                t = t.float()
        P[name] = t
    return P


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdim=True)  # biased variance
    return xc * torch.rsqrt(var + eps) * w + b


def attention(P, l, resid, pos, cfg=CFG, return_pattern=False, fast=False, ablate=()):
    """One attention layer's output (to be added to the residual stream).
    fast=True (training and loss-only evaluation) uses PyTorch's fused causal attention, which masks
    with -inf instead of -10000: the same function up to exp(-10000) terms."""
    p = f"blocks.{l}"
    B, S, M = resid.shape
    H, C = cfg["n_heads"], cfg["d_head"]
    if fast and not return_pattern:
        h = F.layer_norm(resid, (M,), P[f"{p}.ln1.w"], P[f"{p}.ln1.b"], cfg["ln_eps"])  # fused, same math
        qk_in = h + pos[:S]
        # same math with the heads concatenated into [M, H*C] matrices (2-D matmuls)
        def proj(x, n):
            w = P[f"{p}.attn.W_{n}"].permute(1, 0, 2).reshape(M, H * C)
            return (x @ w + P[f"{p}.attn.b_{n}"].reshape(H * C)).view(B, S, H, C).transpose(1, 2)

        z = F.scaled_dot_product_attention(proj(qk_in, "Q"), proj(qk_in, "K"), proj(h, "V"),
                                           is_causal=True, scale=cfg["attn_scale"])
        return z.transpose(1, 2).reshape(B, S, H * C) @ P[f"{p}.attn.W_O"].reshape(H * C, M) + P[f"{p}.attn.b_O"]
    h = layer_norm(resid, P[f"{p}.ln1.w"], P[f"{p}.ln1.b"], cfg["ln_eps"])
    qk_in = h + pos[:S]  # shortformer: positions only on the q/k inputs
    q = torch.einsum("bsm,hmc->bhsc", qk_in, P[f"{p}.attn.W_Q"]) + P[f"{p}.attn.b_Q"][:, None, :]
    k = torch.einsum("btm,hmc->bhtc", qk_in, P[f"{p}.attn.W_K"]) + P[f"{p}.attn.b_K"][:, None, :]
    v = torch.einsum("btm,hmc->bhtc", h, P[f"{p}.attn.W_V"]) + P[f"{p}.attn.b_V"][:, None, :]
    scores = torch.matmul(q, k.transpose(-1, -2)) * cfg["attn_scale"]
    causal = torch.ones(S, S, dtype=torch.bool, device=resid.device).tril()
    scores = scores.masked_fill(~causal, cfg["mask_fill"])
    probs = torch.softmax(scores, dim=-1)
    z = torch.matmul(probs, v)
    if ablate:  # zero-ablate these heads' outputs (diagnostics only)
        keep = torch.ones(H, dtype=z.dtype)
        keep[list(ablate)] = 0
        z = z * keep[None, :, None, None]
    out = torch.einsum("bhsc,hcm->bsm", z, P[f"{p}.attn.W_O"]) + P[f"{p}.attn.b_O"]
    return (out, probs) if return_pattern else out


def forward(P, tokens, cfg=CFG, return_patterns=False, fast=False, ablate=None):
    """tokens: int64 [B, S] (the model inputs, S <= 300). Returns logits [B, S, V]."""
    resid = P["embed.W_E"][tokens]
    pats = []
    for l in range(cfg["n_layers"]):
        abl = (ablate or {}).get(l, ())
        out = attention(P, l, resid, P["pos_embed.W_pos"], cfg, return_pattern=return_patterns, fast=fast and not abl, ablate=abl)
        if return_patterns:
            out, pat = out
            pats.append(pat)
        resid = resid + out
    if fast:
        x = F.layer_norm(resid, (cfg["d_model"],), P["ln_final.w"], P["ln_final.b"], cfg["ln_eps"])
    else:
        x = layer_norm(resid, P["ln_final.w"], P["ln_final.b"], cfg["ln_eps"])
    logits = x @ P["unembed.W_U"]
    return (logits, pats) if return_patterns else logits


def nll_of(logits, targets):
    B, S, V = logits.shape
    return F.cross_entropy(logits.reshape(B * S, V), targets.reshape(-1), reduction="none").view(B, S)


def seq_nll(P, seqs, return_patterns=False, fast=False, ablate=None):
    """seqs: int64 [B, S+1] -> nll [B, S]."""
    out = forward(P, seqs[:, :-1], return_patterns=return_patterns, fast=fast, ablate=ablate)
    if return_patterns:
        logits, pats = out
        return nll_of(logits, seqs[:, 1:]), logits, pats
    return nll_of(out, seqs[:, 1:])


# ----------------------------------------------------------------------------
# Induction diagnostics
# ----------------------------------------------------------------------------
def common_tokens(train):
    """Byte values that make up at least 1e-4 of the training text (91 bytes:
    printable ASCII minus a few, plus newline). Random sequences for the head
    detector draw from these, since rare bytes have untrained embeddings."""
    c = np.bincount(train, minlength=256)
    return np.nonzero(c >= 1e-4 * train.size)[0]


def repeated_random(tokset, n, half, seed):
    g = np.random.default_rng(seed)
    R = tokset[g.integers(0, tokset.size, size=(n, half))]
    extra = tokset[g.integers(0, tokset.size, size=(n, 1))]
    return torch.from_numpy(np.concatenate([R, R, extra], axis=1).astype(np.int64))


@torch.no_grad()
def head_scores(P, rep, data_seqs, half):
    """rep: [n, 2*half+1] repeated random sequences; data_seqs: [m, 301] natural text.
    Returns dict of [n_layers, n_heads] arrays."""
    nll, _, pats = seq_nll(P, rep, return_patterns=True)
    i = torch.arange(1, half)  # second-occurrence offsets (skip i=0: no token after)
    res = {"induction": [], "duplicate": [], "prev_token_random": [], "prev_token_data": []}
    for pat in pats:
        # pat [n, H, S, S]
        res["induction"].append(pat[:, :, half + i, i + 1].mean(dim=(0, 2)))
        res["duplicate"].append(pat[:, :, half + i, i].mean(dim=(0, 2)))
        s = torch.arange(1, pat.shape[-1])
        res["prev_token_random"].append(pat[:, :, s, s - 1].mean(dim=(0, 2)))
    _, _, pats_d = seq_nll(P, data_seqs, return_patterns=True)
    for pat in pats_d:
        s = torch.arange(1, pat.shape[-1])
        res["prev_token_data"].append(pat[:, :, s, s - 1].mean(dim=(0, 2)))
    out = {k: torch.stack(v).double().numpy() for k, v in res.items()}
    out["rep_loss_first_half"] = float(nll[:, : half - 1].mean())
    out["rep_loss_second_half"] = float(nll[:, half : 2 * half - 1].mean())
    # Note: position half-1 predicts R[0] (start of copy 2): excluded from both halves.
    return out


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------
def lr_at(step):
    T = TRAIN
    if step < T["warmup"]:
        return T["lr"] * (step + 1) / T["warmup"]
    prog = (step - T["warmup"]) / max(1, T["steps"] - T["warmup"])
    return T["lr"] * (T["min_lr_frac"] + (1 - T["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * prog)))


def cmd_train(args):
    torch.manual_seed(TRAIN["seed"])
    os.makedirs(args.workdir, exist_ok=True)
    train, held, info = load_data()
    print(f"data: {info['n_files']} files, train {info['train_bytes']} B, held-out {info['heldout_bytes']} B", flush=True)
    T = CFG["tokens_per_sequence"]
    held_eval, _ = heldout_windows(held, EXPORT["n_dataset"], T)
    held_eval = torch.from_numpy(held_eval[: TRAIN["eval_batches"] * TRAIN["batch"]].astype(np.int64))
    tokset = common_tokens(train)
    rep = repeated_random(tokset, 32, EXPORT["rep_half"], EXPORT["rep_seed"])

    gen = torch.Generator().manual_seed(TRAIN["seed"])
    P = init_params(gen)
    for t in P.values():
        t.requires_grad_(True)
    decay = [t for n, t in P.items() if t.dim() >= 2 and not n.startswith(("embed.", "pos_embed."))]
    no_decay = [t for n, t in P.items() if not (t.dim() >= 2 and not n.startswith(("embed.", "pos_embed.")))]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": TRAIN["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=TRAIN["lr"], betas=TRAIN["betas"],
    )
    train_t = torch.from_numpy(train.copy())
    offs = torch.arange(T)
    data_gen = torch.Generator().manual_seed(TRAIN["seed"] + 1)
    log_path = os.path.join(args.workdir, "train_log.tsv")
    state_path = os.path.join(args.workdir, "state.pt")
    t0 = time.time()
    ema = None
    first = 0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path, weights_only=False)
        with torch.no_grad():
            for k, v in P.items():
                v.copy_(st["params"][k])
        opt.load_state_dict(st["opt"])
        data_gen.set_state(st["data_gen"])
        ema, first = st["ema"], st["step"]
        t0 -= st["elapsed"]
        log = open(log_path, "a")
        print(f"resumed at step {first}", flush=True)
    else:
        log = open(log_path, "w")
        log.write("step\tlr\ttrain_loss_ema\theldout_loss\trep_first_half\trep_second_half\tbest_l1_induction\tbest_l0_prev\telapsed_s\n")
    for step in range(first, TRAIN["steps"] + 1):
        if (step % TRAIN["eval_every"] == 0 or step == TRAIN["steps"]) and not (args.resume and step == first and first > 0):
            if step > 0:
                torch.save({"params": {k: v.detach().clone() for k, v in P.items()}, "opt": opt.state_dict(),
                            "data_gen": data_gen.get_state(), "ema": ema, "step": step, "elapsed": time.time() - t0},
                           state_path)
            with torch.no_grad():
                Pd = {k: v.detach() for k, v in P.items()}
                hl = float(torch.cat([seq_nll(Pd, b) for b in held_eval.split(TRAIN["batch"])]).mean())
                hs = head_scores(Pd, rep, held_eval[:8], EXPORT["rep_half"])
            row = (step, lr_at(min(step, TRAIN["steps"] - 1)), ema if ema is not None else float("nan"), hl,
                   hs["rep_loss_first_half"], hs["rep_loss_second_half"], hs["induction"][1].max(),
                   hs["prev_token_data"][0].max(), time.time() - t0)
            log.write("\t".join(f"{x:.5g}" if isinstance(x, float) else str(x) for x in row) + "\n")
            log.flush()
            print("step %5d lr %.2e train %.4f held %.4f rep %.3f -> %.3f ind %.3f prev %.3f  %.0fs" % row, flush=True)
        if step == TRAIN["steps"]:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = torch.randint(0, train_t.numel() - T + 1, (TRAIN["batch"],), generator=data_gen)
        batch = train_t[starts[:, None] + offs].long()
        loss = seq_nll(P, batch, fast=True).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), TRAIN["grad_clip"])
        opt.step()
        lv = float(loss.detach())
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
    wall = time.time() - t0
    torch.save({"params": {k: v.detach().clone() for k, v in P.items()}, "train_loss_ema": ema,
                "wall_s": wall, "torch_version": str(torch.__version__)}, os.path.join(args.workdir, "ckpt.pt"))
    print(f"done in {wall:.0f}s", flush=True)


# ----------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------
@torch.no_grad()
def mean_loss(P, seqs, bs=32):
    return float(torch.cat([seq_nll(P, b, fast=True) for b in seqs.split(bs)]).mean())


@torch.no_grad()
def induction_candidates(P, train, cfg=CFG):
    """Good induction candidates: for windows w of 150 training bytes, feed
    w + w + w[0] (301 tokens). For p in 0..148 the input token A = w[p] predicts
    w[p+1] both in the first copy (position p) and in the second (150 + p);
    the reduction is nll[p] - nll[150 + p]. A token is a candidate iff it was an
    input at least cand_min_count times and its mean reduction >= cand_threshold."""
    E = EXPORT
    half = E["rep_half"]
    g = np.random.default_rng(E["cand_seed"])
    starts = g.integers(0, train.size - half, size=E["cand_windows"])
    W = np.stack([train[s : s + half] for s in starts]).astype(np.int64)
    seqs = torch.from_numpy(np.concatenate([W, W, W[:, :1]], axis=1))
    red = np.zeros(cfg["vocab"])
    first = np.zeros(cfg["vocab"])
    cnt = np.zeros(cfg["vocab"])
    for b in seqs.split(32):
        nll = seq_nll(P, b, fast=True).double().numpy()
        toks = b[:, : half - 1].numpy().reshape(-1)
        r = (nll[:, : half - 1] - nll[:, half : 2 * half - 1]).reshape(-1)
        np.add.at(red, toks, r)
        np.add.at(first, toks, nll[:, : half - 1].reshape(-1))
        np.add.at(cnt, toks, 1)
    mean_red = np.where(cnt > 0, red / np.maximum(cnt, 1), 0.0)
    mean_first = np.where(cnt > 0, first / np.maximum(cnt, 1), 0.0)
    mask = (cnt >= E["cand_min_count"]) & (mean_red >= E["cand_threshold"])
    return mask, mean_red, mean_first, cnt


def cmd_export(args):
    from safetensors.torch import save_file

    ck = torch.load(os.path.join(args.workdir, "ckpt.pt"), weights_only=False)
    P = {k: v.float().contiguous() for k, v in ck["params"].items()}
    os.makedirs(args.out, exist_ok=True)
    train, held, info = load_data()
    T = CFG["tokens_per_sequence"]

    # weights
    assert list(P) == list(param_shapes()), "unexpected parameter set"
    for n, s in param_shapes().items():
        assert tuple(P[n].shape) == s, (n, P[n].shape, s)
    save_file(P, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt", "model": "attn2-pystdlib"})

    # dataset
    ds, ds_starts = heldout_windows(held, EXPORT["n_dataset"], T)
    assert ds.dtype == np.uint8 and ds.shape == (EXPORT["n_dataset"], T)
    np.save(os.path.join(args.out, "dataset.npy"), ds)
    ds_t = torch.from_numpy(ds.astype(np.int64))

    # float64 references
    P64 = {k: v.double() for k, v in P.items()}
    ref = ds_t[: EXPORT["n_reference"]]
    nll64, logits64, pats64 = seq_nll(P64, ref, return_patterns=True)
    np.save(os.path.join(args.out, "reference_logits.npy"), logits64.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "reference_nll.npy"), nll64.numpy())
    n = EXPORT["pattern_positions"]
    for l, pat in enumerate(pats64):
        np.save(os.path.join(args.out, f"reference_attn_patterns_layer{l}.npy"), pat[0, :, :n, :n].numpy().astype(np.float32))
    # float32 vs float64 agreement (informational)
    nll32 = seq_nll(P, ref)
    f32_err = float((nll32.double() - nll64).abs().max())

    # losses
    print("computing losses ...", flush=True)
    held_loss = mean_loss(P, ds_t)
    print(f"held-out loss {held_loss:.4f}", flush=True)
    g = np.random.default_rng(TRAIN["seed"] + 7)
    tr_starts = g.integers(0, train.size - T + 1, size=EXPORT["n_train_loss"])
    tr_seqs = torch.from_numpy(np.stack([train[s : s + T] for s in tr_starts]).astype(np.int64))
    train_loss = mean_loss(P, tr_seqs)
    dataset_per_pos = torch.cat([seq_nll(P, b, fast=True) for b in ds_t[:1000].split(32)]).mean(0).numpy()

    # heads
    print("head scores ...", flush=True)
    tokset = common_tokens(train)
    rep = repeated_random(tokset, EXPORT["n_rep"], EXPORT["rep_half"], EXPORT["rep_seed"])
    hs = head_scores(P, rep, ds_t[: EXPORT["n_prev_seqs"]], EXPORT["rep_half"])
    thr = EXPORT["thresholds"]

    def pick(scores, layer, t):
        idx = [int(h) for h in np.argsort(-scores[layer]) if scores[layer][h] >= t]
        return [f"{layer}.{h}" for h in idx]

    # Which layer-0 heads does the induction head depend on? Zero-ablate each
    # layer-0 head in turn (its z set to 0; b_O kept) and re-measure.
    best_ind = int(np.argmax(hs["induction"][1]))
    ii = torch.arange(1, EXPORT["rep_half"])
    half = EXPORT["rep_half"]
    abl = {}
    for h0 in [None] + list(range(CFG["n_heads"])):
        nll_a, _, pats_a = seq_nll(P, rep, return_patterns=True, ablate=None if h0 is None else {0: [h0]})
        abl["none" if h0 is None else f"0.{h0}"] = dict(
            induction_score_of_best=round(float(pats_a[1][:, best_ind, half + ii, ii + 1].mean()), 5),
            rep_loss_second_half=round(float(nll_a[:, half : 2 * half - 1].mean()), 5),
            rep_loss_first_half=round(float(nll_a[:, : half - 1].mean()), 5))
    print("ablations:", json.dumps(abl), flush=True)

    def table(a):
        return {f"{l}.{h}": round(float(a[l, h]), 5) for l in range(a.shape[0]) for h in range(a.shape[1])}

    heads = dict(
        naming="'L.H' = layer L (0 or 1), head H (0..7); the head's slice is W_Q[H], W_K[H], W_V[H], W_O[H] of blocks.L",
        thresholds=thr,
        previous_token_heads=pick(hs["prev_token_data"], 0, thr["previous_token"]),
        induction_heads=pick(hs["induction"], 1, thr["induction"]),
        duplicate_token_heads=[f"{l}.{h}" for l in range(2) for h in range(8) if hs["duplicate"][l, h] >= thr["duplicate"]],
        best_previous_token_head=f"0.{int(np.argmax(hs['prev_token_data'][0]))}",
        best_induction_heads_top2=[f"1.{int(h)}" for h in np.argsort(-hs["induction"][1])[:2]],
        definitions=dict(
            previous_token="mean over query positions s=1..299 of attn[s, s-1], on the first "
            f"{EXPORT['n_prev_seqs']} dataset.npy sequences (previous_token_random: same on the repeated random sequences)",
            induction=f"{EXPORT['n_rep']} sequences R R x, R = {EXPORT['rep_half']} tokens drawn uniformly (numpy "
            f"default_rng({EXPORT['rep_seed']})) from the {tokset.size} bytes that make up >= 1e-4 of the training text; "
            f"mean over i=1..{EXPORT['rep_half'] - 1} of attn[{EXPORT['rep_half']}+i, i+1] (second occurrence of R[i] "
            "-> the token after its first occurrence)",
            duplicate="same sequences, mean of attn[150+i, i] (second occurrence -> first occurrence)",
            selection=f"a head is listed if its score >= the threshold {thr}; previous-token heads searched in layer 0, "
            "induction heads in layer 1, duplicate-token heads in both",
            layer0_ablations=f"the repeated random sequences again with one layer-0 head zero-ablated (its z = 0, b_O kept): "
            f"induction score of the best induction head 1.{best_ind} and the losses on the two halves",
        ),
        scores=dict(
            previous_token=table(hs["prev_token_data"]),
            previous_token_random=table(hs["prev_token_random"]),
            induction=table(hs["induction"]),
            duplicate_token=table(hs["duplicate"]),
        ),
        layer0_ablations=abl,
        repeated_random_loss=dict(first_half=hs["rep_loss_first_half"], second_half=hs["rep_loss_second_half"],
                                  uniform_baseline=math.log(tokset.size)),
    )
    with open(os.path.join(args.out, "heads.json"), "w") as f:
        json.dump(heads, f, indent=1)

    # induction candidates
    print("induction candidates ...", flush=True)
    mask, mean_red, mean_first, cnt = induction_candidates(P, train)
    np.save(os.path.join(args.out, "good_induction_candidates.npy"), mask.astype(np.uint8))
    ds_in = ds[:, :-1]
    cand_frac = float(mask[ds_in].mean())

    config = dict(
        name="attn2-pystdlib",
        architecture=dict(CFG, description="2-layer attention-only transformer, rust_circuit attention_only_2 / perf W1 "
                          "layout with a byte vocabulary; see models/README.md"),
        tensors={n: list(s) for n, s in param_shapes().items()},
        n_params=int(sum(v.numel() for v in P.values())),
        training=dict(TRAIN, optimizer="AdamW", schedule="linear warmup then cosine to min_lr_frac*lr",
                      batch_sampling="uniform random 301-byte windows of the concatenated training bytes "
                      "(torch.Generator seeded seed+1)", weight_decay_on="W_Q, W_K, W_V, W_O, W_U (not embeddings, biases, layer norms)",
                      wall_s=round(ck["wall_s"], 1), torch_version=ck["torch_version"],
                      threads=torch.get_num_threads(), tokens_seen=TRAIN["steps"] * TRAIN["batch"] * CFG["seq_len"]),
        results=dict(
            train_loss=train_loss,
            train_loss_note=f"mean NLL (nats/byte) over {EXPORT['n_train_loss']} random training windows (seed {TRAIN['seed'] + 7})",
            train_loss_ema_at_end=ck["train_loss_ema"],
            heldout_loss=held_loss,
            heldout_loss_note="mean NLL (nats/byte) over all of dataset.npy (4000 x 300 predictions)",
            heldout_loss_by_position_note="mean over dataset.npy[:1000]",
            heldout_loss_by_position_first_10=[round(float(x), 4) for x in dataset_per_pos[:10]],
            heldout_loss_by_position_last_10=[round(float(x), 4) for x in dataset_per_pos[-10:]],
            repeated_random_loss_first_half=hs["rep_loss_first_half"],
            repeated_random_loss_second_half=hs["rep_loss_second_half"],
            reference_f32_vs_f64_max_abs_nll_diff=f32_err,
            n_good_induction_candidates=int(mask.sum()),
            fraction_of_dataset_inputs_that_are_candidates=cand_frac,
        ),
        data=info,
        dataset=dict(file="dataset.npy", dtype="uint8", shape=list(ds.shape),
                     rule="held-out bytes concatenated (sorted by path); window k = heldout[start_k : start_k + 301], "
                     f"start_k = floor(k * (len - 301) / {EXPORT['n_dataset'] - 1})",
                     sha256=hashlib.sha256(ds.tobytes()).hexdigest()),
        good_induction_candidates=dict(
            file="good_induction_candidates.npy", dtype="uint8", shape=[CFG["vocab"]],
            rule=induction_candidates.__doc__.strip().replace("\n    ", " "),
            windows=f"{EXPORT['cand_windows']} windows of the TRAINING text, starts from numpy default_rng({EXPORT['cand_seed']})",
            min_count=EXPORT["cand_min_count"], threshold_nats=EXPORT["cand_threshold"],
            tokens=[int(t) for t in np.nonzero(mask)[0]],
            tokens_repr="".join(chr(t) if 32 < t < 127 else f"<{t}>" for t in np.nonzero(mask)[0]),
            mean_reduction={str(t): round(float(mean_red[t]), 4) for t in range(256) if cnt[t] >= EXPORT["cand_min_count"]},
        ),
        references=dict(
            sequences=f"dataset.npy[0:{EXPORT['n_reference']}]",
            computed="PyTorch float64 (weights cast from float32 to float64)",
            logits="reference_logits.npy float32 [4,300,256] (rounded from float64)",
            nll="reference_nll.npy float64 [4,300]",
            patterns=f"reference_attn_patterns_layer{{0,1}}.npy float32 [8,{n},{n}]: sequence 0, query and key positions 0..{n - 1} "
                     "(causal, so these rows are complete)",
        ),
        seeds=dict(init_and_torch=TRAIN["seed"], batches=TRAIN["seed"] + 1, train_loss_windows=TRAIN["seed"] + 7,
                   repeated_random=EXPORT["rep_seed"], candidates=EXPORT["cand_seed"]),
        script="models/train_attn2.py",
    )
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    print(json.dumps(config["results"], indent=1))
    print("prev", heads["previous_token_heads"], "induction", heads["induction_heads"])
    for l in range(2):
        print("L%d ind" % l, np.round(hs["induction"][l], 3), "prev", np.round(hs["prev_token_data"][l], 3),
              "dup", np.round(hs["duplicate"][l], 3))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["train", "export", "all"])
    ap.add_argument("--workdir", default="/tmp/attn2-work")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "models", "attn2-pystdlib"))
    ap.add_argument("--steps", type=int, default=None, help="override the number of steps (for quick tests)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--resume", action="store_true", help="continue `train` from --workdir/state.pt (saved at every evaluation)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.steps is not None:
        TRAIN["steps"] = args.steps
    if args.cmd in ("train", "all"):
        cmd_train(args)
    if args.cmd in ("export", "all"):
        cmd_export(args)


if __name__ == "__main__":
    main()
