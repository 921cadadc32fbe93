//! Parser options.

use std::collections::HashMap;
use std::path::PathBuf;

use circuit_ir::Circuit;
use circuit_tensor::TensorStore;

/// Options for [`crate::parse_circuits`]. The defaults match rust_circuit's `Parser()`.
#[derive(Debug)]
pub struct ParseOptions {
    /// Identifiers that stand for given circuits (a line with just the identifier).
    pub reference_circuits: HashMap<String, Circuit>,
    /// Every Array becomes a random tensor of its (then required) shape.
    pub tensors_as_random: bool,
    /// With `tensors_as_random`, tolerate hash payloads (they are ignored).
    pub allow_hash_with_random: bool,
    /// On a repeated identifier, restated name/shape/kind/AD must match the definition.
    pub on_repeat_check_info_same: bool,
    /// Module arguments whose symbol the spec does not use are an error.
    pub module_check_all_inputs_used: bool,
    /// Module argument symbols must have distinct names.
    pub module_check_unique_arg_names: bool,
    /// Where tensors referenced by hash are looked up (default: `CIRCUIT_TENSOR_DIR`).
    pub tensor_store: Option<TensorStore>,
    /// The file being parsed (for messages).
    pub file: Option<PathBuf>,
    /// Maximum nesting depth.
    pub max_depth: usize,
    /// Maximum input size in bytes.
    pub max_input_bytes: usize,
    /// Maximum bytes of any tensor the parser must create (random Arrays).
    pub max_tensor_bytes: u128,
    /// Seed for `rand` Arrays (`None`: a fresh random seed per parse).
    pub random_seed: Option<u64>,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions {
            reference_circuits: HashMap::new(),
            tensors_as_random: false,
            allow_hash_with_random: false,
            on_repeat_check_info_same: true,
            module_check_all_inputs_used: true,
            module_check_unique_arg_names: false,
            tensor_store: None,
            file: None,
            max_depth: 100_000,
            max_input_bytes: 1 << 30,
            max_tensor_bytes: 4 << 30,
            random_seed: None,
        }
    }
}

impl ParseOptions {
    pub(crate) fn store(&self) -> TensorStore {
        self.tensor_store.clone().unwrap_or_else(TensorStore::from_env)
    }

    /// The seed of the `n`-th random Array of a parse.
    pub(crate) fn random_seed_for(&self, n: u64) -> u64 {
        match self.random_seed {
            Some(s) => s.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            None => {
                let u = uuid::Uuid::new_v4();
                let b = u.as_bytes();
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
        }
    }
}
