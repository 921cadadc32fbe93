//! [`Experiment`]: the causal-scrubbing run loop up to evaluation (reference §7.5):
//! sample the hypothesis, treeify, wrap the inputs in variables sharing one group, and
//! replace each branch's inputs by its sampled data.

use circuit_ir::{Circuit, Kind};
use circuit_match::{are_any_found, get, update, IterativeMatcher, Matcher};
use circuit_tensor::Rng;

use crate::correspondence::{to_inputs, Correspondence};
use crate::dataset::Dataset;
use crate::error::{Result, ScrubError};
use crate::interp::{InterpNode, SampledInputs};
use crate::rows::derived_uuid;
use crate::scrubbed::ScrubbedExperiment;

/// The reference data of a scrub: a number of data to draw from the experiment's
/// dataset, or a given dataset.
#[derive(Debug, Clone)]
pub enum Reference {
    /// Draw this many data uniformly (with replacement) from the dataset.
    Sample(usize),
    /// Use this dataset.
    Given(Dataset),
}

impl From<usize> for Reference {
    fn from(n: usize) -> Self {
        Reference::Sample(n)
    }
}

impl From<Dataset> for Reference {
    fn from(d: Dataset) -> Self {
        Reference::Given(d)
    }
}

impl From<&Dataset> for Reference {
    fn from(d: &Dataset) -> Self {
        Reference::Given(d.clone())
    }
}

/// Options of [`Experiment::scrub_with`].
#[derive(Debug, Clone)]
pub struct ScrubOptions {
    /// The `probs_and_group` of the input variables (default: a uniform group with a
    /// uuid derived from the seed and the scrub's number); must have shape `[n]`.
    pub group: Option<Circuit>,
    /// Treeify explicitly (with its checks) before replacing inputs (default true).
    pub treeify: bool,
    /// Run the treeification and injectivity checks (default: the experiment's).
    pub check: Option<bool>,
}

impl Default for ScrubOptions {
    fn default() -> Self {
        ScrubOptions { group: None, treeify: true, check: None }
    }
}

/// A causal-scrubbing experiment: a circuit (whose inputs are Arrays named like the
/// dataset's input arrays, without the datum axis), a dataset to draw references and
/// resamples from, and a hypothesis.
///
/// The experiment owns a deterministic [`Rng`] seeded with `seed`: each
/// [`Experiment::scrub`] consumes it, so the same seed and the same sequence of calls
/// give bit-identical scrubbed circuits and outputs.
#[derive(Debug, Clone)]
pub struct Experiment {
    circuit: Circuit,
    dataset: Dataset,
    corr: Correspondence,
    seed: u64,
    rng: Rng,
    check: bool,
    scrubs: u64,
}

