//! Fuzz target: the parser never panics, hangs or allocates without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let opts = circuit_text::ParseOptions {
            tensor_store: Some(circuit_tensor::TensorStore::open("/nonexistent-circuit-fuzz-store")),
            max_tensor_bytes: 1 << 24,
            random_seed: Some(0),
            ..circuit_text::ParseOptions::default()
        };
        let _ = circuit_text::parse_circuits(text, &opts);
    }
});
