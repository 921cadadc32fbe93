//! Index (per-axis ints, slices and 1-D integer tensors; tensor axes are independent,
//! outer-product style) and Scatter (write a child into zeros at slices).

use std::fmt;

use circuit_tensor::{DType, Tensor};

use crate::size::format_size;
use crate::{IrError, Result, Shape};

/// A Python-style slice without step; `None` bounds mean "from the start"/"to the end".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slice {
    /// Start (may be negative).
    pub start: Option<i64>,
    /// Stop (may be negative).
    pub stop: Option<i64>,
}

impl Slice {
    /// The full slice `:`.
    pub const FULL: Slice = Slice { start: None, stop: None };

    /// Resolves to concrete `[start, stop)` on a dimension of size `len`.
    ///
    /// # Errors
    /// A message when a bound is outside `[-len, len]` or start > stop.
    pub fn resolve(&self, len: usize) -> Result<(usize, usize), String> {
        // i128 so that sizes above i64::MAX (possible in declared shapes) never overflow.
        let l = len as i128;
        let norm = |b: i64| -> Result<usize, String> {
            let b = i128::from(b);
            if b < -l || b > l {
                return Err(format!(
                    "slice bound {b} is out of range for a dimension of size {}",
                    format_size(len)
                ));
            }
            Ok(if b < 0 { (b + l) as usize } else { b as usize })
        };
        let start = self.start.map(norm).transpose()?.unwrap_or(0);
        let stop = self.stop.map(norm).transpose()?.unwrap_or(len);
        if start > stop {
            return Err(format!(
                "slice {self} has start after stop on a dimension of size {}",
                format_size(len)
            ));
        }
        Ok((start, stop))
    }

    /// Whether it selects the whole dimension regardless of size.
    pub fn is_full(&self) -> bool {
        self.start.is_none_or(|s| s == 0) && self.stop.is_none()
    }
}

impl fmt::Display for Slice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.start {
            write!(f, "{s}")?;
        }
        f.write_str(":")?;
        if let Some(s) = self.stop {
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

/// A 0-d or 1-d int64 tensor used as an index.
#[derive(Debug, Clone)]
pub struct IndexTensor {
    tensor: Tensor,
}

impl IndexTensor {
    /// Wraps an index tensor (cast to int64 when it holds another integer type).
    ///
    /// # Errors
    /// [`IrError::Index`] when the tensor has rank above 1 or is not an integer tensor.
    pub fn new(tensor: Tensor) -> Result<IndexTensor> {
        if tensor.ndim() > 1 {
            return Err(IrError::Index {
                node: String::new(),
                msg: format!("index tensor must be 0-d or 1-d, got shape {:?}", tensor.shape()),
            });
        }
        if !tensor.dtype().is_int() {
            return Err(IrError::Index {
                node: String::new(),
                msg: format!("index tensor must hold integers, got {}", tensor.dtype()),
            });
        }
        let tensor = if tensor.dtype() == DType::I64 { tensor } else { tensor.cast(DType::I64) };
        Ok(IndexTensor { tensor })
    }

    /// The tensor (int64).
    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }

    /// Length of a 1-d index; `None` for a 0-d one (which removes its dimension).
    pub fn len(&self) -> Option<usize> {
        self.tensor.shape().first().copied()
    }

    /// Whether a 1-d index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// One entry of an index.
#[derive(Debug, Clone)]
pub enum TensorAxisIndex {
    /// Select one position (removes the dimension).
    Int(i64),
    /// A slice.
    Slice(Slice),
    /// Gather positions.
    Tensor(IndexTensor),
}

impl TensorAxisIndex {
    /// The full slice `:`.
    pub const FULL: TensorAxisIndex = TensorAxisIndex::Slice(Slice::FULL);

    /// The output size this entry gives on a dimension of size `len` (`None`: removed).
    ///
    /// # Errors
    /// A message for out-of-range ints or slice bounds.
    pub fn output_len(&self, len: usize) -> Result<Option<usize>, String> {
        match self {
            TensorAxisIndex::Int(i) => {
                let (l, i128_i) = (len as i128, i128::from(*i));
                if i128_i < -l || i128_i >= l {
                    return Err(format!(
                        "index {i} is out of range for a dimension of size {}",
                        format_size(len)
                    ));
                }
                Ok(None)
            }
            TensorAxisIndex::Slice(s) => s.resolve(len).map(|(a, b)| Some(b - a)),
            TensorAxisIndex::Tensor(t) => Ok(t.len()),
        }
    }

    /// Whether the entry keeps the whole dimension unchanged.
    pub fn is_identity(&self) -> bool {
        matches!(self, TensorAxisIndex::Slice(s) if s.is_full())
    }
}

impl PartialEq for TensorAxisIndex {
    fn eq(&self, other: &TensorAxisIndex) -> bool {
        match (self, other) {
            (TensorAxisIndex::Int(a), TensorAxisIndex::Int(b)) => a == b,
            (TensorAxisIndex::Slice(a), TensorAxisIndex::Slice(b)) => a == b,
            (TensorAxisIndex::Tensor(a), TensorAxisIndex::Tensor(b)) => {
                a.tensor.hash() == b.tensor.hash()
            }
            _ => false,
        }
    }
}

/// An Index's payload: one entry per child dimension (shorter lists are padded with `:`
/// at construction).
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// The entries.
    pub index: Vec<TensorAxisIndex>,
}

