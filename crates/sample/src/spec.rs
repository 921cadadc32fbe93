//! Sample specs: how a DiscreteVar is replaced by concrete samples and what weight each
//! sample carries. [`RandomSampleSpec`] draws seeded random indices;
//! [`crate::RunDiscreteVarAllSpec`] enumerates every datum.

use std::fmt;
use std::sync::Arc;

use circuit_ir::kinds::{GfSpec, IndexTensor, TensorAxisIndex};
use circuit_ir::{Circuit, DType, Tensor};
use circuit_match::{Expander, IterativeMatcher};

use crate::error::{Result, SampleError};
use crate::util::{constant_leaf_values, discrete_var_parts, group_len};

/// How random variables are turned into samples. Implementations must be deterministic:
/// sampling the same variable twice gives the same circuit, and variables sharing a
/// group (`probs_and_group`, compared by hash) get the same draw.
pub trait SampleSpec: Send + Sync {
    /// Replaces a DiscreteVar by a circuit of shape `sample_shape() + var.shape`: row
    /// `s` holds the variable's value in sample `s`.
    ///
    /// # Errors
    /// Spec-specific (unsupported variables, unknown groups, construction errors).
    fn sample_var(&self, var: &Circuit) -> Result<Circuit>;

    /// The leading sample dims every sampled circuit gets.
    fn sample_shape(&self) -> Vec<usize>;

    /// A constant circuit of shape `sample_shape()` holding each sample's weight,
    /// normalised to sum to 1 (the reference normalises at use; here the spec does).
    /// `dtype` is the element type of the values the weights will be combined with
    /// (`None`: open), so specs that need an Array can match it.
    ///
    /// # Errors
    /// Construction errors.
    fn empirical_weights(&self, dtype: Option<DType>) -> Result<Circuit>;

    /// The unnormalised total weight (1 for random sampling; the total probability mass
    /// of the enumerated subsets for exhaustive enumeration).
    fn overall_weight(&self) -> f64;

    /// Kish's effective sample count `1 / Σ w²` of the normalised weights (`N` for `N`
    /// equally weighted samples).
    fn effective_sample_count(&self) -> f64;

    /// Whether estimates are exact (exhaustive enumeration), so their standard error is
    /// zero.
    fn is_exhaustive(&self) -> bool {
        false
    }
}

/// An [`Expander`] replacing every DiscreteVar found by `var_matcher` with
/// `spec.sample_var(var)`, propagating the sample dims to every ancestor
/// (`ban_multiple_matches_on_node`, names of changed nodes get `_<suffix>`).
pub fn sample_expander(
    spec: Arc<dyn SampleSpec>,
    var_matcher: IterativeMatcher,
    suffix: Option<&str>,
) -> Expander<SampleError> {
    let e = Expander::<SampleError>::new()
        .with(var_matcher, move |v| spec.sample_var(v))
        .ban_multiple_matches_on_node(true);
    match suffix {
        Some(s) => e.suffix(s),
        None => e,
    }
}

/// Chooses the seed of a sample group. Must be a deterministic function of the group
/// circuit, or two variables of one group would get different draws.
pub type Seeder = Arc<dyn Fn(&Circuit) -> u64 + Send + Sync>;

/// The default seeder: the first 8 bytes of the group's content hash read as a
/// little-endian `u64`, XOR `base_seed`. Different groups (e.g. different uuids of
/// [`Circuit::uniform_probs_and_group`]) get unrelated seeds; changing `base_seed`
/// re-draws everything.
pub fn hash_seeder(base_seed: u64) -> Seeder {
    Arc::new(move |group: &Circuit| group_hash_u64(group) ^ base_seed)
}

/// The first 8 bytes of a circuit's content hash as a little-endian `u64`.
pub fn group_hash_u64(group: &Circuit) -> u64 {
    let h = group.hash().0;
    u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

/// Random sampling: each group draws `shape` indices with
/// [`circuit_tensor::multinomial`] semantics from its probabilities, seeded by
/// `seeder(group)`; every sample weighs `1 / numel(shape)`.
///
/// `sample_var(var)` builds `seed = Array(seeder(group) as i64)` (0-d int64, named
/// `seed_<n>`), `idx = multinomial(probs_and_group, seed)` (a GeneralFunction named
/// `<group name> sampled_idxs`, int64 of shape `shape`), and
/// `gen_index(values, idx, index_dim = -values.rank, batch_x, no batch_index)` named
/// `<var name> sampled`, of shape `shape + values.shape[1:]`. With `simplify` and a
/// constant leaf group (Scalar or Array, possibly under Tags) the indices are drawn
/// right away into an int64 Array (reading a constant, not evaluating), and a 0-d or
/// 1-D index becomes a plain `Index`. Both forms draw identical indices.
#[derive(Clone)]
pub struct RandomSampleSpec {
    /// Sample dims (e.g. `[N]`).
    pub shape: Vec<usize>,
    /// Draw with replacement.
    pub replace: bool,
    /// Draw indices of constant groups immediately.
    pub simplify: bool,
    /// The seed of each group.
    pub seeder: Seeder,
}

impl fmt::Debug for RandomSampleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RandomSampleSpec")
            .field("shape", &self.shape)
            .field("replace", &self.replace)
            .field("simplify", &self.simplify)
            .finish_non_exhaustive()
    }
}

