//! Loading weights from checkpoints: a safetensors file, a folder of `.npy` files (file
//! stem = tensor name) or tensors in memory, under one of several naming schemes
//! ([`NameScheme`]), converted to our canonical names and layouts ([`crate::Weights`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use circuit_tensor::{read_npy, read_safetensors_header, read_safetensors_tensor, DType, Tensor};
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use serde_json::Value;

use crate::config::TransformerConfig;
use crate::weights::{expected_weights, WeightSpec, Weights};
use crate::{ModelError, Result};

/// How a checkpoint names its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameScheme {
    /// Our canonical names ([`crate::weights`] module docs).
    Canonical,
    /// Hugging Face GPT-2 (`wte.weight`, `h.{i}.attn.c_attn.weight` `[d_model, 3·d_model]`
    /// in Conv1D layout `x @ W`, …, `ln_f.*`), with or without a `transformer.` prefix;
    /// an untied unembedding is `lm_head.weight`.
    Gpt2,
    /// TransformerLens names, used by the bundled model (`embed.W_E`,
    /// `pos_embed.W_pos`, `blocks.{l}.ln1.w`, `blocks.{l}.attn.W_Q` `[H, d_model, d_head]`,
    /// `blocks.{l}.attn.W_O` `[H, d_head, d_model]`, `blocks.{l}.mlp.W_in`,
    /// `ln_final.w`, `unembed.W_U` `[d_model, vocab]`, …).
    TransformerLens,
    /// The perf workloads' names (`tok_embeds`, `pos_embeds`, `a{l}.ln_scale`,
    /// `a{l}.w_q` `[H, d_head, d_model]`, `a{l}.b_q`, `a{l}.w_o` `[H, d_model, d_head]`,
    /// `final.ln_scale`, `unembed` `[vocab, d_model]`; MLPs as `m{l}.w_in`/`m{l}.w_out`).
    Perf,
}

