//! Errors are typed and name the node: index values out of range (on the host for Index,
//! on the device for gen_index and the fused loss), unsupported dtypes.

use circuit_eval::{compile, EvalError, EvalSettings};
use circuit_ir::kinds::{GfSpec, SimpleFn};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};

use crate::{arr, backend, ints, open, randn};

#[test]
fn out_of_range_indices_are_typed_errors() {
    let t = "out_of_range_indices_are_typed_errors";
    if backend(t).is_none() {
        return;
    }
    // A backend of its own: the error word is per backend and other tests share one.
    let gpu = open().unwrap();
    let x = randn(&[2, 3], 1, DType::F32, "x");
    let spec = GfSpec::GenIndex {
        index_dim: -1,
        batch_x: true,
        batch_index: true,
        check_index_ints: true,
    };
    let c = Circuit::general_function(spec.clone(), vec![x.clone(), ints(&[2], &[1, 3], "idx")])
        .unwrap();
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    match plan.run(&gpu) {
        Err(EvalError::IndexOutOfRange { value, size, .. }) => assert_eq!((value, size), (3, 3)),
        other => panic!("expected IndexOutOfRange, got {other:?}"),
    }
    // The error was consumed: a good plan on the same backend runs.
    let ok = Circuit::general_function(spec, vec![x.clone(), ints(&[2], &[1, -3], "ok")]).unwrap();
    assert!(compile(&ok, &EvalSettings::default()).unwrap().run(&gpu).is_ok());
    // (An out-of-range constant index tensor is rejected when the circuit is built.)
    // The fused loss.
    let resid = randn(&[2, 4], 9, DType::F32, "resid");
    let unembed = randn(&[5, 4], 10, DType::F32, "unembed");
    let logits = Circuit::einsum("sm,vm->sv", [resid, unembed]).unwrap();
    let pick = GfSpec::GenIndex {
        index_dim: -1,
        batch_x: true,
        batch_index: true,
        check_index_ints: true,
    };
    let loss = Circuit::general_function(
        pick,
        vec![logits.apply(SimpleFn::LogSoftmax).unwrap(), ints(&[2], &[0, -6], "targets")],
    )
    .unwrap();
    match compile(&loss, &EvalSettings::default()).unwrap().run(&gpu) {
        Err(EvalError::IndexOutOfRange { value, size, .. }) => assert_eq!((value, size), (-6, 5)),
        other => panic!("expected IndexOutOfRange, got {other:?}"),
    }
}

#[test]
fn unsupported_dtypes_are_typed_errors() {
    let t = "unsupported_dtypes_are_typed_errors";
    let Some(gpu) = backend(t) else { return };
    let c = arr(Tensor::from_vec(&[2], vec![1i32, 2]).unwrap(), "ints32");
    let plan = compile(&c, &EvalSettings::default()).unwrap();
    match plan.run(gpu) {
        Err(EvalError::UnsupportedDType { backend, .. }) => assert_eq!(backend, "cuda"),
        other => panic!("expected UnsupportedDType, got {other:?}"),
    }
}

#[test]
fn no_device_is_an_error_not_a_panic() {
    // Ordinal far beyond any machine: an error on every machine, GPU or not.
    match circuit_cuda::CudaBackend::new(4096) {
        Err(circuit_cuda::CudaError::NoDevice { .. }) => {}
        Err(other) => panic!("expected NoDevice, got {other}"),
        Ok(_) => panic!("device 4096 exists?"),
    }
}