impl Default for RandomSampleSpec {
    /// No sample dims, with replacement, simplified, `hash_seeder(0)` (the Rust
    /// reference's default).
    fn default() -> Self {
        RandomSampleSpec::new(&[])
    }
}

impl RandomSampleSpec {
    /// Samples of the given shape, with replacement, simplified, seeded by
    /// [`hash_seeder`]`(0)`.
    pub fn new(shape: &[usize]) -> RandomSampleSpec {
        RandomSampleSpec {
            shape: shape.to_vec(),
            replace: true,
            simplify: true,
            seeder: hash_seeder(0),
        }
    }

    /// With another seeder.
    #[must_use]
    pub fn with_seeder(mut self, seeder: Seeder) -> Self {
        self.seeder = seeder;
        self
    }

    /// With [`hash_seeder`]`(base_seed)`.
    #[must_use]
    pub fn with_base_seed(self, base_seed: u64) -> Self {
        self.with_seeder(hash_seeder(base_seed))
    }

    /// With or without replacement.
    #[must_use]
    pub fn with_replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// With or without immediate drawing for constant groups.
    #[must_use]
    pub fn with_simplify(mut self, simplify: bool) -> Self {
        self.simplify = simplify;
        self
    }

    fn num_samples(&self) -> usize {
        self.shape.iter().product()
    }
}

/// `gen_index(values, idx, -values.rank, batch_x=true, batch_index=false)`.
fn gen_index_rows(values: &Circuit, idx: Circuit) -> Result<Circuit> {
    let spec = GfSpec::GenIndex {
        index_dim: -(values.rank() as i64),
        batch_x: true,
        batch_index: false,
        check_index_ints: true,
    };
    Ok(Circuit::general_function(spec, vec![values.clone(), idx])?)
}

impl SampleSpec for RandomSampleSpec {
    fn sample_var(&self, var: &Circuit) -> Result<Circuit> {
        let (values, group) = discrete_var_parts(var)?;
        let n = group_len(group)?;
        let seed = (self.seeder)(group) as i64;
        let idx_name = match group.name() {
            Some(g) => format!("{g} sampled_idxs"),
            None => "sampled_idxs".to_string(),
        };
        let var_name = match var.name() {
            Some(v) => format!("{v} sampled"),
            None => "sampled".to_string(),
        };
        if self.simplify {
            if let Some(probs) = constant_leaf_values(group)? {
                let probs = Tensor::from_vec(&[n], probs)?;
                let idx =
                    circuit_tensor::multinomial_batched(&probs, seed, &self.shape, self.replace)?;
                let out = if idx.ndim() <= 1 {
                    let entry = TensorAxisIndex::Tensor(IndexTensor::new(idx)?);
                    values.index(vec![entry])?
                } else {
                    gen_index_rows(values, Circuit::array(idx, Some(&idx_name))?)?
                };
                return Ok(out.rename(Some(&var_name))?);
            }
        }
        let seed_array = Circuit::array(Tensor::scalar(seed), Some(&format!("seed_{seed}")))?;
        let spec = GfSpec::Multinomial {
            replacement: self.replace,
            shape: self.shape.iter().copied().collect(),
        };
        let idx = Circuit::general_function(spec, vec![group.clone(), seed_array])?
            .rename(Some(&idx_name))?;
        Ok(gen_index_rows(values, idx)?.rename(Some(&var_name))?)
    }

    fn sample_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn empirical_weights(&self, _dtype: Option<DType>) -> Result<Circuit> {
        let n = self.num_samples();
        if n == 0 {
            return Err(SampleError::Invalid(
                "a sample shape with no samples has no weights".into(),
            ));
        }
        Ok(Circuit::scalar(1.0 / n as f64, &self.shape, Some("empirical_weights_for_sampled"))?)
    }

    fn overall_weight(&self) -> f64 {
        1.0
    }

    fn effective_sample_count(&self) -> f64 {
        self.num_samples() as f64
    }
}
