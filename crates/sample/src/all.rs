//! Exhaustive enumeration: [`RunDiscreteVarAllSpec`] runs a circuit on every datum (the
//! full product grid over the listed groups), weighting each grid point by the product
//! of its groups' probabilities.

use std::ops::Range;

use smallvec::SmallVec;

use circuit_ir::kinds::{RearrangeSpec, Slice, TensorAxisIndex};
use circuit_ir::traversal::preorder;
use circuit_ir::{Circuit, DType, Kind, Tensor};

use crate::error::{Result, SampleError};
use crate::spec::SampleSpec;
use crate::util::{constant_leaf_values, discrete_var_parts, group_len};

/// Enumerates every combination of rows of the listed groups: group `i` contributes
/// sample axis `i` (in list order) of size `subsets[i].len()`; a DiscreteVar of group
/// `i` becomes `values[subset_i]` repeated along the other groups' axes, so the sampled
/// circuit is evaluated on the full product grid. Empirical weights are the outer
/// product of the groups' (subset) probabilities, normalised by its total, so
/// estimates are exact weighted expectations.
///
/// Probabilities are read from the group circuits, which must therefore be constant
/// leaves (Scalar or Array, possibly under Tags): this crate never evaluates.
///
/// # Differences from rust_circuit
/// * [`RunDiscreteVarAllSpec::create_full_from_circuits`] orders groups by first
///   appearance in a pre-order traversal of the circuits (the reference iterates a hash
///   set, so its axis order is not deterministic).
/// * Values are repeated along the other groups' axes by the *subset* sizes (the
///   reference repeats by the full group sizes, which breaks the grid whenever a subset
///   is a proper one).
#[derive(Debug, Clone)]
pub struct RunDiscreteVarAllSpec {
    groups: Vec<Circuit>,
    subsets: Vec<Range<usize>>,
    probs: Vec<Vec<f64>>,
    total: f64,
}

impl RunDiscreteVarAllSpec {
    /// Enumerates every row of each group.
    ///
    /// # Errors
    /// As [`RunDiscreteVarAllSpec::with_subsets`].
    pub fn new(groups: Vec<Circuit>) -> Result<RunDiscreteVarAllSpec> {
        let subsets = vec![None; groups.len()];
        RunDiscreteVarAllSpec::with_subsets(groups, subsets)
    }

    /// Enumerates the rows `subsets[i]` of group `i` (`None`: all rows).
    ///
    /// # Errors
    /// [`SampleError::GroupNotOneDim`]; [`SampleError::NonConstantGroup`];
    /// [`SampleError::Invalid`] for a subset count different from the group count, a
    /// subset out of range, a group listed twice, negative or non-finite
    /// probabilities, or a zero total probability.
    pub fn with_subsets(
        groups: Vec<Circuit>,
        subsets: Vec<Option<Range<usize>>>,
    ) -> Result<RunDiscreteVarAllSpec> {
        if subsets.len() != groups.len() {
            return Err(SampleError::Invalid(format!(
                "{} subsets given for {} groups",
                subsets.len(),
                groups.len()
            )));
        }
        let mut ranges = Vec::with_capacity(groups.len());
        let mut probs = Vec::with_capacity(groups.len());
        for (i, (g, sub)) in groups.iter().zip(subsets).enumerate() {
            if groups[..i].contains(g) {
                return Err(SampleError::Invalid(format!(
                    "group {} is listed twice",
                    g.node_ref()
                )));
            }
            let n = group_len(g)?;
            let range = sub.unwrap_or(0..n);
            if range.start > range.end || range.end > n {
                return Err(SampleError::Invalid(format!(
                    "subset {range:?} is out of range for group {} of size {n}",
                    g.node_ref()
                )));
            }
            let p = constant_leaf_values(g)?
                .ok_or_else(|| SampleError::NonConstantGroup { group: g.node_ref() })?;
            let p = p.get(range.clone()).map(<[f64]>::to_vec).unwrap_or_default();
            if p.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(SampleError::Invalid(format!(
                    "group {} has negative or non-finite probabilities",
                    g.node_ref()
                )));
            }
            ranges.push(range);
            probs.push(p);
        }
        let total: f64 = probs.iter().map(|p| p.iter().sum::<f64>()).product();
        if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !total.is_finite() {
            return Err(SampleError::Invalid(format!(
                "the enumerated subsets have total probability {total}; it must be positive"
            )));
        }
        Ok(RunDiscreteVarAllSpec { groups, subsets: ranges, probs, total })
    }

    /// Every distinct group of a DiscreteVar in `circuits`, in order of first appearance
    /// in a pre-order traversal (parents before children, children in order, circuits
    /// in order), each fully enumerated.
    ///
    /// # Errors
    /// [`SampleError::UnsupportedVar`] for a StoredCumulantVar; the errors of
    /// [`RunDiscreteVarAllSpec::new`].
    pub fn create_full_from_circuits(circuits: &[Circuit]) -> Result<RunDiscreteVarAllSpec> {
        let mut groups: Vec<Circuit> = Vec::new();
        for node in preorder(circuits) {
            match node.kind() {
                Kind::DiscreteVar => {
                    let (_, g) = discrete_var_parts(&node)?;
                    if !groups.contains(g) {
                        groups.push(g.clone());
                    }
                }
                Kind::StoredCumulantVar => {
                    return Err(SampleError::UnsupportedVar {
                        node: node.node_ref(),
                        kind: Kind::StoredCumulantVar.name(),
                    })
                }
                _ => {}
            }
        }
        RunDiscreteVarAllSpec::new(groups)
    }

    /// The groups, in sample-axis order.
    pub fn groups(&self) -> &[Circuit] {
        &self.groups
    }

    /// The enumerated rows of each group.
    pub fn subsets(&self) -> &[Range<usize>] {
        &self.subsets
    }

    /// The normalised weights as a tensor of the sample shape (C order: the last
    /// group varies fastest).
    pub fn weights_tensor(&self) -> Tensor {
        let mut w = vec![1.0 / self.total];
        for p in &self.probs {
            w = w.iter().flat_map(|a| p.iter().map(move |b| a * b)).collect();
        }
        Tensor::from_vec(&self.sample_shape(), w)
            .unwrap_or_else(|_| Tensor::full(&self.sample_shape(), 0.0, DType::F64))
    }
}

