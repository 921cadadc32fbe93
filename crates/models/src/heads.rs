//! A head detector in the spirit of TransformerLens's `detect_head`: previous-token,
//! duplicate-token and induction scores of every head, computed from the attention
//! probabilities of the model circuit (`a{l}.probs`).
//!
//! For a sequence `x` and a kind, a *detection pattern* `D[s, t] ∈ {0, 1}` marks the
//! keys `t` a head of that kind attends to from query `s`:
//!
//! | kind | `D[s, t] = 1` when |
//! |---|---|
//! | previous token | `t = s − 1` |
//! | duplicate token | `t < s` and `x[t] = x[s]` (an earlier copy of the current token) |
//! | induction | `1 ≤ t ≤ s` and `x[t − 1] = x[s]` (the token after an earlier copy) |
//!
//! A query row is *scored* when it has at least one marked key. A head's score is the
//! attention probability mass it puts on marked keys, `Σ_t P[s, t] D[s, t]`, averaged over
//! every scored row of every sequence: 1 for a perfect head, and for a head attending
//! uniformly the mean of `#marked / (s + 1)`. (TransformerLens's `"mul"` metric divides
//! by all rows instead, so its maximum is below 1 when some rows have nothing to score.)
//! Induction and duplicate scores are meaningful on repeated random sequences
//! ([`repeated_random_tokens`]); previous-token scores on any text.

use std::fmt;

use circuit_eval::EvalSettings;
use circuit_ir::Circuit;
use circuit_tensor::{DType, Rng, Tensor};

use crate::model::{tokens_array, Transformer};
use crate::{ModelError, Result};

/// A kind of head behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeadKind {
    /// Attends to the previous position.
    PreviousToken,
    /// Attends to earlier occurrences of the current token.
    DuplicateToken,
    /// Attends to the token after an earlier occurrence of the current token.
    Induction,
}

impl HeadKind {
    /// Every kind.
    pub const ALL: [HeadKind; 3] =
        [HeadKind::PreviousToken, HeadKind::DuplicateToken, HeadKind::Induction];

    /// Short name (`previous_token`, `duplicate_token`, `induction`).
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::PreviousToken => "previous_token",
            HeadKind::DuplicateToken => "duplicate_token",
            HeadKind::Induction => "induction",
        }
    }

    /// Whether key `t` is marked for query `s` of sequence `x`.
    pub fn marks(self, x: &[i64], s: usize, t: usize) -> bool {
        match self {
            HeadKind::PreviousToken => t + 1 == s,
            HeadKind::DuplicateToken => t < s && x[t] == x[s],
            HeadKind::Induction => t >= 1 && t <= s && x[t - 1] == x[s],
        }
    }
}

/// Scores per kind, layer and head.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadTable {
    /// Layers.
    pub n_layers: usize,
    /// Heads per layer.
    pub n_heads: usize,
    /// `(kind, scores[layer * n_heads + head])`; NaN where no row could be scored.
    pub scores: Vec<(HeadKind, Vec<f64>)>,
}

impl HeadTable {
    /// One score (`None` for a kind not computed or an out-of-range head).
    pub fn get(&self, kind: HeadKind, layer: usize, head: usize) -> Option<f64> {
        if layer >= self.n_layers || head >= self.n_heads {
            return None;
        }
        let (_, s) = self.scores.iter().find(|(k, _)| *k == kind)?;
        s.get(layer * self.n_heads + head).copied()
    }

