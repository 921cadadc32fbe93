//! A guided tour, from a first circuit to a scrubbing experiment. Every example here is
//! compiled and run by `cargo test`, so the guide cannot go stale.
//!
//! 0. [`_00_from_cargo_run`]: `docs/GUIDE.md`, from the main job to your own hypothesis.
//! 1. [`_01_circuits`]: building circuits, the text format, equality.
//! 2. [`_02_evaluation`]: evaluating, plans, memory budgets.
//! 3. [`_03_matching`]: selecting nodes and paths, rewriting with `update`.
//! 4. [`_04_sampling_and_scrubbing`]: random variables, estimates with error bars,
//!    scrubbing a path.
//! 5. [`_05_for_rust_circuit_users`]: rust_circuit (Python) → circuit (Rust).

pub mod _00_from_cargo_run;
pub mod _01_circuits;
pub mod _02_evaluation;
pub mod _03_matching;
pub mod _04_sampling_and_scrubbing;
pub mod _05_for_rust_circuit_users;
