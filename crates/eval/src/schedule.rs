//! Buffer lifetimes of a linear schedule: which buffers die after each step, and the
//! predicted memory.
//!
//! Memory model: each step allocates its output, except view kernels
//! ([`crate::Kernel::is_view`]) whose output shares the memory of their first input (or
//! nothing, for Fill and Constant). An allocation lives until every buffer sharing it
//! is dead; a buffer dies after its last use (the output never dies). Constants (the
//! circuit's Arrays) are counted separately. Scratch space inside kernels (packing
//! buffers, copies of operands a GEMM cannot read in place) is not modelled.

use crate::kernel::{BufId, Kernel, Step};

/// Lifetimes and memory of a schedule.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schedule {
    /// `frees[i]`: buffers whose last use is step `i`.
    pub(crate) frees: Vec<Vec<BufId>>,
    /// Bytes alive right after step `i` (after its frees).
    pub(crate) live_after: Vec<u64>,
    /// Predicted peak.
    pub(crate) peak_bytes: u64,
    /// Bytes of constants.
    pub(crate) constant_bytes: u64,
    /// Largest allocation of one step.
    pub(crate) largest_bytes: u64,
    /// The step making it.
    pub(crate) largest_step: Option<usize>,
}

impl Schedule {
    pub(crate) fn new(steps: &[Step], output: BufId) -> Schedule {
        let n_buffers = steps.iter().map(|s| s.output + 1).max().unwrap_or(0);
        // Last step reading each buffer.
        let mut last_use: Vec<Option<usize>> = vec![None; n_buffers];
        for (i, s) in steps.iter().enumerate() {
            for &b in &s.inputs {
                if let Some(slot) = last_use.get_mut(b) {
                    *slot = Some(i);
                }
            }
        }
        let mut frees: Vec<Vec<BufId>> = vec![Vec::new(); steps.len()];
        for (b, lu) in last_use.iter().enumerate() {
            if let Some(i) = *lu {
                if b != output {
                    frees[i].push(b);
                }
            }
        }
        // Buffers nobody reads (other than the output) die right away.
        for (i, s) in steps.iter().enumerate() {
            if last_use.get(s.output).copied().flatten().is_none() && s.output != output {
                frees[i].push(s.output);
            }
        }
        let mut sched = Schedule { frees, ..Schedule::default() };
        sched.simulate(steps);
        sched
    }

    /// Walks the steps tracking allocations (an allocation = the step that made it).
    fn simulate(&mut self, steps: &[Step]) {
        let n_buffers = steps.iter().map(|s| s.output + 1).max().unwrap_or(0);
        // Allocation owning each buffer's memory (None: constant or broadcast).
        let mut alloc_of: Vec<Option<usize>> = vec![None; n_buffers];
        // Live buffer count and size of each allocation (indexed by the making step).
        let mut refs: Vec<usize> = vec![0; steps.len()];
        let mut size: Vec<u64> = vec![0; steps.len()];
        let mut live: u64 = 0;
        for (i, s) in steps.iter().enumerate() {
            let alloc = match &s.kernel {
                Kernel::Constant(_) => {
                    self.constant_bytes = self.constant_bytes.saturating_add(s.bytes());
                    None
                }
                Kernel::Fill { .. } => None,
                k if k.is_view() => {
                    s.inputs.first().and_then(|&b| alloc_of.get(b).copied().flatten())
                }
                _ => {
                    size[i] = s.bytes();
                    live = live.saturating_add(size[i]);
                    if size[i] > self.largest_bytes {
                        self.largest_bytes = size[i];
                        self.largest_step = Some(i);
                    }
                    Some(i)
                }
            };
            if let Some(a) = alloc {
                refs[a] += 1;
            }
            if let Some(slot) = alloc_of.get_mut(s.output) {
                *slot = alloc;
            }
            self.peak_bytes = self.peak_bytes.max(live);
            for &b in &self.frees[i] {
                if let Some(a) = alloc_of.get(b).copied().flatten() {
                    refs[a] = refs[a].saturating_sub(1);
                    if refs[a] == 0 {
                        live = live.saturating_sub(size[a]);
                    }
                }
            }
            self.live_after.push(live);
        }
    }
}
