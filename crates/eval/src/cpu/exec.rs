//! Kernel dispatch: one `match` over kernels, each arm monomorphized per dtype by
//! `for_dtype!` (the dtype is decided once per step, never per element).

use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_tensor::DType;

use super::buffer::{BufElem, CpuBuffer, Strided};
use super::index::OutOfRange;
use super::{conv, einsum, elementwise, gemm, gf, index, logsumexp, rearrange, CpuBackend};
use crate::gather::gather_map;
use crate::kernel::{Kernel, MapInstr, Step};
use crate::{EvalError, Result};

/// Runs `$body` with `$T` the element type of `$dtype` (float32, float64 or int64).
macro_rules! for_dtype {
    ($dtype:expr, $step:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            DType::I64 => {
                type $T = i64;
                $body
            }
            other => return Err(unsupported($step, other)),
        }
    };
}

fn unsupported(step: &Step, dtype: DType) -> EvalError {
    EvalError::UnsupportedDType { node: step.node.clone(), dtype, backend: "cpu".into() }
}

fn mismatch(step: &Step) -> EvalError {
    EvalError::internal(
        &step.node,
        format!("kernel {} got inputs that do not fit its shapes", step.kernel.name()),
    )
}

fn out_of_range(step: &Step, (value, size): OutOfRange) -> EvalError {
    EvalError::IndexOutOfRange { node: step.node.clone(), value, size }
}

/// The `i`-th input as a typed tensor.
fn input<'a, T: BufElem>(step: &Step, inputs: &'a [CpuBuffer], i: usize) -> Result<&'a Strided<T>> {
    let b = inputs.get(i).ok_or_else(|| mismatch(step))?;
    T::get(b).ok_or_else(|| EvalError::DType {
        node: step.node.clone(),
        msg: format!(
            "kernel {} expected {} input, got {}",
            step.kernel.name(),
            T::DTYPE,
            b.dtype()
        ),
    })
}

/// Takes the `i`-th input by value (so in-place kernels may reuse it).
fn take<T: BufElem>(step: &Step, inputs: &mut [CpuBuffer], i: usize) -> Result<Strided<T>> {
    let b = inputs.get_mut(i).ok_or_else(|| mismatch(step))?;
    let placeholder = CpuBuffer::I64(Strided::fill(&[], 0));
    let owned = std::mem::replace(b, placeholder);
    let dtype = owned.dtype();
    T::take(owned).ok_or_else(|| EvalError::DType {
        node: step.node.clone(),
        msg: format!("kernel {} expected {} input, got {dtype}", step.kernel.name(), T::DTYPE),
    })
}

fn wrap<T: BufElem>(s: Option<Strided<T>>, step: &Step) -> Result<CpuBuffer> {
    s.map(T::wrap).ok_or_else(|| mismatch(step))
}

