//! Property test for float32 pairwise contractions (the packed GEMM, `cpu/sgemm.rs`):
//! random batch / M / N / K label groups, each operand and the output in a random label
//! order (so operands are read through permuted strides and outputs are written
//! interleaved), sizes that straddle the micro-tile (6 x 16) and make ragged edges,
//! against the naive float64 einsum.
#![allow(clippy::unwrap_used)]

mod common;

use circuit_eval::reference::einsum_naive;
use circuit_eval::{evaluate_with, EvalSettings};
use circuit_ir::Circuit;
use circuit_tensor::{DType, Rng, Tensor};
use common::assert_close;
use proptest::prelude::*;

fn pick(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

fn shuffle(rng: &mut Rng, v: &mut [u8]) {
    for i in (1..v.len()).rev() {
        let j = pick(rng, i + 1);
        v.swap(i, j);
    }
}

/// Two operands and an output over up to six labels, each label batch, M, N or K.
fn random_pair(seed: u64) -> (Vec<(Tensor, Vec<u8>)>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let n_labels = 2 + pick(&mut rng, 5);
    let (mut a, mut b, mut out) = (Vec::new(), Vec::new(), Vec::new());
    let mut sizes = Vec::new();
    for l in 0..n_labels as u8 {
        // Sizes around the tile edges (6, 16) and some larger ones.
        let size = [1, 2, 5, 6, 7, 13, 16, 17, 33, 40][pick(&mut rng, 10)];
        sizes.push(size);
        match pick(&mut rng, 4) {
            0 => {
                a.push(l);
                b.push(l);
                out.push(l);
            }
            1 => {
                a.push(l);
                out.push(l);
            }
            2 => {
                b.push(l);
                out.push(l);
            }
            _ => {
                a.push(l);
                b.push(l);
            }
        }
    }
    // Keep the naive reference cheap: shrink the largest label until the whole
    // iteration space is small.
    while sizes.iter().product::<usize>() > 400_000 {
        let i = (0..sizes.len()).max_by_key(|&i| sizes[i]).unwrap();
        sizes[i] = sizes[i].div_ceil(2);
    }
    for v in [&mut a, &mut b, &mut out] {
        shuffle(&mut rng, v);
    }
    let operand = |labels: &[u8], k: u64| {
        let shape: Vec<usize> = labels.iter().map(|&l| sizes[usize::from(l)]).collect();
        (
            Tensor::randn(&shape, DType::F32, seed.wrapping_mul(7).wrapping_add(k)).unwrap(),
            labels.to_vec(),
        )
    };
    (vec![operand(&a, 1), operand(&b, 2)], out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn f32_contractions_match_naive_f64(seed in any::<u64>()) {
        let (operands, out) = random_pair(seed);
        let children: Vec<(Circuit, Vec<u8>)> = operands
            .iter()
            .enumerate()
            .map(|(k, (t, l))| (Circuit::array(t.clone(), Some(&format!("x{k}"))).unwrap(), l.clone()))
            .collect();
        let c = Circuit::einsum_from_axes(children, &out, None).unwrap();
        let f64_ops: Vec<(Tensor, Vec<u8>)> =
            operands.iter().map(|(t, l)| (t.cast(DType::F64), l.clone())).collect();
        let refs: Vec<(&Tensor, &[u8])> = f64_ops.iter().map(|(t, l)| (t, l.as_slice())).collect();
        let expected = einsum_naive(&refs, &out).unwrap();
        for threads in [1, 2] {
            let settings = EvalSettings { threads: Some(threads), ..EvalSettings::default() };
            let got = evaluate_with(&c, &settings).unwrap();
            assert_close(&got, &expected.cast(DType::F32), 1e-4, 1e-4);
        }
    }
}
