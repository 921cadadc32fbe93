//! `circuit`: a pure-Rust reimagining of Redwood Research's rust_circuit.
//!
//! This facade re-exports the layers; see `docs/ARCHITECTURE.md` for the map.

pub use circuit_einsum as einsum;
pub use circuit_eval as eval;
pub use circuit_ir as ir;
pub use circuit_match as matching;
pub use circuit_models as models;
pub use circuit_rewrite as rewrite;
pub use circuit_sample as sample;
pub use circuit_scrub as scrub;
pub use circuit_tensor as tensor;
pub use circuit_text as text;
pub use circuit_viz as viz;

pub mod guide;
