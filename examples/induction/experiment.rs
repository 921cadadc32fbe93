//! The induction-heads causal-scrubbing experiment (REMIX day 3, `shared/reference/induction.md`)
//! on the bundled model: setup, the hypotheses as scrubbed circuits, paired sampling and
//! the statistics. `main.rs` adds the command line and the report; `tests/induction.rs`
//! runs the same code with few samples.

// Shared by the example and `tests/induction.rs`; each uses a different subset.
#![allow(dead_code)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use circuit::eval::{evaluate_with, EvalSettings};
use circuit::ir::kinds::GfSpec;
use circuit::ir::Circuit;
use circuit::matching::{
    are_any_found, new_traversal, restrict, update, IterativeMatcher, MatchError, Matcher,
};
use circuit::models::{
    detect_heads, load_model_dir, repeated_random_tokens, split_tokens, token_dataset_var,
    DetectOptions, HeadKind, HeadSplit, Transformer,
};
use circuit::rewrite::{conform_all_modules, distribute, DistributeOptions, ModulePusher};
use circuit::sample::{RandomSampleSpec, Sampler};
use circuit::scrub::{independent_var, scrub_input};
use circuit::tensor::{read_npy, DType, Tensor};

pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Where the bundled model lives (relative to the workspace root).
pub fn bundled_model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/attn2-pystdlib")
}

/// `dir` relative to the workspace root when it is inside it (for display).
pub fn display_path(dir: &Path) -> String {
    dir.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(dir).display().to_string()
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Model directory (config.json, model.safetensors, dataset.npy,
    /// good_induction_candidates.npy).
    pub model_dir: PathBuf,
    /// Samples per hypothesis (the same draws for every hypothesis: paired comparisons).
    pub samples: usize,
    /// Base seed of the sampler.
    pub seed: u64,
    /// Evaluation memory budget in bytes (the evaluator splits the sample batch to fit).
    pub max_memory: u64,
    /// Sequences used by the head detector.
    pub detect_sequences: usize,
    /// Layer-0 heads to treat as the previous-token group `a0.prev` (default: what the
    /// detector finds).
    pub prev_heads: Option<Vec<usize>>,
    /// Layer-1 heads to treat as the induction group `a1.ind` (default: detected).
    pub induction_heads: Option<Vec<usize>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            model_dir: bundled_model_dir(),
            samples: 128,
            seed: 0,
            max_memory: 1 << 30,
            detect_sequences: 8,
            prev_heads: None,
            induction_heads: None,
        }
    }
}

/// Heads found by the detector, as `(layer, head, score)`.
#[derive(Debug, Clone)]
pub struct FoundHeads {
    /// Previous-token heads in layer 0 (the best one, plus any scoring ≥ 0.4).
    pub previous_token: Vec<(usize, usize, f64)>,
    /// Induction heads in layer 1 (the best one, plus any scoring ≥ 0.1).
    pub induction: Vec<(usize, usize, f64)>,
    /// All scores (previous-token on dataset rows, induction on repeated random bytes).
    pub table: circuit::models::HeadTable,
}

impl FoundHeads {
    /// `"0.1"`-style names.
    pub fn names(hs: &[(usize, usize, f64)]) -> String {
        hs.iter().map(|h| format!("{}.{}", h.0, h.1)).collect::<Vec<_>>().join(", ")
    }
}

/// Everything the hypotheses are built from.
pub struct Setup {
    /// The model with heads split into `a0.prev` / `a0.not_prev` and `a1.ind` / `a1.not_ind`.
    pub model: Transformer,
    /// The detected heads used for the split.
    pub heads: FoundHeads,
    /// `toks_int_var`: a DiscreteVar over the dataset's rows.
    pub var: Circuit,
    /// `toks_int_var_other`: an independent copy (fresh group) for scrubbed paths.
    pub other: Circuit,
    /// `t.expected_loss`: `Cumulant(loss_on_candidates).mean()`, the reference's
    /// quantity (a scalar).
    pub expected_loss: Circuit,
    /// The loss of one sequence: `loss_on_candidates.mean()`, with the modules that bind
    /// the induction heads' inputs substituted so their q, k and v inputs are separate
    /// paths down to the tokens. The expected loss is its mean over samples.
    pub loss: Circuit,
}

fn to_i64(t: &Tensor) -> Result<Tensor> {
    Ok(Tensor::from_vec(t.shape(), t.to_i64_vec())?)
}

