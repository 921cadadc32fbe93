//! The evaluator's value fixtures, `fixtures/eval/<case>/`: numpy inputs `in0.npy`,
//! `in1.npy`, ... and the reference `expected.npy`, made by
//! `fixtures/eval/gen_references.py`. Read by the CPU evaluator's tests and by the CUDA
//! backend's, which check the same cases.

use std::path::{Path, PathBuf};

use circuit_ir::Circuit;
use circuit_tensor::{read_npy, Tensor};

/// The folder of a case: under `CIRCUIT_FIXTURES` when set, else the repository this
/// crate was built in, else `fixtures/eval` under the current directory (a test binary
/// copied to another machine).
pub fn case_dir(case: &str) -> PathBuf {
    let root = match std::env::var_os("CIRCUIT_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => {
            let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eval");
            if built.is_dir() {
                built
            } else {
                PathBuf::from("fixtures/eval")
            }
        }
    };
    root.join(case)
}

/// The case's inputs, in order.
///
/// # Panics
/// When an input file cannot be read (a broken fixture).
#[allow(clippy::unwrap_used)]
pub fn inputs(case: &str) -> Vec<Tensor> {
    let dir = case_dir(case);
    (0..)
        .map(|k| dir.join(format!("in{k}.npy")))
        .take_while(|p| p.exists())
        .map(|p| read_npy(&p).unwrap())
        .collect()
}

/// The case's inputs as Arrays named `in0`, `in1`, ...
///
/// # Panics
/// As [`inputs`].
#[allow(clippy::unwrap_used)]
pub fn arrays(case: &str) -> Vec<Circuit> {
    inputs(case)
        .into_iter()
        .enumerate()
        .map(|(k, t)| Circuit::array(t, Some(&format!("in{k}"))).unwrap())
        .collect()
}

/// The case's reference output.
///
/// # Panics
/// When `expected.npy` cannot be read.
#[allow(clippy::unwrap_used)]
pub fn expected(case: &str) -> Tensor {
    read_npy(&case_dir(case).join("expected.npy")).unwrap()
}
