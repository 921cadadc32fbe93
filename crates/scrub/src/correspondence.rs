//! The hypothesis (reference §7.4): a [`Correspondence`] maps each [`InterpNode`] to an
//! [`IterativeMatcher`] selecting the model branch it explains, with the validity
//! checks of rust_circuit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use circuit_ir::Circuit;
use circuit_match::{are_any_found, get, new_traversal, restrict, IterativeMatcher, Matcher};
use circuit_tensor::Rng;

use crate::dataset::Dataset;
use crate::error::{Result, ScrubError};
use crate::interp::{InterpNode, SampledInputs};

/// `restrict(new_traversal(), term_if_matches = true)`: matches only the node it is
/// applied to (the circuit root). The root of every correspondence maps to it.
pub fn corr_root_matcher() -> IterativeMatcher {
    restrict(new_traversal(None, None, Matcher::never()), true, None, None, Matcher::never())
}

/// `child` reached from `parent`'s matches without passing through nodes matched by
/// `term_early_at` (`restrict(parent.chain(child), term_early_at)`).
pub fn chain_excluding(
    parent: &IterativeMatcher,
    child: impl Into<IterativeMatcher>,
    term_early_at: impl Into<Matcher>,
) -> IterativeMatcher {
    restrict(parent.chain(child), false, None, None, term_early_at)
}

/// `matcher.chain(input names)`: the model inputs reached through a branch.
pub fn to_inputs<S: AsRef<str>>(
    matcher: &IterativeMatcher,
    input_names: impl IntoIterator<Item = S>,
) -> IterativeMatcher {
    let names: Vec<String> = input_names.into_iter().map(|s| s.as_ref().to_string()).collect();
    matcher.chain(Matcher::names(names))
}

/// Maps interp nodes to model branches (the hypothesis). Nodes are kept in insertion
/// order; names are unique.
#[derive(Clone, Default)]
pub struct Correspondence {
    entries: Vec<(InterpNode, IterativeMatcher)>,
    by_name: BTreeMap<String, usize>,
}

impl fmt::Debug for Correspondence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (n, matcher) in &self.entries {
            m.entry(&n.name(), &matcher.to_string());
        }
        m.finish()
    }
}

impl Correspondence {
    /// An empty correspondence.
    pub fn new() -> Correspondence {
        Correspondence::default()
    }

    /// Maps `node` to `matcher`.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] when the node, or another node of the same
    /// name, is already mapped.
    pub fn add(&mut self, node: &InterpNode, matcher: impl Into<IterativeMatcher>) -> Result<()> {
        if self.index_of(node).is_some() {
            return Err(ScrubError::illegal(format!(
                "interp node '{}' is already in the correspondence",
                node.name()
            )));
        }
        if self.by_name.contains_key(node.name()) {
            return Err(ScrubError::illegal(format!(
                "a different interp node named '{}' is already in the correspondence",
                node.name()
            )));
        }
        self.by_name.insert(node.name().to_string(), self.entries.len());
        self.entries.push((node.clone(), matcher.into()));
        Ok(())
    }

    /// Maps an already mapped `node` to a new matcher.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] when the node is not mapped.
    pub fn replace(
        &mut self,
        node: &InterpNode,
        matcher: impl Into<IterativeMatcher>,
    ) -> Result<()> {
        let Some(i) = self.index_of(node) else {
            return Err(ScrubError::illegal(format!(
                "interp node '{}' is not in the correspondence",
                node.name()
            )));
        };
        self.entries[i].1 = matcher.into();
        Ok(())
    }

    fn index_of(&self, node: &InterpNode) -> Option<usize> {
        self.by_name.get(node.name()).copied().filter(|&i| self.entries[i].0 == *node)
    }

    /// The matcher of a node.
    pub fn get(&self, node: &InterpNode) -> Option<&IterativeMatcher> {
        self.index_of(node).map(|i| &self.entries[i].1)
    }

    /// The mapped node of that name.
    pub fn get_by_name(&self, name: &str) -> Option<&InterpNode> {
        self.by_name.get(name).map(|&i| &self.entries[i].0)
    }

