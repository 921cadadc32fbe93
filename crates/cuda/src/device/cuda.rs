//! The real device, through cudarc: one context, one non-blocking stream, one cuBLAS
//! handle on that stream, NVRTC for the generated kernels.
//!
//! cudarc's safe layer is used for what it manages well (context, stream, module and
//! function lifetimes, events, the cuBLAS handle); memory, launches and GEMMs go through
//! its `result` layer with raw device pointers, because buffers here are owned by the
//! caching allocator and reused in stream order. cudarc's per-slice event tracking is
//! switched off: with a single stream it would only add two events per launch.

use std::ffi::c_void;
use std::sync::Arc;

use cudarc::cublas::{result as bres, sys as bsys, CudaBlas};
use cudarc::driver::{result as dres, sys as dsys, CudaContext, CudaFunction, CudaStream};
use cudarc::nvrtc;

use super::{Device, DeviceKernel, GemmCall, LaunchCfg};
use crate::codegen::{nvrtc_options, KernelSource, Ty};
use crate::error::{CudaError, Result};

/// A CUDA GPU.
pub(crate) struct CudaDevice {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    name: String,
    sms: u32,
    arch: u32,
    async_alloc: bool,
    /// One cuBLAS call at a time: the handle (and its workspace) is shared by every
    /// thread that runs plans on this backend.
    blas_lock: std::sync::Mutex<()>,
}

fn missing(library: &'static str) -> CudaError {
    CudaError::MissingLibrary {
        library,
        hint: "put the CUDA toolkit's lib64 (or the pip wheels' nvidia/*/lib folders) on LD_LIBRARY_PATH"
            .into(),
    }
}

impl CudaDevice {
    /// Opens device `ordinal`. Probes the libraries first: cudarc panics when one is
    /// missing, and this must return an error instead.
    pub(crate) fn new(ordinal: usize) -> Result<CudaDevice> {
        // SAFETY: probing dlopens the driver library, which runs its initializers —
        // exactly what any use of CUDA does; nothing else is called.
        if !unsafe { dsys::is_culib_present() } {
            return Err(CudaError::NoDevice { reason: "libcuda.so not found".into() });
        }
        dres::init().map_err(|e| CudaError::NoDevice { reason: format!("cuInit: {e:?}") })?;
        let count = dres::device::get_count()
            .map_err(|e| CudaError::NoDevice { reason: format!("cuDeviceGetCount: {e:?}") })?;
        if ordinal >= usize::try_from(count).unwrap_or(0) {
            return Err(CudaError::NoDevice {
                reason: format!("device {ordinal} requested, {count} present"),
            });
        }
        // SAFETY: as above, for NVRTC and cuBLAS.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(missing("libnvrtc"));
        }
        // SAFETY: as above.
        if !unsafe { bsys::is_culib_present() } {
            return Err(missing("libcublas"));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| CudaError::driver("context", e))?;
        // SAFETY: every buffer is used on the one stream created below, in issue order,
        // so cross-stream synchronization events are never needed.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(|e| CudaError::driver("stream", e))?;
        let blas = CudaBlas::new(stream.clone()).map_err(|e| CudaError::Blas {
            context: "create handle".into(),
            message: format!("{e:?}"),
        })?;
        let (major, minor) =
            ctx.compute_capability().map_err(|e| CudaError::driver("compute capability", e))?;
        let sms = ctx
            .attribute(dsys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(|e| CudaError::driver("multiprocessor count", e))?;
        let name = ctx.name().unwrap_or_else(|_| format!("cuda:{ordinal}"));
        Ok(CudaDevice {
            async_alloc: ctx.has_async_alloc(),
            arch: u32::try_from(major * 10 + minor).unwrap_or(70),
            sms: u32::try_from(sms).unwrap_or(1).max(1),
            name,
            ctx,
            stream,
            blas,
            blas_lock: std::sync::Mutex::new(()),
        })
    }

    fn bind(&self) -> Result<()> {
        self.ctx.bind_to_thread().map_err(|e| CudaError::driver("bind context", e))
    }
}

struct CudaKernel {
    func: CudaFunction,
    stream: Arc<CudaStream>,
    name: String,
}

impl DeviceKernel for CudaKernel {
    fn launch(&self, cfg: LaunchCfg, params: &[u64]) -> Result<()> {
        self.stream.context().bind_to_thread().map_err(|e| CudaError::driver("bind", e))?;
        let mut args: [*mut c_void; 1] = [params.as_ptr() as *mut c_void];
        // SAFETY: the kernel's only parameter is a struct of `params.len()` 8-byte
        // fields (`codegen::Fields`, checked by `ParamWriter`), which cuLaunchKernel
        // copies before returning; the device pointers inside point into live
        // allocations whose reuse is ordered after this launch by the single stream.
        unsafe {
            dres::launch_kernel(
                self.func.cu_function(),
                (cfg.grid.max(1), 1, 1),
                (cfg.block.max(1), 1, 1),
                0,
                self.stream.cu_stream(),
                &mut args,
            )
        }
        .map_err(|e| CudaError::driver(format!("launch {}", self.name), e))
    }
}

fn op(t: bool) -> bsys::cublasOperation_t {
    if t {
        bsys::cublasOperation_t::CUBLAS_OP_T
    } else {
        bsys::cublasOperation_t::CUBLAS_OP_N
    }
}

impl Device for CudaDevice {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn is_emulated(&self) -> bool {
        false
    }

    fn sm_count(&self) -> u32 {
        self.sms
    }

