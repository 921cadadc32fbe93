//! `circ opt -p rule1,pass2,... FILE`: run rewrite rules and passes (LLVM-opt style) and
//! print the rewritten circuits; `--list` prints every rule and pass name.

use std::path::PathBuf;

use circuit_rewrite::pipeline::{parse_pipeline, run_pipeline, PASSES};
use circuit_rewrite::RULES;
use circuit_text::PrintOptions;
use clap::Args;

use crate::commands::parse_file;
use crate::{Failure, Outcome};

/// `circ opt` arguments.
#[derive(Args)]
pub(crate) struct OptArgs {
    /// The circuit file (`-` for stdin).
    file: Option<PathBuf>,
    /// Comma-separated rules and passes, run in order (`add-flatten,simp`).
    #[arg(short = 'p', long = "passes")]
    passes: Option<String>,
    /// List the rule and pass names and exit.
    #[arg(long)]
    list: bool,
}

pub(crate) fn opt(a: &OptArgs) -> Result<Outcome, Failure> {
    if a.list {
        println!("rules (each run to a fixed point):");
        for r in RULES {
            println!("  {}", r.name);
        }
        println!("passes:");
        for p in PASSES {
            println!("  {:<32} {}", p.name, p.summary);
        }
        return Ok(Outcome::Ok);
    }
    let Some(file) = &a.file else {
        return Err(Failure::usage("circ opt: no file given (use `-` for stdin)"));
    };
    let Some(passes) = &a.passes else {
        return Err(Failure::usage("circ opt: give the passes with -p (see --list)"));
    };
    let steps = parse_pipeline(passes).map_err(|e| Failure::usage(e.to_string()))?;
    let (_, circuits) = parse_file(file)?;
    let mut out = Vec::with_capacity(circuits.len());
    for c in &circuits {
        out.push(run_pipeline(c, &steps).map_err(|e| Failure::check(e.to_string()))?);
    }
    let printed = PrintOptions::default().repr(&out).map_err(|e| Failure::usage(e.to_string()))?;
    println!("{printed}");
    Ok(Outcome::Ok)
}
