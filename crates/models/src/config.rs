//! [`TransformerConfig`] (the architecture) and [`HeadSplit`] (which heads get their own
//! named nodes), plus reading configurations from the JSON files that ship with
//! checkpoints.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{ModelError, Result};

/// How token positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PosEncoding {
    /// GPT-2: position embeddings are added to the token embeddings (`t.input` is
    /// `idxed_embeds + t.w.pos_embeds_idxed`).
    Gpt,
    /// Shortformer: position embeddings are added to the layer-norm output feeding the
    /// queries and keys of every attention layer (`a.qk_input = a.input + a.pos_input`);
    /// values read the layer-norm output alone and the residual stream never contains
    /// positions.
    Shortformer,
    /// No positional information.
    None,
}

/// The MLP nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// GPT-2's tanh approximation of GELU (`gelu_new`).
    GeluNew,
    /// Exact (erf) GELU.
    Gelu,
    /// ReLU.
    Relu,
}

/// The architecture of a transformer: sizes and the options the builders support.
///
/// Two families are covered: GPT-2 ([`TransformerConfig::gpt2`]: attention + MLP blocks,
/// GPT positions, tied unembedding) and rust_circuit's attention-only models
/// ([`TransformerConfig::attn_only`]: no MLPs, shortformer positions, untied unembedding),
/// and any mix of the options in between.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerConfig {
    /// Number of blocks.
    pub n_layers: usize,
    /// Attention heads per layer.
    pub n_heads: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Width of one head's queries, keys and values.
    pub d_head: usize,
    /// Hidden width of the MLPs; `None` for an attention-only model.
    pub d_mlp: Option<usize>,
    /// Vocabulary size (rows of the token embedding and of the unembedding).
    pub vocab: usize,
    /// Number of position embeddings (the longest sequence the model accepts).
    pub n_ctx: usize,
    /// Position encoding.
    pub pos_enc: PosEncoding,
    /// Biases on queries, keys, values and the attention output.
    pub attn_bias: bool,
    /// Biases on the MLP's input and output projections.
    pub mlp_bias: bool,
    /// The MLP nonlinearity.
    pub mlp_act: Activation,
    /// Layer-norm epsilon (added to the variance).
    pub ln_eps: f64,
    /// A layer norm before the unembedding (`final.norm`).
    pub final_norm: bool,
    /// Unembed with the token embedding matrix (`t.w.tok_embeds`) instead of a separate
    /// `t.w.unembed`.
    pub tied_unembed: bool,
    /// A bias on the logits (`t.w.unembed_bias`).
    pub unembed_bias: bool,
    /// Causal attention (query `s` sees keys `t <= s`); otherwise every key is visible.
    pub causal: bool,
    /// The value added to masked scores: rust_circuit's `a.neg_inf`, -10000.
    pub mask_value: f64,
}

impl TransformerConfig {
    /// rust_circuit's `attention_only_2` family (and perf workload W1): attention-only,
    /// shortformer positions, attention biases, layer norms before every attention layer
    /// and before the unembedding, untied unembedding without bias, causal mask, eps 1e-5.
    pub fn attn_only(
        n_layers: usize,
        n_heads: usize,
        d_model: usize,
        d_head: usize,
        vocab: usize,
        n_ctx: usize,
    ) -> TransformerConfig {
        TransformerConfig {
            n_layers,
            n_heads,
            d_model,
            d_head,
            d_mlp: None,
            vocab,
            n_ctx,
            pos_enc: PosEncoding::Shortformer,
            attn_bias: true,
            mlp_bias: true,
            mlp_act: Activation::GeluNew,
            ln_eps: 1e-5,
            final_norm: true,
            tied_unembed: false,
            unembed_bias: false,
            causal: true,
            mask_value: -10_000.0,
        }
    }

    /// A GPT-2-style model: attention + gelu_new MLP (4 × d_model) blocks with biases,
    /// GPT position embeddings, final layer norm, unembedding tied to the token
    /// embedding, `d_head = d_model / n_heads`, eps 1e-5.
    pub fn gpt2(
        n_layers: usize,
        n_heads: usize,
        d_model: usize,
        vocab: usize,
        n_ctx: usize,
    ) -> TransformerConfig {
        TransformerConfig {
            n_layers,
            n_heads,
            d_model,
            d_head: d_model.checked_div(n_heads).unwrap_or(0),
            d_mlp: Some(4 * d_model),
            vocab,
            n_ctx,
            pos_enc: PosEncoding::Gpt,
            attn_bias: true,
            mlp_bias: true,
            mlp_act: Activation::GeluNew,
            ln_eps: 1e-5,
            final_norm: true,
            tied_unembed: true,
            unembed_bias: false,
            causal: true,
            mask_value: -10_000.0,
        }
    }

