//! [`Plan`]: a compiled circuit — a linear schedule of kernels over numbered buffers,
//! each buffer freed right after its last use — plus its predicted cost, printable with
//! [`Plan::explain`] and runnable on any [`Backend`].

use std::fmt;

use circuit_tensor::Tensor;

use crate::backend::Backend;
use circuit_ir::kinds::TensorAxisIndex;

use crate::kernel::{BufId, Kernel, Step};
use crate::schedule::Schedule;
use crate::{EvalError, Result};

/// A compiled circuit.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) steps: Vec<Step>,
    pub(crate) output: BufId,
    pub(crate) root: String,
    pub(crate) schedule: Schedule,
    pub(crate) notes: Vec<String>,
}

impl Plan {
    /// Builds a plan from steps in execution order; computes frees and memory.
    pub(crate) fn new(steps: Vec<Step>, output: BufId, root: String) -> Plan {
        let schedule = Schedule::new(&steps, output);
        Plan { steps, output, root, schedule, notes: Vec::new() }
    }

    /// The steps, in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The buffer holding the result.
    pub fn output(&self) -> BufId {
        self.output
    }

    /// Buffers freed right after step `i`.
    pub fn frees_after(&self, i: usize) -> &[BufId] {
        self.schedule.frees.get(i).map_or(&[], Vec::as_slice)
    }

    /// Predicted peak memory in bytes of everything the schedule keeps alive at once
    /// (views share their source's memory; constants are not counted).
    pub fn peak_memory(&self) -> u64 {
        self.schedule.peak_bytes
    }

    /// Bytes of the constant tensors (the circuit's Arrays) the plan reads.
    pub fn constant_bytes(&self) -> u64 {
        self.schedule.constant_bytes
    }

    /// The largest single tensor a step allocates, in bytes, and that step's index.
    pub fn largest_tensor(&self) -> (u64, Option<usize>) {
        (self.schedule.largest_bytes, self.schedule.largest_step)
    }

    /// Total floating-point operations of all steps.
    pub fn total_flops(&self) -> u128 {
        self.steps.iter().map(|s| s.flops).sum()
    }

    /// Compiler notes (e.g. how the computation was batched to fit the budget).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// This plan with a different tensor in place of one of the circuit's Arrays: every
    /// Constant step holding `old` (by content) holds `new` instead. For running one
    /// compiled plan on many inputs of the same shape (batches of sampled tokens) without
    /// compiling again. The compiler's passes never compute with an Array's values, so
    /// the new plan equals the plan compiled with `new` in the circuit.
    ///
    /// # Errors
    /// [`EvalError::Invalid`] when no Constant holds `old`, when `new` differs from it in
    /// shape or dtype, or when `old` is also an index tensor built into a kernel (those
    /// need a fresh compile).
    pub fn with_constant(&self, old: &Tensor, new: Tensor) -> Result<Plan> {
        let invalid = |msg: String| EvalError::Invalid { node: self.root.clone(), msg };
        if new.shape() != old.shape() || new.dtype() != old.dtype() {
            return Err(invalid(format!(
                "replacement constant is {} {:?}, the original {} {:?}",
                new.dtype(),
                new.shape(),
                old.dtype(),
                old.shape()
            )));
        }
        let old_hash = old.hash();
        let mut plan = self.clone();
        let mut replaced = 0;
        for step in &mut plan.steps {
            match &mut step.kernel {
                Kernel::Constant(t) if t.hash() == old_hash => {
                    *t = new.clone();
                    replaced += 1;
                }
                Kernel::Index(entries)
                    if entries.iter().any(|e| {
                        matches!(e, TensorAxisIndex::Tensor(i) if i.tensor().hash() == old_hash)
                    }) =>
                {
                    return Err(invalid(format!(
                        "the constant {} is an index built into step '{}'; compile again",
                        old_hash.prefix(8),
                        step.node
                    )));
                }
                _ => {}
            }
        }
        if replaced == 0 {
            return Err(invalid(format!("no constant {} in the plan", old_hash.prefix(8))));
        }
        Ok(plan)
    }

    /// Number of steps that run a kernel of this name (see [`crate::Kernel::name`]).
    pub fn count_kernels(&self, name: &str) -> usize {
        self.steps.iter().filter(|s| s.kernel.name() == name).count()
    }

    /// A human-readable listing: one line per step with its kernel, output shape and
    /// dtype, FLOPs, output bytes and the live memory after it, then the predicted peak.
    pub fn explain(&self) -> String {
        self.to_string()
    }

    /// Runs the plan on a backend and returns the root's value.
    ///
    /// # Errors
    /// Whatever a kernel reports (index out of range, unsupported dtype, ...).
    pub fn run<B: Backend>(&self, backend: &B) -> Result<Tensor> {
        backend.install(|| self.run_inner(backend, None))
    }