/// Runs the head detector: previous-token scores on dataset rows, induction scores on
/// repeated random byte sequences.
pub fn find_heads(model: &Transformer, data: &Tensor, n: usize) -> Result<FoundHeads> {
    let seq = data.shape()[1] - 1;
    let rows: Vec<i64> =
        data.to_i64_vec().chunks(seq + 1).take(n).flat_map(|r| r[..seq].to_vec()).collect();
    let rows = Tensor::from_vec(&[n, seq], rows)?;
    let opts = DetectOptions { chunk: 4, ..Default::default() };
    let prev = detect_heads(model, &rows, &[HeadKind::PreviousToken], &opts)?;
    let vocab: Vec<i64> = (32..127).collect();
    let rep = repeated_random_tokens(n, seq / 2, &vocab, 1234)?;
    let ind = detect_heads(model, &rep, &[HeadKind::Induction], &opts)?;
    let pick = |table: &circuit::models::HeadTable, kind, layer: usize, threshold: f64| {
        let ranked: Vec<(usize, usize, f64)> =
            table.top(kind, usize::MAX).into_iter().filter(|h| h.0 == layer).collect();
        let mut chosen: Vec<(usize, usize, f64)> =
            ranked.iter().copied().filter(|h| h.2 >= threshold).collect();
        if chosen.is_empty() {
            chosen.extend(ranked.first().copied());
        }
        chosen
    };
    let previous_token = pick(&prev, HeadKind::PreviousToken, 0, 0.4);
    let induction = pick(&ind, HeadKind::Induction, 1, 0.1);
    Ok(FoundHeads { previous_token, induction, table: prev.merge(ind)? })
}

/// Loads the model and data, finds the heads, splits them, and builds the loss circuits.
pub fn setup(opts: &Options) -> Result<Setup> {
    let dir = &opts.model_dir;
    let (config, weights) = load_model_dir(dir)?;
    let data = to_i64(&read_npy(&dir.join("dataset.npy"))?)?;
    let plain = Transformer::new(config.clone(), weights.clone())?;
    let mut heads = find_heads(&plain, &data, opts.detect_sequences)?;
    // Chosen heads replace the detected ones (keeping their scores for the report).
    let chosen =
        |layer: usize, ids: &[usize], kind: HeadKind| -> Result<Vec<(usize, usize, f64)>> {
            ids.iter()
                .map(|&h| {
                    let score = heads.table.get(kind, layer, h).ok_or_else(|| {
                        format!(
                            "there is no head {layer}.{h} (the model has {} heads per layer)",
                            heads.table.n_heads
                        )
                    })?;
                    Ok((layer, h, score))
                })
                .collect()
        };
    if let Some(ids) = &opts.prev_heads {
        heads.previous_token = chosen(0, ids, HeadKind::PreviousToken)?;
    }
    if let Some(ids) = &opts.induction_heads {
        heads.induction = chosen(1, ids, HeadKind::Induction)?;
    }
    let ids = |hs: &[(usize, usize, f64)]| hs.iter().map(|h| h.1).collect::<Vec<usize>>();
    let split = HeadSplit::new()
        .split_off(1, &ids(&heads.induction), "a1.ind", "a1.not_ind")
        .split_off(0, &ids(&heads.previous_token), "a0.prev", "a0.not_prev");
    let model = Transformer::with_split(config, weights.cast(DType::F32), split)?;

    let var = token_dataset_var(&data, "toks_int_var")?;
    let other = independent_var(&var, opts.seed)?;
    let loss = model.loss(&var)?;
    // Only positions whose input token is a good induction candidate count.
    let (input_toks, _) = split_tokens(&var)?;
    let candidates = read_npy(&dir.join("good_induction_candidates.npy"))?;
    let candidates = Tensor::from_vec(
        candidates.shape(),
        candidates.to_f64_vec().iter().map(|&x| x as f32).collect::<Vec<f32>>(),
    )?;
    let is_candidate = Circuit::general_function(
        GfSpec::GenIndex {
            index_dim: 0,
            batch_x: false,
            batch_index: true,
            check_index_ints: true,
        },
        vec![Circuit::array(candidates, Some("tok_is_induct_candidate"))?, input_toks],
    )?
    .rename(Some("induct_candidate"))?;
    let on_candidates =
        Circuit::einsum("s,s->s", [loss, is_candidate])?.rename(Some("loss_on_candidates"))?;
    let expected_loss = Circuit::cumulant(vec![on_candidates.clone()])?
        .rename(Some("t.expected_loss_by_seq"))?
        .mean(&[-1])?
        .rename(Some("t.expected_loss"))?;
    let per_sequence = on_candidates.mean(&[-1])?.rename(Some("loss"))?;
    // Separate the induction heads' q/k/v inputs: substitute the module binding their
    // input (`a.input` ← `a1.norm`) and the one binding the token embeddings.
    let separated = substitute_named(&per_sequence, "a1.ind")?;
    let separated = substitute_named(&separated, "t.call")?;
    Ok(Setup { model, heads, var, other, expected_loss, loss: separated })
}

