//! GeneralFunction (every spec family) and Conv.

use circuit_ir::kinds::{Conv, DeviceDtype, GeneralFunction, GfSpec, SimpleFn};
use circuit_ir::{Circuit, DType, IrError, Op, Shape};

use super::Generator;

impl Generator {
    pub(super) fn general_function(&mut self) -> Result<Circuit, IrError> {
        let family = self.g.weighted(&[40, 14, 10, 12, 10, 10]);
        let (spec, children) = match family {
            0 => self.gf_simple(),
            1 => self.gf_gen_index(),
            2 => self.gf_explicit_index(),
            3 => self.gf_cast(),
            4 => self.gf_pow(),
            _ => self.gf_multinomial(),
        };
        let key = match &spec {
            GfSpec::Simple(f) => format!("simple:{}", f.name()),
            GfSpec::GenIndex { .. } => "gen_index".into(),
            GfSpec::ExplicitIndex { .. } => "explicit_index".into(),
            GfSpec::Cast { .. } => "cast".into(),
            GfSpec::Pow => "pow".into(),
            GfSpec::Multinomial { .. } => "multinomial".into(),
        };
        let c = self.build(Op::GeneralFunction(GeneralFunction { spec }), children)?;
        *self.stats.gf_specs.entry(key).or_default() += 1;
        Ok(c)
    }

    fn gf_simple(&mut self) -> (GfSpec, Vec<Circuit>) {
        let f = SimpleFn::ALL[self.g.below(SimpleFn::ALL.len())];
        let child =
            if f.is_elementwise() { self.pick_any() } else { self.pick_where(|c| c.rank() >= 1) };
        let child = child.unwrap_or_else(|| {
            let mut s = self.shape(true);
            if s.is_empty() {
                s.push(3);
            }
            self.leaf_of_shape(&s, None)
        });
        (GfSpec::Simple(f), vec![child])
    }

    /// An integer-valued index node of this shape with values in `[-d, d)` where possible.
    fn int_index_of(&mut self, shape: &[usize], d: usize) -> Circuit {
        if self.g.chance(0.2) {
            if let Some(c) = self.pick_where(|c| {
                c.shape().as_slice() == shape && c.dtype().is_some_and(DType::is_int)
            }) {
                return c;
            }
        }
        let numel: usize = shape.iter().product();
        if numel <= self.cfg.max_array_numel && !circuit_ir::size::shape_is_symbolic(shape) {
            let hi = d.clamp(1, 6) as i64;
            let values: Vec<i64> = (0..numel).map(|_| self.g.range_i64(-hi, hi - 1)).collect();
            if let Ok(t) = circuit_ir::Tensor::from_vec(shape, values) {
                if let Ok(c) =
                    self.build(Op::Array(circuit_ir::kinds::Array::from_tensor(t)), vec![])
                {
                    return c;
                }
            }
        }
        // Scalars have no dtype, so they are accepted as indices.
        self.scalar_of(shape)
    }

    fn x_with_rank(&mut self, min_rank: usize) -> Circuit {
        match self.pick_where(|c| c.rank() >= min_rank && c.rank() <= 4) {
            Some(c) if self.g.chance(0.7) => c,
            _ => {
                let rank = self.g.range(min_rank, min_rank.max(3));
                let s: Shape = (0..rank).map(|_| self.dim(true)).collect();
                self.leaf_of_shape(&s, None)
            }
        }
    }

    fn gf_gen_index(&mut self) -> (GfSpec, Vec<Circuit>) {
        let batch_x = self.g.chance(0.5);
        let batch_index = self.g.chance(0.6);
        let check_index_ints = self.g.chance(0.5);
        let x = self.x_with_rank(1);
        let xs = x.shape().clone();
        let r = xs.len() as i64;
        let (index_dim, idx_shape): (i64, Shape) = if batch_x && batch_index {
            let p = self.g.range(0, xs.len() - 1);
            let suffix = r - p as i64;
            let dim = self.g.range_i64(-suffix, suffix - 1);
            (dim, xs[..p].iter().copied().collect())
        } else {
            let dim = if batch_x { self.g.range_i64(-r, -1) } else { self.g.range_i64(-r, r - 1) };
            let s: Shape = (0..self.g.range(0, 2)).map(|_| self.dim(false)).collect();
            (dim, s)
        };
        let norm = if index_dim < 0 { index_dim + r } else { index_dim };
        let d = xs.get(norm.max(0) as usize).copied().unwrap_or(1);
        let idx = self.int_index_of(&idx_shape, d);
        (GfSpec::GenIndex { index_dim, batch_x, batch_index, check_index_ints }, vec![x, idx])
    }

