//! Shared helpers for the tests that run the `circ` binary.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Runs `circ args` with `stdin` piped in and `CIRCUIT_TENSOR_DIR` set to `store` if given.
pub fn circ(args: &[&str], stdin: Option<&str>, store: Option<&PathBuf>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_circ"));
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(s) = store {
        cmd.env("CIRCUIT_TENSOR_DIR", s);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        // A command that fails early may exit before reading stdin (broken pipe).
        let _ = child.stdin.take().unwrap().write_all(text.as_bytes());
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

/// A fresh, empty temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("circ-cli-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