impl NameScheme {
    /// Recognises the scheme from the tensor names.
    pub fn detect<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> Option<NameScheme> {
        let has = |n: &str| names.clone().into_iter().any(|x| x == n);
        if has("wte.weight") || has("transformer.wte.weight") {
            Some(NameScheme::Gpt2)
        } else if has("embed.W_E") {
            Some(NameScheme::TransformerLens)
        } else if has("tok_embeds") {
            Some(NameScheme::Perf)
        } else if has("t.w.tok_embeds") {
            Some(NameScheme::Canonical)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Slice { axis: usize, start: usize, end: usize },
    Reshape(Vec<usize>),
    Permute(Vec<usize>),
}

/// Where one canonical weight comes from: checkpoint name, its shape there, and the
/// layout conversion.
#[derive(Debug, Clone)]
struct Source {
    name: String,
    shape: Vec<usize>,
    ops: Vec<Op>,
}

fn src(name: String, shape: Vec<usize>) -> Source {
    Source { name, shape, ops: Vec::new() }
}

fn transposed(name: String, shape: [usize; 2]) -> Source {
    Source { name, shape: shape.to_vec(), ops: vec![Op::Permute(vec![1, 0])] }
}

/// Splits a canonical per-layer name `a3.w.q` into `('a', 3, "w.q")`.
fn layer_parts(name: &str) -> Option<(char, usize, &str)> {
    let kind = name.chars().next()?;
    let rest = &name[1..];
    let (num, tail) = rest.split_once('.')?;
    Some((kind, num.parse().ok()?, tail))
}

fn source_for(
    scheme: NameScheme,
    prefix: &str,
    w: &WeightSpec,
    c: &TransformerConfig,
) -> Result<Source> {
    let found = match scheme {
        NameScheme::Canonical => Some(src(w.name.clone(), w.shape.clone())),
        NameScheme::Perf => perf_source(w),
        NameScheme::TransformerLens => lens_source(w, c),
        NameScheme::Gpt2 => {
            let (m, h, d) = (c.d_model, c.n_heads, c.d_head);
            if h * d != m {
                return Err(ModelError::Config(format!(
                    "GPT-2 checkpoints need n_heads * d_head = d_model ({h} * {d} != {m})"
                )));
            }
            gpt2_source(prefix, w, c)
        }
    };
    found.ok_or_else(|| {
        ModelError::Config(format!("the {scheme:?} naming scheme has no tensor for {}", w.name))
    })
}

fn perf_source(w: &WeightSpec) -> Option<Source> {
    let shape = w.shape.clone();
    Some(match w.name.as_str() {
        "t.w.tok_embeds" => src("tok_embeds".into(), shape),
        "t.w.pos_embeds" => src("pos_embeds".into(), shape),
        "t.w.unembed" => src("unembed".into(), shape),
        "t.w.unembed_bias" => src("unembed_bias".into(), shape),
        "final.ln.w.scale" => src("final.ln_scale".into(), shape),
        "final.ln.w.bias" => src("final.ln_bias".into(), shape),
        name => {
            let (k, l, tail) = layer_parts(name)?;
            let theirs = match tail {
                "ln.w.scale" => "ln_scale".to_string(),
                "ln.w.bias" => "ln_bias".to_string(),
                "w.proj_in" => "w_in".to_string(),
                "w.in_bias" => "b_in".to_string(),
                "w.proj_out" => "w_out".to_string(),
                "w.out_bias" => "b_out".to_string(),
                t if t.ends_with("_bias") => format!("b_{}", t.get(2..3)?),
                t => format!("w_{}", t.get(2..)?),
            };
            src(format!("{k}{l}.{theirs}"), shape)
        }
    })
}

fn lens_source(w: &WeightSpec, c: &TransformerConfig) -> Option<Source> {
    let (m, h, d, v) = (c.d_model, c.n_heads, c.d_head, c.vocab);
    let shape = w.shape.clone();
    Some(match w.name.as_str() {
        "t.w.tok_embeds" => src("embed.W_E".into(), shape),
        "t.w.pos_embeds" => src("pos_embed.W_pos".into(), shape),
        "t.w.unembed" => transposed("unembed.W_U".into(), [m, v]),
        "t.w.unembed_bias" => src("unembed.b_U".into(), shape),
        "final.ln.w.scale" => src("ln_final.w".into(), shape),
        "final.ln.w.bias" => src("ln_final.b".into(), shape),
        name => {
            let (k, l, tail) = layer_parts(name)?;
            let b = format!("blocks.{l}");
            let ln = if k == 'a' { "ln1" } else { "ln2" };
            match tail {
                "ln.w.scale" => src(format!("{b}.{ln}.w"), shape),
                "ln.w.bias" => src(format!("{b}.{ln}.b"), shape),
                "w.proj_in" => transposed(format!("{b}.mlp.W_in"), [m, shape[0]]),
                "w.in_bias" => src(format!("{b}.mlp.b_in"), shape),
                "w.proj_out" => transposed(format!("{b}.mlp.W_out"), [shape[1], m]),
                "w.out_bias" => src(format!("{b}.mlp.b_out"), shape),
                "w.o" => Source {
                    name: format!("{b}.attn.W_O"),
                    shape: vec![h, d, m],
                    ops: vec![Op::Permute(vec![0, 2, 1])],
                },
                "w.o_bias" => src(format!("{b}.attn.b_O"), shape),
                t if t.ends_with("_bias") => {
                    src(format!("{b}.attn.b_{}", t.get(2..3)?.to_uppercase()), shape)
                }
                t => Source {
                    name: format!("{b}.attn.W_{}", t.get(2..)?.to_uppercase()),
                    shape: vec![h, m, d],
                    ops: vec![Op::Permute(vec![0, 2, 1])],
                },
            }
        }
    })
}

fn gpt2_source(prefix: &str, w: &WeightSpec, c: &TransformerConfig) -> Option<Source> {
    let (m, h, d) = (c.d_model, c.n_heads, c.d_head);
    let shape = w.shape.clone();
    Some(match w.name.as_str() {
        "t.w.tok_embeds" => src(format!("{prefix}wte.weight"), shape),
        "t.w.pos_embeds" => src(format!("{prefix}wpe.weight"), shape),
        "t.w.unembed" => src("lm_head.weight".into(), shape),
        "final.ln.w.scale" => src(format!("{prefix}ln_f.weight"), shape),
        "final.ln.w.bias" => src(format!("{prefix}ln_f.bias"), shape),
        name => {
            let (k, l, tail) = layer_parts(name)?;
            let b = format!("{prefix}h.{l}");
            let ln = if k == 'a' { "ln_1" } else { "ln_2" };
            match tail {
                "ln.w.scale" => src(format!("{b}.{ln}.weight"), shape),
                "ln.w.bias" => src(format!("{b}.{ln}.bias"), shape),
                "w.proj_in" => transposed(format!("{b}.mlp.c_fc.weight"), [m, shape[0]]),
                "w.in_bias" => src(format!("{b}.mlp.c_fc.bias"), shape),
                "w.proj_out" => transposed(format!("{b}.mlp.c_proj.weight"), [shape[1], m]),
                "w.out_bias" => src(format!("{b}.mlp.c_proj.bias"), shape),
                // c_proj: z_flat [h·d] @ W [h·d, m]
                "w.o" => Source {
                    name: format!("{b}.attn.c_proj.weight"),
                    shape: vec![m, m],
                    ops: vec![Op::Reshape(vec![h, d, m]), Op::Permute(vec![0, 2, 1])],
                },
                "w.o_bias" => src(format!("{b}.attn.c_proj.bias"), shape),
                // c_attn: x [m] @ W [m, 3·m], columns q | k | v, head-major within each.
                t => {
                    let j = ["q", "k", "v"].iter().position(|x| t.get(2..3) == Some(x))?;
                    if t.ends_with("_bias") {
                        Source {
                            name: format!("{b}.attn.c_attn.bias"),
                            shape: vec![3 * m],
                            ops: vec![
                                Op::Slice { axis: 0, start: j * m, end: (j + 1) * m },
                                Op::Reshape(vec![h, d]),
                            ],
                        }
                    } else {
                        Source {
                            name: format!("{b}.attn.c_attn.weight"),
                            shape: vec![m, 3 * m],
                            ops: vec![
                                Op::Slice { axis: 1, start: j * m, end: (j + 1) * m },
                                Op::Reshape(vec![m, h, d]),
                                Op::Permute(vec![1, 2, 0]),
                            ],
                        }
                    }
                }
            }
        }
    })
}

fn transform<T: Clone>(mut a: ArrayD<T>, ops: &[Op]) -> std::result::Result<ArrayD<T>, String> {
    for op in ops {
        a = match op {
            Op::Slice { axis, start, end } => {
                a.slice_axis(Axis(*axis), Slice::from(*start..*end)).to_owned()
            }
            Op::Reshape(shape) => a
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order(IxDyn(shape))
                .map_err(|e| e.to_string())?,
            Op::Permute(axes) => a.permuted_axes(IxDyn(axes)),
        };
    }
    Ok(a.as_standard_layout().into_owned())
}

fn apply_ops(t: &Tensor, ops: &[Op], name: &str) -> Result<Tensor> {
    let dtype = t.dtype();
    if !dtype.is_float() {
        return Err(ModelError::TensorDType {
            name: name.into(),
            msg: format!("weights must be floating point, got {dtype}"),
        });
    }
    let err = |msg: String| ModelError::TensorDType { name: name.into(), msg };
    if dtype == DType::F64 {
        let a = t.expect_array::<f64>()?.to_owned();
        return Ok(Tensor::from_array(transform(a, ops).map_err(err)?));
    }
    let t = t.cast(DType::F32);
    let a = t.expect_array::<f32>()?.to_owned();
    Ok(Tensor::from_array(transform(a, ops).map_err(err)?))
}

/// A source of named tensors: a safetensors file, a folder of `.npy` files, or tensors
/// in memory. Tensors are read on demand.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    source: String,
    kind: CheckpointKind,
}

#[derive(Debug, Clone)]
enum CheckpointKind {
    Memory(BTreeMap<String, Tensor>),
    Safetensors { path: PathBuf, names: Vec<String> },
    NpyDir(BTreeMap<String, PathBuf>),
}

impl Checkpoint {
    /// Opens a `.safetensors` file, or a folder: its `model.safetensors` when present,
    /// else every `*.npy` file in it (named by file stem).
    ///
    /// # Errors
    /// [`ModelError::File`] when the path cannot be read or holds no tensors.
    pub fn open(path: &Path) -> Result<Checkpoint> {
        let source = path.display().to_string();
        if path.is_dir() {
            let st = path.join("model.safetensors");
            if st.is_file() {
                return Checkpoint::open(&st);
            }
            let mut files = BTreeMap::new();
            let entries = std::fs::read_dir(path).map_err(|e| ModelError::file(path, e))?;
            for entry in entries {
                let p = entry.map_err(|e| ModelError::file(path, e))?.path();
                if p.extension().is_some_and(|e| e == "npy") {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        files.insert(stem.to_string(), p.clone());
                    }
                }
            }
            if files.is_empty() {
                return Err(ModelError::file(path, "no model.safetensors and no .npy files"));
            }
            return Ok(Checkpoint { source, kind: CheckpointKind::NpyDir(files) });
        }
        let header = read_safetensors_header(path)?;
        let names = header.tensors.into_iter().map(|(n, _, _)| n).collect();
        Ok(Checkpoint { source, kind: CheckpointKind::Safetensors { path: path.into(), names } })
    }