impl Experiment {
    /// An experiment; checks the correspondence ([`Correspondence::check`]: complete,
    /// rooted at the model, well defined on `circuit`).
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] from the checks.
    pub fn new(
        circuit: Circuit,
        dataset: Dataset,
        corr: Correspondence,
        seed: u64,
    ) -> Result<Experiment> {
        corr.check(&circuit, dataset.input_names())?;
        Ok(Experiment::new_unchecked(circuit, dataset, corr, seed).with_check(true))
    }

    /// An experiment without any correspondence check, now or when scrubbing (the
    /// reference's `check=False`). Problems then surface as confusing results.
    pub fn new_unchecked(
        circuit: Circuit,
        dataset: Dataset,
        corr: Correspondence,
        seed: u64,
    ) -> Experiment {
        Experiment { circuit, dataset, corr, seed, rng: Rng::new(seed), check: false, scrubs: 0 }
    }

    /// Turns the scrub-time checks (treeification, injectivity) on or off.
    #[must_use]
    pub fn with_check(mut self, check: bool) -> Self {
        self.check = check;
        self
    }

    /// The unscrubbed circuit.
    pub fn base_circuit(&self) -> &Circuit {
        &self.circuit
    }

    /// The dataset references and resamples are drawn from.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The hypothesis.
    pub fn correspondence(&self) -> &Correspondence {
        &self.corr
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Draws `n` reference data from the dataset (consuming the experiment's rng).
    ///
    /// # Errors
    /// Dataset errors.
    pub fn make_ref_ds(&mut self, n: usize) -> Result<Dataset> {
        self.dataset.sample(n, &mut self.rng)
    }

    /// Samples the hypothesis for a reference dataset (consuming the experiment's rng).
    ///
    /// # Errors
    /// The samplers' errors.
    pub fn sample(&mut self, reference: &Dataset) -> Result<SampledInputs> {
        self.corr.sample(&self.dataset, &mut self.rng, reference)
    }

    /// Scrubs with default options: see [`Experiment::scrub_with`].
    ///
    /// # Errors
    /// As [`Experiment::scrub_with`].
    pub fn scrub(&mut self, reference: impl Into<Reference>) -> Result<ScrubbedExperiment> {
        self.scrub_with(reference, &ScrubOptions::default())
    }

    /// The projection step of causal scrubbing, without evaluation:
    /// 1. reference data (drawn or given) and the group of the input variables;
    /// 2. sample the hypothesis;
    /// 3. treeify (optional, with checks) and check injectivity;
    /// 4. wrap every input in `DiscreteVar(reference array, group)` named `<input>_var`;
    /// 5. replace each branch's inputs by its sampled data, in depth-first order,
    ///    skipping nodes whose data equal their parent's.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] from the checks; sampling errors;
    /// [`ScrubError::Invalid`] for a group of the wrong shape or inputs whose shape
    /// differs from the dataset's rows.
    pub fn scrub_with(
        &mut self,
        reference: impl Into<Reference>,
        opts: &ScrubOptions,
    ) -> Result<ScrubbedExperiment> {
        let check = opts.check.unwrap_or(self.check);
        let ref_ds = match reference.into() {
            Reference::Sample(n) => self.make_ref_ds(n)?,
            Reference::Given(d) => d,
        };
        let n = ref_ds.len();
        let group = match &opts.group {
            Some(g) if g.shape().as_slice() != [n] => {
                return Err(ScrubError::Invalid(format!(
                    "the group {} has shape {:?} but the reference has {n} data",
                    g.node_ref(),
                    g.shape().as_slice()
                )))
            }
            Some(g) => g.clone(),
            None => self.default_group(n)?,
        };
        self.scrubs += 1;
        let sampled = self.sample(&ref_ds)?;
        let circuit = if opts.treeify {
            let t = self.treeified(check)?;
            if check {
                self.corr.check_injective_on_treeified(&t)?;
            }
            t
        } else {
            self.circuit.clone()
        };
        let circuit = self.wrap_in_var(&circuit, &ref_ds, &group)?;
        let circuit = self.replace_inputs(&circuit, &sampled)?;
        Ok(ScrubbedExperiment::new(circuit, ref_ds, sampled, group, self.seed, self.corr.clone()))
    }

    /// `Tag(uuid(seed, scrub number), Scalar(1/n, [n]))`.
    fn default_group(&self, n: usize) -> Result<Circuit> {
        if n == 0 {
            return Err(ScrubError::Invalid("cannot scrub on an empty reference dataset".into()));
        }
        let uuid = derived_uuid(&[b"group", &self.seed.to_le_bytes(), &self.scrubs.to_le_bytes()]);
        Ok(Circuit::scalar(1.0 / n as f64, &[n], None)?.tag(uuid)?.rename(Some("scrub_group"))?)
    }

    /// Treeifies the circuit as far as the correspondence requires (an algebraic
    /// rewrite): for each interp node in depth-first order, every input its branch
    /// reaches is renamed `<input>_scrub_<node>` and wrapped in a Tag named `<input>`
    /// whose uuid is derived from the seed, the node and the input (not random, so
    /// reruns are identical). Distinct tags make shared sub-circuits separate copies
    /// per branch.
    ///
    /// With `check`, a non-root node must reach only inputs tagged by its parent, and
    /// each node it matches must lie below a node its parent matches.
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] when a check fails.
    pub fn treeified(&self, check: bool) -> Result<Circuit> {
        let names = self.dataset.input_names();
        let mut circuit = self.circuit.clone();
        for (parent, node, m) in self.corr.in_dfs_order_with_parents()? {
            if let (Some(p), true) = (&parent, check) {
                self.check_below_parent(&circuit, p, &node, &m)?;
            }
            let seed = self.seed;
            let transform = |a: &Circuit| -> Result<Circuit> {
                let input = a.name().unwrap_or_default().to_string();
                let inner = match &parent {
                    None => a.clone(),
                    Some(p) => untag_checked(a, &input, p, &node, check)?,
                };
                let uuid = derived_uuid(&[
                    b"treeify",
                    &seed.to_le_bytes(),
                    node.name().as_bytes(),
                    &a.hash().0,
                ]);
                let renamed = inner.rename(Some(&format!("{input}_scrub_{}", node.name())))?;
                Ok(renamed.tag(uuid)?.rename(Some(&input))?)
            };
            circuit = update(&circuit, to_inputs(&m, names), transform)?;
        }
        Ok(circuit)
    }

    /// Every node `node`'s matcher finds lies below some node its parent's matcher finds.
    fn check_below_parent(
        &self,
        circuit: &Circuit,
        parent: &InterpNode,
        node: &InterpNode,
        m: &IterativeMatcher,
    ) -> Result<()> {
        let pm = self.corr.get(parent).cloned().unwrap_or_default();
        let parent_circs = get(circuit, pm.clone())?;
        for c in get(circuit, m.clone())? {
            let mut below = false;
            for p in &parent_circs {
                if are_any_found(p, Matcher::circuits([c.clone()]))? {
                    below = true;
                    break;
                }
            }
            if !below {
                return Err(ScrubError::illegal(format!(
                    "interp node '{}' (matcher {m}) matches {}, which is not below any node \
                     matched by its parent '{}' (matcher {pm})",
                    node.name(),
                    c.node_ref(),
                    parent.name()
                )));
            }
        }
        Ok(())
    }

    /// [`wrap_in_var`] (a method for symmetry with rust_circuit).
    ///
    /// # Errors
    /// As [`wrap_in_var`].
    pub fn wrap_in_var(
        &self,
        circuit: &Circuit,
        ref_ds: &Dataset,
        group: &Circuit,
    ) -> Result<Circuit> {
        wrap_in_var(circuit, ref_ds, group)
    }

    /// Replaces each branch's inputs with its sampled data (leaves: their dataset;
    /// internal nodes: their other-inputs dataset), in depth-first order, skipping
    /// nodes whose data equal their parent's. Not an algebraic rewrite; works whether
    /// or not the circuit was treeified (the path-sensitive update separates branches).
    ///
    /// # Errors
    /// [`ScrubError::IllegalCorrespondence`] when a branch reaches no input.
    pub fn replace_inputs(&self, circuit: &Circuit, sampled: &SampledInputs) -> Result<Circuit> {
        let names = self.dataset.input_names();
        let mut circuit = circuit.clone();
        for (parent, node, m) in self.corr.in_dfs_order_with_parents()? {
            let ds = sampled.get(&node).ok_or_else(|| {
                ScrubError::illegal(format!("interp node '{}' was not sampled", node.name()))
            })?;
            if let Some(p) = &parent {
                if sampled.get(p) == Some(ds) {
                    continue;
                }
            }
            let input_matcher = to_inputs(&m, names);
            if !are_any_found(&circuit, input_matcher.clone())? {
                return Err(ScrubError::illegal(format!(
                    "interp node '{}': {input_matcher} finds no input in the circuit",
                    node.name()
                )));
            }
            circuit = update(&circuit, input_matcher, |a: &Circuit| -> Result<Circuit> {
                ds.array(a.name().unwrap_or_default())
            })?;
        }
        Ok(circuit)
    }
}

