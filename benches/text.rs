//! Parse and print throughput on the text-format benchmark circuits:
//! (a) a balanced Add/Einsum tree of 32,767 lines and (b) one Add with 20,000 Scalar
//! children, both exactly as `shared/perf/text/gen_and_time_rc.py` writes them, and (c) a
//! GPT-2-small-sized model circuit (12 layers, 12 heads split out, symbols for weights).
//!
//! Run: `cargo bench --bench text`. Prints lines/s (best of 5) per case.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::fmt::Write as _;
use std::time::Instant;

use circuit::ir::Circuit;
use circuit::text::{parse_circuits, ParseOptions, PrintOptions};

fn tree() -> String {
    fn emit(depth: u32, ind: usize, cnt: &mut usize, out: &mut Vec<String>) {
        let i = *cnt;
        *cnt += 1;
        let pad = "  ".repeat(ind);
        if depth == 0 {
            out.push(format!("{pad}{i} 'l{i}' [4,4] Scalar {}.25", i % 7));
            return;
        }
        out.push(if depth % 2 == 1 {
            format!("{pad}{i} 'a{i}' Einsum ab,bc->ac")
        } else {
            format!("{pad}{i} 'a{i}' Add")
        });
        emit(depth - 1, ind + 1, cnt, out);
        emit(depth - 1, ind + 1, cnt, out);
    }
    let mut lines = Vec::new();
    emit(14, 0, &mut 0, &mut lines);
    lines.join("\n")
}

fn wide() -> String {
    let mut s = String::from("0 Add");
    for i in 0..20000 {
        let _ = write!(s, "\n  {} 'n{i}' [3,4] Scalar {i}.5", i + 1);
    }
    s
}

/// A GPT-2-small-shaped circuit: token embedding gather, 12 blocks of layer norm,
/// per-head attention (q, k, v, pattern, output) and an MLP, and the unembedding.
fn gpt2_small() -> String {
    let (layers, heads, d, dh, seq, vocab, mlp) = (12, 12, 768, 64, 1024, 50257, 3072);
    let mut s = String::new();
    let _ = writeln!(s, "'tokens' [{seq}] Symbol");
    let _ = writeln!(s, "'w.embed' [{vocab},{d}] Symbol");
    let _ = writeln!(s, "'w.pos' [{seq},{d}] Symbol");
    let _ = writeln!(s, "'embeds' GeneralFunction gen_index_at_0_c\n  'w.embed'\n  'tokens'");
    let _ = writeln!(s, "'resid.0' Add\n  'embeds'\n  'w.pos'");
    let ln = |s: &mut String, name: &str, input: &str| {
        let _ = writeln!(s, "'{name}' Add");
        let _ = writeln!(s, "  '{name}.w.bias' [{d}] Symbol");
        let _ = writeln!(s, "  '{name}.scaled' Einsum sh,s,h->sh");
        let _ = writeln!(s, "    '{name}.centered' Add\n      '{input}'\n      '{name}.neg_mean_b' Rearrange s -> s {d}\n        '{name}.neg_mean' Einsum sh,->s");
        let _ = writeln!(
            s,
            "          '{input}'\n          '{name}.neg_recip' [] Scalar -0.0013020833333333333"
        );
        let _ = writeln!(
            s,
            "    '{name}.rsqrt' GeneralFunction rsqrt\n      '{name}.var' Einsum sh,sh,->s"
        );
        let _ = writeln!(s, "        '{name}.centered'\n        '{name}.centered'\n        '{name}.recip' [] Scalar 0.0013020833333333333");
        let _ = writeln!(s, "    '{name}.w.scale' [{d}] Symbol");
    };
    for l in 0..layers {
        let input = format!("resid.{l}");
        ln(&mut s, &format!("a{l}.ln"), &input);
        let _ = writeln!(s, "'a{l}' Add");
        for h in 0..heads {
            let p = format!("a{l}.h{h}");
            let _ = writeln!(s, "  '{p}' Einsum sd,dh->sh");
            let _ = writeln!(s, "    '{p}.comb_v' Einsum st,td->sd");
            let _ = writeln!(s, "      '{p}.probs' GeneralFunction softmax");
            let _ = writeln!(s, "        '{p}.scores' Einsum sd,td,->st");
            let _ = writeln!(s, "          '{p}.q' Einsum sh,hd->sd\n            'a{l}.ln'\n            '{p}.w.q' [{d},{dh}] Symbol");
            let _ = writeln!(s, "          '{p}.k' Einsum sh,hd->sd\n            'a{l}.ln'\n            '{p}.w.k' [{d},{dh}] Symbol");
            let _ = writeln!(s, "          '{p}.scale' [] Scalar 0.125");
            let _ = writeln!(s, "      '{p}.v' Einsum sh,hd->sd\n        'a{l}.ln'\n        '{p}.w.v' [{d},{dh}] Symbol");
            let _ = writeln!(s, "    '{p}.w.o' [{dh},{d}] Symbol");
        }
        let mid = format!("resid.{l}.mid");
        let _ = writeln!(s, "'{mid}' Add\n  '{input}'\n  'a{l}'");
        ln(&mut s, &format!("m{l}.ln"), &mid);
        let _ = writeln!(s, "'m{l}' Einsum sm,mh->sh");
        let _ = writeln!(s, "  'm{l}.act' GeneralFunction gelu_new\n    'm{l}.pre' Einsum sh,hm->sm\n      'm{l}.ln'\n      'm{l}.w.in' [{d},{mlp}] Symbol");
        let _ = writeln!(s, "  'm{l}.w.out' [{mlp},{d}] Symbol");
        let _ = writeln!(s, "'resid.{}' Add\n  '{mid}'\n  'm{l}'", l + 1);
    }
    ln(&mut s, "final.ln", &format!("resid.{layers}"));
    let _ = writeln!(s, "'logits' Einsum sh,vh->sv\n  'final.ln'\n  'w.embed'");
    // Keep only the last root: print the whole model as one circuit.
    let circuits = parse_circuits(&s, &ParseOptions::default()).unwrap();
    let last: Circuit = circuits.last().unwrap().clone();
    PrintOptions::default().repr(&[last]).unwrap()
}

