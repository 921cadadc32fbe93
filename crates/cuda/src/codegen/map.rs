//! Elementwise ("map") kernels: `out[o(i)] = f(in0[o0(i)], in1[o1(i)], ...)` over an
//! index space of `rank` dimensions, every operand with its own strides (broadcast
//! inputs have stride 0), the output either C-contiguous (`out[i]`) or strided (a region
//! of a larger buffer: scatter, concat, diagonal outputs).

use std::fmt::Write as _;

use circuit_ir::kinds::SimpleFn;

use super::{decompose, grid_loop, idx_type, prelude, Fields, KernelSource, Ty};

/// What a map kernel computes from its inputs `a0, a1, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapOp {
    /// `a0` converted to the output type (a copy when the types agree); Rust's `as`
    /// semantics through float64, as the CPU backend's casts.
    Convert,
    /// `a0 + a1 + ...` (wrapping for int64).
    Add,
    /// `a0 * alpha`.
    Scale,
    /// `(a0 * a1) * alpha`.
    MulScale,
    /// A simple elementwise function (int64 through float64, truncated back).
    Simple(SimpleFn),
    /// `a0 ** a1`.
    Pow,
}

/// A map kernel's compile-time parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapSpec {
    /// The operation.
    pub op: MapOp,
    /// Output element type.
    pub out: Ty,
    /// Input element types.
    pub ins: Vec<Ty>,
    /// Rank of the index space (at least 1).
    pub rank: usize,
    /// 64-bit index arithmetic.
    pub wide: bool,
    /// The output has its own strides (else it is C-contiguous over the index space).
    pub out_strided: bool,
}

/// A C expression converting `x` of type `from` to `to` like the CPU backend's casts
/// (`U::from_f64(x.to_f64())`).
pub(crate) fn convert(x: &str, from: Ty, to: Ty) -> String {
    match (from, to) {
        (a, b) if a == b => x.to_string(),
        (Ty::F32, Ty::F64) | (Ty::I64, Ty::F64) => format!("(double)({x})"),
        (Ty::F64, Ty::F32) => format!("(float)({x})"),
        (Ty::I64, Ty::F32) => format!("(float)(double)({x})"),
        (Ty::F32, Ty::I64) => format!("d2i((double)({x}))"),
        (Ty::F64, Ty::I64) => format!("d2i({x})"),
        _ => x.to_string(),
    }
}

impl MapSpec {
    /// Kernel name (unique per spec).
    pub fn name(&self) -> String {
        let op = match self.op {
            MapOp::Convert => "convert".to_string(),
            MapOp::Add => "add".to_string(),
            MapOp::Scale => "scale".to_string(),
            MapOp::MulScale => "mulscale".to_string(),
            MapOp::Simple(f) => f.name().to_string(),
            MapOp::Pow => "pow".to_string(),
        };
        let ins: Vec<&str> = self.ins.iter().map(|t| t.short()).collect();
        format!(
            "map_{op}_{}_from_{}_r{}{}{}",
            self.out.short(),
            ins.join("_"),
            self.rank,
            if self.wide { "_w" } else { "" },
            if self.out_strided { "_so" } else { "" }
        )
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        f.ptr("out");
        for k in 0..self.ins.len() {
            f.ptr(format!("in{k}"));
        }
        f.int("n").ints("shape", self.rank);
        if self.out_strided {
            f.ints("so", self.rank);
        }
        for k in 0..self.ins.len() {
            f.ints(format!("s{k}"), self.rank);
        }
        match self.op {
            MapOp::Scale | MapOp::MulScale if self.out == Ty::I64 => {
                f.int("alpha");
            }
            MapOp::Scale | MapOp::MulScale => {
                f.float("alpha");
            }
            _ => {}
        }
        f
    }

