//! Hand-computed cases: matrix chains, outer products, repeated labels, scalars, single and
//! zero operands, early reductions, large operand counts, errors and `pairwise_plan`.

mod common;

use std::collections::BTreeMap;

use circuit_einsum::{
    naive_flops, optimize, pairwise_plan, ContractionPath, EinsumError, EinsumSpec, Label,
    PathOptions, Strategy, OPTIMAL_MAX_OPERANDS,
};
use common::spec;

const ALL: [Strategy; 4] =
    [Strategy::Auto, Strategy::Optimal, Strategy::DynamicProgramming, Strategy::Greedy];

fn run(s: &EinsumSpec, strategy: Strategy) -> ContractionPath {
    let path = optimize(s, &PathOptions::with_strategy(strategy)).expect("optimize");
    path.validate(s).expect("valid path");
    path
}

fn l(c: char) -> Label {
    c as Label
}

fn labels(s: &str) -> Vec<Label> {
    s.chars().map(l).collect()
}

#[test]
fn matmul_chain_order_matters() {
    // (10x1000)(1000x10)(10x1000): (AB)C costs 4e5, A(BC) 4e7
    let s = spec("ab,bc,cd->ad", &[('a', 10), ('b', 1000), ('c', 10), ('d', 1000)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.positions(), vec![vec![0, 1], vec![0, 1]], "{strategy:?}");
        assert_eq!(p.steps[0].flops, 2 * 10 * 1000 * 10);
        assert_eq!(p.steps[0].result, labels("ac"));
        assert_eq!(p.steps[0].result_size, 100);
        assert_eq!(p.steps[1].flops, 2 * 10 * 10 * 1000);
        assert_eq!(p.steps[1].result, labels("ad"));
        assert_eq!(p.total_flops, 400_000);
        assert_eq!(p.largest_intermediate, 10_000);
    }
    let bad = ContractionPath::from_positions(&s, &[vec![1, 2], vec![0, 1]]).unwrap();
    assert_eq!(bad.total_flops, 2 * 1000 * 10 * 1000 + 2 * 10 * 1000 * 1000);
    assert_eq!(naive_flops(&s), 10 * 1000 * 10 * 1000 * 3);
}

#[test]
fn disconnected_components_use_outer_products() {
    let s = spec("ab,bc,d->acd", &[('a', 2), ('b', 3), ('c', 4), ('d', 5)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.total_flops, 2 * 2 * 3 * 4 + 2 * 4 * 5, "{strategy:?}");
        assert_eq!(p.steps.last().unwrap().result, labels("acd"));
    }
    // three single-label components: smallest first (b then c, then a)
    let s = spec("a,b,c->abc", &[('a', 5), ('b', 2), ('c', 3)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.total_flops, 2 * 3 + 5 * 2 * 3, "{strategy:?}");
        assert_eq!(p.steps[0].operands, vec![1, 2]);
    }
    let s = spec("a,b->ab", &[('a', 3), ('b', 4)]);
    for strategy in ALL {
        assert_eq!(run(&s, strategy).total_flops, 12);
    }
}

#[test]
fn repeated_labels() {
    let s = spec("aab,bc->ac", &[('a', 3), ('b', 4), ('c', 5)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.total_flops, 2 * 3 * 4 * 5);
        assert_eq!(p.steps[0].result, labels("ac"));
    }
    // trace
    let s = spec("ii->", &[('i', 7)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.positions(), vec![vec![0]]);
        assert_eq!(p.total_flops, 14);
        assert!(p.steps[0].result.is_empty());
    }
    // diagonal output: the path yields the distinct labels, the evaluator expands
    let s = spec("ab,b->aa", &[('a', 3), ('b', 4)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.steps.last().unwrap().result, labels("a"));
        assert_eq!(p.total_flops, 2 * 12);
    }
    // repeated labels everywhere, several operands
    let s = spec("aa,aba,bb,ccb->bc", &[('a', 2), ('b', 3), ('c', 4)]);
    for strategy in ALL {
        run(&s, strategy);
    }
}

#[test]
fn scalars() {
    let s = spec(",ab->ab", &[('a', 2), ('b', 3)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.total_flops, 6, "{strategy:?}");
        assert_eq!(p.steps.len(), 1);
    }
    let s = spec(",,->", &[]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.total_flops, 2);
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.largest_intermediate, 1);
    }
    let s = EinsumSpec::parse("->", &[&[]]).unwrap();
    assert_eq!(s.inputs, vec![Vec::<Label>::new()]);
    let p = run(&s, Strategy::Auto);
    assert_eq!((p.steps.len(), p.total_flops), (1, 1));
    let s = spec(",ab,b,->a", &[('a', 2), ('b', 3)]);
    for strategy in ALL {
        run(&s, strategy);
    }
}

