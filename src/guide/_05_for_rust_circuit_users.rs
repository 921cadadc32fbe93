//! # circuit for rust_circuit users
//!
//! | rust_circuit (Python) | circuit (Rust) | notes |
//! |---|---|---|
//! | `rc.Parser()(text)` | `circuit_text::parse_circuit(text, &ParseOptions::default())` | `parse_circuits` for several roots |
//! | `rc.PrintOptions().repr(c)` | `PrintOptions::default().repr(&[c])` | same line format |
//! | `c.evaluate()` | `circuit_eval::evaluate(&c)` | CPU, float32 by default; no PyTorch |
//! | `rc.Einsum.from_einsum_string("ab,bc->ac", a, b)` | `Circuit::einsum("ab,bc->ac", [a, b])` | |
//! | `a.add(b)`, `a.mul(b)`, `c.mean(-1)` | `a.add(&b)?`, `a.mul(&b)?`, `c.mean(&[-1])?` | builders return `Result` |
//! | `rc.Matcher("a") \| rc.Matcher("b")` | `Matcher::from("a") \| Matcher::from("b")` | `regex` is a plain regex; `regex_escape_dot` is rust_circuit's default |
//! | `it.chain("x")`, `rc.restrict(m, term_early_at=…)` | `IterativeMatcher::chain`, `restrict(…)` | same semantics |
//! | `c.get(m)`, `c.update(m, f)` | `get(&c, m)?`, `update(&c, m, f)?` | memoized, linear on DAGs |
//! | `module.substitute()` | `circuit.substitute()?` / `substitute_all_modules()?` | |
//! | `rc.DiscreteVar(values)` | `Circuit::discrete_var(values, Circuit::uniform_probs_and_group(n)?)` | the group is explicit |
//! | `rc.Sampler(rc.RandomSampleSpec((n,)))` | `Sampler::new(RandomSampleSpec::new(&[n]))` | seeds are explicit and deterministic |
//! | `Experiment(circuit, ds, corr).scrub(n).evaluate(...)` | `Experiment::new(circuit, ds, corr, seed)?.scrub(n)?.evaluate(&settings)?` | |
//! | tensors stored by hash as `torch.save` files | `<hash>.npy` files in `CIRCUIT_TENSOR_DIR` | the same hashes |
//!
//! See `docs/DIFFERENCES.md` for deliberate differences.
