//! [`Weights`]: a model's tensors under our canonical names and layouts (rust_circuit's
//! array names after `strip_arr`), with the list a configuration needs and its check.
//!
//! | name | shape | meaning |
//! |---|---|---|
//! | `t.w.tok_embeds` | `[vocab, d_model]` | token embedding |
//! | `t.w.pos_embeds` | `[n_ctx, d_model]` | position embedding (unless `PosEncoding::None`) |
//! | `a{l}.ln.w.scale`, `a{l}.ln.w.bias` | `[d_model]` | layer norm before attention `l` |
//! | `a{l}.w.q`, `a{l}.w.k`, `a{l}.w.v` | `[n_heads, d_head, d_model]` | `q[h, c] = Σ_m x[m] w_q[h, c, m]` |
//! | `a{l}.w.q_bias`, `…k_bias`, `…v_bias` | `[n_heads, d_head]` | with `attn_bias` |
//! | `a{l}.w.o` | `[n_heads, d_model, d_head]` | `out[m] = Σ_{h,c} z[h, c] w_o[h, m, c]` |
//! | `a{l}.w.o_bias` | `[d_model]` | with `attn_bias` |
//! | `m{l}.ln.w.scale`, `m{l}.ln.w.bias` | `[d_model]` | layer norm before MLP `l` |
//! | `m{l}.w.proj_in` | `[d_mlp, d_model]` | |
//! | `m{l}.w.in_bias` | `[d_mlp]` | with `mlp_bias` |
//! | `m{l}.w.proj_out` | `[d_model, d_mlp]` | |
//! | `m{l}.w.out_bias` | `[d_model]` | with `mlp_bias` |
//! | `final.ln.w.scale`, `final.ln.w.bias` | `[d_model]` | with `final_norm` |
//! | `t.w.unembed` | `[vocab, d_model]` | unless `tied_unembed` |
//! | `t.w.unembed_bias` | `[vocab]` | with `unembed_bias` |

use std::collections::BTreeMap;

use circuit_tensor::{DType, Tensor};

use crate::config::{PosEncoding, TransformerConfig};
use crate::{ModelError, Result};

/// One weight a configuration needs: canonical name and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightSpec {
    /// Canonical name (see the module docs).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
}

/// Every weight `config` needs, in a fixed order (embeddings, layers, final, unembed).
pub fn expected_weights(config: &TransformerConfig) -> Vec<WeightSpec> {
    let (m, h, c, v) = (config.d_model, config.n_heads, config.d_head, config.vocab);
    let mut out = Vec::new();
    let mut push = |name: String, shape: Vec<usize>| out.push(WeightSpec { name, shape });
    push("t.w.tok_embeds".into(), vec![v, m]);
    if config.pos_enc != PosEncoding::None {
        push("t.w.pos_embeds".into(), vec![config.n_ctx, m]);
    }
    for l in 0..config.n_layers {
        push(format!("a{l}.ln.w.scale"), vec![m]);
        push(format!("a{l}.ln.w.bias"), vec![m]);
        for w in ["q", "k", "v"] {
            push(format!("a{l}.w.{w}"), vec![h, c, m]);
            if config.attn_bias {
                push(format!("a{l}.w.{w}_bias"), vec![h, c]);
            }
        }
        push(format!("a{l}.w.o"), vec![h, m, c]);
        if config.attn_bias {
            push(format!("a{l}.w.o_bias"), vec![m]);
        }
        if let Some(p) = config.d_mlp {
            push(format!("m{l}.ln.w.scale"), vec![m]);
            push(format!("m{l}.ln.w.bias"), vec![m]);
            push(format!("m{l}.w.proj_in"), vec![p, m]);
            if config.mlp_bias {
                push(format!("m{l}.w.in_bias"), vec![p]);
            }
            push(format!("m{l}.w.proj_out"), vec![m, p]);
            if config.mlp_bias {
                push(format!("m{l}.w.out_bias"), vec![m]);
            }
        }
    }
    if config.final_norm {
        push("final.ln.w.scale".into(), vec![m]);
        push("final.ln.w.bias".into(), vec![m]);
    }
    if !config.tied_unembed {
        push("t.w.unembed".into(), vec![v, m]);
    }
    if config.unembed_bias {
        push("t.w.unembed_bias".into(), vec![v]);
    }
    out
}

/// A model's weights under canonical names. Cheap to clone (tensors are shared).
#[derive(Debug, Clone, Default)]
pub struct Weights {
    tensors: BTreeMap<String, Tensor>,
}

impl Weights {
    /// No weights.
    pub fn new() -> Weights {
        Weights::default()
    }

    /// Adds or replaces one weight.
    pub fn insert(&mut self, name: impl Into<String>, tensor: Tensor) {
        self.tensors.insert(name.into(), tensor);
    }

