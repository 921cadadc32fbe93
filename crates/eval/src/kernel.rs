//! [`Kernel`] and [`Step`]: the backend-independent instructions of a [`crate::Plan`].
//!
//! Every step reads some buffers and produces one new buffer with a known shape and
//! dtype. Kernels carry everything resolved at compile time (labels, int sizes, slice
//! bounds), so a backend never looks at the circuit.

use std::fmt;

use circuit_ir::kinds::{GfSpec, SimpleFn, TensorAxisIndex};
use circuit_tensor::{DType, Tensor};

/// An einsum axis label inside a kernel.
pub type Label = u32;

/// Index of a buffer in a plan.
pub type BufId = usize;

/// One instruction.
#[derive(Debug, Clone)]
pub enum Kernel {
    /// A constant tensor (an Array of the circuit), uploaded when the plan runs.
    Constant(Tensor),
    /// `value` broadcast to the step's shape (backends may return a broadcast view).
    Fill {
        /// The value.
        value: f64,
    },
    /// One-operand einsum: takes diagonals of repeated `input` labels, sums labels not in
    /// `output` (distinct labels), permutes to `output`, multiplies by `alpha`.
    Reduce {
        /// Labels of the input's axes (may repeat).
        input: Vec<Label>,
        /// Labels of the output's axes (distinct, a subset of `input`).
        output: Vec<Label>,
        /// Factor applied to the result.
        alpha: f64,
    },
    /// Pairwise contraction `alpha * einsum(a, b -> out)`, run as a batched GEMM.
    Contract {
        /// Labels of the first operand (may repeat).
        a: Vec<Label>,
        /// Labels of the second operand (may repeat).
        b: Vec<Label>,
        /// Labels of the output (distinct).
        out: Vec<Label>,
        /// Factor applied to the result.
        alpha: f64,
    },
    /// Places the input (distinct labels) into an output whose labels may repeat (a
    /// diagonal output, zeros elsewhere) or may include labels the input lacks (a
    /// broadcast; sizes come from the step's shape).
    Expand {
        /// Labels of the input's axes (distinct).
        input: Vec<Label>,
        /// Labels of the output's axes.
        output: Vec<Label>,
    },
    /// Sum of the inputs, each broadcast (right-aligned) to the step's shape.
    Add,
    /// einops-style repeat: split input dims into ints, permute, repeat, merge.
    Rearrange {
        /// Size of every int.
        int_sizes: Vec<usize>,
        /// Ints of each input dim.
        input: Vec<Vec<u8>>,
        /// Ints of each output dim (ints not in `input` are repeats).
        output: Vec<Vec<u8>>,
    },
    /// Index with one entry per input dim (ints, slices, 1-d/0-d index tensors; tensor
    /// axes are independent, outer-product style).
    Index(Vec<TensorAxisIndex>),
    /// Zeros of the step's shape with the input written at `starts`.
    Scatter {
        /// Start offset per dim.
        starts: Vec<usize>,
    },
    /// Concatenation along `axis`.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// A general function (inputs in the spec's order).
    Function(GfSpec),
    /// Channels-last convolution: input `[batch.., spatial.., c]`, filter
    /// `[o, spatial.., c]`.
    Conv {
        /// Stride per spatial dim.
        stride: Vec<usize>,
        /// (before, after) zero padding per spatial dim.
        padding: Vec<(usize, usize)>,
    },
    /// Converts the input to the step's dtype.
    Cast,
    /// `gen_index(log_softmax(alpha * einsum(a, b -> logits)), targets)` along the last
    /// axis of `logits`, without storing the logits (inputs: `a`, `b`, the int64
    /// targets, shaped like the output). Made by the fusion pass from a Contract, a
    /// log_softmax and a gen_index when nothing else reads the first two; `logits` is
    /// `a`'s free labels followed by one free label of `b` (no batch labels).
    ContractLogSoftmaxPick {
        /// Labels of the first operand (distinct).
        a: Vec<Label>,
        /// Labels of the second operand (distinct).
        b: Vec<Label>,
        /// Labels of the logits.
        logits: Vec<Label>,
        /// Factor applied to the logits.
        alpha: f64,
    },
    /// A fused chain of elementwise work (made by the fusion pass from Adds, elementwise
    /// products, scalings and elementwise functions): each input is broadcast to the
    /// step's shape (right-aligned, as for [`Kernel::Add`]) and the program runs per
    /// element; the value of its last instruction is the output. Float dtypes only.
    Map(Vec<MapInstr>),
}

/// One instruction of a [`Kernel::Map`] program. Instruction `i` defines register `i`;
/// operands name earlier registers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MapInstr {
    /// The step's input `k` at this element.
    Input(usize),
    /// Sum of two registers.
    Add(usize, usize),
    /// Product of two registers.
    Mul(usize, usize),
    /// A register times a constant.
    Scale(usize, f64),
    /// An elementwise simple function of a register (not a row function such as softmax).
    Simple(SimpleFn, usize),
}

/// Whether a [`Kernel::Map`] program over `inputs` inputs can run: every instruction
/// reads earlier registers and existing inputs, every function is elementwise, and the
/// program is not empty.
pub fn is_valid_program(program: &[MapInstr], inputs: usize) -> bool {
    !program.is_empty()
        && program.iter().enumerate().all(|(i, ins)| {
            ins.operands().all(|r| r < i)
                && match *ins {
                    MapInstr::Input(k) => k < inputs,
                    MapInstr::Simple(f, _) => f.is_elementwise(),
                    MapInstr::Scale(_, c) => c.is_finite(),
                    _ => true,
                }
        })
}

