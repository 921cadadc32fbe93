//! The CUDA backend against the CPU backend: the same circuits, compiled once, run on
//! both, compared elementwise.
//!
//! Where the tests run: on a GPU when `CudaBackend::new(0)` opens one; else on the CPU
//! emulator of the generated kernels (needs g++; the first run compiles the kernels,
//! cached under `CIRCUIT_CUDA_EMU_CACHE`), so that CI checks every kernel's logic
//! without a GPU, with one line saying so; with `CIRCUIT_CUDA_EMULATE=0` or without a
//! C++ compiler each test prints `SKIPPED <test>: no CUDA device (<reason>)` and passes.
//!
//! Tolerances (|gpu - cpu| <= atol + rtol |cpu|): data movement, int64 and Fill are
//! exact; sums and GEMMs rtol 1e-5 / atol 1e-5 in float32 (different summation order:
//! cuBLAS tiles, tree reductions), 1e-12 in float64; transcendental functions rtol 2e-5
//! / atol 2e-6 (CUDA's libm differs from glibc's by a few ulp); softmax-like rows 1e-5.
//! Set `CIRCUIT_CUDA_SOURCES_DIR` to write every kernel source the run compiled there
//! (the NVRTC check then compiles them too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod fixtures;
mod kinds;
mod model;

use std::io::Write as _;
use std::sync::OnceLock;

use circuit_cuda::CudaBackend;
use circuit_eval::{compile, evaluate_with, EvalSettings};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Tensor};

/// Why there is no device, or the shared backend.
fn shared() -> &'static Result<CudaBackend, String> {
    static B: OnceLock<Result<CudaBackend, String>> = OnceLock::new();
    B.get_or_init(open)
}

/// A new backend: the GPU, else the emulator unless `CIRCUIT_CUDA_EMULATE=0`.
pub fn open() -> Result<CudaBackend, String> {
    match CudaBackend::new(0) {
        Ok(b) => Ok(b),
        Err(e) if std::env::var_os("CIRCUIT_CUDA_EMULATE").is_some_and(|v| v == "0") => {
            Err(format!("{e}; CIRCUIT_CUDA_EMULATE=0"))
        }
        Err(e) => match CudaBackend::emulated() {
            Ok(b) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "no CUDA device ({e}): the CUDA backend tests run on the CPU emulator of its kernels"
                );
                Ok(b)
            }
            Err(e2) => Err(format!("{e}; emulator: {e2}")),
        },
    }
}

/// The shared backend, or `None` after printing a SKIPPED line.
pub fn backend(test: &str) -> Option<&'static CudaBackend> {
    match shared() {
        Ok(b) => Some(b),
        Err(reason) => {
            // The real stderr: libtest captures the print macros of passing tests.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no CUDA device ({reason})");
            None
        }
    }
}

/// Writes the compiled kernel sources to `CIRCUIT_CUDA_SOURCES_DIR`, if set.
pub fn dump_sources(b: &CudaBackend) {
    let Some(dir) = std::env::var_os("CIRCUIT_CUDA_SOURCES_DIR") else { return };
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    for s in b.compiled_sources() {
        let _ = std::fs::write(dir.join(format!("{}.cu", s.name)), &s.source);
    }
}

/// Asserts shapes and dtypes equal and `|a - e| <= atol + rtol |e|` (NaN matches NaN).
pub fn assert_close(what: &str, actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shapes differ");
    assert_eq!(actual.dtype(), expected.dtype(), "{what}: dtypes differ");
    let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok = (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()) || x == y;
        assert!(ok, "{what}: element {i}: cuda {x}, cpu {y} (rtol {rtol}, atol {atol})");
    }
}

/// Evaluates `c` on the CPU and on the CUDA backend (default settings, and without the
/// simplification passes so that more kernel kinds appear) and compares.
pub fn check(gpu: &CudaBackend, test: &str, c: &Circuit, rtol: f64, atol: f64) {
    let unsimplified = EvalSettings { simplify: false, ..EvalSettings::default() };
    for settings in [EvalSettings::default(), unsimplified] {
        let cpu = evaluate_with(c, &settings).unwrap_or_else(|e| panic!("{test}: cpu: {e}"));
        let plan = compile(c, &settings).unwrap();
        let got = plan.run(gpu).unwrap_or_else(|e| panic!("{test}: cuda: {e}\n{}", plan.explain()));
        let (rtol, atol) = if got.dtype() == DType::F64 {
            (rtol.min(1e-12), atol.min(1e-12))
        } else {
            (rtol, atol)
        };
        assert_close(test, &got, &cpu, rtol, atol);
    }
    dump_sources(gpu);
}

/// Linear-op tolerance in float32.
pub const LIN: (f64, f64) = (1e-5, 1e-5);

/// An Array circuit.
pub fn arr(t: Tensor, name: &str) -> Circuit {
    Circuit::array(t, Some(name)).unwrap()
}

/// Seeded normal values.
pub fn randn(shape: &[usize], seed: u64, dtype: DType, name: &str) -> Circuit {
    arr(Tensor::randn(shape, dtype, seed).unwrap(), name)
}

/// An int64 array.
pub fn ints(shape: &[usize], v: &[i64], name: &str) -> Circuit {
    arr(Tensor::from_vec(shape, v.to_vec()).unwrap(), name)
}
