//! Timing of `optimize` (plain loop, `harness = false`): µs per call for the three W2 einsums
//! and a 12-operand matrix chain, for each strategy, plus stress shapes (a 16-operand star
//! around one summed label, a batched 16-operand ring, a 100-operand chain). Run with
//! `cargo bench -p circuit-einsum --bench paths`.

use std::time::Instant;

use circuit_einsum::{optimize, EinsumSpec, PathOptions, Strategy};

fn spec(eq: &str, sizes: &[(char, u64)]) -> EinsumSpec {
    let size = |c: char| sizes.iter().find(|(l, _)| *l == c).map_or(1, |&(_, s)| s);
    let lhs = eq.split("->").next().unwrap_or("");
    let shapes: Vec<Vec<u64>> = lhs.split(',').map(|t| t.chars().map(size).collect()).collect();
    let refs: Vec<&[u64]> = shapes.iter().map(Vec::as_slice).collect();
    EinsumSpec::parse(eq, &refs).expect("bench spec parses")
}

/// Operand i = [x, i+1]: every operand shares the summed label x.
fn star(n: u32) -> EinsumSpec {
    let inputs: Vec<Vec<u32>> = (0..n).map(|i| vec![0, i + 1]).collect();
    let output: Vec<u32> = (1..=n).step_by(2).collect();
    let sizes = (0..=n).map(|i| (i, 2 + u64::from(i % 5))).collect();
    EinsumSpec::new(inputs, output, sizes).expect("star spec")
}

/// Operand i = [b, i, i+1 mod n] with a batch label b in the output.
fn ring(n: u32) -> EinsumSpec {
    let b = n;
    let inputs: Vec<Vec<u32>> = (0..n).map(|i| vec![b, i, (i + 1) % n]).collect();
    let sizes = (0..=n).map(|i| (i, 2 + u64::from(i % 7))).collect();
    EinsumSpec::new(inputs, vec![b], sizes).expect("ring spec")
}

/// Operand i = [i, i+1], output [0, n].
fn chain(n: u32) -> EinsumSpec {
    let inputs: Vec<Vec<u32>> = (0..n).map(|i| vec![i, i + 1]).collect();
    let sizes = (0..=n).map(|i| (i, 2 + u64::from(i % 9) * 7)).collect();
    EinsumSpec::new(inputs, vec![0, n], sizes).expect("chain spec")
}

/// The W2 einsums, the 12-operand chain and the stress shapes.
fn all_specs() -> Vec<(&'static str, EinsumSpec)> {
    let chain12_eq = "ab,bc,cd,de,ef,fg,gh,hi,ij,jk,kl,lm->am";
    let chain12_sizes: Vec<(char, u64)> = "abcdefghijklm"
        .chars()
        .zip([64, 8, 512, 16, 256, 32, 128, 4, 1024, 64, 8, 256, 32])
        .collect();
    vec![
        (
            "chain5_batched",
            spec(
                "bsh,hd,de,ef,btf->bst",
                &[('b', 4), ('s', 512), ('t', 512), ('h', 768), ('d', 256), ('e', 768), ('f', 384)],
            ),
        ),
        (
            "kcomp7",
            spec(
                "sm,hdm,hdn,gne,gep,gtu,up->hst",
                &[
                    ('s', 320),
                    ('t', 320),
                    ('u', 320),
                    ('m', 512),
                    ('n', 512),
                    ('p', 512),
                    ('h', 8),
                    ('g', 8),
                    ('d', 64),
                    ('e', 64),
                ],
            ),
        ),
        (
            "kcomp8_batched",
            spec(
                "bsm,hdm,hdn,gne,gep,bgtu,bup,gh->bst",
                &[
                    ('b', 4),
                    ('s', 160),
                    ('t', 160),
                    ('u', 160),
                    ('m', 512),
                    ('n', 512),
                    ('p', 512),
                    ('h', 8),
                    ('g', 8),
                    ('d', 64),
                    ('e', 64),
                ],
            ),
        ),
        ("chain12", spec(chain12_eq, &chain12_sizes)),
        ("star16", star(16)),
        ("ring16_batched", ring(16)),
        ("chain100", chain(100)),
    ]
}

fn main() {
    let specs = all_specs();
    let strategies = [
        ("auto", Strategy::Auto),
        ("optimal", Strategy::Optimal),
        ("dp", Strategy::DynamicProgramming),
        ("greedy", Strategy::Greedy),
    ];
    println!("{:<16} {:<8} {:>12} {:>26}", "spec", "strategy", "us/optimize", "flops");
    for (name, s) in &specs {
        for (sname, strategy) in strategies {
            let opts = PathOptions::with_strategy(strategy);
            if strategy == Strategy::Optimal && s.inputs.len() > 12 {
                continue;
            }
            let Ok(first) = optimize(s, &opts) else {
                println!("{name:<16} {sname:<8} {:>12}", "n/a");
                continue;
            };
            // aim for ~0.2 s per measurement
            let t0 = Instant::now();
            let mut iters: u32 = 0;
            while t0.elapsed().as_secs_f64() < 0.2 || iters < 3 {
                std::hint::black_box(optimize(std::hint::black_box(s), &opts).ok());
                iters += 1;
            }
            let us = t0.elapsed().as_secs_f64() * 1e6 / f64::from(iters);
            println!("{name:<16} {sname:<8} {us:>12.1} {:>26}", first.total_flops);
        }
    }
}