    /// The `n` best heads for a kind, best first, as `(layer, head, score)`.
    pub fn top(&self, kind: HeadKind, n: usize) -> Vec<(usize, usize, f64)> {
        let Some((_, s)) = self.scores.iter().find(|(k, _)| *k == kind) else { return Vec::new() };
        let mut v: Vec<(usize, usize, f64)> = s
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.is_nan())
            .map(|(i, &x)| (i / self.n_heads, i % self.n_heads, x))
            .collect();
        v.sort_by(|a, b| b.2.total_cmp(&a.2));
        v.truncate(n);
        v
    }

    /// Heads of a kind scoring at least `threshold`, best first.
    pub fn above(&self, kind: HeadKind, threshold: f64) -> Vec<(usize, usize, f64)> {
        self.top(kind, usize::MAX).into_iter().filter(|x| x.2 >= threshold).collect()
    }

    /// This table with the kinds of `other` added (the other's scores win for kinds
    /// both have).
    ///
    /// # Errors
    /// [`ModelError::Config`] when the tables are for different model sizes.
    pub fn merge(mut self, other: HeadTable) -> Result<HeadTable> {
        if (self.n_layers, self.n_heads) != (other.n_layers, other.n_heads) {
            return Err(ModelError::Config("head tables of different models".into()));
        }
        for (k, s) in other.scores {
            self.scores.retain(|(x, _)| *x != k);
            self.scores.push((k, s));
        }
        self.scores.sort_by_key(|(k, _)| *k);
        Ok(self)
    }
}

