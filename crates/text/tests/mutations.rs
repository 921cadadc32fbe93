//! Parser robustness: `parse_circuits` never panics and never hangs on mutated input, and
//! whatever it accepts prints and parses back to the same circuits.
//!
//! Inputs are the format fixtures shipped with `circuit-testkit` (from rust_circuit's
//! tests) and texts printed from random circuits (several printer configurations), each
//! mutated by `circuit_testkit::mutate` (bit flips, byte and token insertions, deletions,
//! line duplications/deletions/swaps, indentation changes, truncation, number
//! replacement). Each parse runs under `catch_unwind`; a watchdog fails the test with the
//! offending input if one parse takes longer than `STUCK_AFTER`.
//!
//! The run is deterministic: `MUTATIONS` (20,000, a few seconds in a debug build) inputs
//! from a fixed seed (override with the
//! environment variables `MUTATION_SEED` and `MUTATION_COUNT`). Deliberately huge
//! declared shapes are checked separately: `[1000000000000] Scalar 1` parses,
//! `[1000000000000] Array rand` is a clean size error.

#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circuit_tensor::TensorStore;
use circuit_testkit::{fixtures, mutate, Gen, GenConfig, Generator, TempDir};
use circuit_text::{parse_circuits, ParseOptions, PrintOptions};

/// Mutated inputs per run.
const MUTATIONS: usize = 20_000;
/// A single parse taking longer than this counts as a hang.
const STUCK_AFTER: Duration = Duration::from_secs(10);

fn env_or<T: std::str::FromStr>(var: &str, default: T) -> T {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Parse options for untrusted input: the test's store, deterministic `rand` arrays and
/// a small tensor budget (a mutated shape must never make the test allocate gigabytes).
fn opts(store: &TensorStore) -> ParseOptions {
    ParseOptions {
        tensor_store: Some(store.clone()),
        random_seed: Some(0),
        max_tensor_bytes: 16 << 20,
        ..ParseOptions::default()
    }
}

/// The texts to mutate: every fixture, plus random circuits printed under several
/// configurations (their tensors saved in `store`, so hash prefixes resolve).
fn base_texts(store: &TensorStore) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        fixtures::FIXTURES.iter().map(|(n, t)| ((*n).to_string(), (*t).to_string())).collect();
    let d = PrintOptions::default;
    let printers = [
        d(),
        PrintOptions { arrows: true, ..d() },
        PrintOptions { only_child_below: true, force_use_serial_numbers: true, ..d() },
        PrintOptions { shape_only_when_necessary: false, comment_arg_names: true, ..d() },
    ];
    for seed in 0..48u64 {
        let roots = Generator::new(seed, GenConfig::default()).generate().roots;
        let p = &printers[seed as usize % printers.len()];
        let p = PrintOptions { save_tensors: Some(store.clone()), ..p.clone() };
        out.push((format!("random seed {seed}"), p.repr(&roots).unwrap()));
    }
    out
}

/// Copies the fixtures' tensors into `store` (so fixtures resolve there too).
fn copy_fixture_tensors(store: &TensorStore) {
    std::fs::create_dir_all(store.dir()).unwrap();
    for entry in std::fs::read_dir(fixtures::tensor_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, store.dir().join(path.file_name().unwrap())).unwrap();
    }
}

thread_local! {
    /// While set, panics on this thread are recorded here instead of printed.
    static QUIET_PANIC: std::cell::RefCell<Option<Option<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Installs (once) a panic hook that records `file:line: message` for threads in quiet
/// mode and defers to the previous hook otherwise (so other tests still report).
fn install_panic_recorder() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let quiet = QUIET_PANIC.with(|q| {
                let mut q = q.borrow_mut();
                match q.as_mut() {
                    Some(slot) => {
                        let loc = info
                            .location()
                            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
                        *slot = Some(format!("{loc}: {}", panic_message(info.payload())));
                        true
                    }
                    None => false,
                }
            });
            if !quiet {
                previous(info);
            }
        }));
    });
}

/// Runs `f` with panics recorded (not printed); `Err` holds `file:line: message`.
fn catch_quiet<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_recorder();
    QUIET_PANIC.with(|q| *q.borrow_mut() = Some(None));
    let r = catch_unwind(AssertUnwindSafe(f));
    let recorded = QUIET_PANIC.with(|q| q.borrow_mut().take()).flatten();
    r.map_err(|p| recorded.unwrap_or_else(|| panic_message(&*p)))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic>".to_string()
    }
}

