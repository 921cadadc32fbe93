//! Conditional samplers (reference §7.2): given a reference dataset, draw a dataset of
//! the same length from a source dataset that is "indistinguishable from the reference"
//! according to the sampler.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use circuit_ir::Uuid;
use circuit_tensor::{Rng, Tensor};

use crate::dataset::Dataset;
use crate::error::{Result, ScrubError};
use crate::rows::{derived_uuid, row_keys, uniform_below};

/// A conditional sampler: `sample(reference, source, rng)` returns `reference.len()`
/// data drawn from `source` that the sampler considers equivalent to the reference
/// (row `i` of the result stands in for reference datum `i`). Implementations must draw
/// randomness only from `rng`, so that the same seed gives the same datasets.
pub trait CondSampler: Send + Sync {
    /// Draws a dataset of `reference.len()` data from `source`.
    ///
    /// # Errors
    /// Sampler-specific ([`ScrubError::Sampler`] when no valid draw exists, dataset
    /// errors).
    fn sample(&self, reference: &Dataset, source: &Dataset, rng: &mut Rng) -> Result<Dataset>;

    /// A short description for messages and printing (e.g. `FuncSampler(parity)`).
    fn describe(&self) -> String;

    /// The pool this sampler draws through, if any (see [`PoolAnnotation`]).
    fn pool(&self) -> Option<PoolAnnotation> {
        None
    }

    /// The key under which references share a pool: references with equal keys may
    /// receive the same pooled draw. Default: the reference's content (no sharing
    /// between different references).
    ///
    /// # Errors
    /// Sampler-specific (e.g. a failing feature function).
    fn eq_class(&self, reference: &Dataset) -> Result<Vec<u8>> {
        Ok(reference.content_hash().to_vec())
    }

    /// What the sampler conditions on for one datum, for printing (e.g. `f(d)=[1]`).
    fn condition_string(&self, _datum: &Dataset) -> Option<String> {
        None
    }

    /// Warnings recorded since the last call (e.g. classes with fewer candidates than
    /// references); the experiment collects them after sampling.
    fn take_warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Anything usable as a sampler argument: a concrete sampler or a shared
/// `Arc<dyn CondSampler>`.
pub trait IntoCondSampler {
    /// Converts into a shared sampler.
    fn into_sampler(self) -> Arc<dyn CondSampler>;
}

impl<T: CondSampler + 'static> IntoCondSampler for T {
    fn into_sampler(self) -> Arc<dyn CondSampler> {
        Arc::new(self)
    }
}

impl IntoCondSampler for Arc<dyn CondSampler> {
    fn into_sampler(self) -> Arc<dyn CondSampler> {
        self
    }
}

/// Reuse of draws between samplers (rust_circuit's `PoolAnnotation`): samplers with the
/// same pool id and description, drawing from the same source for references of the
/// same [`CondSampler::eq_class`], pick uniformly among `size` slots and draw a fresh
/// dataset only for an empty slot. `size == 1` means "every node with this pool gets
/// the same draw"; small sizes (4–10) make treeified circuits smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolAnnotation {
    /// The number of distinct draws kept.
    pub size: usize,
    /// Which samplers share the pool.
    pub id: Uuid,
}

impl PoolAnnotation {
    /// A pool of `size` slots identified by `id`.
    ///
    /// # Errors
    /// [`ScrubError::Invalid`] for `size == 0`.
    pub fn new(size: usize, id: Uuid) -> Result<PoolAnnotation> {
        if size == 0 {
            return Err(ScrubError::Invalid("a pool needs at least one slot".into()));
        }
        Ok(PoolAnnotation { size, id })
    }

    /// A pool whose id is derived from a name (deterministic, unlike a random uuid).
    ///
    /// # Errors
    /// As [`PoolAnnotation::new`].
    pub fn named(size: usize, name: &str) -> Result<PoolAnnotation> {
        PoolAnnotation::new(size, derived_uuid(&[b"pool", name.as_bytes()]))
    }
}

