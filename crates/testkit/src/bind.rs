//! Binding a circuit's free Symbols to seeded random tensors, so that two circuits
//! (before and after a rewrite) can be evaluated on the same inputs.

use circuit_ir::kinds::ModuleArgSpec;
use circuit_ir::size::shape_is_symbolic;
use circuit_ir::{Circuit, DType};
use circuit_tensor::Tensor;

/// `c` wrapped in a Module that binds each free Symbol to a float64 normal tensor seeded
/// by the Symbol's hash (the same Symbol gets the same values in every circuit); `c`
/// itself when nothing is free; `None` for a symbolic size or a binding failure.
pub fn bind_symbols_random(c: &Circuit) -> Option<Circuit> {
    let free = c.free_symbols().into_owned();
    if free.is_empty() {
        return Some(c.clone());
    }
    let mut args = Vec::new();
    for s in free {
        if shape_is_symbolic(s.shape()) {
            return None;
        }
        let h = s.hash().0;
        let seed = u64::from_le_bytes(h[..8].try_into().ok()?);
        let t = Tensor::randn(s.shape(), DType::F64, seed).ok()?;
        args.push((ModuleArgSpec::new(s).ok()?, Circuit::array(t, None).ok()?));
    }
    Circuit::module(c.clone(), args, None).ok()
}
