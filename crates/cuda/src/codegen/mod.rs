//! CUDA C++ source generation.
//!
//! Every kernel is generated from a small *spec* (element types, ranks, index width, the
//! operation) and compiled once per spec (NVRTC on a GPU, g++ in the emulator). Each
//! kernel takes exactly one parameter: a struct whose fields are all 8 bytes wide
//! (`unsigned long long` device pointers, `long long` integers and arrays of them,
//! `double` scalars), so its layout has no padding and the host writes it as a plain
//! list of 64-bit words. `Fields` describes that struct once; the same description
//! prints the C declaration and checks, field by field, what the host writes
//! (`ParamWriter`), so the two can never disagree.
//!
//! Index arithmetic uses 32-bit unsigned integers when every offset a launch can form is
//! below 2^31 (`wide == false`; integer division is several times cheaper) and 64-bit
//! otherwise.

pub(crate) mod gather;
pub(crate) mod map;
pub(crate) mod program;
pub(crate) mod reduce;
pub(crate) mod rows;

use std::fmt::Write as _;

use circuit_tensor::DType;

use crate::error::CudaError;

/// Element types the kernels compute in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// `float`.
    F32,
    /// `double`.
    F64,
    /// `long long` (int64).
    I64,
}

impl Ty {
    /// Every element type.
    pub const ALL: [Ty; 3] = [Ty::F32, Ty::F64, Ty::I64];

    /// The C type.
    pub fn c(self) -> &'static str {
        match self {
            Ty::F32 => "float",
            Ty::F64 => "double",
            Ty::I64 => "long long",
        }
    }

    /// Short name used in kernel names.
    pub fn short(self) -> &'static str {
        match self {
            Ty::F32 => "f32",
            Ty::F64 => "f64",
            Ty::I64 => "i64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Ty::F32 => 4,
            Ty::F64 | Ty::I64 => 8,
        }
    }

    /// Whether it is a floating-point type.
    pub fn is_float(self) -> bool {
        self != Ty::I64
    }

    /// The element type of a dtype, if the backend computes in it.
    pub fn from_dtype(d: DType) -> Option<Ty> {
        match d {
            DType::F32 => Some(Ty::F32),
            DType::F64 => Some(Ty::F64),
            DType::I64 => Some(Ty::I64),
            _ => None,
        }
    }

    /// The dtype.
    pub fn dtype(self) -> DType {
        match self {
            Ty::F32 => DType::F32,
            Ty::F64 => DType::F64,
            Ty::I64 => DType::I64,
        }
    }
}

/// The C type of index arithmetic.
pub(crate) fn idx_type(wide: bool) -> &'static str {
    if wide {
        "u64"
    } else {
        "u32"
    }
}

/// One field of a kernel's parameter struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A device pointer (`unsigned long long`).
    Ptr,
    /// `long long`.
    Int,
    /// `double`.
    Float,
}

/// The parameter struct of a kernel: `(name, kind, array length or 0 for a scalar)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(pub(crate) Vec<(String, Kind, usize)>);

impl Fields {
    pub(crate) fn ptr(&mut self, name: impl Into<String>) -> &mut Self {
        self.0.push((name.into(), Kind::Ptr, 0));
        self
    }
    pub(crate) fn int(&mut self, name: impl Into<String>) -> &mut Self {
        self.0.push((name.into(), Kind::Int, 0));
        self
    }
    pub(crate) fn ints(&mut self, name: impl Into<String>, len: usize) -> &mut Self {
        self.0.push((name.into(), Kind::Int, len.max(1)));
        self
    }
    pub(crate) fn float(&mut self, name: impl Into<String>) -> &mut Self {
        self.0.push((name.into(), Kind::Float, 0));
        self
    }

    /// The C declaration `struct NAME { ... };`.
    pub(crate) fn c_struct(&self, name: &str) -> String {
        let mut s = format!("struct {name} {{\n");
        for (f, kind, len) in &self.0 {
            let ty = match kind {
                Kind::Ptr => "u64",
                Kind::Int => "i64",
                Kind::Float => "double",
            };
            if *len == 0 {
                let _ = writeln!(s, "  {ty} {f};");
            } else {
                let _ = writeln!(s, "  {ty} {f}[{len}];");
            }
        }
        s.push_str("};\n");
        s
    }

