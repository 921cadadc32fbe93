//! Maps from symbolic sizes to the sizes that replace them when a module binds inputs:
//! solved by unifying each argument symbol's shape with its input's shape.

use std::collections::BTreeMap;

use crate::size::{decompose, format_size, SizeParts};
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
        let mut pending: Vec<(usize, usize)> = equations.to_vec();
        loop {
            let mut progress = false;
            let mut still = Vec::new();
            for &(pattern, value) in &pending {
                let parts = decompose(pattern);
                let unknown: Vec<u8> =
                    parts.symbols.iter().copied().filter(|s| !map.atoms.contains_key(s)).collect();
                let known_factor = parts
                    .symbols
                    .iter()
                    .filter_map(|s| map.atoms.get(s))
                    .try_fold(parts.other, |acc, &v| acc.checked_mul(v))
                    .ok_or_else(|| "size overflow while binding symbolic sizes".to_string())?;
                match unknown.as_slice() {
                    [] => {
                        if known_factor != value {
                            return Err(format!(
                                "symbolic size {} would have to be both {} and {}",
                                format_size(pattern),
                                format_size(known_factor),
                                format_size(value)
                            ));
                        }
                    }
                    [one] => {
                        if known_factor == 0 || value % known_factor != 0 {
                            return Err(format!(
                                "cannot bind {} to {}: not divisible by {}",
                                format_size(pattern),
                                format_size(value),
                                format_size(known_factor)
                            ));
                        }
                        map.atoms.insert(*one, value / known_factor);
                        progress = true;
                    }
                    _ => still.push((pattern, value)),
                }
            }
            pending = still;
            if !progress {
                break;
            }
        }
        for (pattern, value) in pending {
            map.exact.insert(pattern, value);
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
        assert!(SizeMap::solve(&[(s0, 17), (s0, 18)]).is_err());
        assert!(SizeMap::solve(&[(2 * s1, 21)]).is_err());
        let m = SizeMap::solve(&[(s0, s2)]).unwrap();
        assert_eq!(m.apply(s0), s2);
    }
}
