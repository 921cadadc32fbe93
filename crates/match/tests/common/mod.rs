//! Shared helpers for the circuit-match tests: parse circuits from the text format.

#![allow(dead_code, clippy::unwrap_used)]

use circuit_ir::Circuit;
use circuit_match::{get, IterativeMatcher};
use circuit_text::{parse_circuit, parse_circuits, ParseOptions, PrintOptions};

/// Parses one circuit.
pub fn parse(text: &str) -> Circuit {
    parse_circuit(text, &ParseOptions::default()).unwrap()
}

/// Parses several circuits.
pub fn parse_many(text: &str) -> Vec<Circuit> {
    parse_circuits(text, &ParseOptions::default()).unwrap()
}

/// The unique node with this name.
pub fn node(c: &Circuit, name: &str) -> Circuit {
    circuit_match::get_unique(c, name).unwrap()
}

/// Names of the found nodes, sorted.
pub fn names(c: &Circuit, m: impl Into<IterativeMatcher>) -> Vec<String> {
    let mut v: Vec<String> =
        get(c, m).unwrap().iter().map(|x| x.name().unwrap_or("<unnamed>").to_owned()).collect();
    v.sort();
    v
}

/// Prints with default (bijection) options.
pub fn print(c: &Circuit) -> String {
    PrintOptions::default().repr(std::slice::from_ref(c)).unwrap()
}

/// The small circuit of test_rust_get_update.py: `fin = ein + softmax(ein)`,
/// `ein = a @ b`.
pub fn fin() -> Circuit {
    parse(
        "'fin' Add
  'ein' Einsum ij,jk->ik
    'a' [1,2] Scalar 1
    'b' [2,3] Scalar 2
  'soft' GeneralFunction softmax
    'ein'",
    )
}