    fn gf_explicit_index(&mut self) -> (GfSpec, Vec<Circuit>) {
        let x = self.x_with_rank(1);
        let xs = x.shape().clone();
        let n = self.g.range(1, xs.len());
        let n_batch = xs.len() - n;
        let index_dim = self.g.range_i64(-(n as i64), n as i64 - 1);
        let mut idx_shape: Shape = xs[..n_batch].iter().copied().collect();
        for _ in 0..self.g.range(0, 2) {
            idx_shape.push(self.dim(false));
        }
        let norm = if index_dim < 0 { index_dim + n as i64 } else { index_dim };
        let d = xs.get(n_batch + norm.max(0) as usize).copied().unwrap_or(1);
        let idx = self.int_index_of(&idx_shape, d);
        let check_index_ints = self.g.chance(0.5);
        (GfSpec::ExplicitIndex { index_dim, x_non_batch_dims: n, check_index_ints }, vec![x, idx])
    }

    fn device_dtype(&mut self, input: Option<DType>) -> DeviceDtype {
        let device = match self.g.weighted(&[50, 35, 15]) {
            0 => None,
            1 => Some("cpu".to_string()),
            _ => Some(format!("cuda:{}", self.g.below(16))),
        };
        let dtype = match (input, self.g.weighted(&[40, 40, 20])) {
            (_, 0) => None,
            (Some(d), 1) => Some(d),
            _ => Some(DType::ALL[self.g.below(DType::ALL.len())]),
        };
        DeviceDtype { device, dtype }
    }

    fn gf_cast(&mut self) -> (GfSpec, Vec<Circuit>) {
        let x = match self.pick_any() {
            Some(c) => c,
            None => self.random_leaf(),
        };
        let mut from = self.device_dtype(x.dtype());
        if x.dtype().is_some() && from.dtype.is_some() && self.g.chance(0.8) {
            from.dtype = x.dtype();
        }
        let to = self.device_dtype(None);
        (GfSpec::Cast { from, to }, vec![x])
    }

    fn gf_pow(&mut self) -> (GfSpec, Vec<Circuit>) {
        let base = match self.pick_where(|c| c.rank() <= 4) {
            Some(c) => c,
            None => self.random_leaf(),
        };
        let drop = self.g.range(0, base.rank());
        let s: Shape = base.shape()[drop..]
            .iter()
            .map(|&d| if d != 0 && self.g.chance(0.3) { 1 } else { d })
            .collect();
        let exp = self.node_of_shape(&s, base.dtype());
        let mut children = vec![base, exp];
        self.g.shuffle(&mut children);
        (GfSpec::Pow, children)
    }

    fn gf_multinomial(&mut self) -> (GfSpec, Vec<Circuit>) {
        let probs = match self
            .pick_where(|c| c.rank() >= 1 && c.rank() <= 3 && c.dtype().is_none_or(DType::is_float))
        {
            Some(c) if self.g.chance(0.6) => c,
            _ => {
                let mut s: Shape = (0..self.g.range(0, 2)).map(|_| self.dim(true)).collect();
                s.push(self.g.range(1, 4));
                let dt = [DType::F32, DType::F64][self.g.below(2)];
                let hint = if self.g.chance(0.5) { Some(dt) } else { None };
                self.leaf_of_shape(&s, hint)
            }
        };
        let seed = match self.g.weighted(&[50, 30, 20]) {
            0 => self.scalar_of(&[]),
            1 => {
                let t = circuit_ir::Tensor::scalar(self.g.range_i64(0, 1 << 20));
                self.build(Op::Array(circuit_ir::kinds::Array::from_tensor(t)), vec![])
                    .unwrap_or_else(|_| self.scalar_of(&[]))
            }
            _ => self.node_of_shape(&[], None),
        };
        let shape: Shape = (0..self.g.range(0, 2)).map(|_| self.g.range(0, 4)).collect();
        (GfSpec::Multinomial { replacement: self.g.chance(0.5), shape }, vec![probs, seed])
    }

    pub(super) fn conv(&mut self) -> Result<Circuit, IrError> {
        let n = self.g.range(1, 2);
        let batch = self.g.range(0, 2);
        let cin = self.g.range(1, 3);
        let cout = self.g.range(1, 3);
        let mut in_shape: Shape = (0..batch).map(|_| self.g.range(1, 2)).collect();
        let mut filter_shape: Shape = Shape::from_slice(&[cout]);
        let mut stride = Vec::new();
        let mut padding = Vec::new();
        for _ in 0..n {
            let k = self.g.range(1, 3);
            let lo = self.g.range(0, 1);
            let hi = self.g.range(0, 1);
            let s = self.g.range(1, 2);
            let min_in = (k + 1).saturating_sub(lo + hi).max(1);
            in_shape.push(self.g.range(min_in, min_in + 3));
            filter_shape.push(k);
            stride.push(s);
            padding.push((lo, hi));
        }
        in_shape.push(cin);
        filter_shape.push(cin);
        let dtype = if self.g.chance(0.5) { Some(DType::F32) } else { None };
        let input = self.node_of_shape(&in_shape, dtype);
        let filter = self.node_of_shape(&filter_shape, input.dtype());
        self.build(Op::Conv(Conv { stride, padding }), vec![input, filter])
    }
}