/// Executes one step.
/// Inputs left in `inputs` afterwards are the caller's to release.
pub(crate) fn execute(step: &Step, inputs: &mut [CpuBuffer]) -> Result<CpuBuffer> {
    let shape = step.shape.as_slice();
    match &step.kernel {
        Kernel::Constant(t) => CpuBackend::upload(t, &step.node),
        Kernel::Fill { value } => {
            for_dtype!(step.dtype, step, T => Ok(T::wrap(Strided::fill(shape, <T as super::buffer::Elem>::from_f64(*value)))))
        }
        Kernel::Reduce { input: li, output: lo, alpha } => for_dtype!(step.dtype, step, T => {
            let x = input::<T>(step, inputs, 0)?;
            let a = <T as super::buffer::Elem>::from_f64(*alpha);
            wrap(einsum::reduce(x, li, lo, a, *alpha == 1.0), step)
        }),
        Kernel::Contract { a, b, out, alpha } => for_dtype!(step.dtype, step, T => {
            let al = <T as super::buffer::Elem>::from_f64(*alpha);
            // An elementwise product into an operand's own memory, when possible.
            for (i, (la, lb)) in [(a, b), (b, a)].into_iter().enumerate() {
                if la == out {
                    let mine = take::<T>(step, inputs, i)?;
                    let other = input::<T>(step, inputs, 1 - i)?;
                    match gemm::product_in_place(mine, la, other, lb, out, al) {
                        Ok(r) => return wrap(Some(r), step),
                        Err(back) => inputs[i] = T::wrap(back),
                    }
                }
            }
            let x = input::<T>(step, inputs, 0)?;
            let y = input::<T>(step, inputs, 1)?;
            wrap(gemm::contract(x, a, y, b, out, al), step)
        }),
        Kernel::Expand { input: li, output: lo } => for_dtype!(step.dtype, step, T => {
            wrap(einsum::expand(input::<T>(step, inputs, 0)?, li, lo, shape), step)
        }),
        Kernel::Add => for_dtype!(step.dtype, step, T => {
            let xs: Vec<Strided<T>> =
                (0..inputs.len()).map(|i| take::<T>(step, inputs, i)).collect::<Result<_>>()?;
            wrap(elementwise::add_n(xs, shape), step)
        }),
        Kernel::Rearrange { int_sizes, input: gi, output: go } => {
            for_dtype!(step.dtype, step, T => {
                wrap(rearrange::rearrange(input::<T>(step, inputs, 0)?, int_sizes, gi, go), step)
            })
        }
        Kernel::Index(entries) => for_dtype!(step.dtype, step, T => {
            let r = index::index(input::<T>(step, inputs, 0)?, entries).map_err(|e| out_of_range(step, e))?;
            wrap(r, step)
        }),
        Kernel::Scatter { starts } => for_dtype!(step.dtype, step, T => {
            wrap(index::scatter(input::<T>(step, inputs, 0)?, starts, shape), step)
        }),
        Kernel::Concat { axis } => for_dtype!(step.dtype, step, T => {
            let xs: Vec<&Strided<T>> =
                (0..inputs.len()).map(|i| input::<T>(step, inputs, i)).collect::<Result<_>>()?;
            wrap(index::concat(&xs, *axis, shape), step)
        }),
        Kernel::Conv { stride, padding } => for_dtype!(step.dtype, step, T => {
            let x = input::<T>(step, inputs, 0)?;
            let f = input::<T>(step, inputs, 1)?;
            wrap(conv::conv(x, f, stride, padding, shape), step)
        }),
        Kernel::Cast => cast(step, inputs),
        Kernel::ContractLogSoftmaxPick { a, b, logits, alpha } => {
            if step.dtype != DType::F32 {
                return Err(unsupported(step, step.dtype));
            }
            let x = input::<f32>(step, inputs, 0)?;
            let y = input::<f32>(step, inputs, 1)?;
            let t = input::<i64>(step, inputs, 2)?;
            let r = logsumexp::contract_log_softmax_pick(x, a, y, b, logits, *alpha as f32, t)
                .map_err(|e| out_of_range(step, e))?;
            wrap(r, step)
        }
        Kernel::Function(spec) => function(step, spec, inputs),
        Kernel::Map(program) => map_program(step, program, inputs),
    }
}

fn map_program(step: &Step, program: &[MapInstr], inputs: &mut [CpuBuffer]) -> Result<CpuBuffer> {
    macro_rules! run {
        ($T:ty) => {{
            let xs: Vec<Strided<$T>> =
                (0..inputs.len()).map(|i| take::<$T>(step, inputs, i)).collect::<Result<_>>()?;
            wrap(super::map::run_program(program, xs, &step.shape), step)
        }};
    }
    match step.dtype {
        DType::F32 => run!(f32),
        DType::F64 => run!(f64),
        other => Err(unsupported(step, other)),
    }
}

fn cast(step: &Step, inputs: &[CpuBuffer]) -> Result<CpuBuffer> {
    let x = inputs.first().ok_or_else(|| mismatch(step))?;
    for_dtype!(step.dtype, step, U => {
        let out: Strided<U> = match x {
            CpuBuffer::F32(s) => elementwise::cast(s),
            CpuBuffer::F64(s) => elementwise::cast(s),
            CpuBuffer::I64(s) => elementwise::cast(s),
        };
        Ok(U::wrap(out))
    })
}

