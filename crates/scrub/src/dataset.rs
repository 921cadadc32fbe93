//! [`Dataset`]: named arrays sharing a leading datum axis (reference §7.1).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use circuit_ir::{Circuit, Kind, Op};
use circuit_tensor::{Rng, Tensor};

use crate::error::{Result, ScrubError};
use crate::rows::{gather_rows, uniform_below};

/// Named tensors that share a leading datum axis: row `i` of every tensor is datum `i`.
///
/// `input_names` (by default every name) are the arrays that are circuit inputs, i.e.
/// what causal scrubbing replaces; other arrays (labels, metadata) ride along so that
/// samplers and losses can read them. Datasets are immutable and cheap to clone; every
/// indexing operation returns a new dataset. Equality is by content (names, input names
/// and tensor hashes).
#[derive(Clone)]
pub struct Dataset {
    arrays: Arc<BTreeMap<String, Tensor>>,
    input_names: Arc<BTreeSet<String>>,
    len: usize,
}

/// Which data to take from a [`Dataset`] ([`Dataset::index`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetIndex {
    /// One datum (the result still has a datum axis, of length 1).
    One(usize),
    /// A contiguous range of data.
    Range(Range<usize>),
    /// The listed data, in order, repetitions allowed.
    List(Vec<usize>),
}

impl From<usize> for DatasetIndex {
    fn from(i: usize) -> Self {
        DatasetIndex::One(i)
    }
}

impl From<Range<usize>> for DatasetIndex {
    fn from(r: Range<usize>) -> Self {
        DatasetIndex::Range(r)
    }
}

impl From<Vec<usize>> for DatasetIndex {
    fn from(v: Vec<usize>) -> Self {
        DatasetIndex::List(v)
    }
}

impl From<&[usize]> for DatasetIndex {
    fn from(v: &[usize]) -> Self {
        DatasetIndex::List(v.to_vec())
    }
}

