//! `circ show` (a self-contained HTML tree viewer of a file's circuits) and `circ dot`
//! (Graphviz DOT of their DAG), both from `circuit-viz`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use circuit_ir::Circuit;
use circuit_viz::{to_dot_with, to_html, DotOptions, HtmlOptions, NodeColorer};
use clap::Args;

use crate::commands::parse_file;
use crate::{Failure, Outcome};

/// `circ show` arguments.
#[derive(Args)]
pub(crate) struct ShowArgs {
    /// The circuit file (`-` for stdin).
    file: PathBuf,
    /// Write the HTML page here (default: standard output).
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
    /// Line colors: `kind`, `plain`, or `reaches:NAME` (red where a DiscreteVar or
    /// Symbol named NAME is at or below the node).
    #[arg(long, default_value = "kind")]
    color: String,
    /// Levels expanded when the page opens (0: only the roots).
    #[arg(long, default_value_t = 3)]
    expand: usize,
    /// Show the node with this name instead of the roots (repeatable).
    #[arg(long)]
    node: Vec<String>,
    /// The page title (default: the file name).
    #[arg(long)]
    title: Option<String>,
    /// Print shapes only where the printer needs them (default: every shape).
    #[arg(long)]
    necessary_shapes: bool,
    /// Do not comment children with their roles (einsum labels, `Spec`, ...).
    #[arg(long)]
    no_arg_comments: bool,
}

/// `circ dot` arguments.
#[derive(Args)]
pub(crate) struct DotArgs {
    /// The circuit file (`-` for stdin).
    file: PathBuf,
    /// Write the DOT text here (default: standard output).
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
    /// Graph direction: TB (roots on top), LR, BT or RL.
    #[arg(long, default_value = "TB")]
    rankdir: String,
    /// Draw the node with this name instead of the roots (repeatable).
    #[arg(long)]
    node: Vec<String>,
    /// Do not color nodes by kind.
    #[arg(long)]
    no_color: bool,
    /// Truncate label lines to this many characters.
    #[arg(long, default_value_t = 60)]
    max_label: usize,
}

/// Parses `--color`.
fn colorer(spec: &str) -> Result<NodeColorer, Failure> {
    match spec {
        "kind" => Ok(NodeColorer::ByKind),
        "plain" | "none" => Ok(NodeColorer::Plain),
        _ => match spec.strip_prefix("reaches:") {
            Some(name) if !name.is_empty() => Ok(NodeColorer::ReachesVar(name.to_string())),
            _ => Err(Failure::usage(format!(
                "--color must be kind, plain or reaches:NAME, not '{spec}'"
            ))),
        },
    }
}

/// The roots to draw: the file's roots, or the named nodes.
fn selected(file: &Path, names: &[String]) -> Result<Vec<Circuit>, Failure> {
    let (_, roots) = parse_file(file)?;
    if names.is_empty() {
        return Ok(roots);
    }
    let all = circuit_ir::traversal::toposort(&roots);
    names
        .iter()
        .map(|n| {
            let found: Vec<&Circuit> =
                all.iter().filter(|c| c.name() == Some(n.as_str())).collect();
            match found.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(Failure::usage(format!("no node named '{n}' in {}", file.display()))),
                _ => Err(Failure::usage(format!("{} nodes are named '{n}'", found.len()))),
            }
        })
        .collect()
}

/// Writes `text` to `out`, or to standard output.
fn emit(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Failure::from),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub(crate) fn show(a: &ShowArgs) -> Result<Outcome, Failure> {
    let colorer = colorer(&a.color)?;
    let roots = selected(&a.file, &a.node)?;
    let title = a.title.clone().unwrap_or_else(|| {
        if a.file == Path::new("-") {
            "circuit".to_string()
        } else {
            a.file
                .file_name()
                .map_or_else(|| a.file.display().to_string(), |n| n.to_string_lossy().into_owned())
        }
    });
    let opts = HtmlOptions {
        title,
        colorer,
        expand_depth: a.expand,
        shapes_always: !a.necessary_shapes,
        comment_arg_names: !a.no_arg_comments,
        ..HtmlOptions::default()
    };
    let html = to_html(&roots, &opts).map_err(|e| Failure::usage(e.to_string()))?;
    emit(a.out.as_deref(), &html)?;
    Ok(Outcome::Ok)
}

pub(crate) fn dot(a: &DotArgs) -> Result<Outcome, Failure> {
    let rankdir = a.rankdir.to_ascii_uppercase();
    if !["TB", "LR", "BT", "RL"].contains(&rankdir.as_str()) {
        return Err(Failure::usage(format!(
            "--rankdir must be TB, LR, BT or RL, not '{}'",
            a.rankdir
        )));
    }
    if a.max_label < 2 {
        return Err(Failure::usage("--max-label must be at least 2"));
    }
    let roots = selected(&a.file, &a.node)?;
    let opts = DotOptions {
        rankdir,
        color_by_kind: !a.no_color,
        max_label_chars: a.max_label,
        ..DotOptions::default()
    };
    emit(a.out.as_deref(), &to_dot_with(&roots, &opts))?;
    Ok(Outcome::Ok)
}
