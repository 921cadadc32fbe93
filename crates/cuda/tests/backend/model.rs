//! A small attention-only transformer (W1's shape, scaled down, random weights): the
//! whole model path — embedding gather, layer norms, attention with a causal mask,
//! softmax, the fused next-token loss — on the GPU against the CPU.

use circuit_models::{tokens_array, Transformer, TransformerConfig, Weights};
use circuit_tensor::{DType, Tensor};

use crate::{backend, check};

#[test]
fn small_transformer_loss() {
    let t = "small_transformer_loss";
    let Some(gpu) = backend(t) else { return };
    let cfg = TransformerConfig::attn_only(2, 4, 32, 8, 61, 16);
    let w = Weights::random(&cfg, 3, DType::F32).unwrap();
    let model = Transformer::new(cfg, w).unwrap();
    let v: Vec<i64> = (0..3 * 17).map(|i| ((i * 7919 + 13) % 61) as i64).collect();
    let toks = tokens_array(&Tensor::from_vec(&[3, 17], v).unwrap(), "toks").unwrap();
    let loss = model.loss(&toks).unwrap();
    check(gpu, t, &loss, 1e-4, 1e-4);
}
