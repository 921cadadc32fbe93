//! Writes the perf workloads W1 and W2 (`shared/perf`) as `.circ` files over the
//! workload data, so `circ eval` / `circ bench` run them from the command line:
//!
//! ```text
//! python3 ../shared/perf/workloads.py --data .scratch/perfdata        # once
//! cargo run --release --example bench_circuits -- .scratch/perfdata .scratch/perf-store fixtures/bench
//! CIRCUIT_TENSOR_DIR=.scratch/perf-store circ bench fixtures/bench/w1_attn2.circ
//! ```
//!
//! The arrays go to the tensor store (content-addressed `.npy` files), the circuits to
//! small text files that refer to them by hash. `tests/bench_fixtures.rs` evaluates them
//! against the float64 references when the store and data are present.

use std::path::PathBuf;

use circuit::ir::Circuit;
use circuit::models::{load_model_dir, tokens_array, Transformer};
use circuit::tensor::{read_npy, TensorStore};
use circuit::text::PrintOptions;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [data, store, out] = args.as_slice() else {
        return Err("usage: bench_circuits DATA_DIR STORE_DIR OUT_DIR".into());
    };
    std::fs::create_dir_all(out)?;
    let store = TensorStore::open(store);
    let print = |c: &Circuit, file: &str| -> Result<()> {
        let opts = PrintOptions { save_tensors: Some(store.clone()), ..PrintOptions::default() };
        let text = opts.repr(std::slice::from_ref(c))?;
        std::fs::write(out.join(file), text)?;
        println!("wrote {}", out.join(file).display());
        Ok(())
    };
    // W1: the model circuit's next-token NLL for all 32 sequences.
    let w1 = data.join("attn2");
    let (config, weights) = load_model_dir(&w1)?;
    let model = Transformer::new(config, weights)?;
    let toks = tokens_array(&read_npy(&w1.join("tokens.npy"))?, "tokens")?;
    print(&model.loss(&toks)?.rename(Some("w1.nll"))?, "w1_attn2.circ")?;
    // W2: each einsum over its operand arrays.
    let w2 = data.join("einsum_chain");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w2.join("workload.json"))?)?;
    for e in spec["einsums"].as_array().ok_or("workload.json: no einsums")? {
        let name = e["name"].as_str().ok_or("einsum without a name")?;
        let eq = e["equation"].as_str().ok_or("einsum without an equation")?;
        let operands = e["operands"].as_array().ok_or("einsum without operands")?;
        let arrays = operands
            .iter()
            .map(|o| {
                let o = o.as_str().ok_or("operand name")?;
                Ok(Circuit::array(read_npy(&w2.join(format!("{o}.npy")))?, Some(o))?)
            })
            .collect::<Result<Vec<Circuit>>>()?;
        let c = Circuit::einsum(eq, arrays)?.rename(Some(name))?;
        print(&c, &format!("w2_{name}.circ"))?;
    }
    Ok(())
}
