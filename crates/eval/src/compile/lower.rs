//! Lowering: one pass over the (simplified) circuit, children first, turning each node
//! into kernel steps over numbered buffers. Each distinct node (by hash) is lowered once,
//! so shared sub-circuits are computed once. Identity nodes (Tag, SetSymbolicShape,
//! one-child Cumulant) reuse their child's buffer; Scalars become Fill steps only where
//! a kernel needs them as a buffer (Einsums fold them into a factor instead).

use std::collections::{HashMap, HashSet};

use circuit_ir::kinds::{GfSpec, SimpleFn, TensorAxisIndex};
use circuit_ir::{Circuit, Kind, NodeHash, Op};
use circuit_tensor::DType;

use crate::kernel::{BufId, Kernel, Step};
use crate::{EvalError, EvalSettings, Plan, Result};

/// Lowering state: the steps so far and where each node's value lives.
pub(crate) struct Lowerer<'a> {
    pub(crate) settings: &'a EvalSettings,
    pub(crate) steps: Vec<Step>,
    dtypes: HashMap<NodeHash, DType>,
    bufs: HashMap<NodeHash, BufId>,
    fills: HashMap<(NodeHash, DType), BufId>,
    casts: HashMap<(BufId, DType), BufId>,
    buf_dtype: Vec<DType>,
    next_buf: BufId,
}

/// Lowers `c` into a plan named after `root`.
pub(crate) fn lower(c: &Circuit, settings: &EvalSettings, root: &str) -> Result<Plan> {
    let dtypes = super::dtype::resolve(c, settings.default_dtype);
    let mut lw = Lowerer {
        settings,
        steps: Vec::new(),
        dtypes,
        bufs: HashMap::new(),
        fills: HashMap::new(),
        casts: HashMap::new(),
        buf_dtype: Vec::new(),
        next_buf: 0,
    };
    let needed = needed_nodes(c);
    for node in c.toposort() {
        if needed.contains(&node.hash()) && node.kind() != Kind::Scalar {
            lw.lower_node(&node)?;
        }
    }
    let dtype = lw.dtype_of(c);
    let out = lw.value(c, dtype)?;
    let steps = if settings.fuse { super::fuse::fuse(lw.steps, out) } else { lw.steps };
    Ok(Plan::new(steps, out, root.to_string()))
}

/// Nodes whose values are read, starting from the root (the children of a Cumulant of
/// several constants and the input of `last_dim_size` are not).
fn needed_nodes(root: &Circuit) -> HashSet<NodeHash> {
    let mut seen: HashSet<NodeHash> = HashSet::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        if !seen.insert(node.hash()) {
            continue;
        }
        let skip_children = match node.op() {
            Op::Cumulant => node.children().len() >= 2,
            Op::GeneralFunction(gf) => matches!(gf.spec, GfSpec::Simple(SimpleFn::LastDimSize)),
            _ => false,
        };
        if !skip_children {
            stack.extend(node.children().iter().cloned());
        }
    }
    seen
}

fn not_evaluable(node: &Circuit) -> EvalError {
    EvalError::NotEvaluable {
        node: node.node_ref(),
        culprit: node.node_ref(),
        reason: super::culprit_reason(node),
    }
}