    /// GPT-2 small (124M): 12 layers, 12 heads, d_model 768, vocab 50257, 1024 positions.
    pub fn gpt2_small() -> TransformerConfig {
        TransformerConfig::gpt2(12, 12, 768, 50257, 1024)
    }

    /// Checks the sizes are usable.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(ModelError::Config(m.to_string()));
        if self.n_layers == 0 {
            return bad("n_layers must be at least 1");
        }
        if self.n_heads == 0 || self.d_head == 0 || self.d_model == 0 || self.vocab == 0 {
            return bad("n_heads, d_head, d_model and vocab must be positive");
        }
        if self.pos_enc != PosEncoding::None && self.n_ctx == 0 {
            return bad("n_ctx must be positive when the model uses positions");
        }
        if self.d_mlp == Some(0) {
            return bad("d_mlp must be positive (use None for an attention-only model)");
        }
        if !(self.ln_eps.is_finite() && self.ln_eps >= 0.0) {
            return bad("ln_eps must be a finite non-negative number");
        }
        Ok(())
    }

    /// 1/sqrt(d_head), the score scale.
    pub fn attn_scale(&self) -> f64 {
        1.0 / (self.d_head as f64).sqrt()
    }

    /// Reads a configuration from JSON. Accepted forms (the first that matches):
    ///
    /// * Hugging Face GPT-2 `config.json` (`n_embd`, `n_head`, `n_layer`, `vocab_size`,
    ///   `n_positions`, optional `layer_norm_epsilon`, `activation_function`,
    ///   `tie_word_embeddings`): a [`TransformerConfig::gpt2`] model.
    /// * The bundled model's `config.json` (`architecture: {vocab, d_model, n_heads,
    ///   d_head, n_layers, seq_len, ln_eps, mask_fill, pos_enc}`) and the perf
    ///   workloads' `workload.json` (the same keys under `config`): an
    ///   [`TransformerConfig::attn_only`] model; `n_ctx` = `seq_len`.
    /// * A flat object with this struct's field names (missing optional fields take the
    ///   attention-only defaults).
    ///
    /// # Errors
    /// [`ModelError::Config`] for missing or mistyped fields.
    pub fn from_json(v: &Value) -> Result<TransformerConfig> {
        if v.get("n_embd").is_some() && v.get("n_layer").is_some() {
            return gpt2_from_hf(v);
        }
        if let Some(arch) = v.get("architecture").or_else(|| v.get("config")) {
            if arch.get("d_model").is_some() {
                return flat_from_json(arch);
            }
        }
        flat_from_json(v)
    }
}

fn field_usize(v: &Value, key: &str) -> Result<usize> {
    v.get(key).and_then(Value::as_u64).and_then(|x| usize::try_from(x).ok()).ok_or_else(|| {
        ModelError::Config(format!("config field '{key}' missing or not an integer"))
    })
}

