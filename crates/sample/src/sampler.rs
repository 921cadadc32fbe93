//! The [`Sampler`]: replaces random variables by samples and Cumulants by estimators.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use circuit_ir::expand::repeat_front;
use circuit_ir::kinds::GfSpec;
use circuit_ir::{Circuit, Kind, NodeHash};
use circuit_match::{get, restrict, IterativeMatcher, Matcher};

use crate::cumulant::factored_cumulant_expectation_rewrite;
use crate::error::{Result, SampleError};
use crate::spec::{sample_expander, SampleSpec};
use crate::util::{derived_name, fresh_labels, is_random};

/// A transform applied to every sampled circuit (e.g. substituting modules or batching
/// the sample axis to cap memory).
pub type RunOnSampled = Arc<dyn Fn(Circuit) -> Result<Circuit> + Send + Sync>;

/// `restrict(DiscreteVar, term_if_matches, term_early_at = Cumulant)`: finds
/// DiscreteVars, does not look inside a found variable, and does not look inside
/// Cumulants (those are estimated, not sampled).
pub fn default_var_matcher() -> IterativeMatcher {
    restrict(Matcher::from(Kind::DiscreteVar), true, None, None, Matcher::from(Kind::Cumulant))
}

/// Replaces DiscreteVars by samples ([`Sampler::sample`]) and Cumulants by estimators
/// over those samples ([`Sampler::estimate`], [`Sampler::estimate_with_error`]).
#[derive(Clone)]
pub struct Sampler {
    /// How variables are sampled and weighted.
    pub spec: Arc<dyn SampleSpec>,
    /// Which nodes are replaced by samples ([`default_var_matcher`]).
    pub var_matcher: IterativeMatcher,
    /// Which Cumulants [`Sampler::estimate`] replaces (default: every Cumulant).
    pub cumulant_matcher: IterativeMatcher,
    /// Appended as `_<suffix>` to the names of nodes changed by sampling, and used in
    /// estimator names (`<x>_<suffix>_expectation`); default `sample`.
    pub suffix: Option<String>,
    /// Applied to every sampled circuit (default: nothing).
    pub run_on_sampled: Option<RunOnSampled>,
}

impl fmt::Debug for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler")
            .field("sample_shape", &self.spec.sample_shape())
            .field("var_matcher", &self.var_matcher.to_string())
            .field("cumulant_matcher", &self.cumulant_matcher.to_string())
            .field("suffix", &self.suffix)
            .field("run_on_sampled", &self.run_on_sampled.is_some())
            .finish()
    }
}

impl Sampler {
    /// A sampler with the default matchers and suffix.
    pub fn new(spec: impl SampleSpec + 'static) -> Sampler {
        Sampler::from_arc(Arc::new(spec))
    }

    /// [`Sampler::new`] for a shared spec.
    pub fn from_arc(spec: Arc<dyn SampleSpec>) -> Sampler {
        Sampler {
            spec,
            var_matcher: default_var_matcher(),
            cumulant_matcher: Matcher::from(Kind::Cumulant).into(),
            suffix: Some("sample".to_string()),
            run_on_sampled: None,
        }
    }

    /// With another variable matcher.
    #[must_use]
    pub fn with_var_matcher(mut self, m: impl Into<IterativeMatcher>) -> Self {
        self.var_matcher = m.into();
        self
    }

    /// With another cumulant matcher.
    #[must_use]
    pub fn with_cumulant_matcher(mut self, m: impl Into<IterativeMatcher>) -> Self {
        self.cumulant_matcher = m.into();
        self
    }

    /// With another suffix (`None`: sampled nodes keep their names).
    #[must_use]
    pub fn with_suffix(mut self, suffix: Option<&str>) -> Self {
        self.suffix = suffix.map(str::to_string);
        self
    }

    /// With a transform run on every sampled circuit.
    #[must_use]
    pub fn with_run_on_sampled(
        mut self,
        f: impl Fn(Circuit) -> Result<Circuit> + Send + Sync + 'static,
    ) -> Self {
        self.run_on_sampled = Some(Arc::new(f));
        self
    }

    /// The spec's sample shape.
    pub fn sample_shape(&self) -> Vec<usize> {
        self.spec.sample_shape()
    }

