//! CPU evaluator benchmarks (plain `std::time` loops, median of N; never asserted).
//!
//! ```text
//! python3 /work/shared/perf/workloads.py --data .scratch/perfdata   # once, from the repo root
//! cargo bench -p circuit-eval --bench eval_cpu [-- matmul|w2|w1]
//! ```
//!
//! * `matmul`: a 4096³ float32 matmul as a one-einsum circuit (GFLOP/s).
//! * `pairs`: the pairwise contractions of the W2 paths one at a time, on random data
//!   (best of 30, GFLOP/s): where a multi-operand einsum's time goes.
//! * `w2`: the three einsum chains of `shared/perf` (ms per einsum; compare with
//!   PyTorch's torch.einsum 20.1 / 11.1 / 18.0 ms and precomputed path 17.9 / 7.9 /
//!   12.7 ms from `shared/perf/README.md`), checked against a float64 evaluation.
//! * `w1`: the attn2 forward + NLL (see `attn2.rs`), when its data is present.
//!
//! The data directory defaults to `<repo>/.scratch/perfdata`; set `CIRCUIT_PERF_DATA`
//! to use another.

mod attn2;

use std::path::PathBuf;
use std::time::Instant;

use circuit_eval::{compile, CpuBackend, EvalSettings, Plan};
use circuit_ir::Circuit;
use circuit_tensor::{read_npy, DType, Tensor};

fn data_dir() -> PathBuf {
    std::env::var_os("CIRCUIT_PERF_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.scratch/perfdata"),
        PathBuf::from,
    )
}

/// Median and best wall time in seconds of `runs` runs of the plan (after one
/// warm-up). The machine is shared, so the best run is the better estimate of a quiet
/// machine; both are printed.
fn time_plan(plan: &Plan, runs: usize) -> (f64, f64, Tensor) {
    let backend = CpuBackend::new();
    let mut out = plan.run(&backend).expect("plan runs");
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        out = plan.run(&backend).expect("plan runs");
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], out)
}

fn matmul() {
    let n = 4096;
    let a = Circuit::array(Tensor::randn(&[n, n], DType::F32, 1).expect("randn"), Some("a"))
        .expect("array");
    let b = Circuit::array(Tensor::randn(&[n, n], DType::F32, 2).expect("randn"), Some("b"))
        .expect("array");
    let c = Circuit::einsum("ab,bc->ac", [a, b]).expect("einsum");
    let plan = compile(&c, &EvalSettings::default()).expect("compiles");
    let (t, best, _) = time_plan(&plan, 7);
    let flops = 2.0 * (n as f64).powi(3);
    println!(
        "matmul 4096^3 f32: median {:.1} ms = {:.1} GFLOP/s, best {:.1} ms = {:.1} GFLOP/s (7 runs)",
        t * 1e3,
        flops / t / 1e9,
        best * 1e3,
        flops / best / 1e9
    );
}

/// The pairwise steps of the W2 plans (`spec`, operand shapes), as the path optimizer
/// chooses them.
const PAIRS: [(&str, &[&[usize]]); 13] = [
    ("bsh,hd->bsd", &[&[4, 512, 768], &[768, 256]]),
    ("de,ef->df", &[&[256, 768], &[768, 384]]),
    ("btf,df->btd", &[&[4, 512, 384], &[256, 384]]),
    ("bsd,btd->bst", &[&[4, 512, 256], &[4, 512, 256]]),
    ("sm,hdm->hsd", &[&[320, 512], &[8, 64, 512]]),
    ("gtu,geu->tge", &[&[8, 320, 320], &[8, 64, 320]]),
    ("gne,tge->tn", &[&[8, 512, 64], &[320, 8, 64]]),
    ("hsd,htd->hst", &[&[8, 320, 64], &[8, 320, 64]]),
    ("hdn,gne->hdge", &[&[8, 64, 512], &[8, 512, 64]]),
    ("hdm,ghde->mge", &[&[8, 64, 512], &[8, 8, 64, 64]]),
    ("gep,bup->bgeu", &[&[8, 64, 512], &[4, 160, 512]]),
    ("bgtu,bgeu->btge", &[&[4, 8, 160, 160], &[4, 8, 64, 160]]),
    ("bsge,btge->bst", &[&[4, 160, 8, 64], &[4, 160, 8, 64]]),
];