    /// Tensors held in memory; `source` names them in error messages.
    pub fn from_tensors(
        source: &str,
        tensors: impl IntoIterator<Item = (String, Tensor)>,
    ) -> Checkpoint {
        Checkpoint {
            source: source.into(),
            kind: CheckpointKind::Memory(tensors.into_iter().collect()),
        }
    }

    /// The file or folder (for messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every tensor name.
    pub fn names(&self) -> Vec<String> {
        match &self.kind {
            CheckpointKind::Memory(m) => m.keys().cloned().collect(),
            CheckpointKind::Safetensors { names, .. } => names.clone(),
            CheckpointKind::NpyDir(f) => f.keys().cloned().collect(),
        }
    }

    /// Reads one tensor (`None` if the checkpoint has no such name).
    ///
    /// # Errors
    /// Read errors.
    pub fn get(&self, name: &str) -> Result<Option<Tensor>> {
        Ok(match &self.kind {
            CheckpointKind::Memory(m) => m.get(name).cloned(),
            CheckpointKind::Safetensors { path, names } => {
                if names.iter().any(|n| n == name) {
                    Some(read_safetensors_tensor(path, name)?)
                } else {
                    None
                }
            }
            CheckpointKind::NpyDir(f) => match f.get(name) {
                Some(p) => Some(read_npy(p)?),
                None => None,
            },
        })
    }

