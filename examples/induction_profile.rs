//! Profiling aid (not part of the main job): times each plan step of the unscrubbed loss on N samples.
#[path = "induction/experiment.rs"]
mod experiment;
use circuit::eval::{compile, CpuBackend, EvalSettings};
fn main() -> experiment::Result<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(64), |s| s.parse())?;
    let opts = experiment::Options { samples: n, ..Default::default() };
    let s = experiment::setup(&opts)?;
    let sampled = experiment::sampler(&opts).sample(&s.loss)?;
    let settings = EvalSettings { max_memory: Some(opts.max_memory), ..EvalSettings::default() };
    let plan = compile(&sampled, &settings)?;
    let _ = plan.run(&CpuBackend::new())?;
    let (_, times) = plan.run_timed(&CpuBackend::new())?;
    let text = plan.explain_with_times(&times);
    println!("{text}");
    eprintln!("total {:.1} ms", times.iter().sum::<f64>() * 1e3);
    Ok(())
}
