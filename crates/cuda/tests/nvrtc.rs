//! Every kernel source the backend can generate compiles with NVRTC (no GPU needed),
//! and its PTX assembles with ptxas.
//!
//! * `CIRCUIT_NVRTC`: path of `libnvrtc.so` (for example from the `nvidia-cuda-nvrtc`
//!   pip wheel: `.../nvidia/cu13/lib/libnvrtc.so.13`). Unset: the test prints SKIPPED.
//! * `CIRCUIT_PTXAS`: path of `ptxas` (the `nvidia-cuda-nvcc` wheel has one): the PTX is
//!   then also assembled for the real architecture.
//! * `CIRCUIT_NVRTC_ARCH`: compute capability to compile for (default 90, the H100).
//! * `CIRCUIT_CUDA_SOURCES_DIR`: also compile every `*.cu` there (the backend tests
//!   write the sources they compiled there when the same variable is set).
//!
//! NVRTC is called through its C API directly (libloading), so the library can be any
//! file: cudarc only searches the default library path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use circuit_cuda::{kernel_catalog, nvrtc_options, KernelSource};

type Prog = *mut c_void;
type CreateFn = unsafe extern "C" fn(
    *mut Prog,
    *const c_char,
    *const c_char,
    c_int,
    *const *const c_char,
    *const *const c_char,
) -> c_int;
type CompileFn = unsafe extern "C" fn(Prog, c_int, *const *const c_char) -> c_int;
type SizeFn = unsafe extern "C" fn(Prog, *mut usize) -> c_int;
type GetFn = unsafe extern "C" fn(Prog, *mut c_char) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut Prog) -> c_int;
type VersionFn = unsafe extern "C" fn(*mut c_int, *mut c_int) -> c_int;

struct Nvrtc {
    _lib: libloading::Library,
    create: CreateFn,
    compile: CompileFn,
    log_size: SizeFn,
    log: GetFn,
    ptx_size: SizeFn,
    ptx: GetFn,
    destroy: DestroyFn,
    version: VersionFn,
}

impl Nvrtc {
    fn load(path: &str) -> Nvrtc {
        // SAFETY: loading NVRTC runs only its initializers.
        let lib = unsafe { libloading::Library::new(path) }.expect("load libnvrtc");
        // SAFETY: the symbols have these C signatures (nvrtc.h).
        unsafe {
            Nvrtc {
                create: *lib.get(b"nvrtcCreateProgram").unwrap(),
                compile: *lib.get(b"nvrtcCompileProgram").unwrap(),
                log_size: *lib.get(b"nvrtcGetProgramLogSize").unwrap(),
                log: *lib.get(b"nvrtcGetProgramLog").unwrap(),
                ptx_size: *lib.get(b"nvrtcGetPTXSize").unwrap(),
                ptx: *lib.get(b"nvrtcGetPTX").unwrap(),
                destroy: *lib.get(b"nvrtcDestroyProgram").unwrap(),
                version: *lib.get(b"nvrtcVersion").unwrap(),
                _lib: lib,
            }
        }
    }

    /// PTX, or the compiler log.
    fn compile(&self, src: &KernelSource, options: &[String]) -> Result<String, String> {
        let code = CString::new(src.source.as_str()).unwrap();
        let name = CString::new(format!("{}.cu", src.name)).unwrap();
        let opts: Vec<CString> =
            options.iter().map(|o| CString::new(o.as_str()).unwrap()).collect();
        let opt_ptrs: Vec<*const c_char> = opts.iter().map(|o| o.as_ptr()).collect();
        let mut prog: Prog = std::ptr::null_mut();
        // SAFETY: NVRTC's C API with valid NUL-terminated strings that outlive the calls;
        // buffers are sized by the matching *Size calls.
        unsafe {
            let r = (self.create)(
                &mut prog,
                code.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            );
            if r != 0 {
                return Err(format!("nvrtcCreateProgram: {r}"));
            }
            let r = (self.compile)(prog, opt_ptrs.len() as c_int, opt_ptrs.as_ptr());
            let mut n = 0usize;
            (self.log_size)(prog, &mut n);
            let mut log = vec![0u8; n.max(1)];
            (self.log)(prog, log.as_mut_ptr().cast());
            let log = String::from_utf8_lossy(&log).trim_end_matches('\0').to_string();
            let out = if r != 0 {
                Err(log)
            } else {
                let mut n = 0usize;
                (self.ptx_size)(prog, &mut n);
                let mut ptx = vec![0u8; n.max(1)];
                (self.ptx)(prog, ptx.as_mut_ptr().cast());
                Ok(String::from_utf8_lossy(&ptx).trim_end_matches('\0').to_string())
            };
            (self.destroy)(&mut prog);
            out
        }
    }
}

fn sources() -> Vec<KernelSource> {
    let mut all = kernel_catalog();
    if let Some(dir) = std::env::var_os("CIRCUIT_CUDA_SOURCES_DIR") {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "cu")) {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            let source = std::fs::read_to_string(&f).unwrap();
            let sync = source.contains("KERNEL_SYNC(");
            all.push(KernelSource { name, source, sync });
        }
    }
    all
}

#[test]
fn every_kernel_compiles_with_nvrtc() {
    let Some(lib) = std::env::var("CIRCUIT_NVRTC").ok().filter(|l| !l.is_empty()) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED every_kernel_compiles_with_nvrtc: CIRCUIT_NVRTC (path of libnvrtc.so) not set"
        );
        return;
    };
    let nvrtc = Nvrtc::load(&lib);
    let (mut major, mut minor) = (0, 0);
    // SAFETY: two out-parameters.
    unsafe { (nvrtc.version)(&mut major, &mut minor) };
    let arch: u32 =
        std::env::var("CIRCUIT_NVRTC_ARCH").ok().and_then(|a| a.parse().ok()).unwrap_or(90);
    let options = nvrtc_options(arch);
    let ptxas = std::env::var("CIRCUIT_PTXAS").ok();
    let dir = std::env::temp_dir().join(format!("circuit-cuda-ptx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let srcs = sources();
    let mut failures = Vec::new();
    let mut assembled = 0;
    for src in &srcs {
        match nvrtc.compile(src, &options) {
            Err(log) => failures.push(format!("{} (NVRTC):\n{log}", src.name)),
            Ok(ptx) => {
                assert!(
                    ptx.contains(&format!(".entry {}", src.name)),
                    "{}: no entry point",
                    src.name
                );
                if let Some(ptxas) = &ptxas {
                    let file = dir.join(format!("{}.ptx", src.name));
                    std::fs::write(&file, &ptx).unwrap();
                    let out = Command::new(ptxas)
                        .arg(format!("-arch=sm_{arch}"))
                        .arg(&file)
                        .arg("-o")
                        .arg(dir.join(format!("{}.cubin", src.name)))
                        .output()
                        .expect("run ptxas");
                    if out.status.success() {
                        assembled += 1;
                    } else {
                        failures.push(format!(
                            "{} (ptxas):\n{}",
                            src.name,
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = writeln!(
        std::io::stderr(),
        "NVRTC {major}.{minor}: compiled {} kernel sources for compute_{arch}; ptxas assembled {assembled}",
        srcs.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        srcs.len(),
        failures.join("\n")
    );
}