/// Float work on an int64 tensor: through float64, truncated back.
fn via_f64(x: Strided<i64>, f: impl FnOnce(Strided<f64>) -> Strided<f64>) -> Strided<i64> {
    elementwise::cast(&f(elementwise::cast(&x)))
}

fn function(step: &Step, spec: &GfSpec, inputs: &mut [CpuBuffer]) -> Result<CpuBuffer> {
    let shape = step.shape.as_slice();
    match spec {
        GfSpec::Simple(SimpleFn::LastDimSize) => {
            let last = inputs.first().and_then(|b| b.shape().last().copied()).unwrap_or(1);
            for_dtype!(step.dtype, step, T => Ok(T::wrap(Strided::fill(shape, <T as super::buffer::Elem>::from_f64(last as f64)))))
        }
        GfSpec::Simple(f) => match step.dtype {
            DType::F32 => Ok(CpuBuffer::F32(gf::unary(*f, take::<f32>(step, inputs, 0)?))),
            DType::F64 => Ok(CpuBuffer::F64(gf::unary(*f, take::<f64>(step, inputs, 0)?))),
            DType::I64 => {
                let x = take::<i64>(step, inputs, 0)?;
                Ok(CpuBuffer::I64(via_f64(x, |v| gf::unary(*f, v))))
            }
            other => Err(unsupported(step, other)),
        },
        GfSpec::Pow => {
            let bcast = |i: usize, inputs: &[CpuBuffer]| -> Result<CpuBuffer> {
                let b = inputs.get(i).ok_or_else(|| mismatch(step))?;
                let r = super::buffer::with_buf!(b, s => s.broadcast_to(shape).map(BufElem::wrap));
                r.ok_or_else(|| mismatch(step))
            };
            let (b, e) = (bcast(0, inputs)?, bcast(1, inputs)?);
            match (&b, &e) {
                (CpuBuffer::F32(b), CpuBuffer::F32(e)) => Ok(CpuBuffer::F32(gf::pow(shape, b, e))),
                (CpuBuffer::F64(b), CpuBuffer::F64(e)) => Ok(CpuBuffer::F64(gf::pow(shape, b, e))),
                (CpuBuffer::I64(b), CpuBuffer::I64(e)) => {
                    Ok(CpuBuffer::I64(gf::pow_i64(shape, b, e)))
                }
                _ => Err(EvalError::DType {
                    node: step.node.clone(),
                    msg: "pow inputs differ in dtype".into(),
                }),
            }
        }
        GfSpec::Cast { .. } => cast(step, inputs),
        GfSpec::GenIndex { .. } | GfSpec::ExplicitIndex { .. } => {
            let idx = input::<i64>(step, inputs, 1)?;
            let x_rank = inputs.first().map_or(0, |b| b.shape().len());
            let (dim, map) = gather_map(spec, x_rank, idx.ndim()).ok_or_else(|| mismatch(step))?;
            for_dtype!(step.dtype, step, T => {
                let x = input::<T>(step, inputs, 0)?;
                let r = index::gather(x, idx, dim, &map, shape).map_err(|e| out_of_range(step, e))?;
                wrap(r, step)
            })
        }
        GfSpec::Multinomial { replacement, shape: sample_shape } => {
            let seed = input::<i64>(step, inputs, 1)?.to_vec().first().copied().unwrap_or(0);
            let samples: usize = sample_shape.iter().product();
            let invalid = |msg: String| EvalError::Invalid { node: step.node.clone(), msg };
            let out = match inputs.first() {
                Some(CpuBuffer::F32(p)) => gf::multinomial(p, seed, samples, *replacement),
                Some(CpuBuffer::F64(p)) => gf::multinomial(p, seed, samples, *replacement),
                Some(CpuBuffer::I64(p)) => {
                    gf::multinomial(&elementwise::cast::<i64, f64>(p), seed, samples, *replacement)
                }
                None => return Err(mismatch(step)),
            }
            .map_err(invalid)?;
            if out.len() != shape.iter().product::<usize>() {
                return Err(mismatch(step));
            }
            Ok(CpuBuffer::I64(Strided::from_vec(shape, out)))
        }
    }
}
