//! The perf workloads (`shared/perf`) on the CUDA backend: one JSON line per workload
//! on stdout (times in ms, CUDA-event medians), a readable line on stderr.
//!
//! ```text
//! python3 ../shared/perf/workloads.py --data .scratch/perfdata    # once
//! cargo bench -p circuit-cuda --bench cuda [-- w1 w1b256 w2 w3]
//! ```
//!
//! * `w1`: W1 (attn2 forward + per-token NLL, 32 x 300 tokens), checked against
//!   `expected_nll_f64.npy`. `w1b256`: the same model on 256 sequences (the 32 tiled).
//! * `w2`: the three einsum chains, checked against `expected_*.npy`.
//! * `w3`: the sampled scrub for `W3_BATCHES` (default 8) batches of 32: plan
//!   compilation (host) and GPU run timed separately, per-sample losses checked
//!   against `expected_per_sample_loss_f64.npy`.
//!
//! `CIRCUIT_PERF_DATA` (default `<repo>/.scratch/perfdata`), `CUDA_BENCH_REPEATS`
//! (default 20), `CIRCUIT_BENCH_EXPLAIN=1` prints each plan with per-step times. TF32 is
//! never used (cuBLAS's default math mode): compare with `gpu_ref.py` without `--tf32`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use circuit_cuda::CudaBackend;
use circuit_eval::{compile, EvalSettings, Plan};
use circuit_match::{update, IterativeMatcher, MatchError, Matcher};
use circuit_models::{load_model_dir, tokens_array, Transformer};
use circuit_tensor::{read_npy, Tensor};

fn data_dir() -> PathBuf {
    std::env::var_os("CIRCUIT_PERF_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.scratch/perfdata"),
        PathBuf::from,
    )
}