    /// Converts to canonical [`Weights`] for `config`, detecting the naming scheme when
    /// `scheme` is `None`. Every missing or mis-shaped tensor is reported by its
    /// checkpoint name and ours; extra tensors are ignored.
    ///
    /// # Errors
    /// [`ModelError::UnknownScheme`], [`ModelError::MissingTensor`],
    /// [`ModelError::TensorShape`], [`ModelError::TensorDType`].
    pub fn weights(
        &self,
        config: &TransformerConfig,
        scheme: Option<NameScheme>,
    ) -> Result<Weights> {
        config.validate()?;
        let names = self.names();
        let scheme = match scheme {
            Some(s) => s,
            None => NameScheme::detect(names.iter().map(String::as_str)).ok_or_else(|| {
                ModelError::UnknownScheme {
                    source_name: self.source.clone(),
                    msg: format!(
                        "expected one of wte.weight / transformer.wte.weight (GPT-2), embed.W_E (TransformerLens), tok_embeds (perf), t.w.tok_embeds (canonical); found {}",
                        preview(&names)
                    ),
                }
            })?,
        };
        let prefix = if scheme == NameScheme::Gpt2
            && !names.iter().any(|n| n == "wte.weight")
            && names.iter().any(|n| n == "transformer.wte.weight")
        {
            "transformer."
        } else {
            ""
        };
        let mut out = Weights::new();
        let mut missing: Vec<(String, String)> = Vec::new();
        for w in expected_weights(config) {
            let s = source_for(scheme, prefix, &w, config)?;
            let Some(t) = self.get(&s.name)? else {
                missing.push((s.name, w.name));
                continue;
            };
            if t.shape() != s.shape.as_slice() {
                return Err(ModelError::TensorShape {
                    source_name: self.source.clone(),
                    checkpoint_name: s.name,
                    ours: w.name,
                    expected: s.shape,
                    got: t.shape().to_vec(),
                });
            }
            out.insert(w.name, apply_ops(&t, &s.ops, &s.name)?);
        }
        if let Some((theirs, ours)) = missing.first() {
            let mut hint = similar_names(&names, theirs);
            if missing.len() > 1 {
                let rest: Vec<&str> = missing[1..].iter().map(|(t, _)| t.as_str()).collect();
                hint.push_str(&format!("; {} more missing: {}", rest.len(), preview_strs(&rest)));
            }
            return Err(ModelError::MissingTensor {
                source_name: self.source.clone(),
                checkpoint_name: theirs.clone(),
                ours: ours.clone(),
                hint,
            });
        }
        // Mixed float widths in one checkpoint: use the embedding's.
        let dtype = out.dtype();
        let out = if out.iter().any(|(_, t)| t.dtype() != dtype) { out.cast(dtype) } else { out };
        out.validate(config)?;
        Ok(out)
    }
}