/// What identifies one pool: (pool id, sampler description, source hash, eq class).
type PoolKey = (Uuid, String, [u8; 32], Vec<u8>);

/// The pools of one sampling of an interpretation tree.
#[derive(Default, Clone)]
pub struct SamplerPools {
    pools: HashMap<PoolKey, Vec<Option<Dataset>>>,
}

impl fmt::Debug for SamplerPools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SamplerPools({} pools)", self.pools.len())
    }
}

impl SamplerPools {
    /// Draws with `sampler`, through its pool if it has one.
    ///
    /// # Errors
    /// The sampler's errors.
    pub fn sample(
        &mut self,
        sampler: &dyn CondSampler,
        reference: &Dataset,
        source: &Dataset,
        rng: &mut Rng,
    ) -> Result<Dataset> {
        let Some(pool) = sampler.pool() else {
            return sampler.sample(reference, source, rng);
        };
        let key =
            (pool.id, sampler.describe(), source.content_hash(), sampler.eq_class(reference)?);
        let slots = self.pools.entry(key).or_insert_with(|| vec![None; pool.size]);
        let pick = uniform_below(rng, slots.len());
        if let Some(Some(ds)) = slots.get(pick) {
            if ds.len() == reference.len() {
                return Ok(ds.clone());
            }
        }
        let ds = sampler.sample(reference, source, rng)?;
        if let Some(slot) = slots.get_mut(pick) {
            *slot = Some(ds.clone());
        }
        Ok(ds)
    }
}

/// No scrubbing: returns the reference itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactSampler;

impl CondSampler for ExactSampler {
    fn sample(&self, reference: &Dataset, _source: &Dataset, _rng: &mut Rng) -> Result<Dataset> {
        Ok(reference.clone())
    }

    fn describe(&self) -> String {
        "ExactSampler".into()
    }
}

/// Ignores the reference: draws `reference.len()` data uniformly (with replacement)
/// from the source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UncondSampler {
    /// An optional pool.
    pub pool: Option<PoolAnnotation>,
}

impl UncondSampler {
    /// An unpooled unconditional sampler.
    pub fn new() -> UncondSampler {
        UncondSampler { pool: None }
    }

    /// With a pool.
    #[must_use]
    pub fn with_pool(mut self, pool: PoolAnnotation) -> Self {
        self.pool = Some(pool);
        self
    }
}

impl CondSampler for UncondSampler {
    fn sample(&self, reference: &Dataset, source: &Dataset, rng: &mut Rng) -> Result<Dataset> {
        source.sample(reference.len(), rng)
    }

    fn describe(&self) -> String {
        match self.pool {
            Some(p) => format!("UncondSampler#{}", &p.id.simple().to_string()[..8]),
            None => "UncondSampler".into(),
        }
    }

    fn pool(&self) -> Option<PoolAnnotation> {
        self.pool
    }

    fn eq_class(&self, _reference: &Dataset) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// Unconditional sampling with a pool of size one shared by `id`: every node using an
/// `UncondTogetherSampler` with the same id gets the *same* random draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UncondTogetherSampler {
    /// The id shared by the nodes that draw together.
    pub id: Uuid,
}

impl UncondTogetherSampler {
    /// The id all default instances share (rust_circuit's default).
    pub const DEFAULT_ID: Uuid = Uuid::from_u128(0x566a_e005_4a34_4e37_9383_731e_1a72_2ef2);

    /// A sampler drawing together with every other sampler of this id.
    pub fn new(id: Uuid) -> UncondTogetherSampler {
        UncondTogetherSampler { id }
    }

    /// A sampler whose id is derived from a name.
    pub fn named(name: &str) -> UncondTogetherSampler {
        UncondTogetherSampler { id: derived_uuid(&[b"uncond-together", name.as_bytes()]) }
    }
}

