//! [`EvalSettings`]: memory budget, threads, default dtype and compiler switches.

use circuit_tensor::DType;

/// Settings for compiling and running a circuit.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    /// Budget in bytes for everything the schedule keeps alive at once (intermediates
    /// and the output; the circuit's own Arrays are not counted). When the plan would
    /// exceed it, the compiler splits the computation into chunks along a batch-like
    /// axis; `None` = unlimited.
    pub max_memory: Option<u64>,
    /// Largest single intermediate tensor, in bytes (also bounds the einsum path
    /// optimizer's intermediates); `None` = unlimited.
    pub max_single_tensor: Option<u64>,
    /// Worker threads for the CPU backend (`None` = rayon's default: one per core).
    pub threads: Option<usize>,
    /// The dtype of nodes whose dtype the circuit leaves open (all-Scalar parts).
    pub default_dtype: DType,
    /// Run the simplification passes of `circuit-rewrite` before planning.
    pub simplify: bool,
    /// Fuse step patterns into single kernels after lowering (today: a next-token loss,
    /// `gen_index(log_softmax(contraction), targets)`, becomes one pass over tiles of the
    /// logits that never stores them; see `Kernel::ContractLogSoftmaxPick`).
    pub fuse: bool,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            max_memory: None,
            max_single_tensor: None,
            threads: None,
            default_dtype: DType::F32,
            simplify: true,
            fuse: true,
        }
    }
}