fn substitute_named(c: &Circuit, name: &str) -> Result<Circuit> {
    let m = Matcher::from(name) & Matcher::kinds([circuit::ir::Kind::Module]);
    Ok(update(c, m, |node| node.substitute().map_err(MatchError::from))?)
}

/// One row of the table: a named scrubbed circuit.
pub struct Hypothesis {
    /// Short name shown in the table.
    pub name: &'static str,
    /// What is scrubbed, in words.
    pub scrubbed: &'static str,
    /// The per-sequence loss with the hypothesis's paths reading `toks_int_var_other`.
    pub circuit: Circuit,
}

/// The iterative matchers of the experiment.
pub struct Paths {
    /// The induction heads' query, key and value inputs (`a.head.on_inp` children 1-3).
    pub q: IterativeMatcher,
    pub k: IterativeMatcher,
    pub v: IterativeMatcher,
}

impl Paths {
    pub fn new() -> Paths {
        let on_inp = IterativeMatcher::from("a1.ind").chain("a.head.on_inp");
        Paths {
            q: on_inp.children_matcher([1]),
            k: on_inp.children_matcher([2]),
            v: on_inp.children_matcher([3]),
        }
    }
}

/// The hypotheses of the reference, in its order.
pub fn hypotheses(s: &Setup) -> Result<Vec<Hypothesis>> {
    let p = Paths::new();
    let scrub = |path: IterativeMatcher| -> Result<Circuit> {
        Ok(scrub_input(&s.loss, path, &s.var, &s.other)?)
    };
    // Paths into an input that pass through layer 0's attention (`b0.a`), i.e. all but
    // the direct path from the embeddings.
    let via_layer0 = |m: &IterativeMatcher| m.chain("b0.a");
    // Key paths that avoid the previous-token head: the restriction must sit on the
    // matcher that walks down to the tokens (restricting `p.k` itself would only limit
    // the walk down to the key input). `scrub_input` chains the variable once more, which
    // matches the same node.
    let var_not_via_prev = restrict(
        IterativeMatcher::from(Matcher::circuits([s.var.clone()])),
        false,
        None,
        None,
        Matcher::from("a0.prev"),
    );
    let k_not_prev = p.k.chain(var_not_via_prev);
    let mut hyps = vec![
        Hypothesis { name: "unscrubbed", scrubbed: "nothing", circuit: s.loss.clone() },
        Hypothesis {
            name: "all inputs scrubbed",
            scrubbed: "every model input (labels and candidate mask kept)",
            circuit: scrub(IterativeMatcher::from("t.call"))?,
        },
        Hypothesis {
            name: "induction heads scrubbed (baseline)",
            scrubbed: "every input of a1.ind",
            circuit: scrub(IterativeMatcher::from("a1.ind"))?,
        },
        Hypothesis {
            name: "embeddings -> value",
            scrubbed: "value input paths through layer 0",
            circuit: scrub(via_layer0(&p.v))?,
        },
        Hypothesis {
            name: "embeddings -> query",
            scrubbed: "query input paths through layer 0",
            circuit: scrub(via_layer0(&p.q))?,
        },
        Hypothesis {
            name: "previous-token head -> key",
            scrubbed: "key input paths not through a0.prev",
            circuit: scrub(k_not_prev.clone())?,
        },
        Hypothesis {
            name: "all three together",
            scrubbed: "the union of the three",
            circuit: scrub(via_layer0(&p.v) | via_layer0(&p.q) | k_not_prev)?,
        },
    ];
    // The bonus: the key input may depend on the previous-token head only through its
    // previous-position branch.
    let split = split_previous_token_head(&s.loss)?;
    let var_not_via_prev_pos = restrict(
        IterativeMatcher::from(Matcher::circuits([s.var.clone()])),
        false,
        None,
        None,
        Matcher::from(PREV_BRANCH),
    );
    let k_prev_pos = p.k.chain(var_not_via_prev_pos);
    let scrub_split = |path: IterativeMatcher| -> Result<Circuit> {
        Ok(scrub_input(&split, path, &s.var, &s.other)?)
    };
    hyps.push(Hypothesis {
        name: "prev-token head (prev. position) -> key",
        scrubbed: "key input paths not through a0.prev's previous-position branch",
        circuit: scrub_split(k_prev_pos.clone())?,
    });
    hyps.push(Hypothesis {
        name: "all three, refined key",
        scrubbed: "value and query paths through layer 0, the refined key paths",
        circuit: scrub_split(via_layer0(&p.v) | via_layer0(&p.q) | k_prev_pos)?,
    });
    Ok(hyps)
}