impl fmt::Display for HeadTable {
    /// A table: one row per head (`L.H`), one column per kind.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "head")?;
        for (k, _) in &self.scores {
            write!(f, " {:>16}", k.name())?;
        }
        writeln!(f)?;
        for i in 0..self.n_layers * self.n_heads {
            write!(f, "{:<4}", format!("{}.{}", i / self.n_heads, i % self.n_heads))?;
            for (_, s) in &self.scores {
                write!(f, " {:>16.4}", s[i])?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Options of [`detect_heads`].
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// Sequences evaluated per circuit evaluation.
    pub chunk: usize,
    /// Evaluator settings.
    pub settings: EvalSettings,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions { chunk: 8, settings: EvalSettings::default() }
    }
}

/// `[n_layers · n_heads, SEQ, SEQ]` in the model's body space: every layer's
/// `a{l}.probs` concatenated along the head axis.
///
/// # Errors
/// Construction errors.
pub fn all_probs(model: &Transformer) -> Result<Circuit> {
    let layers =
        (0..model.config().n_layers).map(|l| model.probs(l)).collect::<Result<Vec<_>>>()?;
    Ok(Circuit::concat(layers, 0)?.rename(Some("t.all_probs"))?)
}

/// Scores every head of `model` for each of `kinds` on int token sequences `tokens`
/// `[n_seqs, seq_len]` (see the module docs for the definitions).
///
/// # Errors
/// [`ModelError::Tokens`] for bad token tensors; evaluation errors.
pub fn detect_heads(
    model: &Transformer,
    tokens: &Tensor,
    kinds: &[HeadKind],
    opts: &DetectOptions,
) -> Result<HeadTable> {
    if tokens.ndim() != 2 || tokens.shape()[1] == 0 {
        return Err(ModelError::Tokens(format!(
            "head detection needs tokens [n_seqs, seq_len], got {:?}",
            tokens.shape()
        )));
    }
    let (n, s) = (tokens.shape()[0], tokens.shape()[1]);
    let toks = tokens.to_i64_vec();
    let cfg = model.config();
    let lh = cfg.n_layers * cfg.n_heads;
    // Scored rows per kind, over all sequences (the normaliser).
    let rows: Vec<usize> = kinds
        .iter()
        .map(|&k| {
            toks.chunks(s)
                .map(|x| (0..s).filter(|&q| (0..s).any(|t| k.marks(x, q, t))).count())
                .sum()
        })
        .collect();
    let probs = all_probs(model)?;
    let dtype = model.weights().dtype();
    let mut acc = vec![0.0; kinds.len() * lh];
    let chunk = opts.chunk.max(1);
    for start in (0..n).step_by(chunk) {
        let b = chunk.min(n - start);
        let rows_toks = toks[start * s..(start + b) * s].to_vec();
        let mut w = vec![0.0; kinds.len() * b * s * s];
        for (ki, &k) in kinds.iter().enumerate() {
            let norm = if rows[ki] == 0 { 0.0 } else { 1.0 / rows[ki] as f64 };
            for (bi, x) in rows_toks.chunks(s).enumerate() {
                for q in 0..s {
                    for t in 0..s {
                        if k.marks(x, q, t) {
                            w[((ki * b + bi) * s + q) * s + t] = norm;
                        }
                    }
                }
            }
        }
        let weights = Circuit::array(
            Tensor::from_vec(&[kinds.len(), b, s, s], w)?.cast(dtype),
            Some("detect.weights"),
        )?;
        let input = tokens_array(&Tensor::from_vec(&[b, s], rows_toks)?, "detect.toks")?;
        let p = model.bind_tokens(&probs, &input, "detect.probs")?;
        let scores = Circuit::einsum("bhst,kbst->kh", [p, weights])?;
        let v = circuit_eval::evaluate_with(&scores, &opts.settings)?.to_f64_vec();
        for (a, x) in acc.iter_mut().zip(v) {
            *a += x;
        }
    }
    let scores = kinds
        .iter()
        .enumerate()
        .map(|(ki, &k)| {
            let v = if rows[ki] == 0 {
                vec![f64::NAN; lh]
            } else {
                acc[ki * lh..(ki + 1) * lh].to_vec()
            };
            (k, v)
        })
        .collect();
    Ok(HeadTable { n_layers: cfg.n_layers, n_heads: cfg.n_heads, scores })
}

/// `n` sequences `R R` of `2·half` int64 tokens, `R` drawn uniformly (seeded) from
/// `vocab` (the token ids to use, e.g. common tokens only).
///
/// # Errors
/// [`ModelError::Tokens`] for an empty vocabulary.
pub fn repeated_random_tokens(n: usize, half: usize, vocab: &[i64], seed: u64) -> Result<Tensor> {
    if vocab.is_empty() {
        return Err(ModelError::Tokens("empty vocabulary".into()));
    }
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n * 2 * half);
    for _ in 0..n {
        let r: Vec<i64> = (0..half)
            .map(|_| vocab[(rng.next_f64() * vocab.len() as f64) as usize % vocab.len()])
            .collect();
        out.extend_from_slice(&r);
        out.extend_from_slice(&r);
    }
    Ok(Tensor::from_vec(&[n, 2 * half], out)?.cast(DType::I64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_patterns() {
        // 0 1 2 0 1 2: induction from s=3 (x=0) marks t=1 (after the first 0).
        let x = [0, 1, 2, 0, 1, 2];
        assert!(HeadKind::Induction.marks(&x, 3, 1));
        assert!(!HeadKind::Induction.marks(&x, 3, 0));
        assert!(HeadKind::DuplicateToken.marks(&x, 3, 0));
        assert!(!HeadKind::DuplicateToken.marks(&x, 0, 0));
        assert!(HeadKind::PreviousToken.marks(&x, 1, 0));
        let t = repeated_random_tokens(3, 4, &[5, 6, 7], 1).expect("tokens");
        let v = t.to_i64_vec();
        assert_eq!(t.shape(), &[3, 8]);
        assert_eq!(v[..4], v[4..8]);
        assert!(v.iter().all(|x| (5..8).contains(x)));
    }

    #[test]
    fn table_queries() {
        let t = HeadTable {
            n_layers: 2,
            n_heads: 2,
            scores: vec![(HeadKind::Induction, vec![0.1, 0.2, 0.9, f64::NAN])],
        };
        assert_eq!(t.top(HeadKind::Induction, 1), vec![(1, 0, 0.9)]);
        assert_eq!(t.above(HeadKind::Induction, 0.15).len(), 2);
        assert_eq!(t.get(HeadKind::Induction, 0, 1), Some(0.2));
        assert!(t.get(HeadKind::PreviousToken, 0, 1).is_none());
        assert!(t.to_string().contains("1.0"));
    }
}
