//! [`CudaBackend`]: device, allocator, kernel cache, constant cache, the device-side
//! index-error word, and the [`Backend`] implementation that hands each step to
//! `exec`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use circuit_eval::{Backend, EvalError, Step};
use circuit_tensor::{Tensor, TensorData, TensorHash};

use crate::alloc::{Allocator, MemoryStats};
use crate::buffer::{c_strides, CudaBuffer};
use crate::codegen::gather::{GatherSpec, Im2colSpec, TableSpec};
use crate::codegen::map::MapSpec;
use crate::codegen::program::ProgramSpec;
use crate::codegen::reduce::ReduceSpec;
use crate::codegen::rows::RowSpec;
use crate::codegen::{Fields, KernelSource, ParamWriter, Ty};
use crate::device::{Device, DeviceKernel, LaunchCfg};
use crate::error::{CudaError, Result};

/// Every kernel the backend generates, by its compile-time parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KernelKey {
    Map(MapSpec),
    Program(ProgramSpec),
    Reduce(ReduceSpec),
    Row(RowSpec),
    Gather(GatherSpec),
    Table(TableSpec),
    Im2col(Im2colSpec),
}

impl KernelKey {
    pub(crate) fn source(&self) -> KernelSource {
        match self {
            KernelKey::Map(s) => s.source(),
            KernelKey::Program(s) => s.source(),
            KernelKey::Reduce(s) => s.source(),
            KernelKey::Row(s) => s.source(),
            KernelKey::Gather(s) => s.source(),
            KernelKey::Table(s) => s.source(),
            KernelKey::Im2col(s) => s.source(),
        }
    }

    fn fields(&self) -> Fields {
        match self {
            KernelKey::Map(s) => s.fields(),
            KernelKey::Program(s) => s.fields(),
            KernelKey::Reduce(s) => s.fields(),
            KernelKey::Row(s) => s.fields(),
            KernelKey::Gather(s) => s.fields(),
            KernelKey::Table(s) => s.fields(),
            KernelKey::Im2col(s) => s.fields(),
        }
    }
}

pub(crate) struct Compiled {
    kernel: Arc<dyn DeviceKernel>,
    fields: Fields,
    source: KernelSource,
}

/// Constants uploaded once, by content hash; entries unused in the latest runs are
/// dropped when the cache outgrows its budget.
#[derive(Default)]
struct ConstCache {
    map: HashMap<TensorHash, (CudaBuffer, u64)>,
    bytes: usize,
}

/// Bytes of constants kept on the device before unused ones are evicted.
const CONST_BUDGET: usize = 8 << 30;

pub(crate) struct Inner {
    pub(crate) alloc: Arc<Allocator>,
    kernels: Mutex<HashMap<KernelKey, Arc<Compiled>>>,
    consts: Mutex<ConstCache>,
    fills: Mutex<HashMap<(Ty, u64), CudaBuffer>>,
    tables: Mutex<HashMap<Vec<i64>, CudaBuffer>>,
    err: CudaBuffer,
    err_tags: Mutex<Vec<String>>,
    err_pending: AtomicBool,
    generation: AtomicUsize,
    steps_run: AtomicUsize,
    launches: AtomicUsize,
}

fn poisoned() -> CudaError {
    CudaError::internal("backend lock poisoned")
}

/// Element types whose memory may be viewed as bytes (no padding, every bit pattern
/// valid).
pub(crate) trait Pod: Copy + Default {}
impl Pod for f32 {}
impl Pod for f64 {}
impl Pod for i64 {}

