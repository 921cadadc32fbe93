//! The simple forms researchers use daily: `scrub_input` along a path (REMIX day 3),
//! activation patching and path patching (ARENA), and sweeps over `(layer, head)` node
//! name patterns that return a matrix of a metric.

use circuit_ir::{Circuit, Kind};
use circuit_match::{get, get_unique, update_with, IterativeMatcher, Matcher, UpdateOptions};

use crate::error::{Result, ScrubError};
use crate::progress::{Progress, ProgressMode};
use crate::rows::derived_uuid;

/// Replaces every input matched by `input` that is reached along `path` (an iterative
/// matcher: `path.chain(input)`) with `replacement`. Nodes reached only by other paths
/// keep their inputs: the path-sensitive update makes separate copies where needed.
///
/// This is path patching when `path` ends at a sender (e.g.
/// `receiver.chain(sender)`) and `replacement` is the corrupted input.
///
/// # Errors
/// [`ScrubError::Invalid`] when a matched input's shape differs from the
/// replacement's; [`ScrubError::Match`] when nothing is reached.
pub fn path_patch(
    circuit: &Circuit,
    path: impl Into<IterativeMatcher>,
    input: impl Into<Matcher>,
    replacement: &Circuit,
) -> Result<Circuit> {
    let matcher = path.into().chain(input.into());
    replace_matched(circuit, matcher, replacement)
}

/// REMIX's `scrub_input`: replaces every occurrence of `var` reached along `path` with
/// `other_var` (typically an independent copy, see [`independent_var`]).
///
/// ```
/// use circuit_ir::{Circuit, Tensor};
/// use circuit_match::{get_unique, Matcher};
/// use circuit_scrub::{independent_var, scrub_input};
///
/// let toks = Circuit::array(Tensor::from_vec(&[4], vec![1.0f32, 2.0, 3.0, 4.0])?, Some("toks"))?;
/// let group = Circuit::uniform_probs_and_group(4)?;
/// let var = Circuit::discrete_var(toks, group)?.rename(Some("toks_var"))?;
/// let other = independent_var(&var, 0)?;
/// // Two heads read the same variable; scrub only what "h1" sees.
/// let h0 = var.mul_scalar(2.0)?.rename(Some("h0"))?;
/// let h1 = var.mul_scalar(3.0)?.rename(Some("h1"))?;
/// let out = h0.add(&h1)?;
/// let scrubbed = scrub_input(&out, "h1", &var, &other)?;
/// let found = |name: &str, v: &Circuit| -> Result<bool, Box<dyn std::error::Error>> {
///     let node = get_unique(&scrubbed, name)?;
///     Ok(circuit_match::are_any_found(&node, Matcher::circuits([v.clone()]))?)
/// };
/// assert!(found("h1", &other)? && !found("h1", &var)?);
/// assert!(found("h0", &var)? && !found("h0", &other)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`path_patch`].
pub fn scrub_input(
    circuit: &Circuit,
    path: impl Into<IterativeMatcher>,
    var: &Circuit,
    other_var: &Circuit,
) -> Result<Circuit> {
    path_patch(circuit, path, Matcher::circuits([var.clone()]), other_var)
}

/// An independent copy of a DiscreteVar: the same values with a new group (the old
/// group wrapped in a Tag whose uuid is derived from `seed`, so the probabilities are
/// kept and the draw is independent), named `<name>_other`.
///
/// # Errors
/// [`ScrubError::Invalid`] when `var` is not a DiscreteVar.
pub fn independent_var(var: &Circuit, seed: u64) -> Result<Circuit> {
    let (Kind::DiscreteVar, [values, group]) = (var.kind(), var.children()) else {
        return Err(ScrubError::Invalid(format!("{} is not a DiscreteVar", var.node_ref())));
    };
    let uuid = derived_uuid(&[b"independent_var", &seed.to_le_bytes(), &group.hash().0]);
    let new_group = group.tag(uuid)?;
    let name = format!("{}_other", var.name().unwrap_or("var"));
    Ok(Circuit::discrete_var(values.clone(), new_group)?.rename(Some(&name))?)
}

/// Activation patching: replaces every node matched by `node_matcher` with `source`
/// (e.g. the same node computed on the corrupted input).
///
/// # Errors
/// As [`path_patch`].
pub fn patch_activation(
    circuit: &Circuit,
    node_matcher: impl Into<IterativeMatcher>,
    source: &Circuit,
) -> Result<Circuit> {
    replace_matched(circuit, node_matcher.into(), source)
}

/// Activation patching from another run: the node `node_matcher` finds (uniquely) in
/// `source_circuit` (e.g. the model with corrupted inputs) replaces the nodes it finds
/// in `circuit`.
///
/// # Errors
/// [`ScrubError::Match`] when the matcher does not find exactly one node in
/// `source_circuit`; as [`patch_activation`].
pub fn patch_activation_from(
    circuit: &Circuit,
    source_circuit: &Circuit,
    node_matcher: impl Into<IterativeMatcher>,
) -> Result<Circuit> {
    let m = node_matcher.into();
    let source = get_unique(source_circuit, m.clone())?;
    patch_activation(circuit, m, &source)
}

