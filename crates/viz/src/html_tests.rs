//! Tests of the viewer's embedded data: it is checked against the printer by replaying,
//! in Rust, what `viewer.js` does with it (row texts and copy-as-text).

use std::collections::{HashMap, HashSet};

use circuit_testkit::random::{random_circuits, GenConfig};
use circuit_text::{parse_circuits, print_circuits, ParseOptions, PrintOptions};
use serde_json::Value;

use super::*;

/// The JSON embedded in a page.
pub(crate) fn embedded(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"circuit-data\">";
    let start = html.find(open).expect("data script") + open.len();
    let end = start + html[start..].find("</script>").expect("end of data");
    serde_json::from_str(&html[start..end]).expect("valid JSON")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// `(child key, edge text, symbol key, flags)` of a child entry.
fn edge(c: &Value) -> (String, String, Option<String>, String) {
    match c {
        Value::String(k) => (k.clone(), String::new(), None, String::new()),
        Value::Array(a) => (
            s(&a[0]).to_string(),
            a.get(1).map_or("", s).to_string(),
            a.get(2).and_then(Value::as_str).map(str::to_string),
            a.get(3).map_or("", s).to_string(),
        ),
        _ => panic!("bad child entry {c}"),
    }
}

/// The rows `viewer.js` shows with everything expanded, indented like the printer.
pub(crate) fn rows(data: &Value) -> Vec<String> {
    let nodes = &data["nodes"];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<(String, usize, String)> = data["roots"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| (s(r).to_string(), 0, String::new()))
        .collect();
    while let Some((k, depth, edge_text)) = stack.pop() {
        let n = &nodes[&k];
        let first = seen.insert(k.clone());
        let ident = if first {
            format!("{}{}", s(&n["i"]), s(&n["l"]))
        } else {
            n.get("r").map_or_else(|| s(&n["i"]).to_string(), |r| s(r).to_string())
        };
        let m = n.get("m").map_or("", s);
        out.push(format!("{}{ident}{edge_text}{m}", "  ".repeat(depth)));
        if first {
            for c in n["c"].as_array().unwrap().iter().rev() {
                let (ck, text, _, _) = edge(c);
                stack.push((ck, depth + 1, text));
            }
        }
    }
    out
}

/// `(key, depth, (bound symbol key, flags))` of a line still to print.
type PendingLine = (String, usize, Option<(String, String)>);

/// `circText` of `viewer.js`: the default (bijective) printer over the data.
pub(crate) fn circ_text(data: &Value, keys: &[String]) -> String {
    let nodes = &data["nodes"];
    let mut counts: HashMap<String, usize> = HashMap::new();
    let (mut seen, mut stack) = (HashSet::new(), keys.to_vec());
    while let Some(k) = stack.pop() {
        if !seen.insert(k.clone()) {
            continue;
        }
        if let Some(q) = nodes[&k].get("q") {
            *counts.entry(s(q).to_string()).or_default() += 1;
        }
        for c in nodes[&k]["c"].as_array().unwrap() {
            let (ck, _, sym, _) = edge(c);
            stack.extend(sym);
            stack.push(ck);
        }
    }
    let mut printed: HashMap<String, Option<usize>> = HashMap::new();
    let mut serial = 0;
    let mut write = |k: &str| -> (String, bool) {
        let n = &nodes[k];
        let q = n.get("q").map(|q| s(q).to_string());
        let (id, fresh) = match printed.get(k) {
            Some(id) => (*id, false),
            None => {
                let id = if q.as_ref().is_some_and(|q| counts[q] == 1) {
                    None
                } else {
                    serial += 1;
                    Some(serial - 1)
                };
                printed.insert(k.to_string(), id);
                (id, true)
            }
        };
        let text = match (id, q) {
            (None, q) => q.unwrap_or_default(),
            (Some(i), Some(q)) => format!("{i} {q}"),
            (Some(i), None) if !fresh => format!("{i} {}", s(&n["k"])),
            (Some(i), None) => i.to_string(),
        };
        if fresh {
            (format!("{text}{}", s(&n["b"])), true)
        } else {
            (text, false)
        }
    };
    let mut lines = Vec::new();
    let mut work: Vec<PendingLine> = keys.iter().rev().map(|k| (k.clone(), 0, None)).collect();
    while let Some((k, depth, binding)) = work.pop() {
        let (text, fresh) = write(&k);
        let mut line = format!("{}{text}", "  ".repeat(depth));
        if let Some((sym, flags)) = binding {
            line.push_str(" ! ");
            line.push_str(&write(&sym).0);
            if !flags.is_empty() {
                line.push(' ');
                line.push_str(&flags);
            }
        }
        lines.push(line.trim_end_matches(' ').to_string());
        if fresh {
            for c in nodes[&k]["c"].as_array().unwrap().iter().rev() {
                let (ck, _, sym, flags) = edge(c);
                work.push((ck, depth + 1, sym.map(|sk| (sk, flags))));
            }
        }
    }
    lines.join("\n")
}

fn printer_view() -> PrintOptions {
    PrintOptions {
        bijection: false,
        shape_only_when_necessary: false,
        comment_arg_names: true,
        ..PrintOptions::default()
    }
}

fn check_against_printer(roots: &[Circuit], what: &str) {
    let html = to_html(roots, &HtmlOptions::default()).unwrap();
    let data = embedded(&html);
    let printed = printer_view().repr(roots).unwrap();
    let ours = rows(&data).join("\n");
    assert_eq!(ours, printed, "{what}: rows differ from the printer");
    let Ok(expected) = print_circuits(roots) else { return };
    let keys: Vec<String> =
        data["roots"].as_array().unwrap().iter().map(|r| s(r).to_string()).collect();
    assert_eq!(circ_text(&data, &keys), expected, "{what}: copy text differs");
}

#[test]
fn rows_and_copy_text_match_the_printer_on_random_circuits() {
    let cfg = GenConfig::default();
    for seed in 0..60 {
        let roots = random_circuits(seed, &cfg);
        check_against_printer(&roots, &format!("seed {seed}"));
    }
}

#[test]
fn rows_and_copy_text_match_the_printer_on_fixtures() {
    let store = circuit_tensor::TensorStore::open(circuit_testkit::fixtures::tensor_dir());
    let mut n = 0;
    for (name, text) in circuit_testkit::fixtures::FIXTURES {
        let opts = ParseOptions { tensor_store: Some(store.clone()), ..ParseOptions::default() };
        let Ok(roots) = parse_circuits(text, &opts) else { continue };
        check_against_printer(&roots, name);
        n += 1;
    }
    assert!(n > 10, "only {n} fixtures parsed");
}

#[test]
fn names_are_escaped_and_the_data_survives() {
    let nasty = "it's \"</script><script>alert(1)</script> <b>&amp;";
    let x = Circuit::scalar(1.0, &[2], Some(nasty)).unwrap();
    let root = x.add(&x).unwrap().rename(Some("</SCRIPT>")).unwrap();
    let opts = HtmlOptions { title: "<title> & </script>".into(), ..HtmlOptions::default() };
    let html = to_html(&[root], &opts).unwrap();
    assert_eq!(html.matches("</script>").count(), 3, "only the three real script ends");
    assert!(!html.to_lowercase().contains("</script><script>alert"));
    assert!(!html.contains("<b>&amp;"));
    assert!(html.contains("<title>&lt;title&gt; &amp; &lt;/script&gt;</title>"));
    let data = embedded(&html);
    let nodes = data["nodes"].as_object().unwrap();
    assert!(nodes.values().any(|n| n["q"] == Value::String(quote_name(nasty))));
}

#[test]
fn shared_nodes_are_recorded_once_and_repeat_by_identifier() {
    let x = Circuit::scalar(1.0, &[2], Some("x")).unwrap();
    let s1 = x.add(&x).unwrap().rename(Some("s")).unwrap();
    let u = Circuit::sum_of([s1.clone(), x.clone()]).unwrap().rename(None).unwrap();
    let root = Circuit::sum_of([u.clone(), s1.clone(), u]).unwrap().rename(Some("r")).unwrap();
    let data = embedded(&to_html(std::slice::from_ref(&root), &HtmlOptions::default()).unwrap());
    assert_eq!(data["nodes"].as_object().unwrap().len(), root.toposort().len());
    let r = rows(&data);
    assert_eq!(r.iter().filter(|l| l.trim_start().starts_with("'s' [2] Add")).count(), 1);
    assert_eq!(r.iter().filter(|l| l.trim() == "'s'").count(), 1);
    assert_eq!(r.iter().filter(|l| l.trim() == "0 Add").count(), 1, "{r:#?}");
}

#[test]
fn colorers_and_commenters() {
    let v = Circuit::symbol_random(&[3], Some("tok")).unwrap();
    let w = Circuit::scalar(2.0, &[3], Some("w")).unwrap();
    let p = v.mul(&w).unwrap().rename(Some("p")).unwrap();
    let root = Circuit::sum_of([p, w.clone()]).unwrap().rename(Some("root")).unwrap();
    let reach = HtmlOptions {
        colorer: NodeColorer::ReachesVar("tok".into()),
        commenters: vec![Arc::new(|c: &Circuit| format!("n={}", c.numel()))],
        ..HtmlOptions::default()
    };
    let data = embedded(&to_html(std::slice::from_ref(&root), &reach).unwrap());
    let col = |name: &str| {
        let q = Value::String(quote_name(name));
        data["nodes"].as_object().unwrap().values().find(|n| n["q"] == q).unwrap()["col"].clone()
    };
    assert_eq!(col("root"), col("tok"));
    assert_eq!(col("p"), col("tok"));
    assert_ne!(col("w"), col("tok"));
    assert!(rows(&data)[0].ends_with(" # n=3"));
    let custom = HtmlOptions {
        colorer: NodeColorer::Custom(Arc::new(|c: &Circuit| c.name().map(|_| "teal".to_string()))),
        ..HtmlOptions::default()
    };
    let data = embedded(&to_html(&[root], &custom).unwrap());
    assert!(data["nodes"]
        .as_object()
        .unwrap()
        .values()
        .all(|n| n["col"] == "teal" || n.get("col").is_none()));
    assert_eq!(data["opts"]["legend"].as_array().unwrap().len(), 0);
}
