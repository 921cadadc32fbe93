//! Maps from symbolic sizes to the sizes that replace them when a module binds inputs:
//! solved by unifying each argument symbol's shape with its input's shape.

use std::collections::BTreeMap;

use crate::size::{decompose, SizeParts};
use crate::{IrError, Result, Shape};

/// Symbolic size number → replacement size (possibly itself symbolic), plus whole-size
/// replacements for products that could not be split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SizeMap {
    atoms: BTreeMap<u8, usize>,
    exact: BTreeMap<usize, usize>,
}

impl SizeMap {
    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty() && self.exact.is_empty()
    }

    /// Solves `pattern = value` equations (pattern sizes from symbols, values from inputs).
    ///
    /// # Errors
    /// [`IrError::Module`]-style message (as `Err(String)`) when two equations conflict or
    /// a value is not divisible by a pattern's plain factor.
    pub fn solve(equations: &[(usize, usize)]) -> Result<SizeMap, String> {
        let mut map = SizeMap::default();
        let mut conflicted: Vec<u8> = Vec::new();
        loop {
            // Candidates for atoms that are the only unknown of an equation; when inputs
            // disagree, a concrete size wins over a symbolic one (the caller then fixes the
            // symbolic input with a SetSymbolicShape).
            let mut candidates: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
            for &(pattern, value) in equations {
                let parts = decompose(pattern);
                let unknown: Vec<u8> = parts
                    .symbols
                    .iter()
                    .copied()
                    .filter(|s| !map.atoms.contains_key(s) && !conflicted.contains(s))
                    .collect();
                if parts.symbols.iter().any(|s| conflicted.contains(s)) {
                    continue;
                }
                let [one] = unknown.as_slice() else { continue };
                let known_factor = parts
                    .symbols
                    .iter()
                    .filter_map(|s| map.atoms.get(s))
                    .try_fold(parts.other, |acc, &v| acc.checked_mul(v))
                    .ok_or_else(|| "size overflow while binding symbolic sizes".to_string())?;
                if known_factor != 0 && value % known_factor == 0 {
                    candidates.entry(*one).or_default().push(value / known_factor);
                }
            }
            if candidates.is_empty() {
                break;
            }
            for (atom, values) in candidates {
                let chosen = values
                    .iter()
                    .copied()
                    .find(|&v| !crate::size::is_symbolic(v))
                    .unwrap_or(values[0]);
                let concrete: Vec<usize> =
                    values.iter().copied().filter(|&v| !crate::size::is_symbolic(v)).collect();
                if concrete.iter().any(|&v| v != chosen) {
                    // Inputs fix this symbolic size to different concrete sizes: leave it
                    // symbolic (each symbol is still replaced by its own input; a node that
                    // really combines them reports the conflict when it is rebuilt).
                    conflicted.push(atom);
                    continue;
                }
                map.atoms.insert(atom, chosen);
            }
        }
        let mut ambiguous: Vec<usize> = Vec::new();
        for &(pattern, value) in equations {
            let parts = decompose(pattern);
            if parts.symbols.iter().any(|s| !map.atoms.contains_key(s)) {
                if map.exact.get(&pattern).is_some_and(|&v| v != value) {
                    ambiguous.push(pattern);
                }
                map.exact.insert(pattern, value);
            }
        }
        for p in ambiguous {
            map.exact.remove(&p);
        }
        Ok(map)
    }

    /// The size after replacement.
    pub fn apply(&self, size: usize) -> usize {
        if self.is_empty() {
            return size;
        }
        if let Some(&v) = self.exact.get(&size) {
            return v;
        }
        let parts = decompose(size);
        if parts.symbols.iter().all(|s| !self.atoms.contains_key(s)) {
            return size;
        }
        let mut out = SizeParts { other: parts.other, symbols: Default::default() };
        let mut acc = parts.other;
        for s in &parts.symbols {
            match self.atoms.get(s) {
                Some(&v) => acc = acc.saturating_mul(v),
                None => out.symbols.push(*s),
            }
        }
        out.other = acc;
        out.compose().unwrap_or(size)
    }

    /// Applies to every dim of a shape.
    pub fn apply_shape(&self, shape: &[usize]) -> Shape {
        shape.iter().map(|&s| self.apply(s)).collect()
    }

    /// Whether applying changes this shape.
    pub fn changes(&self, shape: &[usize]) -> bool {
        !self.is_empty() && shape.iter().any(|&s| self.apply(s) != s)
    }
}

pub(crate) fn module_err(node: &str, msg: String) -> IrError {
    IrError::Module { node: node.into(), msg }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::symbolic_size;

    #[test]
    fn solves_products() {
        let s0 = symbolic_size(0).unwrap();
        let s1 = symbolic_size(1).unwrap();
        let s2 = symbolic_size(2).unwrap();
        let m = SizeMap::solve(&[(s0, 17), (2 * s1, 22), (s2, 13)]).unwrap();
        assert_eq!(m.apply(s0), 17);
        assert_eq!(m.apply(s1), 11);
        assert_eq!(m.apply(3 * s1), 33);
        assert_eq!(m.apply(s0 * s1), 187);
        // Conflicting concrete bindings leave the size symbolic.
        assert_eq!(SizeMap::solve(&[(s0, 17), (s0, 18)]).unwrap().apply(s0), s0);
        assert_eq!(SizeMap::solve(&[(s0, s2), (s0, 8)]).unwrap().apply(s0), 8);
        let m = SizeMap::solve(&[(s0, s2)]).unwrap();
        assert_eq!(m.apply(s0), s2);
    }
}