pub(crate) fn as_bytes<T: Pod>(v: &[T]) -> &[u8] {
    // SAFETY: `T` is f32/f64/i64 (sealed by `Pod`): plain bytes without padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn as_bytes_mut<T: Pod>(v: &mut [T]) -> &mut [u8] {
    // SAFETY: as `as_bytes`; every byte pattern is a valid f32/f64/i64.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

impl Inner {
    pub(crate) fn new(dev: Arc<dyn Device>) -> Result<Inner> {
        let alloc = Allocator::new(dev);
        let mem = alloc.alloc(32)?;
        alloc.device().memset_zero(mem.ptr, 32)?;
        let err = CudaBuffer { mem, ty: Ty::I64, offset: 0, shape: vec![4], strides: vec![1] };
        Ok(Inner {
            alloc,
            kernels: Mutex::default(),
            consts: Mutex::default(),
            fills: Mutex::default(),
            tables: Mutex::default(),
            err,
            err_tags: Mutex::default(),
            err_pending: AtomicBool::new(false),
            generation: AtomicUsize::new(0),
            steps_run: AtomicUsize::new(0),
            launches: AtomicUsize::new(0),
        })
    }

    pub(crate) fn dev(&self) -> &Arc<dyn Device> {
        self.alloc.device()
    }

    /// Blocks for a grid-stride launch over `n` items.
    pub(crate) fn grid(&self, n: usize, block: u32) -> u32 {
        let want = n.div_ceil(block.max(1) as usize).max(1);
        let cap = self.dev().sm_count() as usize * 32;
        u32::try_from(want.min(cap)).unwrap_or(1).max(1)
    }

    fn compiled(&self, key: &KernelKey) -> Result<Arc<Compiled>> {
        let mut map = self.kernels.lock().map_err(|_| poisoned())?;
        if let Some(c) = map.get(key) {
            return Ok(c.clone());
        }
        let source = key.source();
        let kernel = self.dev().compile(&source)?;
        let c = Arc::new(Compiled { kernel, fields: key.fields(), source });
        map.insert(key.clone(), c.clone());
        Ok(c)
    }

    /// Launches the kernel of `key`, its parameters written by `write`.
    pub(crate) fn launch(
        &self,
        key: &KernelKey,
        cfg: LaunchCfg,
        write: impl FnOnce(&mut ParamWriter<'_>) -> Result<()>,
    ) -> Result<()> {
        let c = self.compiled(key)?;
        let mut w = ParamWriter::new(&c.fields);
        write(&mut w)?;
        let words = w.finish()?;
        self.launches.fetch_add(1, Ordering::Relaxed);
        c.kernel.launch(cfg, &words)
    }

    /// A contiguous, uninitialized tensor.
    pub(crate) fn alloc(&self, ty: Ty, shape: &[usize]) -> Result<CudaBuffer> {
        let n = shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        let bytes =
            n.and_then(|n| n.checked_mul(ty.size())).ok_or_else(|| CudaError::TooLarge {
                what: format!("tensor of shape {shape:?}"),
                value: shape.iter().map(|&d| d as u128).product(),
            })?;
        let mem = self.alloc.alloc(bytes)?;
        Ok(CudaBuffer { mem, ty, offset: 0, shape: shape.to_vec(), strides: c_strides(shape) })
    }

    /// A contiguous tensor of zeros.
    pub(crate) fn zeros(&self, ty: Ty, shape: &[usize]) -> Result<CudaBuffer> {
        let b = self.alloc(ty, shape)?;
        let bytes = b.numel() * ty.size();
        if bytes > 0 {
            self.dev().memset_zero(b.mem.ptr, bytes)?;
        }
        Ok(b)
    }

    /// Uploads host elements into a new contiguous tensor.
    pub(crate) fn upload_vec<T: Pod>(
        &self,
        ty: Ty,
        shape: &[usize],
        v: &[T],
    ) -> Result<CudaBuffer> {
        let b = self.alloc(ty, shape)?;
        if !v.is_empty() {
            self.dev().upload(b.mem.ptr, as_bytes(v))?;
        }
        Ok(b)
    }

    /// A tensor's data on the device, uploaded on first use and cached by content hash.
    pub(crate) fn constant(&self, t: &Tensor) -> std::result::Result<CudaBuffer, UploadError> {
        let hash = t.hash();
        let generation = self.generation.load(Ordering::Relaxed) as u64;
        {
            let mut c = self.consts.lock().map_err(|_| UploadError::Cuda(poisoned()))?;
            if let Some((b, g)) = c.map.get_mut(&hash) {
                *g = generation;
                return Ok(b.clone());
            }
        }
        let shape = t.shape().to_vec();
        let b = match t.data() {
            TensorData::F32(a) => match a.as_slice() {
                Some(s) => self.upload_vec(Ty::F32, &shape, s),
                None => self.upload_vec(Ty::F32, &shape, &a.iter().copied().collect::<Vec<_>>()),
            },
            TensorData::F64(a) => match a.as_slice() {
                Some(s) => self.upload_vec(Ty::F64, &shape, s),
                None => self.upload_vec(Ty::F64, &shape, &a.iter().copied().collect::<Vec<_>>()),
            },
            TensorData::I64(a) => match a.as_slice() {
                Some(s) => self.upload_vec(Ty::I64, &shape, s),
                None => self.upload_vec(Ty::I64, &shape, &a.iter().copied().collect::<Vec<_>>()),
            },
            _ => return Err(UploadError::DType(t.dtype())),
        }
        .map_err(UploadError::Cuda)?;
        let mut c = self.consts.lock().map_err(|_| UploadError::Cuda(poisoned()))?;
        let bytes = b.numel() * b.ty.size();
        if c.bytes + bytes > CONST_BUDGET {
            // Drop constants not used in the current run, least recently used first.
            let mut old: Vec<(TensorHash, u64, usize)> = c
                .map
                .iter()
                .filter(|(_, (_, g))| *g < generation)
                .map(|(h, (b, g))| (*h, *g, b.numel() * b.ty.size()))
                .collect();
            old.sort_by_key(|o| o.1);
            for (h, _, sz) in old {
                if c.bytes + bytes <= CONST_BUDGET {
                    break;
                }
                c.map.remove(&h);
                c.bytes -= sz;
            }
        }
        c.bytes += bytes;
        c.map.insert(hash, (b.clone(), generation));
        Ok(b)
    }

    /// `value` (converted like the CPU backend's `from_f64`) broadcast to `shape`.
    pub(crate) fn fill(&self, ty: Ty, value: f64, shape: &[usize]) -> Result<CudaBuffer> {
        let bits = match ty {
            Ty::F32 => u64::from((value as f32).to_bits()),
            Ty::F64 => value.to_bits(),
            Ty::I64 => (value as i64) as u64,
        };
        let one = {
            let mut f = self.fills.lock().map_err(|_| poisoned())?;
            match f.get(&(ty, bits)) {
                Some(b) => b.clone(),
                None => {
                    let b = match ty {
                        Ty::F32 => self.upload_vec(ty, &[1], &[value as f32])?,
                        Ty::F64 => self.upload_vec(ty, &[1], &[value])?,
                        Ty::I64 => self.upload_vec(ty, &[1], &[value as i64])?,
                    };
                    f.insert((ty, bits), b.clone());
                    b
                }
            }
        };
        one.view(0, shape.to_vec(), vec![0; shape.len()])
            .ok_or_else(|| CudaError::internal("fill view"))
    }

    /// An int64 table on the device (cached by content).
    pub(crate) fn table(&self, v: Vec<i64>) -> Result<CudaBuffer> {
        let mut t = self.tables.lock().map_err(|_| poisoned())?;
        if let Some(b) = t.get(&v) {
            return Ok(b.clone());
        }
        let b = self.upload_vec(Ty::I64, &[v.len()], &v)?;
        t.insert(v, b.clone());
        Ok(b)
    }

    /// The error word and a tag naming `node` for a kernel that checks indices.
    pub(crate) fn error_slot(&self, node: &str) -> Result<(u64, i64)> {
        let mut tags = self.err_tags.lock().map_err(|_| poisoned())?;
        let tag = match tags.iter().position(|t| t == node) {
            Some(i) => i,
            None => {
                tags.push(node.to_string());
                tags.len() - 1
            }
        };
        self.err_pending.store(true, Ordering::Release);
        Ok((self.err.mem.ptr, tag as i64))
    }

    /// Reads (and clears) the error word: the first out-of-range index any kernel met
    /// since the last check.
    pub(crate) fn check_index_errors(&self) -> std::result::Result<(), ExecError> {
        if !self.err_pending.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let mut w = [0i64; 4];
        self.dev().download(self.err.mem.ptr, as_bytes_mut(&mut w))?;
        if w[0] == 0 {
            return Ok(());
        }
        self.dev().memset_zero(self.err.mem.ptr, 32)?;
        let mut tags = self.err_tags.lock().map_err(|_| poisoned())?;
        let node = tags.get(w[1] as usize).cloned().unwrap_or_else(|| "?".into());
        tags.clear();
        Err(ExecError::Eval(EvalError::IndexOutOfRange {
            node,
            value: w[2],
            size: usize::try_from(w[3]).unwrap_or(0),
        }))
    }

    /// Copies a contiguous tensor to the host.
    pub(crate) fn download_vec<T: Pod>(&self, b: &CudaBuffer) -> Result<Vec<T>> {
        let mut v = vec![T::default(); b.numel()];
        if !v.is_empty() {
            self.dev().download(b.ptr(), as_bytes_mut(&mut v))?;
        }
        Ok(v)
    }
}

/// Why a constant could not be uploaded.
pub(crate) enum UploadError {
    DType(circuit_tensor::DType),
    Cuda(CudaError),
}

/// A step's failure: an evaluation error as the CPU backend reports it, or a device
/// error (converted with the step's node).
#[derive(Debug)]
pub(crate) enum ExecError {
    Eval(EvalError),
    Cuda(CudaError),
}

impl From<CudaError> for ExecError {
    fn from(e: CudaError) -> Self {
        ExecError::Cuda(e)
    }
}

impl From<EvalError> for ExecError {
    fn from(e: EvalError) -> Self {
        ExecError::Eval(e)
    }
}

impl ExecError {
    fn at(self, node: &str) -> EvalError {
        match self {
            ExecError::Eval(e) => e,
            ExecError::Cuda(c) => c.into_eval(node),
        }
    }
}

/// The CUDA backend: runs [`circuit_eval::Plan`]s on an NVIDIA GPU (or, for testing,
/// on the CPU emulator of the same kernels).
pub struct CudaBackend {
    pub(crate) inner: Inner,
}

impl CudaBackend {
    /// Opens GPU `ordinal` (0 for the first).
    ///
    /// # Errors
    /// [`CudaError::NoDevice`] without a driver or device (never a panic),
    /// [`CudaError::MissingLibrary`] without NVRTC or cuBLAS.
    #[cfg(feature = "cuda")]
    pub fn new(ordinal: usize) -> Result<CudaBackend> {
        // cudarc panics on some failures (a library or symbol missing); turn any panic
        // into an error as well.
        let dev = std::panic::catch_unwind(|| crate::device::cuda::CudaDevice::new(ordinal))
            .map_err(|p| CudaError::NoDevice {
                reason: format!(
                    "CUDA initialization panicked: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                        .unwrap_or_default()
                ),
            })??;
        Ok(CudaBackend { inner: Inner::new(Arc::new(dev))? })
    }

    /// Without the `cuda` feature there is no device.
    ///
    /// # Errors
    /// Always [`CudaError::NoDevice`].
    #[cfg(not(feature = "cuda"))]
    pub fn new(_ordinal: usize) -> Result<CudaBackend> {
        Err(CudaError::NoDevice {
            reason: "circuit-cuda was built without the `cuda` feature".into(),
        })
    }

    /// The backend on the CPU emulator of the device (generated kernels compiled with
    /// the host C++ compiler, memory accesses checked): for testing without a GPU.
    ///
    /// # Errors
    /// [`CudaError::Emulator`] when no C++ compiler runs.
    pub fn emulated() -> Result<CudaBackend> {
        let dev = crate::device::emu::EmuDevice::new()?;
        Ok(CudaBackend { inner: Inner::new(Arc::new(dev))? })
    }

    /// The device's name.
    pub fn device_name(&self) -> String {
        self.inner.dev().name()
    }

    /// Whether this is the CPU emulator.
    pub fn is_emulated(&self) -> bool {
        self.inner.dev().is_emulated()
    }

    /// Device memory counters of the allocator.
    pub fn memory_stats(&self) -> MemoryStats {
        self.inner.alloc.stats()
    }

    /// Starts a new peak-memory measurement.
    pub fn reset_peak_memory(&self) {
        self.inner.alloc.reset_peak();
    }

    /// Releases the allocator's cached blocks and the cached constants.
    ///
    /// # Errors
    /// Device errors.
    pub fn clear_caches(&self) -> Result<()> {
        if let Ok(mut c) = self.inner.consts.lock() {
            c.map.clear();
            c.bytes = 0;
        }
        if let Ok(mut t) = self.inner.tables.lock() {
            t.clear();
        }
        self.inner.alloc.release_cache()
    }

    /// Steps executed so far.
    pub fn steps_run(&self) -> usize {
        self.inner.steps_run.load(Ordering::Relaxed)
    }

    /// Kernel launches so far (GEMMs and copies not counted).
    pub fn launches(&self) -> usize {
        self.inner.launches.load(Ordering::Relaxed)
    }

    /// The sources of every kernel compiled so far.
    pub fn compiled_sources(&self) -> Vec<KernelSource> {
        self.inner
            .kernels
            .lock()
            .map(|m| m.values().map(|c| c.source.clone()).collect())
            .unwrap_or_default()
    }

    /// Waits for all issued work.
    ///
    /// # Errors
    /// Device errors.
    pub fn synchronize(&self) -> Result<()> {
        self.inner.dev().synchronize()
    }

    /// Device time in milliseconds of the work `f` issues, measured with CUDA events
    /// (`None` on the emulator).
    ///
    /// # Errors
    /// Device errors.
    pub fn time_ms<R>(&self, f: impl FnOnce() -> R) -> Result<(R, Option<f64>)> {
        let mut f = Some(f);
        let mut out = None;
        let ms = self.inner.dev().time_ms(&mut || {
            if let Some(f) = f.take() {
                out = Some(f());
            }
        })?;
        out.map(|o| (o, ms)).ok_or_else(|| CudaError::internal("timed closure did not run"))
    }
}

impl Backend for CudaBackend {
    type Buffer = CudaBuffer;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn execute(&self, step: &Step, inputs: Vec<CudaBuffer>) -> circuit_eval::Result<CudaBuffer> {
        self.inner.steps_run.fetch_add(1, Ordering::Relaxed);
        let out = crate::exec::execute(&self.inner, step, inputs).map_err(|e| e.at(&step.node))?;
        if out.shape != step.shape || out.ty.dtype() != step.dtype {
            return Err(EvalError::Internal {
                node: step.node.clone(),
                msg: format!(
                    "kernel {} produced {} {:?}, expected {} {:?}",
                    step.kernel.name(),
                    out.ty.short(),
                    out.shape,
                    step.dtype,
                    step.shape
                ),
            });
        }
        Ok(out)
    }

    fn download(&self, buffer: CudaBuffer) -> circuit_eval::Result<Tensor> {
        let node = "download";
        let r = crate::exec::download(&self.inner, &buffer);
        self.inner.generation.fetch_add(1, Ordering::Relaxed);
        r.map_err(|e| e.at(node))
    }
}
