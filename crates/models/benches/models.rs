//! Model-layer benchmarks (plain `std::time` loops, median of N; never asserted).
//!
//! ```text
//! python3 /work/shared/perf/workloads.py --data .scratch/perfdata   # once, from the repo root
//! cargo bench -p circuit-models --bench models [-- build|w1|heads]
//! ```
//!
//! * `build`: building the W1-shaped model circuit (`Transformer::new`) and binding the
//!   loss for 32 × 301 tokens (random weights; circuit construction only).
//! * `w1`: perf workload W1 through our model circuit (`t.loss` on all 32 sequences,
//!   float32), checked against `expected_nll_f64.npy`; compare with PyTorch eager
//!   4.95 s (`shared/perf/README.md`). Needs the data (`CIRCUIT_PERF_DATA` or
//!   `<repo>/.scratch/perfdata`).
//! * `heads`: the head detector on a 2-layer, 8-head, d_model 64 random model, 16
//!   sequences of 64 tokens.
//! * `CIRCUIT_MAX_MEMORY=<bytes>` sets the evaluator's memory budget for `w1`/`w3` (1 GB
//!   makes the plan chunk the unembedding and log-softmax; faster and ~1/3 the memory).
//! * `w3`: perf workload W3 (sampled scrub: layer 1 reads an independently drawn batch)
//!   for `W3_BATCHES` (default 4) batches of 32, per-sample losses compared with PyTorch's
//!   when `W3_TORCH` names an .npy of them (`scripts/perf/w3_torch.py` writes one).
//! * `paths`: matcher operations on GPT-2 small split by head (every head its own
//!   group, `a{l}.h{h}`), bound to 4 × 128 tokens: `get` of one head, `get` of every
//!   head's value input, and a typical path update (replace the tokens that reach one
//!   head's value input), each on a fresh matcher (no warm caches).

use std::path::PathBuf;
use std::time::Instant;

use circuit_eval::{compile, CpuBackend, EvalSettings};
use circuit_match::{get, update, IterativeMatcher, MatchError, Matcher};
use circuit_models::{
    detect_heads, load_model_dir, repeated_random_tokens, tokens_array, DetectOptions, HeadKind,
    HeadSplit, Transformer, TransformerConfig, Weights,
};
use circuit_tensor::{read_npy, DType, Tensor};

fn data_dir() -> PathBuf {
    std::env::var_os("CIRCUIT_PERF_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.scratch/perfdata"),
        PathBuf::from,
    )
}

