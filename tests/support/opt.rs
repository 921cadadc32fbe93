//! The `opt` filetest command: run a `circ opt` pass list on every root, print the
//! result, and check that the rewrite kept the value (input and output are evaluated
//! with every free Symbol bound to the same seeded random tensor).

use circuit::eval::{evaluate_with, EvalSettings};
use circuit::ir::{Circuit, DType};
use circuit::rewrite::pipeline::{parse_pipeline, run_pipeline};
use circuit::text::{parse_circuits, ParseOptions, PrintOptions};
use circuit_testkit::bind_symbols_random;

/// Relative tolerance of the value check.
const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-6;

pub(crate) fn run(args: &[String], input: &str, opts: &ParseOptions) -> Result<String, String> {
    let steps = parse_pipeline(&args.join(",")).map_err(|e| e.to_string())?;
    let circuits = parse_circuits(input, opts).map_err(|e| e.render())?;
    let mut out = Vec::with_capacity(circuits.len());
    for c in &circuits {
        let r = run_pipeline(c, &steps).map_err(|e| format!("opt failed: {e}"))?;
        check_value(c, &r)?;
        out.push(r);
    }
    PrintOptions::default().repr(&out).map_err(|e| e.to_string())
}

fn check_value(before: &Circuit, after: &Circuit) -> Result<(), String> {
    let (Some(b), Some(a)) = (bind_symbols_random(before), bind_symbols_random(after)) else {
        return Ok(());
    };
    if !b.is_evaluable() {
        return Ok(());
    }
    // Inputs that cannot be evaluated (missing tensors, ...) are not checked.
    // float64 and no compiler simplification: the reference is the plain evaluation.
    let settings =
        EvalSettings { default_dtype: DType::F64, simplify: false, ..EvalSettings::default() };
    let Ok(want) = evaluate_with(&b, &settings) else { return Ok(()) };
    let got = evaluate_with(&a, &settings)
        .map_err(|e| format!("the input evaluates but the output does not: {e}"))?;
    if got.shape() != want.shape() {
        return Err(format!("value check: shape {:?}, expected {:?}", got.shape(), want.shape()));
    }
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        let same = (g.is_nan() && w.is_nan())
            || g == &w
            || (g - w).abs() <= ATOL + RTOL * w.abs().max(g.abs());
        if !same {
            return Err(format!("a rewrite changed the value: element {i} is {g}, expected {w}"));
        }
    }
    Ok(())
}
