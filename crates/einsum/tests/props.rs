//! Property tests on random small specs (≤ 6 operands, ≤ 6 labels, sizes ≤ 8): every
//! strategy's path is valid (replays to exactly the output labels with consistent costs),
//! Optimal equals an independent brute force and is never worse than DP, greedy or Auto,
//! results are deterministic, memory limits are honoured or reported, and intermediate
//! results are in batched-GEMM order.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use circuit_einsum::{optimize, pairwise_plan, EinsumSpec, Label, PathOptions, Strategy};
use common::brute_force;
use proptest::prelude::*;
use proptest::strategy::Strategy as _;

fn arb_spec() -> impl proptest::strategy::Strategy<Value = EinsumSpec> {
    (
        prop::collection::vec(1u64..=8, 6),
        prop::collection::vec(prop::collection::vec(0u32..6, 0..=4), 0..=6),
        prop::collection::vec(any::<bool>(), 6),
        prop::collection::vec(any::<u8>(), 6),
    )
        .prop_map(|(sizes, inputs, in_out, keys)| {
            let used: BTreeSet<Label> = inputs.iter().flatten().copied().collect();
            let mut output: Vec<Label> =
                used.iter().copied().filter(|&l| in_out[l as usize]).collect();
            output.sort_by_key(|&l| (keys[l as usize], l));
            let sizes: BTreeMap<Label, u64> =
                used.iter().map(|&l| (l, sizes[l as usize])).collect();
            EinsumSpec::new(inputs, output, sizes).expect("valid spec")
        })
}

fn path(s: &EinsumSpec, opts: PathOptions) -> circuit_einsum::ContractionPath {
    let p = optimize(s, &opts).expect("optimize");
    p.validate(s).expect("valid path");
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn optimal_is_exact_and_never_worse(s in arb_spec()) {
        let optimal = path(&s, PathOptions::with_strategy(Strategy::Optimal));
        prop_assert_eq!(optimal.total_flops, brute_force(&s, true));
        let pairwise = path(&s, PathOptions {
            early_reductions: false,
            ..PathOptions::with_strategy(Strategy::Optimal)
        });
        prop_assert_eq!(pairwise.total_flops, brute_force(&s, false));
        prop_assert!(optimal.total_flops <= pairwise.total_flops);
        for strategy in [Strategy::Auto, Strategy::DynamicProgramming, Strategy::Greedy] {
            let other = path(&s, PathOptions::with_strategy(strategy));
            prop_assert!(optimal.total_flops <= other.total_flops, "{:?}", strategy);
            prop_assert_eq!(&other, &path(&s, PathOptions::with_strategy(strategy)));
        }
    }

    #[test]
    fn steps_are_valid_and_gemm_ordered(s in arb_spec(), strategy_ix in 0usize..4) {
        let strategy = [
            Strategy::Auto,
            Strategy::Optimal,
            Strategy::DynamicProgramming,
            Strategy::Greedy,
        ][strategy_ix];
        let p = path(&s, PathOptions::with_strategy(strategy));
        let mut current: Vec<Vec<Label>> = s.inputs.clone();
        for (k, st) in p.steps.iter().enumerate() {
            prop_assert!(st.operands.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(st.operands.iter().all(|&i| i < current.len()));
            let mut ops: Vec<Vec<Label>> =
                st.operands.iter().rev().map(|&i| current.remove(i)).collect();
            ops.reverse();
            if let [a, b] = &ops[..] {
                let plan = pairwise_plan(a, b, &st.result).unwrap();
                if k + 1 < p.steps.len() {
                    prop_assert_eq!(plan.gemm_output(), st.result.clone());
                }
            }
            current.push(st.result.clone());
        }
        let out: BTreeSet<Label> = s.output.iter().copied().collect();
        match current.as_slice() {
            [] => prop_assert!(s.inputs.is_empty()),
            [last] => prop_assert_eq!(last.iter().copied().collect::<BTreeSet<_>>(), out),
            _ => prop_assert!(false, "{} operands left", current.len()),
        }
    }

    #[test]
    fn memory_limit_is_honoured_or_reported(s in arb_spec(), limit in 1u128..64, strategy_ix in 0usize..4) {
        let strategy = [
            Strategy::Auto,
            Strategy::Optimal,
            Strategy::DynamicProgramming,
            Strategy::Greedy,
        ][strategy_ix];
        let p = path(&s, PathOptions { memory_limit: Some(limit), ..PathOptions::with_strategy(strategy) });
        let inner_fits = p.steps.iter().rev().skip(1).all(|st| st.result_size <= limit);
        prop_assert_eq!(inner_fits, !p.exceeds_memory_limit);
        if strategy == Strategy::Optimal && !p.exceeds_memory_limit {
            // exact under the limit: never worse than the unconstrained optimum
            let free = path(&s, PathOptions::with_strategy(Strategy::Optimal));
            prop_assert!(p.total_flops >= free.total_flops);
        }
    }
}
