//! [`ScrubbedExperiment`]: a scrubbed circuit with its reference data, and its
//! evaluation on every reference datum (in batches, with a progress bar) or on random
//! draws; [`Estimate`] and loss helpers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use circuit_eval::{evaluate_with, EvalSettings};
use circuit_ir::{Circuit, Kind, Op};
use circuit_match::{are_any_found, get, update, Matcher};
use circuit_sample::{constant_leaf_values, RunDiscreteVarAllSpec, Sampler};
use circuit_tensor::{multinomial, Tensor};
use circuit_text::PrintOptions;

use crate::correspondence::Correspondence;
use crate::dataset::Dataset;
use crate::error::{Result, ScrubError};
use crate::interp::{InterpNode, SampledInputs};
use crate::progress::{Progress, ProgressMode};
use crate::rows::{concat_rows, derived_uuid, gather_rows};

/// How to evaluate a scrubbed circuit (rust_circuit's `ExperimentEvalSettings`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentEvalSettings {
    /// Compiler and memory settings (`max_memory` also caps each batch's plan).
    pub eval: EvalSettings,
    /// Evaluate this many data at a time (`None`: all at once). Caps memory: only one
    /// batch's intermediates are alive at a time.
    pub batch_size: Option<usize>,
    /// Run on every reference datum in order (default) rather than on random draws.
    pub run_on_all: bool,
    /// With `run_on_all == false`: how many data to draw (default: the reference size).
    pub num_samples: Option<usize>,
    /// Whether to show a progress bar over batches.
    pub progress: ProgressMode,
}

impl Default for ExperimentEvalSettings {
    fn default() -> Self {
        ExperimentEvalSettings {
            eval: EvalSettings::default(),
            batch_size: None,
            run_on_all: true,
            num_samples: None,
            progress: ProgressMode::Auto,
        }
    }
}

impl ExperimentEvalSettings {
    /// With a batch size.
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Random sampling of `num_samples` data (with replacement, seeded by the
    /// experiment's seed) instead of running on every reference datum.
    #[must_use]
    pub fn random(mut self, num_samples: Option<usize>) -> Self {
        self.run_on_all = false;
        self.num_samples = num_samples;
        self
    }

    /// With other evaluator settings.
    #[must_use]
    pub fn with_eval(mut self, eval: EvalSettings) -> Self {
        self.eval = eval;
        self
    }

    /// With a progress mode.
    #[must_use]
    pub fn with_progress(mut self, progress: ProgressMode) -> Self {
        self.progress = progress;
        self
    }
}

/// The output of an evaluation: row `k` of `output` is the scrubbed circuit on
/// reference datum `datum_indices[k]` (`0..n` when running on all data).
#[derive(Debug, Clone)]
pub struct ScrubOutput {
    /// Per-datum outputs (leading axis: data).
    pub output: Tensor,
    /// Which reference datum each output row belongs to.
    pub datum_indices: Vec<usize>,
}

impl ScrubOutput {
    /// The reference data aligned with the output rows (for labels in losses).
    ///
    /// # Errors
    /// Dataset errors.
    pub fn reference(&self, ref_ds: &Dataset) -> Result<Dataset> {
        ref_ds.select(&self.datum_indices)
    }
}

/// A mean with its standard error (`mean ± stderr`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The sample mean.
    pub mean: f64,
    /// The standard error of the mean: the Bessel-corrected standard deviation over
    /// `sqrt(count)` (NaN for fewer than two samples).
    pub stderr: f64,
    /// The number of samples.
    pub count: usize,
}

impl Estimate {
    /// The mean and standard error of per-datum values.
    ///
    /// # Errors
    /// [`ScrubError::Invalid`] for no values.
    pub fn from_samples(values: &[f64]) -> Result<Estimate> {
        if values.is_empty() {
            return Err(ScrubError::Invalid("an estimate needs at least one value".into()));
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let stderr = if values.len() < 2 {
            f64::NAN
        } else {
            let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
            (var / n).sqrt()
        };
        Ok(Estimate { mean, stderr, count: values.len() })
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.4} ± {:.4}", self.mean, self.stderr)
    }
}

