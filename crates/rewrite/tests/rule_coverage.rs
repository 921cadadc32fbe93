//! House rules for the rule table: every registered rule appears in at least one
//! `# test: opt` header under `fixtures/rewrite/`, its kebab-case name maps 1:1 to a
//! public snake_case function in `src/rules/`, and its doc names its fixture.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

use circuit_rewrite::pipeline::all_step_names;
use circuit_rewrite::RULES;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn opt_headers() -> Vec<String> {
    let mut fx = Vec::new();
    files(&root().join("fixtures/rewrite"), "circ", &mut fx);
    fx.iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines().next().and_then(|l| l.strip_prefix("# test: opt ")).map(str::to_string)
        })
        .collect()
}

#[test]
fn every_rule_has_a_fixture() {
    let headers = opt_headers();
    let used: Vec<&str> = headers.iter().flat_map(|h| h.split(',')).map(str::trim).collect();
    let missing: Vec<&str> = RULES.iter().map(|r| r.name).filter(|n| !used.contains(n)).collect();
    assert!(missing.is_empty(), "rules without a fixture in a `# test: opt` header: {missing:?}");
    let known = all_step_names();
    let unknown: Vec<&&str> = used.iter().filter(|u| !known.contains(u)).collect();
    assert!(unknown.is_empty(), "fixtures name unknown steps: {unknown:?}");
}

#[test]
fn rule_names_map_to_functions() {
    let mut src = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "rs", &mut src);
    let text: String = src.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    for r in RULES {
        assert!(
            r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{} is not kebab-case",
            r.name
        );
        let f = format!("pub fn {}(", r.snake_name());
        assert!(text.contains(&f), "rule {} has no function `{}`", r.name, r.snake_name());
    }
    let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), RULES.len(), "duplicate rule names");
}

#[test]
fn every_rule_doc_names_its_fixture() {
    let mut src = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "rs", &mut src);
    let text: String = src.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    for r in RULES {
        let f = format!("pub fn {}(", r.snake_name());
        let at = text.find(&f).unwrap();
        let doc_start = text[..at].rfind("\n\n").unwrap_or(0);
        let doc = &text[doc_start..at];
        let named = doc.lines().any(|l| l.contains("Fixture") && l.contains(".circ"))
            || doc.contains("Fixture:")
            || doc.contains("Fixtures:");
        let fixture = doc
            .split('`')
            .find(|s| s.ends_with(".circ"))
            .map(|s| root().join("fixtures/rewrite").join(s));
        assert!(named, "rule {} has no `Fixture:` line in its doc", r.name);
        if let Some(f) = fixture {
            assert!(f.exists(), "rule {}: fixture {} does not exist", r.name, f.display());
        }
    }
}
