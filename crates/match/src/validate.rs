//! Fancy validation: after matching, every leaf of the matcher expression must have
//! contributed. A name set must have found every name, a kind set every kind, a circuit
//! set every circuit; regex / always / closure matchers must match at least one found
//! node; `Any`/`All` check each operand; `Not`, `AnyFound`, structural matchers, `term`
//! and user iterate functions are not checked; restricted and module-spec-filtered
//! matchers check their inner matcher; a chain checks its last element. Missing names
//! come with the closest names that do exist in the circuit, to catch typos.
//!
//! Difference from rust_circuit: the operands of an iterative `all` are checked too
//! (the reference skips them), and every problem is reported, not only the first.

use std::collections::BTreeSet;

use circuit_ir::{Circuit, Kind};

use crate::error::{MatchError, Result, ValidationProblem};
use crate::iterative::{IterData, IterativeMatcher};
use crate::matcher::{short_circuit_ref, Matcher, MatcherData};

struct Ctx<'a> {
    found: &'a BTreeSet<Circuit>,
    root: &'a Circuit,
    all_names: Option<BTreeSet<String>>,
    problems: Vec<ValidationProblem>,
}

/// Checks that each leaf of `matcher` contributed to `found` (the result of matching
/// `root`).
///
/// # Errors
/// [`MatchError::Validation`] listing every unmet expectation; errors of matchers that
/// are re-run on the found nodes.
pub fn validate_matched(
    matcher: &IterativeMatcher,
    found: &BTreeSet<Circuit>,
    root: &Circuit,
) -> Result<()> {
    let mut ctx = Ctx { found, root, all_names: None, problems: Vec::new() };
    ctx.iterative(matcher)?;
    if ctx.problems.is_empty() {
        Ok(())
    } else {
        Err(MatchError::Validation { problems: ctx.problems })
    }
}

impl Ctx<'_> {
    fn iterative(&mut self, m: &IterativeMatcher) -> Result<()> {
        match m.data() {
            IterData::Match(x) => self.matcher(x),
            IterData::Restrict(r) => self.iterative(&r.inner),
            IterData::NoModuleSpec(x) => self.iterative(x),
            IterData::Chains(chains) => {
                for c in chains {
                    self.iterative(c.last())?;
                }
                Ok(())
            }
            IterData::All(ms) => {
                for x in ms {
                    self.iterative(x)?;
                }
                Ok(())
            }
            IterData::Term(_)
            | IterData::Children(..)
            | IterData::ModuleArg(..)
            | IterData::SpecCircuit(_)
            | IterData::Func(_) => Ok(()),
        }
    }

    fn matcher(&mut self, m: &Matcher) -> Result<()> {
        match m.data() {
            MatcherData::Names(names) => {
                let found_names: BTreeSet<&str> =
                    self.found.iter().filter_map(Circuit::name).collect();
                for n in names {
                    if !found_names.contains(n.as_str()) {
                        let (exists, suggestions) = self.suggest(n);
                        self.problems.push(ValidationProblem::MissingName {
                            name: n.clone(),
                            exists,
                            suggestions,
                        });
                    }
                }
                Ok(())
            }
            MatcherData::Kinds(kinds) => {
                let found_kinds: BTreeSet<Kind> = self.found.iter().map(Circuit::kind).collect();
                for k in kinds {
                    if !found_kinds.contains(k) {
                        self.problems.push(ValidationProblem::MissingKind { kind: *k });
                    }
                }
                Ok(())
            }
            MatcherData::Circuits(cs) => {
                for c in cs {
                    if !self.found.contains(c) {
                        self.problems.push(ValidationProblem::MissingCircuit {
                            circuit: short_circuit_ref(c),
                        });
                    }
                }
                Ok(())
            }
            MatcherData::Any(ms) | MatcherData::All(ms) => {
                for x in ms {
                    self.matcher(x)?;
                }
                Ok(())
            }
            MatcherData::Not(_) | MatcherData::AnyFound(_) => Ok(()),
            MatcherData::Regex(_) | MatcherData::Always(_) | MatcherData::Func(_) => {
                for c in self.found {
                    if m.call(c)? {
                        return Ok(());
                    }
                }
                self.problems.push(ValidationProblem::MatchedNothing { matcher: m.to_string() });
                Ok(())
            }
        }
    }

    /// Whether `name` exists anywhere in the circuit, and the closest existing names.
    fn suggest(&mut self, name: &str) -> (bool, Vec<String>) {
        let root = self.root;
        let all = self.all_names.get_or_insert_with(|| {
            root.toposort().iter().filter_map(|c| c.name().map(str::to_owned)).collect()
        });
        if all.contains(name) {
            return (true, Vec::new());
        }
        let limit = (name.chars().count() / 3).max(2);
        let mut scored: Vec<(usize, &String)> =
            all.iter().map(|n| (edit_distance(name, n), n)).filter(|(d, _)| *d <= limit).collect();
        scored.sort();
        (false, scored.into_iter().take(3).map(|(_, n)| n.clone()).collect())
    }
}

/// Levenshtein distance over chars.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("a1.ind", "a1.in"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
