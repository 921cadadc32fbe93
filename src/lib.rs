//! `circuit`: a pure-Rust reimagining of Redwood Research's rust_circuit.
//!
//! This facade re-exports the layers; see `docs/ARCHITECTURE.md` for the map.

pub use circuit_einsum as einsum;
pub use circuit_ir as ir;
pub use circuit_tensor as tensor;
pub use circuit_text as text;
