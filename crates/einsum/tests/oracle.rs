//! Oracle tests against opt_einsum 3.4.0.
//!
//! * The three W2 einsums of `perf/specs/einsum_chain.json` (numbers copied here): the cost
//!   model replays opt_einsum's recorded paths to exactly its recorded FLOPs and largest
//!   intermediates, `naive_flops` matches `single_loop_naive_flops`, and our Optimal / DP /
//!   Auto paths reach opt_einsum's best recorded FLOPs.
//! * `data/random_specs.txt` (written by `data/gen_oracle.py`): 60 random specs with
//!   opt_einsum's optimal / dp / greedy costs and two brute-force optima.

mod common;

use circuit_einsum::{naive_flops, optimize, ContractionPath, PathOptions, Strategy};
use common::{parse_sizes, spec};

struct Recorded {
    path: &'static [&'static [usize]],
    flops: u128,
    largest: u128,
}

struct W2 {
    name: &'static str,
    equation: &'static str,
    sizes: &'static [(char, u64)],
    optimal: Recorded,
    dp: Recorded,
    left_to_right: Recorded,
    naive: u128,
}

const W2_SPECS: [W2; 3] = [
    W2 {
        name: "chain5_batched",
        equation: "bsh,hd,de,ef,btf->bst",
        sizes: &[('b', 4), ('s', 512), ('t', 512), ('h', 768), ('d', 256), ('e', 768), ('f', 384)],
        optimal: Recorded {
            path: &[&[0, 1], &[0, 1], &[0, 2], &[0, 1]],
            flops: 1_895_825_408,
            largest: 1_048_576,
        },
        dp: Recorded {
            path: &[&[0, 1], &[0, 1], &[0, 2], &[0, 1]],
            flops: 1_895_825_408,
            largest: 1_048_576,
        },
        left_to_right: Recorded {
            path: &[&[0, 1], &[0, 3], &[0, 2], &[0, 1]],
            flops: 3_623_878_656,
            largest: 1_572_864,
        },
        naive: 303_992_974_847_508_480,
    },
    W2 {
        name: "kcomp7",
        equation: "sm,hdm,hdn,gne,gep,gtu,up->hst",
        sizes: &[
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
        optimal: Recorded {
            path: &[&[0, 1], &[2, 4], &[2, 4], &[1, 3], &[0, 2], &[0, 1]],
            flops: 880_803_840,
            largest: 819_200,
        },
        dp: Recorded {
            path: &[&[0, 1], &[2, 4], &[2, 4], &[1, 3], &[0, 2], &[0, 1]],
            flops: 880_803_840,
            largest: 819_200,
        },
        left_to_right: Recorded {
            path: &[&[0, 1], &[0, 5], &[0, 4], &[0, 3], &[0, 2], &[0, 1]],
            flops: 2_418_939_002_880,
            largest: 134_217_728_000,
        },
        naive: 8_070_450_532_247_928_832_000,
    },
    W2 {
        name: "kcomp8_batched",
        equation: "bsm,hdm,hdn,gne,gep,bgtu,bup,gh->bst",
        sizes: &[
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
        optimal: Recorded {
            path: &[&[1, 7], &[1, 2], &[1, 3], &[1, 4], &[1, 2], &[0, 2], &[0, 1]],
            flops: 1_419_771_904,
            largest: 2_097_152,
        },
        dp: Recorded {
            path: &[&[4, 6], &[4, 6], &[2, 3], &[2, 4], &[1, 3], &[1, 2], &[0, 1]],
            flops: 1_417_936_896,
            largest: 327_680,
        },
        left_to_right: Recorded {
            path: &[&[0, 1], &[0, 6], &[0, 5], &[0, 4], &[0, 3], &[0, 2], &[0, 1]],
            flops: 1_616_665_640_960,
            largest: 536_870_912_000,
        },
        naive: 4_611_686_018_427_387_904_000,
    },
];

#[test]
fn w2_cost_model_replays_opt_einsum_paths() {
    for w in &W2_SPECS {
        let s = spec(w.equation, w.sizes);
        assert_eq!(naive_flops(&s), w.naive, "{} naive", w.name);
        for (kind, rec) in
            [("optimal", &w.optimal), ("dp", &w.dp), ("left_to_right", &w.left_to_right)]
        {
            let positions: Vec<Vec<usize>> = rec.path.iter().map(|p| p.to_vec()).collect();
            let path = ContractionPath::from_positions(&s, &positions).unwrap();
            assert_eq!(path.total_flops, rec.flops, "{} {kind} flops", w.name);
            assert_eq!(path.largest_intermediate, rec.largest, "{} {kind} largest", w.name);
        }
    }
}

/// Our exact optimum for each W2 einsum. chain5 and kcomp7: opt_einsum's `optimal` (and `dp`)
/// FLOPs exactly. kcomp8: 1_417_936_896, opt_einsum's `dp` result; opt_einsum's `optimal`
/// reports 1_419_771_904 because its search caches a pair's result by the two label sets
/// alone, ignoring which operands remain (patching the cache key to include them makes
/// opt_einsum's `optimal` return 1_417_936_896 too; verified with opt_einsum 3.4.0).
fn w2_best(w: &W2) -> u128 {
    w.optimal.flops.min(w.dp.flops)
}

#[test]
fn w2_optimal_dp_auto_reach_opt_einsum_flops() {
    let expected_largest = [1_048_576u128, 819_200, 327_680];
    for (w, largest) in W2_SPECS.iter().zip(expected_largest) {
        let s = spec(w.equation, w.sizes);
        for strategy in [Strategy::Optimal, Strategy::DynamicProgramming, Strategy::Auto] {
            let path = optimize(&s, &PathOptions::with_strategy(strategy)).unwrap();
            path.validate(&s).unwrap();
            assert_eq!(path.total_flops, w2_best(w), "{} {strategy:?}", w.name);
            assert_eq!(path.largest_intermediate, largest, "{} {strategy:?}", w.name);
            assert!(!path.exceeds_memory_limit);
            assert!(path.steps.iter().all(|st| st.operands.len() == 2));
        }
        let greedy = optimize(&s, &PathOptions::with_strategy(Strategy::Greedy)).unwrap();
        greedy.validate(&s).unwrap();
        assert!(greedy.total_flops >= w2_best(w));
    }
}

#[test]
fn w2_optimal_path_for_chain5_is_opt_einsums() {
    let w = &W2_SPECS[0];
    let s = spec(w.equation, w.sizes);
    let path = optimize(&s, &PathOptions::with_strategy(Strategy::Optimal)).unwrap();
    let theirs: Vec<Vec<usize>> = w.optimal.path.iter().map(|p| p.to_vec()).collect();
    // same tree; our recycled positions may list the pairs in another order
    let replay = ContractionPath::from_positions(&s, &theirs).unwrap();
    assert_eq!(path.total_flops, replay.total_flops);
    let mut ours: Vec<u128> = path.steps.iter().map(|st| st.flops).collect();
    let mut them: Vec<u128> = replay.steps.iter().map(|st| st.flops).collect();
    ours.sort_unstable();
    them.sort_unstable();
    assert_eq!(ours, them);
}

#[test]
fn w2_memory_limit() {
    // every path of kcomp8 has an intermediate of at least 327_680 elements (buge, bget ...)
    let w = &W2_SPECS[2];
    let s = spec(w.equation, w.sizes);
    for strategy in
        [Strategy::Optimal, Strategy::DynamicProgramming, Strategy::Greedy, Strategy::Auto]
    {
        let with_limit = |limit: u128| {
            let opts =
                PathOptions { strategy, memory_limit: Some(limit), ..PathOptions::default() };
            let path = optimize(&s, &opts).unwrap();
            path.validate(&s).unwrap();
            path
        };
        for limit in [1, 327_679] {
            let path = with_limit(limit);
            assert!(path.exceeds_memory_limit, "{strategy:?} {limit}");
            assert!(path.total_flops >= w2_best(w));
        }
        let path = with_limit(327_680);
        assert!(!path.exceeds_memory_limit, "{strategy:?}");
        let inner = &path.steps[..path.steps.len() - 1];
        assert!(inner.iter().all(|st| st.result_size <= 327_680), "{strategy:?}");
        if strategy != Strategy::Greedy {
            assert_eq!(path.total_flops, w2_best(w), "{strategy:?}");
        }
    }
}

struct Row {
    line: &'static str,
    oe_optimal: u128,
    oe_dp: u128,
    oe_greedy: u128,
    exact: u128,
    exact_pairwise: u128,
}

fn rows() -> Vec<(circuit_einsum::EinsumSpec, Row)> {
    include_str!("data/random_specs.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let n = |i: usize| f[i].parse::<u128>().expect("number");
            let row = Row {
                line,
                oe_optimal: n(2),
                oe_dp: n(3),
                oe_greedy: n(4),
                exact: n(5),
                exact_pairwise: n(6),
            };
            (spec(f[0], &parse_sizes(f[1])), row)
        })
        .collect()
}

#[test]
fn random_specs_optimal_is_exact() {
    let rows = rows();
    assert!(rows.len() >= 50);
    let mut equal_to_oe_optimal = 0;
    for (s, r) in &rows {
        let best = optimize(s, &PathOptions::with_strategy(Strategy::Optimal)).unwrap();
        best.validate(s).unwrap();
        assert_eq!(best.total_flops, r.exact, "{}", r.line);
        assert!(best.total_flops <= r.oe_optimal.min(r.oe_dp).min(r.oe_greedy), "{}", r.line);
        let pairwise = PathOptions {
            early_reductions: false,
            ..PathOptions::with_strategy(Strategy::Optimal)
        };
        let pw = optimize(s, &pairwise).unwrap();
        pw.validate(s).unwrap();
        assert_eq!(pw.total_flops, r.exact_pairwise, "{}", r.line);
        assert!(pw.total_flops <= r.oe_optimal, "{}", r.line);
        assert!(pw.steps.iter().all(|st| st.operands.len() == 2) || s.inputs.len() == 1);
        equal_to_oe_optimal += usize::from(pw.total_flops == r.oe_optimal);
    }
    // opt_einsum's `optimal` misses the pairwise optimum on some rows (its pair cache ignores
    // the remaining operands, and its search counts a pair as summing only when a *shared*
    // label disappears, unlike the cost it reports); on the rest we agree exactly.
    assert!(equal_to_oe_optimal >= 40, "{equal_to_oe_optimal}");
}

#[test]
fn random_specs_other_strategies_are_valid_and_not_better_than_exact() {
    for (s, r) in rows() {
        for strategy in [Strategy::Auto, Strategy::DynamicProgramming, Strategy::Greedy] {
            let p = optimize(&s, &PathOptions::with_strategy(strategy)).unwrap();
            p.validate(&s).unwrap();
            assert!(p.total_flops >= r.exact, "{strategy:?} {}", r.line);
        }
        let auto = optimize(&s, &PathOptions::default()).unwrap();
        assert_eq!(auto.total_flops, r.exact, "auto is exact here: {}", r.line);
    }
}
