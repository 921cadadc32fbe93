//! [`Strided`]: the CPU backend's tensor — shared storage plus an offset, shape and
//! (non-negative) strides — and [`CpuBuffer`], one per supported dtype.
//!
//! Views are free: permutations, diagonals (strides add up), slices and broadcasts
//! (stride 0) only change the layout. Kernels read any layout and write fresh C-order
//! (contiguous) outputs. Input tensors are used in place when ndarray stores them
//! contiguously in some memory order (no copy on upload).
//!
//! Invariant (checked by every constructor): every addressable element
//! `offset + Σ idx[d] * strides[d]` lies inside the storage.

use std::sync::Arc;

use circuit_tensor::DType;
use ndarray::{ArcArray, ArrayD, IxDyn};
use smallvec::SmallVec;

/// A small vector of sizes or strides.
pub(crate) type Dims = SmallVec<[usize; 6]>;

/// Element types the CPU backend computes in (float32, float64, int64).
pub trait Elem: Copy + Send + Sync + PartialOrd + Default + std::fmt::Debug + 'static {
    /// The dtype.
    const DTYPE: DType;
    /// Conversion from `f64` (truncating and saturating for integers).
    fn from_f64(v: f64) -> Self;
    /// Conversion to `f64`.
    fn to_f64(self) -> f64;
    /// `self + o` (wrapping for integers).
    fn add(self, o: Self) -> Self;
    /// `self * o` (wrapping for integers).
    fn mul(self, o: Self) -> Self;
    /// The additive identity.
    fn zero() -> Self {
        Self::default()
    }
    /// A pooled buffer with capacity in `[n, 2n]` (see `pool.rs`).
    fn take_pooled(n: usize) -> Option<Vec<Self>>;
}

impl Elem for f32 {
    const DTYPE: DType = DType::F32;
    fn take_pooled(n: usize) -> Option<Vec<Self>> {
        super::pool::take(n)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
}

impl Elem for f64 {
    const DTYPE: DType = DType::F64;
    fn take_pooled(n: usize) -> Option<Vec<Self>> {
        super::pool::take(n)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
}

impl Elem for i64 {
    const DTYPE: DType = DType::I64;
    fn take_pooled(n: usize) -> Option<Vec<Self>> {
        super::pool::take(n)
    }
    fn from_f64(v: f64) -> Self {
        v as i64
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn mul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
}

/// Shared storage.
#[derive(Clone)]
enum Store<T> {
    /// Memory the backend allocated.
    Vec(Arc<Vec<T>>),
    /// An input tensor's memory (contiguous in some order).
    Nd(ArcArray<T, IxDyn>),
}

impl<T: Elem> Store<T> {
    fn slice(&self) -> &[T] {
        match self {
            Store::Vec(v) => v,
            Store::Nd(a) => a.as_slice_memory_order().unwrap_or(&[]),
        }
    }
}

/// A strided view of shared storage (the CPU backend's tensor; opaque outside the
/// crate).
#[derive(Clone)]
pub struct Strided<T> {
    store: Store<T>,
    /// Position of element `[0, .., 0]`.
    pub(crate) offset: usize,
    /// Sizes.
    pub(crate) shape: Dims,
    /// Element strides (0 for broadcast dims).
    pub(crate) strides: Dims,
}

/// C-order strides of a shape.
pub(crate) fn c_strides(shape: &[usize]) -> Dims {
    let mut strides: Dims = SmallVec::from_elem(0, shape.len());
    let mut acc = 1usize;
    for d in (0..shape.len()).rev() {
        strides[d] = acc;
        acc = acc.saturating_mul(shape[d]);
    }
    strides
}

impl<T: Elem> Strided<T> {
    /// A contiguous C-order tensor owning `data` (`data.len()` must be the shape's
    /// element count; callers allocate it that way).
    pub(crate) fn from_vec(shape: &[usize], data: Vec<T>) -> Strided<T> {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Strided {
            store: Store::Vec(Arc::new(data)),
            offset: 0,
            shape: shape.iter().copied().collect(),
            strides: c_strides(shape),
        }
    }