impl Dataset {
    /// A dataset of named tensors; every name is an input.
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] when there is no tensor, a name repeats, a tensor is 0-d,
    /// or the tensors' leading lengths differ.
    pub fn new<S: Into<String>>(arrays: impl IntoIterator<Item = (S, Tensor)>) -> Result<Dataset> {
        let mut map = BTreeMap::new();
        let mut len = None;
        for (name, t) in arrays {
            let name = name.into();
            let Some(&n) = t.shape().first() else {
                return Err(ScrubError::dataset(format!(
                    "array {name:?} is 0-d; datasets need a leading datum axis"
                )));
            };
            match len {
                None => len = Some((name.clone(), n)),
                Some((ref first, l)) if l != n => {
                    return Err(ScrubError::dataset(format!(
                        "all arrays of a dataset must have the same length, but {first:?} has \
                         {l} rows and {name:?} has {n}"
                    )))
                }
                Some(_) => {}
            }
            if map.insert(name.clone(), t).is_some() {
                return Err(ScrubError::dataset(format!("array name {name:?} is given twice")));
            }
        }
        let Some((_, len)) = len else {
            return Err(ScrubError::dataset("a dataset needs at least one array"));
        };
        let input_names = map.keys().cloned().collect();
        Ok(Dataset { arrays: Arc::new(map), input_names: Arc::new(input_names), len })
    }

    /// A dataset from named Array circuits (rust_circuit's `Dataset(arrs)`): each
    /// array's name is its key.
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] for unnamed or non-Array circuits, two different arrays
    /// with one name, and as [`Dataset::new`].
    pub fn from_arrays(arrays: &[Circuit]) -> Result<Dataset> {
        let mut named: BTreeMap<String, Tensor> = BTreeMap::new();
        for c in arrays {
            let (Op::Array(a), Some(name)) = (c.op(), c.name()) else {
                return Err(ScrubError::dataset(format!(
                    "dataset arrays must be named Array circuits, got {}",
                    c.node_ref()
                )));
            };
            let t = a.tensor()?;
            if let Some(prev) = named.get(name) {
                if prev.hash() != t.hash() {
                    return Err(ScrubError::dataset(format!(
                        "two different arrays are named {name:?}"
                    )));
                }
            }
            named.insert(name.to_string(), t);
        }
        Dataset::new(named)
    }

    /// The same data with only `names` marked as circuit inputs (an empty list means
    /// every array, as in rust_circuit).
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] for a name that is not an array of the dataset.
    pub fn with_input_names<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Dataset> {
        let mut set = BTreeSet::new();
        for n in names {
            let n = n.as_ref();
            if !self.arrays.contains_key(n) {
                return Err(ScrubError::dataset(format!(
                    "input name {n:?} is not an array of the dataset (arrays: {})",
                    self.names().collect::<Vec<_>>().join(", ")
                )));
            }
            set.insert(n.to_string());
        }
        if set.is_empty() {
            set = self.arrays.keys().cloned().collect();
        }
        Ok(Dataset { arrays: self.arrays.clone(), input_names: Arc::new(set), len: self.len })
    }

    /// The number of data (the shared leading length).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the dataset has no data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every array name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arrays.keys().map(String::as_str)
    }

    /// The names of the arrays that are circuit inputs, sorted.
    pub fn input_names(&self) -> &BTreeSet<String> {
        &self.input_names
    }

    /// The tensor named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.arrays.get(name)
    }

    /// The tensor named `name`.
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] when there is none.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.arrays.get(name).ok_or_else(|| {
            ScrubError::dataset(format!(
                "the dataset has no array named {name:?} (arrays: {})",
                self.names().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The tensor named `name` as an Array circuit of that name (what replaces the
    /// circuit input of that name).
    ///
    /// # Errors
    /// As [`Dataset::tensor`]; array construction errors.
    pub fn array(&self, name: &str) -> Result<Circuit> {
        Ok(Circuit::array(self.tensor(name)?.clone(), Some(name))?)
    }

    /// The data selected by `index` ([`DatasetIndex`]: one datum, a range or a list).
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] for an index out of range.
    pub fn index(&self, index: impl Into<DatasetIndex>) -> Result<Dataset> {
        match index.into() {
            DatasetIndex::One(i) => self.select(&[i]),
            DatasetIndex::Range(r) => {
                if r.start > r.end || r.end > self.len {
                    return Err(ScrubError::dataset(format!(
                        "range {r:?} is out of bounds for a dataset of length {}",
                        self.len
                    )));
                }
                self.select(&r.collect::<Vec<_>>())
            }
            DatasetIndex::List(v) => self.select(&v),
        }
    }

    /// The data `idxs`, in order (repetitions allowed).
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] for an index out of range.
    pub fn select(&self, idxs: &[usize]) -> Result<Dataset> {
        if let Some(bad) = idxs.iter().find(|&&i| i >= self.len) {
            return Err(ScrubError::dataset(format!(
                "datum {bad} is out of range for a dataset of length {}",
                self.len
            )));
        }
        let mut arrays = BTreeMap::new();
        for (name, t) in self.arrays.iter() {
            arrays.insert(name.clone(), gather_rows(t, idxs)?);
        }
        Ok(Dataset {
            arrays: Arc::new(arrays),
            input_names: self.input_names.clone(),
            len: idxs.len(),
        })
    }

    /// `count` data drawn uniformly with replacement, deterministically from `rng`.
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] when drawing from an empty dataset.
    pub fn sample(&self, count: usize, rng: &mut Rng) -> Result<Dataset> {
        self.select(&self.sample_indices(count, rng)?)
    }

    /// The indices [`Dataset::sample`] would draw.
    ///
    /// # Errors
    /// [`ScrubError::Dataset`] when drawing from an empty dataset.
    pub fn sample_indices(&self, count: usize, rng: &mut Rng) -> Result<Vec<usize>> {
        if self.len == 0 && count > 0 {
            return Err(ScrubError::dataset("cannot sample from an empty dataset"));
        }
        Ok((0..count).map(|_| uniform_below(rng, self.len)).collect())
    }

    /// A content hash over names, input names and tensor hashes.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"circuit-scrub dataset");
        for (name, t) in self.arrays.iter() {
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
            h.update(&t.hash().0);
        }
        for name in self.input_names.iter() {
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
        }
        *h.finalize().as_bytes()
    }

    /// A one-line description of datum `i`: each array's row (long rows shortened).
    pub fn datum_string(&self, i: usize) -> String {
        if i >= self.len {
            return format!("<no datum {i}>");
        }
        let parts: Vec<String> = self
            .arrays
            .iter()
            .map(|(name, t)| {
                let row = gather_rows(t, &[i]).map(|r| r.to_f64_vec()).unwrap_or_default();
                let shown: Vec<String> = row.iter().take(8).map(|v| format!("{v}")).collect();
                let more = if row.len() > 8 { ", …" } else { "" };
                if row.len() == 1 {
                    format!("{name}={}", shown.join(""))
                } else {
                    format!("{name}=[{}{more}]", shown.join(", "))
                }
            })
            .collect();
        parts.join(" ")
    }

    /// Whether every input name is the name of an Array in `circuit` (a quick sanity
    /// check before scrubbing). Returns the missing names.
    pub fn missing_inputs(&self, circuit: &Circuit) -> Vec<String> {
        let present: BTreeSet<&str> =
            circuit_ir::traversal::preorder(std::slice::from_ref(circuit))
                .iter()
                .filter(|c| c.kind() == Kind::Array)
                .filter_map(|c| c.name().map(str::to_string))
                .filter_map(|n| self.input_names.get(&n).map(String::as_str))
                .collect();
        self.input_names.iter().filter(|n| !present.contains(n.as_str())).cloned().collect()
    }
}