impl Default for UncondTogetherSampler {
    fn default() -> Self {
        UncondTogetherSampler { id: UncondTogetherSampler::DEFAULT_ID }
    }
}

impl CondSampler for UncondTogetherSampler {
    fn sample(&self, reference: &Dataset, source: &Dataset, rng: &mut Rng) -> Result<Dataset> {
        source.sample(reference.len(), rng)
    }

    fn describe(&self) -> String {
        format!("UncondTogetherSampler#{}", &self.id.simple().to_string()[..8])
    }

    fn pool(&self) -> Option<PoolAnnotation> {
        Some(PoolAnnotation { size: 1, id: self.id })
    }

    fn eq_class(&self, _reference: &Dataset) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// Always returns a fixed dataset (which must have the reference's length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedOtherSampler {
    /// The dataset returned.
    pub other: Dataset,
}

impl FixedOtherSampler {
    /// A sampler returning `other`.
    pub fn new(other: Dataset) -> FixedOtherSampler {
        FixedOtherSampler { other }
    }
}

impl CondSampler for FixedOtherSampler {
    fn sample(&self, reference: &Dataset, _source: &Dataset, _rng: &mut Rng) -> Result<Dataset> {
        if self.other.len() != reference.len() {
            return Err(ScrubError::Sampler {
                sampler: self.describe(),
                msg: format!(
                    "the fixed dataset has {} data but the reference has {}",
                    self.other.len(),
                    reference.len()
                ),
            });
        }
        Ok(self.other.clone())
    }

    fn describe(&self) -> String {
        "FixedOtherSampler".into()
    }
}

/// A feature function: one row of integer feature values per datum.
pub type FeatureFn = Arc<dyn Fn(&Dataset) -> Result<Vec<Vec<i64>>> + Send + Sync>;

/// Resamples data that agree on a feature (the standard causal-scrubbing draw): for
/// each reference datum `x`, a datum drawn uniformly from the source data `y` with
/// `f(y) == f(x)`. Feature rows are compared whole.
///
/// Fails with [`ScrubError::Sampler`] when a reference's feature value has no
/// candidate in the source; when a value has fewer candidates than references (so some
/// must repeat) it records a warning ([`CondSampler::take_warnings`], collected by the
/// experiment) and counts it ([`FuncSampler::shortfalls`]).
pub struct FuncSampler {
    name: String,
    features: FeatureFn,
    pool: Option<PoolAnnotation>,
    warnings: Mutex<Vec<String>>,
    shortfalls: Mutex<usize>,
}

impl fmt::Debug for FuncSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FuncSampler").field("name", &self.name).field("pool", &self.pool).finish()
    }
}

impl FuncSampler {
    /// A sampler agreeing on `features(ds)` (one `Vec<i64>` per datum); `name` names
    /// the feature in messages.
    pub fn new(
        name: impl Into<String>,
        features: impl Fn(&Dataset) -> Result<Vec<Vec<i64>>> + Send + Sync + 'static,
    ) -> FuncSampler {
        FuncSampler {
            name: name.into(),
            features: Arc::new(features),
            pool: None,
            warnings: Mutex::new(Vec::new()),
            shortfalls: Mutex::new(0),
        }
    }

    /// A sampler agreeing on the rows of a tensor computed from the dataset (1-D: one
    /// value per datum; higher ranks: whole rows). Float features compare by value
    /// (`-0.0 == 0.0`), integers and booleans exactly.
    pub fn from_tensor_fn(
        name: impl Into<String>,
        f: impl Fn(&Dataset) -> Result<Tensor> + Send + Sync + 'static,
    ) -> FuncSampler {
        FuncSampler::new(name, move |ds| row_keys(&f(ds)?))
    }

