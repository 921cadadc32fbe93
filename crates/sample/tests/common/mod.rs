//! Shared helpers for the sampler tests: small datasets and exact reference statistics
//! computed with plain loops (independently of the circuits under test).
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use circuit_ir::{Circuit, Tensor};

/// Row `i`, feature `f` of the small dataset.
pub const DATA: [[f64; 2]; 5] = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25], [2.0, 1.0], [0.0, -0.75]];
/// Non-uniform row probabilities (sum to 1).
pub const PROBS: [f64; 5] = [0.1, 0.2, 0.3, 0.15, 0.25];

pub fn array(shape: &[usize], values: Vec<f64>, name: &str) -> Circuit {
    Circuit::array(Tensor::from_vec(shape, values).unwrap(), Some(name)).unwrap()
}

pub fn data() -> Circuit {
    array(&[5, 2], DATA.iter().flatten().copied().collect(), "data")
}

pub fn probs_group(name: &str) -> Circuit {
    array(&[5], PROBS.to_vec(), name)
}

/// `DiscreteVar(data, group)` named `name`.
pub fn var(values: &Circuit, group: &Circuit, name: &str) -> Circuit {
    Circuit::discrete_var(values.clone(), group.clone()).unwrap().rename(Some(name)).unwrap()
}

pub fn eval(c: &Circuit) -> Tensor {
    circuit_eval::evaluate(c).unwrap_or_else(|e| panic!("evaluating {c:?}: {e}"))
}

pub fn eval_vec(c: &Circuit) -> Vec<f64> {
    eval(c).to_f64_vec()
}

/// Exact weighted mean of each feature.
pub fn mean() -> [f64; 2] {
    let mut m = [0.0; 2];
    for (row, p) in DATA.iter().zip(PROBS) {
        for f in 0..2 {
            m[f] += p * row[f];
        }
    }
    m
}

/// Exact weighted central moment `E[∏_k (x_{idx_k} − μ_{idx_k})]`.
pub fn central_moment(idx: &[usize]) -> f64 {
    let m = mean();
    DATA.iter()
        .zip(PROBS)
        .map(|(row, p)| p * idx.iter().map(|&f| row[f] - m[f]).product::<f64>())
        .sum()
}

/// Every multi-index of `rank` features in C order.
pub fn multi_indices(rank: usize) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for _ in 0..rank {
        out = out
            .into_iter()
            .flat_map(|v| (0..2).map(move |f| [v.clone(), vec![f]].concat()))
            .collect();
    }
    out
}

pub fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w}\n{got:?}\n{want:?}"
        );
    }
}
