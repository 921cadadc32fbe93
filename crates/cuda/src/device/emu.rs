//! The CPU emulator of the device: the generated CUDA C++ compiled with the host's C++
//! compiler against `emu.h` (blocks in sequence; the threads of a block in sequence, or
//! on OS threads with a barrier for kernels that synchronize), device memory in host
//! allocations filled with 0xFF bytes (uninitialized reads show up as NaN / -1), every
//! kernel memory access checked against the live allocations, and cuBLAS replaced by a
//! reference GEMM that rejects the arguments cuBLAS rejects.
//!
//! It exists to test the backend's host logic and kernel sources without a GPU; it is
//! slow (a checked callback per element access) and meant for small tensors.
//! Compiled kernels are cached on disk by the hash of their source
//! (`CIRCUIT_CUDA_EMU_CACHE`, default `<tmp>/circuit-cuda-emu`). The compiler is
//! `CXX` or `g++`.

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::{Device, DeviceKernel, GemmCall, LaunchCfg};
use crate::codegen::{KernelSource, Ty};
use crate::error::{CudaError, Result};

const EMU_HEADER: &str = include_str!("emu.h");

/// Live emulated allocations: start address → size in bytes (global, because the
/// kernels' access check is a plain C callback).
fn registry() -> &'static RwLock<BTreeMap<u64, usize>> {
    static R: OnceLock<RwLock<BTreeMap<u64, usize>>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(BTreeMap::new()))
}

/// The first invalid access of the running launch.
fn fault() -> &'static Mutex<Option<String>> {
    static F: OnceLock<Mutex<Option<String>>> = OnceLock::new();
    F.get_or_init(|| Mutex::new(None))
}

/// Serializes launches (kernel globals and fault attribution are process-wide).
fn launch_lock() -> &'static Mutex<()> {
    static L: OnceLock<Mutex<()>> = OnceLock::new();
    L.get_or_init(|| Mutex::new(()))
}

/// Whether `[ptr, ptr + bytes)` lies inside one live allocation.
fn in_bounds(ptr: u64, bytes: usize) -> bool {
    let Ok(map) = registry().read() else { return false };
    match map.range(..=ptr).next_back() {
        Some((&start, &len)) => ptr.saturating_add(bytes as u64) <= start + len as u64,
        None => false,
    }
}

fn check(ptr: u64, bytes: usize, what: &str) -> Result<()> {
    if in_bounds(ptr, bytes) {
        Ok(())
    } else {
        Err(CudaError::Emulator(format!(
            "{what}: {bytes} bytes at {ptr:#x} are outside every device allocation"
        )))
    }
}

extern "C" fn emu_check(p: *const c_void, bytes: std::os::raw::c_ulong) -> i32 {
    let ptr = p as u64;
    if in_bounds(ptr, bytes as usize) {
        return 1;
    }
    if let Ok(mut f) = fault().lock() {
        if f.is_none() {
            *f = Some(format!("access of {bytes} bytes at {ptr:#x} outside every allocation"));
        }
    }
    0
}

type KernelFn = unsafe extern "C" fn(*const c_void, u32, u32) -> i32;
type SetChecker = unsafe extern "C" fn(extern "C" fn(*const c_void, std::os::raw::c_ulong) -> i32);

/// The emulated device.
pub(crate) struct EmuDevice {
    cxx: String,
    cache: PathBuf,
}

impl EmuDevice {
    /// An emulator, if a C++ compiler runs.
    pub(crate) fn new() -> Result<EmuDevice> {
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".to_string());
        let ok = Command::new(&cxx).arg("--version").output().is_ok_and(|o| o.status.success());
        if !ok {
            return Err(CudaError::Emulator(format!("no C++ compiler ({cxx} --version failed)")));
        }
        let cache = std::env::var_os("CIRCUIT_CUDA_EMU_CACHE")
            .map_or_else(|| std::env::temp_dir().join("circuit-cuda-emu"), PathBuf::from);
        std::fs::create_dir_all(&cache)
            .map_err(|e| CudaError::Emulator(format!("{}: {e}", cache.display())))?;
        let header = cache.join("emu.h");
        let current = std::fs::read_to_string(&header).unwrap_or_default();
        if current != EMU_HEADER {
            write_atomic(&header, EMU_HEADER.as_bytes())?;
        }
        Ok(EmuDevice { cxx, cache })
    }

