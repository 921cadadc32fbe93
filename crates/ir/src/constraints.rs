//! Symbolic-size constraints (`size_a = size_b`) added by SetSymbolicShape nodes, and a
//! small solver that checks them without an SMT solver.
//!
//! The solver cancels common symbolic factors, propagates every constraint that has a
//! single unknown symbolic factor on one side and a known value on the other, and checks
//! fully known constraints for equality. Constraints with unknowns on both sides after
//! propagation are accepted (positive integer solutions exist for one such equation; a
//! system of several could in rare cases be unsatisfiable, which we document as a
//! difference from rust_circuit's Z3 check).

use std::collections::BTreeMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::size::{decompose, format_size, SizeParts};
use crate::{IrError, Result};

/// One constraint: two encoded sizes that must be equal.
pub type Constraint = (usize, usize);

/// A shared, sorted, deduplicated set of constraints.
pub type Constraints = Arc<[Constraint]>;

/// Normalises one constraint: sorted pair; `None` when trivially true.
pub(crate) fn normalize(a: usize, b: usize) -> Option<Constraint> {
    if a == b {
        return None;
    }
    Some(if a < b { (a, b) } else { (b, a) })
}

/// Unions constraint sets, sharing the input allocation when only one is non-empty.
pub(crate) fn union(sets: &[&Constraints], extra: &[Constraint]) -> Constraints {
    let non_empty: Vec<&&Constraints> = sets.iter().filter(|s| !s.is_empty()).collect();
    if extra.is_empty() {
        match non_empty.len() {
            0 => return empty(),
            1 => return (*non_empty[0]).clone(),
            _ => {}
        }
    }
    let mut all: Vec<Constraint> = non_empty.iter().flat_map(|s| s.iter().copied()).collect();
    all.extend_from_slice(extra);
    all.sort_unstable();
    all.dedup();
    all.into()
}

/// The empty set.
pub(crate) fn empty() -> Constraints {
    static EMPTY: std::sync::OnceLock<Constraints> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(Vec::new())).clone()
}

/// Checks that the constraints can hold simultaneously.
///
/// # Errors
/// [`IrError::UnsatisfiableConstraints`] naming a violated constraint.
pub fn check_satisfiable(constraints: &[Constraint]) -> Result<BTreeMap<u8, usize>> {
    let mut known: BTreeMap<u8, usize> = BTreeMap::new();
    let mut pending: Vec<(SizeParts, SizeParts, Constraint)> =
        constraints.iter().map(|&(a, b)| (decompose(a), decompose(b), (a, b))).collect();
    loop {
        let mut progress = false;
        let mut still: Vec<(SizeParts, SizeParts, Constraint)> = Vec::new();
        for (l, r, orig) in pending {
            let (l, r) = cancel(substitute(&l, &known), substitute(&r, &known));
            match (l.symbols.is_empty(), r.symbols.is_empty()) {
                (true, true) => {
                    if l.other != r.other {
                        return Err(unsat(orig));
                    }
                }
                (true, false) | (false, true) => {
                    let (value, unknown) = if l.symbols.is_empty() { (l, r) } else { (r, l) };
                    if unknown.other == 0 || value.other % unknown.other != 0 {
                        return Err(unsat(orig));
                    }
                    let quotient = value.other / unknown.other;
                    if unknown.symbols.len() == 1 {
                        known.insert(unknown.symbols[0], quotient);
                        progress = true;
                    } else {
                        still.push((value, unknown, orig));
                    }
                }
                (false, false) => still.push((l, r, orig)),
            }
        }
        pending = still;
        if !progress {
            break;
        }
    }
    Ok(known)
}

fn unsat((a, b): Constraint) -> IrError {
    IrError::UnsatisfiableConstraints(format!("{} = {}", format_size(a), format_size(b)))
}

fn substitute(p: &SizeParts, known: &BTreeMap<u8, usize>) -> SizeParts {
    let mut out = SizeParts { other: p.other, symbols: SmallVec::new() };
    for s in &p.symbols {
        match known.get(s) {
            Some(v) => out.other = out.other.saturating_mul(*v),
            None => out.symbols.push(*s),
        }
    }
    out
}

fn cancel(mut l: SizeParts, mut r: SizeParts) -> (SizeParts, SizeParts) {
    let mut i = 0;
    while i < l.symbols.len() {
        if let Some(j) = r.symbols.iter().position(|s| *s == l.symbols[i]) {
            r.symbols.remove(j);
            l.symbols.remove(i);
        } else {
            i += 1;
        }
    }
    (l, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::symbolic_size;

    #[test]
    fn propagation_and_conflicts() {
        let s0 = symbolic_size(0).unwrap();
        let s1 = symbolic_size(1).unwrap();
        let known = check_satisfiable(&[(s0, 17), (2 * s1, 22)]).unwrap();
        assert_eq!(known.get(&0), Some(&17));
        assert_eq!(known.get(&1), Some(&11));
        assert!(check_satisfiable(&[(s0, 17), (s0, 18)]).is_err());
        assert!(check_satisfiable(&[(2 * s1, 21)]).is_err());
        assert!(check_satisfiable(&[(2 * s0, 3 * s0)]).is_err());
        assert!(check_satisfiable(&[(s0 * s1, 12)]).is_ok());
        assert!(check_satisfiable(&[(s0 * s1, 12), (s0, 5)]).is_err());
    }
}