fn preview(names: &[String]) -> String {
    let v: Vec<&str> = names.iter().map(String::as_str).collect();
    preview_strs(&v)
}

fn preview_strs(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(8).copied().collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} … ({more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn similar_names(names: &[String], wanted: &str) -> String {
    let last = wanted.rsplit('.').next().unwrap_or(wanted);
    let similar: Vec<&str> =
        names.iter().filter(|n| n.ends_with(last)).map(String::as_str).take(4).collect();
    if similar.is_empty() {
        String::new()
    } else {
        format!("; names present with the same ending: {}", similar.join(", "))
    }
}

/// Reads a configuration file (see [`TransformerConfig::from_json`]).
///
/// # Errors
/// [`ModelError::File`] for unreadable or invalid JSON; config field errors.
pub fn read_config(path: &Path) -> Result<TransformerConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::file(path, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| ModelError::file(path, e))?;
    TransformerConfig::from_json(&v)
}

/// Loads a model folder: the configuration from `config.json` (or `workload.json`) and
/// the weights from `model.safetensors` (or the folder's `.npy` files), any naming
/// scheme.
///
/// # Errors
/// As [`read_config`] and [`Checkpoint::weights`].
pub fn load_model_dir(dir: &Path) -> Result<(TransformerConfig, Weights)> {
    let cfg_path = ["config.json", "workload.json"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| ModelError::file(dir, "no config.json or workload.json"))?;
    let config = read_config(&cfg_path)?;
    let weights = Checkpoint::open(dir)?.weights(&config, None)?;
    Ok((config, weights))
}

/// Loads weights for `config` from a safetensors file or a folder (see
/// [`Checkpoint::open`]), detecting the naming scheme.
///
/// # Errors
/// As [`Checkpoint::open`] and [`Checkpoint::weights`].
pub fn load_weights(path: &Path, config: &TransformerConfig) -> Result<Weights> {
    Checkpoint::open(path)?.weights(config, None)
}
