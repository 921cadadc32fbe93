//! Concat: join children along one axis.

use crate::{Circuit, IrError, Result, Shape};

/// A Concat's payload: the (non-negative) axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    /// The axis children are joined along.
    pub axis: usize,
}

impl Concat {
    /// Resolves a possibly negative axis against a rank.
    ///
    /// # Errors
    /// [`IrError::AxisOutOfRange`] when outside `[-rank, rank)`.
    pub fn resolve_axis(axis: i64, rank: usize, node: &str) -> Result<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return Err(IrError::AxisOutOfRange { kind: "Concat", node: node.into(), axis, rank });
        }
        Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
    }

    pub(crate) fn infer_shape(&self, children: &[Circuit], node: &str) -> Result<Shape> {
        let first = children.first().ok_or_else(|| IrError::WrongNumChildren {
            kind: "Concat",
            node: node.into(),
            expected: "at least 1".into(),
            got: 0,
        })?;
        if self.axis >= first.rank() {
            return Err(IrError::AxisOutOfRange {
                kind: "Concat",
                node: node.into(),
                axis: self.axis as i64,
                rank: first.rank(),
            });
        }
        let mut shape = first.shape().clone();
        shape[self.axis] = 0;
        for (i, child) in children.iter().enumerate() {
            let s = child.shape();
            let same = s.len() == shape.len()
                && s.iter()
                    .zip(shape.iter())
                    .enumerate()
                    .all(|(d, (a, b))| d == self.axis || a == b);
            if !same {
                let mut expected = shape.clone();
                if let Some(x) = expected.get_mut(self.axis) {
                    *x = s.get(self.axis).copied().unwrap_or(0);
                }
                return Err(IrError::ShapeMismatch {
                    kind: "Concat",
                    node: node.into(),
                    what: format!(
                        "child {i} (all dims but axis {} must agree with child 0)",
                        self.axis
                    ),
                    expected: expected.to_vec(),
                    got: s.to_vec(),
                });
            }
            shape[self.axis] = shape[self.axis]
                .checked_add(s[self.axis])
                .ok_or_else(|| IrError::SymbolicSizeOverflow("concat size".into()))?;
        }
        Ok(shape)
    }

    /// Non-axis dims map to themselves.
    pub fn child_axis_map(&self, children: &[Circuit]) -> Vec<Vec<Option<usize>>> {
        children
            .iter()
            .map(|c| (0..c.rank()).map(|i| (i != self.axis).then_some(i)).collect())
            .collect()
    }
}