/// Parses one input; if it parses, prints it (all shapes shown, so explicit named axes
/// survive) and parses that again, which must give the same circuits. `Err` describes a
/// failure (a panic or a broken round trip); parse errors are fine.
fn check_input(text: &str, store: &TensorStore) -> Result<bool, String> {
    let parsed = catch_quiet(|| parse_circuits(text, &opts(store)))
        .map_err(|p| format!("parse panicked: {p}"))?;
    let Ok(roots) = parsed else { return Ok(false) };
    let printer = PrintOptions {
        shape_only_when_necessary: false,
        save_tensors: Some(store.clone()),
        ..PrintOptions::default()
    };
    let printed = catch_quiet(|| printer.repr(&roots).map_err(|e| e.to_string()))
        .map_err(|p| format!("printing the parsed circuits panicked: {p}"))?
        .map_err(|e| format!("printing the parsed circuits failed: {e}"))?;
    let again = catch_quiet(|| parse_circuits(&printed, &opts(store)))
        .map_err(|p| format!("re-parse panicked: {p}"))?
        .map_err(|e| format!("re-parse failed: {e}\n--- printed ---\n{printed}"))?;
    if again != roots {
        return Err(format!("re-parse differs\n--- printed ---\n{printed}"));
    }
    Ok(true)
}

/// What the worker is doing, for the watchdog.
#[derive(Default)]
struct Progress {
    index: usize,
    input: String,
    started: Option<Instant>,
    done: bool,
}

#[test]
fn mutated_inputs_never_panic_or_hang() {
    let seed: u64 = env_or("MUTATION_SEED", 0x5eed);
    let count: usize = env_or("MUTATION_COUNT", MUTATIONS);
    let dir = TempDir::new("circuit-mutations").unwrap();
    let store = dir.store();
    copy_fixture_tensors(&store);
    let bases = base_texts(&store);
    let progress = Arc::new(Mutex::new(Progress::default()));
    let worker_progress = Arc::clone(&progress);
    let worker_store = store.clone();
    let start = Instant::now();
    let worker = std::thread::spawn(move || {
        let mut g = Gen::new(seed);
        let mut failures: Vec<String> = Vec::new();
        let mut accepted = 0usize;
        for i in 0..count {
            let (name, base) = &bases[g.below(bases.len())];
            let (text, applied) = mutate::mutate(base, &mut g);
            {
                let mut p = worker_progress.lock().unwrap();
                p.index = i;
                p.input.clone_from(&text);
                p.started = Some(Instant::now());
            }
            match check_input(&text, &worker_store) {
                Ok(ok) => accepted += usize::from(ok),
                Err(msg) if failures.len() < 10 => failures.push(format!(
                    "mutation #{i} of {name} ({applied:?}): {msg}\n--- input ---\n{text}"
                )),
                Err(_) => {}
            }
        }
        worker_progress.lock().unwrap().done = true;
        (failures, accepted)
    });
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let p = progress.lock().unwrap();
        if p.done {
            break;
        }
        if let Some(t) = p.started {
            assert!(
                t.elapsed() < STUCK_AFTER,
                "parsing mutation #{} has not finished after {:?} (seed {seed}); input:\n{}",
                p.index,
                STUCK_AFTER,
                p.input
            );
        }
    }
    let (failures, accepted) = worker.join().unwrap();
    eprintln!(
        "{count} mutated inputs (seed {seed:#x}) in {:?}: {accepted} parsed and round-tripped",
        start.elapsed()
    );
    assert!(failures.is_empty(), "{} failures:\n\n{}", failures.len(), failures.join("\n\n"));
    assert!(accepted > count / 20, "only {accepted} mutated inputs parsed: mutations too harsh?");
}

/// Every unmutated base text parses (the fixtures that are errors by design aside).
#[test]
fn base_texts_parse() {
    let dir = TempDir::new("circuit-mutations-base").unwrap();
    let store = dir.store();
    copy_fixture_tensors(&store);
    for (name, text) in base_texts(&store) {
        let expect_error = name.starts_with("invalid_") || name == "demo_higher_order_module_b";
        match check_input(&text, &store) {
            Ok(parsed) => assert_eq!(parsed, !expect_error, "{name}"),
            Err(msg) => panic!("{name}: {msg}"),
        }
    }
}