impl SampleSpec for RunDiscreteVarAllSpec {
    fn sample_var(&self, var: &Circuit) -> Result<Circuit> {
        let (values, group) = discrete_var_parts(var)?;
        let g = self.groups.iter().position(|x| x == group).ok_or_else(|| {
            SampleError::UnhandledVar { var: var.node_ref(), group: group.node_ref() }
        })?;
        let range = &self.subsets[g];
        let n = values.shape()[0];
        let rows = if range.start == 0 && range.end == n {
            values.clone()
        } else {
            let slice = Slice { start: Some(range.start as i64), stop: Some(range.end as i64) };
            values.index(vec![TensorAxisIndex::Slice(slice)])?
        };
        let num_groups = self.groups.len();
        let out = if num_groups == 1 {
            rows
        } else {
            // Ints 0..G are the sample axes (int g comes from the input), G.. the rest.
            let to_u8 = |i: usize| {
                u8::try_from(i)
                    .map_err(|_| SampleError::Unsupported("more than 256 axes".to_string()))
            };
            let r = rows.rank();
            let mut input = vec![SmallVec::from_slice(&[to_u8(g)?])];
            let mut output = Vec::with_capacity(num_groups + r - 1);
            for i in 0..num_groups {
                output.push(SmallVec::from_slice(&[to_u8(i)?]));
            }
            for i in 1..r {
                let int = to_u8(num_groups + i - 1)?;
                input.push(SmallVec::from_slice(&[int]));
                output.push(SmallVec::from_slice(&[int]));
            }
            let mut sizes: Vec<Option<usize>> =
                self.subsets.iter().map(|s| Some(s.len())).collect();
            sizes[g] = None;
            sizes.extend(std::iter::repeat_n(None, r - 1));
            rows.rearrange(RearrangeSpec::new(input, output, sizes)?)?
        };
        let name = match var.name() {
            Some(v) => format!("{v} sampled"),
            None => "sampled".to_string(),
        };
        Ok(out.rename(Some(&name))?)
    }

    fn sample_shape(&self) -> Vec<usize> {
        self.subsets.iter().map(Range::len).collect()
    }

    /// Equal weights are a Scalar (no dtype); others an Array in `dtype` (float64 when
    /// open).
    fn empirical_weights(&self, dtype: Option<DType>) -> Result<Circuit> {
        let name = Some("empirical_weights_for_all");
        let w = self.weights_tensor();
        let values = w.to_f64_vec();
        if let Some(&first) = values.first() {
            if values.iter().all(|&v| v == first) {
                return Ok(Circuit::scalar(first, &self.sample_shape(), name)?);
            }
        }
        let dtype = dtype.filter(|d| d.is_float()).unwrap_or(DType::F64);
        let w = if dtype == DType::F64 { w } else { w.cast(dtype) };
        Ok(Circuit::array(w, name)?)
    }

    fn overall_weight(&self) -> f64 {
        self.total
    }

    fn effective_sample_count(&self) -> f64 {
        let sq: f64 = self.weights_tensor().to_f64_vec().iter().map(|w| w * w).sum();
        1.0 / sq
    }

    fn is_exhaustive(&self) -> bool {
        true
    }
}
