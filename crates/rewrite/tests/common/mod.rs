//! Shared test helpers: parse text, bind free Symbols to seeded random tensors and
//! compare evaluated values.
#![allow(dead_code, clippy::unwrap_used)]

use circuit_eval::{evaluate_with, EvalSettings};
use circuit_ir::{Circuit, DType};
use circuit_text::{parse_circuits, ParseOptions, PrintOptions};

pub fn parse(text: &str) -> Vec<Circuit> {
    parse_circuits(text, &ParseOptions { random_seed: Some(0), ..ParseOptions::default() }).unwrap()
}

pub fn parse1(text: &str) -> Circuit {
    parse(text).pop().unwrap()
}

pub fn print(c: &Circuit) -> String {
    PrintOptions::default().repr(std::slice::from_ref(c)).unwrap()
}

/// `c` with free Symbols bound to seeded random float64 tensors (`None` for symbolic
/// shapes or binding failures).
pub fn bind(c: &Circuit) -> Option<Circuit> {
    circuit_testkit::bind_symbols_random(c)
}

/// The value of `c` with Symbols bound, if it can be evaluated.
pub fn value(c: &Circuit) -> Option<Vec<f64>> {
    // Keep tests small: random circuits may declare huge shapes.
    if c.toposort().iter().any(|n| n.numel() > 20_000) {
        return None;
    }
    let b = bind(c)?;
    if !b.is_evaluable() {
        return None;
    }
    let settings =
        EvalSettings { default_dtype: DType::F64, simplify: false, ..EvalSettings::default() };
    evaluate_with(&b, &settings).ok().map(|t| t.to_f64_vec())
}

/// Equal within tolerance. Values that are not finite in `a` (the reference) are not
/// compared: with infinities, results depend on the evaluation order (`inf * 0`).
pub fn close(a: &[f64], b: &[f64]) -> bool {
    if a.iter().any(|x| !x.is_finite()) {
        return a.len() == b.len();
    }
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.is_nan() && y.is_nan())
                || x == y
                || (x - y).abs() <= 1e-6 + 1e-4 * x.abs().max(y.abs())
        })
}

/// Asserts the two circuits evaluate to the same value (both must be evaluable).
pub fn assert_same_value(before: &Circuit, after: &Circuit) {
    assert_eq!(before.shape(), after.shape());
    let (a, b) = (value(before).expect("before evaluates"), value(after).expect("after evaluates"));
    assert!(close(&a, &b), "values differ:\n{a:?}\n{b:?}\n{}", print(after));
}