fn opt_f64(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn opt_bool(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn gpt2_from_hf(v: &Value) -> Result<TransformerConfig> {
    let mut c = TransformerConfig::gpt2(
        field_usize(v, "n_layer")?,
        field_usize(v, "n_head")?,
        field_usize(v, "n_embd")?,
        field_usize(v, "vocab_size")?,
        field_usize(v, "n_positions").or_else(|_| field_usize(v, "n_ctx"))?,
    );
    if let Some(e) = opt_f64(v, "layer_norm_epsilon") {
        c.ln_eps = e;
    }
    if let Some(Ok(n)) = v.get("n_inner").and_then(Value::as_u64).map(usize::try_from) {
        c.d_mlp = Some(n);
    }
    if let Some(t) = opt_bool(v, "tie_word_embeddings") {
        c.tied_unembed = t;
    }
    if let Some(a) = v.get("activation_function").and_then(Value::as_str) {
        c.mlp_act = parse_activation(a)?;
    }
    Ok(c)
}

fn parse_activation(s: &str) -> Result<Activation> {
    match s {
        "gelu_new" | "gelu_pytorch_tanh" => Ok(Activation::GeluNew),
        "gelu" => Ok(Activation::Gelu),
        "relu" => Ok(Activation::Relu),
        other => Err(ModelError::Config(format!("unsupported activation '{other}'"))),
    }
}

fn flat_from_json(v: &Value) -> Result<TransformerConfig> {
    let vocab = field_usize(v, "vocab")?;
    let n_ctx = field_usize(v, "n_ctx").or_else(|_| field_usize(v, "seq_len"))?;
    let mut c = TransformerConfig::attn_only(
        field_usize(v, "n_layers")?,
        field_usize(v, "n_heads")?,
        field_usize(v, "d_model")?,
        field_usize(v, "d_head")?,
        vocab,
        n_ctx,
    );
    if let Some(d) = v.get("d_mlp") {
        c.d_mlp = match d {
            Value::Null => None,
            _ => Some(field_usize(v, "d_mlp")?),
        };
    }
    if let Some(e) = opt_f64(v, "ln_eps") {
        c.ln_eps = e;
    }
    if let Some(m) = opt_f64(v, "mask_fill").or_else(|| opt_f64(v, "mask_value")) {
        c.mask_value = m;
    }
    if let Some(p) = v.get("pos_enc").and_then(Value::as_str) {
        c.pos_enc = match p {
            "shortformer" => PosEncoding::Shortformer,
            "gpt" => PosEncoding::Gpt,
            "none" => PosEncoding::None,
            other => return Err(ModelError::Config(format!("unknown pos_enc '{other}'"))),
        };
    }
    if let Some(a) = v.get("mlp_act").and_then(Value::as_str) {
        c.mlp_act = parse_activation(a)?;
    }
    for (key, slot) in [
        ("attn_bias", &mut c.attn_bias),
        ("mlp_bias", &mut c.mlp_bias),
        ("final_norm", &mut c.final_norm),
        ("tied_unembed", &mut c.tied_unembed),
        ("unembed_bias", &mut c.unembed_bias),
        ("causal", &mut c.causal),
    ] {
        if let Some(b) = opt_bool(v, key) {
            *slot = b;
        }
    }
    if let Some(s) = opt_f64(v, "attn_scale") {
        let expected = c.attn_scale();
        if (s - expected).abs() > 1e-9 * expected.max(1.0) {
            return Err(ModelError::Config(format!(
                "attn_scale {s} differs from 1/sqrt(d_head) = {expected}; only 1/sqrt(d_head) is supported"
            )));
        }
    }
    Ok(c)
}

/// One named group of heads of one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadGroup {
    /// The node name of the group's contribution, e.g. `a1.ind`.
    pub name: String,
    /// The heads, in order.
    pub heads: Vec<usize>,
}

/// Which heads get their own named nodes (rust_circuit's `split_by_head_config`).
///
/// A layer without an entry is one group named `a{layer}` holding every head. A layer
/// with an entry is partitioned into the given groups: every head in exactly one group,
/// so the groups' outputs sum to the layer's output (plus the output bias
/// `a{layer}.w.o_bias` when the model has one).
///
/// ```
/// use circuit_models::HeadSplit;
/// // The induction experiment's split: 1.5 and 1.6 vs the rest, 0.0 vs the rest.
/// let split = HeadSplit::new()
///     .split_off(1, &[5, 6], "a1.ind", "a1.not_ind")
///     .split_off(0, &[0], "a0.prev", "a0.not_prev");
/// assert_eq!(split.groups(1, 8)[1].heads, vec![0, 1, 2, 3, 4, 7]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadSplit {
    layers: BTreeMap<usize, Vec<HeadGroup>>,
    full: bool,
}

impl HeadSplit {
    /// No split: each layer is one group `a{layer}`.
    pub fn new() -> HeadSplit {
        HeadSplit::default()
    }

    /// Every head of every layer is its own group `a{layer}.h{head}` (rust_circuit's
    /// `"full"`); explicit layer entries still take precedence.
    pub fn full() -> HeadSplit {
        HeadSplit { layers: BTreeMap::new(), full: true }
    }

    /// Sets the groups of one layer (replacing earlier settings for it).
    pub fn layer(mut self, layer: usize, groups: Vec<HeadGroup>) -> HeadSplit {
        self.layers.insert(layer, groups);
        self
    }

    /// Splits `heads` of `layer` into a group `name` and every other head into
    /// `rest_name` (omitted when no head is left).
    pub fn split_off(
        self,
        layer: usize,
        heads: &[usize],
        name: &str,
        rest_name: &str,
    ) -> HeadSplit {
        let mut groups = vec![HeadGroup { name: name.to_string(), heads: heads.to_vec() }];
        groups.push(HeadGroup { name: rest_name.to_string(), heads: Vec::new() });
        self.layer(layer, groups)
    }

    /// Whether any layer is split.
    pub fn is_split(&self) -> bool {
        self.full || !self.layers.is_empty()
    }

