//! W1 (`shared/perf/specs/attn2.json`): the 2-layer attention-only transformer's
//! forward pass and next-token NLL for 32 × 300 tokens, built as one circuit with the
//! IR builders, evaluated unbatched and under a 1.2 GB memory budget (which makes the
//! compiler batch the unembedding along the batch axis). Compared against
//! `expected_nll_f64.npy` when present (written by `ref_torch.py`, or by
//! `spec_interp.run_forward` in float64).
#![allow(clippy::unwrap_used)] // benchmark setup: a missing input should just stop it

use std::path::Path;
use std::time::Instant;

use circuit_eval::{compile, CpuBackend, EvalSettings};
use circuit_ir::kinds::{GfSpec, SimpleFn, Slice, TensorAxisIndex};
use circuit_ir::Circuit;
use circuit_tensor::{read_npy, Tensor};

struct Inputs<'a> {
    dir: &'a Path,
}

impl Inputs<'_> {
    fn get(&self, name: &str) -> Circuit {
        let t = read_npy(&self.dir.join(format!("{name}.npy"))).unwrap();
        Circuit::array(t, Some(name)).unwrap()
    }
}

fn ein(spec: &str, ops: &[&Circuit]) -> Circuit {
    Circuit::einsum(spec, ops.iter().map(|c| (*c).clone())).unwrap()
}

fn layer_norm(x: &Circuit, scale: &Circuit, bias: &Circuit) -> Circuit {
    let mean = x.mean(&[-1]).unwrap().rearrange_str("b s -> b s 1").unwrap();
    let xc = x.sub(&mean).unwrap();
    let var = ein("bsm,bsm->bs", &[&xc, &xc]).mul_scalar(1.0 / 256.0).unwrap();
    let eps = Circuit::scalar(1e-5, &[], Some("ln_eps")).unwrap();
    let rstd = var.add(&eps).unwrap().apply(SimpleFn::Rsqrt).unwrap();
    ein("bsm,bs,m->bsm", &[&xc, &rstd, scale]).add(bias).unwrap()
}

fn attention(
    l: &str,
    x: &Circuit,
    pos: &Circuit,
    mask: &Circuit,
    fill: &Circuit,
    inp: &Inputs<'_>,
) -> Circuit {
    let w = |n: &str| inp.get(&format!("{l}.{n}"));
    let ln = layer_norm(x, &w("ln_scale"), &w("ln_bias"));
    let qk_in = ln.add(pos).unwrap();
    let bias = |n: &str| w(n).rearrange_str("h c -> h 1 c").unwrap();
    let q = ein("bsm,hcm->bhsc", &[&qk_in, &w("w_q")]).add(&bias("b_q")).unwrap();
    let k = ein("btm,hcm->bhtc", &[&qk_in, &w("w_k")]).add(&bias("b_k")).unwrap();
    let v = ein("btm,hcm->bhtc", &[&ln, &w("w_v")]).add(&bias("b_v")).unwrap();
    let scale = Circuit::scalar(0.176_776_695_296_636_87, &[], Some("attn_scale")).unwrap();
    let scores = ein("bhsc,bhtc,,st->bhst", &[&q, &k, &scale, mask]).add(fill).unwrap();
    let probs = scores.apply(SimpleFn::Softmax).unwrap();
    let z = ein("bhst,bhtc->bhsc", &[&probs, &v]);
    ein("bhsc,hmc->bsm", &[&z, &w("w_o")]).add(&w("b_o")).unwrap()
}