fn parse_default(text: &str) -> Result<Vec<circuit_ir::Circuit>, circuit_text::ParseError> {
    let dir = TempDir::new("circuit-huge").unwrap();
    let store = dir.store();
    let opts = ParseOptions { tensor_store: Some(store), ..ParseOptions::default() };
    catch_quiet(|| parse_circuits(text, &opts))
        .unwrap_or_else(|p| panic!("panicked on {text:?}: {p}"))
}

/// Declared shapes never allocate: huge Scalars, Symbols and the nodes above them are
/// fine; a huge random Array is a clean error about its size.
#[test]
fn huge_declared_shapes() {
    let ok = [
        "0 [1000000000000] Scalar 1",
        "0 [1000000000000,1000000000000] Scalar 1",
        "0 [18446744073709551615] Scalar 1",
        "0 [1000000000000] Symbol",
        "0 [0s*0s*0s*0s] Scalar 1",
        "0 Einsum ab,bc->ac\n  1 [1000000000000,1000000000000] Scalar 1\n  2 [1000000000000,1000000000000] Scalar 1",
        "0 Add\n  1 [1000000000000,1] Scalar 1\n  2 [1000000000000] Scalar 1",
        "0 Index [5:7,-1]\n  1 [1000000000000,1000000000000] Scalar 1",
        "0 [1000000000000] Scatter [1:2]\n  1 [1] Scalar 1",
        "0 Rearrange a -> a 18446744073709551615 18446744073709551615\n  1 [2] Scalar 1",
        "0 GeneralFunction multinomial_[1000000000000, 1000000000000]\n  1 [2] Scalar 1\n  2 [] Scalar 1",
        "0 Module\n  1 [0s] Symbol 1a280c74-fa9f-4dd9-94f4-5cca4a0cf243\n  2 [1000000000000,1000000000000,3] Scalar 1 ! 1",
        "0 Conv stride=[1] padding=[0:0]\n  1 [2,18446744073709551615,2] Scalar 1\n  2 [1,2,2] Scalar 1",
    ];
    for text in ok {
        let roots = parse_default(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(roots.len(), 1, "{text}");
    }
    let roots = parse_default("0 [1000000000000] Scalar 1").unwrap();
    assert_eq!(roots[0].shape().as_slice(), &[1_000_000_000_000]);
    let errors = [
        ("0 [1000000000000] Array rand", "exceeds the limit"),
        ("0 [1000000,1000000] Array rand", "exceeds the limit"),
        ("0 [18446744073709551615,2] Array rand", "exceeds the limit"),
        ("0 [18446744073709551616] Scalar 1", "size"),
        ("0 [256s] Scalar 1", "size"),
        ("0 [0s*0s*0s*0s*0s] Scalar 1", "size"),
        ("0 Concat 0\n  1 [18446744073709551615] Scalar 1\n  2 [1] Scalar 1", "overflow"),
        ("0 Rearrange (a:4294967296 b:4294967297) -> a b\n  1 [3] Scalar 1", ""),
    ];
    for (text, needle) in errors {
        let e = parse_default(text).err().unwrap_or_else(|| panic!("{text:?} parsed"));
        assert!(e.message.contains(needle), "{text:?}: {e}");
    }
}

/// Deep nesting parses without recursion; beyond `max_depth` it is a clean error.
#[test]
fn deep_nesting() {
    let n = 3_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("{}{i} Tag 00000000-0000-4000-8000-000000000000\n", "  ".repeat(i)));
    }
    text.push_str(&format!("{}{n} [2] Scalar 1", "  ".repeat(n)));
    let roots = parse_default(&text).unwrap();
    assert_eq!(circuit_ir::traversal::count_nodes(&roots), n + 1);
    let printed = PrintOptions::default().repr(&roots).unwrap();
    assert_eq!(printed, text);
    let opts = ParseOptions { max_depth: 100, ..ParseOptions::default() };
    let e = parse_circuits(&text, &opts).err().unwrap();
    assert!(e.message.contains("deeper"), "{e}");
}

/// Parses on a helper thread; `None` if it takes longer than `limit` (the thread is left
/// running).
fn parse_within(text: &str, limit: Duration) -> Option<Result<usize, String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let text = text.to_string();
    std::thread::spawn(move || {
        let r = catch_quiet(|| parse_circuits(&text, &ParseOptions::default()))
            .map(|r| r.map(|c| c.len()).map_err(|e| e.to_string()));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => Some(r),
        Ok(Err(panic)) => panic!("panicked: {panic}"),
        Err(_) => None,
    }
}