    /// The expression of the output value (of the output type).
    fn expr(&self) -> String {
        let t = self.out;
        let a = |k: usize| format!("a{k}");
        match self.op {
            MapOp::Convert => convert("a0", self.ins.first().copied().unwrap_or(t), t),
            MapOp::Add => {
                if self.ins.is_empty() {
                    return format!("({})0", t.c());
                }
                let mut e = a(0);
                for k in 1..self.ins.len() {
                    e = if t == Ty::I64 {
                        format!("wadd({e}, a{k})")
                    } else {
                        format!("({e} + a{k})")
                    };
                }
                e
            }
            MapOp::Scale => {
                if t == Ty::I64 {
                    "wmul(a0, (i64)p.alpha)".into()
                } else {
                    format!("(a0 * ({})p.alpha)", t.c())
                }
            }
            MapOp::MulScale => {
                if t == Ty::I64 {
                    "wmul(wmul(a0, a1), (i64)p.alpha)".into()
                } else {
                    format!("((a0 * a1) * ({})p.alpha)", t.c())
                }
            }
            MapOp::Simple(f) => {
                if t == Ty::I64 {
                    format!("d2i(f_{}((double)a0))", f.name())
                } else {
                    format!("f_{}(a0)", f.name())
                }
            }
            MapOp::Pow => {
                if t == Ty::I64 {
                    "wpow(a0, a1)".into()
                } else {
                    "m_pow(a0, a1)".into()
                }
            }
        }
    }

    /// The CUDA C++ source.
    pub fn source(&self) -> KernelSource {
        let name = self.name();
        let idx = idx_type(self.wide);
        let mut s = prelude();
        s.push_str(&self.fields().c_struct(&format!("P_{name}")));
        let _ = writeln!(s, "KERNEL({name}, P_{name}) {{");
        let _ = writeln!(s, "  {}* out = ({}*)p.out;", self.out.c(), self.out.c());
        for (k, t) in self.ins.iter().enumerate() {
            let _ = writeln!(s, "  const {}* in{k} = (const {}*)p.in{k};", t.c(), t.c());
        }
        let _ = writeln!(s, "  const {idx} n = ({idx})p.n;");
        let _ = writeln!(s, "  {} {{", grid_loop(idx, "i", "n"));
        let mut offsets: Vec<(String, String)> = Vec::new();
        if self.out_strided {
            offsets.push(("oo".into(), "so".into()));
        }
        for k in 0..self.ins.len() {
            offsets.push((format!("o{k}"), format!("s{k}")));
        }
        for (v, _) in &offsets {
            let _ = writeln!(s, "    {idx} {v} = 0;");
        }
        let _ = writeln!(s, "    {idx} r = i;");
        decompose(&mut s, "    ", idx, self.rank, "shape", &offsets);
        for (k, t) in self.ins.iter().enumerate() {
            let _ = writeln!(s, "    const {} a{k} = AT(in{k}, o{k});", t.c());
        }
        let target = if self.out_strided { "oo" } else { "i" };
        let _ = writeln!(s, "    AT(out, {target}) = {};", self.expr());
        s.push_str("  }\n}\n");
        KernelSource { name, source: s, sync: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_declare_what_they_use() {
        let spec = MapSpec {
            op: MapOp::MulScale,
            out: Ty::F32,
            ins: vec![Ty::F32, Ty::F32],
            rank: 3,
            wide: false,
            out_strided: true,
        };
        let src = spec.source();
        assert!(src.source.contains("i64 s1[3];"));
        assert!(src.source.contains("double alpha;"));
        assert!(src.source.contains("AT(out, oo) = ((a0 * a1) * (float)p.alpha);"));
        assert_eq!(spec.fields().words(), 3 + 1 + 3 + 3 + 6 + 1);
        let i = MapSpec { out: Ty::I64, ins: vec![Ty::I64, Ty::I64], ..spec };
        assert!(i.source().source.contains("wmul(wmul(a0, a1), (i64)p.alpha)"));
        assert!(i.fields().0.iter().any(|f| f.0 == "alpha" && f.1 == super::super::Kind::Int));
    }

    #[test]
    fn conversions_follow_rust_casts() {
        assert_eq!(convert("x", Ty::I64, Ty::F32), "(float)(double)(x)");
        assert_eq!(convert("x", Ty::F32, Ty::I64), "d2i((double)(x))");
        assert_eq!(convert("x", Ty::F64, Ty::F64), "x");
    }
}
