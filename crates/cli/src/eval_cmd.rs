//! `circ eval` and `circ bench`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use circuit_eval::{compile, EvalSettings};
use circuit_ir::{Circuit, DType};
use circuit_tensor::Tensor;
use clap::Args;

use crate::commands::parse_file;
use crate::device::Runner;
use crate::{Failure, Outcome};

/// Options shared by the evaluating commands.
#[derive(Args, Clone)]
pub(crate) struct EvalOptions {
    /// Memory budget in bytes (the plan batches to stay within it).
    #[arg(long)]
    max_memory: Option<u64>,
    /// Largest single tensor in bytes.
    #[arg(long)]
    max_single_tensor: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Dtype of nodes the circuit leaves open (only Scalars below): f32 or f64.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Where to run: cpu, or cuda / cuda:N for an NVIDIA GPU.
    #[arg(long, default_value = "cpu")]
    device: String,
}

impl EvalOptions {
    pub(crate) fn settings(&self) -> Result<EvalSettings, Failure> {
        let default_dtype = match self.dtype.as_str() {
            "f32" | "float32" => DType::F32,
            "f64" | "float64" => DType::F64,
            other => {
                return Err(Failure::usage(format!("--dtype must be f32 or f64, not '{other}'")))
            }
        };
        Ok(EvalSettings {
            max_memory: self.max_memory,
            max_single_tensor: self.max_single_tensor,
            threads: self.threads,
            default_dtype,
            ..EvalSettings::default()
        })
    }

    /// The backend `--device` names.
    pub(crate) fn runner(&self) -> Result<Runner, Failure> {
        Runner::new(&self.device, self.threads)
    }
}

/// `circ eval` arguments.
#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The circuit file (`-` for stdin).
    file: PathBuf,
    /// Evaluate the node with this name instead of the roots (repeatable).
    #[arg(long)]
    node: Vec<String>,
    /// Write the (single) result to this .npy file.
    #[arg(long, conflicts_with = "out_dir")]
    out: Option<PathBuf>,
    /// Write each result to `DIR/<name or root index>.npy`.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Print the compiled plan (steps, FLOPs, bytes, predicted peak memory).
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    opts: EvalOptions,
}

/// `circ bench` arguments.
#[derive(Args)]
pub(crate) struct BenchArgs {
    /// The circuit file (`-` for stdin).
    file: PathBuf,
    /// Timed repetitions (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[command(flatten)]
    opts: EvalOptions,
}

/// The circuits to evaluate with their output names.
fn targets(file: &Path, nodes: &[String]) -> Result<Vec<(String, Circuit)>, Failure> {
    let (_, roots) = parse_file(file)?;
    if nodes.is_empty() {
        return Ok(roots
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c.name().map_or_else(|| format!("root{i}"), str::to_string), c))
            .collect());
    }
    let all = circuit_ir::traversal::toposort(&roots);
    nodes
        .iter()
        .map(|n| {
            let found: Vec<&Circuit> =
                all.iter().filter(|c| c.name() == Some(n.as_str())).collect();
            match found.as_slice() {
                [one] => Ok((n.clone(), (*one).clone())),
                [] => Err(Failure::usage(format!("no node named '{n}' in {}", file.display()))),
                _ => Err(Failure::usage(format!("{} nodes are named '{n}'", found.len()))),
            }
        })
        .collect()
}

fn file_name_for(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '.' || c == '_' || c == '-' { c } else { '_' })
        .collect();
    format!("{safe}.npy")
}

fn summary(name: &str, t: &Tensor) -> String {
    let s = t.stats();
    format!(
        "{name}: {} {:?}  min {:.6} max {:.6} mean {:.6}",
        t.dtype(),
        t.shape(),
        s.min.unwrap_or(f64::NAN),
        s.max.unwrap_or(f64::NAN),
        s.mean.unwrap_or(f64::NAN)
    )
}

