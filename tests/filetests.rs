//! Text-driven tests: every `fixtures/**/*.circ` file is one test.
//!
//! A fixture starts with a header `# test: <command> [args]`, then the input circuit
//! text, then `# expect:` followed by the expected output as `# `-prefixed lines.
//! `CIRCUIT_BLESS=1 cargo test --test filetests` rewrites the expectations in place.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::path::{Path, PathBuf};

use circuit::text::{parse_circuits, ParseOptions, PrintOptions};
use libtest_mimic::{Arguments, Failed, Trial};

#[path = "support/opt.rs"]
mod opt;

struct Fixture {
    command: String,
    args: Vec<String>,
    input: String,
    expected: Option<String>,
}

fn read_fixture(path: &Path) -> Result<Fixture, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut command = None;
    let mut input = Vec::new();
    let mut expected: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(exp) = expected.as_mut() {
            let l = line.strip_prefix("# ").or_else(|| line.strip_prefix('#')).unwrap_or(line);
            exp.push(l.to_string());
            continue;
        }
        if command.is_none() {
            if let Some(h) = line.strip_prefix("# test:") {
                command = Some(h.trim().to_string());
                continue;
            }
        }
        if line.trim_end() == "# expect:" {
            expected = Some(Vec::new());
            continue;
        }
        if line.starts_with("##") {
            continue;
        }
        input.push(line);
    }
    let command = command.ok_or("missing `# test: <command>` header")?;
    let mut words = command.split_whitespace().map(str::to_string);
    let cmd = words.next().ok_or("empty test header")?;
    let expected = expected.map(|mut e| {
        while e.last().is_some_and(|l| l.is_empty()) {
            e.pop();
        }
        e.join("\n")
    });
    Ok(Fixture { command: cmd, args: words.collect(), input: input.join("\n"), expected })
}

fn print_options(args: &[String]) -> Result<PrintOptions, String> {
    let mut o = PrintOptions::default();
    for a in args {
        match a.as_str() {
            "--serial" => o.force_use_serial_numbers = true,
            "--arrows" => o.arrows = true,
            "--only-child-below" => o.only_child_below = true,
            "--shapes" => o.shape_only_when_necessary = false,
            "--comment-arg-names" => o.comment_arg_names = true,
            "--show-all-named-axes" => o.show_all_named_axes = true,
            "--non-bijection" => o.bijection = false,
            other => return Err(format!("unknown fmt flag {other}")),
        }
    }
    Ok(o)
}

fn run_fixture(rel: &str, fx: &Fixture) -> Result<String, String> {
    let opts = ParseOptions {
        file: Some(PathBuf::from(rel)),
        random_seed: Some(0),
        tensor_store: Some(circuit::tensor::TensorStore::open("fixtures/tensors")),
        ..ParseOptions::default()
    };
    match fx.command.as_str() {
        "fmt" => {
            let circuits = parse_circuits(&fx.input, &opts).map_err(|e| e.render())?;
            print_options(&fx.args)?.repr(&circuits).map_err(|e| e.to_string())
        }
        "roundtrip" => {
            let circuits = parse_circuits(&fx.input, &opts).map_err(|e| e.render())?;
            let printed = print_options(&fx.args)?.repr(&circuits).map_err(|e| e.to_string())?;
            let again = parse_circuits(&printed, &opts)
                .map_err(|e| format!("reparse failed:\n{}", e.render()))?;
            if again != circuits {
                return Err(format!("printed text parses to different circuits:\n{printed}"));
            }
            Ok(printed)
        }
        "diff" => {
            // The input is the new circuit, a `# old:` line, then the old circuit.
            let (new_text, old_text) =
                fx.input.split_once("# old:").ok_or("diff fixtures need a `# old:` line")?;
            let new = parse_circuits(new_text, &opts).map_err(|e| e.render())?;
            let old = parse_circuits(old_text, &opts).map_err(|e| e.render())?;
            let d =
                circuit::text::diff_circuits(&new, &old, &circuit::text::DiffOptions::default());
            Ok(format!("differs: {}\n{}", d.differs, d.text))
        }
        "parse-error" => match parse_circuits(&fx.input, &opts) {
            Ok(_) => Err("expected a parse error, but parsing succeeded".into()),
            Err(e) => Ok(e.render()),
        },
        "opt" => opt::run(&fx.args, &fx.input, &opts),
        other => Err(format!("unknown test command '{other}'")),
    }
}

fn bless(path: &Path, actual: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let head: Vec<&str> = text.lines().take_while(|l| l.trim_end() != "# expect:").collect();
    let mut out = head.join("\n");
    while out.ends_with('\n') {
        out.pop();
    }
    out.push_str("\n\n# expect:\n");
    for l in actual.lines() {
        if l.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(l);
            out.push('\n');
        }
    }
    std::fs::write(path, out).map_err(|e| e.to_string())
}

fn check(path: &Path, rel: &str) -> Result<(), Failed> {
    let fx = read_fixture(path)?;
    let actual = run_fixture(rel, &fx)?;
    if std::env::var_os("CIRCUIT_BLESS").is_some() {
        return Ok(bless(path, &actual)?);
    }
    let expected = fx.expected.unwrap_or_default();
    if actual.trim_end() == expected.trim_end() {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(expected.trim_end(), actual.trim_end());
    let mut msg = String::from("output differs (- expected, + actual):\n");
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        msg.push_str(&format!("{sign}{change}"));
        if !change.to_string().ends_with('\n') {
            msg.push('\n');
        }
    }
    msg.push_str("\nrun `CIRCUIT_BLESS=1 cargo test --test filetests` to accept the new output");
    Err(msg.into())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "circ") {
            out.push(p);
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for suite in ["format", "parse-error", "diff", "rewrite"] {
        collect(&root.join("fixtures").join(suite), &mut files);
    }
    let trials = files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let name = rel.trim_start_matches("fixtures/").trim_end_matches(".circ").to_string();
            Trial::test(name, move || check(&path, &rel))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
