//! [`EinsumSpec`]: the labels of an einsum's inputs and output plus the size of every label,
//! with validation, an equation-string parser for tests and tools, and opt_einsum's naive cost.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{EinsumError, Result};
use crate::Label;

/// An einsum described by labels and sizes only.
///
/// `inputs[i]` lists the labels of operand `i`'s axes in order; a label may repeat within one
/// operand (a diagonal/trace). `output` lists the output's labels; it may repeat a label too
/// (a diagonal output). The optimizer treats every operand (and the output) as the *set* of
/// its labels; the evaluator is responsible for taking diagonals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EinsumSpec {
    /// Labels of each input operand, axis by axis.
    pub inputs: Vec<Vec<Label>>,
    /// Labels of the output, axis by axis.
    pub output: Vec<Label>,
    /// Size of every label (extra entries are allowed and ignored).
    pub sizes: BTreeMap<Label, u64>,
}

impl EinsumSpec {
    /// Builds and validates a spec: every label has a size and every output label appears in
    /// some input.
    pub fn new(
        inputs: Vec<Vec<Label>>,
        output: Vec<Label>,
        sizes: BTreeMap<Label, u64>,
    ) -> Result<Self> {
        let spec = Self { inputs, output, sizes };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the invariants [`EinsumSpec::new`] establishes (the fields are public, so
    /// [`crate::optimize`] re-checks them).
    pub fn validate(&self) -> Result<()> {
        let mut seen = BTreeSet::new();
        for &label in self.inputs.iter().flatten() {
            if seen.insert(label) && !self.sizes.contains_key(&label) {
                return Err(EinsumError::MissingSize { label });
            }
        }
        for &label in &self.output {
            if !seen.contains(&label) {
                return Err(EinsumError::OutputLabelNotInInputs { label });
            }
        }
        Ok(())
    }

    /// Parses an equation such as `"ab,bc->ac"` with one shape per operand; labels are the
    /// characters' code points (`'a' as Label`). Whitespace is ignored. Without `->` the output
    /// is numpy's implicit one: the labels that occur exactly once, in sorted order. An empty
    /// left-hand side with no shapes means zero operands. Ellipses are not supported.
    pub fn parse(equation: &str, shapes: &[&[u64]]) -> Result<Self> {
        let err = |reason: &str| EinsumError::Parse {
            equation: equation.to_owned(),
            reason: reason.to_owned(),
        };
        let compact: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains('.') {
            return Err(err("ellipsis ('...') is not supported"));
        }
        let (lhs, rhs) = match compact.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (compact.as_str(), None),
        };
        let is_label = |c: char| !matches!(c, ',' | '-' | '>');
        let terms: Vec<Vec<Label>> = if lhs.is_empty() && shapes.is_empty() {
            Vec::new()
        } else {
            lhs.split(',')
                .map(|t| {
                    if t.chars().all(is_label) {
                        Ok(t.chars().map(|c| c as Label).collect())
                    } else {
                        Err(err("unexpected '-' or '>' in an input term"))
                    }
                })
                .collect::<Result<_>>()?
        };
        if terms.len() != shapes.len() {
            return Err(err(&format!("{} input terms but {} shapes", terms.len(), shapes.len())));
        }
        let output: Vec<Label> = match rhs {
            Some(r) => {
                if !r.chars().all(|c| is_label(c) && c != ',') {
                    return Err(err("unexpected character in the output term"));
                }
                r.chars().map(|c| c as Label).collect()
            }
            None => {
                let mut counts: BTreeMap<Label, usize> = BTreeMap::new();
                for &l in terms.iter().flatten() {
                    *counts.entry(l).or_default() += 1;
                }
                counts.into_iter().filter(|&(_, c)| c == 1).map(|(l, _)| l).collect()
            }
        };
        let mut sizes: BTreeMap<Label, u64> = BTreeMap::new();
        for (operand, (term, shape)) in terms.iter().zip(shapes).enumerate() {
            if term.len() != shape.len() {
                return Err(EinsumError::RankMismatch {
                    operand,
                    labels: term.len(),
                    rank: shape.len(),
                });
            }
            for (&label, &size) in term.iter().zip(shape.iter()) {
                match sizes.get(&label) {
                    Some(&first) if first != size => {
                        return Err(EinsumError::InconsistentSize { label, first, second: size })
                    }
                    _ => {
                        sizes.insert(label, size);
                    }
                }
            }
        }
        Self::new(terms, output, sizes)
    }

    /// Number of input operands.
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Product of the sizes of the *distinct* labels in `labels` (saturating; labels without a
    /// size count as 1).
    pub fn size_of(&self, labels: &[Label]) -> u128 {
        let distinct: BTreeSet<Label> = labels.iter().copied().collect();
        distinct.iter().fold(1u128, |acc, l| {
            acc.saturating_mul(u128::from(self.sizes.get(l).copied().unwrap_or(1)))
        })
    }
}

/// opt_einsum 3.4's "naive" cost of evaluating the einsum in one go (`PathInfo.naive_cost`):
/// `prod(sizes of all distinct labels) * (max(1, n_inputs - 1) + inner)`, where `inner` is 1
/// when some label occurs in more than one input (counting each input's labels as a set).
/// Zero operands cost 0. Saturates at `u128::MAX`.
pub fn naive_flops(spec: &EinsumSpec) -> u128 {
    if spec.inputs.is_empty() {
        return 0;
    }
    let sets: Vec<BTreeSet<Label>> =
        spec.inputs.iter().map(|t| t.iter().copied().collect()).collect();
    let all: BTreeSet<Label> = sets.iter().flatten().copied().collect();
    let total_len: usize = sets.iter().map(BTreeSet::len).sum();
    let inner = total_len > all.len();
    let labels: Vec<Label> = all.into_iter().collect();
    let factor = spec.inputs.len().saturating_sub(1).max(1) + usize::from(inner);
    spec.size_of(&labels).saturating_mul(factor as u128)
}