pub(crate) fn run_plan(
    c: &Circuit,
    settings: &EvalSettings,
    runner: &Runner,
    explain: bool,
) -> Result<Tensor, Failure> {
    let plan = compile(c, settings).map_err(|e| Failure::check(e.to_string()))?;
    if explain {
        println!("{}", plan.explain());
    }
    runner.run(&plan)
}

pub(crate) fn eval(a: &EvalArgs) -> Result<Outcome, Failure> {
    let settings = a.opts.settings()?;
    let targets = targets(&a.file, &a.node)?;
    if a.out.is_some() && targets.len() != 1 {
        return Err(Failure::usage(format!(
            "--out needs exactly one result, got {} (use --out-dir)",
            targets.len()
        )));
    }
    let runner = a.opts.runner()?;
    for (name, c) in &targets {
        let t = run_plan(c, &settings, &runner, a.explain)?;
        if let Some(out) = &a.out {
            circuit_tensor::write_npy(out, &t).map_err(|e| Failure::check(e.to_string()))?;
        } else if let Some(dir) = &a.out_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::check(format!("{}: {e}", dir.display())))?;
            let path = dir.join(file_name_for(name));
            circuit_tensor::write_npy(&path, &t).map_err(|e| Failure::check(e.to_string()))?;
            println!("{}", path.display());
        } else {
            println!("{}", summary(name, &t));
        }
    }
    Ok(Outcome::Ok)
}

pub(crate) fn bench(a: &BenchArgs) -> Result<Outcome, Failure> {
    let settings = a.opts.settings()?;
    let (_, roots) = parse_file(&a.file)?;
    let [root] = roots.as_slice() else {
        return Err(Failure::usage(format!(
            "circ bench needs a file with one root, found {}",
            roots.len()
        )));
    };
    let t0 = Instant::now();
    let plan = compile(root, &settings).map_err(|e| Failure::check(e.to_string()))?;
    let compile_s = t0.elapsed().as_secs_f64();
    let runner = a.opts.runner()?;
    // The warm-up run uploads constants and (on a GPU) compiles the kernels.
    runner.run(&plan)?;
    runner.reset_peak();
    let mut times = Vec::with_capacity(a.repeat.max(1));
    let mut device_ms = Vec::new();
    for _ in 0..a.repeat.max(1) {
        let (wall, ms) = runner.timed(&plan)?;
        times.push(wall);
        device_ms.extend(ms);
    }
    times.sort_by(f64::total_cmp);
    device_ms.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let flops = plan.total_flops() as f64;
    // Bytes every step writes (views write nothing) plus the constants it reads once.
    let bytes: f64 =
        plan.steps().iter().filter(|s| !s.kernel.is_view()).map(|s| s.bytes() as f64).sum::<f64>()
            + plan.constant_bytes() as f64;
    println!("file:        {}", a.file.display());
    println!("device:      {}", runner.describe());
    println!("compile:     {:.3} ms", compile_s * 1e3);
    println!(
        "median:      {:.3} ms over {} runs (min {:.3} ms)",
        median * 1e3,
        times.len(),
        times[0] * 1e3
    );
    let secs = match device_ms.get(device_ms.len() / 2) {
        Some(&ms) => {
            println!(
                "device time: {ms:.3} ms median (CUDA events; min {:.3} ms)",
                device_ms.first().copied().unwrap_or(ms)
            );
            ms * 1e-3
        }
        None => median,
    };
    println!("throughput:  {:.2} GFLOP/s ({:.3} GFLOP per run)", flops / secs / 1e9, flops / 1e9);
    println!(
        "bandwidth:   {:.2} GB/s (outputs written + constants read, {:.1} MB per run)",
        bytes / secs / 1e9,
        bytes / 1e6
    );
    println!(
        "peak memory: {:.1} MB predicted (constants {:.1} MB)",
        plan.peak_memory() as f64 / 1e6,
        plan.constant_bytes() as f64 / 1e6
    );
    if let Some(peak) = runner.peak_device_memory() {
        println!("device peak: {:.1} MB allocated by the backend", peak as f64 / 1e6);
    }
    Ok(Outcome::Ok)
}