    /// Number of 64-bit words of the struct.
    pub(crate) fn words(&self) -> usize {
        self.0.iter().map(|f| f.2.max(1)).sum()
    }
}

/// Writes a parameter struct field by field, checking names, kinds and lengths against
/// the kernel's [`Fields`].
pub(crate) struct ParamWriter<'a> {
    fields: &'a Fields,
    next: usize,
    words: Vec<u64>,
}

impl<'a> ParamWriter<'a> {
    pub(crate) fn new(fields: &'a Fields) -> ParamWriter<'a> {
        ParamWriter { fields, next: 0, words: Vec::with_capacity(fields.words()) }
    }

    fn expect(&mut self, name: &str, kind: Kind, len: usize) -> Result<(), CudaError> {
        let Some((f, k, l)) = self.fields.0.get(self.next) else {
            return Err(CudaError::internal(format!("kernel parameter {name} beyond the struct")));
        };
        if f != name || *k != kind || *l != len {
            return Err(CudaError::internal(format!(
                "kernel parameter {name} ({kind:?}, {len}) written where {f} ({k:?}, {l}) belongs"
            )));
        }
        self.next += 1;
        Ok(())
    }

    pub(crate) fn ptr(&mut self, name: &str, p: u64) -> Result<&mut Self, CudaError> {
        self.expect(name, Kind::Ptr, 0)?;
        self.words.push(p);
        Ok(self)
    }

    pub(crate) fn int(&mut self, name: &str, v: i64) -> Result<&mut Self, CudaError> {
        self.expect(name, Kind::Int, 0)?;
        self.words.push(v as u64);
        Ok(self)
    }

    /// An int array; an empty slice writes the one padding element of a rank-0 array.
    pub(crate) fn ints(&mut self, name: &str, v: &[usize]) -> Result<&mut Self, CudaError> {
        self.expect(name, Kind::Int, v.len().max(1))?;
        if v.is_empty() {
            self.words.push(0);
        }
        for &x in v {
            self.words.push(x as u64);
        }
        Ok(self)
    }

    pub(crate) fn float(&mut self, name: &str, v: f64) -> Result<&mut Self, CudaError> {
        self.expect(name, Kind::Float, 0)?;
        self.words.push(v.to_bits());
        Ok(self)
    }

    /// The words, once every field is written.
    pub(crate) fn finish(self) -> Result<Vec<u64>, CudaError> {
        if self.next != self.fields.0.len() {
            return Err(CudaError::internal(format!(
                "kernel parameters incomplete: {} of {} fields written",
                self.next,
                self.fields.0.len()
            )));
        }
        Ok(self.words)
    }
}

/// A kernel's source code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSource {
    /// The `extern "C"` function name.
    pub name: String,
    /// The complete CUDA C++ translation unit.
    pub source: String,
    /// Whether the kernel synchronizes its threads (`__syncthreads`): the emulator then
    /// runs every thread of a block on its own OS thread.
    pub sync: bool,
}

/// NVRTC options for the kernels on a device of compute capability `arch` (`90` for
/// an H100): PTX for the virtual architecture (the driver finishes it for the exact
/// GPU), IEEE-accurate float math (no fast-math, so results track the CPU backend).
pub fn nvrtc_options(arch: u32) -> Vec<String> {
    vec![format!("--gpu-architecture=compute_{arch}"), "--std=c++17".to_string()]
}

