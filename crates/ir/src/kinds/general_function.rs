//! GeneralFunction: built-in functions with shape inference and a batching contract
//! (the leading `rank - num_non_batchable_output_dims` output dims are batch dims shared
//! with every batchable input).

use std::fmt;

use circuit_tensor::DType;

use crate::{Circuit, IrError, Result, Shape};

/// The simple (mostly elementwise, unary) functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum SimpleFn {
    Sin,
    Cos,
    Sigmoid,
    Tanh,
    Rsqrt,
    Gelu,
    GeluNew,
    Relu,
    Step,
    Reciprocal,
    LogExpP1,
    GaussianPdf,
    GaussianCdf,
    Softmax,
    LogSoftmax,
    Min,
    Max,
    LastDimSize,
    Abs,
    Exp,
    Log,
    Logit,
}

impl SimpleFn {
    /// Every simple function.
    pub const ALL: [SimpleFn; 22] = [
        SimpleFn::Sin,
        SimpleFn::Cos,
        SimpleFn::Sigmoid,
        SimpleFn::Tanh,
        SimpleFn::Rsqrt,
        SimpleFn::Gelu,
        SimpleFn::GeluNew,
        SimpleFn::Relu,
        SimpleFn::Step,
        SimpleFn::Reciprocal,
        SimpleFn::LogExpP1,
        SimpleFn::GaussianPdf,
        SimpleFn::GaussianCdf,
        SimpleFn::Softmax,
        SimpleFn::LogSoftmax,
        SimpleFn::Min,
        SimpleFn::Max,
        SimpleFn::LastDimSize,
        SimpleFn::Abs,
        SimpleFn::Exp,
        SimpleFn::Log,
        SimpleFn::Logit,
    ];

    /// The serialized name (`sigmoid`, `log_exp_p_1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SimpleFn::Sin => "sin",
            SimpleFn::Cos => "cos",
            SimpleFn::Sigmoid => "sigmoid",
            SimpleFn::Tanh => "tanh",
            SimpleFn::Rsqrt => "rsqrt",
            SimpleFn::Gelu => "gelu",
            SimpleFn::GeluNew => "gelu_new",
            SimpleFn::Relu => "relu",
            SimpleFn::Step => "step",
            SimpleFn::Reciprocal => "reciprocal",
            SimpleFn::LogExpP1 => "log_exp_p_1",
            SimpleFn::GaussianPdf => "gaussian_pdf",
            SimpleFn::GaussianCdf => "gaussian_cdf",
            SimpleFn::Softmax => "softmax",
            SimpleFn::LogSoftmax => "log_softmax",
            SimpleFn::Min => "min",
            SimpleFn::Max => "max",
            SimpleFn::LastDimSize => "last_dim_size",
            SimpleFn::Abs => "abs",
            SimpleFn::Exp => "exp",
            SimpleFn::Log => "log",
            SimpleFn::Logit => "logit",
        }
    }

    /// Whether it maps each element independently (shape-preserving, all dims batchable).
    pub fn is_elementwise(self) -> bool {
        !matches!(
            self,
            SimpleFn::Softmax
                | SimpleFn::LogSoftmax
                | SimpleFn::Min
                | SimpleFn::Max
                | SimpleFn::LastDimSize
        )
    }

    /// Whether it removes the last dimension (reductions over it).
    pub fn removes_last_dim(self) -> bool {
        matches!(self, SimpleFn::Min | SimpleFn::Max | SimpleFn::LastDimSize)
    }
}

/// A device/dtype pair as written in cast specs; either part may be absent. Devices are
/// kept as text: we choose devices at evaluation time, not in the IR.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceDtype {
    /// Device text such as `cpu` or `cuda:0`.
    pub device: Option<String>,
    /// Element type.
    pub dtype: Option<DType>,
}

impl fmt::Display for DeviceDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.device.as_deref().unwrap_or("None");
        let t = self.dtype.map_or("None", DType::name);
        write!(f, "{{device:{d},dtype:{t}}}")
    }
}

/// What a GeneralFunction computes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GfSpec {
    /// A simple function of one input.
    Simple(SimpleFn),
    /// Gather along `index_dim` of x (child 0) with an integer circuit (child 1).
    GenIndex {
        /// Axis of x that is indexed (negative counts from the end).
        index_dim: i64,
        /// x may carry leading batch dims.
        batch_x: bool,
        /// The index's dims are batch dims shared with x's leading dims.
        batch_index: bool,
        /// Check index values are in range at evaluation.
        check_index_ints: bool,
    },
    /// Gather with explicit batch dims shared by x and the index.
    ExplicitIndex {
        /// Axis of x's non-batch part that is indexed.
        index_dim: i64,
        /// Number of trailing dims of x that are not batch dims.
        x_non_batch_dims: usize,
        /// Check index values are in range at evaluation.
        check_index_ints: bool,
    },
    /// Identity on values, converting the dtype.
    Cast {
        /// Required input compatibility.
        from: DeviceDtype,
        /// Output device/dtype.
        to: DeviceDtype,
    },
    /// Broadcasting power `base ** exponent`.
    Pow,
    /// Sample indices from the last dim of probs (child 0) with a 0-d int64 seed (child 1).
    Multinomial {
        /// Sample with replacement.
        replacement: bool,
        /// Shape of the samples per distribution.
        shape: Shape,
    },
}