/// The W1 circuit: nll [32, 300].
pub fn build(dir: &Path) -> Circuit {
    let inp = Inputs { dir };
    let tokens = inp.get("tokens");
    let sl = |a: i64, b: i64| TensorAxisIndex::Slice(Slice { start: Some(a), stop: Some(b) });
    let x_tok = tokens.index(vec![TensorAxisIndex::FULL, sl(0, 300)]).unwrap();
    let targets = tokens.index(vec![TensorAxisIndex::FULL, sl(1, 301)]).unwrap();
    let embed = GfSpec::GenIndex {
        index_dim: 0,
        batch_x: false,
        batch_index: true,
        check_index_ints: true,
    };
    let resid0 = Circuit::general_function(embed, vec![inp.get("tok_embeds"), x_tok]).unwrap();
    let n = 300;
    let tril: Vec<f32> = (0..n * n).map(|i| if i % n <= i / n { 1.0 } else { 0.0 }).collect();
    let fill: Vec<f32> = tril.iter().map(|&m| (1.0 - m) * -10000.0).collect();
    let mask =
        Circuit::array(Tensor::from_vec(&[n, n], tril).unwrap(), Some("causal_mask")).unwrap();
    let fill = Circuit::array(Tensor::from_vec(&[n, n], fill).unwrap(), Some("mask_fill")).unwrap();
    let pos = inp.get("pos_embeds");
    let resid1 = resid0.add(&attention("a0", &resid0, &pos, &mask, &fill, &inp)).unwrap();
    let resid2 = resid1.add(&attention("a1", &resid1, &pos, &mask, &fill, &inp)).unwrap();
    let lnf = layer_norm(&resid2, &inp.get("final.ln_scale"), &inp.get("final.ln_bias"));
    let logits = ein("bsm,vm->bsv", &[&lnf, &inp.get("unembed")]);
    let logp = logits.apply(SimpleFn::LogSoftmax).unwrap();
    let pick = GfSpec::GenIndex {
        index_dim: -1,
        batch_x: true,
        batch_index: true,
        check_index_ints: true,
    };
    let tgt = Circuit::general_function(pick, vec![logp, targets]).unwrap();
    tgt.mul_scalar(-1.0).unwrap().rename(Some("nll")).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.to_f64_vec().iter().zip(b.to_f64_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Runs the W1 benchmark if its data is present.
pub fn run(dir: &Path) {
    if !dir.join("tokens.npy").exists() {
        println!("w1: no data in {}", dir.display());
        return;
    }
    let c = build(dir);
    let expected = read_npy(&dir.join("expected_nll_f64.npy")).ok();
    for (label, settings) in [
        ("unbatched", EvalSettings::default()),
        (
            "max_memory 1.2 GB",
            EvalSettings { max_memory: Some(1_200_000_000), ..EvalSettings::default() },
        ),
    ] {
        let t0 = Instant::now();
        let plan = compile(&c, &settings).unwrap();
        let compile_s = t0.elapsed().as_secs_f64();
        if std::env::var_os("CIRCUIT_BENCH_EXPLAIN").is_some() {
            let (_, times) = plan.run_timed(&CpuBackend::new()).unwrap();
            println!("{}", plan.explain_with_times(&times));
        }
        let mut times = Vec::new();
        let mut out = None;
        for _ in 0..3 {
            let t = Instant::now();
            out = Some(plan.run(&CpuBackend::new()).unwrap());
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let out = out.unwrap();
        let mean: f64 = out.to_f64_vec().iter().sum::<f64>() / out.numel() as f64;
        let err = expected.as_ref().map_or("no reference".to_string(), |e| {
            format!("max |Δ| vs f64 {:.1e}", max_abs_diff(&out, e))
        });
        println!(
            "w1 attn2 ({label}): median {:.2} s, best {:.2} s (3 runs; compile {:.2} s); {} steps, {:.0} GFLOP, predicted peak {:.2} GB; mean nll {mean:.5}; {err}  [torch eager 4.95 s / 4.6 GB, hand-tuned 4.43 s / 1.1 GB]",
            times[1],
            times[0],
            compile_s,
            plan.steps().len(),
            plan.total_flops() as f64 / 1e9,
            plan.peak_memory() as f64 / 1e9,
        );
    }
}
