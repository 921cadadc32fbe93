//! The node content hash: blake3 over the kind tag, the payload, the children's hashes,
//! the name, the autoname flag and the named axes. Every variable-length part is length
//! prefixed so distinct nodes never share a byte stream.

use crate::flags::Flags;
use crate::kinds::TensorAxisIndex;
use crate::named_axes::NamedAxes;
use crate::node::NodeHash;
use crate::ops::Op;
use crate::Circuit;

/// Collects the bytes to hash in one buffer: one `blake3::hash` call is much cheaper
/// than many small `update`s for the short inputs nodes have.
struct H(smallvec::SmallVec<[u8; 512]>);

impl H {
    fn update(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.update(b);
    }
    fn u64(&mut self, v: u64) {
        self.update(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.update(&v.to_le_bytes());
    }
    fn byte(&mut self, v: u8) {
        self.0.push(v);
    }
    fn dims(&mut self, dims: &[usize]) {
        self.u64(dims.len() as u64);
        for &d in dims {
            self.u64(d as u64);
        }
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.byte(1);
                self.i64(x);
            }
            None => self.byte(0),
        }
    }
    fn index(&mut self, index: &[TensorAxisIndex]) {
        self.u64(index.len() as u64);
        for e in index {
            match e {
                TensorAxisIndex::Int(i) => {
                    self.byte(0);
                    self.i64(*i);
                }
                TensorAxisIndex::Slice(s) => {
                    self.byte(1);
                    self.opt_i64(s.start);
                    self.opt_i64(s.stop);
                }
                TensorAxisIndex::Tensor(t) => {
                    self.byte(2);
                    self.update(&t.tensor().hash().0);
                }
            }
        }
    }
}

#[allow(clippy::too_many_lines)] // one arm per kind
fn payload(h: &mut H, op: &Op) {
    match op {
        Op::Array(a) => {
            h.update(&a.tensor_hash().0);
        }
        Op::Scalar(s) => {
            h.u64(s.value.to_bits());
            h.dims(&s.shape);
        }
        Op::Symbol(s) => {
            h.update(s.uuid.as_bytes());
            h.dims(&s.shape);
        }
        Op::Einsum(e) => {
            h.u64(e.in_axes.len() as u64);
            for axes in &e.in_axes {
                h.bytes(axes);
            }
            h.bytes(&e.out_axes);
        }
        Op::Add | Op::DiscreteVar | Op::Cumulant => {}
        Op::Rearrange(r) => {
            for side in [&r.spec.input_ints, &r.spec.output_ints] {
                h.u64(side.len() as u64);
                for g in side {
                    h.bytes(g);
                }
            }
            h.u64(r.spec.int_sizes.len() as u64);
            for s in &r.spec.int_sizes {
                h.opt_i64(s.map(|x| x as i64));
            }
        }
        Op::Index(i) => h.index(&i.index),
        Op::Scatter(s) => {
            h.index(&s.index);
            h.dims(&s.shape);
        }
        Op::Concat(c) => h.u64(c.axis as u64),
        Op::GeneralFunction(g) => h.bytes(g.spec.name().as_bytes()),
        Op::Conv(c) => {
            h.dims(&c.stride);
            h.u64(c.padding.len() as u64);
            for &(a, b) in &c.padding {
                h.u64(a as u64);
                h.u64(b as u64);
            }
        }
        Op::Module(m) => {
            h.u64(m.arg_specs.len() as u64);
            for a in &m.arg_specs {
                h.byte(u8::from(a.batchable));
                h.byte(u8::from(a.expandable));
                h.byte(u8::from(a.ban_non_symbolic_size_expand));
                h.update(&a.symbol.hash().0);
            }
        }
        Op::SetSymbolicShape(s) => h.dims(&s.shape),
        Op::Tag(t) => {
            h.update(t.uuid.as_bytes());
        }
        Op::StoredCumulantVar(v) => {
            h.dims(&v.orders);
            h.update(v.uuid.as_bytes());
        }
    }
}

pub(crate) fn node_hash(
    op: &Op,
    children: &[Circuit],
    name: Option<&str>,
    flags: Flags,
    named_axes: &NamedAxes,
) -> NodeHash {
    let mut h = H(smallvec::SmallVec::new());
    h.update(&op.kind().type_tag());
    payload(&mut h, op);
    h.u64(children.len() as u64);
    for c in children {
        h.update(&c.hash().0);
    }
    match name {
        Some(n) => {
            h.byte(1);
            h.bytes(n.as_bytes());
        }
        None => h.byte(0),
    }
    h.byte(u8::from(flags.use_autoname()));
    h.u64(named_axes.len() as u64);
    for (axis, n) in named_axes {
        h.byte(*axis);
        h.bytes(n.as_bytes());
    }
    NodeHash(*blake3::hash(&h.0).as_bytes())
}
