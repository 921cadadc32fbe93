//! Conv: an n-d convolution (1–3 spatial dims) in channels-last layout. rust_circuit
//! could not print or parse it; we give it a text payload (see `docs/FORMAT.md`).

use crate::{Circuit, IrError, Result, Shape};

/// A Conv's payload: per spatial dim, the stride and the (before, after) padding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Conv {
    /// Stride per spatial dim.
    pub stride: Vec<usize>,
    /// Padding per spatial dim: (before, after).
    pub padding: Vec<(usize, usize)>,
}

impl Conv {
    /// Output shape: input `[batch..., spatial..., in_ch]`, filter `[out_ch, spatial...,
    /// in_ch]` → `[batch..., out_spatial..., out_ch]`, where
    /// `out = (in + pad_lo + pad_hi - (k - 1) - 1) / stride + 1` (PyTorch's rule).
    pub(crate) fn infer_shape(&self, children: &[Circuit], node: &str) -> Result<Shape> {
        let invalid = |msg: String| IrError::Invalid { kind: "Conv", node: node.into(), msg };
        let [input, filter] = children else {
            return Err(IrError::WrongNumChildren {
                kind: "Conv",
                node: node.into(),
                expected: "2".into(),
                got: children.len(),
            });
        };
        let n = self.stride.len();
        if !(1..=3).contains(&n) || self.padding.len() != n {
            return Err(invalid(format!(
                "needs 1 to 3 spatial dims with matching stride and padding, got {} and {}",
                n,
                self.padding.len()
            )));
        }
        if self.stride.contains(&0) {
            return Err(invalid("stride must be positive".into()));
        }
        let (fs, is) = (filter.shape(), input.shape());
        if fs.len() != n + 2 {
            return Err(invalid(format!(
                "filter must have rank {} ([out_ch, spatial..., in_ch]), got {:?}",
                n + 2,
                fs.as_slice()
            )));
        }
        if is.len() < n + 1 {
            return Err(invalid(format!(
                "input must have rank at least {} ([batch..., spatial..., in_ch]), got {:?}",
                n + 1,
                is.as_slice()
            )));
        }
        if is[is.len() - 1] != fs[n + 1] {
            return Err(invalid(format!(
                "input has {} channels but the filter expects {}",
                is[is.len() - 1],
                fs[n + 1]
            )));
        }
        let batch = is.len() - n - 1;
        let mut out: Shape = is[..batch].iter().copied().collect();
        for d in 0..n {
            let padded = is[batch + d]
                .checked_add(self.padding[d].0)
                .and_then(|p| p.checked_add(self.padding[d].1))
                .ok_or_else(|| invalid(format!("spatial dim {d}: padded size overflows")))?;
            let k = fs[1 + d];
            if k == 0 || padded < k {
                return Err(invalid(format!(
                    "spatial dim {d}: kernel {k} is larger than the padded input {padded}"
                )));
            }
            out.push((padded - k) / self.stride[d] + 1);
        }
        out.push(fs[0]);
        Ok(out)
    }
}