/// `EvalSettings` with `CIRCUIT_MAX_MEMORY` (bytes) as the memory budget when set.
fn settings() -> EvalSettings {
    let max_memory = std::env::var("CIRCUIT_MAX_MEMORY").ok().and_then(|v| v.parse().ok());
    EvalSettings { max_memory, ..EvalSettings::default() }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn tokens(n: usize, s: usize, vocab: usize) -> Tensor {
    let v: Vec<i64> = (0..n * s).map(|i| ((i * 7919 + 13) % vocab) as i64).collect();
    Tensor::from_vec(&[n, s], v).expect("tokens")
}

fn build() {
    let cfg = TransformerConfig::attn_only(2, 8, 256, 32, 50259, 300);
    let w = Weights::random(&cfg, 1, DType::F32).expect("weights");
    let toks = tokens_array(&tokens(32, 301, 50259), "toks").expect("toks");
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let m = Transformer::new(cfg.clone(), w.clone()).expect("model");
            let loss = m.loss(&toks).expect("loss");
            assert_eq!(loss.shape().as_slice(), &[32, 300]);
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!("build W1-shaped model + bind loss: median {:.1} ms (5 runs)", median(times) * 1e3);
}

fn w1() {
    let dir = data_dir().join("attn2");
    if !dir.join("tok_embeds.npy").is_file() {
        println!("w1: skipped ({} not found)", dir.display());
        return;
    }
    let (config, weights) = load_model_dir(&dir).expect("load");
    let toks = read_npy(&dir.join("tokens.npy")).expect("tokens");
    let expected = read_npy(&dir.join("expected_nll_f64.npy")).expect("expected").to_f64_vec();
    let model = Transformer::new(config, weights).expect("model");
    let loss = model.loss(&tokens_array(&toks, "toks").expect("toks")).expect("loss");
    let t = Instant::now();
    let plan = compile(&loss, &settings()).expect("compile");
    let compile_s = t.elapsed().as_secs_f64();
    if std::env::var_os("CIRCUIT_BENCH_EXPLAIN").is_some() {
        let (_, times) = plan.run_timed(&CpuBackend::new()).expect("run");
        println!("{}", plan.explain_with_times(&times));
    }
    let backend = CpuBackend::new();
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..3 {
        let t = Instant::now();
        out = Some(plan.run(&backend).expect("run"));
        times.push(t.elapsed().as_secs_f64());
    }
    let got = out.map(|o| o.to_f64_vec()).unwrap_or_default();
    let err = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    println!(
        "w1 t.loss 32x300 f32: compile {:.2} s, run median {:.2} s (3 runs), max |Δnll| vs f64 {err:.2e}",
        compile_s,
        median(times)
    );
}

fn heads() {
    let cfg = TransformerConfig::attn_only(2, 8, 64, 8, 100, 64);
    let w = Weights::random(&cfg, 2, DType::F32).expect("weights");
    let model = Transformer::new(cfg, w).expect("model");
    let toks = repeated_random_tokens(16, 32, &(0..100).collect::<Vec<i64>>(), 3).expect("toks");
    let times: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let table =
                detect_heads(&model, &toks, &HeadKind::ALL, &DetectOptions::default()).expect("d");
            assert_eq!(table.scores.len(), 3);
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!("head detector 2x8 heads, 16 x 64 tokens: median {:.1} ms", median(times) * 1e3);
}

/// W3's circuit for one batch (layer 1's attention reads batch b, the residual stream
/// carries batch a), compiled.
fn w3_plan(model: &Transformer, tok_a: &Tensor, tok_b: &Tensor) -> circuit_eval::Plan {
    let module = |name: &str| Matcher::from(name) & Matcher::kinds([circuit_ir::Kind::Module]);
    let toks_a = tokens_array(tok_a, "tok_a").expect("a");
    let toks_b = tokens_array(tok_b, "tok_b").expect("b");
    let loss = model.loss(&toks_a).expect("loss");
    let loss =
        update(&loss, module("t.call"), |m| m.substitute().map_err(MatchError::from)).expect("sub");
    let (input_b, _) = circuit_models::split_tokens(&toks_b).expect("split");
    let norm_b =
        model.bind_tokens(&model.attn_norm(1).expect("norm"), &input_b, "a1.norm_b").expect("bind");
    // Layer 1's attention reads batch b; the residual stream carries batch a.
    let arg = IterativeMatcher::from(module("a1")).children_matcher([1]);
    let scrubbed = update(&loss, arg, |_| Ok::<_, MatchError>(norm_b.clone())).expect("scrub");
    let per_sample = scrubbed.mean(&[-1]).expect("mean");
    compile(&per_sample, &settings()).expect("compile")
}

fn w3() {
    let root = data_dir();
    let dir = root.join("sampled_scrub");
    if !dir.join("dataset.npy").is_file() {
        println!("w3: skipped ({} not found)", dir.display());
        return;
    }
    let (config, weights) = load_model_dir(&root.join("attn2")).expect("load");
    let model = Transformer::new(config, weights).expect("model");
    let data = read_npy(&dir.join("dataset.npy")).expect("dataset").to_i64_vec();
    let (idx_a, idx_b) = (
        read_npy(&dir.join("idx_a.npy")).expect("idx_a").to_i64_vec(),
        read_npy(&dir.join("idx_b.npy")).expect("idx_b").to_i64_vec(),
    );
    let torch = std::env::var_os("W3_TORCH")
        .map(|p| read_npy(std::path::Path::new(&p)).expect("torch").to_f64_vec());
    let n_batches: usize =
        std::env::var("W3_BATCHES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let rows = |idx: &[i64]| -> Tensor {
        let v: Vec<i64> = idx
            .iter()
            .flat_map(|&i| data[i as usize * 301..(i as usize + 1) * 301].to_vec())
            .collect();
        Tensor::from_vec(&[idx.len(), 301], v).expect("rows")
    };
    let (mut times, mut max_rel) = (Vec::new(), 0.0f64);
    let batch_tokens = |k: usize| {
        let sl = 32 * k..32 * (k + 1);
        (rows(&idx_a[sl.clone()]), rows(&idx_b[sl]))
    };
    // Batch 0 builds and compiles the scrubbed circuit; later batches run the same plan
    // with their token arrays swapped in (`Plan::with_constant`).
    let (tok_a0, tok_b0) = batch_tokens(0);
    let t = Instant::now();
    let plan0 = w3_plan(&model, &tok_a0, &tok_b0);
    eprintln!("  built and compiled in {:.3} s", t.elapsed().as_secs_f64());
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
        let swapped = t.elapsed().as_secs_f64();
        let out = plan.run(&CpuBackend::new()).expect("run");
        times.push(t.elapsed().as_secs_f64());
        eprintln!(
            "  batch {k}: tokens swapped in {swapped:.4} s, total {:.2} s",
            t.elapsed().as_secs_f64()
        );
        if let Some(tv) = &torch {
            for (i, v) in out.to_f64_vec().iter().enumerate() {
                if let Some(r) = tv.get(32 * k + i) {
                    max_rel = max_rel.max((v - r).abs() / r.abs().max(1e-6));
                }
            }
        }
    }
    println!(
        "w3 sampled scrub, {n_batches} batches of 32: median {:.2} s per batch (x64 = {:.0} s){}",
        median(times.clone()),
        median(times) * 64.0,
        if torch.is_some() {
            format!(", max rel. diff vs PyTorch {max_rel:.1e}")
        } else {
            String::new()
        }
    );
}