#[test]
fn single_operand() {
    let s = spec("ab->ba", &[('a', 2), ('b', 3)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.positions(), vec![vec![0]]);
        assert_eq!(p.steps[0].result, labels("ba"));
        assert_eq!(p.total_flops, 6);
    }
    let s = spec("ab->a", &[('a', 2), ('b', 3)]);
    let p = run(&s, Strategy::Auto);
    assert_eq!(p.total_flops, 12);
    assert_eq!(p.steps[0].result_size, 2);
}

#[test]
fn zero_operands() {
    let s = EinsumSpec::new(vec![], vec![], BTreeMap::new()).unwrap();
    for strategy in ALL {
        let p = run(&s, strategy);
        assert!(p.steps.is_empty());
        assert_eq!((p.total_flops, p.largest_intermediate), (0, 0));
    }
    let parsed = EinsumSpec::parse("->", &[]).unwrap();
    assert!(parsed.inputs.is_empty());
    assert_eq!(naive_flops(&s), 0);
    assert_eq!(ContractionPath::from_positions(&s, &[]).unwrap().total_flops, 0);
}

#[test]
fn early_reduction_of_private_labels() {
    // b only in the first input: summing it first is far cheaper
    let s = spec("abc,cd->ad", &[('a', 2), ('b', 100), ('c', 3), ('d', 50)]);
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.positions(), vec![vec![0], vec![0, 1]], "{strategy:?}");
        assert_eq!(p.steps[0].result, labels("ac"));
        assert_eq!(p.steps[0].flops, 2 * 2 * 100 * 3);
        assert_eq!(p.total_flops, 1200 + 2 * 2 * 3 * 50);
        let pairwise =
            PathOptions { early_reductions: false, ..PathOptions::with_strategy(strategy) };
        let p = optimize(&s, &pairwise).unwrap();
        p.validate(&s).unwrap();
        assert_eq!(p.total_flops, 2 * 2 * 100 * 3 * 50);
    }
}

fn chain(n: usize) -> EinsumSpec {
    // labels 0..=n, operand i = [i, i+1], sizes cycling through 2..=9
    let inputs: Vec<Vec<Label>> = (0..n as Label).map(|i| vec![i, i + 1]).collect();
    let sizes: BTreeMap<Label, u64> = (0..=n as Label).map(|i| (i, 2 + u64::from(i % 8))).collect();
    EinsumSpec::new(inputs, vec![0, n as Label], sizes).expect("valid chain")
}

#[test]
fn many_operands() {
    let s = chain(OPTIMAL_MAX_OPERANDS + 1);
    let err = optimize(&s, &PathOptions::with_strategy(Strategy::Optimal)).unwrap_err();
    assert!(matches!(err, EinsumError::TooManyOperands { .. }));
    for n in [12, 40] {
        let s = chain(n);
        for strategy in [Strategy::Auto, Strategy::DynamicProgramming, Strategy::Greedy] {
            let p = run(&s, strategy);
            assert_eq!(p.steps.len(), n - 1);
        }
    }
    // more than 128 distinct labels (label sets spill to the heap)
    let s = chain(150);
    for strategy in [Strategy::Auto, Strategy::Greedy] {
        run(&s, strategy);
    }
    let opt = run(&chain(12), Strategy::Optimal);
    for strategy in [Strategy::Auto, Strategy::DynamicProgramming, Strategy::Greedy] {
        assert!(run(&chain(12), strategy).total_flops >= opt.total_flops);
    }
}

#[test]
fn degenerate_sizes() {
    let s = spec("ab,bc,cd,de->ae", &[('a', 3), ('b', 0), ('c', 4), ('d', 5), ('e', 2)]);
    for strategy in ALL {
        run(&s, strategy);
    }
    let big = u64::MAX;
    let s = spec(
        "ab,bc,cd,de,ef->af",
        &[('a', big), ('b', big), ('c', big), ('d', big), ('e', big), ('f', big)],
    );
    for strategy in ALL {
        let p = run(&s, strategy);
        assert_eq!(p.total_flops, u128::MAX);
    }
}

#[test]
fn deterministic() {
    let s = spec("ab,bc,cd,de,ea,ac,bd->", &[('a', 4), ('b', 4), ('c', 4), ('d', 4), ('e', 4)]);
    for strategy in ALL {
        let first = run(&s, strategy);
        for _ in 0..3 {
            assert_eq!(run(&s, strategy), first);
        }
    }
}