impl Index {
    /// Pads with full slices to the child's rank.
    pub(crate) fn padded(&self, rank: usize) -> Result<Index> {
        if self.index.len() > rank {
            return Err(IrError::Index {
                node: String::new(),
                msg: format!("{} index entries for a child of rank {rank}", self.index.len()),
            });
        }
        let mut index = self.index.clone();
        index.resize(rank, TensorAxisIndex::FULL);
        Ok(Index { index })
    }

    pub(crate) fn infer_shape(&self, child_shape: &[usize], node: &str) -> Result<Shape> {
        let mut out = Shape::new();
        for (entry, &len) in self.index.iter().zip(child_shape) {
            match entry.output_len(len) {
                Ok(Some(n)) => out.push(n),
                Ok(None) => {}
                Err(msg) => return Err(IrError::Index { node: node.into(), msg }),
            }
        }
        Ok(out)
    }

    /// For each child dim, the output dim it is when the entry is the full slice.
    pub fn child_axis_map(&self) -> Vec<Option<usize>> {
        let mut out_axis = 0;
        self.index
            .iter()
            .map(|e| {
                let this = out_axis;
                let kept = !matches!(e, TensorAxisIndex::Int(_))
                    && !matches!(e, TensorAxisIndex::Tensor(t) if t.len().is_none());
                if kept {
                    out_axis += 1;
                }
                e.is_identity().then_some(this)
            })
            .collect()
    }

    /// Whether any entry is a tensor.
    pub fn has_tensor_axes(&self) -> bool {
        self.index.iter().any(|e| matches!(e, TensorAxisIndex::Tensor(_)))
    }
}

/// A Scatter's payload: slices (canonical: concrete, non-negative) and the output shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    /// Where the child is written, one slice per output dimension.
    pub index: Vec<TensorAxisIndex>,
    /// The output shape.
    pub shape: Shape,
}

impl Scatter {
    /// Canonicalises the index against the output shape (explicit non-negative bounds).
    pub(crate) fn canonical(&self, node: &str) -> Result<Scatter> {
        if self.index.len() > self.shape.len() {
            return Err(IrError::Index {
                node: node.into(),
                msg: format!(
                    "{} scatter entries for an output of rank {}",
                    self.index.len(),
                    self.shape.len()
                ),
            });
        }
        let mut index = Vec::with_capacity(self.shape.len());
        for (i, &len) in self.shape.iter().enumerate() {
            let entry = self.index.get(i).cloned().unwrap_or(TensorAxisIndex::FULL);
            let TensorAxisIndex::Slice(s) = entry else {
                return Err(IrError::Index {
                    node: node.into(),
                    msg: "scatter supports only slices".into(),
                });
            };
            let (a, b) = s.resolve(len).map_err(|msg| IrError::Index { node: node.into(), msg })?;
            index.push(TensorAxisIndex::Slice(Slice {
                start: Some(a as i64),
                stop: Some(b as i64),
            }));
        }
        Ok(Scatter { index, shape: self.shape.clone() })
    }

    /// The child shape the (canonical) index requires.
    pub fn child_shape(&self) -> Shape {
        self.index
            .iter()
            .map(|e| match e {
                TensorAxisIndex::Slice(Slice { start: Some(a), stop: Some(b) }) => (b - a) as usize,
                _ => 0,
            })
            .collect()
    }
}
