//! Subcommand definitions and their implementations.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use circuit_ir::{Circuit, Kind};
use circuit_tensor::TensorStore;
use circuit_text::{ParseOptions, PrintOptions};
use clap::{Parser, Subcommand};

use crate::{Failure, Outcome};

/// Parse, print, check and evaluate circuit text files (`.circ`).
#[derive(Parser)]
#[command(name = "circ", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse files and print them in canonical form.
    Fmt {
        /// Files to format (`-` for stdin).
        files: Vec<PathBuf>,
        /// Exit 1 when a file is not already canonical (prints nothing).
        #[arg(long)]
        check: bool,
        /// Give every node a serial number.
        #[arg(long)]
        serial: bool,
        /// Draw the tree with arrows.
        #[arg(long)]
        arrows: bool,
        /// Print `▼` and the only child at the same indentation.
        #[arg(long)]
        only_child_below: bool,
        /// Print every shape.
        #[arg(long)]
        shapes: bool,
    },
    /// Parse and validate a file; print a summary.
    Check {
        /// The file (`-` for stdin).
        file: PathBuf,
    },
    /// Print the shape of each top-level circuit, one per line.
    Shape {
        /// The file (`-` for stdin).
        file: PathBuf,
    },
    /// Show how NEW differs from OLD, aligned node by node; exit 1 when they differ.
    Diff {
        /// The old file.
        old: PathBuf,
        /// The new file.
        new: PathBuf,
        /// Colors: auto (on a terminal), always or never.
        #[arg(long, default_value = "auto")]
        color: String,
    },
    /// Evaluate roots (or named nodes) and write .npy files or print summaries.
    Eval(crate::eval_cmd::EvalArgs),
    /// Time the evaluation of a file's root.
    Bench(crate::eval_cmd::BenchArgs),
    /// Sample every DiscreteVar (random draws) and evaluate the root.
    Sample(crate::sample_cmd::SampleArgs),
    /// Estimate every Cumulant root by sampling: mean ± standard error.
    Estimate(crate::sample_cmd::EstimateArgs),
    /// Rewrite with rules and passes (`-p add-flatten,simp`) and print the result.
    Opt(crate::opt_cmd::OptArgs),
    /// Write a self-contained HTML page showing the circuits as a collapsible tree.
    Show(crate::show_cmd::ShowArgs),
    /// Write Graphviz DOT of the circuits' DAG (shared nodes drawn once).
    Dot(crate::show_cmd::DotArgs),
    /// Tensor store operations.
    Tensor {
        #[command(subcommand)]
        command: TensorCommand,
    },
}

#[derive(Subcommand)]
enum TensorCommand {
    /// Add .npy files to the store and print their hashes.
    Add {
        /// The .npy files.
        files: Vec<PathBuf>,
    },
    /// Show shape, dtype and statistics of a stored tensor.
    Show {
        /// A hash prefix.
        prefix: String,
    },
    /// List stored tensors.
    List,
}