    /// Replaces every variable found by the var matcher with its samples and rebuilds
    /// the ancestors with `expand_node`, so the result has shape
    /// `sample_shape + circuit.shape` (row `s` is the circuit on sample `s`). A circuit
    /// without variables is broadcast to that shape. Then `run_on_sampled` is applied.
    ///
    /// # Errors
    /// The spec's errors; expansion errors (e.g. a variable under a non-batchable
    /// GeneralFunction input); `run_on_sampled`'s errors.
    pub fn sample(&self, circuit: &Circuit) -> Result<Circuit> {
        let shape = self.spec.sample_shape();
        let mut expander =
            sample_expander(self.spec.clone(), self.var_matcher.clone(), self.suffix.as_deref());
        let out = expander.batch(circuit)?;
        let out = if out.rank() == circuit.rank() + shape.len() {
            out
        } else if out.rank() == circuit.rank() {
            let b = repeat_front(&out, &shape, "rep_for_batch")?;
            match (&self.suffix, circuit.name()) {
                (Some(s), Some(n)) if !shape.is_empty() => b.rename(Some(&format!("{n}_{s}")))?,
                _ => b,
            }
        } else {
            return Err(SampleError::Invalid(format!(
                "sampling {} gave rank {}, expected {} sample dims in front of rank {}",
                circuit.node_ref(),
                out.rank(),
                shape.len(),
                circuit.rank()
            )));
        };
        match &self.run_on_sampled {
            Some(f) => f(out),
            None => Ok(out),
        }
    }

    /// Replaces every Cumulant found by the cumulant matcher with an estimator, bottom
    /// up (inner Cumulants first; memoized by hash):
    /// * `κ()` → `Scalar(1)`;
    /// * `κ(x)` → the weighted mean over the sample axes,
    ///   `Einsum(weights[s…], sample(x)[s…, rest…] -> rest…)` named
    ///   `<x>_<suffix>_expectation` (weights from the spec, normalised); a constant `x`
    ///   is its own expectation and is returned as is;
    /// * `κ(x1..xn)`, n ≥ 2 → [`factored_cumulant_expectation_rewrite`], estimated
    ///   recursively (so estimates are the plug-in, uncorrected weighted cumulants).
    ///   Every Cumulant of the expansion is estimated, whatever the cumulant matcher
    ///   (the reference re-applies the matcher, so a name matcher left the new
    ///   sub-cumulants unestimated).
    ///
    /// The result has the input's shape and contains no random variables outside
    /// Cumulants that were not matched.
    ///
    /// # Errors
    /// [`SampleError::NotFullySampled`] when sampling leaves a variable (e.g. a
    /// StoredCumulantVar) in an expectation; sampling and construction errors.
    pub fn estimate(&self, circuit: &Circuit) -> Result<Circuit> {
        self.estimate_memo(circuit, &self.cumulant_matcher, &mut HashMap::new())
    }

    /// [`Sampler::estimate`], then [`Sampler::sample`] (rust_circuit's `__call__`).
    ///
    /// # Errors
    /// As those two.
    pub fn estimate_and_sample(&self, circuit: &Circuit) -> Result<Circuit> {
        self.sample(&self.estimate(circuit)?)
    }

    /// For `κ(x)` (a one-child Cumulant): its estimator (as [`Sampler::estimate`] builds
    /// it) and a circuit computing the estimator's standard error, elementwise, named
    /// `<x>_<suffix>_stderr`:
    ///
    /// ```text
    /// se = sqrt( Σ_s w_s (x_s − x̄)² / (n_eff − 1) ),   x̄ = Σ_s w_s x_s,   n_eff = 1 / Σ_s w_s²
    /// ```
    ///
    /// with the spec's normalised weights `w` (Kish's effective sample count `n_eff`).
    /// For `N` equally weighted samples this is the usual `std / sqrt(N)` with the
    /// unbiased (Bessel-corrected) standard deviation. It treats samples as independent
    /// (sampling without replacement from a small population overstates the error).
    /// Exhaustive specs, and a constant `x`, give exact estimates: the error is zero.
    /// Cumulants inside `x` are estimated first; their own sampling error is not
    /// propagated.
    ///
    /// # Errors
    /// [`SampleError::Unsupported`] for anything but a one-child Cumulant;
    /// [`SampleError::Invalid`] for fewer than two effective samples; as
    /// [`Sampler::estimate`].
    pub fn estimate_with_error(&self, circuit: &Circuit) -> Result<(Circuit, Circuit)> {
        let x = match (circuit.kind(), circuit.children()) {
            (Kind::Cumulant, [x]) => x,
            _ => {
                return Err(SampleError::Unsupported(format!(
                    "estimate_with_error needs a Cumulant of one child (an expectation), got {}",
                    circuit.node_ref()
                )))
            }
        };
        let x = self.estimate_memo(x, &self.cumulant_matcher, &mut HashMap::new())?;
        let stderr_name = self.estimator_name(&x, "stderr");
        if !is_random(&x) {
            return Ok((x.clone(), Circuit::scalar(0.0, x.shape(), Some(&stderr_name))?));
        }
        let (samples, weights, mean) = self.expectation_parts(&x)?;
        if self.spec.is_exhaustive() {
            return Ok((mean, Circuit::scalar(0.0, x.shape(), Some(&stderr_name))?));
        }
        let n_eff = self.spec.effective_sample_count();
        if n_eff.partial_cmp(&1.0) != Some(std::cmp::Ordering::Greater) {
            return Err(SampleError::Invalid(format!(
                "a standard error needs more than one effective sample, got {n_eff}"
            )));
        }
        let centred = samples.sub(&mean)?;
        let squared = centred.mul(&centred)?;
        let variance = weighted_mean(&weights, &squared, None)?;
        let scaled = variance.mul_scalar(1.0 / (n_eff - 1.0))?;
        let half = Circuit::scalar(0.5, &[], None)?;
        let se = Circuit::general_function(GfSpec::Pow, vec![scaled, half])?
            .rename(Some(&stderr_name))?;
        Ok((mean, se))
    }

