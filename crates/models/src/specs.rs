//! The module specs a transformer is assembled from, following rust_circuit's
//! `module_library.py`: layer norm (`ln`), one attention head (`a.head`, with
//! `a.head.on_inp` binding its q/k/v inputs), the MLP (`m` / `m.p_bias`) and the
//! negative log-likelihood (`nll`). Each spec is a circuit over Symbols; call sites are
//! Module nodes binding the symbols ([`Circuit::module`]).
//!
//! Sizes: where every symbol of a spec is bound at one call site the spec uses
//! rust_circuit's symbolic sizes (`ln`, `m`, `nll`: `HIDDEN`, `MLP_PROJ`,
//! `LOG_LIKELYHOOD_CLASSES`), so one spec serves any width. The attention head is bound
//! at several nested call sites (inputs, weights, mask), so its model width is concrete
//! and only the sequence (`SEQ`), query/key width (`QK_DIM`) and value width (`V_DIM`)
//! are symbolic; the sequence is symbolic throughout the model body, which therefore
//! accepts any length up to `n_ctx`.

use circuit_ir::kinds::{GfSpec, ModuleArgSpec, SimpleFn};
use circuit_ir::size::symbolic_size;
use circuit_ir::{Circuit, Uuid};

use crate::config::{Activation, PosEncoding, TransformerConfig};
use crate::Result;

/// rust_circuit's symbolic size numbers (`symbolic_sizes()` order in `module_library`).
pub mod sizes {
    /// Model width.
    pub const HIDDEN: usize = 0;
    /// Sequence length.
    pub const SEQ: usize = 1;
    /// MLP hidden width.
    pub const MLP_PROJ: usize = 5;
    /// Query/key width of one head.
    pub const QK_DIM: usize = 7;
    /// Value width of one head.
    pub const V_DIM: usize = 8;
    /// Classes of the log-likelihood (the vocabulary).
    pub const LOG_LIKELYHOOD_CLASSES: usize = 9;
}

fn sym_size(k: usize) -> Result<usize> {
    Ok(symbolic_size(k)?)
}

/// Builds a symbol with a fixed uuid (derived from the name and a per-spec salt so the
/// same spec built twice is the same circuit).
fn symbol(shape: &[usize], name: &str) -> Result<Circuit> {
    let mut bytes = [0u8; 16];
    let h = fnv(name.as_bytes());
    bytes[..8].copy_from_slice(&h.to_le_bytes());
    bytes[8..].copy_from_slice(&fnv(&[name.as_bytes(), b"#circuit-models"].concat()).to_le_bytes());
    // Version 4 / variant bits so the uuid prints like any other.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Ok(Circuit::symbol(shape, Uuid::from_bytes(bytes), Some(name))?)
}

