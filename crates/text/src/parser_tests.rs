//! Tests of the parser's line splitting and of its two paths.
use super::*;

#[test]
fn lines_split_as_str_split_does() {
    let texts = [
        "",
        "\n",
        "a",
        "0 Add\n  1 'x' [2] Scalar 1\r\n  'x'\n",
        "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
        "\u{1}\n\u{1}\u{1}\n\u{b}\n\u{9}\u{a}\u{a}\u{0}\n0123456789abcdef\n│ ▼\n└‣x\r",
    ];
    for t in texts {
        let want: Vec<&str> = t.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        assert_eq!(split_lines(t), want, "{t:?}");
    }
    let long: String = (0..300).map(|i| "x".repeat(i % 17) + "\n").collect();
    let want: Vec<&str> = long.split('\n').collect();
    assert_eq!(split_lines(&long), want);
}

/// Everything the printer can tell apart, for every node below the roots, and the
/// roots' hashes. Symbols and Tags written without a uuid get a fresh random one on
/// each parse: the uuids are masked, and then the hashes left out.
fn fingerprint(roots: &[Circuit]) -> String {
    let printed = crate::PrintOptions::default().repr(roots).unwrap_or_default();
    let mut words = Vec::new();
    let mut masked = false;
    for w in printed.split(' ') {
        let is_uuid = w.len() >= 36 && uuid::Uuid::parse_str(&w[..36]).is_ok();
        masked |= is_uuid;
        words.push(if is_uuid { "<uuid>" } else { w });
    }
    let hashes: Vec<String> =
        if masked { Vec::new() } else { roots.iter().map(|r| format!("{:?}", r.hash())).collect() };
    format!("{}\n{hashes:?}", words.join(" "))
}

/// The fast path builds exactly what the general path builds, on every fixture and on
/// line-level mutations of them (dropped, duplicated, re-indented lines), and takes
/// part of them (else this test would compare the general path with itself).
#[test]
fn fast_path_agrees_with_general_path() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "circ") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 100, "fixtures not found");
    // `Array rand` draws from a seed; fixed, so that both paths draw the same.
    let opts = ParseOptions { random_seed: Some(7), ..ParseOptions::default() };
    let (mut fast_taken, mut compared) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut variants = vec![text.clone()];
        for i in (0..lines.len()).step_by(3) {
            let mut dropped = lines.clone();
            dropped.remove(i);
            variants.push(dropped.join("\n"));
            let mut doubled = lines.clone();
            doubled.insert(i, lines[i]);
            variants.push(doubled.join("\n"));
            let mut shifted = lines.clone();
            let moved = format!("  {}", lines[i]);
            shifted[i] = &moved;
            variants.push(shifted.join("\n"));
        }
        for v in &variants {
            let general = parse_with(v, &opts, false);
            let fast = parse_with(v, &opts, true);
            compared += 1;
            match (&general, &fast) {
                (Ok(g), Ok(q)) => {
                    assert_eq!(fingerprint(g), fingerprint(q), "{}:\n{v}", f.display());
                }
                (Err(g), Err(q)) => assert_eq!(g.to_string(), q.to_string()),
                _ => panic!("paths disagree on {}:\n{v}", f.display()),
            }
            let lines = split_lines(v);
            let p = Parser {
                lines,
                opts: &opts,
                records: Vec::new(),
                idents: IndexTable::with_capacity(0),
                seeds: std::cell::Cell::new(0),
                unhashed: std::cell::RefCell::new(Vec::new()),
            };
            if p.parse_streaming(v).is_some() {
                fast_taken += 1;
            }
        }
    }
    assert!(fast_taken * 4 > compared, "fast path taken {fast_taken} of {compared}");
}
