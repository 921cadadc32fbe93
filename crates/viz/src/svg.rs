//! Hand-written SVG plots: a heat map with a diverging color scale and legend (path
//! patching results: head × head, layer × position) and a bar chart with error bars
//! (loss recovered per hypothesis). Every cell and bar carries a `<title>` tooltip.

use std::fmt::Write as _;

use crate::escape::escape_html;

const NEG: (f64, f64, f64) = (33.0, 102.0, 172.0); // #2166ac
const POS: (f64, f64, f64) = (178.0, 24.0, 43.0); // #b2182b
const MID: (f64, f64, f64) = (247.0, 247.0, 247.0);
const NAN_FILL: &str = "#d9d9d9";

/// The diverging color of `t` in `[-1, 1]` (clamped): blue (negative) through near-white
/// (0) to red (positive), as `#rrggbb`. NaN gives gray.
pub fn diverging_color(t: f64) -> String {
    if t.is_nan() {
        return NAN_FILL.to_string();
    }
    let t = t.clamp(-1.0, 1.0);
    let (end, a) = if t < 0.0 { (NEG, -t) } else { (POS, t) };
    let mix = |m: f64, e: f64| (m + (e - m) * a).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", mix(MID.0, end.0), mix(MID.1, end.1), mix(MID.2, end.2))
}

/// A short number: 3 significant digits (all integer digits from 1000 up), rounded half
/// away from zero (`1234.5` → `1235`, unlike `format!`'s ties-to-even), exponent form
/// outside `[1e-3, 1e5)`.
fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_nan() { "NaN".to_string() } else { format!("{v}") };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let scale = 10f64.powi(decimals as i32);
    let rounded = (v * scale).round() / scale;
    let s = format!("{rounded:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Approximate width in pixels of `s` at font size `px` (for layout only).
fn text_width(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.6
}

fn svg_open(out: &mut String, w: f64, h: f64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">"
    );
    let _ = write!(out, "<title>{}</title>", escape_html(title));
    let _ = write!(out, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        w / 2.0,
        escape_html(title)
    );
}

/// A heat map of `matrix` (rows × columns) with a diverging scale symmetric around 0
/// (`±max|v|`), row labels on the left, column labels below, and a legend bar on the right.
/// Missing labels are blank; ragged rows are padded with NaN (gray). Contains one `<rect>`
/// per cell, one background and one legend bar.
pub fn heatmap_svg(
    matrix: &[Vec<f64>],
    row_labels: &[String],
    col_labels: &[String],
    title: &str,
) -> String {
    let rows = matrix.len();
    let cols = matrix.iter().map(Vec::len).max().unwrap_or(0);
    let vmax =
        matrix.iter().flatten().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if vmax > 0.0 { vmax } else { 1.0 };
    let cell = (480.0 / rows.max(cols).max(1) as f64).clamp(12.0, 44.0);
    let label = |ls: &[String], i: usize| ls.get(i).cloned().unwrap_or_default();
    let left =
        12.0 + (0..rows).map(|i| text_width(&label(row_labels, i), 12.0)).fold(0.0, f64::max);
    let col_w = (0..cols).map(|j| text_width(&label(col_labels, j), 12.0)).fold(0.0, f64::max);
    let rotate = col_w > cell - 4.0;
    let bottom = if rotate { col_w * 0.75 + 20.0 } else { 24.0 };
    let (top, legend_w) = (34.0, 90.0);
    let width = (left + cols as f64 * cell + legend_w).max(text_width(title, 15.0) + 20.0);
    let height = top + rows as f64 * cell + bottom;
    let mut s = String::with_capacity(rows * cols * 120 + 2048);
    svg_open(&mut s, width, height, title);
    let show_values = cell >= 34.0;
    for (i, row) in matrix.iter().enumerate() {
        let y = top + i as f64 * cell;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            left - 6.0,
            y + cell / 2.0,
            escape_html(&label(row_labels, i))
        );
        for j in 0..cols {
            let v = row.get(j).copied().unwrap_or(f64::NAN);
            let x = left + j as f64 * cell;
            let tip = format!("{}, {}: {}", label(row_labels, i), label(col_labels, j), fmt_num(v));
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"0.5\"><title>{}</title></rect>",
                diverging_color(v / scale),
                escape_html(&tip)
            );
            if show_values && v.is_finite() {
                let ink = if (v / scale).abs() > 0.6 { "#ffffff" } else { "#222222" };
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" dominant-baseline=\"middle\" font-size=\"10\" fill=\"{ink}\">{}</text>",
                    x + cell / 2.0,
                    y + cell / 2.0,
                    fmt_num(v)
                );
            }
        }
    }
    for j in 0..cols {
        let x = left + j as f64 * cell + cell / 2.0;
        let y = top + rows as f64 * cell + 14.0;
        let text = escape_html(&label(col_labels, j));
        if rotate {
            let _ = write!(s, "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"end\" transform=\"rotate(-45 {x:.1} {y:.1})\">{text}</text>");
        } else {
            let _ =
                write!(s, "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{text}</text>");
        }
    }
    let id = gradient_id(title, rows, cols, scale);
    legend(
        &mut s,
        &id,
        left + cols as f64 * cell + 18.0,
        top,
        (rows as f64 * cell).max(60.0),
        scale,
    );
    s.push_str("</svg>");
    s
}