fn repeats() -> usize {
    std::env::var("CUDA_BENCH_REPEATS").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

struct Timing {
    event_ms: f64,
    wall_ms: f64,
    min_ms: f64,
    out: Tensor,
}

/// One warm-up run (uploads constants, compiles kernels), then `n` timed runs.
fn time_plan(gpu: &CudaBackend, plan: &Plan, n: usize) -> Timing {
    let t = Instant::now();
    let mut out = plan.run(gpu).expect("first run");
    say(&format!(
        "  first run (uploads + kernel compilation): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    ));
    if std::env::var_os("CIRCUIT_BENCH_EXPLAIN").is_some() {
        let (_, times) = plan.run_timed(gpu).expect("timed run");
        say(&plan.explain_with_times(&times));
    }
    let (mut ev, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..n.max(1) {
        let w = Instant::now();
        let (r, ms) = gpu.time_ms(|| plan.run(gpu)).expect("timer");
        wall.push(w.elapsed().as_secs_f64() * 1e3);
        out = r.expect("run");
        ev.push(ms.unwrap_or(f64::NAN));
    }
    let min_ms = ev.iter().copied().fold(f64::INFINITY, f64::min);
    Timing { event_ms: median(ev), wall_ms: median(wall), min_ms, out }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn w1(gpu: &CudaBackend, batch: usize) {
    let dir = data_dir().join("attn2");
    let name = if batch == 32 { "attn2".to_string() } else { format!("attn2_b{batch}") };
    if !dir.join("tokens.npy").is_file() {
        println!(
            "{{\"workload\": \"{name}\", \"status\": \"skipped\", \"error\": \"no data in {}\"}}",
            dir.display()
        );
        return;
    }
    let (config, weights) = load_model_dir(&dir).expect("load");
    let toks = read_npy(&dir.join("tokens.npy")).expect("tokens");
    let (n, s) = (toks.shape()[0], toks.shape()[1]);
    let tiled: Vec<i64> = toks.to_i64_vec().iter().copied().cycle().take(batch * s).collect();
    let toks = Tensor::from_vec(&[batch, s], tiled).expect("tile");
    let model = Transformer::new(config, weights).expect("model");
    let loss = model.loss(&tokens_array(&toks, "toks").expect("toks")).expect("loss");
    let t = Instant::now();
    let plan = compile(&loss, &EvalSettings::default()).expect("compile");
    let compile_ms = t.elapsed().as_secs_f64() * 1e3;
    gpu.reset_peak_memory();
    let tm = time_plan(gpu, &plan, repeats());
    let got = tm.out.to_f64_vec();
    let expected = read_npy(&dir.join("expected_nll_f64.npy")).expect("expected").to_f64_vec();
    let want: Vec<f64> = expected.iter().copied().cycle().take(got.len()).collect();
    let err = max_abs_diff(&got, &want);
    let mean = got.iter().sum::<f64>() / got.len().max(1) as f64;
    let flops = plan.total_flops() as f64;
    let peak = gpu.memory_stats().peak;
    println!(
        "{{\"workload\": \"{name}\", \"batch\": {batch}, \"ms\": {:.4}, \"min_ms\": {:.4}, \"wall_ms\": {:.4}, \"compile_ms\": {compile_ms:.1}, \"steps\": {}, \"tflops\": {:.2}, \"peak_gpu_mem_gib\": {:.3}, \"mean_nll\": {mean:.8}, \"max_abs_err_vs_f64\": {err:.3e}, \"status\": \"ok\"}}",
        tm.event_ms,
        tm.min_ms,
        tm.wall_ms,
        plan.steps().len(),
        flops / (tm.event_ms * 1e-3) / 1e12,
        peak as f64 / (1u64 << 30) as f64,
    );
    say(&format!(
        "W1 batch {batch} ({n} sequences in the data): {:.3} ms (CUDA events, median of {}), wall {:.3} ms, {:.1} TFLOP/s, max |Δnll| vs f64 {err:.2e}",
        tm.event_ms,
        repeats(),
        tm.wall_ms,
        flops / (tm.event_ms * 1e-3) / 1e12
    ));
}

fn w2(gpu: &CudaBackend) {
    let dir = data_dir().join("einsum_chain");
    if !dir.exists() {
        println!("{{\"workload\": \"einsum_chain\", \"status\": \"skipped\"}}");
        return;
    }
    let cases: [(&str, &str, &[&str]); 3] = [
        ("chain5_batched", "bsh,hd,de,ef,btf->bst", &["c5_x", "c5_w1", "c5_w2", "c5_w3", "c5_y"]),
        (
            "kcomp7",
            "sm,hdm,hdn,gne,gep,gtu,up->hst",
            &["kc_xq", "w_q1", "w_k1", "w_o0", "w_v0", "kc_a0", "kc_xk"],
        ),
        (
            "kcomp8_batched",
            "bsm,hdm,hdn,gne,gep,bgtu,bup,gh->bst",
            &["kb_xq", "w_q1", "w_k1", "w_o0", "w_v0", "kb_a0", "kb_xk", "kb_pairs"],
        ),
    ];
    let mut parts = Vec::new();
    for (name, eq, files) in cases {
        let ops: Vec<circuit_ir::Circuit> = files
            .iter()
            .map(|f| {
                let t = read_npy(&dir.join(format!("{f}.npy"))).expect("npy");
                circuit_ir::Circuit::array(t, Some(f)).expect("array")
            })
            .collect();
        let c = circuit_ir::Circuit::einsum(eq, ops).expect("einsum");
        let plan = compile(&c, &EvalSettings::default()).expect("compile");
        let tm = time_plan(gpu, &plan, repeats() * 5);
        let expected =
            read_npy(&dir.join(format!("expected_{name}.npy"))).expect("expected").to_f64_vec();
        let got = tm.out.to_f64_vec();
        let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
        let err = max_abs_diff(&got, &expected) / scale;
        say(&format!(
            "W2 {name}: {:.4} ms (events), wall {:.4} ms, {} steps, max err / max |ref| {err:.2e}",
            tm.event_ms,
            tm.wall_ms,
            plan.steps().len()
        ));
        parts.push(format!(
            "\"{name}\": {{\"ms\": {:.4}, \"min_ms\": {:.4}, \"wall_ms\": {:.4}, \"steps\": {}, \"max_err_over_max_ref\": {err:.3e}}}",
            tm.event_ms,
            tm.min_ms,
            tm.wall_ms,
            plan.steps().len()
        ));
    }
    println!(
        "{{\"workload\": \"einsum_chain\", \"einsums\": {{{}}}, \"status\": \"ok\"}}",
        parts.join(", ")
    );
}

/// W3's circuit for one batch (layer 1's attention reads batch b, the residual stream
/// carries batch a), compiled.
fn w3_plan(model: &Transformer, tok_a: &Tensor, tok_b: &Tensor) -> Plan {
    let module = |name: &str| Matcher::from(name) & Matcher::kinds([circuit_ir::Kind::Module]);
    let toks_a = tokens_array(tok_a, "tok_a").expect("a");
    let toks_b = tokens_array(tok_b, "tok_b").expect("b");
    let loss = model.loss(&toks_a).expect("loss");
    let loss =
        update(&loss, module("t.call"), |m| m.substitute().map_err(MatchError::from)).expect("sub");
    let (input_b, _) = circuit_models::split_tokens(&toks_b).expect("split");
    let norm_b =
        model.bind_tokens(&model.attn_norm(1).expect("norm"), &input_b, "a1.norm_b").expect("bind");
    let arg = IterativeMatcher::from(module("a1")).children_matcher([1]);
    let scrubbed = update(&loss, arg, |_| Ok::<_, MatchError>(norm_b.clone())).expect("scrub");
    let per_sample = scrubbed.mean(&[-1]).expect("mean");
    compile(&per_sample, &EvalSettings::default()).expect("compile")
}

fn w3(gpu: &CudaBackend) {
    let root = data_dir();
    let dir = root.join("sampled_scrub");
    if !dir.join("dataset.npy").is_file() {
        println!("{{\"workload\": \"sampled_scrub\", \"status\": \"skipped\"}}");
        return;
    }
    let (config, weights) = load_model_dir(&root.join("attn2")).expect("load");
    let model = Transformer::new(config, weights).expect("model");
    let data = read_npy(&dir.join("dataset.npy")).expect("dataset").to_i64_vec();
    let idx_a = read_npy(&dir.join("idx_a.npy")).expect("idx_a").to_i64_vec();
    let idx_b = read_npy(&dir.join("idx_b.npy")).expect("idx_b").to_i64_vec();
    let expected =
        read_npy(&dir.join("expected_per_sample_loss_f64.npy")).expect("exp").to_f64_vec();
    let n_batches: usize =
        std::env::var("W3_BATCHES").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let seq = 301;
    let rows = |idx: &[i64]| -> Tensor {
        let v: Vec<i64> = idx
            .iter()
            .flat_map(|&i| data[i as usize * seq..(i as usize + 1) * seq].to_vec())
            .collect();
        Tensor::from_vec(&[idx.len(), seq], v).expect("rows")
    };
    let (mut host_ms, mut run_ms, mut wall_ms, mut err) =
        (Vec::new(), Vec::new(), Vec::new(), 0.0f64);
    gpu.reset_peak_memory();
    // Batch 0 builds and compiles the scrubbed circuit; later batches run the same plan
    // with their token arrays swapped in (`Plan::with_constant`: no rebuild, no compile).
    let batch_tokens = |k: usize| {
        let sl = 32 * k..32 * (k + 1);
        (rows(&idx_a[sl.clone()]), rows(&idx_b[sl]))
    };
    let (tok_a0, tok_b0) = batch_tokens(0);
    let t = Instant::now();
    let plan0 = w3_plan(&model, &tok_a0, &tok_b0);
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    for k in 0..n_batches {
        let t = Instant::now();
        let plan = if k == 0 {
            plan0.clone()
        } else {
            let (a, b) = batch_tokens(k);
            plan0
                .with_constant(&tok_a0, a)
                .and_then(|p| p.with_constant(&tok_b0, b))
                .expect("swap tokens")
        };
        let host = t.elapsed().as_secs_f64() * 1e3;
        // The first batch compiles the kernels; later batches reuse them and the weights.
        let (out, ms) = gpu.time_ms(|| plan.run(gpu)).expect("timer");
        let out = out.expect("run").to_f64_vec();
        if k > 0 || n_batches == 1 {
            host_ms.push(host);
            run_ms.push(ms.unwrap_or(f64::NAN));
            wall_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        for (i, v) in out.iter().enumerate() {
            if let Some(r) = expected.get(32 * k + i) {
                err = err.max((v - r).abs() / r.abs().max(1e-6));
            }
        }
    }
    let (h, r, w) = (median(host_ms), median(run_ms), median(wall_ms));
    println!(
        "{{\"workload\": \"sampled_scrub\", \"batches\": {n_batches}, \"batch\": 32, \"gpu_ms_per_batch\": {r:.4}, \"gpu_ms_2048_samples\": {:.2}, \"wall_ms_per_batch\": {w:.4}, \"wall_ms_2048_samples\": {:.2}, \"host_ms_per_batch\": {h:.3}, \"build_and_compile_ms\": {build_ms:.1}, \"peak_gpu_mem_gib\": {:.3}, \"max_rel_err_vs_f64\": {err:.3e}, \"status\": \"ok\"}}",
        r * 64.0,
        w * 64.0,
        gpu.memory_stats().peak as f64 / (1u64 << 30) as f64
    );
    say(&format!(
        "W3: {r:.3} ms GPU, {w:.3} ms wall per batch of 32 (x64 = {:.1} / {:.1} ms for 2048 samples; tokens swapped into one plan in {h:.2} ms, built and compiled once in {build_ms:.0} ms), max rel err vs f64 {err:.2e}",
        r * 64.0,
        w * 64.0
    ));
}

/// `plan`: W1's plan and its kernel mix (no GPU needed).
fn explain_w1() {
    let dir = data_dir().join("attn2");
    let Ok((config, weights)) = load_model_dir(&dir) else {
        say(&format!("plan: no data in {}", dir.display()));
        return;
    };
    let toks = read_npy(&dir.join("tokens.npy")).expect("tokens");
    let model = Transformer::new(config, weights).expect("model");
    let loss = model.loss(&tokens_array(&toks, "toks").expect("toks")).expect("loss");
    let plan = compile(&loss, &EvalSettings::default()).expect("compile");
    println!("{}", plan.explain());
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for s in plan.steps() {
        *counts.entry(s.kernel.name()).or_default() += 1;
    }
    println!("kernels: {counts:?}");
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |w: &str| which.is_empty() || which.iter().any(|a| a == w);
    if which.iter().any(|a| a == "plan") {
        explain_w1();
        return;
    }
    let gpu = match CudaBackend::new(0) {
        Ok(g) => g,
        Err(e) => {
            println!(
                "{{\"status\": \"skipped\", \"error\": \"{}\"}}",
                e.to_string().replace('"', "'")
            );
            say(&format!("SKIPPED cuda benchmarks: {e}"));
            return;
        }
    };
    say(&format!("device: {}", gpu.device_name()));
    if want("w2") {
        w2(&gpu);
    }
    if want("w1") {
        w1(&gpu, 32);
    }
    if want("w1b256") {
        w1(&gpu, 256);
    }
    if want("w3") {
        w3(&gpu);
    }
}