fn fnv(data: &[u8]) -> u64 {
    data.iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn named(c: circuit_ir::Result<Circuit>, name: &str) -> Result<Circuit> {
    Ok(c?.rename(Some(name))?)
}

fn einsum(spec: &str, children: &[&Circuit], name: &str) -> Result<Circuit> {
    named(Circuit::einsum(spec, children.iter().map(|c| (*c).clone())), name)
}

fn add(children: &[&Circuit], name: &str) -> Result<Circuit> {
    named(Circuit::sum_of(children.iter().map(|c| (*c).clone())), name)
}

fn apply(x: &Circuit, f: SimpleFn, name: &str) -> Result<Circuit> {
    named(x.apply(f), name)
}

fn scalar(v: f64, shape: &[usize], name: &str) -> Result<Circuit> {
    Ok(Circuit::scalar(v, shape, Some(name))?)
}

/// A Module call binding `(symbol, input)` pairs with default argument flags.
///
/// # Errors
/// Binding errors (shapes, batching).
pub fn bind(spec: &Circuit, args: &[(&Circuit, &Circuit)], name: &str) -> Result<Circuit> {
    let args = args
        .iter()
        .map(|(s, i)| Ok((ModuleArgSpec::new((*s).clone())?, (*i).clone())))
        .collect::<Result<Vec<_>>>()?;
    Ok(Circuit::module(spec.clone(), args, Some(name))?)
}

/// The layer-norm spec `ln` and its three symbols.
#[derive(Debug, Clone)]
pub struct LayerNormSpec {
    /// The body, named `ln`: `(x - mean) * rsqrt(var + eps) * scale + bias` over the last
    /// dim (biased variance).
    pub body: Circuit,
    /// `ln.input` `[HIDDEN]`.
    pub input: Circuit,
    /// `ln.w.bias` `[HIDDEN]`.
    pub bias: Circuit,
    /// `ln.w.scale` `[HIDDEN]`.
    pub scale: Circuit,
}

impl LayerNormSpec {
    /// Builds the spec with the given epsilon.
    ///
    /// # Errors
    /// Never for valid epsilons (construction is infallible by design).
    pub fn new(eps: f64) -> Result<LayerNormSpec> {
        let h = sym_size(sizes::HIDDEN)?;
        let input = symbol(&[h], "ln.input")?;
        let bias = symbol(&[h], "ln.w.bias")?;
        let scale = symbol(&[h], "ln.w.scale")?;
        let size = apply(&input, SimpleFn::LastDimSize, "ln.c.hidden_size")?;
        let recip = apply(&size, SimpleFn::Reciprocal, "ln.c.recip_hidden_size")?;
        let neg = scalar(-1.0, &[1], "ln.neg")?;
        let neg_mean = einsum("h,z,->z", &[&input, &neg, &recip], "ln.neg_mean")?;
        let mean_subbed = add(&[&input, &neg_mean], "ln.mean_subbed")?;
        let var = einsum("h,h,->", &[&mean_subbed, &mean_subbed, &recip], "ln.var")?;
        let eps = scalar(eps, &[], "ln.c.eps")?;
        let var_p_eps = add(&[&eps, &var], "ln.var_p_eps")?;
        let rsqrt = apply(&var_p_eps, SimpleFn::Rsqrt, "ln.rsqrt")?;
        let y = einsum("h,->h", &[&mean_subbed, &rsqrt], "ln.y")?;
        let y_scaled = einsum("h,h->h", &[&y, &scale], "ln.y_scaled")?;
        let body = add(&[&bias, &y_scaled], "ln")?;
        Ok(LayerNormSpec { body, input, bias, scale })
    }

    /// A call `name` = `ln(input)` with the given weights (rust_circuit's `X.norm`).
    ///
    /// # Errors
    /// Shape errors.
    pub fn call(
        &self,
        input: &Circuit,
        scale: &Circuit,
        bias: &Circuit,
        name: &str,
    ) -> Result<Circuit> {
        bind(&self.body, &[(&self.input, input), (&self.bias, bias), (&self.scale, scale)], name)
    }
}

/// The attention specs: one head (`a.head`), the head on the layer's input
/// (`a.head.on_inp`), the attention probabilities on the layer's input
/// (`a.probs.on_inp`), and the symbols.
#[derive(Debug, Clone)]
pub struct AttentionSpec {
    /// `a.head` `[SEQ, d_model]`: one head's output as a function of its q/k/v inputs,
    /// weights and `a.mask`.
    pub head: Circuit,
    /// `a.head.on_inp`: Module calling `a.head` with `a.q.input` ← `a.qk_input`,
    /// `a.k.input` ← `a.qk_input`, `a.v.input` ← `a.input` (children 1, 2, 3 in that
    /// order). Without shortformer positions the q/k inputs are `a.input` itself.
    pub head_on_inp: Circuit,
    /// `a.attn_probs` `[SEQ, SEQ]`: the head's attention probabilities (a node of
    /// `a.head`).
    pub probs: Circuit,
    /// `a.probs.on_inp`: Module calling `a.attn_probs` on the layer's input like
    /// `a.head.on_inp` (q and k inputs only).
    pub probs_on_inp: Circuit,
    /// `a.q.input`, `a.k.input`, `a.v.input` `[SEQ, d_model]`.
    pub qkv_inputs: [Circuit; 3],
    /// `a.input` `[SEQ, d_model]`: the layer-norm output of the layer.
    pub input: Circuit,
    /// `a.pos_input` `[SEQ, d_model]` (shortformer only).
    pub pos_input: Option<Circuit>,
    /// `a.mask` `[SEQ, SEQ]`: 1 where query `s` may attend to key `t`.
    pub mask: Circuit,
    /// Weight symbols in binding order: `a.w.q_h` `[QK_DIM, d_model]`, `a.w.q_bias_h`,
    /// `a.w.k_h`, `a.w.k_bias_h`, `a.w.v_h` `[V_DIM, d_model]`, `a.w.v_bias_h`,
    /// `a.w.o_h` `[d_model, V_DIM]` (bias entries are `None` without attention biases).
    pub weights: AttnWeightSymbols,
}

/// The per-head weight symbols of `a.head`.
#[derive(Debug, Clone)]
pub struct AttnWeightSymbols {
    /// `a.w.q_h` `[QK_DIM, d_model]`.
    pub q: Circuit,
    /// `a.w.q_bias_h` `[QK_DIM]`.
    pub q_bias: Option<Circuit>,
    /// `a.w.k_h` `[QK_DIM, d_model]`.
    pub k: Circuit,
    /// `a.w.k_bias_h` `[QK_DIM]`.
    pub k_bias: Option<Circuit>,
    /// `a.w.v_h` `[V_DIM, d_model]`.
    pub v: Circuit,
    /// `a.w.v_bias_h` `[V_DIM]`.
    pub v_bias: Option<Circuit>,
    /// `a.w.o_h` `[d_model, V_DIM]`.
    pub o: Circuit,
}

fn maybe_bias(x: Circuit, bias: Option<&Circuit>, name: &str) -> Result<Circuit> {
    match bias {
        Some(b) => add(&[&x, b], name),
        None => Ok(x),
    }
}

impl AttentionSpec {
    /// Builds the specs for a configuration (its width, biases, positions, mask value).
    ///
    /// # Errors
    /// Never for valid configurations.
    pub fn new(config: &TransformerConfig) -> Result<AttentionSpec> {
        let m = config.d_model;
        let seq = sym_size(sizes::SEQ)?;
        let qk = sym_size(sizes::QK_DIM)?;
        let vd = sym_size(sizes::V_DIM)?;
        let bias = |shape: &[usize], name: &str| -> Result<Option<Circuit>> {
            if config.attn_bias {
                Ok(Some(symbol(shape, name)?))
            } else {
                Ok(None)
            }
        };
        let weights = AttnWeightSymbols {
            q: symbol(&[qk, m], "a.w.q_h")?,
            q_bias: bias(&[qk], "a.w.q_bias_h")?,
            k: symbol(&[qk, m], "a.w.k_h")?,
            k_bias: bias(&[qk], "a.w.k_bias_h")?,
            v: symbol(&[vd, m], "a.w.v_h")?,
            v_bias: bias(&[vd], "a.w.v_bias_h")?,
            o: symbol(&[m, vd], "a.w.o_h")?,
        };
        let q_in = symbol(&[seq, m], "a.q.input")?;
        let k_in = symbol(&[seq, m], "a.k.input")?;
        let v_in = symbol(&[seq, m], "a.v.input")?;
        let mask = symbol(&[seq, seq], "a.mask")?;
        let w = &weights;

        let q = einsum("qd,cd->qc", &[&q_in, &w.q], "a.q")?;
        let q = maybe_bias(q, w.q_bias.as_ref(), "a.q_p_bias")?;
        let k = einsum("kd,cd->kc", &[&k_in, &w.k], "a.k")?;
        let k = maybe_bias(k, w.k_bias.as_ref(), "a.k_p_bias")?;
        let for_size = einsum("jk->j", &[&w.k], "a.c.bias_for_head_size")?;
        let head_size = apply(&for_size, SimpleFn::LastDimSize, "a.c.head_size")?;
        let div = apply(&head_size, SimpleFn::Rsqrt, "a.c.div_head_size")?;
        let raw = einsum("qc,kc,,qk->qk", &[&q, &k, &div, &mask], "a.attn_scores_raw")?;
        let not_mask = not_mask_call(&mask)?;
        let neg_inf = scalar(config.mask_value, &[], "a.neg_inf")?;
        let neg_bias = einsum("qk,->qk", &[&not_mask, &neg_inf], "a.score_neg_inf_bias")?;
        let scores = add(&[&raw, &neg_bias], "a.attn_scores")?;
        let probs = apply(&scores, SimpleFn::Softmax, "a.attn_probs")?;
        let v = einsum("kd,Vd->kV", &[&v_in, &w.v], "a.v")?;
        let v = maybe_bias(v, w.v_bias.as_ref(), "a.v_p_bias")?;
        let comb_v = einsum("qk,kV->qV", &[&probs, &v], "a.comb_v")?;
        let head = einsum("sV,dV->sd", &[&comb_v, &w.o], "a.head")?;

        let input = symbol(&[seq, m], "a.input")?;
        let (pos_input, qk_input) = if config.pos_enc == PosEncoding::Shortformer {
            let pos = symbol(&[seq, m], "a.pos_input")?;
            let qk_input = add(&[&input, &pos], "a.qk_input")?;
            (Some(pos), qk_input)
        } else {
            (None, input.clone())
        };
        let head_on_inp = bind(
            &head,
            &[(&q_in, &qk_input), (&k_in, &qk_input), (&v_in, &input)],
            "a.head.on_inp",
        )?;
        let probs_on_inp =
            bind(&probs, &[(&q_in, &qk_input), (&k_in, &qk_input)], "a.probs.on_inp")?;
        Ok(AttentionSpec {
            head,
            head_on_inp,
            probs,
            probs_on_inp,
            qkv_inputs: [q_in, k_in, v_in],
            input,
            pos_input,
            mask,
            weights,
        })
    }
}

/// `a.not_mask` = `not_mask(a.mask)` = `1 - a.mask` as a call of the `not_mask` spec.
fn not_mask_call(mask: &Circuit) -> Result<Circuit> {
    let inp = symbol(&[], "not_mask.input")?;
    let one = scalar(1.0, &[], "one")?;
    let neg_one = scalar(-1.0, &[], "neg_one")?;
    let neg = einsum(",->", &[&inp, &neg_one], "not_mask.neg_mask")?;
    let body = add(&[&one, &neg], "not_mask")?;
    bind(&body, &[(&inp, mask)], "a.not_mask")
}

/// The MLP spec (`m`, or `m.p_bias` with an output bias) and its symbols.
#[derive(Debug, Clone)]
pub struct MlpSpec {
    /// The body: `act(x @ proj_inᵀ + in_bias) @ proj_outᵀ (+ out_bias)`.
    pub body: Circuit,
    /// `m.input` `[HIDDEN]`.
    pub input: Circuit,
    /// `m.w.proj_in` `[MLP_PROJ, HIDDEN]`.
    pub proj_in: Circuit,
    /// `m.w.in_bias` `[MLP_PROJ]` (with MLP biases).
    pub in_bias: Option<Circuit>,
    /// `m.w.proj_out` `[HIDDEN, MLP_PROJ]`.
    pub proj_out: Circuit,
    /// `m.w.out_bias` `[HIDDEN]` (with MLP biases).
    pub out_bias: Option<Circuit>,
}

impl MlpSpec {
    /// Builds the spec.
    ///
    /// # Errors
    /// Never.
    pub fn new(act: Activation, biases: bool) -> Result<MlpSpec> {
        let h = sym_size(sizes::HIDDEN)?;
        let p = sym_size(sizes::MLP_PROJ)?;
        let input = symbol(&[h], "m.input")?;
        let proj_in = symbol(&[p, h], "m.w.proj_in")?;
        let proj_out = symbol(&[h, p], "m.w.proj_out")?;
        let (in_bias, out_bias) = if biases {
            (Some(symbol(&[p], "m.w.in_bias")?), Some(symbol(&[h], "m.w.out_bias")?))
        } else {
            (None, None)
        };
        let pre = einsum("i,hi->h", &[&input, &proj_in], "m.pre_mul")?;
        let pre = maybe_bias(pre, in_bias.as_ref(), "m.pre")?;
        let f = match act {
            Activation::GeluNew => SimpleFn::GeluNew,
            Activation::Gelu => SimpleFn::Gelu,
            Activation::Relu => SimpleFn::Relu,
        };
        let act = apply(&pre, f, "m.act")?;
        let out = einsum("h,oh->o", &[&act, &proj_out], "m")?;
        let body = maybe_bias(out, out_bias.as_ref(), "m.p_bias")?;
        Ok(MlpSpec { body, input, proj_in, in_bias, proj_out, out_bias })
    }
}

/// The negative log-likelihood spec `nll` (rust_circuit's `negative_log_likelyhood`).
#[derive(Debug, Clone)]
pub struct NllSpec {
    /// `nll` `[]` = `-log_softmax(ll.input)[ll.label]`.
    pub body: Circuit,
    /// `ll.input` `[LOG_LIKELYHOOD_CLASSES]`: logits.
    pub input: Circuit,
    /// `ll.label` `[]`: the target class (int64).
    pub label: Circuit,
}

impl NllSpec {
    /// Builds the spec.
    ///
    /// # Errors
    /// Never.
    pub fn new() -> Result<NllSpec> {
        let c = sym_size(sizes::LOG_LIKELYHOOD_CLASSES)?;
        let input = symbol(&[c], "ll.input")?;
        let label = symbol(&[], "ll.label")?;
        let log_probs = apply(&input, SimpleFn::LogSoftmax, "log_probs")?;
        let ll = named(
            Circuit::general_function(
                GfSpec::GenIndex {
                    // -1, not rust_circuit's 0: the same gather, but circuit-eval reads a
                    // non-negative index_dim of a batched gen_index as an absolute dim.
                    index_dim: -1,
                    batch_x: true,
                    batch_index: true,
                    check_index_ints: true,
                },
                vec![log_probs, label.clone()],
            ),
            "ll",
        )?;
        let neg = scalar(-1.0, &[], "nll.neg")?;
        let body = einsum(",->", &[&ll, &neg], "nll")?;
        Ok(NllSpec { body, input, label })
    }

    /// `name` = `nll(logits, labels)`, batched over the leading dims of both.
    ///
    /// # Errors
    /// Shape errors (labels must have the logits' shape without the last dim).
    pub fn call(&self, logits: &Circuit, labels: &Circuit, name: &str) -> Result<Circuit> {
        bind(&self.body, &[(&self.input, logits), (&self.label, labels)], name)
    }
}

/// Every spec a model uses, built once per configuration.
#[derive(Debug, Clone)]
pub struct ModuleSpecs {
    /// Layer norm.
    pub ln: LayerNormSpec,
    /// Attention.
    pub attn: AttentionSpec,
    /// The MLP (`None` for attention-only models).
    pub mlp: Option<MlpSpec>,
    /// The loss.
    pub nll: NllSpec,
}

impl ModuleSpecs {
    /// Builds the specs of a configuration.
    ///
    /// # Errors
    /// Never for validated configurations.
    pub fn new(config: &TransformerConfig) -> Result<ModuleSpecs> {
        Ok(ModuleSpecs {
            ln: LayerNormSpec::new(config.ln_eps)?,
            attn: AttentionSpec::new(config)?,
            mlp: match config.d_mlp {
                Some(_) => Some(MlpSpec::new(config.mlp_act, config.mlp_bias)?),
                None => None,
            },
            nll: NllSpec::new()?,
        })
    }
}
