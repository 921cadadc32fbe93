//! The main job: causal scrubbing of the induction heads of the bundled model
//! (`shared/reference/induction.md`; REMIX day 3 on our own model and data).
//!
//! ```text
//! cargo run --release --example induction -- [--samples N] [--seed S] [--out DIR]
//! ```
//!
//! Prints the table (loss ± standard error per hypothesis, fraction of loss recovered
//! ± standard error) and writes `DIR/index.html` (default `target/induction-report`):
//! the table, a bar chart, the head-detector scores and every scrubbed circuit in the
//! viewer, colored by which token variable each node reads.

mod experiment;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Causal scrubbing of the induction heads of the bundled model.
#[derive(Parser, Debug)]
struct Args {
    /// Samples per hypothesis (the same draws for every hypothesis).
    #[arg(long, default_value_t = experiment::Options::default().samples)]
    samples: usize,
    /// Base seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Report directory.
    #[arg(long, default_value = "target/induction-report")]
    out: PathBuf,
    /// Model directory (default: the bundled model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Evaluation memory budget in MiB.
    #[arg(long, default_value_t = 1024)]
    max_memory_mib: u64,
    /// Layer-0 heads forming the previous-token group `a0.prev`, e.g. `1,3,5`
    /// (default: the head detector's choice).
    #[arg(long, value_delimiter = ',')]
    prev_heads: Option<Vec<usize>>,
    /// Layer-1 heads forming the induction group `a1.ind` (default: detected).
    #[arg(long, value_delimiter = ',')]
    induction_heads: Option<Vec<usize>>,
    /// Skip the HTML report.
    #[arg(long)]
    no_report: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> experiment::Result<()> {
    let start = Instant::now();
    let mut opts = experiment::Options {
        samples: args.samples,
        seed: args.seed,
        max_memory: args.max_memory_mib << 20,
        prev_heads: args.prev_heads,
        induction_heads: args.induction_heads,
        ..experiment::Options::default()
    };
    if let Some(m) = args.model {
        opts.model_dir = m;
    }
    if opts.samples < 2 {
        return Err("--samples must be at least 2 (standard errors need two draws)".into());
    }
    let setup = experiment::setup(&opts)?;
    println!(
        "model {} | previous-token head(s) {} | induction head(s) {} | {} samples, seed {}",
        experiment::display_path(&opts.model_dir),
        experiment::FoundHeads::names(&setup.heads.previous_token),
        experiment::FoundHeads::names(&setup.heads.induction),
        opts.samples,
        opts.seed
    );
    let hyps = experiment::hypotheses(&setup)?;
    let rows = experiment::run(&opts, &hyps, |r| {
        eprintln!("  {:<42} {:.4} ± {:.4}   ({:.1} s)", r.name, r.mean, r.se, r.seconds);
    })?;
    println!();
    print!("{}", experiment::table(&rows));
    println!();
    println!(
        "loss: mean NLL (nats/byte) over positions whose input byte is a good induction \
         candidate (others count 0), ± one standard error over samples."
    );
    println!(
        "recovered = (loss − baseline) / (unscrubbed − baseline), paired over the same draws."
    );
    if !args.no_report {
        let path = report::write(&args.out, &opts, &setup, &hyps, &rows, start.elapsed())?;
        println!("report: {}", path.display());
    }
    eprintln!("total {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
