//! The generator's contract: deterministic per seed, valid output, and coverage — over
//! 500 seeds every node kind, every simple function and every GeneralFunction family is
//! produced, together with the features the round-trip tests rely on (shared names, `AD`,
//! named axes, symbolic sizes, batched modules, several roots).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use circuit_ir::kinds::SimpleFn;
use circuit_ir::size::shape_is_symbolic;
use circuit_ir::{Circuit, Kind, Op};
use circuit_testkit::random::count_kinds;
use circuit_testkit::{GenConfig, GenStats, Generator};

#[test]
fn deterministic_per_seed() {
    for seed in 0..50 {
        let a = Generator::new(seed, GenConfig::default()).generate();
        let b = Generator::new(seed, GenConfig::default()).generate();
        assert_eq!(a.roots, b.roots, "seed {seed}");
    }
}

#[derive(Default)]
struct Features {
    kinds: BTreeMap<Kind, usize>,
    shared_names: usize,
    ad: usize,
    named_axes: usize,
    symbolic: usize,
    batched_modules: usize,
    multi_root: usize,
    dag_sharing: usize,
    index_tensors: usize,
}

fn features(roots: &[Circuit], f: &mut Features) {
    for (k, v) in count_kinds(roots) {
        *f.kinds.entry(k).or_default() += v;
    }
    let nodes = circuit_ir::traversal::toposort(roots);
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &nodes {
        if let Some(n) = c.name() {
            *names.entry(n).or_default() += 1;
        }
        f.ad += usize::from(c.autoname_disabled_here());
        f.named_axes += usize::from(!c.named_axes().is_empty());
        f.symbolic += usize::from(shape_is_symbolic(c.shape()));
        if let Op::Module(m) = c.op() {
            let batched =
                m.arg_specs.iter().zip(&c.children()[1..]).any(|(a, i)| i.rank() > a.symbol.rank());
            f.batched_modules += usize::from(batched);
        }
        if let Op::Index(i) = c.op() {
            f.index_tensors += usize::from(i.has_tensor_axes());
        }
    }
    f.shared_names += names.values().filter(|&&n| n > 1).count();
    f.multi_root += usize::from(roots.len() > 1);
    let child_refs: usize = nodes.iter().map(|c| c.children().len()).sum();
    f.dag_sharing += usize::from(child_refs + roots.len() > nodes.len());
}

#[test]
fn every_kind_appears_over_500_seeds() {
    let mut stats = GenStats::default();
    let mut f = Features::default();
    for seed in 0..500 {
        let g = Generator::new(seed, GenConfig::default()).generate();
        stats.merge(&g.stats);
        features(&g.roots, &mut f);
    }
    eprintln!("kinds in roots: {:?}", f.kinds);
    eprintln!("built: {:?}", stats.built);
    eprintln!("fallbacks: {:?}", stats.fallbacks);
    eprintln!("gf: {:?}", stats.gf_specs);
    for e in stats.errors.iter().take(40) {
        eprintln!("  {e}");
    }
    for kind in Kind::ALL {
        assert!(f.kinds.get(&kind).copied().unwrap_or(0) > 0, "{kind:?} never appears");
    }
    for sf in SimpleFn::ALL {
        let key = format!("simple:{}", sf.name());
        assert!(stats.gf_specs.contains_key(&key), "{key} never built");
    }
    for fam in ["gen_index", "explicit_index", "cast", "pow", "multinomial"] {
        assert!(stats.gf_specs.contains_key(fam), "{fam} never built");
    }
    assert!(f.shared_names > 0 && f.ad > 0 && f.named_axes > 0 && f.symbolic > 0);
    assert!(f.batched_modules > 0 && f.multi_root > 0 && f.dag_sharing > 0 && f.index_tensors > 0);
    // Each kind's step succeeds most of the time (fallbacks stay rare).
    for (kind, &n) in &stats.fallbacks {
        let built = stats.built.get(kind).copied().unwrap_or(0);
        assert!(n * 4 < built + n, "{kind:?}: {n} fallbacks vs {built} built");
    }
}
