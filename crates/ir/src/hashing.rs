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
/// than many small `update`s for the short inputs nodes have. The buffer is borrowed
/// (a stack array for the common small node); writes past its end are only counted, and
/// the caller retries with a buffer of the counted size.
struct H<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl H<'_> {
    #[inline(always)]
    fn update(&mut self, b: &[u8]) {
        let end = self.len + b.len();
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(b);
        }
        self.len = end;
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
        self.update(&[v]);
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
    // Enough for a node with up to 5 children and a short name (a larger one counts its
    // bytes here and is hashed from an exact-size buffer).
    let mut small = [0u8; 256];
    let len = write_node(&mut small, op, children, name, flags, named_axes);
    if len <= small.len() {
        return NodeHash(*blake3::hash(&small[..len]).as_bytes());
    }
    let mut big = vec![0u8; len];
    write_node(&mut big, op, children, name, flags, named_axes);
    NodeHash(*blake3::hash(&big).as_bytes())
}

/// Appends the hashed bytes of a node to `out` (for [`crate::hash_batch`]).
pub(crate) fn serialize_node(c: &Circuit, out: &mut Vec<u8>) {
    const GUESS: usize = 256;
    let start = out.len();
    out.resize(start + GUESS, 0);
    let n = &c.0;
    let (op, children, name, flags) = (&n.op, &n.children, n.name.as_deref(), n.info.flags);
    let len = write_node(&mut out[start..], op, children, name, flags, c.named_axes());
    if len > GUESS {
        out.resize(start + len, 0);
        write_node(&mut out[start..], op, children, name, flags, c.named_axes());
    }
    out.truncate(start + len);
}

/// Writes the hashed bytes of a node into `buf` (as far as they fit) and returns their
/// length.
fn write_node(
    buf: &mut [u8],
    op: &Op,
    children: &[Circuit],
    name: Option<&str>,
    flags: Flags,
    named_axes: &NamedAxes,
) -> usize {
    let mut h = H { buf, len: 0 };
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
    h.len
}