/// Name of the previous-token head's previous-position branch after the bonus rewrite.
pub const PREV_BRANCH: &str = "mask_prev.a.comb_v";

/// The bonus rewrite (REMIX day 3): split the previous-token head's attention
/// probabilities as `probs·mask_prev + probs·(1 − mask_prev)` (`mask_prev` selects the
/// previous position), distribute its value combination over that Add
/// (`mask_prev.a.comb_v` + `mask_not_prev.a.comb_v`), and push the head's module
/// bindings down with [`ModulePusher`] so each branch binds its own inputs, i.e. has its
/// own paths down to the tokens. The value is unchanged.
pub fn split_previous_token_head(loss: &Circuit) -> Result<Circuit> {
    // Concrete shapes inside the module specs, so the masks can be constant arrays.
    let conformed = conform_all_modules(loss)?;
    let in_prev = |name: &str| IterativeMatcher::from("a0.prev").chain(name);
    let probs = circuit::matching::get(&conformed, in_prev("a.attn_probs"))?;
    let shape = probs.first().ok_or("no a.attn_probs in a0.prev")?.shape().to_vec();
    let (nq, nk) = match shape.as_slice() {
        [.., q, k] => (*q, *k),
        _ => return Err(format!("a.attn_probs has shape {shape:?}").into()),
    };
    let prev: Vec<f32> =
        (0..nq * nk).map(|i| if i / nk >= 1 && i % nk == i / nk - 1 { 1.0 } else { 0.0 }).collect();
    let not_prev: Vec<f32> = prev.iter().map(|x| 1.0 - x).collect();
    let mask_prev = Circuit::array(Tensor::from_vec(&[nq, nk], prev)?, Some("mask_prev_pos"))?;
    let mask_not =
        Circuit::array(Tensor::from_vec(&[nq, nk], not_prev)?, Some("mask_not_prev_pos"))?;
    let split = update(&conformed, in_prev("a.attn_probs"), |p| {
        let r = p.rank();
        let lead: String = "abcdefgh".chars().take(r - 2).collect();
        let spec = format!("{lead}qk,qk->{lead}qk");
        let part = |m: &Circuit, name: &str| -> circuit::ir::Result<Circuit> {
            Circuit::einsum(&spec, [p.clone(), m.clone()])?.rename(Some(name))
        };
        part(&mask_prev, "mask_prev")?
            .add(&part(&mask_not, "mask_not_prev")?)?
            .rename(p.name())
            .map_err(MatchError::from)
    })?;
    let opts =
        DistributeOptions { suffix: Some(".a.comb_v".into()), ..DistributeOptions::default() };
    let mut err = None;
    let distributed = update(&split, in_prev("a.comb_v"), |c| {
        let idx = c.children().iter().position(|k| k.name() == Some("a.attn_probs"));
        match idx.map(|i| distribute(c, i, &opts)) {
            Some(Ok(d)) => Ok(d),
            Some(Err(e)) => {
                err = Some(e.to_string());
                Ok(c.clone())
            }
            None => Ok::<_, MatchError>(c.clone()),
        }
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    let branches = Matcher::names([PREV_BRANCH, "mask_not_prev.a.comb_v"]);
    let pusher = ModulePusher {
        // Keep the branch names (the default namer appends " bind:<modules>").
        namer: std::sync::Arc::new(|base: &Circuit, _: &Circuit, _: &[Circuit]| {
            base.name().map(String::from)
        }),
        ..ModulePusher::default()
    };
    let module = Matcher::from("a0.prev") & Matcher::kinds([circuit::ir::Kind::Module]);
    let mut err = None;
    let pushed = update(&distributed, module, |m| {
        match pusher.push_down_modules(m, new_traversal(None, None, branches.clone()), None) {
            Ok(c) => Ok::<_, MatchError>(c),
            Err(e) => {
                err = Some(e.to_string());
                Ok(m.clone())
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(pushed)
}

/// Mean and standard error of a sample.
pub fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

/// Fraction of loss recovered `(s − b) / (u − b)` with its standard error by the delta
/// method over paired samples (`s`, `b`, `u` evaluated on the same draws).
pub fn loss_recovered(s: &[f64], b: &[f64], u: &[f64]) -> (f64, f64) {
    let x: Vec<f64> = s.iter().zip(b).map(|(s, b)| s - b).collect();
    let y: Vec<f64> = u.iter().zip(b).map(|(u, b)| u - b).collect();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let r = mx / my;
    let d = (n - 1.0).max(1.0);
    let vxx = x.iter().map(|v| (v - mx).powi(2)).sum::<f64>() / d;
    let vyy = y.iter().map(|v| (v - my).powi(2)).sum::<f64>() / d;
    let vxy = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / d;
    let var = (vxx - 2.0 * r * vxy + r * r * vyy) / (my * my * n);
    (r, var.max(0.0).sqrt())
}

/// A hypothesis's result.
pub struct Row {
    pub name: &'static str,
    pub scrubbed: &'static str,
    /// Per-sequence losses, one per sample.
    pub losses: Vec<f64>,
    pub mean: f64,
    pub se: f64,
    /// Fraction of loss recovered ± standard error (rows after the baseline).
    pub recovered: Option<(f64, f64)>,
    pub seconds: f64,
}

impl Row {
    /// `loss ± SE`.
    pub fn loss_text(&self) -> String {
        format!("{:.4} ± {:.4}", self.mean, self.se)
    }

    /// The fraction of loss recovered of row `i` of [`run`]'s output: 100% for the
    /// unscrubbed row (0), 0% for the baseline (2), `m% ± e%` after it, empty otherwise.
    pub fn recovered_text(&self, i: usize) -> String {
        match (i, self.recovered) {
            (0, _) => "100%".to_string(),
            (2, _) => "0%".to_string(),
            (_, Some((m, e))) => format!("{:.1}% ± {:.1}%", 100.0 * m, 100.0 * e),
            _ => String::new(),
        }
    }
}

/// The sampler every hypothesis uses: the same seed gives the same draws of both
/// variables, so the rows are paired.
pub fn sampler(opts: &Options) -> Sampler {
    Sampler::new(RandomSampleSpec::new(&[opts.samples]).with_base_seed(opts.seed))
}

/// Samples and evaluates each hypothesis; `progress` is called after each row.
pub fn run(
    opts: &Options,
    hyps: &[Hypothesis],
    mut progress: impl FnMut(&Row),
) -> Result<Vec<Row>> {
    let sampler = sampler(opts);
    let settings = EvalSettings { max_memory: Some(opts.max_memory), ..EvalSettings::default() };
    let mut rows: Vec<Row> = Vec::new();
    for h in hyps {
        let t = Instant::now();
        let sampled = sampler.sample(&h.circuit)?;
        let losses = evaluate_with(&sampled, &settings)?.to_f64_vec();
        let (mean, se) = mean_se(&losses);
        let row = Row {
            name: h.name,
            scrubbed: h.scrubbed,
            losses,
            mean,
            se,
            recovered: None,
            seconds: t.elapsed().as_secs_f64(),
        };
        progress(&row);
        rows.push(row);
    }
    let (u, b) = (rows[0].losses.clone(), rows[2].losses.clone());
    for row in rows.iter_mut().skip(3) {
        row.recovered = Some(loss_recovered(&row.losses, &b, &u));
    }
    Ok(rows)
}

/// The results as a text table.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<42} {:>17}  {:>17}  {}\n",
        "hypothesis", "loss ± SE", "recovered ± SE", "scrubbed"
    );
    for (i, r) in rows.iter().enumerate() {
        out += &format!(
            "{:<42} {:>17}  {:>17}  {}\n",
            r.name,
            r.loss_text(),
            r.recovered_text(i),
            r.scrubbed
        );
    }
    out
}

/// Whether a node reads the scrubbed variable, the original one, both or neither (the
/// seed notebook's colors: red, cyan, purple, light grey).
pub fn scrub_color(c: &Circuit, var: &Circuit, other: &Circuit) -> Option<String> {
    let reads = |v: &Circuit| are_any_found(c, Matcher::circuits([v.clone()])).unwrap_or(false);
    Some(
        match (reads(other), reads(var)) {
            (true, true) => "purple",
            (true, false) => "red",
            (false, true) => "darkcyan",
            (false, false) => "silver",
        }
        .to_string(),
    )
}
