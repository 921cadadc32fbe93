//! The HTML viewer in a real browser: headless Chromium loads pages written by
//! `to_html`, and the dumped DOM shows that the page rendered, that expanding nodes
//! (`?expand=N`, `?expand=all`, `#HASH`) builds the expected rows, that search and
//! copy-as-text work, and that no JavaScript error was recorded (the page's
//! `#js-errors` recorder, plus Chromium's console log on stderr).
//!
//! Needs a Chromium binary: `$CHROMIUM`, else `chromium`, `chromium-browser`,
//! `google-chrome` on `PATH` (Debian: `apt install chromium`). Without one every test
//! prints a `SKIPPED` line and passes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use circuit_ir::Circuit;
use circuit_models::{tokens_array, HeadSplit, Transformer, TransformerConfig, Weights};
use circuit_tensor::{DType, Tensor};
use circuit_text::{print_circuits, PrintOptions};
use circuit_viz::{to_html, HtmlOptions, NodeColorer};

/// The Chromium binary to use, or `None` (after printing why the test is skipped).
fn chromium(test: &str) -> Option<String> {
    let mut candidates: Vec<String> = std::env::var("CHROMIUM").into_iter().collect();
    candidates.extend(["chromium", "chromium-browser", "google-chrome"].map(String::from));
    for c in candidates {
        let ok = Command::new(&c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(c);
        }
    }
    let msg =
        format!("SKIPPED {test}: no Chromium found (set CHROMIUM or install Debian's `chromium`)");
    // Written to the real stderr: libtest captures `println!`/`eprintln!` of passing
    // tests, and a skip must be visible.
    let _ = writeln!(std::io::stderr(), "{msg}");
    None
}

/// A scratch directory for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("circuit-viz-browser-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// What headless Chromium made of a page.
struct Dump {
    dom: String,
    log: String,
}

/// Loads `file` (with `query`, e.g. `?expand=all`) in headless Chromium and returns the
/// serialized DOM after the scripts ran, and Chromium's stderr (console messages).
fn dump(chrome: &str, dir: &Path, file: &Path, query: &str) -> Dump {
    let url = format!("file://{}{query}", file.display());
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let profile = dir.join(format!("profile-{}", RUNS.fetch_add(1, Ordering::Relaxed)));
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let out_reader = child.stdout.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut v = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut v);
            v
        })
    });
    let err_reader = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut v = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut v);
            v
        })
    });
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = out_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    let log = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    assert!(dom.contains("<html"), "no DOM dumped for {url}; chromium said:\n{log}");
    Dump { dom, log }
}

/// Undoes the escaping of the DOM serializer in text content.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text content of the first element whose start tag begins with `open` (no nested
/// elements of the same tag).
fn element_text(dom: &str, open: &str, close: &str) -> Option<String> {
    let start = dom.find(open)?;
    let body_start = start + dom[start..].find('>')? + 1;
    let end = body_start + dom[body_start..].find(close)?;
    Some(unescape(&dom[body_start..end]))
}

impl Dump {
    fn rows(&self) -> usize {
        self.dom.matches("data-key=\"").count()
    }

    /// Rows whose class list contains `class`.
    fn rows_with(&self, class: &str) -> usize {
        self.dom
            .split("class=\"row")
            .skip(1)
            .filter(|rest| {
                rest.split('"').next().is_some_and(|c| c.split_whitespace().any(|x| x == class))
            })
            .count()
    }

    fn open_rows(&self) -> usize {
        self.rows_with("open")
    }

    /// Panics unless the page finished its script and recorded no error.
    fn assert_clean(&self, what: &str) {
        assert!(
            self.dom.contains("data-ready=\"1\""),
            "{what}: the viewer did not finish:\n{}",
            self.log
        );
        assert!(
            self.dom.contains("id=\"js-errors\" data-count=\"0\""),
            "{what}: JavaScript errors: {:?}",
            element_text(&self.dom, "<pre id=\"js-errors\"", "</pre>")
        );
        let console_errors: Vec<&str> = self
            .log
            .lines()
            .filter(|l| {
                l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("ERROR:CONSOLE"))
            })
            .collect();
        assert!(
            console_errors.is_empty(),
            "{what}: console errors:\n{}",
            console_errors.join("\n")
        );
    }
}

/// A small attention-only transformer's loss circuit with split heads (modules, shared
/// weights, symbols, many repeats).
fn transformer_loss() -> Circuit {
    let config = TransformerConfig::attn_only(2, 2, 16, 8, 11, 7);
    let weights = Weights::random(&config, 0, DType::F32).expect("weights");
    let split = HeadSplit::new().split_off(1, &[1], "a1.ind", "a1.not_ind");
    let model = Transformer::with_split(config, weights, split).expect("model");
    let toks = Tensor::from_vec(&[2, 8], (0..16i64).map(|i| (i * 7) % 11).collect()).expect("toks");
    model.loss(&tokens_array(&toks, "toks").expect("tokens")).expect("loss")
}