// Not inlined, so that a profiler can attribute costs to it (`--toggle-collect=text::bench`).
#[inline(never)]
fn bench(name: &str, text: &str, reps: usize) {
    let lines = text.lines().count();
    let opts = ParseOptions::default();
    let mut best_parse = f64::MAX;
    let mut best_print = f64::MAX;
    let mut circuits = Vec::new();
    for _ in 0..reps {
        // Dropping the previous result is not part of parsing.
        drop(std::mem::take(&mut circuits));
        let t = Instant::now();
        circuits = parse_circuits(text, &opts).unwrap();
        best_parse = best_parse.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let printed = PrintOptions::default().repr(&circuits).unwrap();
        best_print = best_print.min(t.elapsed().as_secs_f64());
        assert!(!printed.is_empty());
    }
    let nodes = circuit::ir::traversal::count_nodes(&circuits);
    println!(
        "{name:<10} {lines:>7} lines {nodes:>7} nodes  parse {:>10.0} lines/s ({:>7.1} ms)  print {:>10.0} lines/s ({:>7.1} ms)",
        lines as f64 / best_parse,
        best_parse * 1e3,
        lines as f64 / best_print,
        best_print * 1e3
    );
}

fn main() {
    // Optional arguments: a case filter (`tree`, `wide`, `gpt2`) and a repeat count.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let filter = args.first().cloned().unwrap_or_default();
    let reps = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    type Case = (&'static str, fn() -> String);
    let cases: [Case; 3] = [("(a) tree", tree), ("(b) wide", wide), ("(c) gpt2", gpt2_small)];
    for (name, make) in cases {
        if name.contains(filter.as_str()) {
            bench(name, &make(), reps);
        }
    }
}
