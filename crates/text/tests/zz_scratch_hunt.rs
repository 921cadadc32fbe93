//! scratch (temporary)
#![allow(clippy::unwrap_used, missing_docs)]
use circuit_ir::Circuit;
use circuit_testkit::{shrink, GenConfig, Generator, TempDir};
use circuit_text::{parse_circuits, ParseOptions, PrintOptions};

fn fails(roots: &[Circuit], opts: &PrintOptions, dir: &TempDir, n: &mut usize) -> Option<String> {
    *n += 1;
    let store = dir.sub_store(&format!("x{n}")).unwrap();
    let o = PrintOptions { save_tensors: Some(store.clone()), ..opts.clone() };
    let text = match o.repr(roots) {
        Ok(t) => t,
        Err(e) => return Some(format!("print err {e}")),
    };
    let po = ParseOptions {
        tensor_store: Some(store),
        module_check_all_inputs_used: false,
        ..Default::default()
    };
    match parse_circuits(&text, &po) {
        Err(e) => Some(format!("PARSE ERR {}\n{text}", e)),
        Ok(p) => {
            if p != roots {
                return Some(format!("MISMATCH\n{text}\n--- reprint\n{}", o.repr(&p).unwrap()));
            }
            let again = o.repr(&p).unwrap();
            if again != text {
                return Some(format!("NOT IDEMPOTENT\n{text}\n---\n{again}"));
            }
            None
        }
    }
}

#[test]
fn hunt() {
    let flag = std::env::var("FLAG").unwrap_or_default();
    let mut cfg = GenConfig::default();
    match flag.as_str() {
        "newline" => cfg.newline_names = true,
        "unsafe_axis" => cfg.unsafe_axis_names = true,
        "empty_axis" => cfg.empty_axis_names = true,
        "rearrange" => cfg.noncanonical_rearrange = true,
        "nan" => cfg.signed_nan = true,
        "any_kind" => cfg.named_axes_on_any_kind = true,
        "all" => cfg = cfg.everything(),
        _ => {}
    }
    let opts = PrintOptions { show_all_named_axes: flag == "any_kind", ..PrintOptions::default() };
    let dir = TempDir::new("hunt").unwrap();
    let mut n = 0;
    let mut found = 0;
    for seed in 0..3000u64 {
        let g = Generator::new(seed, cfg.clone()).generate();
        let t = opts.repr(&g.roots).unwrap_or_default();
        if t.contains("fancy:") {
            println!("FANCY seed {seed}");
        }
        if t.contains("#h") || t.contains("!x") {
            println!("UNSAFE seed {seed}");
        }
        if let Some(orig) = fails(&g.roots, &opts, &dir, &mut n) {
            println!("#### ORIGINAL seed {seed}\n{orig}");
            let min = shrink::minimize(
                g.roots.clone(),
                |c| fails(c, &opts, &dir, &mut n).is_some(),
                3000,
            );
            println!(
                "==== seed {seed} minimised {:?}\n{}",
                shrink::measure(&min),
                fails(&min, &opts, &dir, &mut n).unwrap()
            );
            found += 1;
            if found > 4 {
                break;
            }
        }
    }
    println!("found {found}");
}

#[test]
fn fancy_direct() {
    for nm in ["h", "#h", "!x", "a->b", "'q"] {
        let s = Circuit::scalar(1.0, &[2], Some("s"))
            .unwrap()
            .with_named_axes([(0u8, circuit_ir::Name::from(nm))].into_iter().collect())
            .unwrap();
        let e = Circuit::einsum("a->a", [s]).unwrap();
        println!("named {:?}", e.named_axes());
        let t = PrintOptions::default().repr(&[e.clone()]).unwrap();
        println!("{t}");
        match parse_circuits(&t, &ParseOptions::default()) {
            Ok(p) => println!("eq {}", p[0] == e),
            Err(err) => println!("ERR {err}"),
        }
    }
}

#[test]
fn dbg_axes() {
    let cfg = GenConfig { unsafe_axis_names: true, ..GenConfig::default() };
    let mut names = std::collections::BTreeMap::new();
    for seed in 0..300u64 {
        let g = Generator::new(seed, cfg.clone()).generate();
        for c in circuit_ir::traversal::toposort(&g.roots) {
            for (_, n) in c.named_axes() {
                *names.entry(n.to_string()).or_insert(0) += 1;
            }
        }
    }
    println!("{names:?}");
}