/// CPU time of every thread of this process so far, in seconds (Linux; 0 elsewhere):
/// with `RAYON_NUM_THREADS=1` a measure of single-thread efficiency that other load
/// on the machine barely disturbs.
fn cpu_time() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// Minor page faults of this process so far (Linux; 0 elsewhere): fresh memory costs
/// one per 4 KiB page on first touch.
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesized command name; minflt is field 10.
            let rest = &s[s.rfind(')')? + 2..];
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

fn pairs() {
    for (i, (spec, shapes)) in PAIRS.iter().enumerate() {
        let ops: Vec<Circuit> = shapes
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let t = Tensor::randn(s, DType::F32, (10 * i + j) as u64).expect("randn");
                Circuit::array(t, Some(&format!("x{j}"))).expect("array")
            })
            .collect();
        let c = Circuit::einsum(spec, ops).expect("einsum");
        let plan = compile(&c, &EvalSettings::default()).expect("compiles");
        let cpu0 = cpu_time();
        let (t, best, _) = time_plan(&plan, 30);
        let cpu = (cpu_time() - cpu0) / 31.0;
        let gflop = plan.total_flops() as f64 / 1e9;
        println!(
            "pair {spec:<18} median {:6.3} ms, best {:6.3} ms = {:5.1} GFLOP/s; CPU time {:6.3} ms = {:5.1} GFLOP/s per CPU-second",
            t * 1e3,
            best * 1e3,
            gflop / best,
            cpu * 1e3,
            gflop / cpu
        );
    }
}

fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
    let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den.max(1e-300)).sqrt()
}

fn w2() {
    let dir = data_dir().join("einsum_chain");
    if !dir.exists() {
        println!("w2: no data in {} (run workloads.py --data first)", dir.display());
        return;
    }
    let cases: [(&str, &str, &[&str], f64, f64); 3] = [
        (
            "chain5_batched",
            "bsh,hd,de,ef,btf->bst",
            &["c5_x", "c5_w1", "c5_w2", "c5_w3", "c5_y"],
            20.1,
            17.9,
        ),
        (
            "kcomp7",
            "sm,hdm,hdn,gne,gep,gtu,up->hst",
            &["kc_xq", "w_q1", "w_k1", "w_o0", "w_v0", "kc_a0", "kc_xk"],
            11.1,
            7.9,
        ),
        (
            "kcomp8_batched",
            "bsm,hdm,hdn,gne,gep,bgtu,bup,gh->bst",
            &["kb_xq", "w_q1", "w_k1", "w_o0", "w_v0", "kb_a0", "kb_xk", "kb_pairs"],
            18.0,
            12.7,
        ),
    ];
    // `W2_CASE=<name>` runs one case (e.g. under a profiler).
    let only = std::env::var("W2_CASE").ok();
    for (name, eq, files, torch, torch_path) in cases {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let tensors: Vec<Tensor> =
            files.iter().map(|f| read_npy(&dir.join(format!("{f}.npy"))).expect("npy")).collect();
        let build = |dtype: DType| {
            let ops: Vec<Circuit> = tensors
                .iter()
                .zip(files)
                .map(|(t, f)| Circuit::array(t.cast(dtype), Some(f)).expect("array"))
                .collect();
            Circuit::einsum(eq, ops).expect("einsum")
        };
        let plan = compile(&build(DType::F32), &EvalSettings::default()).expect("compiles");
        let faults0 = minor_faults();
        let (t, best, out) = time_plan(&plan, 20);
        let faults = (minor_faults() - faults0) as f64 / 21.0;
        if std::env::var_os("CIRCUIT_BENCH_EXPLAIN").is_some() {
            let (_, times) = plan.run_timed(&CpuBackend::new()).expect("runs");
            println!("{}", plan.explain_with_times(&times));
        }
        let reference = compile(&build(DType::F64), &EvalSettings::default())
            .and_then(|p| p.run(&CpuBackend::new()))
            .expect("f64 reference");
        println!(
            "w2 {name:<15} median {:6.2} ms, best {:6.2} ms, {faults:.0} page faults per run  (torch.einsum {torch} ms, torch precomputed path {torch_path} ms; {:.2} GFLOP; rel err vs f64 {:.1e})",
            t * 1e3,
            best * 1e3,
            plan.total_flops() as f64 / 1e9,
            rel_err(&out, &reference)
        );
    }
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |w: &str| which.is_empty() || which.iter().any(|a| a == w);
    if want("matmul") {
        matmul();
    }
    if want("pairs") {
        pairs();
    }
    if want("w2") {
        w2();
    }
    if want("w1") {
        attn2::run(&data_dir().join("attn2"));
    }
}
