//! The caching device allocator. Sizes are rounded up to size classes (multiples of
//! 512 bytes up to 8 KiB, then sixteen classes per power of two, so at most 12.5% is
//! wasted) and freed blocks are kept per class for reuse: a plan's
//! buffers are freed and allocated again on every run, and `cuMemAlloc`/`cuMemFree` per
//! step would cost more than many of the kernels. Everything runs on one stream, so a
//! block freed after its last use may be handed to the next step immediately.
//!
//! When the device runs out of memory the cache is released and the allocation
//! retried once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::device::Device;
use crate::error::{CudaError, Result};

/// Memory counters of an allocator, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes in blocks handed out (rounded to size classes).
    pub in_use: usize,
    /// Highest `in_use` since creation or the last [`crate::CudaBackend::reset_peak_memory`].
    pub peak: usize,
    /// Bytes in freed blocks kept for reuse.
    pub cached: usize,
}

/// The size class of a request (at least 512 bytes).
pub(crate) fn size_class(bytes: usize) -> usize {
    let b = bytes.max(1);
    let granule = (b.next_power_of_two() / 16).max(512);
    b.div_ceil(granule).saturating_mul(granule)
}

pub(crate) struct Allocator {
    dev: Arc<dyn Device>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    free: HashMap<usize, Vec<u64>>,
    stats: MemoryStats,
}

impl Allocator {
    pub(crate) fn new(dev: Arc<dyn Device>) -> Arc<Allocator> {
        Arc::new(Allocator { dev, state: Mutex::new(State::default()) })
    }

    pub(crate) fn device(&self) -> &Arc<dyn Device> {
        &self.dev
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| CudaError::internal("allocator lock poisoned"))
    }

    /// A block of at least `bytes` bytes (uninitialized).
    pub(crate) fn alloc(self: &Arc<Self>, bytes: usize) -> Result<Arc<DeviceMem>> {
        let class = size_class(bytes);
        let reused = {
            let mut st = self.lock()?;
            let p = st.free.get_mut(&class).and_then(Vec::pop);
            if p.is_some() {
                st.stats.cached -= class;
            }
            p
        };
        let ptr = match reused {
            Some(p) => p,
            None => match self.dev.alloc(class) {
                Ok(p) => p,
                Err(CudaError::OutOfMemory { .. }) => {
                    self.release_cache()?;
                    self.dev.alloc(class)?
                }
                Err(e) => return Err(e),
            },
        };
        {
            let mut st = self.lock()?;
            st.stats.in_use += class;
            st.stats.peak = st.stats.peak.max(st.stats.in_use);
        }
        Ok(Arc::new(DeviceMem { ptr, bytes, class, alloc: self.clone() }))
    }

    /// Frees every cached block.
    pub(crate) fn release_cache(&self) -> Result<()> {
        let blocks: Vec<u64> = {
            let mut st = self.lock()?;
            st.stats.cached = 0;
            st.free.drain().flat_map(|(_, v)| v).collect()
        };
        for p in blocks {
            self.dev.free(p);
        }
        self.dev.synchronize()
    }

    pub(crate) fn stats(&self) -> MemoryStats {
        self.state.lock().map(|s| s.stats).unwrap_or_default()
    }

    pub(crate) fn reset_peak(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.stats.peak = s.stats.in_use;
        }
    }

    fn recycle(&self, ptr: u64, class: usize) {
        if let Ok(mut st) = self.state.lock() {
            st.stats.in_use = st.stats.in_use.saturating_sub(class);
            st.stats.cached += class;
            st.free.entry(class).or_default().push(ptr);
        } else {
            self.dev.free(ptr);
        }
    }
}

impl Drop for Allocator {
    fn drop(&mut self) {
        if let Ok(st) = self.state.get_mut() {
            for (_, v) in st.free.drain() {
                for p in v {
                    self.dev.free(p);
                }
            }
        }
    }
}

/// A block of device memory; back to the allocator's cache when dropped.
pub(crate) struct DeviceMem {
    /// Device address.
    pub(crate) ptr: u64,
    /// Bytes requested (the block may be larger).
    pub(crate) bytes: usize,
    class: usize,
    alloc: Arc<Allocator>,
}

impl Drop for DeviceMem {
    fn drop(&mut self) {
        self.alloc.recycle(self.ptr, self.class);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_bound_waste() {
        for b in [1usize, 511, 512, 513, 4096, 4097, 100_000, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = size_class(b);
            assert!(c >= b && c >= 512, "{b} -> {c}");
            assert!(c - b < (b / 8 + 1).max(512), "{b} -> {c}");
            assert_eq!(size_class(c), c, "classes are fixed points");
        }
    }
}
