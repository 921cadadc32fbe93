//! Fuzz target: whatever parses prints, and the print parses back to equal circuits
//! that print identically.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Random Arrays (`Array rand`) are saved by the printer and loaded by the reparse.
    let store = circuit_tensor::TensorStore::open(std::env::temp_dir().join(format!("circuit-fuzz-store-{}", std::process::id())));
    let opts = circuit_text::ParseOptions {
        tensor_store: Some(store.clone()),
        max_tensor_bytes: 1 << 24,
        random_seed: Some(0),
        ..circuit_text::ParseOptions::default()
    };
    let Ok(circuits) = circuit_text::parse_circuits(text, &opts) else { return };
    let printer = circuit_text::PrintOptions { save_tensors: Some(store), ..circuit_text::PrintOptions::default() };
    let Ok(printed) = printer.repr(&circuits) else { return };
    let again = match circuit_text::parse_circuits(&printed, &opts) {
        Ok(c) => c,
        Err(e) => panic!("printed text does not parse: {}\n{printed}", e.render()),
    };
    assert!(again == circuits, "reparse differs:\n{printed}");
    let reprinted = printer.repr(&again).expect("reprint");
    assert_eq!(reprinted, printed, "print is not idempotent");
});
