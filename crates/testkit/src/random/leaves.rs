//! Leaves (Scalar, Symbol, Array), sizes and shapes, and "a node of this shape" (from the
//! pool when one fits, else a fresh leaf).

use circuit_ir::kinds::{Array, Scalar, Symbol};
use circuit_ir::size::{is_symbolic, shape_is_symbolic, symbolic_size};
use circuit_ir::{Circuit, DType, Kind, Op, Shape, Tensor};

use super::Generator;

/// Interesting scalar values (all with a canonical bit pattern for NaN).
const SCALARS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    7.0,
    -3.5,
    0.1,
    1.0 / 3.0,
    1e-300,
    5e-324,
    f64::MIN_POSITIVE,
    1e300,
    f64::MAX,
    f64::MIN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    123_456_789.0,
    9_007_199_254_740_993.0,
    1e21,
    1e-7,
    0.017_857_142_857_142_856,
];

impl Generator {
    /// A concrete or (when allowed and configured) symbolic size.
    pub(super) fn dim(&mut self, symbolic_ok: bool) -> usize {
        if symbolic_ok && self.cfg.symbolic_sizes && self.g.chance(0.15) {
            // Symbolic sizes 0s..3s always exist.
            let k = self.g.below(4);
            let mut size = symbolic_size(k).unwrap_or(1);
            if self.g.chance(0.25) {
                size *= self.g.range(2, 3);
            }
            if self.g.chance(0.1) {
                // a product of two symbolic sizes, e.g. 0s*1s
                size *= symbolic_size(self.g.below(4)).unwrap_or(1);
            }
            return size;
        }
        if symbolic_ok && self.g.chance(0.01) {
            // a huge declared size (only ever on leaves that hold no data)
            return [1_000_000_000_000, (1 << 33) + 1, 1_000_000_007][self.g.below(3)];
        }
        match self.g.weighted(&[4, 30, 66]) {
            0 => 0,
            1 => 1,
            _ => self.g.range(2, self.cfg.max_dim.max(2)),
        }
    }

    /// A fresh shape of rank `0..=max_rank`.
    pub(super) fn shape(&mut self, symbolic_ok: bool) -> Shape {
        let rank = self.rank();
        (0..rank).map(|_| self.dim(symbolic_ok)).collect()
    }

    /// A rank in `0..=max_rank`, favouring 1 and 2.
    pub(super) fn rank(&mut self) -> usize {
        let max = self.cfg.max_rank;
        match self.g.weighted(&[10, 35, 35, 20]) {
            0 => 0,
            1 => 1.min(max),
            2 => 2.min(max),
            _ => self.g.range(0, max),
        }
    }

    fn scalar_value(&mut self) -> f64 {
        match self.g.weighted(&[50, 25, 25, if self.cfg.signed_nan { 3 } else { 0 }]) {
            0 => SCALARS[self.g.below(SCALARS.len())],
            1 => (self.g.range_i64(-1000, 1000)) as f64,
            2 => self.g.normal() * 10f64.powi(self.g.range_i64(-5, 5) as i32),
            _ => {
                if self.g.chance(0.5) {
                    -f64::NAN
                } else {
                    f64::from_bits(0x7ff8_0000_0000_0001)
                }
            }
        }
    }

    /// A Scalar of this shape.
    pub(super) fn scalar_of(&mut self, shape: &[usize]) -> Circuit {
        let value = self.scalar_value();
        let op = Op::Scalar(Scalar { value, shape: shape.iter().copied().collect() });
        // Leaves never fail to build; keep a nameless scalar as the last resort.
        self.build(op.clone(), vec![])
            .unwrap_or_else(|_| must(Circuit::build(op, vec![], None, false)))
    }

    /// A Symbol of this shape (nil or random uuid).
    pub(super) fn symbol_of(&mut self, shape: &[usize]) -> Circuit {
        let uuid = if self.g.chance(0.3) { circuit_ir::Uuid::nil() } else { self.g.uuid() };
        let op = Op::Symbol(Symbol { shape: shape.iter().copied().collect(), uuid });
        self.build(op.clone(), vec![])
            .unwrap_or_else(|_| must(Circuit::build(op, vec![], None, false)))
    }

