//! The interpretation graph (reference §7.3): a tree of [`InterpNode`]s, each saying
//! how the data seen by its model branch may be resampled, and [`SampledInputs`], one
//! sampling of the tree.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use circuit_tensor::Rng;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::sampler::{CondSampler, IntoCondSampler, SamplerPools, UncondSampler};

/// A node of an interpretation tree. Cheap to clone (a shared handle); equality and
/// hashing are by identity, as in rust_circuit.
///
/// * `cond_sampler` draws this node's dataset conditioned on its parent's (the root:
///   on the reference dataset);
/// * `other_inputs_sampler` (internal nodes only) draws, conditioned on this node's
///   dataset, the data for model inputs reachable from this node's branch but claimed
///   by no child (default: [`UncondSampler`], i.e. "nothing else matters").
///
/// Children are added with [`InterpNode::make_descendant`]; names should be unique
/// within a hypothesis (the [`crate::Correspondence`] enforces it).
#[derive(Clone)]
pub struct InterpNode(Arc<Inner>);

struct Inner {
    name: String,
    cond_sampler: Arc<dyn CondSampler>,
    other_inputs_sampler: Arc<dyn CondSampler>,
    children: RwLock<Vec<InterpNode>>,
}

impl InterpNode {
    /// A node with the default other-inputs sampler ([`UncondSampler`]).
    pub fn new(cond_sampler: impl IntoCondSampler, name: impl Into<String>) -> InterpNode {
        InterpNode::with_other_inputs(cond_sampler, name, UncondSampler::new())
    }

    /// A node with an explicit other-inputs sampler.
    pub fn with_other_inputs(
        cond_sampler: impl IntoCondSampler,
        name: impl Into<String>,
        other_inputs_sampler: impl IntoCondSampler,
    ) -> InterpNode {
        InterpNode(Arc::new(Inner {
            name: name.into(),
            cond_sampler: cond_sampler.into_sampler(),
            other_inputs_sampler: other_inputs_sampler.into_sampler(),
            children: RwLock::new(Vec::new()),
        }))
    }

    /// Creates a child (default other-inputs sampler), appends it to this node's
    /// children and returns it.
    pub fn make_descendant(
        &self,
        cond_sampler: impl IntoCondSampler,
        name: impl Into<String>,
    ) -> InterpNode {
        self.make_descendant_with_other(cond_sampler, name, UncondSampler::new())
    }

