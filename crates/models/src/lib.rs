//! Transformer models as circuits: GPT-2-style and attention-only builders made of
//! rust_circuit-style module specs, weight loading, head splitting, attention-pattern
//! nodes and a head detector.
//!
//! ```
//! use circuit_models::{tokens_array, HeadSplit, Transformer, TransformerConfig, Weights};
//! use circuit_tensor::{DType, Tensor};
//!
//! let config = TransformerConfig::attn_only(2, 2, 16, 8, 11, 7);
//! let weights = Weights::random(&config, 0, DType::F32)?;
//! let split = HeadSplit::new().split_off(1, &[1], "a1.ind", "a1.not_ind");
//! let model = Transformer::with_split(config, weights, split)?;
//! let toks = tokens_array(&Tensor::from_vec(&[2, 8], (0..16i64).map(|i| i % 11).collect())?, "toks")?;
//! let loss = model.loss(&toks)?; // 't.loss' [2, 7]
//! let nll = circuit_eval::evaluate(&loss)?;
//! assert_eq!(nll.shape(), &[2, 7]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The circuit and its node names
//!
//! The names follow rust_circuit's `module_library` and the REMIX induction notebook
//! (shown for an attention-only shortformer model; `l` is a layer, `g` a head group):
//!
//! ```text
//! 't.loss' Module [..., S]                      nll(ll.input ← t.call, ll.label ← true_toks)
//!   'nll' Einsum ,->                            spec: -log_softmax(ll.input)[ll.label]
//!   't.call' Module [..., S, vocab] ! 'll.input'
//!     't.bind_w' Einsum sh,vh->sv [SEQ, vocab]  the model: free symbols t.input, a.mask, a.pos_input
//!       'final.norm' Module                     ln(b{L-1})
//!         'ln' …                                layer-norm spec
//!         'b1' Add ! 'ln.input'                 residual after block 1 = b0 + b1.a
//!           'b0' Add                            t.input + b0.a
//!           'b1.a' Add                          attention output = Σ groups (+ a1.w.o_bias)
//!             'a1.ind' Module                   group g = heads of g, binds a.input ← a1.norm
//!               'a1.ind.sum' Einsum hsd->sd     sum over the group's heads
//!                 'a1.ind.heads' Module         [heads of g, SEQ, d_model]
//!                   'a.head.on_inp' Module      a.head(q ← a.qk_input, k ← a.qk_input, v ← a.input)
//!                   'a1.w.q.ind' Index ! 'a.w.q_h'   a1.w.q[[5, 6]], … (whole arrays when unsplit)
//!               'a1.norm' Module ! 'a.input'    ln(b0) with a1.ln.w.scale / a1.ln.w.bias
//!             'a1.not_ind' Module …
//!             'a1.w.o_bias' Array
//!         'final.ln.w.bias' Array ! 'ln.w.bias'
//!       't.w.unembed' Array                     (t.w.tok_embeds when tied)
//!     'idxed_embeds' GeneralFunction gen_index ! 't.input'   t.w.tok_embeds[input_toks]
//!     't.a.c.causal_mask' Array [S, S] ! 'a.mask'
//!     't.w.pos_embeds_idxed' Index ! 'a.pos_input'           t.w.pos_embeds[:S]
//!   'true_toks' Index ! 'll.label'
//! ```
//!
//! * Blocks: `b{l}` is the residual stream after block `l`; `b{l}.a` the attention
//!   output; with MLPs `b{l}.resid.a` = `b{l-1} + b{l}.a`, `m{l}.norm` its layer norm,
//!   `b{l}.m` the MLP call (spec `m` / `m.p_bias`) and `b{l}` = `b{l}.resid.a + b{l}.m`.
//! * Layer norms: `a{l}.norm` (before attention `l`), `m{l}.norm`, `final.norm`: calls of
//!   the `ln` spec (`ln.input`, `ln.w.scale`, `ln.w.bias`).
//! * Head groups ([`HeadSplit`]): without a split each layer is one group `a{l}`
//!   (`a{l}`, `a{l}.sum`, `a{l}.heads`, whole weight arrays); a split layer has one group
//!   per name (`a1.ind`, `a1.not_ind`, or `a{l}.h{h}` with [`HeadSplit::full`]) whose
//!   weight slices are `a{l}.w.{q,k,v,o,q_bias,k_bias,v_bias}.{suffix}` (suffix = the
//!   group name without `a{l}.`). The groups of a layer sum to `b{l}.a` (minus the
//!   output bias).
//! * Inside `a.head` (one head, spec): `a.q`, `a.q_p_bias`, `a.k`, `a.k_p_bias`,
//!   `a.attn_scores_raw` (`q·k · a.c.div_head_size · a.mask`), `a.not_mask`,
//!   `a.score_neg_inf_bias` (`(1 − a.mask) · a.neg_inf`, -10000), `a.attn_scores`,
//!   `a.attn_probs`, `a.v`, `a.v_p_bias`, `a.comb_v`, `a.head`. `a.head.on_inp`'s
//!   children 1, 2, 3 are the q, k and v inputs.
//! * Token inputs: `toks` `[..., S+1]` — an int64 Array ([`tokens_array`]) or a
//!   DiscreteVar over dataset rows ([`token_dataset_var`], e.g. `toks_int_var`) — split
//!   by [`split_tokens`] into `input_toks` and `true_toks`; `idxed_embeds` =
//!   `t.w.tok_embeds[input_toks]`. With GPT positions `t.inp_tok_pos` = `idxed_embeds +
//!   t.w.pos_embeds_idxed` is bound to `t.input` and there is no `a.pos_input`.
//! * Weights: Arrays under their canonical names ([`weights`] module docs).
//!
//! # Attention-pattern nodes
//!
//! [`Transformer::node`] returns any named node of `t.bind_w` and also builds the
//! pattern nodes, which live beside the model rather than inside it:
//!
//! * `a{l}.probs` `[n_heads, SEQ, SEQ]` (query × key): every head of layer `l`,
//!   computed by the same spec (`a.probs.on_inp`: the `a.attn_probs` part of `a.head`)
//!   on the same `a{l}.norm` and weights as the model;
//! * `a{l}.h{h}.probs` `[SEQ, SEQ]`: head `h` of it.
//!
//! Both have the model's free symbols; bind them to tokens with
//! [`Transformer::bind_tokens`] (`[..., n_heads, S, S]` after binding).
//!
//! # Sequence length and batching
//!
//! `SEQ` is a symbolic size inside `t.bind_w`, so one model serves every length up to
//! `n_ctx`; the token input fixes it. Leading dims of the tokens are batch dims of every
//! bound circuit (module batching).
//!
//! # Differences from rust_circuit
//!
//! * Weights are bound where they are used (per layer and per head group), as after
//!   rust_circuit's `configure_transformer(to=ATTN_HEAD_MLP_NORM, split_by_head_config,
//!   use_pull_up_head_split=True)`, instead of all at the top by a `t.bind_w` module;
//!   `t.bind_w` names the resulting logits circuit, whose free symbols are those of the
//!   reference's `t.bind_w` (`t.input`, `a.mask`, `a.pos_input`).
//! * A head group `a1.ind` is the group's summed contribution `[SEQ, d_model]`; the
//!   per-head batch is `a1.ind.heads`.
//! * The attention spec's model width is concrete (it is bound across nested modules),
//!   and query and key sequences share `SEQ`.
//! * `ll` gathers with `gen_index_at_-1_batch_x_c` (rust_circuit: `…_at_0_…`; same
//!   values, but `circuit-eval` reads a non-negative `index_dim` of a batched gen_index as
//!   an absolute dim).

mod config;
mod error;
mod heads;
mod load;
mod model;
pub mod specs;
pub mod weights;

pub use config::{Activation, HeadGroup, HeadSplit, PosEncoding, TransformerConfig};
pub use error::{ModelError, Result};
pub use heads::{
    all_probs, detect_heads, repeated_random_tokens, DetectOptions, HeadKind, HeadTable,
};
pub use load::{load_model_dir, load_weights, read_config, Checkpoint, NameScheme};
pub use model::{split_tokens, token_dataset_var, tokens_array, Transformer};
pub use weights::{expected_weights, WeightSpec, Weights};
