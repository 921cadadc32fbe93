//! The rust_circuit conformance corpus (`fixtures/rc-compat/`, kept verbatim from the
//! cases checked against rust_circuit 0.4.3): every case is one test.
//!
//! Kinds: `reprint` (print equals `expected.txt`), `roundtrip` (printing is idempotent
//! and equals the print of `expected.circ`), `equal_group` (all inputs print the same),
//! `parse_error` (a clean error), `shape` (root shapes), `evaluate` (the CPU evaluator
//! against the float64 reference values), and `rewrite` (the operation named in
//! `case.json` gives `expected.circ`, compared after printing both with our printer).
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

use circuit::ir::Circuit;
use circuit::tensor::TensorStore;
use circuit::text::{parse_circuits, ParseOptions, PrintOptions};
use libtest_mimic::{Arguments, Failed, Trial};

fn read_json(path: &Path) -> Result<serde_json::Value, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn options(case: &Path, file: &Path) -> ParseOptions {
    let tensors = case.join("tensors");
    ParseOptions {
        file: Some(file.to_path_buf()),
        tensor_store: Some(TensorStore::open(if tensors.is_dir() {
            tensors
        } else {
            case.join("no-tensors")
        })),
        ..ParseOptions::default()
    }
}

fn parse(case: &Path, file: &Path) -> Result<Vec<Circuit>, Failed> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    parse_circuits(&text, &options(case, file)).map_err(|e| e.render().into())
}

fn fmt(case: &Path, file: &Path) -> Result<String, Failed> {
    let circuits = parse(case, file)?;
    PrintOptions::default().repr(&circuits).map_err(|e| e.to_string().into())
}

fn fmt_text(case: &Path, text: &str) -> Result<String, Failed> {
    let circuits =
        parse_circuits(text, &options(case, Path::new("<printed>"))).map_err(|e| e.render())?;
    PrintOptions::default().repr(&circuits).map_err(|e| e.to_string().into())
}

fn check_equal(what: &str, got: &str, want: &str) -> Result<(), Failed> {
    if got.trim_end() == want.trim_end() {
        return Ok(());
    }
    Err(format!("{what}:\n--- got\n{}\n--- expected\n{}", got.trim_end(), want.trim_end()).into())
}

fn shape_text(shape: &[usize]) -> String {
    circuit::ir::size::format_shape(shape)
}

fn expected_shape(v: &serde_json::Value) -> Option<String> {
    let dims = v.as_array()?;
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Some(format!("[{}]", parts.join(",")))
}

fn flatten(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Array(items) => items.iter().for_each(|x| flatten(x, out)),
        other => out.push(other.as_f64().unwrap_or(f64::NAN)),
    }
}

fn check_evaluate(case: &Path, input: &Path) -> Result<(), Failed> {
    let circuits = parse(case, input)?;
    let [root] = circuits.as_slice() else {
        return Err("evaluate cases have one root".into());
    };
    let got = circuit_eval::evaluate(root).map_err(|e| e.to_string())?;
    let exp = read_json(&case.join("expected.json"))?;
    let meta = read_json(&case.join("case.json"))?;
    let (rtol, atol) =
        (meta["rtol"].as_f64().unwrap_or(1e-5), meta["atol"].as_f64().unwrap_or(1e-6));
    let want_shape: Vec<usize> = exp["shape"]
        .as_array()
        .ok_or("no shape")?
        .iter()
        .filter_map(|v| v.as_u64().map(|x| x as usize))
        .collect();
    if got.shape() != want_shape.as_slice() {
        return Err(format!("shape {:?}, expected {want_shape:?}", got.shape()).into());
    }
    let mut want = Vec::new();
    flatten(&exp["value"], &mut want);
    for (i, (g, w)) in got.to_f64_vec().iter().zip(&want).enumerate() {
        if (g - w).abs() > atol + rtol * w.abs() {
            return Err(
                format!("value {i}: got {g}, expected {w} (rtol {rtol}, atol {atol})").into()
            );
        }
    }
    Ok(())
}