    fn library_for(&self, src: &KernelSource) -> Result<PathBuf> {
        let mut h = blake3::Hasher::new();
        h.update(EMU_HEADER.as_bytes());
        h.update(src.source.as_bytes());
        h.update(self.cxx.as_bytes());
        let key = h.finalize().to_hex();
        let lib = self.cache.join(format!("{}-{}.so", src.name, &key.as_str()[..16]));
        if lib.exists() {
            return Ok(lib);
        }
        let cu = self.cache.join(format!("{}-{}.cc", src.name, &key.as_str()[..16]));
        write_atomic(&cu, src.source.as_bytes())?;
        let tmp = lib.with_extension(format!("tmp{}", std::process::id()));
        let out = Command::new(&self.cxx)
            .args(["-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-w", "-DCIRCUIT_EMU"])
            .arg("-include")
            .arg(self.cache.join("emu.h"))
            .arg("-x")
            .arg("c++")
            .arg(&cu)
            .arg("-o")
            .arg(&tmp)
            .output()
            .map_err(|e| CudaError::Emulator(format!("running {}: {e}", self.cxx)))?;
        if !out.status.success() {
            return Err(CudaError::Compile {
                kernel: src.name.clone(),
                log: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        std::fs::rename(&tmp, &lib)
            .map_err(|e| CudaError::Emulator(format!("{}: {e}", lib.display())))?;
        Ok(lib)
    }
}

fn write_atomic(path: &std::path::Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("part{}", std::process::id()));
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CudaError::Emulator(format!("{}: {e}", path.display())))
}

struct EmuKernel {
    _lib: libloading::Library,
    func: KernelFn,
    name: String,
}

impl DeviceKernel for EmuKernel {
    fn launch(&self, cfg: LaunchCfg, params: &[u64]) -> Result<()> {
        let _guard =
            launch_lock().lock().map_err(|_| CudaError::Emulator("poisoned lock".into()))?;
        if let Ok(mut f) = fault().lock() {
            *f = None;
        }
        // SAFETY: `func` is the kernel entry point of the loaded library (kept alive by
        // `_lib`), whose parameter struct is `params` (8-byte fields, checked by
        // `ParamWriter`); every memory access it makes goes through the bounds check.
        unsafe { (self.func)(params.as_ptr().cast(), cfg.grid.max(1), cfg.block.max(1)) };
        match fault().lock().ok().and_then(|mut f| f.take()) {
            Some(msg) => Err(CudaError::Emulator(format!("kernel {}: {msg}", self.name))),
            None => Ok(()),
        }
    }
}

impl Device for EmuDevice {
    fn name(&self) -> String {
        "CPU emulator".into()
    }

    fn is_emulated(&self) -> bool {
        true
    }

    fn sm_count(&self) -> u32 {
        2
    }

    fn alloc(&self, bytes: usize) -> Result<u64> {
        let layout = Layout::from_size_align(bytes.max(1), 256)
            .map_err(|e| CudaError::Emulator(e.to_string()))?;
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            return Err(CudaError::OutOfMemory { bytes });
        }
        // SAFETY: `p` points to `layout.size()` writable bytes. 0xFF makes reads of
        // memory no kernel wrote visible (NaN floats, -1 ints).
        unsafe { std::ptr::write_bytes(p, 0xFF, layout.size()) };
        let mut map = registry().write().map_err(|_| CudaError::Emulator("poisoned".into()))?;
        map.insert(p as u64, bytes.max(1));
        Ok(p as u64)
    }

    fn free(&self, ptr: u64) {
        let len = registry().write().ok().and_then(|mut m| m.remove(&ptr));
        if let Some(len) = len {
            if let Ok(layout) = Layout::from_size_align(len, 256) {
                // SAFETY: `ptr` was allocated by `alloc` with this layout and is removed
                // from the registry, so it is freed once.
                unsafe { std::alloc::dealloc(ptr as *mut u8, layout) };
            }
        }
    }

    fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<()> {
        check(ptr, bytes, "memset")?;
        // SAFETY: checked to lie inside a live allocation.
        unsafe { std::ptr::write_bytes(ptr as *mut u8, 0, bytes) };
        Ok(())
    }

    fn upload(&self, ptr: u64, data: &[u8]) -> Result<()> {
        check(ptr, data.len(), "upload")?;
        // SAFETY: checked to lie inside a live allocation, which never overlaps `data`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr as *mut u8, data.len()) };
        Ok(())
    }