impl Lowerer<'_> {
    /// Appends a step and returns its output buffer.
    pub(crate) fn emit(
        &mut self,
        node: &Circuit,
        kernel: Kernel,
        inputs: Vec<BufId>,
        shape: Vec<usize>,
        dtype: DType,
        flops: u128,
    ) -> BufId {
        let output = self.next_buf;
        self.next_buf += 1;
        self.buf_dtype.push(dtype);
        self.steps.push(Step {
            kernel,
            inputs,
            output,
            shape,
            dtype,
            node: node.node_ref(),
            flops,
        });
        output
    }

    /// The dtype `node` is computed in.
    pub(crate) fn dtype_of(&self, node: &Circuit) -> DType {
        self.dtypes
            .get(&node.hash())
            .copied()
            .or(node.dtype())
            .unwrap_or(self.settings.default_dtype)
    }

    /// The buffer holding `node`'s value in `dtype` (adding a Fill for a Scalar or a
    /// Cast where the dtypes differ).
    pub(crate) fn value(&mut self, node: &Circuit, dtype: DType) -> Result<BufId> {
        if let Op::Scalar(s) = node.op() {
            if let Some(&b) = self.fills.get(&(node.hash(), dtype)) {
                return Ok(b);
            }
            let b = self.emit(
                node,
                Kernel::Fill { value: s.value },
                vec![],
                node.shape().to_vec(),
                dtype,
                0,
            );
            self.fills.insert((node.hash(), dtype), b);
            return Ok(b);
        }
        let b = *self.bufs.get(&node.hash()).ok_or_else(|| {
            EvalError::internal(&node.node_ref(), "child lowered after its parent")
        })?;
        let have = self.buf_dtype.get(b).copied().unwrap_or(dtype);
        if have == dtype {
            return Ok(b);
        }
        if let Some(&c) = self.casts.get(&(b, dtype)) {
            return Ok(c);
        }
        let numel = node.numel();
        let c = self.emit(node, Kernel::Cast, vec![b], node.shape().to_vec(), dtype, numel);
        self.casts.insert((b, dtype), c);
        Ok(c)
    }

    fn children_values(&mut self, node: &Circuit, dtype: DType) -> Result<Vec<BufId>> {
        node.children().iter().map(|c| self.value(c, dtype)).collect()
    }

    fn alias(&mut self, node: &Circuit, child: &Circuit, dtype: DType) -> Result<()> {
        let b = self.value(child, dtype)?;
        self.bufs.insert(node.hash(), b);
        Ok(())
    }

    fn simple(&mut self, node: &Circuit, kernel: Kernel, inputs: Vec<BufId>, dtype: DType) {
        let flops = node.numel().saturating_mul(inputs.len().max(1) as u128);
        let b = self.emit(node, kernel, inputs, node.shape().to_vec(), dtype, flops);
        self.bufs.insert(node.hash(), b);
    }

    fn fill(&mut self, node: &Circuit, value: f64, dtype: DType) {
        let b = self.emit(node, Kernel::Fill { value }, vec![], node.shape().to_vec(), dtype, 0);
        self.bufs.insert(node.hash(), b);
    }

    #[allow(clippy::too_many_lines)] // one arm per node kind
    fn lower_node(&mut self, node: &Circuit) -> Result<()> {
        let dtype = self.dtype_of(node);
        let shape: Vec<usize> = node.shape().to_vec();
        match node.op() {
            Op::Array(a) => {
                let t = a.tensor().map_err(|e| EvalError::TensorLoad {
                    node: node.node_ref(),
                    source: Box::new(e),
                })?;
                let b = self.emit(node, Kernel::Constant(t), vec![], shape, a.dtype(), 0);
                self.bufs.insert(node.hash(), b);
            }
            Op::Scalar(_) => {}
            Op::Einsum(e) => {
                let b = super::einsum::lower(self, node, e, dtype)?;
                self.bufs.insert(node.hash(), b);
            }
            Op::Add => {
                if let [child] = node.children() {
                    if child.shape() == node.shape() {
                        return self.alias(node, child, dtype);
                    }
                }
                if node.children().is_empty() {
                    self.fill(node, 0.0, dtype);
                } else {
                    let inputs = self.children_values(node, dtype)?;
                    self.simple(node, Kernel::Add, inputs, dtype);
                }
            }
            Op::Rearrange(r) => {
                let child = &node.children()[0];
                let int_sizes = r
                    .spec
                    .conform(child.shape())
                    .map_err(EvalError::ir(format!("rearranging {}", node.node_ref())))?;
                let kernel = Kernel::Rearrange {
                    int_sizes,
                    input: r.spec.input_ints.iter().map(|g| g.to_vec()).collect(),
                    output: r.spec.output_ints.iter().map(|g| g.to_vec()).collect(),
                };
                let input = self.value(child, dtype)?;
                let b = self.emit(node, kernel, vec![input], shape, dtype, 0);
                self.bufs.insert(node.hash(), b);
            }
            Op::Index(i) => {
                let child = &node.children()[0];
                if i.index.iter().all(TensorAxisIndex::is_identity) {
                    return self.alias(node, child, dtype);
                }
                let input = self.value(child, dtype)?;
                let b =
                    self.emit(node, Kernel::Index(i.index.clone()), vec![input], shape, dtype, 0);
                self.bufs.insert(node.hash(), b);
            }
            Op::Scatter(s) => {
                let starts = s
                    .index
                    .iter()
                    .map(|e| match e {
                        TensorAxisIndex::Slice(sl) => sl.start.unwrap_or(0).max(0) as usize,
                        _ => 0,
                    })
                    .collect();
                let input = self.value(&node.children()[0], dtype)?;
                self.simple(node, Kernel::Scatter { starts }, vec![input], dtype);
            }
            Op::Concat(c) => {
                if let [child] = node.children() {
                    return self.alias(node, child, dtype);
                }
                let inputs = self.children_values(node, dtype)?;
                self.simple(node, Kernel::Concat { axis: c.axis }, inputs, dtype);
            }
            Op::GeneralFunction(gf) => self.lower_gf(node, &gf.spec, dtype)?,
            Op::Conv(c) => {
                let inputs = self.children_values(node, dtype)?;
                let filter = node.children()[1].shape();
                let per_out: u128 = filter[1..].iter().map(|&d| d as u128).product();
                let flops = node.numel().saturating_mul(2 * per_out);
                let kernel = Kernel::Conv { stride: c.stride.clone(), padding: c.padding.clone() };
                let b = self.emit(node, kernel, inputs, shape, dtype, flops);
                self.bufs.insert(node.hash(), b);
            }
            Op::Tag(_) | Op::SetSymbolicShape(_) => {
                if !node.is_evaluable() {
                    return Err(not_evaluable(node));
                }
                self.alias(node, &node.children()[0], dtype)?;
            }
            Op::Cumulant => match node.children() {
                [] => self.fill(node, 1.0, dtype),
                [child] => self.alias(node, child, dtype)?,
                _ => self.fill(node, 0.0, dtype),
            },
            Op::Module(_) => {
                return Err(EvalError::internal(&node.node_ref(), "module left after substitution"))
            }
            Op::Symbol(_) | Op::DiscreteVar | Op::StoredCumulantVar(_) => {
                return Err(not_evaluable(node))
            }
        }
        Ok(())
    }

    fn lower_gf(&mut self, node: &Circuit, spec: &GfSpec, dtype: DType) -> Result<()> {
        let children = node.children();
        match spec {
            GfSpec::Simple(SimpleFn::LastDimSize) => {
                let last = children[0].shape().last().copied().unwrap_or(1);
                self.fill(node, last as f64, dtype);
                return Ok(());
            }
            GfSpec::Cast { .. } => {
                let from = self.dtype_of(&children[0]);
                let input = self.value(&children[0], from)?;
                if from == dtype {
                    self.bufs.insert(node.hash(), input);
                } else {
                    self.simple(node, Kernel::Cast, vec![input], dtype);
                }
                return Ok(());
            }
            _ => {}
        }
        let inputs = match spec {
            GfSpec::GenIndex { .. } | GfSpec::ExplicitIndex { .. } => {
                vec![self.value(&children[0], dtype)?, self.value(&children[1], DType::I64)?]
            }
            GfSpec::Multinomial { .. } => {
                let probs_dtype = self.dtype_of(&children[0]);
                vec![self.value(&children[0], probs_dtype)?, self.value(&children[1], DType::I64)?]
            }
            _ => self.children_values(node, dtype)?,
        };
        self.simple(node, Kernel::Function(spec.clone()), inputs, dtype);
        Ok(())
    }
}