#[test]
fn errors() {
    let sizes: BTreeMap<Label, u64> = [(1, 2)].into_iter().collect();
    assert_eq!(
        EinsumSpec::new(vec![vec![1, 2]], vec![], sizes.clone()).unwrap_err(),
        EinsumError::MissingSize { label: 2 }
    );
    assert_eq!(
        EinsumSpec::new(vec![vec![1]], vec![3], sizes.clone()).unwrap_err(),
        EinsumError::OutputLabelNotInInputs { label: 3 }
    );
    let mut s = EinsumSpec::new(vec![vec![1]], vec![1], sizes).unwrap();
    s.output.push(9);
    assert!(optimize(&s, &PathOptions::default()).is_err());
    assert!(matches!(EinsumSpec::parse("ab,bc->ac", &[&[2, 3]]), Err(EinsumError::Parse { .. })));
    assert!(matches!(
        EinsumSpec::parse("ab,bc->ac", &[&[2, 3], &[3]]),
        Err(EinsumError::RankMismatch { operand: 1, .. })
    ));
    assert!(matches!(
        EinsumSpec::parse("ab,bc->ac", &[&[2, 3], &[4, 5]]),
        Err(EinsumError::InconsistentSize { .. })
    ));
    assert!(matches!(EinsumSpec::parse("...a->a", &[&[2, 3]]), Err(EinsumError::Parse { .. })));
    assert!(matches!(
        EinsumSpec::parse("ab->c", &[&[2, 3]]),
        Err(EinsumError::OutputLabelNotInInputs { .. })
    ));
    let s = spec("ab,bc->ac", &[('a', 2), ('b', 3), ('c', 4)]);
    for bad in [vec![vec![0, 2]], vec![vec![0, 0]], vec![vec![0]], vec![vec![]]] {
        assert!(matches!(
            ContractionPath::from_positions(&s, &bad),
            Err(EinsumError::InvalidPath(_))
        ));
    }
    let mut p = run(&s, Strategy::Auto);
    p.steps[0].flops += 1;
    assert!(p.validate(&s).is_err());
}

#[test]
fn implicit_output() {
    let s = EinsumSpec::parse("ba,bc", &[&[2, 3], &[2, 4]]).unwrap();
    assert_eq!(s.output, labels("ac"));
    let s = EinsumSpec::parse(" a b , b c -> a c ", &[&[2, 3], &[3, 4]]).unwrap();
    assert_eq!(s.inputs, vec![labels("ab"), labels("bc")]);
}

#[test]
fn pairwise_plans() {
    let p = pairwise_plan(&labels("bij"), &labels("bjk"), &labels("bik")).unwrap();
    assert_eq!(p.batch, labels("b"));
    assert_eq!((p.m.clone(), p.n.clone(), p.k.clone()), (labels("i"), labels("k"), labels("j")));
    assert!(p.sum_a.is_empty() && p.sum_b.is_empty() && !p.is_outer());
    let p = pairwise_plan(&labels("bijxx"), &labels("yjbk"), &labels("kbi")).unwrap();
    assert_eq!(p.batch, labels("b"));
    assert_eq!(p.m, labels("i"));
    assert_eq!(p.n, labels("k"));
    assert_eq!(p.k, labels("j"));
    assert_eq!(p.sum_a, labels("x"));
    assert_eq!(p.sum_b, labels("y"));
    assert_eq!(p.gemm_output(), labels("bik"));
    assert!(pairwise_plan(&labels("a"), &labels("b"), &labels("ab")).unwrap().is_outer());
    assert_eq!(
        pairwise_plan(&labels("a"), &labels("b"), &labels("c")).unwrap_err(),
        EinsumError::PairwiseOutputLabel { label: l('c') }
    );
}

#[test]
fn intermediate_results_are_in_gemm_order() {
    let s = spec(
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
    );
    for strategy in ALL {
        let p = run(&s, strategy);
        let mut current: Vec<Vec<Label>> = s.inputs.clone();
        for (k, st) in p.steps.iter().enumerate() {
            let mut ops: Vec<Vec<Label>> =
                st.operands.iter().rev().map(|&i| current.remove(i)).collect();
            ops.reverse();
            if let [a, b] = &ops[..] {
                let plan = pairwise_plan(a, b, &st.result).unwrap();
                if k + 1 < p.steps.len() {
                    assert_eq!(plan.gemm_output(), st.result);
                }
            }
            current.push(st.result.clone());
        }
    }
}
