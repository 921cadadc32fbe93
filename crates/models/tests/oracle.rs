//! Oracle tests: our circuits against float64 numpy/PyTorch references.
//!
//! * `tiny_*`: the committed fixtures of `tests/data/make_tiny.py` (always run).
//! * `w1_*`: perf workload W1 (`python3 shared/perf/workloads.py --data .scratch/perfdata`);
//!   skipped with a message when the data is absent (CI).
//! * `bundled_*`: `fixtures/models/attn2-pystdlib` (the trained bundled model); skipped
//!   with a message until it exists.

use std::path::{Path, PathBuf};

use circuit_eval::{evaluate_with, EvalSettings};
use circuit_models::{
    load_model_dir, split_tokens, tokens_array, Checkpoint, HeadSplit, NameScheme, Transformer,
    TransformerConfig, Weights,
};
use circuit_tensor::{read_npy, DType, Tensor};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.to_f64_vec().iter().zip(b.to_f64_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn settings() -> EvalSettings {
    EvalSettings { threads: Some(2), ..EvalSettings::default() }
}

/// Logits, NLL and attention patterns of a tiny fixture, in float64 and float32.
fn check_tiny(dir: &Path) -> TestResult {
    let (config, weights) = load_model_dir(dir)?;
    let toks = read_npy(&dir.join("tokens.npy"))?;
    let ref_logits = read_npy(&dir.join("reference_logits.npy"))?;
    let ref_nll = read_npy(&dir.join("reference_nll.npy"))?;
    let ref_probs = read_npy(&dir.join("reference_probs.npy"))?;
    for (dtype, tol) in [(DType::F64, 1e-9), (DType::F32, 1e-4)] {
        let model = Transformer::new(config.clone(), weights.cast(dtype))?;
        let toks_c = tokens_array(&toks, "toks")?;
        let (input, _) = split_tokens(&toks_c)?;
        let logits = evaluate_with(&model.logits(&input)?, &settings())?;
        let nll = evaluate_with(&model.loss(&toks_c)?, &settings())?;
        let d_logits = max_abs_diff(&logits, &ref_logits);
        let d_nll = max_abs_diff(&nll, &ref_nll);
        let mut d_probs: f64 = 0.0;
        for layer in 0..config.n_layers {
            let p =
                evaluate_with(&model.bind_tokens(&model.probs(layer)?, &input, "p")?, &settings())?;
            let want = ref_probs.to_f64_vec();
            let n = p.numel();
            let want = Tensor::from_vec(p.shape(), want[layer * n..(layer + 1) * n].to_vec())?;
            d_probs = d_probs.max(max_abs_diff(&p, &want));
        }
        eprintln!(
            "{} {dtype}: max |Δlogits| {d_logits:.3e}, |Δnll| {d_nll:.3e}, |Δprobs| {d_probs:.3e}",
            dir.file_name().and_then(|s| s.to_str()).unwrap_or("?")
        );
        assert!(d_logits < tol && d_nll < tol && d_probs < tol, "{dtype}: over {tol}");
    }
    Ok(())
}

#[test]
fn tiny_attn_only_matches_numpy() -> TestResult {
    check_tiny(&data("tiny_attn2"))
}

#[test]
fn tiny_gpt2_matches_numpy() -> TestResult {
    check_tiny(&data("tiny_gpt2"))
}

#[test]
fn gpt2_prefix_and_lm_head_variants_load() -> TestResult {
    let dir = data("tiny_gpt2");
    let (config, weights) = load_model_dir(&dir)?;
    let raw = circuit_tensor::read_safetensors(&dir.join("model.safetensors"))?;
    // `transformer.` prefix plus an explicit (untied) lm_head equal to wte.
    let mut prefixed: Vec<(String, Tensor)> =
        raw.iter().map(|(n, t)| (format!("transformer.{n}"), t.clone())).collect();
    let wte = raw.iter().find(|(n, _)| n == "wte.weight").map(|(_, t)| t.clone());
    prefixed.push(("lm_head.weight".into(), wte.ok_or("no wte")?));
    let ck = Checkpoint::from_tensors("prefixed", prefixed);
    let untied = TransformerConfig { tied_unembed: false, ..config.clone() };
    let w2 = ck.weights(&untied, None)?;
    let same = |a: &Weights, b: &Weights, n: &str| -> bool {
        matches!((a.get(n), b.get(n)), (Some(x), Some(y)) if x.content_eq(y))
    };
    assert!(same(&weights, &w2, "a1.w.q") && same(&weights, &w2, "m0.w.proj_out"));
    assert!(w2
        .get("t.w.unembed")
        .zip(weights.get("t.w.tok_embeds"))
        .is_some_and(|(a, b)| a.content_eq(b)));
    // Scheme mismatch and missing tensors are reported by name.
    let e = ck.weights(&config, Some(NameScheme::TransformerLens)).expect_err("wrong scheme");
    assert!(e.to_string().contains("embed.W_E"), "{e}");
    let partial: Vec<(String, Tensor)> =
        raw.iter().filter(|(n, _)| n != "h.1.mlp.c_fc.bias").cloned().collect();
    let e =
        Checkpoint::from_tensors("partial", partial).weights(&config, None).expect_err("missing");
    let msg = e.to_string();
    assert!(msg.contains("h.1.mlp.c_fc.bias") && msg.contains("m1.w.in_bias"), "{msg}");
    let bad: Vec<(String, Tensor)> = raw
        .iter()
        .map(|(n, t)| {
            if n == "h.0.attn.c_attn.weight" {
                (n.clone(), Tensor::full(&[16, 47], 0.0, DType::F32))
            } else {
                (n.clone(), t.clone())
            }
        })
        .collect();
    let e = Checkpoint::from_tensors("bad", bad).weights(&config, None).expect_err("shape");
    let msg = e.to_string();
    assert!(msg.contains("h.0.attn.c_attn.weight") && msg.contains("[16, 48]"), "{msg}");
    Ok(())
}

#[test]
fn split_heads_sum_to_the_layer() -> TestResult {
    let (config, weights) = load_model_dir(&data("tiny_attn2"))?;
    let weights = weights.cast(DType::F64);
    let toks = read_npy(&data("tiny_attn2").join("tokens.npy"))?;
    let (input, _) = split_tokens(&tokens_array(&toks, "toks")?)?;
    let plain = Transformer::new(config.clone(), weights.clone())?;
    let split = HeadSplit::new().split_off(1, &[1], "a1.ind", "a1.not_ind").split_off(
        0,
        &[0],
        "a0.prev",
        "a0.not_prev",
    );
    let model = Transformer::with_split(config, weights, split)?;
    let eval = |m: &Transformer, name: &str| -> Result<Tensor, Box<dyn std::error::Error>> {
        let node = m.node(name)?;
        Ok(evaluate_with(&m.bind_tokens(&node, &input, name)?, &settings())?)
    };
    let whole = eval(&plain, "b1.a")?;
    let ind = eval(&model, "a1.ind")?;
    let not_ind = eval(&model, "a1.not_ind")?;
    let bias = model.weights().get("a1.w.o_bias").ok_or("bias")?.to_f64_vec();
    let summed: Vec<f64> = ind
        .to_f64_vec()
        .iter()
        .zip(not_ind.to_f64_vec())
        .enumerate()
        .map(|(i, (a, b))| a + b + bias[i % bias.len()])
        .collect();
    let d = max_abs_diff(&whole, &Tensor::from_vec(whole.shape(), summed)?);
    eprintln!("a1.ind + a1.not_ind + a1.w.o_bias vs b1.a: max |Δ| {d:.3e}");
    assert!(d < 1e-12);
    let d = max_abs_diff(&eval(&plain, "t.bind_w")?, &eval(&model, "t.bind_w")?);
    assert!(d < 1e-12, "split model logits differ by {d}");
    Ok(())
}

/// W1 from `.scratch/perfdata/attn2`: NLL of the first sequences vs expected_nll_f64.
#[test]
fn w1_nll_matches_reference() -> TestResult {
    let dir = repo_root().join(".scratch/perfdata/attn2");
    if !dir.join("tok_embeds.npy").is_file() {
        eprintln!(
            "SKIPPED w1_nll_matches_reference: {} not found (make it with `python3 shared/perf/workloads.py --data .scratch/perfdata`)",
            dir.display()
        );
        return Ok(());
    }
    let (config, weights) = load_model_dir(&dir)?;
    let toks = read_npy(&dir.join("tokens.npy"))?;
    let expected = read_npy(&dir.join("expected_nll_f64.npy"))?.to_f64_vec();
    let seq = toks.shape()[1];
    let n_pos = seq - 1;
    for (dtype, n_seqs, tol) in [(DType::F64, 1, 1e-4), (DType::F32, 1, 1e-3)] {
        let model = Transformer::new(config.clone(), weights.cast(dtype))?;
        let rows = Tensor::from_vec(&[n_seqs, seq], toks.to_i64_vec()[..n_seqs * seq].to_vec())?;
        let loss = model.loss(&tokens_array(&rows, "toks")?)?;
        let t0 = std::time::Instant::now();
        let nll = evaluate_with(&loss, &settings())?.to_f64_vec();
        let d = nll
            .iter()
            .zip(&expected[..n_seqs * n_pos])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "W1 {dtype}, {n_seqs} sequence(s): max |Δnll| {d:.3e} (mean nll {:.4}), {:.2}s",
            nll.iter().sum::<f64>() / nll.len() as f64,
            t0.elapsed().as_secs_f64()
        );
        assert!(d < tol, "W1 {dtype}: {d} over {tol}");
    }
    Ok(())
}