/// Shape facts of one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeInfo {
    /// Output shape.
    pub shape: Shape,
    /// Trailing output dims that are not batch dims.
    pub num_non_batchable_output_dims: usize,
    /// Per input: may it carry the batch dims.
    pub input_batchability: Vec<bool>,
}

/// A GeneralFunction's payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GeneralFunction {
    /// The function.
    pub spec: GfSpec,
}

fn normalize_dim(dim: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let d = if dim < 0 { dim + r } else { dim };
    (0..r).contains(&d).then_some(d as usize)
}

impl GfSpec {
    /// The serialized spec string (the text-format payload).
    pub fn name(&self) -> String {
        match self {
            GfSpec::Simple(f) => f.name().to_string(),
            GfSpec::GenIndex { index_dim, batch_x, batch_index, check_index_ints } => format!(
                "gen_index_at_{index_dim}{}{}{}",
                if *batch_x { "_batch_x" } else { "" },
                if *batch_index { "" } else { "_no_batch_index" },
                if *check_index_ints { "_c" } else { "" }
            ),
            GfSpec::ExplicitIndex { index_dim, x_non_batch_dims, check_index_ints } => format!(
                "explicit_index_at_{index_dim}_x_non_b_{x_non_batch_dims}{}",
                if *check_index_ints { "_c" } else { "" }
            ),
            GfSpec::Cast { from, to } => format!("cast_from_{from}_to_{to}"),
            GfSpec::Pow => "pow".to_string(),
            GfSpec::Multinomial { replacement, shape } => {
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                format!(
                    "multinomial{}_[{}]",
                    if *replacement { "" } else { "_no_replace" },
                    dims.join(", ")
                )
            }
        }
    }

    /// Parses a serialized spec string.
    ///
    /// # Errors
    /// [`IrError::UnknownGeneralFunction`] for anything else (including rust_circuit's
    /// Python specs, `Name at module:Class`, which need Python).
    pub fn parse(text: &str) -> Result<GfSpec> {
        crate::kinds::gf_parse::parse(text)
    }

    /// Number of inputs the function takes.
    pub fn num_inputs(&self) -> usize {
        match self {
            GfSpec::Simple(_) | GfSpec::Cast { .. } => 1,
            GfSpec::GenIndex { .. }
            | GfSpec::ExplicitIndex { .. }
            | GfSpec::Pow
            | GfSpec::Multinomial { .. } => 2,
        }
    }

    /// Shape inference and batchability.
    ///
    /// # Errors
    /// [`IrError::GeneralFunction`] for wrong input counts or shapes.
    pub fn shape_info(&self, children: &[Circuit], node: &str) -> Result<ShapeInfo> {
        let err = |msg: String| IrError::GeneralFunction { node: node.into(), msg };
        if children.len() != self.num_inputs() {
            return Err(IrError::WrongNumChildren {
                kind: "GeneralFunction",
                node: node.into(),
                expected: self.num_inputs().to_string(),
                got: children.len(),
            });
        }
        let shapes: Vec<&Shape> = children.iter().map(Circuit::shape).collect();
        match self {
            GfSpec::Simple(f) if f.is_elementwise() => Ok(ShapeInfo {
                shape: shapes[0].clone(),
                num_non_batchable_output_dims: 0,
                input_batchability: vec![true],
            }),
            GfSpec::Simple(f) => {
                if shapes[0].is_empty() {
                    return Err(err(format!("{} needs an input of rank at least 1", f.name())));
                }
                let mut shape = shapes[0].clone();
                let non_batch = if f.removes_last_dim() {
                    shape.pop();
                    0
                } else {
                    1
                };
                Ok(ShapeInfo {
                    shape,
                    num_non_batchable_output_dims: non_batch,
                    input_batchability: vec![true],
                })
            }
            GfSpec::Cast { .. } => Ok(ShapeInfo {
                shape: shapes[0].clone(),
                num_non_batchable_output_dims: 0,
                input_batchability: vec![true],
            }),
            GfSpec::Pow => {
                let shape =
                    crate::derive::broadcast_shapes(&[shapes[0], shapes[1]]).ok_or_else(|| {
                        err(format!(
                            "pow shapes {:?} and {:?} do not broadcast",
                            shapes[0].as_slice(),
                            shapes[1].as_slice()
                        ))
                    })?;
                Ok(ShapeInfo {
                    num_non_batchable_output_dims: 0,
                    input_batchability: vec![true, true],
                    shape,
                })
            }
            GfSpec::Multinomial { shape, .. } => {
                let probs = shapes[0];
                if probs.is_empty() || !shapes[1].is_empty() {
                    return Err(err("multinomial needs probs of rank ≥ 1 and a 0-d seed".into()));
                }
                let mut out: Shape = probs[..probs.len() - 1].iter().copied().collect();
                out.extend(shape.iter().copied());
                Ok(ShapeInfo {
                    num_non_batchable_output_dims: out.len(),
                    input_batchability: vec![false, false],
                    shape: out,
                })
            }
            GfSpec::GenIndex { index_dim, batch_x, batch_index, .. } => {
                gen_index_shape(shapes[0], shapes[1], *index_dim, *batch_x, *batch_index)
                    .map_err(err)
            }
            GfSpec::ExplicitIndex { index_dim, x_non_batch_dims, .. } => {
                explicit_index_shape(shapes[0], shapes[1], *index_dim, *x_non_batch_dims)
                    .map_err(err)
            }
        }
    }
}

