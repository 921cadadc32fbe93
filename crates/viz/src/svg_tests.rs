//! Parse-free checks of the SVG output: balanced tags, element counts, escaping, colors.

use super::*;

/// Checks that every element opened is closed in order (self-closing tags and `<!...>` /
/// `<?...>` declarations aside) and that no raw `<` sits inside text. Returns the
/// element names in document order.
pub(crate) fn balanced(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>').ok_or_else(|| format!("unclosed tag near {after:.40}"))?;
        let tag = &after[..close];
        if tag.contains('<') {
            return Err(format!("'<' inside a tag: {tag:.60}"));
        }
        rest = &after[close + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
        names.push(name.clone());
        if !tag.ends_with('/') && !matches!(name.as_str(), "meta" | "br" | "input" | "hr") {
            stack.push(name);
        }
    }
    if stack.is_empty() {
        Ok(names)
    } else {
        Err(format!("unclosed elements: {stack:?}"))
    }
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

fn labels(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn heatmap_has_one_rect_per_cell_plus_background_and_legend() {
    let m: Vec<Vec<f64>> =
        (0..4).map(|i| (0..6).map(|j| (i as f64 - 1.5) * (j as f64 - 2.0)).collect()).collect();
    let svg = heatmap_svg(&m, &labels("L", 4), &labels("H", 6), "patching <effect> & \"more\"");
    let names = balanced(&svg).unwrap();
    assert_eq!(names[0], "svg");
    assert_eq!(count(&names, "rect"), 4 * 6 + 2);
    assert_eq!(count(&names, "linearGradient"), 1);
    assert!(svg.contains("patching &lt;effect&gt; &amp; &quot;more&quot;"));
    assert!(!svg.contains("<effect>"));
    // The most negative and most positive cells get the scale's ends.
    assert!(svg.contains(&diverging_color(1.0)) && svg.contains(&diverging_color(-1.0)));
}

#[test]
fn heatmap_tolerates_ragged_rows_missing_labels_and_nan() {
    let m = vec![vec![1.0, f64::NAN, -2.0], vec![0.5]];
    let svg = heatmap_svg(&m, &[], &labels("c", 1), "</svg><script>");
    let names = balanced(&svg).unwrap();
    assert_eq!(count(&names, "rect"), 2 * 3 + 2);
    assert_eq!(count(&names, "script"), 0);
    assert!(svg.contains(NAN_FILL));
    let empty = heatmap_svg(&[], &[], &[], "empty");
    assert_eq!(count(&balanced(&empty).unwrap(), "rect"), 2);
}

#[test]
fn bar_chart_has_one_rect_per_bar_and_error_bars() {
    let names_in = vec!["full".to_string(), "induction <h>".to_string(), "neg".to_string()];
    let svg = bar_chart_svg(&names_in, &[1.0, 0.62, -0.1], &[0.0, 0.05, 0.02], "loss recovered");
    let names = balanced(&svg).unwrap();
    assert_eq!(count(&names, "rect"), 3 + 1);
    assert!(svg.contains("induction &lt;h&gt;: 0.62 ± 0.05"));
    // Two error bars of three lines each, plus gridlines, the y axis and the zero line.
    let lines = count(&names, "line");
    assert!(lines >= 6 + 2, "{lines}");
    let no_err = bar_chart_svg(&names_in, &[1.0, 2.0, 3.0], &[], "t");
    assert_eq!(count(&balanced(&no_err).unwrap(), "rect"), 4);
}

#[test]
fn scale_and_ticks() {
    assert_eq!(diverging_color(0.0), "#f7f7f7");
    assert_eq!(diverging_color(1.0), "#b2182b");
    assert_eq!(diverging_color(-5.0), "#2166ac");
    assert_eq!(diverging_color(f64::NAN), NAN_FILL);
    let t = nice_ticks(0.0, 1.0);
    assert_eq!(t.len(), 6);
    assert!((t[5] - 1.0).abs() < 1e-12 && t[0] == 0.0);
    let t = nice_ticks(-0.13, 0.9); // -0.2 ..= 1.0 by 0.2
    assert_eq!(t.len(), 7);
    assert!(t[0] <= -0.13 && t[6] >= 0.9);
    assert_eq!(fmt_num(0.6000000000000001), "0.6");
    assert_eq!(fmt_num(1234.5), "1235");
    assert_eq!(fmt_num(-0.01234), "-0.0123");
    assert_eq!(fmt_num(2e-7), "2.00e-7");
}
