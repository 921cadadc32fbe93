//! Kernel dispatch: one `match` over the plan's kernels, mirroring the CPU backend's
//! `cpu/exec.rs` (same semantics, same errors), each arm lowered to views, generated
//! kernels and cuBLAS calls.

mod elementwise;
mod gemm;
mod index;
mod reduce;
mod rows;

use circuit_eval::{EvalError, Kernel, Step};
use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_tensor::{DType, Tensor};

use crate::backend::{ExecError, Inner, UploadError};
use crate::buffer::CudaBuffer;
use crate::codegen::map::MapOp;
use crate::codegen::program::ProgInstr;
use crate::codegen::Ty;

pub(crate) use elementwise::{map, materialize};

/// Result of a step.
pub(crate) type R<T> = Result<T, ExecError>;

/// The step's element type.
fn ty_of(step: &Step) -> R<Ty> {
    Ty::from_dtype(step.dtype).ok_or_else(|| unsupported(step, step.dtype))
}

fn unsupported(step: &Step, dtype: DType) -> ExecError {
    ExecError::Eval(EvalError::UnsupportedDType {
        node: step.node.clone(),
        dtype,
        backend: "cuda".into(),
    })
}

fn mismatch(step: &Step) -> ExecError {
    ExecError::Eval(EvalError::Internal {
        node: step.node.clone(),
        msg: format!("kernel {} got inputs that do not fit its shapes", step.kernel.name()),
    })
}

/// The `i`-th input, checked to have element type `ty`.
fn input<'a>(step: &Step, inputs: &'a [CudaBuffer], i: usize, ty: Ty) -> R<&'a CudaBuffer> {
    let b = inputs.get(i).ok_or_else(|| mismatch(step))?;
    if b.ty != ty {
        return Err(ExecError::Eval(EvalError::DType {
            node: step.node.clone(),
            msg: format!(
                "kernel {} expected {} input, got {}",
                step.kernel.name(),
                ty.dtype(),
                b.ty.dtype()
            ),
        }));
    }
    Ok(b)
}

