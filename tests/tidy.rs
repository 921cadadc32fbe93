//! House rules checked on every `cargo test` (after rust-analyzer's tidy tests): module
//! docs on every file, file-size budgets, no ignored or should-panic tests, no `todo!` or
//! `unimplemented!` in library code, and every crate listed in `docs/ARCHITECTURE.md`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

/// Non-test lines a source file may have.
const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" && !name.starts_with("target-") {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["crates", "src", "tests", "benches", "examples"] {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    files
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Lines before the first `#[cfg(test)]` module (tests may grow beyond the budget).
fn code_lines(text: &str) -> usize {
    text.lines().take_while(|l| !l.trim_start().starts_with("#[cfg(test)]")).count()
}

#[test]
fn every_file_has_a_module_doc() {
    let missing: Vec<String> = all_files()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            !text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(missing.is_empty(), "files without a `//!` module doc:\n{}", missing.join("\n"));
}

#[test]
fn files_stay_within_the_size_budget() {
    let big: Vec<String> = all_files()
        .into_iter()
        .filter_map(|p| {
            let n = code_lines(&std::fs::read_to_string(&p).unwrap_or_default());
            (n > MAX_LINES && rel(&p).contains("/src/")).then(|| format!("{} ({n} lines)", rel(&p)))
        })
        .collect();
    assert!(
        big.is_empty(),
        "source files over {MAX_LINES} lines (split them):\n{}",
        big.join("\n")
    );
}

#[test]
fn no_ignored_or_should_panic_tests() {
    let bad: Vec<String> = all_files()
        .into_iter()
        .filter(|p| !p.ends_with("tests/tidy.rs"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.lines().any(|l| {
                let t = l.trim_start();
                t.starts_with("#[ignore") || t.starts_with("#[should_panic")
            })
        })
        .map(|p| rel(&p))
        .collect();
    assert!(bad.is_empty(), "#[ignore] or #[should_panic] found in:\n{}", bad.join("\n"));
}

#[test]
fn no_todo_in_library_code() {
    let bad: Vec<String> = all_files()
        .into_iter()
        .filter(|p| rel(p).contains("/src/"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.contains(&format!("{}!(", "todo"))
                || text.contains(&format!("{}!(", "unimplemented"))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(bad.is_empty(), "todo!/unimplemented! in library code:\n{}", bad.join("\n"));
}

#[test]
fn every_crate_is_in_the_architecture_doc() {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let manifest = e.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or_default()
            .to_string();
        if !doc.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "crates missing from docs/ARCHITECTURE.md: {missing:?}");
}