    /// Like [`Plan::run`], also returning each step's wall time in seconds (for
    /// profiling; see [`Plan::explain_with_times`]).
    ///
    /// # Errors
    /// As [`Plan::run`].
    pub fn run_timed<B: Backend>(&self, backend: &B) -> Result<(Tensor, Vec<f64>)> {
        backend.install(|| {
            let mut times = Vec::with_capacity(self.steps.len());
            let out = self.run_inner(backend, Some(&mut times))?;
            Ok((out, times))
        })
    }

    /// [`Plan::explain`] with a measured time per step appended to each line.
    pub fn explain_with_times(&self, times: &[f64]) -> String {
        let text = self.explain();
        let mut out = String::new();
        let mut step = 0usize;
        for line in text.lines() {
            out.push_str(line);
            let is_step =
                line.split_whitespace().next().is_some_and(|w| w.parse::<usize>().is_ok());
            if is_step {
                if let Some(t) = times.get(step) {
                    out.push_str(&format!("   {:.3} ms", t * 1e3));
                }
                step += 1;
            }
            out.push('\n');
        }
        out
    }

    fn run_inner<B: Backend>(
        &self,
        backend: &B,
        mut times: Option<&mut Vec<f64>>,
    ) -> Result<Tensor> {
        let n_buffers = self.steps.iter().map(|s| s.output + 1).max().unwrap_or(0);
        let mut slots: Vec<Option<B::Buffer>> = vec![None; n_buffers];
        for (i, step) in self.steps.iter().enumerate() {
            let frees = self.frees_after(i);
            let mut inputs = Vec::with_capacity(step.inputs.len());
            for (k, &id) in step.inputs.iter().enumerate() {
                // A buffer whose last use is this step (and that this step reads once) is
                // handed over, so the backend may reuse its memory in place.
                let last_use = frees.contains(&id)
                    && !step.inputs[k + 1..].contains(&id)
                    && !step.inputs[..k].contains(&id);
                let slot = slots
                    .get_mut(id)
                    .ok_or_else(|| EvalError::internal(&step.node, "buffer id out of range"))?;
                let buf = if last_use { slot.take() } else { slot.clone() };
                inputs.push(buf.ok_or_else(|| {
                    EvalError::internal(
                        &step.node,
                        format!("buffer {id} read before it is written"),
                    )
                })?);
            }
            let started = std::time::Instant::now();
            let out = backend.execute(step, inputs)?;
            if let Some(t) = times.as_deref_mut() {
                t.push(started.elapsed().as_secs_f64());
            }
            if let Some(slot) = slots.get_mut(step.output) {
                *slot = Some(out);
            }
            for &id in frees {
                if let Some(buf) = slots.get_mut(id).and_then(Option::take) {
                    backend.release(buf);
                }
            }
        }
        let out = slots
            .get_mut(self.output)
            .and_then(Option::take)
            .ok_or_else(|| EvalError::internal(&self.root, "the output was never computed"))?;
        drop(slots);
        backend.download(out)
    }
}

/// `1234567` → `1.23 MB`.
pub(crate) fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

fn human_flops(f: u128) -> String {
    let f = f as f64;
    if f == 0.0 {
        "-".into()
    } else if f >= 1e9 {
        format!("{:.2} G", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.2} M", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.1} k", f / 1e3)
    } else {
        format!("{f}")
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan for {}: {} steps, {} FLOP, predicted peak {} (+ {} of constants)",
            self.root,
            self.steps.len(),
            human_flops(self.total_flops()),
            human_bytes(self.peak_memory()),
            human_bytes(self.constant_bytes()),
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        writeln!(
            f,
            "{:>4}  {:<28} {:<34} {:<18} {:<7} {:>10} {:>11} {:>11}",
            "step", "node", "kernel", "shape", "dtype", "FLOP", "out bytes", "live after"
        )?;
        for (i, s) in self.steps.iter().enumerate() {
            let mut node = s.node.clone();
            if node.chars().count() > 28 {
                node = node.chars().take(27).collect::<String>() + "…";
            }
            let mut kernel = s.kernel.to_string();
            if kernel.chars().count() > 34 {
                kernel = kernel.chars().take(33).collect::<String>() + "…";
            }
            let out_bytes =
                if s.kernel.is_view() { "view".to_string() } else { human_bytes(s.bytes()) };
            let ins: Vec<String> = s.inputs.iter().map(|b| format!("%{b}")).collect();
            writeln!(
                f,
                "{i:>4}  {node:<28} {kernel:<34} {:<18} {:<7} {:>10} {:>11} {:>11}   %{} <- ({})",
                format!("{:?}", s.shape),
                s.dtype.name(),
                human_flops(s.flops),
                out_bytes,
                human_bytes(self.schedule.live_after.get(i).copied().unwrap_or(0)),
                s.output,
                ins.join(", ")
            )?;
        }
        write!(
            f,
            "predicted peak memory: {} (output %{})",
            human_bytes(self.peak_memory()),
            self.output
        )
    }
}
