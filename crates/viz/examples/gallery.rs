//! Writes the pages behind `docs/img/viewer.png` and `docs/img/report.png`, computed from
//! the bundled trained model (`fixtures/models/attn2-pystdlib`: 2-layer attention-only,
//! 8 heads per layer, byte vocabulary, trained on Python stdlib source):
//!
//! * `viewer.html`: its loss circuit on two dataset sequences;
//! * `report.html`: head-detector scores (heat map and table), the attention pattern of
//!   the best induction-scoring head on a repeated random sequence (heat map), and the
//!   mean loss per position bucket on dataset sequences (bar chart with standard errors).
//!
//! ```sh
//! cargo run --release -p circuit-viz --example gallery -- OUT_DIR
//! chromium --headless --screenshot=docs/img/report.png --window-size=1000,1330 OUT_DIR/report.html
//! ```
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use circuit_ir::Circuit;
use circuit_models::{
    detect_heads, load_model_dir, repeated_random_tokens, tokens_array, DetectOptions, HeadKind,
    Transformer,
};
use circuit_tensor::{read_npy, Tensor};
use circuit_viz::{bar_chart_svg, heatmap_svg, report_html, to_html, HtmlOptions, Section};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The first `n` rows of the dataset, each cut to `len` tokens.
fn dataset_rows(data: &Tensor, n: usize, len: usize) -> Res<Tensor> {
    let width = data.shape()[1];
    let rows: Vec<i64> =
        data.to_i64_vec().chunks(width).take(n).flat_map(|r| r[..len].to_vec()).collect();
    Ok(Tensor::from_vec(&[n, len], rows)?)
}

fn main() -> Res<()> {
    let out =
        std::env::args().nth(1).map_or_else(|| PathBuf::from("target/viz-gallery"), PathBuf::from);
    std::fs::create_dir_all(&out)?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/attn2-pystdlib");
    let (config, weights) = load_model_dir(&dir)?;
    let model = Transformer::new(config.clone(), weights)?;
    let data = read_npy(&dir.join("dataset.npy"))?;
    let seq = data.shape()[1] - 1;

    // The viewer: the loss circuit on two dataset sequences.
    let view_loss = model.loss(&tokens_array(&dataset_rows(&data, 2, seq + 1)?, "toks")?)?;
    let html = to_html(
        std::slice::from_ref(&view_loss),
        &HtmlOptions { title: "attn2-pystdlib loss circuit".into(), ..HtmlOptions::default() },
    )?;
    std::fs::write(out.join("viewer.html"), html)?;

    // Head-detector scores: previous-token on dataset text, induction and duplicate-token
    // on repeated random printable-ASCII sequences R R (|R| = 50).
    let opts = DetectOptions { chunk: 4, ..DetectOptions::default() };
    let prev =
        detect_heads(&model, &dataset_rows(&data, 8, seq)?, &[HeadKind::PreviousToken], &opts)?;
    let printable: Vec<i64> = (32..127).collect();
    let rep = repeated_random_tokens(8, 50, &printable, 1234)?;
    let ind = detect_heads(&model, &rep, &[HeadKind::Induction, HeadKind::DuplicateToken], &opts)?;
    let table = prev.merge(ind)?;
    let heads: Vec<String> = (0..config.n_layers * config.n_heads)
        .map(|i| format!("L{}.H{}", i / config.n_heads, i % config.n_heads))
        .collect();
    let kinds: Vec<String> = table.scores.iter().map(|(k, _)| k.name().to_string()).collect();
    let matrix: Vec<Vec<f64>> = table.scores.iter().map(|(_, s)| s.clone()).collect();
    let scores_svg =
        heatmap_svg(&matrix, &kinds, &heads, "head-detector score (kind × layer.head)");

    // The attention pattern of the best induction head on a short repeated sequence.
    let (layer, head, score) =
        table.top(HeadKind::Induction, 1).first().copied().ok_or("no scores")?;
    let short = repeated_random_tokens(1, 8, &printable, 99)?.to_i64_vec();
    let pattern_svg = pattern_svg(&model, &short, layer, head)?;

    // Mean loss per position bucket (± standard error over the sequences).
    let loss = model.loss(&tokens_array(&dataset_rows(&data, 8, seq + 1)?, "toks")?)?;
    let (n, loss_svg) = loss_svg(&model, &loss, 30)?;

    let rows: Vec<Vec<String>> = heads
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut r = vec![h.clone()];
            r.extend(table.scores.iter().map(|(_, s)| format!("{:.4}", s[i])));
            r
        })
        .collect();
    let mut header = vec!["head".to_string()];
    header.extend(kinds.iter().cloned());
    let sections = vec![
        Section::Text(format!(
            "The bundled attn2-pystdlib model ({} layers × {} heads, d_model {}, byte vocabulary \
             of {}), trained on Python stdlib source; everything below is evaluated with \
             circuit-eval on the CPU.",
            config.n_layers, config.n_heads, config.d_model, config.vocab
        )),
        Section::Heading("Head detector".into()),
        Section::Figure {
            svg: scores_svg,
            caption: "previous_token: 8 dataset sequences; the others: 8 repeated random sequences R R, |R| = 50".into(),
        },
        Section::Figure {
            svg: pattern_svg,
            caption: format!(
                "best induction score: head L{layer}.H{head} ({score:.3}); labels pos:char"
            ),
        },
        Section::Table { caption: "head-detector scores".into(), header, rows },
        Section::Heading("Loss".into()),
        Section::Figure {
            svg: loss_svg,
            caption: format!("{n} dataset sequences; error bars: ± 1 standard error of the per-sequence means"),
        },
    ];
    std::fs::write(
        out.join("report.html"),
        report_html("attn2-pystdlib: heads and loss", &sections),
    )?;
    println!(
        "wrote {} and {}",
        out.join("viewer.html").display(),
        out.join("report.html").display()
    );
    Ok(())
}

