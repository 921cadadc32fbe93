//! A small dense bitset over the labels of one einsum (labels renumbered `0..n`).
//!
//! Up to 128 labels the set is two inline words (binary operations are a couple of
//! instructions, no allocation); beyond that it is a boxed slice. All sets of one problem use
//! the same representation.

/// A set of dense label indices.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum LabelSet {
    /// Labels `0..128`.
    Inline([u64; 2]),
    /// More labels.
    Heap(Box<[u64]>),
}

impl LabelSet {
    /// The empty set able to hold labels `0..n_labels`.
    pub(crate) fn empty(n_labels: usize) -> Self {
        if n_labels <= 128 {
            Self::Inline([0; 2])
        } else {
            Self::Heap(vec![0; n_labels.div_ceil(64)].into_boxed_slice())
        }
    }

    fn words(&self) -> &[u64] {
        match self {
            Self::Inline(w) => w,
            Self::Heap(w) => w,
        }
    }

    fn words_mut(&mut self) -> &mut [u64] {
        match self {
            Self::Inline(w) => w,
            Self::Heap(w) => w,
        }
    }

    /// The set of the given indices (each must be `< n_labels`; larger ones are ignored).
    pub(crate) fn from_indices(n_labels: usize, indices: impl IntoIterator<Item = usize>) -> Self {
        let mut set = Self::empty(n_labels);
        for i in indices {
            set.insert(i);
        }
        set
    }

    /// Adds `i` (ignored when out of range).
    pub(crate) fn insert(&mut self, i: usize) {
        if let Some(w) = self.words_mut().get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }

    /// Whether `i` is in the set.
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.words().get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.words().iter().all(|&w| w == 0)
    }

    #[inline]
    fn zip_with(&self, other: &Self, f: impl Fn(u64, u64) -> u64) -> Self {
        match (self, other) {
            (Self::Inline([a0, a1]), Self::Inline([b0, b1])) => {
                Self::Inline([f(*a0, *b0), f(*a1, *b1)])
            }
            _ => {
                let mut out = self.clone();
                let ws = out.words_mut();
                for (i, w) in ws.iter_mut().enumerate() {
                    *w = f(*w, other.words().get(i).copied().unwrap_or(0));
                }
                out
            }
        }
    }

    /// `self ∪ other`.
    pub(crate) fn union(&self, other: &Self) -> Self {
        self.zip_with(other, |a, b| a | b)
    }

    /// `self ∩ other`.
    pub(crate) fn intersection(&self, other: &Self) -> Self {
        self.zip_with(other, |a, b| a & b)
    }

    /// `self \ other`.
    pub(crate) fn difference(&self, other: &Self) -> Self {
        self.zip_with(other, |a, b| a & !b)
    }

    /// In-place `self |= other`.
    pub(crate) fn union_with(&mut self, other: &Self) {
        for (a, &b) in self.words_mut().iter_mut().zip(other.words().iter()) {
            *a |= b;
        }
    }

    /// Whether every element of `self` is in `other`.
    pub(crate) fn is_subset(&self, other: &Self) -> bool {
        self.words().iter().zip(other.words().iter()).all(|(&a, &b)| a & !b == 0)
    }

    /// The elements in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words().iter().enumerate().flat_map(|(wi, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                if rest == 0 {
                    None
                } else {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    Some(wi * 64 + bit)
                }
            })
        })
    }

    /// Product of the sizes of the elements (saturating at `u128::MAX`; 1 for the empty set).
    pub(crate) fn size(&self, sizes: &[u64]) -> u128 {
        let mut total: u128 = 1;
        for i in self.iter() {
            let s = sizes.get(i).copied().unwrap_or(1);
            total = total.saturating_mul(u128::from(s));
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_ops() {
        let a = LabelSet::from_indices(130, [0, 5, 129]);
        let b = LabelSet::from_indices(130, [5, 64]);
        assert_eq!(a.union(&b).iter().collect::<Vec<_>>(), vec![0, 5, 64, 129]);
        assert_eq!(a.intersection(&b).iter().collect::<Vec<_>>(), vec![5]);
        assert_eq!(a.difference(&b).iter().collect::<Vec<_>>(), vec![0, 129]);
        assert!(!a.is_subset(&b));
        assert!(a.intersection(&b).is_subset(&a));
        assert!(a.contains(129) && !a.contains(128));
        assert!(LabelSet::empty(0).is_empty());
        let sizes: Vec<u64> = (0..130).map(|i| i as u64 + 1).collect();
        assert_eq!(b.size(&sizes), 6 * 65);
    }
}