fn replace_matched(
    circuit: &Circuit,
    matcher: IterativeMatcher,
    replacement: &Circuit,
) -> Result<Circuit> {
    let opts = UpdateOptions { fancy_validate: false, assert_any_found: true };
    update_with(
        circuit,
        matcher,
        |n: &Circuit| -> Result<Circuit> {
            if n.shape() != replacement.shape() {
                return Err(ScrubError::Invalid(format!(
                    "cannot replace {} of shape {:?} with {} of shape {:?}",
                    n.node_ref(),
                    n.shape().as_slice(),
                    replacement.node_ref(),
                    replacement.shape().as_slice()
                )));
            }
            Ok(replacement.clone())
        },
        opts,
    )
}

/// A sweep over attention heads named by a pattern such as `"a{layer}.h{head}"`:
/// [`HeadSweep::run`] calls a function per `(layer, head)` and returns the matrix
/// `values[layer_index][head_index]`. A progress bar is shown on a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadSweep {
    pattern: String,
    layers: Vec<usize>,
    heads: Vec<usize>,
    progress: ProgressMode,
}

impl HeadSweep {
    /// Layers `0..n_layers` and heads `0..n_heads`; `pattern` must contain `{head}`
    /// (and usually `{layer}`), replaced by the numbers.
    ///
    /// # Errors
    /// [`ScrubError::Invalid`] for a pattern without `{head}`.
    pub fn new(pattern: &str, n_layers: usize, n_heads: usize) -> Result<HeadSweep> {
        if !pattern.contains("{head}") {
            return Err(ScrubError::Invalid(format!(
                "head pattern {pattern:?} must contain {{head}} (and usually {{layer}})"
            )));
        }
        Ok(HeadSweep {
            pattern: pattern.to_string(),
            layers: (0..n_layers).collect(),
            heads: (0..n_heads).collect(),
            progress: ProgressMode::Auto,
        })
    }

    /// Sweeps only these layers (rows, in this order).
    #[must_use]
    pub fn with_layers(mut self, layers: Vec<usize>) -> Self {
        self.layers = layers;
        self
    }

    /// Sweeps only these heads (columns, in this order).
    #[must_use]
    pub fn with_heads(mut self, heads: Vec<usize>) -> Self {
        self.heads = heads;
        self
    }

    /// With a progress mode.
    #[must_use]
    pub fn with_progress(mut self, progress: ProgressMode) -> Self {
        self.progress = progress;
        self
    }

    /// The swept layers.
    pub fn layers(&self) -> &[usize] {
        &self.layers
    }

    /// The swept heads.
    pub fn heads(&self) -> &[usize] {
        &self.heads
    }

    /// The node name of a head.
    pub fn node_name(&self, layer: usize, head: usize) -> String {
        self.pattern.replace("{layer}", &layer.to_string()).replace("{head}", &head.to_string())
    }

    /// `f(layer, head, node name)` for every head: `values[i][j]` is the value for
    /// `layers[i]`, `heads[j]`.
    ///
    /// # Errors
    /// The first error of `f`.
    pub fn run(
        &self,
        mut f: impl FnMut(usize, usize, &str) -> Result<f64>,
    ) -> Result<Vec<Vec<f64>>> {
        let total = (self.layers.len() * self.heads.len()) as u64;
        let progress = Progress::new(self.progress, total, "sweeping heads");
        let mut out = Vec::with_capacity(self.layers.len());
        for &l in &self.layers {
            let mut row = Vec::with_capacity(self.heads.len());
            for &h in &self.heads {
                row.push(f(l, h, &self.node_name(l, h))?);
                progress.inc();
            }
            out.push(row);
        }
        progress.finish();
        Ok(out)
    }

    /// Activation patching of each head: the head's node in `clean` is replaced by the
    /// same-named node of `corrupted` (see [`patch_activation_from`]) and `metric`
    /// scores the patched circuit.
    ///
    /// # Errors
    /// A head name found in neither circuit; the metric's errors.
    pub fn activation_patching(
        &self,
        clean: &Circuit,
        corrupted: &Circuit,
        metric: impl Fn(&Circuit) -> Result<f64>,
    ) -> Result<Vec<Vec<f64>>> {
        self.run(|_, _, name| metric(&patch_activation_from(clean, corrupted, name)?))
    }

    /// Path patching of each head as a sender: `path_to(layer, head, name)` gives the
    /// path from the root to the sender (e.g. `receiver.chain(name)`, or
    /// [`crate::chain_excluding`] for the direct path to the output); the inputs
    /// matched by `input` along it are replaced by `replacement` (see [`path_patch`])
    /// and `metric` scores the patched circuit.
    ///
    /// # Errors
    /// A path reaching no input; the metric's errors.
    pub fn path_patching(
        &self,
        clean: &Circuit,
        path_to: impl Fn(usize, usize, &str) -> IterativeMatcher,
        input: impl Into<Matcher>,
        replacement: &Circuit,
        metric: impl Fn(&Circuit) -> Result<f64>,
    ) -> Result<Vec<Vec<f64>>> {
        let input = input.into();
        self.run(|l, h, name| {
            metric(&path_patch(clean, path_to(l, h, name), input.clone(), replacement)?)
        })
    }

    /// Which heads of the sweep exist (by name) in `circuit`: a quick check of the
    /// pattern before a long sweep. Returns the missing names.
    ///
    /// # Errors
    /// Matching errors.
    pub fn missing_heads(&self, circuit: &Circuit) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for &l in &self.layers {
            for &h in &self.heads {
                let name = self.node_name(l, h);
                if get(circuit, name.as_str())?.is_empty() {
                    missing.push(name);
                }
            }
        }
        Ok(missing)
    }
}