/// A deterministic gradient id, distinct for different plots on one page (FNV-1a).
fn gradient_id(title: &str, rows: usize, cols: usize, scale: f64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = title.bytes().chain(rows.to_le_bytes()).chain(cols.to_le_bytes());
    for b in bytes.chain(scale.to_bits().to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("div-scale-{h:016x}")
}

/// The legend: a vertical gradient bar from `+scale` (top) to `-scale` (bottom).
fn legend(s: &mut String, id: &str, x: f64, y: f64, h: f64, scale: f64) {
    let _ = write!(s, "<defs><linearGradient id=\"{id}\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">");
    for k in 0..=8 {
        let t = 1.0 - f64::from(k) / 4.0;
        let _ = write!(
            s,
            "<stop offset=\"{:.3}\" stop-color=\"{}\"/>",
            f64::from(k) / 8.0,
            diverging_color(t)
        );
    }
    s.push_str("</linearGradient></defs>");
    let _ = write!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"14\" height=\"{h:.1}\" fill=\"url(#{id})\" stroke=\"#888888\" stroke-width=\"0.5\"/>"
    );
    for (frac, v) in [(0.0, scale), (0.5, 0.0), (1.0, -scale)] {
        let ty = y + frac * h;
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\" stroke=\"#444444\"/><text x=\"{:.1}\" y=\"{ty:.1}\" dominant-baseline=\"middle\" font-size=\"11\">{}</text>",
            x + 14.0,
            x + 18.0,
            x + 21.0,
            fmt_num(v)
        );
    }
}

/// Round tick positions whose ends enclose `[lo, hi]` (steps of 1, 2 or 5 × 10^k, about
/// 6 ticks).
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).abs();
    if span == 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(mag * 10.0);
    let snap = |f: f64, round: fn(f64) -> f64| {
        if (f - f.round()).abs() < 1e-9 {
            f.round()
        } else {
            round(f)
        }
    };
    let first = snap(lo / step, f64::floor) as i64;
    let last = snap(hi / step, f64::ceil) as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A bar chart of `values` with symmetric error bars `errors[i]` (missing or empty: none),