    /// A random tensor of this (concrete) shape and dtype.
    pub(super) fn tensor(&mut self, shape: &[usize], dtype: DType) -> Tensor {
        let n: usize = shape.iter().product();
        let t = match dtype {
            DType::F32 => Tensor::from_vec(shape, (0..n).map(|_| self.float() as f32).collect()),
            DType::F64 => Tensor::from_vec(shape, (0..n).map(|_| self.float()).collect()),
            DType::F16 | DType::BF16 => Tensor::randn(shape, dtype, self.g.u64()),
            DType::I8 => {
                Tensor::from_vec(shape, (0..n).map(|_| self.int(-128, 127) as i8).collect())
            }
            DType::I16 => {
                Tensor::from_vec(shape, (0..n).map(|_| self.int(-300, 300) as i16).collect())
            }
            DType::I32 => Tensor::from_vec(shape, (0..n).map(|_| self.int(-9, 9) as i32).collect()),
            DType::I64 => Tensor::from_vec(shape, (0..n).map(|_| self.int(-9, 9)).collect()),
            DType::U8 => Tensor::from_vec(shape, (0..n).map(|_| self.int(0, 255) as u8).collect()),
            DType::Bool => Tensor::from_vec(shape, (0..n).map(|_| self.g.chance(0.5)).collect()),
        };
        t.unwrap_or_else(|_| Tensor::full(shape, 0.0, dtype))
    }

    fn float(&mut self) -> f64 {
        if self.g.chance(0.05) {
            SCALARS[self.g.below(SCALARS.len())]
        } else {
            self.g.normal()
        }
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.g.range_i64(lo, hi)
    }

    /// A dtype for a fresh Array (mostly float32/float64).
    pub(super) fn array_dtype(&mut self) -> DType {
        match self.g.weighted(&[40, 25, 35]) {
            0 => DType::F32,
            1 => DType::F64,
            _ => DType::ALL[self.g.below(DType::ALL.len())],
        }
    }

    /// An Array of this concrete shape, or `None` when it would be too large or the shape
    /// is symbolic.
    pub(super) fn array_of(&mut self, shape: &[usize], dtype: DType) -> Option<Circuit> {
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        if numel > self.cfg.max_array_numel || shape_is_symbolic(shape) {
            return None;
        }
        let t = self.tensor(shape, dtype);
        self.build(Op::Array(Array::from_tensor(t)), vec![]).ok()
    }

    /// A fresh leaf of a random kind and shape.
    pub(super) fn random_leaf(&mut self) -> Circuit {
        let kind = match self.g.weighted(&[45, 35, 20]) {
            0 => Kind::Scalar,
            1 => Kind::Array,
            _ => Kind::Symbol,
        };
        self.leaf_of_kind(kind)
    }

    /// A fresh leaf of this kind with a random shape.
    pub(super) fn leaf_of_kind(&mut self, kind: Kind) -> Circuit {
        match kind {
            Kind::Array => {
                let shape: Shape = (0..self.rank()).map(|_| self.dim(false)).collect();
                let dtype = self.array_dtype();
                match self.array_of(&shape, dtype) {
                    Some(c) => c,
                    None => self.scalar_of(&shape),
                }
            }
            Kind::Symbol => {
                let shape = self.shape(true);
                self.symbol_of(&shape)
            }
            _ => {
                let shape = self.shape(true);
                self.scalar_of(&shape)
            }
        }
    }

    /// A fresh leaf of exactly this shape; an Array only when `dtype` is given or by
    /// chance, and only for small concrete shapes.
    pub(super) fn leaf_of_shape(&mut self, shape: &[usize], dtype: Option<DType>) -> Circuit {
        let want_array = dtype.is_some() || self.g.chance(0.25);
        if want_array && !shape.iter().any(|&d| is_symbolic(d)) {
            let dt = match dtype {
                Some(d) => d,
                None => self.array_dtype(),
            };
            if let Some(a) = self.array_of(shape, dt) {
                return a;
            }
        }
        if dtype.is_none() && self.g.chance(0.15) {
            return self.symbol_of(shape);
        }
        self.scalar_of(shape)
    }

    /// A node of exactly this shape whose dtype is `dtype` or unknown: an existing pool
    /// node when one fits (DAG sharing), else a fresh leaf.
    pub(super) fn node_of_shape(&mut self, shape: &[usize], dtype: Option<DType>) -> Circuit {
        if self.g.chance(0.6) {
            let found = self.pick_where(|c| {
                c.shape().as_slice() == shape && (c.dtype().is_none() || c.dtype() == dtype)
            });
            if let Some(c) = found {
                return c;
            }
        }
        match dtype {
            Some(d) if self.g.chance(0.5) => self.leaf_of_shape(shape, Some(d)),
            _ => self.leaf_of_shape(shape, None),
        }
    }

    /// A pool node whose dtype is compatible with `dtype` (equal, or either unknown).
    pub(super) fn pick_compatible(
        &mut self,
        dtype: Option<circuit_ir::DType>,
        pred: impl Fn(&Circuit) -> bool,
    ) -> Option<Circuit> {
        self.pick_where(|c| {
            pred(c) && (dtype.is_none() || c.dtype().is_none() || c.dtype() == dtype)
        })
    }
}

/// Unwraps a construction that cannot fail (a leaf with no name).
pub(super) fn must(r: Result<Circuit, circuit_ir::IrError>) -> Circuit {
    match r {
        Ok(c) => c,
        Err(e) => panic!("testkit: a leaf failed to build: {e}"),
    }
}