pub(crate) fn run(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Fmt { files, check, serial, arrows, only_child_below, shapes } => {
            let opts = PrintOptions {
                force_use_serial_numbers: serial,
                arrows,
                only_child_below,
                shape_only_when_necessary: !shapes,
                ..PrintOptions::default()
            };
            fmt(&files, check, &opts)
        }
        Command::Check { file } => check(&file),
        Command::Shape { file } => shape(&file),
        Command::Tensor { command } => tensor(command),
        Command::Diff { old, new, color } => diff(&old, &new, &color),
        Command::Eval(a) => crate::eval_cmd::eval(&a),
        Command::Bench(a) => crate::eval_cmd::bench(&a),
        Command::Sample(a) => crate::sample_cmd::sample(&a),
        Command::Estimate(a) => crate::sample_cmd::estimate(&a),
        Command::Opt(a) => crate::opt_cmd::opt(&a),
        Command::Show(a) => crate::show_cmd::show(&a),
        Command::Dot(a) => crate::show_cmd::dot(&a),
    }
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading stdin")?;
        return Ok(s);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid UTF-8 (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

pub(crate) fn parse_file(path: &Path) -> Result<(String, Vec<Circuit>), Failure> {
    let text = read_input(path)?;
    let opts = ParseOptions { file: Some(path.to_path_buf()), ..ParseOptions::default() };
    let circuits =
        circuit_text::parse_circuits(&text, &opts).map_err(|e| Failure::usage(e.render()))?;
    Ok((text, circuits))
}

fn fmt(files: &[PathBuf], check: bool, opts: &PrintOptions) -> Result<Outcome, Failure> {
    if files.is_empty() {
        return Err(Failure::usage("circ fmt: no files given (use `-` for stdin)"));
    }
    let mut outcome = Outcome::Ok;
    for f in files {
        let (text, circuits) = parse_file(f)?;
        let printed = opts.repr(&circuits).map_err(|e| Failure::usage(e.to_string()))?;
        if check {
            if printed.trim_end() != text.trim_end() {
                eprintln!("{}: not canonical", f.display());
                outcome = Outcome::Differences;
            }
        } else {
            println!("{printed}");
        }
    }
    Ok(outcome)
}

fn check(file: &Path) -> Result<Outcome, Failure> {
    let (_, circuits) = parse_file(file)?;
    let nodes = circuit_ir::traversal::toposort(&circuits);
    let mut counts: std::collections::BTreeMap<&'static str, usize> =
        std::collections::BTreeMap::new();
    let mut params: u128 = 0;
    let mut free: Vec<Circuit> = Vec::new();
    for n in &nodes {
        *counts.entry(n.kind().name()).or_insert(0) += 1;
        if n.kind() == Kind::Array {
            params += n.numel();
        }
    }
    for c in &circuits {
        for s in c.free_symbols().iter() {
            if !free.contains(s) {
                free.push(s.clone());
            }
        }
    }
    println!("{}: ok", file.display());
    println!("roots: {}", circuits.len());
    for c in &circuits {
        println!(
            "  {} {} {}{}",
            c.node_ref(),
            circuit_ir::size::format_shape(c.shape()),
            c.kind().name(),
            if c.is_evaluable() { "" } else { " (not evaluable)" }
        );
    }
    println!("nodes: {}", nodes.len());
    for (k, n) in counts {
        println!("  {k}: {n}");
    }
    println!("free symbols: {}", free.len());
    for s in &free {
        println!("  {} {}", s.node_ref(), circuit_ir::size::format_shape(s.shape()));
    }
    println!("parameters: {params}");
    Ok(Outcome::Ok)
}

fn shape(file: &Path) -> Result<Outcome, Failure> {
    let (_, circuits) = parse_file(file)?;
    for c in &circuits {
        println!("{}", circuit_ir::size::format_shape(c.shape()));
    }
    Ok(Outcome::Ok)
}

fn tensor(cmd: TensorCommand) -> Result<Outcome, Failure> {
    let store = TensorStore::from_env();
    match cmd {
        TensorCommand::Add { files } => {
            if files.is_empty() {
                return Err(Failure::usage("circ tensor add: no files given"));
            }
            for f in files {
                let t = circuit_tensor::read_npy(&f).map_err(|e| Failure::usage(e.to_string()))?;
                let h = store.save(&t).map_err(|e| Failure::check(e.to_string()))?;
                println!("{h}  {}", f.display());
            }
        }
        TensorCommand::Show { prefix } => {
            let t = store.load_prefix(&prefix).map_err(|e| Failure::check(e.to_string()))?;
            println!("hash: {}", t.hash());
            println!("{}", t.stats());
        }
        TensorCommand::List => {
            for h in store.list().map_err(|e| Failure::check(e.to_string()))? {
                let (shape, dtype) = store.header(&h).map_err(|e| Failure::check(e.to_string()))?;
                println!("{h} {dtype} {shape:?}");
            }
        }
    }
    Ok(Outcome::Ok)
}

fn diff(old: &Path, new: &Path, color: &str) -> Result<Outcome, Failure> {
    use std::io::IsTerminal;
    let color = match color {
        "always" => true,
        "never" => false,
        "auto" => std::io::stdout().is_terminal(),
        other => {
            return Err(Failure::usage(format!(
                "--color must be auto, always or never, not '{other}'"
            )))
        }
    };
    let (_, old_c) = parse_file(old)?;
    let (_, new_c) = parse_file(new)?;
    let opts = circuit_text::DiffOptions { color, ..circuit_text::DiffOptions::default() };
    let d = circuit_text::diff_circuits(&new_c, &old_c, &opts);
    if d.differs {
        println!("{}", d.text);
        Ok(Outcome::Differences)
    } else {
        Ok(Outcome::Ok)
    }
}