    /// A sampler agreeing on the rows of the dataset's array `array` (e.g. "same
    /// label").
    pub fn on_array(array: &str) -> FuncSampler {
        let owned = array.to_string();
        FuncSampler::from_tensor_fn(format!("same {array}"), move |ds| {
            Ok(ds.tensor(&owned)?.clone())
        })
    }

    /// With a pool.
    #[must_use]
    pub fn with_pool(mut self, pool: PoolAnnotation) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The feature's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The feature rows of a dataset (checked to have one row per datum).
    ///
    /// # Errors
    /// The feature function's errors; [`ScrubError::Sampler`] for a wrong row count.
    pub fn features(&self, ds: &Dataset) -> Result<Vec<Vec<i64>>> {
        let rows = (self.features)(ds)?;
        if rows.len() != ds.len() {
            return Err(ScrubError::Sampler {
                sampler: self.describe(),
                msg: format!(
                    "the feature function returned {} rows for a dataset of {} data",
                    rows.len(),
                    ds.len()
                ),
            });
        }
        Ok(rows)
    }

    /// How many (reference, feature value) classes had fewer candidates than
    /// references, over every draw so far.
    pub fn shortfalls(&self) -> usize {
        self.shortfalls.lock().map(|g| *g).unwrap_or(0)
    }

    fn note_shortfall(&self, msg: String) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(msg);
        }
        if let Ok(mut n) = self.shortfalls.lock() {
            *n += 1;
        }
    }
}

impl CondSampler for FuncSampler {
    fn sample(&self, reference: &Dataset, source: &Dataset, rng: &mut Rng) -> Result<Dataset> {
        let r_rows = self.features(reference)?;
        let d_rows = self.features(source)?;
        let mut candidates: HashMap<&[i64], Vec<usize>> = HashMap::new();
        for (i, row) in d_rows.iter().enumerate() {
            candidates.entry(row.as_slice()).or_default().push(i);
        }
        // Classes in sorted order so the draws do not depend on hashing.
        let mut classes: BTreeMap<&[i64], Vec<usize>> = BTreeMap::new();
        for (i, row) in r_rows.iter().enumerate() {
            classes.entry(row.as_slice()).or_default().push(i);
        }
        let mut picked = vec![0usize; reference.len()];
        for (value, refs) in classes {
            let Some(cands) = candidates.get(value) else {
                return Err(ScrubError::Sampler {
                    sampler: self.describe(),
                    msg: format!(
                        "no datum of the source dataset has feature value {value:?} (needed \
                         by reference datum {})",
                        refs.first().copied().unwrap_or(0)
                    ),
                });
            };
            if cands.len() < refs.len() {
                self.note_shortfall(format!(
                    "{}: only {} source data have feature value {value:?}, for {} references",
                    self.describe(),
                    cands.len(),
                    refs.len()
                ));
            }
            for r in refs {
                picked[r] = cands[uniform_below(rng, cands.len())];
            }
        }
        source.select(&picked)
    }

    fn describe(&self) -> String {
        match self.pool {
            Some(p) => format!("FuncSampler({})#{}", self.name, &p.id.simple().to_string()[..8]),
            None => format!("FuncSampler({})", self.name),
        }
    }

    fn pool(&self) -> Option<PoolAnnotation> {
        self.pool
    }

    fn eq_class(&self, reference: &Dataset) -> Result<Vec<u8>> {
        let rows = self.features(reference)?;
        let mut h = blake3::Hasher::new();
        for row in rows {
            h.update(&(row.len() as u64).to_le_bytes());
            for v in row {
                h.update(&v.to_le_bytes());
            }
        }
        Ok(h.finalize().as_bytes().to_vec())
    }

    fn condition_string(&self, datum: &Dataset) -> Option<String> {
        let rows = self.features(datum).ok()?;
        let first = rows.first()?;
        Some(match first.as_slice() {
            [v] => format!("f(d)={v}"),
            vs => format!("f(d)={vs:?}"),
        })
    }

    fn take_warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }
}
