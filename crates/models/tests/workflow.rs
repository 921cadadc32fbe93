//! The reference workflow's operations on our circuits: a DiscreteVar over a dataset of
//! token rows through the sampler, and separating a head group's q/k/v input paths by
//! substituting modules, then scrubbing one path.

use std::path::Path;

use circuit_eval::evaluate;
use circuit_ir::Circuit;
use circuit_match::{are_any_found, get, update, IterativeMatcher, MatchError};
use circuit_models::{
    load_model_dir, split_tokens, token_dataset_var, tokens_array, HeadSplit, Transformer,
};
use circuit_sample::{RandomSampleSpec, Sampler};
use circuit_tensor::{read_npy, DType, Tensor};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn tiny() -> Result<(Transformer, Tensor), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_attn2");
    let (config, weights) = load_model_dir(&dir)?;
    let split = HeadSplit::new().split_off(1, &[1], "a1.ind", "a1.not_ind").split_off(
        0,
        &[0],
        "a0.prev",
        "a0.not_prev",
    );
    let model = Transformer::with_split(config, weights.cast(DType::F64), split)?;
    Ok((model, read_npy(&dir.join("tokens.npy"))?))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.to_f64_vec().iter().zip(b.to_f64_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn discrete_var_dataset_through_the_sampler() -> TestResult {
    let (model, toks) = tiny()?;
    let var = token_dataset_var(&toks, "toks_int_var")?;
    let loss = model.loss(&var)?;
    assert_eq!(loss.shape().as_slice(), &[7]);
    let sampler = Sampler::new(RandomSampleSpec::new(&[5]).with_base_seed(3));
    let sampled = evaluate(&sampler.sample(&loss)?)?;
    // The same group is drawn identically: evaluate the sampled rows directly.
    let rows = evaluate(&sampler.sample(&var)?)?;
    let direct = evaluate(&model.loss(&tokens_array(&rows, "rows")?)?)?;
    assert_eq!(sampled.shape(), &[5, 7]);
    assert!(max_abs_diff(&sampled, &direct) < 1e-12);
    // The expected loss per position (Cumulant) is the mean over samples.
    let expected = evaluate(&sampler.estimate(&Circuit::cumulant(vec![loss])?)?)?;
    let mean: Vec<f64> =
        (0..7).map(|p| (0..5).map(|b| direct.to_f64_vec()[b * 7 + p]).sum::<f64>() / 5.0).collect();
    assert!(max_abs_diff(&expected, &Tensor::from_vec(&[7], mean)?) < 1e-12);
    Ok(())
}

fn on_inp_child(kids: &[usize], below: &str) -> IterativeMatcher {
    IterativeMatcher::from("a.head.on_inp").children_matcher(kids.iter().copied()).chain(below)
}

fn scrub(c: &Circuit, kids: &[usize], other: &Circuit) -> Result<Circuit, MatchError> {
    update(c, on_inp_child(kids, "toks"), |_| Ok::<_, MatchError>(other.clone()))
}

#[test]
fn head_group_inputs_separate_after_substitution() -> TestResult {
    let (model, toks) = tiny()?;
    let toks_c = tokens_array(&toks, "toks")?;
    let (input, _) = split_tokens(&toks_c)?;
    let other_rows: Vec<i64> = toks.to_i64_vec().iter().map(|t| (t + 3) % 11).collect();
    let other_c = tokens_array(&Tensor::from_vec(toks.shape(), other_rows)?, "toks_other")?;
    let (other_input, _) = split_tokens(&other_c)?;

    // a1.ind on the tokens: bind (t.call-style), then substitute the binding and the
    // group's norm call so the q/k/v inputs of `a.head.on_inp` reach the embeddings.
    let ind = model.node("a1.ind")?;
    let bound = model.bind_tokens(&ind, &input, "a1.ind.call")?;
    let separated = bound.substitute()?.substitute()?;
    assert!(separated.free_symbols().is_empty());
    let original = evaluate(&bound)?;
    assert!(max_abs_diff(&evaluate(&separated)?, &original) < 1e-12);

    // q and k inputs add positions to the layer norm (`a.qk_input`), v is the layer
    // norm itself; each reaches the token embeddings.
    let on_inp = get(&separated, "a.head.on_inp")?;
    let on_inp = on_inp.first().ok_or("no a.head.on_inp")?;
    let names: Vec<Option<&str>> = on_inp.children()[1..].iter().map(Circuit::name).collect();
    assert_eq!(names[..2], [Some("a.qk_input"), Some("a.qk_input")]);
    assert_ne!(names[2], Some("a.qk_input"));
    for kids in [[1], [2], [3]] {
        assert!(are_any_found(&separated, on_inp_child(&kids, "a1.norm"))?);
        assert!(are_any_found(&separated, on_inp_child(&kids, "idxed_embeds"))?);
    }
    assert_eq!(get(&separated, on_inp_child(&[1, 2, 3], "toks"))?.len(), 1);

    // Scrubbing every input = the group on the other tokens; the same tokens change
    // nothing; the value path alone changes the output.
    let all = evaluate(&scrub(&separated, &[1, 2, 3], &other_c)?)?;
    let on_other = evaluate(&model.bind_tokens(&ind, &other_input, "a1.ind.other")?)?;
    assert!(max_abs_diff(&all, &on_other) < 1e-12);
    let same = evaluate(&scrub(&separated, &[3], &toks_c)?)?;
    assert!(max_abs_diff(&same, &original) < 1e-12);
    let v_only = evaluate(&scrub(&separated, &[3], &other_c)?)?;
    assert!(max_abs_diff(&v_only, &original) > 1e-3);
    assert!(max_abs_diff(&v_only, &on_other) > 1e-3);
    Ok(())
}
