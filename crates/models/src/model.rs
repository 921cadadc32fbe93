//! [`Transformer`]: builds the model circuit (`t.bind_w`) from a configuration, weights
//! and a head split, and binds it to token inputs (`t.call`) and the loss (`t.loss`).
//! The node names are listed in the crate docs.

use std::collections::BTreeMap;

use circuit_ir::kinds::{GfSpec, IndexTensor, Slice, TensorAxisIndex};
use circuit_ir::size::symbolic_size;
use circuit_ir::{Circuit, DType, Kind, Tensor, Uuid};

use crate::config::{HeadGroup, HeadSplit, PosEncoding, TransformerConfig};
use crate::specs::{bind, sizes, ModuleSpecs};
use crate::weights::Weights;
use crate::{ModelError, Result};

/// A transformer as a circuit. Build once; bind to as many inputs as needed.
#[derive(Debug, Clone)]
pub struct Transformer {
    config: TransformerConfig,
    weights: Weights,
    split: HeadSplit,
    specs: ModuleSpecs,
    arrays: BTreeMap<String, Circuit>,
    t_input: Circuit,
    norms: Vec<Circuit>,
    body: Circuit,
}

fn rename(c: Circuit, name: &str) -> Result<Circuit> {
    Ok(c.rename(Some(name))?)
}

/// The suffix a group's weight slices get: the group name without the layer prefix
/// (`a1.ind` → `ind`).
fn group_suffix(layer: usize, group: &str) -> String {
    let prefix = format!("a{layer}.");
    group.strip_prefix(&prefix).unwrap_or(group).to_string()
}

impl Transformer {
    /// Builds the model without head splits.
    ///
    /// # Errors
    /// Configuration and weight validation errors.
    pub fn new(config: TransformerConfig, weights: Weights) -> Result<Transformer> {
        Transformer::with_split(config, weights, HeadSplit::new())
    }

    /// Builds the model with the given head split.
    ///
    /// # Errors
    /// [`ModelError::Config`] for a bad configuration or split; weight errors (missing,
    /// mis-shaped, mixed dtypes).
    pub fn with_split(
        config: TransformerConfig,
        weights: Weights,
        split: HeadSplit,
    ) -> Result<Transformer> {
        config.validate()?;
        split.validate(&config)?;
        weights.validate(&config)?;
        let specs = ModuleSpecs::new(&config)?;
        let mut arrays = BTreeMap::new();
        for (name, t) in weights.iter() {
            arrays.insert(name.to_string(), Circuit::array(t.clone(), Some(name))?);
        }
        let seq = symbolic_size(sizes::SEQ)?;
        let t_input = Circuit::symbol(
            &[seq, config.d_model],
            Uuid::from_u128(0xece2_bb5d_c6d6_4b7a_93a5_32b5_ac26_4888),
            Some("t.input"),
        )?;
        let mut model = Transformer {
            config,
            weights,
            split,
            specs,
            arrays,
            t_input: t_input.clone(),
            norms: Vec::new(),
            body: t_input,
        };
        model.body = model.build_body()?;
        Ok(model)
    }

    fn arr(&self, name: &str) -> Result<Circuit> {
        self.arrays.get(name).cloned().ok_or_else(|| ModelError::MissingTensor {
            source_name: "weights".into(),
            checkpoint_name: name.into(),
            ours: name.into(),
            hint: String::new(),
        })
    }

    /// A weight restricted to a group's heads (`a1.w.q.ind` = `a1.w.q[[5, 6]]`), or the
    /// whole weight when the group has every head in order.
    fn head_weight(&self, layer: usize, w: &str, group: &HeadGroup) -> Result<Circuit> {
        let full = self.arr(&format!("a{layer}.w.{w}"))?;
        if group.heads.iter().copied().eq(0..self.config.n_heads) {
            return Ok(full);
        }
        let idx: Vec<i64> = group.heads.iter().map(|&h| h as i64).collect();
        let t = Tensor::from_vec(&[idx.len()], idx)?;
        let name = format!("a{layer}.w.{w}.{}", group_suffix(layer, &group.name));
        rename(full.index(vec![TensorAxisIndex::Tensor(IndexTensor::new(t)?)])?, &name)
    }