impl MapInstr {
    /// The registers this instruction reads.
    pub fn operands(&self) -> impl Iterator<Item = usize> {
        let (a, b) = match *self {
            MapInstr::Input(_) => (None, None),
            MapInstr::Add(x, y) | MapInstr::Mul(x, y) => (Some(x), Some(y)),
            MapInstr::Scale(x, _) | MapInstr::Simple(_, x) => (Some(x), None),
        };
        a.into_iter().chain(b)
    }
}

impl Kernel {
    /// A short name for listings.
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Constant(_) => "constant",
            Kernel::Fill { .. } => "fill",
            Kernel::Reduce { .. } => "reduce",
            Kernel::Contract { .. } => "contract",
            Kernel::Expand { .. } => "expand",
            Kernel::Add => "add",
            Kernel::Rearrange { .. } => "rearrange",
            Kernel::Index(_) => "index",
            Kernel::Scatter { .. } => "scatter",
            Kernel::Concat { .. } => "concat",
            Kernel::Function(_) => "function",
            Kernel::Conv { .. } => "conv",
            Kernel::Cast => "cast",
            Kernel::ContractLogSoftmaxPick { .. } => "contract_log_softmax_pick",
            Kernel::Map(_) => "map",
        }
    }

    /// Whether the step's output can share its first input's memory (a view), so that
    /// it allocates nothing: Fill (a broadcast of one value), pure permutations and
    /// diagonals, plain slicing, broadcasts without a diagonal output.
    pub fn is_view(&self) -> bool {
        match self {
            Kernel::Fill { .. } | Kernel::Constant(_) => true,
            Kernel::Reduce { input, output, alpha } => {
                *alpha == 1.0
                    && output.iter().all(|l| input.contains(l))
                    && input.iter().all(|l| output.contains(l))
            }
            Kernel::Expand { output, .. } => {
                output.iter().enumerate().all(|(i, l)| !output[..i].contains(l))
            }
            Kernel::Index(entries) => !entries
                .iter()
                .any(|e| matches!(e, TensorAxisIndex::Tensor(t) if t.len().is_some())),
            _ => false,
        }
    }
}

fn labels(l: &[Label]) -> String {
    l.iter()
        .map(|&x| match u8::try_from(x) {
            Ok(b) => circuit_ir::kinds::label_char(b).to_string(),
            Err(_) => format!("#{x}"),
        })
        .collect()
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alpha = |a: f64| if a == 1.0 { String::new() } else { format!(" *{a}") };
        match self {
            Kernel::Constant(t) => write!(f, "constant {}", t.hash().prefix(8)),
            Kernel::Fill { value } => write!(f, "fill {value}"),
            Kernel::Reduce { input, output, alpha: a } => {
                write!(f, "reduce {}->{}{}", labels(input), labels(output), alpha(*a))
            }
            Kernel::Contract { a, b, out, alpha: al } => {
                write!(f, "gemm {},{}->{}{}", labels(a), labels(b), labels(out), alpha(*al))
            }
            Kernel::Expand { input, output } => {
                write!(f, "expand {}->{}", labels(input), labels(output))
            }
            Kernel::Add => f.write_str("add"),
            Kernel::Rearrange { .. } => f.write_str("rearrange"),
            Kernel::Index(_) => f.write_str("index"),
            Kernel::Scatter { .. } => f.write_str("scatter"),
            Kernel::Concat { axis } => write!(f, "concat axis {axis}"),
            Kernel::Function(spec) => write!(f, "{}", spec.name()),
            Kernel::Conv { .. } => f.write_str("conv"),
            Kernel::Cast => f.write_str("cast"),
            Kernel::ContractLogSoftmaxPick { a, b, logits, alpha: al } => write!(
                f,
                "gemm {},{}->{}{} +log_softmax +pick",
                labels(a),
                labels(b),
                labels(logits),
                alpha(*al)
            ),
            Kernel::Map(program) => {
                f.write_str("map")?;
                for (i, ins) in program.iter().enumerate() {
                    let sep = if i == 0 { " " } else { "; " };
                    match ins {
                        MapInstr::Input(k) => write!(f, "{sep}in{k}")?,
                        MapInstr::Add(a, b) => write!(f, "{sep}r{a}+r{b}")?,
                        MapInstr::Mul(a, b) => write!(f, "{sep}r{a}*r{b}")?,
                        MapInstr::Scale(a, c) => write!(f, "{sep}r{a}*{c}")?,
                        MapInstr::Simple(g, a) => write!(f, "{sep}{}(r{a})", g.name())?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// One step of a plan: a kernel, its input buffers and the buffer it produces.
#[derive(Debug, Clone)]
pub struct Step {
    /// What to compute.
    pub kernel: Kernel,
    /// Input buffers, in the kernel's order.
    pub inputs: Vec<BufId>,
    /// The buffer produced.
    pub output: BufId,
    /// Shape of the output.
    pub shape: Vec<usize>,
    /// Element type of the output.
    pub dtype: DType,
    /// The circuit node this step computes (or helps compute), for messages.
    pub node: String,
    /// Floating-point operations (opt_einsum's convention for contractions: 2 per
    /// multiply-add; one per output element for elementwise work).
    pub flops: u128,
}

impl Step {
    /// Number of output elements.
    pub fn numel(&self) -> u128 {
        self.shape.iter().map(|&d| d as u128).product()
    }

    /// Size of the output in bytes.
    pub fn bytes(&self) -> u64 {
        let b = self.numel().saturating_mul(self.dtype.size_in_bytes() as u128);
        u64::try_from(b).unwrap_or(u64::MAX)
    }
}