    /// `value` broadcast to `shape` (one element, all strides 0).
    pub(crate) fn fill(shape: &[usize], value: T) -> Strided<T> {
        Strided {
            store: Store::Vec(Arc::new(vec![value])),
            offset: 0,
            shape: shape.iter().copied().collect(),
            strides: SmallVec::from_elem(0, shape.len()),
        }
    }

    /// Zeros (allocated: callers write into them).
    pub(crate) fn zeros(shape: &[usize]) -> Strided<T> {
        Strided::from_vec(shape, super::pool::zeroed(shape.iter().product()))
    }

    /// Wraps an ndarray without copying when it is contiguous in some memory order with
    /// non-negative strides; copies otherwise.
    pub(crate) fn from_ndarray(a: &ArcArray<T, IxDyn>) -> Strided<T> {
        let nonneg = a.strides().iter().all(|&s| s >= 0);
        if nonneg && a.as_slice_memory_order().is_some() {
            Strided {
                store: Store::Nd(a.clone()),
                offset: 0,
                shape: a.shape().iter().copied().collect(),
                strides: a.strides().iter().map(|&s| s.unsigned_abs()).collect(),
            }
        } else {
            Strided::from_vec(a.shape(), a.iter().copied().collect())
        }
    }

    /// The underlying memory (the view addresses part of it).
    pub(crate) fn data(&self) -> &[T] {
        self.store.slice()
    }

    /// Number of elements.
    pub(crate) fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Rank.
    pub(crate) fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// A view with another layout over the same storage; checks the invariant.
    pub(crate) fn view(&self, offset: usize, shape: Dims, strides: Dims) -> Option<Strided<T>> {
        let v = Strided { store: self.store.clone(), offset, shape, strides };
        v.in_bounds().then_some(v)
    }

    fn in_bounds(&self) -> bool {
        if self.shape.len() != self.strides.len() {
            return false;
        }
        if self.shape.contains(&0) {
            return true;
        }
        let mut last = self.offset;
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            last = last.saturating_add((n - 1).saturating_mul(s));
        }
        last < self.data().len()
    }

    /// Whether the view is C-order contiguous (size-1 dims ignored).
    pub(crate) fn is_contiguous(&self) -> bool {
        let mut acc = 1usize;
        for (&n, &s) in self.shape.iter().zip(&self.strides).rev() {
            if n != 1 && s != acc {
                return false;
            }
            acc *= n;
        }
        true
    }

    /// The elements as a C-order slice, if contiguous.
    pub(crate) fn as_slice(&self) -> Option<&[T]> {
        if self.is_contiguous() {
            self.data().get(self.offset..self.offset + self.numel())
        } else {
            None
        }
    }

    /// The elements in C order (copied).
    pub(crate) fn to_vec(&self) -> Vec<T> {
        if let Some(s) = self.as_slice() {
            return s.to_vec();
        }
        let mut out = super::pool::zeroed(self.numel());
        crate::cpu::elementwise::run_rows(&mut out, &self.shape, [self], |o, [v]| *o = v);
        out
    }

    /// A contiguous version (no copy when already contiguous).
    pub(crate) fn contiguous(&self) -> Strided<T> {
        if self.is_contiguous() {
            self.clone()
        } else {
            Strided::from_vec(&self.shape, self.to_vec())
        }
    }

    /// Takes the storage when this is the only reference to a contiguous buffer the
    /// backend allocated (for in-place kernels).
    #[allow(clippy::result_large_err)] // the Err hands the tensor back, by design
    pub(crate) fn into_unique_vec(self) -> Result<Vec<T>, Strided<T>> {
        let n = self.numel();
        if self.offset != 0 || !self.is_contiguous() || self.strides.contains(&0) && n > 1 {
            return Err(self);
        }
        let Strided { store, offset, shape, strides } = self;
        match store {
            Store::Vec(arc) if arc.len() == n => match Arc::try_unwrap(arc) {
                Ok(v) => Ok(v),
                Err(arc) => Err(Strided { store: Store::Vec(arc), offset, shape, strides }),
            },
            store => Err(Strided { store, offset, shape, strides }),
        }
    }