/// The bundled model: logits and NLL of its reference sequences.
#[test]
fn bundled_model_matches_reference() -> TestResult {
    let dir = repo_root().join("fixtures/models/attn2-pystdlib");
    let needed = [
        "model.safetensors",
        "config.json",
        "dataset.npy",
        "reference_logits.npy",
        "reference_nll.npy",
    ];
    if let Some(f) = needed.iter().find(|f| !dir.join(f).is_file()) {
        eprintln!("SKIPPED bundled_model_matches_reference: {} missing", dir.join(f).display());
        return Ok(());
    }
    let (config, weights) = load_model_dir(&dir)?;
    let data = read_npy(&dir.join("dataset.npy"))?;
    let ref_logits = read_npy(&dir.join("reference_logits.npy"))?;
    let ref_nll = read_npy(&dir.join("reference_nll.npy"))?;
    let n = ref_nll.shape()[0];
    let seq = data.shape()[1];
    let rows = Tensor::from_vec(&[n, seq], data.to_i64_vec()[..n * seq].to_vec())?;
    let toks = tokens_array(&rows, "toks")?;
    let model = Transformer::new(config, weights.cast(DType::F64))?;
    let (input, _) = split_tokens(&toks)?;
    let logits = evaluate_with(&model.logits(&input)?, &settings())?;
    let nll = evaluate_with(&model.loss(&toks)?, &settings())?;
    // reference_logits.npy is float32 (rounded from float64): compare at its precision.
    let d_logits = max_abs_diff(&logits, &ref_logits.cast(DType::F64));
    let d_nll = max_abs_diff(&nll, &ref_nll);
    // Attention patterns of sequence 0, query/key positions 0..k (float32 files).
    let mut d_pat: f64 = 0.0;
    let seq0 = Tensor::from_vec(&[seq - 1], data.to_i64_vec()[..seq - 1].to_vec())?;
    let seq0 = tokens_array(&seq0, "seq0")?;
    for layer in 0..model.config().n_layers {
        let f = dir.join(format!("reference_attn_patterns_layer{layer}.npy"));
        if !f.is_file() {
            continue;
        }
        let want = read_npy(&f)?;
        let (h, k) = (want.shape()[0], want.shape()[1]);
        let got =
            evaluate_with(&model.bind_tokens(&model.probs(layer)?, &seq0, "p")?, &settings())?;
        let (s, g, w) = (got.shape()[1], got.to_f64_vec(), want.to_f64_vec());
        for (i, wi) in w.iter().enumerate().take(h * k * k) {
            let (hh, q, t) = (i / (k * k), (i / k) % k, i % k);
            d_pat = d_pat.max((g[(hh * s + q) * s + t] - wi).abs());
        }
    }
    eprintln!(
        "bundled model: max |Δlogits| {d_logits:.3e}, |Δnll| {d_nll:.3e}, |Δpatterns| {d_pat:.3e}"
    );
    assert!(d_logits < 1e-4 && d_nll < 1e-4 && d_pat < 1e-4);
    Ok(())
}