/// The printer's non-bijective view, which the viewer's rows reproduce.
fn printed_lines(roots: &[Circuit]) -> usize {
    let opts = PrintOptions {
        bijection: false,
        shape_only_when_necessary: false,
        comment_arg_names: true,
        ..PrintOptions::default()
    };
    opts.repr(roots).expect("print").lines().count()
}

#[test]
fn viewer_renders_expands_searches_and_copies_without_errors() {
    let Some(chrome) = chromium("viewer_renders_expands_searches_and_copies_without_errors") else {
        return;
    };
    let dir = scratch("viewer");
    let loss = transformer_loss();
    let roots = vec![loss.clone()];
    let opts = HtmlOptions {
        title: "tiny transformer loss".into(),
        colorer: NodeColorer::ReachesVar("toks".into()),
        ..HtmlOptions::default()
    };
    let html = to_html(&roots, &opts).expect("html");
    let file = dir.join("viewer.html");
    std::fs::write(&file, &html).expect("write page");

    // Collapsed: one row per root, nothing open.
    let d = dump(&chrome, &dir, &file, "?expand=0");
    d.assert_clean("expand=0");
    assert_eq!(d.rows(), 1, "expand=0");
    assert_eq!(d.open_rows(), 0);
    assert!(d.dom.contains("'t.loss'"), "the root line is shown");
    assert!(d.dom.contains("<title>tiny transformer loss</title>"));

    // One level: the root and its children.
    let d = dump(&chrome, &dir, &file, "?expand=1");
    d.assert_clean("expand=1");
    assert_eq!(d.rows(), 1 + loss.children().len(), "expand=1");
    assert_eq!(d.open_rows(), 1);

    // Everything: one row per printed line (shared nodes expanded once, repeats as links).
    let d = dump(&chrome, &dir, &file, "?expand=all");
    d.assert_clean("expand=all");
    assert_eq!(d.rows(), printed_lines(&roots), "expand=all shows the printer's lines");
    assert!(d.dom.contains("class=\"ref\""), "repeats link to the first occurrence");
    assert!(d.dom.contains("'a1.ind'"));

    // Jumping to a deep node by hash expands the path to it.
    let deep = circuit_ir::traversal::preorder(&roots)
        .into_iter()
        .find(|c| c.name() == Some("a.attn_probs"))
        .expect("a.attn_probs in the model");
    let d0 = dump(&chrome, &dir, &file, "?expand=0");
    let key_len = d0.dom.split("data-key=\"").nth(1).and_then(|s| s.find('"')).expect("a key");
    let key = deep.hash().hex_prefix(key_len / 2);
    let d = dump(&chrome, &dir, &file, &format!("?expand=0#{key}"));
    d.assert_clean("#hash");
    assert!(d.dom.contains(&format!("id=\"n-{key}\"")), "the jumped-to row exists");
    assert!(d.open_rows() >= 3, "the path to the node was expanded");

    // Search by regex.
    let d = dump(&chrome, &dir, &file, "?expand=0&q=%5Ea1%5C.");
    d.assert_clean("search");
    let expected = circuit_ir::traversal::preorder(&roots)
        .iter()
        .filter(|c| c.name().is_some_and(|n| n.starts_with("a1.")))
        .count();
    assert!(expected > 3);
    let count = element_text(&d.dom, "<span id=\"q-count\"", "</span>").unwrap_or_default();
    assert_eq!(count, format!("{expected} matches"));
    assert_eq!(d.rows_with("hit"), expected, "every hit is revealed and marked");

    // Copy-as-text of the whole circuit is the default printer's text.
    let d = dump(&chrome, &dir, &file, "?expand=0&copy=root");
    d.assert_clean("copy");
    let copied = element_text(&d.dom, "<pre id=\"copy-out\"", "</pre>").expect("copy-out");
    assert_eq!(copied, print_circuits(&roots).expect("print"), "copy text is the printer's");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_recorder_catches_errors() {
    let Some(chrome) = chromium("error_recorder_catches_errors") else { return };
    let dir = scratch("errors");
    let x = Circuit::scalar(1.0, &[2], Some("x")).expect("x");
    let html = to_html(&[x], &HtmlOptions::default()).expect("html");
    let broken = html
        .replace("</body>", "<script>throw new Error('deliberate test error');</script>\n</body>");
    let file = dir.join("broken.html");
    std::fs::write(&file, broken).expect("write page");
    let d = dump(&chrome, &dir, &file, "");
    assert!(d.dom.contains("data-ready=\"1\""));
    assert!(d.dom.contains("id=\"js-errors\" data-count=\"1\""), "{}", d.dom);
    assert!(d.dom.contains("deliberate test error"));
    let _ = std::fs::remove_dir_all(&dir);
}
