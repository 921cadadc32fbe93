//! Helpers shared by the integration tests.
#![allow(dead_code)]

use circuit_eval::{evaluate, evaluate_with, EvalSettings};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};

/// A float32 tensor.
pub fn f32t(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_vec(shape, v.iter().map(|&x| x as f32).collect()).unwrap()
}

/// A float64 tensor.
pub fn f64t(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_vec(shape, v.to_vec()).unwrap()
}

/// An int64 tensor.
pub fn i64t(shape: &[usize], v: &[i64]) -> Tensor {
    Tensor::from_vec(shape, v.to_vec()).unwrap()
}

/// An Array circuit.
pub fn arr(t: Tensor, name: &str) -> Circuit {
    Circuit::array(t, Some(name)).unwrap()
}

/// 0, 1, 2, ... as a float32 array of `shape`.
pub fn iota(shape: &[usize], name: &str) -> Circuit {
    let n: usize = shape.iter().product();
    arr(f32t(shape, &(0..n).map(|i| i as f64).collect::<Vec<_>>()), name)
}

/// Seeded normal float array.
pub fn randn(shape: &[usize], seed: u64, dtype: DType, name: &str) -> Circuit {
    arr(Tensor::randn(shape, dtype, seed).unwrap(), name)
}

/// Evaluates with default settings.
pub fn eval(c: &Circuit) -> Tensor {
    evaluate(c).unwrap_or_else(|e| panic!("evaluating {c:?}: {e}"))
}

/// Evaluates without the simplification passes.
pub fn eval_unsimplified(c: &Circuit) -> Tensor {
    let s = EvalSettings { simplify: false, ..EvalSettings::default() };
    evaluate_with(c, &s).unwrap()
}

/// Asserts shapes equal and `|a - e| <= atol + rtol * |e|` elementwise.
pub fn assert_close(actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64) {
    assert_eq!(actual.shape(), expected.shape(), "shapes differ");
    let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok = (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()) || x == y;
        assert!(
            ok,
            "element {i}: got {x}, expected {y} (rtol {rtol}, atol {atol})\n got {a:?}\nwant {e:?}"
        );
    }
}

/// Asserts the values equal the given list (float32 tolerance).
pub fn assert_values(actual: &Tensor, shape: &[usize], expected: &[f64]) {
    assert_close(actual, &f64t(shape, expected), 1e-5, 1e-6);
}
