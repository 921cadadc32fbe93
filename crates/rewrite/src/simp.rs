//! The simplification driver: a [`RuleSet`] (rust_circuit's `SimpFnSubset`) applied to
//! a fixed point, children first, memoized by node hash.
//!
//! At each node (whose children are already simplified) the enabled rules for its kind
//! are tried in table order; the first that applies replaces the node, the new node's
//! children are simplified (unchanged ones are memo hits), and the node is tried again.
//! More than [`MAX_REWRITES_PER_NODE`] rewrites of one node is an error
//! ([`RewriteError::NoFixedPoint`]), not a panic.

use circuit_ir::{Circuit, Kind, NodeHash, NodeMap};

use crate::rules::{find_rule, Rule, RULES};
use crate::{Result, RewriteError};

/// How many rewrites one node may undergo before `simp` gives up (rust_circuit: 50).
pub const MAX_REWRITES_PER_NODE: usize = 50;

/// A set of enabled rules (rust_circuit's `SimpFnSubset`), kept in table order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    enabled: Vec<bool>,
}

const DEFAULT: &[&str] = &[
    "remove-add-few-input",
    "add-elim-zeros",
    "add-deduplicate",
    "add-elim-removable-axes-weak",
    "einsum-elim-zero",
    "einsum-elim-identity",
    "einsum-of-permute-merge",
    "einsum-remove-one",
    "einsum-elim-removable-axes-weak",
    "einsum-permute-to-rearrange",
    "index-elim-identity",
    "index-merge-scalar",
    "rearrange-elim-identity",
    "rearrange-fuse",
    "rearrange-merge-scalar",
    "permute-of-einsum-merge",
    "concat-elim-identity",
    "concat-merge-uniform",
    "concat-drop-size-zero",
    "concat-fuse",
    "concat-repeat-to-rearrange",
    "elim-empty-module",
    "elim-no-input-module",
];

const NOT_IN_COMPILER_DEFAULT: &[&str] =
    &["add-elim-removable-axes-weak", "einsum-elim-removable-axes-weak", "einsum-remove-one"];

impl RuleSet {
    /// No rule enabled.
    pub fn none() -> RuleSet {
        RuleSet { enabled: vec![false; RULES.len()] }
    }

    /// Every registered rule.
    pub fn all() -> RuleSet {
        RuleSet { enabled: vec![true; RULES.len()] }
    }

    /// The preset `simp` uses (rust_circuit's `SimpFnSubset.default()`).
    pub fn default_preset() -> RuleSet {
        let mut s = RuleSet::none();
        for (flag, r) in s.enabled.iter_mut().zip(RULES) {
            *flag = DEFAULT.contains(&r.name);
        }
        s
    }

    /// The preset `compiler_simp` uses: every rule except `add-elim-removable-axes-weak`,
    /// `einsum-elim-removable-axes-weak` and `einsum-remove-one`.
    pub fn compiler_default() -> RuleSet {
        let mut s = RuleSet::all();
        for (flag, r) in s.enabled.iter_mut().zip(RULES) {
            *flag = !NOT_IN_COMPILER_DEFAULT.contains(&r.name);
        }
        s
    }

    /// Enables the named rules (kebab- or snake_case).
    ///
    /// # Errors
    /// [`RewriteError::UnknownRule`] for a name that is not registered.
    pub fn include<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Result<RuleSet> {
        for n in names {
            let i = rule_index(n.as_ref())?;
            self.enabled[i] = true;
        }
        Ok(self)
    }

    /// Disables the named rules.
    ///
    /// # Errors
    /// [`RewriteError::UnknownRule`] for a name that is not registered.
    pub fn exclude<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Result<RuleSet> {
        for n in names {
            let i = rule_index(n.as_ref())?;
            self.enabled[i] = false;
        }
        Ok(self)
    }

    /// The enabled rules, in table order.
    pub fn rules(&self) -> Vec<&'static Rule> {
        RULES.iter().zip(&self.enabled).filter(|(_, &e)| e).map(|(r, _)| r).collect()
    }

    /// The enabled rules' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.rules().iter().map(|r| r.name).collect()
    }

    /// Simplifies `circuit` to a fixed point with these rules.
    ///
    /// # Errors
    /// [`RewriteError::Construct`] naming the rule and node when a rule builds an invalid
    /// node (a bug); [`RewriteError::NoFixedPoint`] when rules keep rewriting one node.
    pub fn simp(&self, circuit: &Circuit) -> Result<Circuit> {
        Simplifier::new(self).deep(circuit)
    }

    /// One rewrite at the root: the first enabled rule that applies, or `None`.
    ///
    /// # Errors
    /// [`RewriteError::Construct`] when the rule fails.
    pub fn simp_step(&self, circuit: &Circuit) -> Result<Option<Circuit>> {
        for r in self.rules().into_iter().filter(|r| r.kind == circuit.kind()) {
            if let Some(next) = apply_rule(r, circuit)? {
                return Ok(Some(next));
            }
        }
        Ok(None)
    }
}

impl Default for RuleSet {
    fn default() -> RuleSet {
        RuleSet::default_preset()
    }
}

fn rule_index(name: &str) -> Result<usize> {
    match find_rule(name) {
        Some(r) => Ok(RULES.iter().position(|x| x.name == r.name).unwrap_or(0)),
        None => Err(RewriteError::UnknownRule {
            name: name.to_string(),
            suggestions: crate::pipeline::suggest(name),
        }),
    }
}