    fn download(&self, ptr: u64, out: &mut [u8]) -> Result<()> {
        check(ptr, out.len(), "download")?;
        // SAFETY: as for upload.
        unsafe { std::ptr::copy_nonoverlapping(ptr as *const u8, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    fn compile(&self, src: &KernelSource) -> Result<Arc<dyn DeviceKernel>> {
        let path = self.library_for(src)?;
        let err = |e: libloading::Error| CudaError::Emulator(format!("{}: {e}", path.display()));
        // SAFETY: the library is one we just compiled from generated source; loading it
        // runs only the C++ runtime's static initializers.
        let lib = unsafe { libloading::Library::new(&path) }.map_err(err)?;
        // SAFETY: the symbols have exactly these signatures (emu.h's KERNEL macros and
        // emu_set_checker).
        let func: KernelFn = unsafe { *lib.get::<KernelFn>(src.name.as_bytes()).map_err(err)? };
        // SAFETY: as above.
        let set: SetChecker = unsafe { *lib.get::<SetChecker>(b"emu_set_checker").map_err(err)? };
        // SAFETY: installs a plain function as the library's access checker.
        unsafe { set(emu_check) };
        Ok(Arc::new(EmuKernel { _lib: lib, func, name: src.name.clone() }))
    }

    fn gemm(&self, c: &GemmCall) -> Result<()> {
        reference_gemm(c)
    }

    fn synchronize(&self) -> Result<()> {
        Ok(())
    }

    fn time_ms(&self, f: &mut dyn FnMut()) -> Result<Option<f64>> {
        f();
        Ok(None)
    }
}

/// cuBLAS's argument rules for `gemmStridedBatched` (CUBLAS_STATUS_INVALID_VALUE).
pub(crate) fn validate_gemm(c: &GemmCall) -> std::result::Result<(), String> {
    let rows_a = if c.transa { c.k } else { c.m };
    let rows_b = if c.transb { c.n } else { c.k };
    if c.m < 0 || c.n < 0 || c.k < 0 || c.batch < 0 {
        return Err("negative size".into());
    }
    if c.lda < rows_a.max(1) {
        return Err(format!("lda {} < max(1, {rows_a})", c.lda));
    }
    if c.ldb < rows_b.max(1) {
        return Err(format!("ldb {} < max(1, {rows_b})", c.ldb));
    }
    if c.ldc < c.m.max(1) {
        return Err(format!("ldc {} < max(1, {})", c.ldc, c.m));
    }
    Ok(())
}

/// Highest element offset of a column-major `rows x cols` matrix with leading
/// dimension `ld`, over `batch` matrices `stride` apart.
fn extent(rows: i32, cols: i32, ld: i32, stride: i64, batch: i32) -> i64 {
    let r = i64::from(rows.max(1) - 1) + i64::from(cols.max(1) - 1) * i64::from(ld);
    r + i64::from(batch.max(1) - 1) * stride
}

/// `C = alpha op(A) op(B)` for each batch, column-major, with cuBLAS's checks.
fn reference_gemm(c: &GemmCall) -> Result<()> {
    validate_gemm(c).map_err(|m| CudaError::Blas {
        context: format!("{c:?}"),
        message: format!("CUBLAS_STATUS_INVALID_VALUE ({m})"),
    })?;
    if c.m == 0 || c.n == 0 || c.batch == 0 {
        return Ok(());
    }
    let es = c.ty.size();
    let (ra, ca) = if c.transa { (c.k, c.m) } else { (c.m, c.k) };
    let (rb, cb) = if c.transb { (c.n, c.k) } else { (c.k, c.n) };
    let span = |off: i64| -> usize { usize::try_from(off + 1).unwrap_or(0) * es };
    if c.k > 0 {
        check(c.a, span(extent(ra, ca, c.lda, c.stride_a, c.batch)), "gemm A")?;
        check(c.b, span(extent(rb, cb, c.ldb, c.stride_b, c.batch)), "gemm B")?;
    }
    check(c.c, span(extent(c.m, c.n, c.ldc, c.stride_c, c.batch)), "gemm C")?;
    let at = |i: i32, p: i32, ld: i32, t: bool| -> i64 {
        if t {
            i64::from(p) + i64::from(i) * i64::from(ld)
        } else {
            i64::from(i) + i64::from(p) * i64::from(ld)
        }
    };
    for bi in 0..c.batch {
        let (oa, ob, oc) =
            (i64::from(bi) * c.stride_a, i64::from(bi) * c.stride_b, i64::from(bi) * c.stride_c);
        for j in 0..c.n {
            for i in 0..c.m {
                let ci = (oc + i64::from(i) + i64::from(j) * i64::from(c.ldc)) as usize;
                match c.ty {
                    Ty::F32 => {
                        let mut acc = 0.0f32;
                        for p in 0..c.k {
                            let ai = (oa + at(i, p, c.lda, c.transa)) as usize;
                            let bidx = (ob + at(p, j, c.ldb, c.transb)) as usize;
                            // SAFETY: every offset lies within the extents checked above.
                            acc += unsafe {
                                *(c.a as *const f32).add(ai) * *(c.b as *const f32).add(bidx)
                            };
                        }
                        // SAFETY: as above.
                        unsafe { *(c.c as *mut f32).add(ci) = (c.alpha as f32) * acc };
                    }
                    Ty::F64 => {
                        let mut acc = 0.0f64;
                        for p in 0..c.k {
                            let ai = (oa + at(i, p, c.lda, c.transa)) as usize;
                            let bidx = (ob + at(p, j, c.ldb, c.transb)) as usize;
                            // SAFETY: as above.
                            acc += unsafe {
                                *(c.a as *const f64).add(ai) * *(c.b as *const f64).add(bidx)
                            };
                        }
                        // SAFETY: as above.
                        unsafe { *(c.c as *mut f64).add(ci) = c.alpha * acc };
                    }
                    Ty::I64 => return Err(CudaError::internal("cuBLAS has no int64 GEMM")),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> GemmCall {
        GemmCall {
            ty: Ty::F32,
            transa: false,
            transb: false,
            m: 3,
            n: 2,
            k: 4,
            alpha: 1.0,
            a: 0,
            lda: 3,
            stride_a: 0,
            b: 0,
            ldb: 4,
            stride_b: 0,
            c: 0,
            ldc: 3,
            stride_c: 6,
            batch: 1,
        }
    }

    /// The emulator reports a kernel's out-of-bounds access instead of corrupting
    /// memory (compiles a kernel with the host C++ compiler; skipped without one or
    /// with `CIRCUIT_CUDA_EMULATE=0`).
    #[test]
    fn out_of_bounds_accesses_are_reported() {
        if std::env::var_os("CIRCUIT_CUDA_EMULATE").is_some_and(|v| v == "0") {
            eprintln!("SKIPPED out_of_bounds_accesses_are_reported: CIRCUIT_CUDA_EMULATE=0");
            return;
        }
        use crate::codegen::map::{MapOp, MapSpec};
        use crate::codegen::ParamWriter;
        let dev = match EmuDevice::new() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("SKIPPED out_of_bounds_accesses_are_reported: {e}");
                return;
            }
        };
        let spec = MapSpec {
            op: MapOp::Convert,
            out: Ty::F32,
            ins: vec![Ty::F32],
            rank: 1,
            wide: false,
            out_strided: false,
        };
        let k = dev.compile(&spec.source()).expect("compile");
        let (a, b) = (dev.alloc(16).expect("alloc"), dev.alloc(64).expect("alloc"));
        let fields = spec.fields();
        let launch = |n: usize| {
            let mut w = ParamWriter::new(&fields);
            w.ptr("out", a).and_then(|w| w.ptr("in0", b)).and_then(|w| w.int("n", n as i64)).ok();
            w.ints("shape", &[n]).and_then(|w| w.ints("s0", &[1])).ok();
            k.launch(LaunchCfg { grid: 1, block: 32 }, &w.finish().expect("params"))
        };
        assert!(launch(4).is_ok(), "4 floats fit");
        let err = launch(8).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("outside every allocation"), "{err}");
        dev.free(a);
        dev.free(b);
    }

    #[test]
    fn cublas_argument_rules() {
        assert!(validate_gemm(&call()).is_ok());
        assert!(validate_gemm(&GemmCall { lda: 2, ..call() }).is_err());
        assert!(validate_gemm(&GemmCall { transa: true, lda: 4, ..call() }).is_ok());
        assert!(validate_gemm(&GemmCall { transb: true, ldb: 1, ..call() }).is_err());
        assert!(validate_gemm(&GemmCall { ldc: 2, ..call() }).is_err());
        assert_eq!(extent(3, 4, 5, 100, 2), 2 + 3 * 5 + 100);
    }
}
