//! Readable fixtures in `fixtures/sample/`: the notebook's dice, sampled exhaustively and
//! randomly.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use circuit_ir::Circuit;
use circuit_sample::{RandomSampleSpec, RunDiscreteVarAllSpec, SampleSpec, Sampler};
use circuit_text::{parse_circuits, ParseOptions};
use common::*;

fn fixture(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sample");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn parse(name: &str) -> HashMap<String, Circuit> {
    let values = array(&[6], (1..=6).map(f64::from).collect(), "dice_values");
    let mut opts = ParseOptions::default();
    opts.reference_circuits.insert("dice_values".into(), values);
    let circuits = parse_circuits(&fixture(name), &opts).unwrap();
    // Every named node, roots and below.
    circuit_ir::traversal::toposort(&circuits)
        .into_iter()
        .filter_map(|c| Some((c.name()?.to_string(), c)))
        .collect()
}

#[test]
fn exhaustive_dice() {
    let c = parse("dice.circ");
    let all: Vec<Circuit> = ["E[dice1 * dice2]", "E[dice1 * dice3]", "Cov(dice1, dice2 + dice3)"]
        .iter()
        .map(|n| c[*n].clone())
        .collect();
    let spec = RunDiscreteVarAllSpec::create_full_from_circuits(&all).unwrap();
    assert_eq!(spec.sample_shape(), vec![6, 6]);
    let sampler = Sampler::new(spec);
    let sampled = sampler.sample(&c["dice1 * dice2"]).unwrap();
    let expected = parse("dice_sampled_all.circ");
    assert_eq!(sampled, expected["dice1 * dice2_sample"]);
    // E[d²] = 91/6 for the shared group, E[d]² = 12.25 for independent dice, and
    // Cov(d1, d2 + d3) = Var(d) = 35/12.
    let e12 = eval_vec(&sampler.estimate(&all[0]).unwrap())[0];
    let e13 = eval_vec(&sampler.estimate(&all[1]).unwrap())[0];
    let cov = eval_vec(&sampler.estimate(&all[2]).unwrap())[0];
    assert!((e12 - 91.0 / 6.0).abs() < 1e-12, "{e12}");
    assert!((e13 - 12.25).abs() < 1e-12, "{e13}");
    assert!((cov - 35.0 / 12.0).abs() < 1e-12, "{cov}");
}

#[test]
fn random_dice() {
    let c = parse("dice.circ");
    let mut covered = 0;
    for seed in 0..20 {
        let sampler = Sampler::new(RandomSampleSpec::new(&[1000]).with_base_seed(seed));
        for (name, exact) in [("E[dice1 * dice2]", 91.0 / 6.0), ("E[dice1 * dice3]", 12.25)] {
            let (est, se) = sampler.estimate_with_error(&c[name]).unwrap();
            let (est, se) = (eval_vec(&est)[0], eval_vec(&se)[0]);
            assert!((est - exact).abs() <= 4.0 * se, "seed {seed} {name}: {est} ± {se}");
            covered += usize::from((est - exact).abs() <= 2.0 * se);
        }
    }
    // About 95% of the 40 estimates should be within two standard errors.
    assert!(covered >= 32, "{covered}");
}