/// The node inside an input Tag placed by treeification, checking (with `check`) that
/// it was placed by `parent`.
fn untag_checked(
    a: &Circuit,
    input: &str,
    parent: &InterpNode,
    node: &InterpNode,
    check: bool,
) -> Result<Circuit> {
    let inner = match (a.kind(), a.children()) {
        (Kind::Tag, [inner]) => inner.clone(),
        _ => {
            return Err(ScrubError::illegal(format!(
                "interp node '{}' reaches input {} that treeification did not tag: its branch \
                 is not inside its parent's ('{}')",
                node.name(),
                a.node_ref(),
                parent.name()
            )))
        }
    };
    if check {
        let prefix = format!("{input}_scrub_");
        let tagger = inner.name().and_then(|n| n.strip_prefix(&prefix)).unwrap_or_default();
        if tagger != parent.name() {
            return Err(ScrubError::illegal(format!(
                "interp node '{}' reaches input '{input}' through the branch of interp node \
                 '{tagger}', which is not its parent '{}' (its matcher must only follow paths \
                 of its parent's branch, and siblings must not share paths)",
                node.name(),
                parent.name()
            )));
        }
    }
    Ok(inner)
}

/// Replaces every input named in the reference dataset's input names by
/// `DiscreteVar(reference array, group)` named `<input>_var`: all inputs become random
/// variables of one group (one draw = one reference datum). Inputs the circuit lacks
/// are ignored.
///
/// # Errors
/// [`ScrubError::Invalid`] when an input's shape differs from the dataset's rows.
pub fn wrap_in_var(circuit: &Circuit, ref_ds: &Dataset, group: &Circuit) -> Result<Circuit> {
    let names: Vec<String> = ref_ds.input_names().iter().cloned().collect();
    update(circuit, Matcher::names(names), |arr: &Circuit| -> Result<Circuit> {
        let name = arr.name().unwrap_or_default();
        let values = ref_ds.array(name)?;
        if values.shape().get(1..) != Some(arr.shape().as_slice()) {
            return Err(ScrubError::Invalid(format!(
                "circuit input '{name}' has shape {:?} but the dataset's rows have shape {:?}",
                arr.shape().as_slice(),
                values.shape().get(1..).unwrap_or_default()
            )));
        }
        Ok(Circuit::discrete_var(values, group.clone())?.rename(Some(&format!("{name}_var")))?)
    })
}
