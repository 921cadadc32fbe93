//! Named axes: optional per-axis labels carried by a node and inherited through the
//! kind's child-axis map.

use smallvec::SmallVec;

use crate::node::Name;
use crate::{IrError, Result};

/// `(axis, name)` pairs sorted by axis.
pub type NamedAxes = SmallVec<[(u8, Name); 2]>;

/// Whether a string may be used as an axis name: no whitespace, `[`, `]`, `:` or `,`
/// (those would not survive the text format). The empty name is allowed, as in
/// rust_circuit.
pub fn is_valid_axis_name(name: &str) -> bool {
    !name.chars().any(|c| c.is_whitespace() || c == '[' || c == ']' || c == ':' || c == ',')
}

pub(crate) fn validate(axes: &NamedAxes, rank: usize, node: &str) -> Result<()> {
    let mut seen: SmallVec<[u8; 8]> = SmallVec::new();
    for (axis, name) in axes {
        if usize::from(*axis) >= rank {
            return Err(IrError::NamedAxes {
                node: node.to_string(),
                msg: format!("axis {axis} is beyond rank {rank}"),
            });
        }
        if seen.contains(axis) {
            return Err(IrError::NamedAxes {
                node: node.to_string(),
                msg: format!("axis {axis} is named twice"),
            });
        }
        if !is_valid_axis_name(name) {
            return Err(IrError::NamedAxes {
                node: node.to_string(),
                msg: format!("axis name '{name}' may not contain whitespace, '[', ']', ':' or ','"),
            });
        }
        seen.push(*axis);
    }
    Ok(())
}

/// Inherits names through a child-axis map: for each output axis, the name given by the
/// children's axes that map to it, when they agree (children without a name don't vote).
pub(crate) fn inherit(
    rank: usize,
    children_axes: &[&NamedAxes],
    child_axis_map: &[Vec<Option<usize>>],
) -> NamedAxes {
    let mut out: Vec<Option<Option<Name>>> = vec![None; rank];
    for (child_idx, map) in child_axis_map.iter().enumerate() {
        let Some(axes) = children_axes.get(child_idx) else { continue };
        for (child_axis, name) in axes.iter() {
            let Some(Some(out_axis)) = map.get(usize::from(*child_axis)) else { continue };
            let Some(slot) = out.get_mut(*out_axis) else { continue };
            match slot {
                None => *slot = Some(Some(name.clone())),
                Some(Some(existing)) if existing == name => {}
                // Conflicting names: the later child wins (rust_circuit's rule).
                Some(_) => *slot = Some(Some(name.clone())),
            }
        }
    }
    out.into_iter()
        .enumerate()
        .filter_map(|(axis, n)| match n {
            Some(Some(name)) => u8::try_from(axis).ok().map(|a| (a, name)),
            _ => None,
        })
        .collect()
}