    /// The number of mapped nodes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every `(node, matcher)`, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&InterpNode, &IterativeMatcher)> {
        self.entries.iter().map(|(n, m)| (n, m))
    }

    fn matcher_of(&self, node: &InterpNode) -> Result<IterativeMatcher> {
        self.get(node).cloned().ok_or_else(|| {
            ScrubError::illegal(format!(
                "interp node '{}' is in the tree but not in the correspondence",
                node.name()
            ))
        })
    }

    /// The mapped node that is no mapped node's child.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] when empty, or when there are several such
    /// nodes or none.
    pub fn root(&self) -> Result<InterpNode> {
        if self.entries.is_empty() {
            return Err(ScrubError::illegal("an empty correspondence has no root"));
        }
        let mut parents: HashMap<InterpNode, usize> =
            self.entries.iter().map(|(n, _)| (n.clone(), 0)).collect();
        for (n, _) in &self.entries {
            for c in n.children() {
                *parents.entry(c).or_default() += 1;
            }
        }
        let roots: Vec<&InterpNode> = self
            .entries
            .iter()
            .map(|(n, _)| n)
            .filter(|n| parents.get(*n).copied().unwrap_or(0) == 0)
            .collect();
        match roots.as_slice() {
            [root] => Ok((*root).clone()),
            [] => Err(ScrubError::illegal("found no root: the interp nodes do not form a tree")),
            many => Err(ScrubError::illegal(format!(
                "found multiple roots: {}",
                many.iter().map(|n| format!("'{}'", n.name())).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// `(node, matcher)` for the root's subtree in depth-first pre-order.
    ///
    /// # Errors
    /// As [`Correspondence::root`]; a node of the tree that is not mapped.
    pub fn in_dfs_order(&self) -> Result<Vec<(InterpNode, IterativeMatcher)>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        self.root()?.nodes().into_iter().map(|n| Ok((n.clone(), self.matcher_of(&n)?))).collect()
    }

    /// `(parent, node, matcher)` in depth-first pre-order (the root's parent is `None`).
    ///
    /// # Errors
    /// As [`Correspondence::in_dfs_order`].
    pub fn in_dfs_order_with_parents(
        &self,
    ) -> Result<Vec<(Option<InterpNode>, InterpNode, IterativeMatcher)>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let root = self.root()?;
        let mut out = vec![(None, root.clone(), self.matcher_of(&root)?)];
        for (p, c) in root.descendants_with_parents() {
            let m = self.matcher_of(&c)?;
            out.push((Some(p), c, m));
        }
        Ok(out)
    }

    /// Every child of a mapped node is mapped.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] naming the unmapped child and its parent.
    pub fn check_complete(&self) -> Result<()> {
        for (n, m) in &self.entries {
            for c in n.children() {
                if self.get(&c).is_none() {
                    return Err(ScrubError::illegal(format!(
                        "interp node '{}' is a child of '{}' (matcher {m}) but is not in the \
                         correspondence",
                        c.name(),
                        n.name()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The root maps to [`corr_root_matcher`].
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] otherwise.
    pub fn check_root_is_model(&self) -> Result<()> {
        let root = self.root()?;
        let m = self.matcher_of(&root)?;
        if m != corr_root_matcher() {
            return Err(ScrubError::illegal(format!(
                "the root interp node '{}' must map to corr_root_matcher() (the circuit root), \
                 but maps to {m}",
                root.name()
            )));
        }
        Ok(())
    }

    /// Each matcher matches at least one node of `circuit` and, extended to the inputs
    /// ([`to_inputs`]), reaches at least one input. Checked in depth-first order, so a
    /// failing node's ancestors passed.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] naming the node and its matcher.
    pub fn check_well_defined(
        &self,
        circuit: &Circuit,
        input_names: &BTreeSet<String>,
    ) -> Result<()> {
        for (n, m) in self.in_dfs_order()? {
            if !are_any_found(circuit, m.clone())? {
                return Err(ScrubError::illegal(format!(
                    "interp node '{}': matcher {m} matches no node of the circuit {}",
                    n.name(),
                    circuit.node_ref()
                )));
            }
            if !are_any_found(circuit, to_inputs(&m, input_names))? {
                return Err(ScrubError::illegal(format!(
                    "interp node '{}': matcher {m} reaches no input ({}) of the circuit",
                    n.name(),
                    input_names.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Every circuit node is matched by at most one interp node (expected after
    /// treeification).
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] naming a node matched twice and the interp
    /// nodes matching it.
    pub fn check_injective_on_treeified(&self, circuit: &Circuit) -> Result<()> {
        let mut matched_by: BTreeMap<Circuit, Vec<(String, String)>> = BTreeMap::new();
        for (n, m) in &self.entries {
            for c in get(circuit, m.clone())? {
                matched_by.entry(c).or_default().push((n.name().to_string(), m.to_string()));
            }
        }
        if let Some((c, who)) = matched_by.iter().find(|(_, who)| who.len() > 1) {
            let who: Vec<String> =
                who.iter().map(|(n, m)| format!("'{n}' (matcher {m})")).collect();
            return Err(ScrubError::illegal(format!(
                "not injective: circuit node {} is matched by several interp nodes: {}",
                c.node_ref(),
                who.join(", ")
            )));
        }
        Ok(())
    }

    /// [`Correspondence::check_complete`] and [`Correspondence::check_root_is_model`]
    /// (rust_circuit's `check(circuit_treeified=False)`), then
    /// [`Correspondence::check_well_defined`].
    ///
    /// # Errors
    /// The first failing check's error.
    pub fn check(&self, circuit: &Circuit, input_names: &BTreeSet<String>) -> Result<()> {
        self.check_complete()?;
        self.check_root_is_model()?;
        self.check_well_defined(circuit, input_names)
    }

    /// Samples the tree: the root conditioned on `reference`, drawing from `source`.
    ///
    /// # Errors
    /// As [`Correspondence::root`]; the samplers' errors.
    pub fn sample(
        &self,
        source: &Dataset,
        rng: &mut Rng,
        reference: &Dataset,
    ) -> Result<SampledInputs> {
        self.root()?.sample(rng, source, reference)
    }
}