fn paths() {
    let layers: usize =
        std::env::var("PATHS_LAYERS").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let cfg = TransformerConfig::gpt2(layers, 12, 768, 50257, 1024);
    let w = Weights::random(&cfg, 4, DType::F32).expect("weights");
    let t = Instant::now();
    let model = Transformer::with_split(cfg, w, HeadSplit::full()).expect("model");
    let toks_t = tokens(4, 129, 50257);
    let toks = tokens_array(&toks_t, "toks").expect("toks");
    let loss = model.loss(&toks).expect("loss");
    let other = tokens_array(&toks_t, "toks_other").expect("other");
    println!(
        "gpt2-small split by head (144 groups): build {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let time = |label: &str, f: &dyn Fn() -> usize| {
        let mut n = 0;
        let times: Vec<f64> = (0..7)
            .map(|_| {
                let t = Instant::now();
                n = f();
                t.elapsed().as_secs_f64()
            })
            .collect();
        println!("  {label}: median {:.2} ms ({n} found)", median(times) * 1e3);
    };
    time("get a5.h3", &|| get(&loss, "a5.h3").expect("get").len());
    time("get every head's value input", &|| {
        let m = IterativeMatcher::from(Matcher::regex(r"^a\d+\.h\d+$").expect("regex"))
            .chain("a.head.on_inp")
            .children_matcher([3]);
        get(&loss, m).expect("get").len()
    });
    let substitute = |c: &circuit_ir::Circuit, name: &str| {
        update(c, Matcher::from(name) & Matcher::kinds([circuit_ir::Kind::Module]), |m| {
            m.substitute().map_err(MatchError::from)
        })
        .expect("substitute")
    };
    let t = Instant::now();
    let one = substitute(&loss, &std::env::var("PATHS_HEAD").unwrap_or_else(|_| "a5.h3".into()));
    println!(
        "  first (cold) substitute of the head group: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let _ = substitute(&one, "t.call");
    println!("  first substitute t.call: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    time("update: substitute the modules binding a5.h3's inputs", &|| {
        let sub = substitute(&substitute(&loss, "a5.h3"), "t.call");
        usize::from(sub != loss)
    });
    let sub = substitute(&substitute(&loss, "a5.h3"), "t.call");
    time("update: tokens reaching a5.h3's value input", &|| {
        let m = IterativeMatcher::from("a5.h3")
            .chain("a.head.on_inp")
            .children_matcher([3])
            .chain("toks");
        let out = update(&sub, m, |_| Ok::<_, MatchError>(other.clone())).expect("update");
        usize::from(out != sub)
    });
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if run("build") {
        build();
    }
    if run("heads") {
        heads();
    }
    if run("w1") {
        w1();
    }
    if run("w3") {
        w3();
    }
    if run("paths") {
        paths();
    }
}