/// Applies one rule, wrapping errors with its name and the node, and checking that the
/// shape is kept (a rule that changes it is a bug, reported rather than propagated).
///
/// # Errors
/// [`RewriteError::Construct`], or [`RewriteError::Unsupported`] for a shape change.
pub fn apply_rule(rule: &Rule, node: &Circuit) -> Result<Option<Circuit>> {
    let out = (rule.apply)(node).map_err(RewriteError::construct(rule.name, node))?;
    match out {
        Some(next) if next.shape() != node.shape() => Err(RewriteError::unsupported(
            rule.name,
            node,
            format!("the rule changed the shape to {:?} (a bug)", next.shape().as_slice()),
        )),
        Some(next) if next == *node => Ok(None),
        // A rewrite may leave the dtype open (a float node becoming a Scalar), but must not
        // change it: dropping the only int64 operand of a Concat would turn 0.5 from 0 into
        // 0.5.
        Some(next) if !dtype_kept(node, &next) => Ok(None),
        other => Ok(other),
    }
}

fn dtype_kept(before: &Circuit, after: &Circuit) -> bool {
    match (before.dtype(), after.dtype()) {
        (Some(a), Some(b)) => a == b,
        (Some(a), None) => a.is_float(),
        (None, Some(_)) => false,
        (None, None) => true,
    }
}

/// `simp` with the default preset.
///
/// # Errors
/// See [`RuleSet::simp`].
pub fn simp(circuit: &Circuit) -> Result<Circuit> {
    RuleSet::default_preset().simp(circuit)
}

/// `simp` with the compiler preset.
///
/// # Errors
/// See [`RuleSet::simp`].
pub fn compiler_simp(circuit: &Circuit) -> Result<Circuit> {
    RuleSet::compiler_default().simp(circuit)
}

/// One run of the fixed-point driver (memo tables live as long as the run).
struct Simplifier {
    by_kind: Vec<(Kind, Vec<&'static Rule>)>,
    memo: NodeMap<NodeHash, Circuit>,
}

impl Simplifier {
    fn new(set: &RuleSet) -> Simplifier {
        let rules = set.rules();
        let by_kind = Kind::ALL
            .iter()
            .map(|&k| (k, rules.iter().copied().filter(|r| r.kind == k).collect()))
            .collect();
        Simplifier { by_kind, memo: NodeMap::default() }
    }

    /// Simplifies every node below and including `root`, skipping memoized nodes.
    fn deep(&mut self, root: &Circuit) -> Result<Circuit> {
        if let Some(done) = self.memo.get(&root.hash()) {
            return Ok(done.clone());
        }
        let mut stack: Vec<(Circuit, usize)> = vec![(root.clone(), 0)];
        while let Some((node, next)) = stack.pop() {
            if self.memo.contains_key(&node.hash()) {
                continue;
            }
            if let Some(child) = node.children().get(next).cloned() {
                stack.push((node, next + 1));
                if !self.memo.contains_key(&child.hash()) {
                    stack.push((child, 0));
                }
                continue;
            }
            let kids: Vec<Circuit> = node
                .children()
                .iter()
                .map(|c| self.memo.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
                .collect();
            let rebuilt = crate::utils::rebuild_children(&node, kids)
                .map_err(RewriteError::construct("simp", &node))?;
            let simplified = self.node(&rebuilt)?;
            self.memo.insert(simplified.hash(), simplified.clone());
            self.memo.insert(rebuilt.hash(), simplified.clone());
            self.memo.insert(node.hash(), simplified);
        }
        Ok(self.memo.get(&root.hash()).cloned().unwrap_or_else(|| root.clone()))
    }

    fn node(&mut self, start: &Circuit) -> Result<Circuit> {
        let mut current = start.clone();
        let mut count = 0;
        'outer: loop {
            let rules = self.rules_for(current.kind());
            for r in rules {
                let Some(next) = apply_rule(r, &current)? else { continue };
                count += 1;
                if count > MAX_REWRITES_PER_NODE {
                    return Err(RewriteError::NoFixedPoint {
                        driver: "simp",
                        node: start.node_ref(),
                        iterations: count,
                        last_rule: r.name,
                    });
                }
                let mut kids = Vec::with_capacity(next.children().len());
                for k in next.children() {
                    kids.push(self.deep(k)?);
                }
                current =
                    next.with_children(kids).map_err(RewriteError::construct(r.name, &next))?;
                continue 'outer;
            }
            break;
        }
        Ok(current)
    }

    fn rules_for(&self, kind: Kind) -> Vec<&'static Rule> {
        self.by_kind.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_follow_the_reference() {
        let d = RuleSet::default_preset();
        assert_eq!(d.names().len(), DEFAULT.len());
        assert!(d.names().contains(&"add-elim-zeros") && !d.names().contains(&"add-flatten"));
        let c = RuleSet::compiler_default();
        assert_eq!(c.names().len(), RULES.len() - NOT_IN_COMPILER_DEFAULT.len());
        assert!(!c.names().contains(&"einsum-remove-one"));
        assert_eq!(RuleSet::none().include(["add_flatten"]).unwrap().names(), vec!["add-flatten"]);
        assert_eq!(RuleSet::all().exclude(["add-flatten"]).unwrap().names().len(), RULES.len() - 1);
        let err = RuleSet::none().include(["add-flaten"]).unwrap_err();
        assert!(err.to_string().contains("did you mean add-flatten"), "{err}");
    }

    #[test]
    fn simp_step_applies_one_rule_at_the_root() {
        let x = Circuit::symbol(&[2], circuit_ir::Uuid::nil(), Some("x")).expect("symbol");
        let one = Circuit::sum_of([x.clone()]).expect("add");
        let two = Circuit::sum_of([one.clone()]).expect("add");
        let step = RuleSet::default_preset().simp_step(&two).expect("step");
        assert_eq!(step, Some(one));
        assert_eq!(simp(&two).expect("simp"), x);
    }
}