/// Per-datum mean absolute error between outputs and labels (rust_circuit's
/// `testing_utils.loss_fn`, per datum): `mean_j |output[i, j…] - labels[i, j…]|`.
///
/// # Errors
/// [`ScrubError::Invalid`] for mismatched element counts or a 0-d output.
pub fn abs_error_per_datum(output: &Tensor, labels: &Tensor) -> Result<Vec<f64>> {
    let (Some(&n), true) = (output.shape().first(), output.numel() == labels.numel()) else {
        return Err(ScrubError::Invalid(format!(
            "outputs of shape {:?} and labels of shape {:?} do not match",
            output.shape(),
            labels.shape()
        )));
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let per = output.numel() / n;
    let (o, l) = (output.to_f64_vec(), labels.to_f64_vec());
    Ok((0..n)
        .map(|i| {
            let r = i * per..(i + 1) * per;
            o[r.clone()].iter().zip(&l[r]).map(|(a, b)| (a - b).abs()).sum::<f64>() / per as f64
        })
        .collect())
}

/// The fraction of loss recovered: `(scrubbed − baseline) / (unscrubbed − baseline)`
/// (1 = the hypothesis explains everything the baseline destroys).
pub fn loss_recovered(scrubbed: f64, baseline: f64, unscrubbed: f64) -> f64 {
    (scrubbed - baseline) / (unscrubbed - baseline)
}

/// Evaluates a circuit whose inputs are plain Arrays on every datum of `ds`: wraps
/// each input in a variable over the dataset's rows and runs them all (in batches).
/// The unscrubbed model on a dataset, without any hypothesis.
///
/// # Errors
/// Shape mismatches between inputs and rows; evaluation errors.
pub fn run_on_dataset(
    circuit: &Circuit,
    ds: &Dataset,
    settings: &ExperimentEvalSettings,
) -> Result<Tensor> {
    let n = ds.len();
    if n == 0 {
        return Err(ScrubError::Invalid("cannot run on an empty dataset".into()));
    }
    let group = Circuit::scalar(1.0 / n as f64, &[n], None)?
        .tag(derived_uuid(&[b"run_on_dataset", &ds.content_hash()]))?;
    let wrapped = crate::experiment::wrap_in_var(circuit, ds, &group)?;
    Ok(run_all_batched(&wrapped, &group, n, settings)?.output)
}

/// Runs every datum of `group` through `circuit` in batches.
fn run_all_batched(
    circuit: &Circuit,
    group: &Circuit,
    n: usize,
    settings: &ExperimentEvalSettings,
) -> Result<ScrubOutput> {
    if n == 0 {
        return Err(ScrubError::Invalid("nothing to evaluate: zero data".into()));
    }
    let bs = match settings.batch_size {
        Some(0) => return Err(ScrubError::Invalid("batch_size must be positive".into())),
        Some(b) => b.min(n),
        None => n,
    };
    let starts: Vec<usize> = (0..n).step_by(bs).collect();
    let progress = Progress::new(settings.progress, starts.len() as u64, "evaluating");
    let mut parts = Vec::with_capacity(starts.len());
    for s in starts {
        let range = s..(s + bs).min(n);
        let spec = RunDiscreteVarAllSpec::with_subsets(vec![group.clone()], vec![Some(range)])?;
        let sampled = Sampler::new(spec).sample(circuit)?;
        parts.push(evaluate_with(&sampled, &settings.eval)?);
        progress.inc();
    }
    progress.finish();
    Ok(ScrubOutput { output: concat_rows(&parts)?, datum_indices: (0..n).collect() })
}

/// The result of [`crate::Experiment::scrub`]: the scrubbed circuit (inputs are
/// `DiscreteVar`s of one group whose values are each branch's sampled data), the
/// reference data, the sampled hypothesis, and what is needed to evaluate and print it.
#[derive(Debug, Clone)]
pub struct ScrubbedExperiment {
    circuit: Circuit,
    ref_ds: Dataset,
    sampled: SampledInputs,
    group: Circuit,
    seed: u64,
    corr: Correspondence,
}

impl ScrubbedExperiment {
    pub(crate) fn new(
        circuit: Circuit,
        ref_ds: Dataset,
        sampled: SampledInputs,
        group: Circuit,
        seed: u64,
        corr: Correspondence,
    ) -> ScrubbedExperiment {
        ScrubbedExperiment { circuit, ref_ds, sampled, group, seed, corr }
    }

    /// The scrubbed circuit (with random variables; evaluate it with
    /// [`ScrubbedExperiment::evaluate`]).
    pub fn circuit(&self) -> &Circuit {
        &self.circuit
    }

    /// The reference data.
    pub fn ref_ds(&self) -> &Dataset {
        &self.ref_ds
    }

    /// The sampled hypothesis.
    pub fn sampled_inputs(&self) -> &SampledInputs {
        &self.sampled
    }

    /// The group of the input variables.
    pub fn group(&self) -> &Circuit {
        &self.group
    }

    /// The samplers' warnings (e.g. feature classes with too few candidates).
    pub fn warnings(&self) -> &[String] {
        self.sampled.warnings()
    }

    /// Per-datum outputs of the scrubbed circuit: see
    /// [`ScrubbedExperiment::evaluate_detailed`].
    ///
    /// # Errors
    /// As [`ScrubbedExperiment::evaluate_detailed`].
    pub fn evaluate(&self, settings: &ExperimentEvalSettings) -> Result<Tensor> {
        Ok(self.evaluate_detailed(settings)?.output)
    }

    /// Evaluates the scrubbed circuit. With `run_on_all`, on every reference datum in
    /// order (exhaustive enumeration of the group); otherwise on `num_samples` data
    /// drawn with replacement from the group's probabilities, seeded by the
    /// experiment's seed. Either way the data are split into batches of `batch_size`,
    /// each sampled, compiled and run separately (with a progress bar on a terminal).
    ///
    /// # Errors
    /// [`ScrubError::Invalid`] for inconsistent settings; sampling and evaluation
    /// errors.
    pub fn evaluate_detailed(&self, settings: &ExperimentEvalSettings) -> Result<ScrubOutput> {
        let n = self.ref_ds.len();
        if settings.run_on_all {
            if settings.num_samples.is_some() {
                return Err(ScrubError::Invalid(
                    "num_samples must be None when run_on_all is set".into(),
                ));
            }
            return run_all_batched(&self.circuit, &self.group, n, settings);
        }
        let m = settings.num_samples.unwrap_or(n);
        let probs = constant_leaf_values(&self.group)?.ok_or_else(|| {
            ScrubError::Invalid(format!(
                "random evaluation needs a constant group, got {}",
                self.group.node_ref()
            ))
        })?;
        let idx: Vec<usize> = multinomial(&probs, m, true, self.seed)?
            .into_iter()
            .map(|i| usize::try_from(i).unwrap_or(0))
            .collect();
        let new_group = Circuit::scalar(1.0 / m.max(1) as f64, &[m], None)?
            .tag(derived_uuid(&[b"eval-draw", &self.seed.to_le_bytes(), &self.group.hash().0]))?;
        let circuit = regroup(&self.circuit, &self.group, &new_group, &idx)?;
        let out = run_all_batched(&circuit, &new_group, m, settings)?;
        Ok(ScrubOutput { output: out.output, datum_indices: idx })
    }

    /// Evaluates, then averages per-datum losses: `loss_fn(outputs, aligned reference
    /// data)` returns one loss per output row.
    ///
    /// # Errors
    /// Evaluation errors; the loss function's errors; [`ScrubError::Invalid`] for a
    /// loss count different from the output rows.
    pub fn loss(
        &self,
        settings: &ExperimentEvalSettings,
        loss_fn: impl Fn(&Tensor, &Dataset) -> Result<Vec<f64>>,
    ) -> Result<Estimate> {
        let out = self.evaluate_detailed(settings)?;
        let aligned = out.reference(&self.ref_ds)?;
        let losses = loss_fn(&out.output, &aligned)?;
        if losses.len() != out.datum_indices.len() {
            return Err(ScrubError::Invalid(format!(
                "the loss function returned {} values for {} outputs",
                losses.len(),
                out.datum_indices.len()
            )));
        }
        Estimate::from_samples(&losses)
    }

    /// The hypothesis as indented text, with each node's samplers and the first datum
    /// they drew.
    ///
    /// # Errors
    /// An invalid correspondence.
    pub fn repr_hypothesis(&self) -> Result<String> {
        Ok(self.corr.root()?.repr(Some(&self.sampled)))
    }

    /// The scrubbed circuit, printed down to the mapped leaves and not below nodes
    /// outside every mapped branch; mapped nodes are commented with their interp node
    /// and samplers.
    ///
    /// # Errors
    /// Matching and printing errors.
    pub fn repr(&self) -> Result<String> {
        let mut mapped: HashMap<Circuit, InterpNode> = HashMap::new();
        for (node, m) in self.corr.iter() {
            for c in get(&self.circuit, m.clone())? {
                mapped.insert(c, node.clone());
            }
        }
        let mapped = Arc::new(mapped);
        let all = Matcher::circuits(mapped.keys().cloned().collect::<Vec<_>>());
        let sampled = self.sampled.clone();
        let (m1, m2) = (mapped.clone(), mapped);
        let opts = PrintOptions {
            bijection: false,
            traversal: Some(Arc::new(move |c: &Circuit, _| {
                if let Some(n) = m1.get(c) {
                    return !n.is_leaf();
                }
                are_any_found(c, all.clone()).unwrap_or(false)
            })),
            commenters: vec![Arc::new(move |c: &Circuit| match m2.get(c) {
                Some(n) => format!("{}: {}", n.name(), n.str_samplers(Some(&sampled), 0)),
                None => String::new(),
            })],
            ..PrintOptions::default()
        };
        opts.repr(std::slice::from_ref(&self.circuit))
            .map_err(|e| ScrubError::Invalid(format!("printing failed: {e}")))
    }
}

/// Replaces every `DiscreteVar(values, group)` by `DiscreteVar(values[idx], new_group)`.
fn regroup(
    circuit: &Circuit,
    group: &Circuit,
    new_group: &Circuit,
    idx: &[usize],
) -> Result<Circuit> {
    let g = group.clone();
    let is_var_of_group = Matcher::func(move |c: &Circuit| {
        c.kind() == Kind::DiscreteVar && c.children().get(1) == Some(&g)
    });
    update(circuit, is_var_of_group, |v: &Circuit| -> Result<Circuit> {
        let Some(values) = v.children().first() else {
            return Err(ScrubError::Invalid(format!("malformed variable {}", v.node_ref())));
        };
        let picked = match values.op() {
            Op::Array(a) => Circuit::array(gather_rows(&a.tensor()?, idx)?, values.name())?,
            _ => {
                let t = Tensor::from_vec(&[idx.len()], idx.iter().map(|&i| i as i64).collect())?;
                let index = circuit_ir::kinds::IndexTensor::new(t)?;
                values.index(vec![circuit_ir::kinds::TensorAxisIndex::Tensor(index)])?
            }
        };
        Ok(Circuit::discrete_var(picked, new_group.clone())?.rename(v.name())?)
    })
}
