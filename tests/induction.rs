//! The main job's logic (`examples/induction/experiment.rs`) on a few samples: the
//! hypotheses scrub what they claim, the numbers are ordered as the experiment needs,
//! the statistics are right, and the run is reproducible.

#[path = "../examples/induction/experiment.rs"]
mod experiment;

use circuit::eval::evaluate;
use circuit::ir::Circuit;
use circuit::matching::{are_any_found, get, IterativeMatcher, Matcher};
use experiment::{
    hypotheses, loss_recovered, mean_se, run, sampler, setup, split_previous_token_head, Options,
    Paths, PREV_BRANCH,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn reads(
    c: &Circuit,
    path: &IterativeMatcher,
    var: &Circuit,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    Ok(are_any_found(c, path.chain(Matcher::circuits([var.clone()])))?)
}

#[test]
fn statistics_by_hand() {
    let (m, se) = mean_se(&[1.0, 2.0, 3.0, 6.0]);
    // mean 3, sample variance (4 + 1 + 0 + 9) / 3 = 14/3, se = sqrt(14/3 / 4).
    assert!((m - 3.0).abs() < 1e-12 && (se - (14.0f64 / 12.0).sqrt()).abs() < 1e-12);
    // Scrubbed exactly halfway between baseline and unscrubbed on every draw: r = 0.5, no error.
    let b = [2.0, 3.0, 5.0];
    let u = [1.0, 1.0, 2.0];
    let s: Vec<f64> = b.iter().zip(&u).map(|(b, u)| b + 0.5 * (u - b)).collect();
    let (r, e) = loss_recovered(&s, &b, &u);
    assert!((r - 0.5).abs() < 1e-12 && e < 1e-9, "{r} {e}");
    // Not exactly proportional: a positive error.
    let (_, e) = loss_recovered(&[1.5, 2.5, 3.0], &b, &u);
    assert!(e > 0.01);
}

#[test]
fn hypotheses_scrub_the_claimed_paths() -> TestResult {
    let s = setup(&Options::default())?;
    let hyps = hypotheses(&s)?;
    let p = Paths::new();
    let by_name =
        |n: &str| hyps.iter().find(|h| h.name == n).map(|h| h.circuit.clone()).ok_or(n.to_string());
    // Nothing reads the other variable before scrubbing; every scrubbed circuit does.
    assert!(!are_any_found(&s.loss, Matcher::circuits([s.other.clone()]))?);
    for h in &hyps[1..] {
        assert!(are_any_found(&h.circuit, Matcher::circuits([s.other.clone()]))?, "{}", h.name);
    }
    // The labels are never scrubbed.
    for h in &hyps {
        let labels = get(&h.circuit, "true_toks")?;
        assert!(labels.iter().all(|l| l.children()[0] == s.var), "{}", h.name);
    }
    // embeddings -> value: only the value input reads scrubbed tokens, and only through
    // layer 0; its direct embedding path keeps the original tokens.
    let v = by_name("embeddings -> value")?;
    assert!(reads(&v, &p.v, &s.other)? && reads(&v, &p.v, &s.var)?);
    assert!(!reads(&v, &p.q, &s.other)? && !reads(&v, &p.k, &s.other)?);
    let direct = p.v.chain(circuit::matching::restrict(
        IterativeMatcher::from("idxed_embeds"),
        false,
        None,
        None,
        Matcher::from("b0.a"),
    ));
    assert!(!reads(&v, &direct, &s.other)?);
    // previous-token head -> key: the key input keeps the original tokens only via a0.prev.
    let k = by_name("previous-token head -> key")?;
    assert!(reads(&k, &p.k.chain("a0.prev"), &s.var)?);
    assert!(!reads(&k, &p.k.chain("a0.prev"), &s.other)?);
    assert!(!reads(&k, &p.k.chain("a0.not_prev"), &s.var)?);
    // baseline: no input of the induction heads reads the original tokens.
    let base = by_name("induction heads scrubbed (baseline)")?;
    for m in [&p.q, &p.k, &p.v] {
        assert!(!reads(&base, m, &s.var)? && reads(&base, m, &s.other)?);
    }
    Ok(())
}

#[test]
fn few_samples_give_ordered_reproducible_numbers() -> TestResult {
    let opts = Options { samples: 12, ..Options::default() };
    let s = setup(&opts)?;
    let hyps = hypotheses(&s)?;
    let rows = run(&opts, &hyps, |_| {})?;
    print!("{}", experiment::table(&rows));
    let (unscrubbed, all, baseline) = (&rows[0], &rows[1], &rows[2]);
    assert!(unscrubbed.mean < baseline.mean && baseline.mean < all.mean);
    for r in &rows[3..] {
        let (rec, se) = r.recovered.ok_or("no recovered value")?;
        assert!(rec > -3.0 * se - 0.05 && rec < 1.0 + 3.0 * se + 0.05, "{}: {rec} ± {se}", r.name);
    }
    // The estimate of the reference's `t.expected_loss` (a Cumulant) over the same draws
    // equals the mean of the per-sequence losses.
    let expected = evaluate(&sampler(&opts).estimate(&s.expected_loss)?)?.to_f64_vec()[0];
    assert!((expected - unscrubbed.mean).abs() < 1e-5, "{expected} vs {}", unscrubbed.mean);
    // Same seed, same numbers, bit for bit.
    let again = run(&opts, &hyps[..3], |_| {})?;
    for (a, b) in again.iter().zip(&rows) {
        assert_eq!(a.losses, b.losses, "{}", a.name);
    }
    Ok(())
}

#[test]
fn previous_position_split_keeps_the_value_and_separates_the_branch() -> TestResult {
    let opts = Options { samples: 3, ..Options::default() };
    let s = setup(&opts)?;
    let split = split_previous_token_head(&s.loss)?;
    let sampler = sampler(&opts);
    let before = evaluate(&sampler.sample(&s.loss)?)?.to_f64_vec();
    let after = evaluate(&sampler.sample(&split)?)?.to_f64_vec();
    for (a, b) in before.iter().zip(&after) {
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "{a} vs {b}");
    }
    // In the refined key hypothesis, the previous-position branch keeps the original
    // tokens and the other branch reads the scrubbed ones.
    let hyps = hypotheses(&s)?;
    let refined = hyps
        .iter()
        .find(|h| h.name.starts_with("prev-token head (prev. position)"))
        .ok_or("no refined hypothesis")?;
    let p = Paths::new();
    let branch = p.k.chain(PREV_BRANCH);
    assert!(reads(&refined.circuit, &branch, &s.var)?);
    assert!(!reads(&refined.circuit, &branch, &s.other)?);
    assert!(reads(&refined.circuit, &p.k.chain("mask_not_prev.a.comb_v"), &s.other)?);
    Ok(())
}