impl PartialEq for Dataset {
    fn eq(&self, other: &Dataset) -> bool {
        (Arc::ptr_eq(&self.arrays, &other.arrays) && self.input_names == other.input_names)
            || self.content_hash() == other.content_hash()
    }
}

impl Eq for Dataset {}

impl std::hash::Hash for Dataset {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.content_hash()[..8]);
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .arrays
            .iter()
            .map(|(name, t)| {
                let input = if self.input_names.contains(name) { "" } else { " (not input)" };
                format!("<{name} {:?} {}{input}>", t.shape(), t.dtype())
            })
            .collect();
        write!(f, "Dataset[{}]", parts.join(", "))
    }
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> Dataset {
        let xs = Tensor::from_vec(&[5, 2], (0..10).map(|v| v as i64).collect()).unwrap();
        let ys = Tensor::from_vec(&[5], (0..5).map(|v| v as f32).collect()).unwrap();
        Dataset::new([("xs", xs), ("labels", ys)]).unwrap()
    }

    #[test]
    fn construction_checks_lengths_and_names() {
        let a = Tensor::from_vec(&[2], vec![1.0f32, 2.0]).unwrap();
        let b = Tensor::from_vec(&[3], vec![1.0f32, 2.0, 3.0]).unwrap();
        assert!(matches!(Dataset::new([("a", a.clone()), ("b", b)]), Err(ScrubError::Dataset(_))));
        assert!(Dataset::new([("a", a.clone()), ("a", a)]).is_err());
        assert!(Dataset::new(Vec::<(String, Tensor)>::new()).is_err());
        let d = ds();
        assert_eq!(d.len(), 5);
        assert_eq!(d.input_names().len(), 2);
        let d2 = d.with_input_names(["xs"]).unwrap();
        assert_eq!(d2.input_names().iter().collect::<Vec<_>>(), vec!["xs"]);
        assert!(d.with_input_names(["nope"]).is_err());
    }

    #[test]
    fn indexing_returns_sub_datasets() {
        let d = ds();
        let one = d.index(3).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one.tensor("xs").unwrap().to_i64_vec(), vec![6, 7]);
        let r = d.index(1..3).unwrap();
        assert_eq!(r.tensor("labels").unwrap().to_f64_vec(), vec![1.0, 2.0]);
        let l = d.index(vec![4, 4, 0]).unwrap();
        assert_eq!(l.tensor("labels").unwrap().to_f64_vec(), vec![4.0, 4.0, 0.0]);
        assert!(d.index(5).is_err());
        assert!(d.index(2..6).is_err());
        assert_eq!(d.index(0..5).unwrap(), d);
        assert_ne!(d.index(0..4).unwrap(), d);
    }

    #[test]
    fn sampling_is_deterministic() {
        let d = ds();
        let a = d.sample(20, &mut Rng::new(3)).unwrap();
        let b = d.sample(20, &mut Rng::new(3)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert!(d.datum_string(0).contains("xs=[0, 1]"));
    }

    #[test]
    fn missing_inputs_lists_inputs_absent_from_a_circuit() {
        let d = ds().with_input_names(["xs", "labels"]).unwrap();
        let xs = Tensor::from_vec(&[2], vec![0i64, 0]).unwrap();
        let c = Circuit::array(xs, Some("xs")).unwrap();
        assert_eq!(d.missing_inputs(&c), vec!["labels".to_string()]);
        let from = Dataset::from_arrays(&[Circuit::array(
            Tensor::from_vec(&[3], vec![1.0f32, 2.0, 3.0]).unwrap(),
            Some("ys"),
        )
        .unwrap()])
        .unwrap();
        assert_eq!(from.len(), 3);
        assert!(format!("{from}").contains("<ys [3] float32>"), "{from}");
    }
}