/// Runs the rust_circuit operation named in `case.json` with our rewrite library.
fn check_rewrite(case: &Path, input: &Path) -> Result<(), Failed> {
    use circuit::rewrite as rw;
    let circuits = parse(case, input)?;
    let last = circuits.last().ok_or("no circuits")?.clone();
    let meta = read_json(&case.join("case.json"))?;
    let op = meta["operation"]["name"].as_str().unwrap_or_default();
    let err = |e: rw::RewriteError| Failed::from(e.to_string());
    let everything =
        circuit::matching::new_traversal(None, None, circuit::matching::Matcher::never());
    let got: Option<Circuit> = match op {
        "einsum_concat_to_add" => {
            let c = rw::cast_circuit(&last, circuit::ir::DType::F64).map_err(err)?;
            let c = rw::strip_names_and_tags(&c).map_err(err)?;
            rw::rules::einsum_concat_to_add(&c).map_err(|e| e.to_string())?
        }
        "elim_no_input_module" => {
            rw::rules::elim_no_input_module(&last).map_err(|e| e.to_string())?
        }
        "ModulePusher.push_down_modules" => {
            Some(rw::push_down_modules(&last, everything, None).map_err(err)?)
        }
        "Module.substitute" => {
            Some(rw::substitute(&last, &rw::SubstituteNames::default()).map_err(err)?)
        }
        "substitute_all_modules" => Some(rw::substitute_all_modules(&last).map_err(err)?),
        "extract_symbols_get then Module.substitute" => {
            let e = rw::extract_symbols_get(&last, ["ln.w.bias", "ln.w.scale"]).map_err(err)?;
            let names = rw::SubstituteNames { prefix: Some("w.a.".into()), ..Default::default() };
            Some(rw::substitute(&e, &names).map_err(err)?)
        }
        other => return Err(format!("unknown rewrite operation {other:?}").into()),
    };
    let expected = case.join("expected.circ");
    let Some(got) = got else {
        return if expected.exists() { Err("the rewrite did not apply".into()) } else { Ok(()) };
    };
    if !expected.exists() {
        return Err(format!(
            "expected no rewrite, got:\n{}",
            PrintOptions::default().repr(&[got]).unwrap_or_default()
        )
        .into());
    }
    let printed = PrintOptions::default().repr(&[got]).map_err(|e| e.to_string())?;
    check_equal("rewrite result", &printed, &fmt(case, &expected)?)
}

fn run_case(case: &Path, kind: &str) -> Result<(), Failed> {
    let input = case.join("input.circ");
    match kind {
        "reprint" => {
            let want =
                std::fs::read_to_string(case.join("expected.txt")).map_err(|e| e.to_string())?;
            check_equal("reprint", &fmt(case, &input)?, &want)
        }
        "roundtrip" => {
            let once = fmt(case, &input)?;
            let twice = fmt_text(case, &once)?;
            check_equal("fmt is not idempotent", &twice, &once)?;
            let expected = case.join("expected.circ");
            if expected.exists() {
                check_equal("fmt(input) != fmt(expected.circ)", &once, &fmt(case, &expected)?)?;
            }
            Ok(())
        }
        "equal_group" => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(case.join("inputs"))
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            files.sort();
            let first = fmt(case, &files[0])?;
            for f in &files[1..] {
                check_equal(
                    &format!("{} differs from {}", f.display(), files[0].display()),
                    &fmt(case, f)?,
                    &first,
                )?;
            }
            Ok(())
        }
        "parse_error" => {
            let text = std::fs::read_to_string(&input).map_err(|e| e.to_string())?;
            match std::panic::catch_unwind(|| parse_circuits(&text, &options(case, &input))) {
                Ok(Ok(_)) => Err("expected a parse error, but parsing succeeded".into()),
                Ok(Err(e)) if e.message.is_empty() => Err("parse error without a message".into()),
                Ok(Err(_)) => Ok(()),
                Err(_) => Err("the parser panicked".into()),
            }
        }
        "shape" => {
            let circuits = parse(case, &input)?;
            let exp = read_json(&case.join("expected.json"))?;
            let shapes = exp["shapes"].as_array().ok_or("expected.json has no shapes")?;
            if shapes.len() != circuits.len() {
                return Err(format!("{} roots, expected {}", circuits.len(), shapes.len()).into());
            }
            for (i, (c, want)) in circuits.iter().zip(shapes).enumerate() {
                if let Some(want) = expected_shape(want) {
                    check_equal(&format!("shape of root {i}"), &shape_text(c.shape()), &want)?;
                }
            }
            Ok(())
        }
        "evaluate" => check_evaluate(case, &input),
        "rewrite" => check_rewrite(case, &input),
        other => Err(format!("unknown case kind {other}").into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rc-compat");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("case.json").exists())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    let trials = cases
        .into_iter()
        .map(|case| {
            let name =
                format!("rc-compat/{}", case.file_name().unwrap_or_default().to_string_lossy());
            let kind = read_json(&case.join("case.json"))
                .ok()
                .and_then(|v| v["kind"].as_str().map(str::to_string))
                .unwrap_or_default();
            Trial::test(name, move || run_case(&case, &kind))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