    /// Permutes dims: result dim `i` is input dim `perm[i]`.
    pub(crate) fn permute(&self, perm: &[usize]) -> Strided<T> {
        Strided {
            store: self.store.clone(),
            offset: self.offset,
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
        }
    }

    /// Broadcasts (right-aligned, NumPy rules) to `shape`; `None` if incompatible.
    pub(crate) fn broadcast_to(&self, shape: &[usize]) -> Option<Strided<T>> {
        if self.ndim() > shape.len() {
            return None;
        }
        let off = shape.len() - self.ndim();
        let mut strides: Dims = SmallVec::from_elem(0, shape.len());
        for (i, &n) in shape.iter().enumerate().skip(off) {
            let (m, s) = (self.shape[i - off], self.strides[i - off]);
            strides[i] = if m == n {
                s
            } else if m == 1 {
                0
            } else {
                return None;
            };
        }
        Some(Strided {
            store: self.store.clone(),
            offset: self.offset,
            shape: shape.iter().copied().collect(),
            strides,
        })
    }

    /// Converts to an ndarray (copying unless this is a unique contiguous buffer).
    pub(crate) fn into_ndarray(self) -> ArrayD<T> {
        let shape: Vec<usize> = self.shape.to_vec();
        let data = match self.into_unique_vec() {
            Ok(v) => v,
            Err(s) => s.to_vec(),
        };
        ArrayD::from_shape_vec(IxDyn(&shape), data)
            .unwrap_or_else(|_| ArrayD::from_elem(IxDyn(&[0]), T::zero()))
    }
}

/// A CPU buffer: a strided tensor of one of the supported dtypes.
#[derive(Clone)]
#[allow(missing_docs)]
pub enum CpuBuffer {
    F32(Strided<f32>),
    F64(Strided<f64>),
    I64(Strided<i64>),
}

impl std::fmt::Debug for CpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBuffer({} {:?})", self.dtype(), self.shape())
    }
}

/// Runs `$body` with `$x` bound to the typed strided tensor.
macro_rules! with_buf {
    ($buf:expr, $x:ident => $body:expr) => {
        match $buf {
            $crate::cpu::buffer::CpuBuffer::F32($x) => $body,
            $crate::cpu::buffer::CpuBuffer::F64($x) => $body,
            $crate::cpu::buffer::CpuBuffer::I64($x) => $body,
        }
    };
}
pub(crate) use with_buf;

impl CpuBuffer {
    /// The dtype.
    pub fn dtype(&self) -> DType {
        match self {
            CpuBuffer::F32(_) => DType::F32,
            CpuBuffer::F64(_) => DType::F64,
            CpuBuffer::I64(_) => DType::I64,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_buf!(self, x => &x.shape)
    }
}

/// Conversion between typed tensors and [`CpuBuffer`].
pub(crate) trait BufElem: Elem {
    /// Wraps a typed tensor.
    fn wrap(s: Strided<Self>) -> CpuBuffer;
    /// Borrows the typed tensor if the dtype matches.
    fn get(b: &CpuBuffer) -> Option<&Strided<Self>>;
    /// Takes the typed tensor if the dtype matches.
    fn take(b: CpuBuffer) -> Option<Strided<Self>>;
}

macro_rules! impl_buf_elem {
    ($t:ty, $v:ident) => {
        impl BufElem for $t {
            fn wrap(s: Strided<Self>) -> CpuBuffer {
                CpuBuffer::$v(s)
            }
            fn get(b: &CpuBuffer) -> Option<&Strided<Self>> {
                match b {
                    CpuBuffer::$v(s) => Some(s),
                    _ => None,
                }
            }
            fn take(b: CpuBuffer) -> Option<Strided<Self>> {
                match b {
                    CpuBuffer::$v(s) => Some(s),
                    _ => None,
                }
            }
        }
    };
}
impl_buf_elem!(f32, F32);
impl_buf_elem!(f64, F64);
impl_buf_elem!(i64, I64);