/// Output shape of `gen_index` (see the reference §1.11.10).
fn gen_index_shape(
    x: &Shape,
    idx: &Shape,
    index_dim: i64,
    batch_x: bool,
    batch_index: bool,
) -> Result<ShapeInfo, String> {
    if batch_index && batch_x {
        // The index's dims are leading batch dims of x; index_dim counts within the rest.
        let suffix_rank = x.len().checked_sub(idx.len()).ok_or_else(|| {
            format!("index of rank {} is longer than x of rank {}", idx.len(), x.len())
        })?;
        let dim = idx.len()
            + normalize_dim(index_dim, suffix_rank).ok_or_else(|| {
                format!(
                "index_dim {index_dim} is out of range for the {suffix_rank} non-batch dims of x"
            )
            })?;
        if x[..idx.len()] != idx[..] {
            return Err(format!(
                "index shape {:?} must be a prefix of x's shape {:?}",
                idx.as_slice(),
                x.as_slice()
            ));
        }
        let mut shape = x.clone();
        shape.remove(dim);
        let non_batch = shape.len() - idx.len();
        return Ok(ShapeInfo {
            shape,
            num_non_batchable_output_dims: non_batch,
            input_batchability: vec![true, true],
        });
    }
    let dim = normalize_dim(index_dim, x.len()).ok_or_else(|| {
        format!("index_dim {index_dim} is out of range for x of rank {}", x.len())
    })?;
    if batch_x && index_dim >= 0 {
        return Err("gen_index with batch_x (and no batch_index) needs a negative index_dim".into());
    }
    if batch_index {
        let mut shape: Shape = idx.clone();
        shape.extend(x.iter().enumerate().filter(|(i, _)| *i != dim).map(|(_, &s)| s));
        let non_batch = x.len() - 1;
        return Ok(ShapeInfo {
            shape,
            num_non_batchable_output_dims: non_batch,
            input_batchability: vec![false, true],
        });
    }
    let mut shape: Shape = x[..dim].iter().copied().collect();
    shape.extend(idx.iter().copied());
    shape.extend(x[dim + 1..].iter().copied());
    let non_batch = if batch_x { shape.len() - dim } else { shape.len() };
    Ok(ShapeInfo {
        shape,
        num_non_batchable_output_dims: non_batch,
        input_batchability: vec![batch_x, false],
    })
}

/// Output shape of `explicit_index`: the leading `x.rank - x_non_batch_dims` dims of x and
/// of the index are shared batch dims.
fn explicit_index_shape(
    x: &Shape,
    idx: &Shape,
    index_dim: i64,
    x_non_batch_dims: usize,
) -> Result<ShapeInfo, String> {
    if x_non_batch_dims > x.len() || x_non_batch_dims == 0 {
        return Err(format!(
            "x_non_batch_dims {x_non_batch_dims} is invalid for x of rank {}",
            x.len()
        ));
    }
    let n_batch = x.len() - x_non_batch_dims;
    if idx.len() < n_batch || idx[..n_batch] != x[..n_batch] {
        return Err(format!(
            "index shape {:?} must start with x's batch dims {:?}",
            idx.as_slice(),
            &x[..n_batch]
        ));
    }
    let x_rest = &x[n_batch..];
    let dim = normalize_dim(index_dim, x_rest.len()).ok_or_else(|| {
        format!("index_dim {index_dim} is out of range for {} non-batch dims", x_rest.len())
    })?;
    let mut shape: Shape = x[..n_batch].iter().copied().collect();
    shape.extend(x_rest[..dim].iter().copied());
    shape.extend(idx[n_batch..].iter().copied());
    shape.extend(x_rest[dim + 1..].iter().copied());
    let non_batch = shape.len() - n_batch;
    Ok(ShapeInfo {
        shape,
        num_non_batchable_output_dims: non_batch,
        input_batchability: vec![true, true],
    })
}