/// Formats an f64 so that C parses it back to the same value.
pub(crate) fn c_double(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The code shared by every kernel: the CUDA spellings of the emulator's macros, integer
/// helpers with Rust's semantics (wrapping arithmetic, saturating float→int casts), and
/// the scalar math of every simple function written exactly as the CPU backend
/// evaluates it (same operations, same order, same constants).
pub(crate) fn prelude() -> String {
    let frac_1_sqrt_2 = c_double(std::f64::consts::FRAC_1_SQRT_2);
    let sqrt_2_pi = c_double((2.0 / std::f64::consts::PI).sqrt());
    let inv_sqrt_2pi = c_double(1.0 / (2.0 * std::f64::consts::PI).sqrt());
    let mut s = String::from(PRELUDE_HEAD);
    let _ = write!(
        s,
        r"
template <typename T> DEV T f_sin(T x) {{ return m_sin(x); }}
template <typename T> DEV T f_cos(T x) {{ return m_cos(x); }}
template <typename T> DEV T f_tanh(T x) {{ return m_tanh(x); }}
template <typename T> DEV T f_exp(T x) {{ return m_exp(x); }}
template <typename T> DEV T f_log(T x) {{ return m_log(x); }}
template <typename T> DEV T f_abs(T x) {{ return m_fabs(x); }}
template <typename T> DEV T f_rsqrt(T x) {{ return (T)1 / m_sqrt(x); }}
template <typename T> DEV T f_reciprocal(T x) {{ return (T)1 / x; }}
template <typename T> DEV T f_relu(T x) {{ return x < (T)0 ? (T)0 : x; }}
template <typename T> DEV T f_step(T x) {{ return x > (T)0 ? (T)1 : (T)0; }}
template <typename T> DEV T f_sigmoid(T x) {{
  if (x >= (T)0) return (T)1 / ((T)1 + m_exp(-x));
  T e = m_exp(x);
  return e / ((T)1 + e);
}}
template <typename T> DEV T f_gelu(T x) {{ return (T)0.5 * x * ((T)1 + m_erf(x * (T){frac_1_sqrt_2})); }}
template <typename T> DEV T f_gelu_new(T x) {{
  return (T)0.5 * x * ((T)1 + m_tanh((T){sqrt_2_pi} * (x + (T)0.044715 * x * x * x)));
}}
template <typename T> DEV T f_log_exp_p_1(T x) {{
  return x > (T)0 ? x + m_log1p(m_exp(-x)) : m_log1p(m_exp(x));
}}
template <typename T> DEV T f_gaussian_pdf(T x) {{ return (T){inv_sqrt_2pi} * m_exp(-(x * x) * (T)0.5); }}
template <typename T> DEV T f_gaussian_cdf(T x) {{ return (T)0.5 * ((T)1 + m_erf(x * (T){frac_1_sqrt_2})); }}
template <typename T> DEV T f_logit(T x) {{ return m_log(x / ((T)1 - x)); }}
"
    );
    s
}

const PRELUDE_HEAD: &str = r#"// generated by circuit-cuda
#ifndef CIRCUIT_EMU
#define DEV __device__ __forceinline__
#define KERNEL(NAME, P) extern "C" __global__ void NAME(const P p)
#define KERNEL_SYNC(NAME, P) extern "C" __global__ void NAME(const P p)
#define AT(ptr, i) ((ptr)[i])
#endif
typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;

DEV float m_exp(float x) { return expf(x); }
DEV double m_exp(double x) { return exp(x); }
DEV float m_log(float x) { return logf(x); }
DEV double m_log(double x) { return log(x); }
DEV float m_log1p(float x) { return log1pf(x); }
DEV double m_log1p(double x) { return log1p(x); }
DEV float m_tanh(float x) { return tanhf(x); }
DEV double m_tanh(double x) { return tanh(x); }
DEV float m_sin(float x) { return sinf(x); }
DEV double m_sin(double x) { return sin(x); }
DEV float m_cos(float x) { return cosf(x); }
DEV double m_cos(double x) { return cos(x); }
DEV float m_sqrt(float x) { return sqrtf(x); }
DEV double m_sqrt(double x) { return sqrt(x); }
DEV float m_erf(float x) { return erff(x); }
DEV double m_erf(double x) { return erf(x); }
DEV float m_fabs(float x) { return fabsf(x); }
DEV double m_fabs(double x) { return fabs(x); }
DEV float m_pow(float x, float y) { return powf(x, y); }
DEV double m_pow(double x, double y) { return pow(x, y); }

DEV float neg_inf(float) { return __int_as_float(0xff800000u); }
DEV double neg_inf(double) { return __longlong_as_double((long long)0xfff0000000000000ull); }
DEV float nan_of(float) { return __int_as_float(0x7fc00000u); }
DEV double nan_of(double) { return __longlong_as_double((long long)0x7ff8000000000000ull); }
DEV bool is_nan(float x) { return x != x; }
DEV bool is_nan(double x) { return x != x; }

// Rust's `f64 as i64`: truncation toward zero, saturating, NaN -> 0.
DEV i64 d2i(double v) {
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return 9223372036854775807LL;
  if (v <= -9223372036854775808.0) return -9223372036854775807LL - 1;
  return (i64)v;
}
// Wrapping integer arithmetic (signed overflow is undefined in C++).
DEV i64 wadd(i64 a, i64 b) { return (i64)((u64)a + (u64)b); }
DEV i64 wmul(i64 a, i64 b) { return (i64)((u64)a * (u64)b); }
// Rust's `i64::wrapping_pow` for exponents in 0..=u32::MAX, else through float64.
DEV i64 wpow(i64 b, i64 e) {
  if (e < 0 || e > 4294967295LL) return d2i(pow((double)b, (double)e));
  u64 base = (u64)b, acc = 1, ex = (u64)e;
  while (ex > 0) {
    if (ex & 1ull) acc *= base;
    ex >>= 1;
    if (ex > 0) base *= base;
  }
  return (i64)acc;
}
// Records the first out-of-range index of a launch: err = [flag, tag, value, size].
DEV void report_index_error(u64* err, i64 tag, i64 value, i64 size) {
  if (atomicCAS(&AT(err, 0), 0ull, 1ull) == 0ull) {
    AT(err, 1) = (u64)tag;
    AT(err, 2) = (u64)value;
    AT(err, 3) = (u64)size;
  }
}
"#;

/// Statement that walks `dims` dimensions of an index space (last dimension fastest),
/// adding `coord * stride[d]` to each offset variable. `shape` names the shape array,
/// `offsets` pairs each offset variable with its stride array. Expects an index
/// variable `r` holding the flat position; clobbers it.
pub(crate) fn decompose(
    out: &mut String,
    indent: &str,
    idx: &str,
    dims: usize,
    shape: &str,
    offsets: &[(String, String)],
) {
    for d in (0..dims).rev() {
        let _ = writeln!(out, "{indent}{{");
        if d == 0 {
            let _ = writeln!(out, "{indent}  {idx} c = r;");
        } else {
            let _ = writeln!(out, "{indent}  {idx} c = r % ({idx})p.{shape}[{d}];");
            let _ = writeln!(out, "{indent}  r /= ({idx})p.{shape}[{d}];");
        }
        for (var, strides) in offsets {
            let _ = writeln!(out, "{indent}  {var} += c * ({idx})p.{strides}[{d}];");
        }
        let _ = writeln!(out, "{indent}}}");
    }
}

/// The grid-stride loop header over `n` items with index variable `i`.
pub(crate) fn grid_loop(idx: &str, var: &str, n: &str) -> String {
    format!(
        "for ({idx} {var} = ({idx})blockIdx.x * ({idx})blockDim.x + ({idx})threadIdx.x; {var} < {n}; {var} += ({idx})blockDim.x * ({idx})gridDim.x)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_the_declared_fields() {
        let mut f = Fields::default();
        f.ptr("out").int("n").ints("shape", 2).float("alpha");
        assert_eq!(f.words(), 5);
        assert!(f.c_struct("P").contains("i64 shape[2];"));
        let mut w = ParamWriter::new(&f);
        w.ptr("out", 7).and_then(|w| w.int("n", -1)).and_then(|w| w.ints("shape", &[3, 4])).ok();
        w.float("alpha", 0.5).ok();
        let words = w.finish().ok();
        assert_eq!(words, Some(vec![7, u64::MAX, 3, 4, 0.5f64.to_bits()]));
        let mut w = ParamWriter::new(&f);
        assert!(w.int("out", 1).is_err(), "wrong kind");
        let mut w = ParamWriter::new(&f);
        assert!(w.ptr("out", 1).is_ok());
        assert!(w.finish().is_err(), "incomplete");
        let mut f0 = Fields::default();
        f0.ints("shape", 0);
        let mut w = ParamWriter::new(&f0);
        assert!(w.ints("shape", &[]).is_ok());
        assert_eq!(w.finish().ok(), Some(vec![0]));
    }

    #[test]
    fn c_doubles_round_trip() {
        for v in [0.5, 1.0, std::f64::consts::FRAC_1_SQRT_2, 1e-30, 123456789.0] {
            let s = c_double(v);
            assert_eq!(s.parse::<f64>().ok(), Some(v), "{s}");
            assert!(s.contains('.') || s.contains('e'), "{s}");
        }
    }
}
