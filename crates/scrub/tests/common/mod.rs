//! Shared helpers of the causal-scrubbing tests: the parity toy of
//! `fixtures/scrub/parity_toy.circ` and its dataset.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use circuit_ir::{Circuit, Tensor};
use circuit_scrub::{abs_error_per_datum, Dataset, Result};
use circuit_tensor::Rng;
use circuit_text::{parse_circuits, ParseOptions};

/// Reads a fixture of `fixtures/scrub/`.
pub fn fixture(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scrub");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Parses a fixture with reference circuits; the first root.
pub fn parse_fixture(name: &str, refs: HashMap<String, Circuit>) -> Circuit {
    let opts = ParseOptions { reference_circuits: refs, ..ParseOptions::default() };
    parse_circuits(&fixture(name), &opts).unwrap().remove(0)
}

/// A named f32 Array.
pub fn array(shape: &[usize], values: Vec<f32>, name: &str) -> Circuit {
    Circuit::array(Tensor::from_vec(shape, values).unwrap(), Some(name)).unwrap()
}

/// A one-hot row of length 8.
pub fn one_hot(i: usize) -> Vec<f32> {
    (0..8).map(|j| if j == i { 1.0 } else { 0.0 }).collect()
}

/// The label of the parity toy: the parity of `a`, except 0 for `a == 7` (where the
/// model, which computes the parity, is wrong).
pub fn label(a: usize) -> f32 {
    if a == 7 {
        0.0
    } else {
        (a % 2) as f32
    }
}

/// The parity toy model: `out = a · parity_table + b · zeros`.
pub fn parity_model() -> Circuit {
    let refs = HashMap::from([
        ("a".to_string(), array(&[8], one_hot(0), "a")),
        ("b".to_string(), array(&[8], one_hot(0), "b")),
        ("ta".to_string(), array(&[8], (0..8).map(|i| (i % 2) as f32).collect(), "ta")),
        ("tb".to_string(), array(&[8], vec![0.0; 8], "tb")),
    ]);
    parse_fixture("parity_toy.circ", refs)
}

/// `n` data with random `a`, `b` in `0..8` (one-hot inputs), plus `a_idx`, `b_idx`
/// (int64) and `labels` (f32), which are not inputs.
pub fn parity_dataset(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut a_idx = Vec::new();
    let mut b_idx = Vec::new();
    for _ in 0..n {
        a_idx.push((rng.next_u64() % 8) as i64);
        b_idx.push((rng.next_u64() % 8) as i64);
    }
    let hot = |idx: &[i64]| -> Tensor {
        let v: Vec<f32> = idx.iter().flat_map(|&i| one_hot(i as usize)).collect();
        Tensor::from_vec(&[idx.len(), 8], v).unwrap()
    };
    let labels: Vec<f32> = a_idx.iter().map(|&a| label(a as usize)).collect();
    Dataset::new([
        ("a", hot(&a_idx)),
        ("b", hot(&b_idx)),
        ("a_idx", Tensor::from_vec(&[n], a_idx.clone()).unwrap()),
        ("b_idx", Tensor::from_vec(&[n], b_idx).unwrap()),
        ("labels", Tensor::from_vec(&[n], labels).unwrap()),
    ])
    .unwrap()
    .with_input_names(["a", "b"])
    .unwrap()
}

/// Per-datum |out − label|.
pub fn parity_loss(out: &Tensor, ds: &Dataset) -> Result<Vec<f64>> {
    abs_error_per_datum(out, ds.tensor("labels")?)
}

/// The feature `a mod 2` per datum.
pub fn parity_feature(ds: &Dataset) -> Result<Vec<Vec<i64>>> {
    Ok(ds.tensor("a_idx")?.to_i64_vec().into_iter().map(|a| vec![a % 2]).collect())
}

/// Bitwise equality of two tensors' values.
pub fn bits(t: &Tensor) -> Vec<u64> {
    t.to_f64_vec().into_iter().map(f64::to_bits).collect()
}