    fn alloc(&self, bytes: usize) -> Result<u64> {
        self.bind()?;
        // SAFETY: plain allocations of `bytes` on our stream/context; the allocator owns
        // the pointer until it frees it.
        let r = unsafe {
            if self.async_alloc {
                dres::malloc_async(self.stream.cu_stream(), bytes)
            } else {
                dres::malloc_sync(bytes)
            }
        };
        r.map_err(|e| {
            if e.0 == dsys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY {
                CudaError::OutOfMemory { bytes }
            } else {
                CudaError::driver("alloc", e)
            }
        })
    }

    fn free(&self, ptr: u64) {
        if self.bind().is_err() {
            return;
        }
        // SAFETY: `ptr` came from `alloc` and is freed once (the allocator's contract);
        // stream-ordered, so launches already issued that use it complete first.
        let r = unsafe {
            if self.async_alloc {
                dres::free_async(ptr, self.stream.cu_stream())
            } else {
                dres::free_sync(ptr)
            }
        };
        self.ctx.record_err(r);
    }

    fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<()> {
        self.bind()?;
        // SAFETY: the caller owns `bytes` bytes at `ptr` (an allocation of ours).
        unsafe { dres::memset_d8_async(ptr, 0, bytes, self.stream.cu_stream()) }
            .map_err(|e| CudaError::driver("memset", e))
    }

    fn upload(&self, ptr: u64, data: &[u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: the caller owns `data.len()` bytes at `ptr`. From pageable host
        // memory the driver stages the copy before returning, so `data` may be
        // dropped right after.
        unsafe { dres::memcpy_htod_async(ptr, data, self.stream.cu_stream()) }
            .map_err(|e| CudaError::driver("upload", e))?;
        Ok(())
    }

    fn download(&self, ptr: u64, out: &mut [u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: `out.len()` bytes at `ptr` belong to a live allocation; the stream is
        // synchronized before `out` is read.
        unsafe { dres::memcpy_dtoh_async(out, ptr, self.stream.cu_stream()) }
            .map_err(|e| CudaError::driver("download", e))?;
        self.synchronize()
    }

    fn compile(&self, src: &KernelSource) -> Result<Arc<dyn DeviceKernel>> {
        self.bind()?;
        let opts = nvrtc::CompileOptions {
            options: nvrtc_options(self.arch),
            name: Some(format!("{}.cu", src.name)),
            ..Default::default()
        };
        let ptx = nvrtc::compile_ptx_with_opts(&src.source, opts).map_err(|e| {
            let log = match &e {
                nvrtc::CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
                other => format!("{other:?}"),
            };
            CudaError::Compile { kernel: src.name.clone(), log }
        })?;
        let module = self
            .ctx
            .load_module(ptx)
            .map_err(|e| CudaError::driver(format!("load module {}", src.name), e))?;
        let func = module
            .load_function(&src.name)
            .map_err(|e| CudaError::driver(format!("function {}", src.name), e))?;
        Ok(Arc::new(CudaKernel { func, stream: self.stream.clone(), name: src.name.clone() }))
    }

    fn gemm(&self, c: &GemmCall) -> Result<()> {
        self.bind()?;
        let _guard =
            self.blas_lock.lock().map_err(|_| CudaError::internal("cuBLAS lock poisoned"))?;
        let handle = *self.blas.handle();
        let (ta, tb) = (op(c.transa), op(c.transb));
        let status = match c.ty {
            Ty::F32 => {
                let (alpha, beta) = (c.alpha as f32, 0.0f32);
                // SAFETY: the pointers, leading dimensions and batch strides describe
                // matrices inside live allocations (`exec::gemm` derives them from
                // bounds-checked buffer views); alpha and beta are host scalars
                // (CUBLAS_POINTER_MODE_HOST, the default).
                unsafe {
                    bres::sgemm_strided_batched(
                        handle,
                        ta,
                        tb,
                        c.m,
                        c.n,
                        c.k,
                        &alpha,
                        c.a as *const f32,
                        c.lda,
                        c.stride_a,
                        c.b as *const f32,
                        c.ldb,
                        c.stride_b,
                        &beta,
                        c.c as *mut f32,
                        c.ldc,
                        c.stride_c,
                        c.batch,
                    )
                }
            }
            Ty::F64 => {
                let (alpha, beta) = (c.alpha, 0.0f64);
                // SAFETY: as for float32.
                unsafe {
                    bres::dgemm_strided_batched(
                        handle,
                        ta,
                        tb,
                        c.m,
                        c.n,
                        c.k,
                        &alpha,
                        c.a as *const f64,
                        c.lda,
                        c.stride_a,
                        c.b as *const f64,
                        c.ldb,
                        c.stride_b,
                        &beta,
                        c.c as *mut f64,
                        c.ldc,
                        c.stride_c,
                        c.batch,
                    )
                }
            }
            Ty::I64 => return Err(CudaError::internal("cuBLAS has no int64 GEMM")),
        };
        status.map_err(|e| CudaError::Blas { context: format!("{c:?}"), message: format!("{e:?}") })
    }

    fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(|e| CudaError::driver("synchronize", e))
    }

    fn time_ms(&self, f: &mut dyn FnMut()) -> Result<Option<f64>> {
        let flags = Some(dsys::CUevent_flags::CU_EVENT_DEFAULT);
        let start = self.ctx.new_event(flags).map_err(|e| CudaError::driver("event", e))?;
        let end = self.ctx.new_event(flags).map_err(|e| CudaError::driver("event", e))?;
        start.record(&self.stream).map_err(|e| CudaError::driver("event record", e))?;
        f();
        end.record(&self.stream).map_err(|e| CudaError::driver("event record", e))?;
        let ms = start.elapsed_ms(&end).map_err(|e| CudaError::driver("event elapsed", e))?;
        Ok(Some(f64::from(ms)))
    }
}
