//! proptest strategies over the generator. Shrinking reduces the number of construction
//! steps (smaller circuits) and the seed.
//!
//! ```
//! use circuit_testkit::strategy::arb_generated;
//! use circuit_testkit::GenConfig;
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(8), |(g in arb_generated(GenConfig::small()))| {
//!     prop_assert!(!g.roots.is_empty());
//! });
//! ```

use circuit_ir::Circuit;
use proptest::prelude::*;

use crate::{GenConfig, Generated, Generator};

/// Generations with `cfg`: the seed is arbitrary and the number of steps ranges over
/// `0..=cfg.ops`, so shrinking makes circuits smaller.
pub fn arb_generated(cfg: GenConfig) -> impl Strategy<Value = Generated> {
    (any::<u64>(), 0..=cfg.ops).prop_map(move |(seed, ops)| {
        Generator::new(seed, GenConfig { ops, ..cfg.clone() }).generate()
    })
}

/// The roots of [`arb_generated`].
pub fn arb_circuits(cfg: GenConfig) -> impl Strategy<Value = Vec<Circuit>> {
    arb_generated(cfg).prop_map(|g| g.roots)
}

/// Single circuits (default configuration): `any::<u64>().prop_map(random_circuit)`.
pub fn arb_circuit() -> impl Strategy<Value = Circuit> {
    any::<u64>().prop_map(crate::random_circuit)
}
