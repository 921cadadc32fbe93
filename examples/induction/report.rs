//! The HTML report of the induction experiment: the table, a bar chart of the loss
//! recovered, the head detector's scores and each scrubbed circuit in the viewer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use circuit::models::HeadKind;
use circuit::viz::{
    bar_chart_svg, heatmap_svg, report_html, to_html, HtmlOptions, NodeColorer, Section,
};

use crate::experiment::{self, FoundHeads, Hypothesis, Options, Row, Setup};

fn slug(i: usize, name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let s = s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    format!("{i:02}-{s}.html")
}

/// Writes `dir/index.html` and `dir/circuits/*.html`; returns the index path.
pub fn write(
    dir: &Path,
    opts: &Options,
    setup: &Setup,
    hyps: &[Hypothesis],
    rows: &[Row],
    elapsed: Duration,
) -> experiment::Result<PathBuf> {
    std::fs::create_dir_all(dir.join("circuits"))?;
    let mut sections = vec![
        Section::Text(format!(
            "Model: {} (2-layer attention-only shortformer, byte-level, trained on Python \
             standard-library source). Previous-token head(s) found: {}. Induction head(s) \
             found: {}. {} samples per hypothesis (the same draws in every row), seed {}, \
             {:.1} s in total.",
            experiment::display_path(&opts.model_dir),
            FoundHeads::names(&setup.heads.previous_token),
            FoundHeads::names(&setup.heads.induction),
            opts.samples,
            opts.seed,
            elapsed.as_secs_f64()
        )),
        Section::Heading("Results".into()),
    ];
    let mut table_rows = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        table_rows.push(vec![
            r.name.to_string(),
            r.loss_text(),
            r.recovered_text(i),
            r.scrubbed.to_string(),
        ]);
    }
    sections.push(Section::Table {
        caption: "Loss: mean NLL (nats/byte) over positions whose input byte is a good induction \
                  candidate (others count 0), ± one standard error over samples. Recovered = \
                  (loss − baseline) / (unscrubbed − baseline), with a delta-method standard \
                  error over the paired draws."
            .into(),
        header: ["hypothesis", "loss ± SE", "recovered ± SE", "scrubbed"]
            .map(String::from)
            .to_vec(),
        rows: table_rows,
    });
    let rec: Vec<&Row> = rows.iter().filter(|r| r.recovered.is_some()).collect();
    sections.push(Section::Figure {
        svg: bar_chart_svg(
            &rec.iter().map(|r| r.name.to_string()).collect::<Vec<_>>(),
            &rec.iter().map(|r| r.recovered.map_or(0.0, |x| x.0)).collect::<Vec<_>>(),
            &rec.iter().map(|r| r.recovered.map_or(0.0, |x| x.1)).collect::<Vec<_>>(),
            "fraction of loss recovered (± 1 SE)",
        ),
        caption: "0 = induction heads scrubbed (baseline), 1 = unscrubbed.".into(),
    });
    sections.extend(head_sections(setup));
    sections.extend(circuit_sections(dir, setup, hyps)?);
    let path = dir.join("index.html");
    std::fs::write(&path, report_html("Causal scrubbing: induction heads", &sections))?;
    Ok(path)
}

/// The head detector's scores as a heat map.
fn head_sections(setup: &Setup) -> Vec<Section> {
    let mut sections = Vec::new();
    let t = &setup.heads.table;
    let mut matrix = Vec::new();
    let mut labels = Vec::new();
    for kind in [HeadKind::PreviousToken, HeadKind::Induction] {
        for layer in 0..t.n_layers {
            matrix
                .push((0..t.n_heads).map(|h| t.get(kind, layer, h).unwrap_or(f64::NAN)).collect());
            labels.push(format!("{} L{layer}", kind.name()));
        }
    }
    sections.push(Section::Heading("Head detector".into()));
    sections.push(Section::Figure {
        svg: heatmap_svg(
            &matrix,
            &labels,
            &(0..t.n_heads).map(|h| format!("head {h}")).collect::<Vec<_>>(),
            "attention-pattern scores",
        ),
        caption: "Previous-token score on dataset rows; induction score on repeated random \
                  bytes R R (attention from the second copy of a byte to the byte after its \
                  first copy)."
            .into(),
    });
    sections
}

/// One viewer page per scrubbed circuit, colored by the token variable each node reads.
fn circuit_sections(
    dir: &Path,
    setup: &Setup,
    hyps: &[Hypothesis],
) -> experiment::Result<Vec<Section>> {
    let mut sections = Vec::new();
    sections.push(Section::Heading("Scrubbed circuits".into()));
    sections.push(Section::Text(
        "Each circuit in the viewer: red nodes read only the scrubbed tokens \
         (toks_int_var_other), cyan only the original tokens, purple both, grey neither."
            .into(),
    ));
    for (i, h) in hyps.iter().enumerate() {
        let (var, other) = (setup.var.clone(), setup.other.clone());
        let html = to_html(
            std::slice::from_ref(&h.circuit),
            &HtmlOptions {
                title: h.name.to_string(),
                colorer: NodeColorer::Custom(Arc::new(move |c| {
                    experiment::scrub_color(c, &var, &other)
                })),
                expand_depth: 4,
                ..HtmlOptions::default()
            },
        )?;
        let file = slug(i, h.name);
        std::fs::write(dir.join("circuits").join(&file), html)?;
        sections.push(Section::Html(format!(
            "<p><a href=\"circuits/{file}\">{}</a> — {}</p>",
            circuit::viz::escape_html(h.name),
            circuit::viz::escape_html(h.scrubbed)
        )));
    }
    Ok(sections)
}