/// Regression (found by this fuzzer): `Index`/`Scatter` on a dimension of size 2^63 panic in debug builds
/// (`TensorAxisIndex::output_len` / `Slice::resolve` compute `-(len as i64)`, which
/// overflows), and for sizes above `i64::MAX` every index is wrongly "out of range"
/// (`len as i64` is negative). Fix: compare in `i128` (or handle `len > i64::MAX`
/// explicitly). Expected: `[0]` and `[0:1]` are valid on both sizes.
#[test]
fn regression_index_on_huge_dims() {
    for text in [
        "0 Index [0]\n  1 [9223372036854775808] Scalar 1",
        "0 Index [0:1]\n  1 [9223372036854775808] Scalar 1",
        "0 Index [0]\n  1 [18446744073709551615] Scalar 1",
        "0 [9223372036854775808] Scatter [0:1]\n  1 [1] Scalar 1",
    ] {
        let r = parse_within(text, Duration::from_secs(5)).unwrap();
        assert!(r.is_ok(), "{text:?}: {r:?}");
    }
    // an index tensor checked against such a dimension (`derive::check_index_tensor_values`)
    let x = circuit_ir::Circuit::scalar(1.0, &[1 << 63], None).unwrap();
    let t = circuit_ir::kinds::IndexTensor::new(
        circuit_ir::Tensor::from_vec(&[1], vec![0i64]).unwrap(),
    )
    .unwrap();
    let r = catch_quiet(|| x.index(vec![circuit_ir::kinds::TensorAxisIndex::Tensor(t)]));
    assert!(matches!(r, Ok(Ok(_))), "{:?}", r.map(|c| c.map(|c| c.shape().to_vec())));
}

/// Regression (found by this fuzzer): `Conv::infer_shape` adds padding to the input size unchecked, so huge
/// padding panics ("attempt to add with overflow") in debug builds. Fix: `checked_add`
/// and report an error.
#[test]
fn regression_conv_padding_overflow() {
    let text = "0 Conv stride=[1] padding=[18446744073709551615:1]\n  1 [2,3,2] Scalar 1\n  2 [1,2,2] Scalar 1";
    let r = parse_within(text, Duration::from_secs(5)).unwrap();
    assert!(r.is_err(), "{r:?}");
}

/// Regression (found by this fuzzer): errors inside a Module argument's `! <symbol>` binding are located with
/// byte offsets relative to the binding text but applied to the whole line: the column is
/// wrong, and when the offset falls inside a multi-byte character `col_of` panics
/// ("byte index 16 is not a char boundary"). Fix: offset the binding record's positions
/// by the binding's start (or lex it in place with `lex_node(line, head_start)`).
#[test]
fn regression_binding_error_position() {
    let text = "0 Module\n  1 [2] Symbol\n  'ααααααααα' [2] Scalar 1 ! 'xy' [2] Symbol zz";
    let e = parse_within(text, Duration::from_secs(5)).unwrap().unwrap_err();
    assert!(e.contains("column 46"), "{e}");
    let ascii = "0 Module\n  1 [2] Symbol\n  2 [2] Scalar 1 ! 'xy' [2] Symbol zz";
    let e = parse_within(ascii, Duration::from_secs(5)).unwrap().unwrap_err();
    assert!(e.contains("column 36"), "{e}");
}

/// Regression (found by this fuzzer): the StoredCumulantVar shape check builds the base shape repeated `order`
/// times before comparing, so a one-line input with a huge order and rank-0 children
/// hangs (`1, 2, 1000000000` takes ~50 s in a debug build, `2^63` forever). Fix: compare
/// `child.rank()` with `order.checked_mul(base.len())` first.
#[test]
fn regression_stored_cumulant_var_huge_order() {
    let text = "0 StoredCumulantVar 1, 2, 9223372036854775808|1a280c74-fa9f-4dd9-94f4-5cca4a0cf243\n  1 [] Scalar 1\n  2 [] Scalar 1\n  3 [] Scalar 1";
    let r = parse_within(text, Duration::from_secs(2));
    assert!(r.is_some(), "still parsing after 2 s");
}