    /// One weight.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// One weight, or [`ModelError::NoSuchNode`]-style error naming it.
    ///
    /// # Errors
    /// [`ModelError::MissingTensor`] when absent.
    pub fn require(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| ModelError::MissingTensor {
            source_name: "weights".into(),
            checkpoint_name: name.into(),
            ours: name.into(),
            hint: String::new(),
        })
    }

    /// All weights by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of weights.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Every weight converted to `dtype` (e.g. float64 for oracle comparisons).
    pub fn cast(&self, dtype: DType) -> Weights {
        Weights { tensors: self.tensors.iter().map(|(k, t)| (k.clone(), t.cast(dtype))).collect() }
    }

    /// The float dtype of the weights (that of `t.w.tok_embeds`; float32 if absent).
    pub fn dtype(&self) -> DType {
        self.tensors.get("t.w.tok_embeds").map_or(DType::F32, Tensor::dtype)
    }

    /// Checks every weight `config` needs is present with the right shape and a float
    /// dtype shared by all of them. Extra weights are allowed.
    ///
    /// # Errors
    /// [`ModelError::MissingTensor`], [`ModelError::TensorShape`] or
    /// [`ModelError::TensorDType`] for the first problem, listing every missing name.
    pub fn validate(&self, config: &TransformerConfig) -> Result<()> {
        let expected = expected_weights(config);
        let missing: Vec<&str> = expected
            .iter()
            .filter(|w| !self.tensors.contains_key(&w.name))
            .map(|w| w.name.as_str())
            .collect();
        if let Some(first) = missing.first() {
            return Err(ModelError::MissingTensor {
                source_name: "weights".into(),
                checkpoint_name: (*first).to_string(),
                ours: (*first).to_string(),
                hint: if missing.len() > 1 {
                    format!("; also missing: {}", missing[1..].join(", "))
                } else {
                    String::new()
                },
            });
        }
        let dtype = self.dtype();
        if !matches!(dtype, DType::F32 | DType::F64) {
            return Err(ModelError::TensorDType {
                name: "t.w.tok_embeds".into(),
                msg: format!("weights must be float32 or float64, got {dtype}"),
            });
        }
        for w in &expected {
            let t = self.require(&w.name)?;
            if t.shape() != w.shape.as_slice() {
                return Err(ModelError::TensorShape {
                    source_name: "weights".into(),
                    checkpoint_name: w.name.clone(),
                    ours: w.name.clone(),
                    expected: w.shape.clone(),
                    got: t.shape().to_vec(),
                });
            }
            if t.dtype() != dtype {
                return Err(ModelError::TensorDType {
                    name: w.name.clone(),
                    msg: format!(
                        "dtype {} differs from the embedding's {dtype}; cast all weights to one dtype",
                        t.dtype()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Random weights for `config` (seeded, reproducible): embeddings and projections
    /// `N(0, std²)` with `std = 1/sqrt(d_model)` (`0.02·…` would make attention uniform),
    /// biases `N(0, 0.02²)`, layer-norm scales `1 + N(0, 0.05²)`. For tests and
    /// benchmarks.
    ///
    /// # Errors
    /// Tensor construction errors (never for valid configurations).
    pub fn random(config: &TransformerConfig, seed: u64, dtype: DType) -> Result<Weights> {
        let mut w = Weights::new();
        let base = 1.0 / (config.d_model as f64).sqrt();
        for (i, spec) in expected_weights(config).into_iter().enumerate() {
            let t = Tensor::randn(&spec.shape, DType::F64, seed.wrapping_add(i as u64 * 7919))?;
            let n = &spec.name;
            let (mul, add) = if n.ends_with("ln.w.scale") {
                (0.05, 1.0)
            } else if n.contains("bias") {
                (0.02, 0.0)
            } else if n.contains("embeds") {
                (0.5, 0.0)
            } else {
                (base, 0.0)
            };
            let vals: Vec<f64> = t.to_f64_vec().into_iter().map(|x| x * mul + add).collect();
            w.insert(spec.name, Tensor::from_vec(&spec.shape, vals)?.cast(dtype));
        }
        Ok(w)
    }
}

impl FromIterator<(String, Tensor)> for Weights {
    fn from_iter<I: IntoIterator<Item = (String, Tensor)>>(iter: I) -> Weights {
        Weights { tensors: iter.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_weights_validate() {
        let cfg = TransformerConfig::gpt2(2, 2, 8, 11, 7);
        let w = Weights::random(&cfg, 1, DType::F32).expect("random");
        assert!(w.validate(&cfg).is_ok());
        let mut broken = w.clone();
        broken.insert("a1.w.q", Tensor::full(&[2, 3, 8], 0.0, DType::F32));
        let e = broken.validate(&cfg).expect_err("bad shape");
        assert!(e.to_string().contains("a1.w.q"), "{e}");
        let partial: Weights = w
            .iter()
            .filter(|(n, _)| !n.starts_with("m1"))
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        let e = partial.validate(&cfg).expect_err("missing");
        assert!(e.to_string().contains("m1.ln.w.scale"), "{e}");
    }
}