    /// The groups of `layer` for a model with `n_heads` heads per layer. A trailing
    /// group with no heads (from [`HeadSplit::split_off`]) receives every head the
    /// other groups leave, and is dropped when there are none.
    pub fn groups(&self, layer: usize, n_heads: usize) -> Vec<HeadGroup> {
        match self.layers.get(&layer) {
            Some(gs) => {
                let mut out: Vec<HeadGroup> = gs.clone();
                if let Some(last) = out.last_mut() {
                    if last.heads.is_empty() && gs.len() > 1 {
                        let used: Vec<usize> =
                            gs[..gs.len() - 1].iter().flat_map(|g| g.heads.clone()).collect();
                        last.heads = (0..n_heads).filter(|h| !used.contains(h)).collect();
                    }
                }
                if out.len() > 1 && out.last().is_some_and(|g| g.heads.is_empty()) {
                    out.pop();
                }
                out
            }
            None if self.full => (0..n_heads)
                .map(|h| HeadGroup { name: format!("a{layer}.h{h}"), heads: vec![h] })
                .collect(),
            None => {
                vec![HeadGroup { name: format!("a{layer}"), heads: (0..n_heads).collect() }]
            }
        }
    }

    /// Checks the split against a configuration: known layers, every head exactly once
    /// per split layer, non-empty unique group names.
    ///
    /// # Errors
    /// [`ModelError::Config`] describing the problem.
    pub fn validate(&self, config: &TransformerConfig) -> Result<()> {
        let mut names: Vec<String> = Vec::new();
        for &layer in self.layers.keys() {
            if layer >= config.n_layers {
                return Err(ModelError::Config(format!(
                    "head split names layer {layer} but the model has {} layers",
                    config.n_layers
                )));
            }
        }
        for layer in 0..config.n_layers {
            let groups = self.groups(layer, config.n_heads);
            let mut seen = vec![false; config.n_heads];
            for g in &groups {
                if g.name.is_empty() || g.name.chars().any(char::is_whitespace) {
                    return Err(ModelError::Config(format!(
                        "head group name '{}' must be non-empty without whitespace",
                        g.name
                    )));
                }
                if names.contains(&g.name) {
                    return Err(ModelError::Config(format!(
                        "head group name '{}' is used twice",
                        g.name
                    )));
                }
                names.push(g.name.clone());
                if g.heads.is_empty() {
                    return Err(ModelError::Config(format!("head group '{}' is empty", g.name)));
                }
                for &h in &g.heads {
                    if h >= config.n_heads {
                        return Err(ModelError::Config(format!(
                            "head group '{}' names head {h} but layers have {} heads",
                            g.name, config.n_heads
                        )));
                    }
                    if std::mem::replace(&mut seen[h], true) {
                        return Err(ModelError::Config(format!(
                            "head {layer}.{h} is in more than one group"
                        )));
                    }
                }
            }
            if let Some(h) = seen.iter().position(|s| !s) {
                return Err(ModelError::Config(format!(
                    "head {layer}.{h} is in no group: the groups of a layer must cover all its heads"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_defaults_and_rest() {
        let cfg = TransformerConfig::attn_only(2, 8, 256, 32, 100, 300);
        let s = HeadSplit::new().split_off(1, &[5, 6], "a1.ind", "a1.not_ind");
        assert!(s.validate(&cfg).is_ok());
        assert_eq!(s.groups(0, 8)[0].name, "a0");
        let g = s.groups(1, 8);
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].heads, vec![0, 1, 2, 3, 4, 7]);
        let all = HeadSplit::new().split_off(0, &[0, 1, 2, 3, 4, 5, 6, 7], "a0.all", "a0.none");
        assert_eq!(all.groups(0, 8).len(), 1);
        assert!(HeadSplit::new().split_off(2, &[0], "x", "y").validate(&cfg).is_err());
        let dup =
            HeadSplit::new().layer(0, vec![HeadGroup { name: "a".into(), heads: vec![0, 0] }]);
        assert!(dup.validate(&cfg).is_err());
        let partial =
            HeadSplit::new().layer(0, vec![HeadGroup { name: "a".into(), heads: vec![0, 1] }]);
        assert!(partial.validate(&cfg).is_err());
        assert_eq!(HeadSplit::full().groups(1, 3)[2].name, "a1.h2");
    }

    #[test]
    fn configs_from_json() {
        let hf: Value = serde_json::json!({"n_embd": 768, "n_head": 12, "n_layer": 12,
            "vocab_size": 50257, "n_positions": 1024, "layer_norm_epsilon": 1e-5});
        assert_eq!(TransformerConfig::from_json(&hf).ok(), Some(TransformerConfig::gpt2_small()));
        let w1: Value = serde_json::json!({"config": {"vocab": 50259, "d_model": 256,
            "n_heads": 8, "d_head": 32, "seq_len": 300, "n_layers": 2, "ln_eps": 1e-5,
            "mask_fill": -10000.0, "attn_scale": 0.17677669529663687, "pos_enc": "shortformer"}});
        let c = TransformerConfig::from_json(&w1).ok();
        assert_eq!(c, Some(TransformerConfig::attn_only(2, 8, 256, 32, 50259, 300)));
        let bad: Value = serde_json::json!({"d_model": 4});
        assert!(TransformerConfig::from_json(&bad).is_err());
    }
}
