//! A small recycler for large buffers. A freshly allocated large buffer costs a page
//! fault per 4 KiB page on first touch (≈1.8 GB/s here, slower than the kernels that
//! fill it), and the allocator returns large blocks to the OS when they are freed, so a
//! schedule that frees one big intermediate and then makes another of similar size
//! would fault every time. Buffers the plan frees are kept here (at most
//! [`MAX_POOLED`] of them, each at least [`MIN_POOLED_BYTES`]) and handed to the next
//! allocation of a similar size; the pool is emptied when a plan run ends.

use std::sync::Mutex;

use super::buffer::Elem;

/// Smallest buffer worth recycling.
pub(crate) const MIN_POOLED_BYTES: usize = 1 << 20;
/// Most buffers kept per element type.
pub(crate) const MAX_POOLED: usize = 4;

static POOL_F32: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
static POOL_F64: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());
static POOL_I64: Mutex<Vec<Vec<i64>>> = Mutex::new(Vec::new());

/// Element types with a pool.
pub(crate) trait Pooled: Elem {
    /// This type's pool.
    fn pool() -> &'static Mutex<Vec<Vec<Self>>>;
}

impl Pooled for f32 {
    fn pool() -> &'static Mutex<Vec<Vec<Self>>> {
        &POOL_F32
    }
}
impl Pooled for f64 {
    fn pool() -> &'static Mutex<Vec<Vec<Self>>> {
        &POOL_F64
    }
}
impl Pooled for i64 {
    fn pool() -> &'static Mutex<Vec<Vec<Self>>> {
        &POOL_I64
    }
}

fn is_large<T>(n: usize) -> bool {
    n.saturating_mul(std::mem::size_of::<T>()) >= MIN_POOLED_BYTES
}

/// `n` zeros, reusing a pooled buffer of capacity in `[n, 2n]` when there is one.
pub(crate) fn zeroed<T: Elem>(n: usize) -> Vec<T> {
    if is_large::<T>(n) {
        if let Some(mut v) = T::take_pooled(n) {
            v.clear();
            v.resize(n, T::zero());
            return v;
        }
    }
    vec![T::zero(); n]
}

/// Offers a freed buffer to the pool.
pub(crate) fn recycle<T: Pooled>(v: Vec<T>) {
    if !is_large::<T>(v.capacity()) {
        return;
    }
    if let Ok(mut pool) = T::pool().lock() {
        if pool.len() < MAX_POOLED {
            pool.push(v);
        }
    }
}

/// Empties every pool (returns the memory to the allocator).
pub(crate) fn clear() {
    if let Ok(mut g) = POOL_F32.lock() {
        g.clear();
    }
    if let Ok(mut g) = POOL_F64.lock() {
        g.clear();
    }
    if let Ok(mut g) = POOL_I64.lock() {
        g.clear();
    }
}

/// Takes a pooled buffer with capacity in `[n, 2n]`.
pub(crate) fn take<T: Pooled>(n: usize) -> Option<Vec<T>> {
    let mut pool = T::pool().lock().ok()?;
    let pos = pool.iter().position(|v| v.capacity() >= n && v.capacity() <= n.saturating_mul(2))?;
    Some(pool.swap_remove(pos))
}