    /// The weight bindings of a group's heads module (`{group}.heads`).
    fn group_head_args(
        &self,
        layer: usize,
        group: &HeadGroup,
        with_v: bool,
    ) -> Result<Vec<(Circuit, Circuit)>> {
        let ws = &self.specs.attn.weights;
        let mut args = vec![(ws.q.clone(), self.head_weight(layer, "q", group)?)];
        if let Some(b) = &ws.q_bias {
            args.push((b.clone(), self.head_weight(layer, "q_bias", group)?));
        }
        args.push((ws.k.clone(), self.head_weight(layer, "k", group)?));
        if let Some(b) = &ws.k_bias {
            args.push((b.clone(), self.head_weight(layer, "k_bias", group)?));
        }
        if with_v {
            args.push((ws.v.clone(), self.head_weight(layer, "v", group)?));
            if let Some(b) = &ws.v_bias {
                args.push((b.clone(), self.head_weight(layer, "v_bias", group)?));
            }
            args.push((ws.o.clone(), self.head_weight(layer, "o", group)?));
        }
        Ok(args)
    }

    fn attention_layer(&self, layer: usize, norm: &Circuit) -> Result<Circuit> {
        let attn = &self.specs.attn;
        let mut parts = Vec::new();
        for group in self.split.groups(layer, self.config.n_heads) {
            let args = self.group_head_args(layer, &group, true)?;
            let refs: Vec<(&Circuit, &Circuit)> = args.iter().map(|(s, i)| (s, i)).collect();
            let heads = bind(&attn.head_on_inp, &refs, &format!("{}.heads", group.name))?;
            let sum = rename(Circuit::einsum("hsd->sd", [heads])?, &format!("{}.sum", group.name))?;
            parts.push(bind(&sum, &[(&attn.input, norm)], &group.name)?);
        }
        if self.config.attn_bias {
            parts.push(self.arr(&format!("a{layer}.w.o_bias"))?);
        }
        rename(Circuit::sum_of(parts)?, &format!("b{layer}.a"))
    }