/// The REMIX debugging tip: `diff_circuits` between a scrubbed circuit and the original
/// shows exactly the changed part.
#[test]
fn diff_shows_exactly_the_scrubbed_value_path() -> TestResult {
    use circuit::text::{diff_circuits, DiffOptions};
    let s = setup(&Options::default())?;
    let hyps = hypotheses(&s)?;
    let v = hyps.iter().find(|h| h.name == "embeddings -> value").ok_or("no value hypothesis")?;
    let d = diff_circuits(
        std::slice::from_ref(&v.circuit),
        std::slice::from_ref(&s.loss),
        &DiffOptions::default(),
    );
    assert!(d.differs);
    let marked = |name: &str| -> Vec<char> {
        d.text
            .lines()
            .filter(|l| l.contains(&format!("'{name}'")))
            .filter_map(|l| l.chars().next())
            .collect()
    };
    // The value input changed below a.head.on_inp; the query and key inputs, the labels
    // and the candidate mask did not.
    assert!(marked("a.head.on_inp").contains(&'~'), "{}", d.text);
    for same in ["a.qk_input", "true_toks", "induct_candidate"] {
        let m = marked(same);
        assert!(!m.is_empty() && m.iter().all(|&c| c == ' '), "{same}: {m:?}\n{}", d.text);
    }
    assert!(marked("toks_int_var_other").contains(&'+'), "{}", d.text);
    Ok(())
}

#[test]
fn chosen_heads_replace_the_detected_ones() -> TestResult {
    let opts = Options { prev_heads: Some(vec![1, 3]), ..Options::default() };
    let s = setup(&opts)?;
    let ids: Vec<(usize, usize)> = s.heads.previous_token.iter().map(|h| (h.0, h.1)).collect();
    assert_eq!(ids, vec![(0, 1), (0, 3)]);
    // The group really holds both heads: its weight slices have 2 heads.
    let q = get(&s.loss, "a0.w.q.prev")?;
    assert_eq!(q.first().ok_or("no a0.w.q.prev")?.shape()[0], 2);
    let bad = Options { induction_heads: Some(vec![8]), ..Options::default() };
    let err = setup(&bad).err().ok_or("head 1.8 accepted")?;
    assert!(err.to_string().contains("no head 1.8"), "{err}");
    Ok(())
}
