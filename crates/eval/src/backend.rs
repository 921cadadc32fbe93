//! The [`Backend`] trait: what a device must provide to run a [`crate::Plan`]. One plan
//! runs on any backend; [`crate::CpuBackend`] is the first implementation.

use circuit_tensor::Tensor;

use crate::kernel::Step;
use crate::Result;

/// A device that can execute plan steps.
///
/// Contract: [`Backend::execute`] computes `step.kernel` on `inputs` (in the order of
/// `step.inputs`) and returns a buffer of shape `step.shape` and dtype `step.dtype`. An
/// input the plan will not read again is passed by value with no other reference kept
/// by the plan, so a backend may reuse its memory for the output.
pub trait Backend: Sync {
    /// A device buffer (cheap to clone: reference counted).
    type Buffer: Clone + Send;

    /// Short name for messages (`cpu`, `cuda`, ...).
    fn name(&self) -> &'static str;

    /// Runs one step.
    ///
    /// # Errors
    /// Kernel failures (index out of range, unsupported dtype, ...), naming `step.node`.
    fn execute(&self, step: &Step, inputs: Vec<Self::Buffer>) -> Result<Self::Buffer>;

    /// Turns a buffer into a host tensor (by value, so a host backend can hand over its
    /// memory without a copy).
    ///
    /// # Errors
    /// Device errors.
    fn download(&self, buffer: Self::Buffer) -> Result<Tensor>;

    /// Called with each buffer the plan no longer needs (after its last use), so the
    /// backend can recycle its memory. The default just drops it.
    fn release(&self, buffer: Self::Buffer) {
        drop(buffer);
    }

    /// Runs `f` in the backend's execution context (e.g. its thread pool).
    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        f()
    }
}