    /// [`InterpNode::make_descendant`] with an explicit other-inputs sampler.
    pub fn make_descendant_with_other(
        &self,
        cond_sampler: impl IntoCondSampler,
        name: impl Into<String>,
        other_inputs_sampler: impl IntoCondSampler,
    ) -> InterpNode {
        let child = InterpNode::with_other_inputs(cond_sampler, name, other_inputs_sampler);
        match self.0.children.write() {
            Ok(mut c) => c.push(child.clone()),
            Err(poisoned) => poisoned.into_inner().push(child.clone()),
        }
        child
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The sampler of this node's dataset.
    pub fn cond_sampler(&self) -> &Arc<dyn CondSampler> {
        &self.0.cond_sampler
    }

    /// The sampler of the inputs of this node's branch that no child claims.
    pub fn other_inputs_sampler(&self) -> &Arc<dyn CondSampler> {
        &self.0.other_inputs_sampler
    }

    /// The children, in creation order.
    pub fn children(&self) -> Vec<InterpNode> {
        match self.0.children.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether the node has no children.
    pub fn is_leaf(&self) -> bool {
        self.children().is_empty()
    }

    /// The number of nodes of the subtree rooted here.
    pub fn tree_size(&self) -> usize {
        self.nodes().len()
    }

    /// The nodes of the subtree rooted here, in depth-first pre-order.
    pub fn nodes(&self) -> Vec<InterpNode> {
        let mut out = Vec::new();
        let mut stack = vec![self.clone()];
        while let Some(n) = stack.pop() {
            let children = n.children();
            out.push(n);
            stack.extend(children.into_iter().rev());
        }
        out
    }

    /// Every `(parent, child)` pair of the subtree, children in depth-first pre-order.
    pub fn descendants_with_parents(&self) -> Vec<(InterpNode, InterpNode)> {
        let mut out = Vec::new();
        for n in self.nodes() {
            for c in n.children() {
                out.push((n.clone(), c));
            }
        }
        // Order by the child's position in the pre-order.
        let order: HashMap<InterpNode, usize> =
            self.nodes().into_iter().enumerate().map(|(i, n)| (n, i)).collect();
        out.sort_by_key(|(_, c)| order.get(c).copied().unwrap_or(usize::MAX));
        out
    }

    /// Samples the subtree: this node's dataset with its cond sampler conditioned on
    /// `parent_ds`, its other-inputs dataset (internal nodes) conditioned on that, then
    /// each child conditioned on this node's dataset, in depth-first order.
    ///
    /// # Errors
    /// The samplers' errors.
    pub fn sample(
        &self,
        rng: &mut Rng,
        source: &Dataset,
        parent_ds: &Dataset,
    ) -> Result<SampledInputs> {
        let mut into = SampledInputs::default();
        self.sample_into(rng, source, parent_ds, &mut into)?;
        for n in self.nodes() {
            into.warnings.extend(n.cond_sampler().take_warnings());
            into.warnings.extend(n.other_inputs_sampler().take_warnings());
        }
        Ok(into)
    }

    fn sample_into(
        &self,
        rng: &mut Rng,
        source: &Dataset,
        parent_ds: &Dataset,
        into: &mut SampledInputs,
    ) -> Result<()> {
        let ds = into.pools.sample(self.cond_sampler().as_ref(), parent_ds, source, rng)?;
        let children = self.children();
        if !children.is_empty() {
            let other =
                into.pools.sample(self.other_inputs_sampler().as_ref(), &ds, source, rng)?;
            into.other_inputs_datasets.insert(self.clone(), other);
        }
        into.datasets.insert(self.clone(), ds.clone());
        for child in children {
            child.sample_into(rng, source, &ds, into)?;
        }
        Ok(())
    }

    /// The samplers of this node, with the first datum each drew when `sampled` is
    /// given: `cond_sampler=…, other_inputs_sampler=…`.
    pub fn str_samplers(&self, sampled: Option<&SampledInputs>, datum: usize) -> String {
        let describe = |s: &Arc<dyn CondSampler>, ds: Option<&Dataset>| -> String {
            let Some(ds) = ds else { return s.describe() };
            let Ok(one) = ds.index(datum) else { return s.describe() };
            let mut extra = format!("d={}", one.datum_string(0));
            if let Some(cond) = s.condition_string(&one) {
                extra.push_str(", ");
                extra.push_str(&cond);
            }
            format!("{}({extra})", s.describe())
        };
        let mut out = format!(
            "cond_sampler={}",
            describe(self.cond_sampler(), sampled.and_then(|s| s.dataset(self)))
        );
        if !self.is_leaf() {
            out.push_str(", other_inputs_sampler=");
            out.push_str(&describe(
                self.other_inputs_sampler(),
                sampled.and_then(|s| s.other_inputs(self)),
            ));
        }
        out
    }

    /// The subtree as indented text, one node per line with its samplers (and, given
    /// `sampled`, the first datum each drew).
    pub fn repr(&self, sampled: Option<&SampledInputs>) -> String {
        let mut out = String::new();
        let mut stack = vec![(self.clone(), 0usize)];
        while let Some((n, depth)) = stack.pop() {
            out.push_str(&"  ".repeat(depth));
            out.push_str(n.name());
            out.push_str("  # ");
            out.push_str(&n.str_samplers(sampled, 0));
            out.push('\n');
            for c in n.children().into_iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        out
    }
}

impl PartialEq for InterpNode {
    fn eq(&self, other: &InterpNode) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for InterpNode {}

impl Hash for InterpNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state);
    }
}

impl fmt::Debug for InterpNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let children: Vec<String> = self.children().iter().map(|c| c.name().to_string()).collect();
        write!(
            f,
            "InterpNode(name={}, {}, children={children:?})",
            self.name(),
            self.str_samplers(None, 0)
        )
    }
}

impl fmt::Display for InterpNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One sampling of an interpretation tree: each node's dataset, each internal node's
/// other-inputs dataset, the pools used, and the samplers' warnings.
#[derive(Default, Clone, Debug)]
pub struct SampledInputs {
    datasets: HashMap<InterpNode, Dataset>,
    other_inputs_datasets: HashMap<InterpNode, Dataset>,
    pools: SamplerPools,
    warnings: Vec<String>,
}

impl SampledInputs {
    /// The data a node's model branch receives: its own dataset for a leaf, its
    /// other-inputs dataset for an internal node.
    pub fn get(&self, node: &InterpNode) -> Option<&Dataset> {
        if node.is_leaf() {
            self.datasets.get(node)
        } else {
            self.other_inputs_datasets.get(node)
        }
    }

    /// The dataset drawn by the node's cond sampler.
    pub fn dataset(&self, node: &InterpNode) -> Option<&Dataset> {
        self.datasets.get(node)
    }

    /// The dataset drawn by an internal node's other-inputs sampler.
    pub fn other_inputs(&self, node: &InterpNode) -> Option<&Dataset> {
        self.other_inputs_datasets.get(node)
    }

    /// Warnings raised by the samplers while sampling (e.g. feature classes with fewer
    /// candidates than references).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