/// a y axis with round ticks and a zero line; negative values hang below zero. Contains
/// one `<rect>` per bar plus the background.
pub fn bar_chart_svg(labels: &[String], values: &[f64], errors: &[f64], title: &str) -> String {
    let n = values.len();
    let err = |i: usize| errors.get(i).copied().filter(|e| e.is_finite()).unwrap_or(0.0).abs();
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let lo = (0..n).map(|i| finite(values[i]) - err(i)).fold(0.0, f64::min);
    let hi = (0..n).map(|i| finite(values[i]) + err(i)).fold(0.0, f64::max);
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    let ticks = nice_ticks(lo, hi);
    let lo = ticks.first().copied().unwrap_or(lo).min(lo);
    let hi = ticks.last().copied().unwrap_or(hi).max(hi);
    let slot = (520.0 / n.max(1) as f64).clamp(22.0, 90.0);
    let lab_w = labels.iter().map(|l| text_width(l, 12.0)).fold(0.0, f64::max);
    let rotate = lab_w > slot - 6.0;
    let tick_w = ticks.iter().map(|t| text_width(&fmt_num(*t), 11.0)).fold(0.0, f64::max);
    // Rotated labels lean left: the first one must not start before the image.
    let lean = if rotate { lab_w * 0.72 - slot / 2.0 + 8.0 } else { 0.0 };
    let (left, top, plot_h) = ((tick_w + 22.0).max(lean), 36.0, 260.0);
    let bottom = if rotate { lab_w * 0.75 + 24.0 } else { 28.0 };
    let width = (left + n as f64 * slot + 20.0).max(text_width(title, 15.0) + 20.0);
    let height = top + plot_h + bottom;
    let y_of = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let mut s = String::with_capacity(n * 400 + 2048);
    svg_open(&mut s, width, height, title);
    for t in &ticks {
        let y = y_of(*t);
        let _ = write!(
            s,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/><text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\" dominant-baseline=\"middle\" font-size=\"11\">{}</text>",
            left + n as f64 * slot,
            left - 5.0,
            fmt_num(*t)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left:.1}\" y1=\"{top:.1}\" x2=\"{left:.1}\" y2=\"{:.1}\" stroke=\"#444444\"/>",
        top + plot_h
    );
    for (i, &value) in values.iter().enumerate() {
        bar(
            &mut s,
            labels.get(i).map_or("", String::as_str),
            value,
            err(i),
            left + i as f64 * slot,
            slot,
            &y_of,
            rotate,
            top + plot_h,
        );
    }
    let zero = y_of(0.0);
    let _ = write!(s, "<line x1=\"{left:.1}\" y1=\"{zero:.1}\" x2=\"{:.1}\" y2=\"{zero:.1}\" stroke=\"#444444\"/>", left + n as f64 * slot);
    s.push_str("</svg>");
    s
}

#[allow(clippy::too_many_arguments)]
fn bar(
    s: &mut String,
    label: &str,
    v: f64,
    e: f64,
    x0: f64,
    slot: f64,
    y_of: &dyn Fn(f64) -> f64,
    rotate: bool,
    axis_y: f64,
) {
    let w = slot * 0.7;
    let x = x0 + (slot - w) / 2.0;
    let vf = if v.is_finite() { v } else { 0.0 };
    let (y_top, y_bot) = (y_of(vf.max(0.0)), y_of(vf.min(0.0)));
    let fill = if vf < 0.0 { "#d6604d" } else { "#4393c3" };
    let tip = if e > 0.0 {
        format!("{label}: {} ± {}", fmt_num(v), fmt_num(e))
    } else {
        format!("{label}: {}", fmt_num(v))
    };
    let _ = write!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y_top:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
        (y_bot - y_top).max(0.0),
        escape_html(&tip)
    );
    let cx = x0 + slot / 2.0;
    if e > 0.0 {
        let (a, b) = (y_of(vf + e), y_of(vf - e));
        let cap = (w * 0.25).min(8.0);
        let _ = write!(
            s,
            "<line x1=\"{cx:.1}\" y1=\"{a:.1}\" x2=\"{cx:.1}\" y2=\"{b:.1}\" stroke=\"#222222\" stroke-width=\"1.2\"/><line x1=\"{:.1}\" y1=\"{a:.1}\" x2=\"{:.1}\" y2=\"{a:.1}\" stroke=\"#222222\" stroke-width=\"1.2\"/><line x1=\"{:.1}\" y1=\"{b:.1}\" x2=\"{:.1}\" y2=\"{b:.1}\" stroke=\"#222222\" stroke-width=\"1.2\"/>",
            cx - cap,
            cx + cap,
            cx - cap,
            cx + cap
        );
    }
    let ly = axis_y + 14.0;
    let text = escape_html(label);
    if rotate {
        let _ = write!(s, "<text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"end\" transform=\"rotate(-40 {cx:.1} {ly:.1})\">{text}</text>");
    } else {
        let _ = write!(s, "<text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{text}</text>");
    }
}

#[cfg(test)]
#[path = "svg_tests.rs"]
pub(crate) mod tests;