    fn build_body(&mut self) -> Result<Circuit> {
        let ln = self.specs.ln.clone();
        let mut resid = self.t_input.clone();
        let mut norms = Vec::new();
        for l in 0..self.config.n_layers {
            let norm = ln.call(
                &resid,
                &self.arr(&format!("a{l}.ln.w.scale"))?,
                &self.arr(&format!("a{l}.ln.w.bias"))?,
                &format!("a{l}.norm"),
            )?;
            norms.push(norm.clone());
            let attn_out = self.attention_layer(l, &norm)?;
            resid = match &self.specs.mlp {
                None => rename(resid.add(&attn_out)?, &format!("b{l}"))?,
                Some(mlp) => {
                    let resid_a = rename(resid.add(&attn_out)?, &format!("b{l}.resid.a"))?;
                    let mnorm = ln.call(
                        &resid_a,
                        &self.arr(&format!("m{l}.ln.w.scale"))?,
                        &self.arr(&format!("m{l}.ln.w.bias"))?,
                        &format!("m{l}.norm"),
                    )?;
                    let mut args = vec![
                        (mlp.input.clone(), mnorm),
                        (mlp.proj_in.clone(), self.arr(&format!("m{l}.w.proj_in"))?),
                        (mlp.proj_out.clone(), self.arr(&format!("m{l}.w.proj_out"))?),
                    ];
                    if let (Some(bi), Some(bo)) = (&mlp.in_bias, &mlp.out_bias) {
                        args.push((bi.clone(), self.arr(&format!("m{l}.w.in_bias"))?));
                        args.push((bo.clone(), self.arr(&format!("m{l}.w.out_bias"))?));
                    }
                    let refs: Vec<(&Circuit, &Circuit)> =
                        args.iter().map(|(s, i)| (s, i)).collect();
                    let m_out = bind(&mlp.body, &refs, &format!("b{l}.m"))?;
                    rename(resid_a.add(&m_out)?, &format!("b{l}"))?
                }
            };
        }
        self.norms = norms;
        let fin = if self.config.final_norm {
            ln.call(
                &resid,
                &self.arr("final.ln.w.scale")?,
                &self.arr("final.ln.w.bias")?,
                "final.norm",
            )?
        } else {
            resid
        };
        let unembed =
            self.arr(if self.config.tied_unembed { "t.w.tok_embeds" } else { "t.w.unembed" })?;
        let logits = Circuit::einsum("sh,vh->sv", [fin, unembed])?;
        if self.config.unembed_bias {
            let logits = rename(logits, "t.logits")?;
            rename(logits.add(&self.arr("t.w.unembed_bias")?)?, "t.bind_w")
        } else {
            rename(logits, "t.bind_w")
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// The weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The head split.
    pub fn split(&self) -> &HeadSplit {
        &self.split
    }

    /// The module specs.
    pub fn specs(&self) -> &ModuleSpecs {
        &self.specs
    }

    /// `t.bind_w` `[SEQ, vocab]`: the logits as a function of the free symbols `t.input`
    /// `[SEQ, d_model]`, `a.mask` `[SEQ, SEQ]` and (shortformer) `a.pos_input`
    /// `[SEQ, d_model]`, with `SEQ` symbolic.
    pub fn body(&self) -> &Circuit {
        &self.body
    }

    /// The `t.input` symbol.
    pub fn input_symbol(&self) -> &Circuit {
        &self.t_input
    }

    /// The weight Array named `name` (canonical name, e.g. `t.w.tok_embeds`).
    ///
    /// # Errors
    /// [`ModelError::MissingTensor`] for unknown names.
    pub fn weight_array(&self, name: &str) -> Result<Circuit> {
        self.arr(name)
    }

    /// `idxed_embeds` `[..., S, d_model]`: the token embeddings of int64 `input_toks`
    /// `[..., S]` (`gen_index` of `t.w.tok_embeds` along its rows).
    ///
    /// # Errors
    /// Shape errors.
    pub fn embed(&self, input_toks: &Circuit) -> Result<Circuit> {
        let gf = Circuit::general_function(
            GfSpec::GenIndex {
                index_dim: 0,
                batch_x: false,
                batch_index: true,
                check_index_ints: true,
            },
            vec![self.arr("t.w.tok_embeds")?, input_toks.clone()],
        )?;
        rename(gf, "idxed_embeds")
    }

    /// Binds a circuit of the model's body space (free symbols among `t.input`,
    /// `a.mask`, `a.pos_input`) to token inputs `[..., S]`: `t.input` ← `idxed_embeds`
    /// (plus `t.w.pos_embeds_idxed` with GPT positions), `a.mask` ←
    /// `t.a.c.causal_mask` `[S, S]`, `a.pos_input` ← `t.w.pos_embeds_idxed`
    /// (`t.w.pos_embeds[:S]`). Only symbols free in `circuit` are bound. The result has
    /// `circuit`'s shape with `SEQ` = S, batched over the tokens' leading dims.
    ///
    /// # Errors
    /// [`ModelError::Tokens`] for sequences longer than `n_ctx` or empty ones; binding
    /// errors.
    pub fn bind_tokens(
        &self,
        circuit: &Circuit,
        input_toks: &Circuit,
        name: &str,
    ) -> Result<Circuit> {
        let s = *input_toks
            .shape()
            .last()
            .ok_or_else(|| ModelError::Tokens("token input must have rank at least 1".into()))?;
        if s == 0 {
            return Err(ModelError::Tokens("empty token sequence".into()));
        }
        if self.config.pos_enc != PosEncoding::None && s > self.config.n_ctx {
            return Err(ModelError::Tokens(format!(
                "sequence length {s} exceeds the model's {} positions",
                self.config.n_ctx
            )));
        }
        let dtype = self.weights.dtype();
        let pos = if self.config.pos_enc == PosEncoding::None {
            None
        } else {
            let slice = TensorAxisIndex::Slice(Slice { start: Some(0), stop: Some(s as i64) });
            Some(rename(self.arr("t.w.pos_embeds")?.index(vec![slice])?, "t.w.pos_embeds_idxed")?)
        };
        let embeds = self.embed(input_toks)?;
        let inp = match (&pos, self.config.pos_enc) {
            (Some(p), PosEncoding::Gpt) => rename(embeds.add(p)?, "t.inp_tok_pos")?,
            _ => embeds,
        };
        let mask = if self.config.causal {
            let vals: Vec<f64> =
                (0..s * s).map(|i| if i % s <= i / s { 1.0 } else { 0.0 }).collect();
            Circuit::array(Tensor::from_vec(&[s, s], vals)?.cast(dtype), Some("t.a.c.causal_mask"))?
        } else {
            Circuit::scalar(1.0, &[s, s], Some("t.a.c.full_mask"))?
        };
        let free = circuit.free_symbols();
        let is_free = |sym: &Circuit| free.iter().any(|f| f == sym);
        let mut args: Vec<(&Circuit, &Circuit)> = Vec::new();
        if is_free(&self.t_input) {
            args.push((&self.t_input, &inp));
        }
        if is_free(&self.specs.attn.mask) {
            args.push((&self.specs.attn.mask, &mask));
        }
        if let (Some(sym), Some(p)) = (&self.specs.attn.pos_input, &pos) {
            if is_free(sym) {
                args.push((sym, p));
            }
        }
        bind(circuit, &args, name)
    }

    /// `t.call` `[..., S, vocab]`: the logits on int64 tokens `[..., S]`.
    ///
    /// # Errors
    /// As [`Transformer::bind_tokens`].
    pub fn logits(&self, input_toks: &Circuit) -> Result<Circuit> {
        self.bind_tokens(&self.body, input_toks, "t.call")
    }

    /// `t.loss` `[..., S]`: per-position NLL of the next token for sequences `toks`
    /// `[..., S + 1]` (inputs `input_toks` = `toks[..., :-1]`, targets `true_toks` =
    /// `toks[..., 1:]`).
    ///
    /// # Errors
    /// [`ModelError::Tokens`] for sequences shorter than 2; as [`Transformer::logits`].
    pub fn loss(&self, toks: &Circuit) -> Result<Circuit> {
        let (input, targets) = split_tokens(toks)?;
        let logits = self.logits(&input)?;
        self.specs.nll.call(&logits, &targets, "t.loss")
    }

    /// `a{layer}.norm` in the body space: the layer norm feeding attention layer `layer`.
    ///
    /// # Errors
    /// [`ModelError::NoSuchNode`] for a layer out of range.
    pub fn attn_norm(&self, layer: usize) -> Result<Circuit> {
        self.norms
            .get(layer)
            .cloned()
            .ok_or_else(|| ModelError::NoSuchNode(format!("a{layer}.norm")))
    }

    /// `a{layer}.probs` `[n_heads, SEQ, SEQ]` in the body space: attention probabilities
    /// of every head of the layer (query × key), computed by the same specs and weights
    /// as the model (`a.probs.on_inp` batched over the heads' weights, bound to
    /// `a{layer}.norm`). Bind with [`Transformer::bind_tokens`].
    ///
    /// # Errors
    /// [`ModelError::NoSuchNode`] for a layer out of range.
    pub fn probs(&self, layer: usize) -> Result<Circuit> {
        let norm = self.attn_norm(layer)?;
        let all =
            HeadGroup { name: format!("a{layer}"), heads: (0..self.config.n_heads).collect() };
        let attn = &self.specs.attn;
        let args = self.group_head_args(layer, &all, false)?;
        let refs: Vec<(&Circuit, &Circuit)> = args.iter().map(|(s, i)| (s, i)).collect();
        let heads = bind(&attn.probs_on_inp, &refs, &format!("a{layer}.probs.heads"))?;
        bind(&heads, &[(&attn.input, &norm)], &format!("a{layer}.probs"))
    }

    /// `a{layer}.h{head}.probs` `[SEQ, SEQ]`: one head's attention probabilities.
    ///
    /// # Errors
    /// [`ModelError::NoSuchNode`] for an unknown layer or head.
    pub fn head_probs(&self, layer: usize, head: usize) -> Result<Circuit> {
        if head >= self.config.n_heads {
            return Err(ModelError::NoSuchNode(format!("a{layer}.h{head}.probs")));
        }
        let p = self.probs(layer)?;
        rename(
            p.index(vec![TensorAxisIndex::Int(head as i64)])?,
            &format!("a{layer}.h{head}.probs"),
        )
    }

    /// A named node of the body space: any node of `t.bind_w` by name (first in
    /// pre-order; names inside module specs such as `a.attn_probs` are generic and
    /// contain symbols), or a pattern node `a{l}.probs` / `a{l}.h{h}.probs`.
    ///
    /// # Errors
    /// [`ModelError::NoSuchNode`].
    pub fn node(&self, name: &str) -> Result<Circuit> {
        if let Some(rest) = name.strip_prefix('a').and_then(|r| r.strip_suffix(".probs")) {
            let mut it = rest.splitn(2, ".h");
            let layer = it.next().and_then(|l| l.parse::<usize>().ok());
            match (layer, it.next().map(str::parse::<usize>)) {
                (Some(l), None) if l < self.config.n_layers => return self.probs(l),
                (Some(l), Some(Ok(h))) if l < self.config.n_layers => return self.head_probs(l, h),
                _ => {}
            }
        }
        circuit_ir::traversal::preorder(std::slice::from_ref(&self.body))
            .into_iter()
            .find(|c| c.name() == Some(name))
            .ok_or_else(|| ModelError::NoSuchNode(name.to_string()))
    }

    /// Evaluates a circuit (no free symbols) with the evaluator's settings.
    ///
    /// # Errors
    /// Evaluation errors.
    pub fn evaluate(
        &self,
        circuit: &Circuit,
        settings: &circuit_eval::EvalSettings,
    ) -> Result<Tensor> {
        Ok(circuit_eval::evaluate_with(circuit, settings)?)
    }
}

/// An int64 Array of token ids (any integer dtype is cast), named `name`.
///
/// # Errors
/// [`ModelError::Tokens`] for a non-integer tensor.
pub fn tokens_array(tokens: &Tensor, name: &str) -> Result<Circuit> {
    if !tokens.dtype().is_int() {
        return Err(ModelError::Tokens(format!(
            "token ids must be integers, got {}",
            tokens.dtype()
        )));
    }
    Ok(Circuit::array(tokens.cast(DType::I64), Some(name))?)
}

/// `toks_int_var`-style random variable over the rows of a token dataset `[n, S + 1]`
/// (each row equally likely): a DiscreteVar of shape `[S + 1]` named `name` over an
/// int64 Array `{name}_vals`, with its own sampling group. Pass it to
/// [`Transformer::loss`]; the sampler (`circuit-sample`) adds the batch dims.
///
/// The group's Tag uuid is derived from the tokens' content hash and `name` (rust_circuit
/// draws a random one), so the same data, name and sampler seed give the same draws in
/// every run; use a different name (or `circuit_scrub::independent_var`) for an
/// independent variable over the same data.
///
/// # Errors
/// [`ModelError::Tokens`] for a non-integer or rank-0/empty tensor.
pub fn token_dataset_var(tokens: &Tensor, name: &str) -> Result<Circuit> {
    if tokens.ndim() < 2 || tokens.shape()[0] == 0 {
        return Err(ModelError::Tokens(format!(
            "a token dataset needs shape [n_rows, seq_len], got {:?}",
            tokens.shape()
        )));
    }
    let values = tokens_array(tokens, &format!("{name}_vals"))?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&tokens.hash().0[..16]);
    for (i, b) in name.bytes().enumerate() {
        id[i % 16] ^= b.rotate_left((i / 16) as u32);
    }
    let n = tokens.shape()[0];
    let group =
        Circuit::scalar(1.0 / n as f64, &[n], None)?.tag(circuit_ir::Uuid::from_bytes(id))?;
    rename(Circuit::discrete_var(values, group)?, name)
}

/// Splits sequences `toks` `[..., S + 1]` into `input_toks` (`[..., :-1]`) and
/// `true_toks` (`[..., 1:]`) Index nodes.
///
/// # Errors
/// [`ModelError::Tokens`] for rank 0 or fewer than 2 tokens.
pub fn split_tokens(toks: &Circuit) -> Result<(Circuit, Circuit)> {
    let n = *toks
        .shape()
        .last()
        .ok_or_else(|| ModelError::Tokens("token input must have rank at least 1".into()))?;
    if n < 2 {
        return Err(ModelError::Tokens(format!("need at least 2 tokens per sequence, got {n}")));
    }
    if toks.kind() != Kind::Array && toks.dtype().is_some_and(|d| !d.is_int()) {
        return Err(ModelError::Tokens("token circuit must be integer-valued".into()));
    }
    let lead = vec![TensorAxisIndex::FULL; toks.rank() - 1];
    let cut = |start: i64, stop: i64, name: &str| -> Result<Circuit> {
        let mut idx = lead.clone();
        idx.push(TensorAxisIndex::Slice(Slice { start: Some(start), stop: Some(stop) }));
        rename(toks.index(idx)?, name)
    };
    Ok((cut(0, n as i64 - 1, "input_toks")?, cut(1, n as i64, "true_toks")?))
}