/// Executes one step.
pub(crate) fn execute(cx: &Inner, step: &Step, inputs: Vec<CudaBuffer>) -> R<CudaBuffer> {
    let shape = step.shape.as_slice();
    match &step.kernel {
        Kernel::Constant(t) => cx.constant(t).map_err(|e| match e {
            UploadError::DType(d) => unsupported(step, d),
            UploadError::Cuda(c) => ExecError::Cuda(c),
        }),
        Kernel::Fill { value } => Ok(cx.fill(ty_of(step)?, *value, shape)?),
        Kernel::Reduce { input: li, output: lo, alpha } => {
            let x = input(step, &inputs, 0, ty_of(step)?)?;
            reduce::reduce(cx, x, li, lo, *alpha)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Contract { a, b, out, alpha } => {
            let ty = ty_of(step)?;
            let x = input(step, &inputs, 0, ty)?;
            let y = input(step, &inputs, 1, ty)?;
            gemm::contract(cx, x, a, y, b, out, *alpha)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Expand { input: li, output: lo } => {
            let x = input(step, &inputs, 0, ty_of(step)?)?;
            index::expand(cx, x, li, lo, shape)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Add => {
            let ty = ty_of(step)?;
            for i in 0..inputs.len() {
                input(step, &inputs, i, ty)?;
            }
            elementwise::add(cx, ty, &inputs, shape)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Rearrange { int_sizes, input: gi, output: go } => {
            let x = input(step, &inputs, 0, ty_of(step)?)?;
            index::rearrange(cx, x, int_sizes, gi, go)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Index(entries) => {
            let x = input(step, &inputs, 0, ty_of(step)?)?;
            index::index(cx, step, x, entries)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Scatter { starts } => {
            let x = input(step, &inputs, 0, ty_of(step)?)?;
            index::scatter(cx, x, starts, shape)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Concat { axis } => {
            let ty = ty_of(step)?;
            let xs: Vec<&CudaBuffer> =
                (0..inputs.len()).map(|i| input(step, &inputs, i, ty)).collect::<R<_>>()?;
            index::concat(cx, &xs, *axis, shape)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Conv { stride, padding } => {
            let ty = ty_of(step)?;
            let x = input(step, &inputs, 0, ty)?;
            let f = input(step, &inputs, 1, ty)?;
            gemm::conv(cx, x, f, stride, padding, shape)?.ok_or_else(|| mismatch(step))
        }
        Kernel::Cast => cast(cx, step, &inputs),
        Kernel::ContractLogSoftmaxPick { a, b, logits, alpha } => {
            if step.dtype != DType::F32 {
                return Err(unsupported(step, step.dtype));
            }
            let x = input(step, &inputs, 0, Ty::F32)?;
            let y = input(step, &inputs, 1, Ty::F32)?;
            let t = input(step, &inputs, 2, Ty::I64)?;
            rows::contract_log_softmax_pick(cx, step, x, a, y, b, logits, *alpha, t)?
                .ok_or_else(|| mismatch(step))
        }
        Kernel::Function(spec) => function(cx, step, spec, &inputs),
        Kernel::Map(prog) => {
            let ty = ty_of(step)?;
            if !ty.is_float() {
                return Err(unsupported(step, step.dtype));
            }
            if !circuit_eval::is_valid_program(prog, inputs.len()) {
                return Err(mismatch(step));
            }
            let xs: Vec<&CudaBuffer> =
                (0..inputs.len()).map(|i| input(step, &inputs, i, ty)).collect::<R<_>>()?;
            let prog: Vec<ProgInstr> = prog.iter().map(|&i| ProgInstr::from(i)).collect();
            elementwise::program(cx, ty, &prog, &xs, shape)?.ok_or_else(|| mismatch(step))
        }
    }
}

fn cast(cx: &Inner, step: &Step, inputs: &[CudaBuffer]) -> R<CudaBuffer> {
    let to = ty_of(step)?;
    let x = inputs.first().ok_or_else(|| mismatch(step))?;
    if x.ty == to {
        return Ok(x.clone());
    }
    Ok(map(cx, MapOp::Convert, to, &x.shape.clone(), &[x], None, 1.0)?)
}

fn function(cx: &Inner, step: &Step, spec: &GfSpec, inputs: &[CudaBuffer]) -> R<CudaBuffer> {
    let shape = step.shape.as_slice();
    let ty = ty_of(step)?;
    match spec {
        GfSpec::Simple(SimpleFn::LastDimSize) => {
            let last = inputs.first().and_then(|b| b.shape.last().copied()).unwrap_or(1);
            Ok(cx.fill(ty, last as f64, shape)?)
        }
        GfSpec::Simple(f) if f.is_elementwise() => {
            let x = input(step, inputs, 0, ty)?;
            Ok(map(cx, MapOp::Simple(*f), ty, &x.shape.clone(), &[x], None, 1.0)?)
        }
        GfSpec::Simple(f) => {
            let x = input(step, inputs, 0, ty)?;
            rows::row_fn(cx, x, *f)?.ok_or_else(|| mismatch(step))
        }
        GfSpec::Pow => {
            let b = input(step, inputs, 0, ty)?;
            let e = inputs.get(1).ok_or_else(|| mismatch(step))?;
            if e.ty != ty {
                return Err(ExecError::Eval(EvalError::DType {
                    node: step.node.clone(),
                    msg: "pow inputs differ in dtype".into(),
                }));
            }
            let (b, e) = match (b.broadcast_to(shape), e.broadcast_to(shape)) {
                (Some(b), Some(e)) => (b, e),
                _ => return Err(mismatch(step)),
            };
            Ok(map(cx, MapOp::Pow, ty, shape, &[&b, &e], None, 1.0)?)
        }
        GfSpec::Cast { .. } => cast(cx, step, inputs),
        GfSpec::GenIndex { .. } | GfSpec::ExplicitIndex { .. } => {
            let x = input(step, inputs, 0, ty)?;
            let idx = input(step, inputs, 1, Ty::I64)?;
            index::gen_index(cx, step, spec, x, idx, shape)?.ok_or_else(|| mismatch(step))
        }
        GfSpec::Multinomial { replacement, shape: sample_shape } => {
            index::multinomial(cx, step, inputs, *replacement, sample_shape, shape)
        }
    }
}

/// Copies a buffer to the host (materializing views first) and reports any index error
/// a kernel recorded since the last check.
pub(crate) fn download(cx: &Inner, b: &CudaBuffer) -> R<Tensor> {
    let c = if b.is_contiguous() { b.clone() } else { materialize(cx, b)? };
    let shape = c.shape.clone();
    let t = match c.ty {
        Ty::F32 => Tensor::from_vec(&shape, cx.download_vec::<f32>(&c)?),
        Ty::F64 => Tensor::from_vec(&shape, cx.download_vec::<f64>(&c)?),
        Ty::I64 => Tensor::from_vec(&shape, cx.download_vec::<i64>(&c)?),
    };
    cx.check_index_errors()?;
    t.map_err(|e| ExecError::Cuda(crate::error::CudaError::internal(e.to_string())))
}