    fn estimator_name(&self, x: &Circuit, what: &str) -> String {
        let suffix = match &self.suffix {
            Some(s) => format!("_{s}_{what}"),
            None => format!("_{what}"),
        };
        derived_name(x, &suffix, &suffix[1..])
    }

    /// `(sample(x), weights, weighted mean)` for a random `x` without Cumulants to do.
    fn expectation_parts(&self, x: &Circuit) -> Result<(Circuit, Circuit, Circuit)> {
        let samples = self.sample(x)?;
        if is_random(&samples) {
            return Err(SampleError::NotFullySampled { node: x.node_ref() });
        }
        let weights = self.spec.empirical_weights(samples.dtype())?;
        let name = self.estimator_name(x, "expectation");
        let mean = weighted_mean(&weights, &samples, Some(&name))?;
        Ok((samples, weights, mean))
    }

    fn estimate_memo(
        &self,
        circuit: &Circuit,
        matcher: &IterativeMatcher,
        memo: &mut HashMap<NodeHash, Circuit>,
    ) -> Result<Circuit> {
        let matched: HashSet<NodeHash> = get(circuit, matcher.clone())?
            .iter()
            .filter(|c| c.kind() == Kind::Cumulant)
            .map(Circuit::hash)
            .collect();
        if matched.is_empty() {
            return Ok(circuit.clone());
        }
        let mut mapped: HashMap<NodeHash, Circuit> = HashMap::new();
        for node in circuit.toposort() {
            let children: Vec<Circuit> = node
                .children()
                .iter()
                .map(|c| mapped.get(&c.hash()).cloned().unwrap_or_else(|| c.clone()))
                .collect();
            let rebuilt = if children.iter().zip(node.children()).all(|(a, b)| a == b) {
                node.clone()
            } else {
                node.with_children(children)?
            };
            let out = if matched.contains(&node.hash()) {
                match memo.get(&rebuilt.hash()) {
                    Some(done) => done.clone(),
                    None => {
                        let est = self.estimate_cumulant(&rebuilt, memo)?;
                        memo.insert(rebuilt.hash(), est.clone());
                        est
                    }
                }
            } else {
                rebuilt
            };
            mapped.insert(node.hash(), out);
        }
        mapped
            .remove(&circuit.hash())
            .ok_or_else(|| SampleError::Invalid("internal: estimate lost the root".into()))
    }

    fn estimate_cumulant(
        &self,
        cumulant: &Circuit,
        memo: &mut HashMap<NodeHash, Circuit>,
    ) -> Result<Circuit> {
        match cumulant.children() {
            [] => Ok(Circuit::scalar(1.0, &[], cumulant.name())?),
            [x] if !is_random(x) => Ok(x.clone()),
            [x] => Ok(self.expectation_parts(x)?.2),
            _ => {
                // Every Cumulant of the expansion is estimated, whatever the matcher: a
                // chosen cumulant must become computable.
                let rewritten = factored_cumulant_expectation_rewrite(cumulant)?;
                let all = IterativeMatcher::from(Matcher::from(Kind::Cumulant));
                self.estimate_memo(&rewritten, &all, memo)
            }
        }
    }
}

/// `Einsum(weights[s…], x[s…, rest…] -> rest…)`.
fn weighted_mean(weights: &Circuit, x: &Circuit, name: Option<&str>) -> Result<Circuit> {
    let k = weights.rank();
    let mut next = 0;
    let sample_axes = fresh_labels(&mut next, k)?;
    let rest = fresh_labels(&mut next, x.rank().saturating_sub(k))?;
    let mut x_axes = sample_axes.clone();
    x_axes.extend(&rest);
    Ok(Circuit::einsum_from_axes(
        vec![(weights.clone(), sample_axes), (x.clone(), x_axes)],
        &rest,
        name,
    )?)
}
