//! Prints the tiny attention-only model's loss circuit (split heads) in the text format.
use circuit_models::{load_model_dir, tokens_array, HeadSplit, Transformer};
use circuit_tensor::read_npy;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_attn2");
    let (config, weights) = load_model_dir(&dir)?;
    let split = HeadSplit::new().split_off(1, &[1], "a1.ind", "a1.not_ind");
    let model = Transformer::with_split(config, weights, split)?;
    let toks = tokens_array(&read_npy(&dir.join("tokens.npy"))?, "toks")?;
    let loss = model.loss(&toks)?;
    let opts =
        circuit_text::PrintOptions { bijection: false, ..circuit_text::PrintOptions::default() };
    println!("{}", opts.repr(&[loss])?);
    Ok(())
}