/// The attention pattern (query × key) of one head on one token sequence, as a heat map
/// labelled `position:character`.
fn pattern_svg(model: &Transformer, seq: &[i64], layer: usize, head: usize) -> Res<String> {
    let seq_t = Tensor::from_vec(&[seq.len()], seq.to_vec())?;
    let probs = model.bind_tokens(
        &model.head_probs(layer, head)?,
        &tokens_array(&seq_t, "seq")?,
        "pattern",
    )?;
    let p = model.evaluate(&probs, &DetectOptions::default().settings)?.to_f64_vec();
    let labels: Vec<String> = seq
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let c = u8::try_from(t).ok().filter(u8::is_ascii_graphic).map_or('·', char::from);
            format!("{i}:{c}")
        })
        .collect();
    let pattern: Vec<Vec<f64>> = p.chunks(seq.len()).map(<[f64]>::to_vec).collect();
    Ok(heatmap_svg(
        &pattern,
        &labels,
        &labels,
        &format!("attention of head L{layer}.H{head} (query × key)"),
    ))
}

/// The number of sequences and a bar chart of the mean loss of `loss` `[n, S]` per
/// bucket of `bucket` positions, with standard errors of the per-sequence bucket means.
fn loss_svg(model: &Transformer, loss: &Circuit, bucket: usize) -> Res<(usize, String)> {
    let nll_t = model.evaluate(loss, &DetectOptions::default().settings)?;
    let (n, s) = (nll_t.shape()[0], nll_t.shape()[1]);
    let nll = nll_t.to_f64_vec();
    let (mut labels, mut means, mut ses) = (Vec::new(), Vec::new(), Vec::new());
    for start in (0..s).step_by(bucket.max(1)) {
        let end = (start + bucket).min(s);
        let per_seq: Vec<f64> = (0..n)
            .map(|b| nll[b * s + start..b * s + end].iter().sum::<f64>() / (end - start) as f64)
            .collect();
        let mean = per_seq.iter().sum::<f64>() / n as f64;
        let var = per_seq.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
        labels.push(format!("{start}-{}", end - 1));
        means.push(mean);
        ses.push((var / n as f64).sqrt());
    }
    Ok((n, bar_chart_svg(&labels, &means, &ses, "mean loss (nats/byte) by position")))
}
