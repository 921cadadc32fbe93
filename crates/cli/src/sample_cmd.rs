//! `circ sample` and `circ estimate`.

use std::path::PathBuf;

use circuit_ir::Kind;
use circuit_sample::{RandomSampleSpec, Sampler};
use clap::Args;

use crate::commands::parse_file;
use crate::eval_cmd::{run_plan, EvalOptions};
use crate::{Failure, Outcome};

/// `circ sample` arguments.
#[derive(Args)]
pub(crate) struct SampleArgs {
    /// The circuit file (one root).
    file: PathBuf,
    /// Number of samples (the new leading axis).
    #[arg(long)]
    samples: usize,
    /// Base seed (each group's seed is its hash XOR this).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the sampled values to this .npy file.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    opts: EvalOptions,
}

/// `circ estimate` arguments.
#[derive(Args)]
pub(crate) struct EstimateArgs {
    /// The circuit file; every root that is a Cumulant is estimated.
    file: PathBuf,
    /// Number of samples.
    #[arg(long)]
    samples: usize,
    /// Base seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    opts: EvalOptions,
}

fn sampler(samples: usize, seed: u64) -> Sampler {
    Sampler::new(RandomSampleSpec::new(&[samples]).with_base_seed(seed))
}

pub(crate) fn sample(a: &SampleArgs) -> Result<Outcome, Failure> {
    let (_, roots) = parse_file(&a.file)?;
    let [root] = roots.as_slice() else {
        return Err(Failure::usage(format!(
            "circ sample needs a file with one root, found {}",
            roots.len()
        )));
    };
    let sampled =
        sampler(a.samples, a.seed).sample(root).map_err(|e| Failure::check(e.to_string()))?;
    let t = run_plan(&sampled, &a.opts.settings()?, &a.opts.runner()?, false)?;
    match &a.out {
        Some(out) => {
            circuit_tensor::write_npy(out, &t).map_err(|e| Failure::check(e.to_string()))?
        }
        None => {
            let s = t.stats();
            println!(
                "{} {:?}: mean {:.6} std {:.6}",
                t.dtype(),
                t.shape(),
                s.mean.unwrap_or(f64::NAN),
                s.std.unwrap_or(f64::NAN)
            );
        }
    }
    Ok(Outcome::Ok)
}

pub(crate) fn estimate(a: &EstimateArgs) -> Result<Outcome, Failure> {
    let (_, roots) = parse_file(&a.file)?;
    let settings = a.opts.settings()?;
    let s = sampler(a.samples, a.seed);
    let runner = a.opts.runner()?;
    let mut any = false;
    for (i, root) in roots.iter().enumerate() {
        if root.kind() != Kind::Cumulant {
            continue;
        }
        any = true;
        let (est, err) = s.estimate_with_error(root).map_err(|e| Failure::check(e.to_string()))?;
        let mean = run_plan(&est, &settings, &runner, false)?.to_f64_vec();
        let se = run_plan(&err, &settings, &runner, false)?.to_f64_vec();
        let name = root.name().map_or_else(|| format!("root{i}"), str::to_string);
        let cells: Vec<String> =
            mean.iter().zip(&se).map(|(m, e)| format!("{m:.6} ± {e:.6}")).collect();
        println!("{name}: {}", cells.join(", "));
    }
    if !any {
        return Err(Failure::usage("no root is a Cumulant (estimate takes `Cumulant` roots)"));
    }
    Ok(Outcome::Ok)
}
