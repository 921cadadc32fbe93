//! Data-dependent addressing: the `gen_index` / `explicit_index` gather (index values
//! read on the device, checked, negative values counted from the end), the Index kernel
//! (per-dimension offset tables built and checked on the host), and im2col for
//! convolutions.

use std::fmt::Write as _;

use super::{decompose, grid_loop, idx_type, prelude, Fields, KernelSource, Ty};

/// `out[o] = x[xo(o) + norm(idx[io(o)]) * stride]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatherSpec {
    /// Element type of x and the output.
    pub ty: Ty,
    /// Rank of the output index space (at least 1).
    pub rank: usize,
    /// 64-bit index arithmetic.
    pub wide: bool,
}

impl GatherSpec {
    /// Kernel name.
    pub fn name(&self) -> String {
        format!("gather_{}_r{}{}", self.ty.short(), self.rank, if self.wide { "_w" } else { "" })
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        f.ptr("out").ptr("x").ptr("idx").ptr("err").int("tag").int("n").int("size").int("stride");
        f.ints("shape", self.rank).ints("xs", self.rank).ints("is", self.rank);
        f
    }

    /// The CUDA C++ source.
    pub fn source(&self) -> KernelSource {
        let name = self.name();
        let idx = idx_type(self.wide);
        let t = self.ty.c();
        let mut s = prelude();
        s.push_str(&self.fields().c_struct(&format!("P_{name}")));
        let _ = writeln!(s, "KERNEL({name}, P_{name}) {{");
        let _ = writeln!(s, "  {t}* out = ({t}*)p.out;");
        let _ = writeln!(s, "  const {t}* x = (const {t}*)p.x;");
        s.push_str("  const i64* ix = (const i64*)p.idx;\n");
        let _ = writeln!(s, "  const {idx} n = ({idx})p.n;");
        let _ = writeln!(s, "  {} {{", grid_loop(idx, "i", "n"));
        let _ = writeln!(s, "    {idx} xo = 0;\n    {idx} io = 0;\n    {idx} r = i;");
        let offs = [("xo".to_string(), "xs".to_string()), ("io".to_string(), "is".to_string())];
        decompose(&mut s, "    ", idx, self.rank, "shape", &offs);
        s.push_str("    const i64 v = AT(ix, io);\n");
        s.push_str("    if (v < -p.size || v >= p.size) {\n");
        s.push_str("      report_index_error((u64*)p.err, p.tag, v, p.size);\n");
        let _ = writeln!(s, "      AT(out, i) = ({t})0;");
        s.push_str("    } else {\n");
        let _ = writeln!(s, "      const {idx} w = ({idx})(v < 0 ? v + p.size : v);");
        let _ = writeln!(s, "      AT(out, i) = AT(x, xo + w * ({idx})p.stride);");
        s.push_str("    }\n  }\n}\n");
        KernelSource { name, source: s, sync: false }
    }
}

/// `out[o] = x[Σ_d tab[tstart[d] + coord_d(o)]]`: Index with tensors (and slices) as
/// per-dimension tables of element offsets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableSpec {
    /// Element type.
    pub ty: Ty,
    /// Output rank (at least 1).
    pub rank: usize,
    /// 64-bit index arithmetic.
    pub wide: bool,
}

impl TableSpec {
    /// Kernel name.
    pub fn name(&self) -> String {
        format!("index_{}_r{}{}", self.ty.short(), self.rank, if self.wide { "_w" } else { "" })
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        f.ptr("out")
            .ptr("x")
            .ptr("tab")
            .int("n")
            .ints("shape", self.rank)
            .ints("tstart", self.rank);
        f
    }

    /// The CUDA C++ source.
    pub fn source(&self) -> KernelSource {
        let name = self.name();
        let idx = idx_type(self.wide);
        let t = self.ty.c();
        let mut s = prelude();
        s.push_str(&self.fields().c_struct(&format!("P_{name}")));
        let _ = writeln!(s, "KERNEL({name}, P_{name}) {{");
        let _ = writeln!(s, "  {t}* out = ({t}*)p.out;");
        let _ = writeln!(s, "  const {t}* x = (const {t}*)p.x;");
        s.push_str("  const i64* tab = (const i64*)p.tab;\n");
        let _ = writeln!(s, "  const {idx} n = ({idx})p.n;");
        let _ = writeln!(s, "  {} {{", grid_loop(idx, "i", "n"));
        let _ = writeln!(s, "    {idx} off = 0;\n    {idx} r = i;");
        for d in (0..self.rank).rev() {
            s.push_str("    {\n");
            if d == 0 {
                let _ = writeln!(s, "      {idx} c = r;");
            } else {
                let _ = writeln!(s, "      {idx} c = r % ({idx})p.shape[{d}];");
                let _ = writeln!(s, "      r /= ({idx})p.shape[{d}];");
            }
            let _ = writeln!(s, "      off += ({idx})AT(tab, ({idx})p.tstart[{d}] + c);");
            s.push_str("    }\n");
        }
        s.push_str("    AT(out, i) = AT(x, off);\n  }\n}\n");
        KernelSource { name, source: s, sync: false }
    }
}

/// im2col for channels-last convolutions: row `(b, pos)` of the column matrix holds the
/// receptive field of output position `pos` (zeros in the padding), `kernel taps x c`
/// wide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Im2colSpec {
    /// Element type.
    pub ty: Ty,
    /// Number of spatial dimensions (at least 1).
    pub spatial: usize,
}

impl Im2colSpec {
    /// Kernel name.
    pub fn name(&self) -> String {
        format!("im2col_{}_s{}", self.ty.short(), self.spatial)
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        let ns = self.spatial;
        f.ptr("cols").ptr("x").int("n").int("row").int("c").int("n_pos").int("frame");
        for a in ["insp", "outsp", "ksp", "istr", "ostr", "kstr", "stride", "pad"] {
            f.ints(a, ns);
        }
        f
    }

    /// The CUDA C++ source.
    pub fn source(&self) -> KernelSource {
        let name = self.name();
        let t = self.ty.c();
        let mut s = prelude();
        s.push_str(&self.fields().c_struct(&format!("P_{name}")));
        let _ = writeln!(s, "KERNEL({name}, P_{name}) {{");
        let _ = writeln!(s, "  {t}* cols = ({t}*)p.cols;");
        let _ = writeln!(s, "  const {t}* x = (const {t}*)p.x;");
        let _ = writeln!(s, "  {} {{", grid_loop("u64", "e", "(u64)p.n"));
        s.push_str("    const i64 bp = (i64)e / p.row, rest = (i64)e % p.row;\n");
        s.push_str("    const i64 kk = rest / p.c, ch = rest % p.c;\n");
        s.push_str("    const i64 b = bp / p.n_pos, pp = bp % p.n_pos;\n");
        s.push_str("    i64 off = 0;\n    bool inside = true;\n");
        let _ = writeln!(s, "    for (int d = 0; d < {}; ++d) {{", self.spatial);
        s.push_str("      const i64 op = (pp / p.ostr[d]) % p.outsp[d];\n");
        s.push_str("      const i64 kp = (kk / p.kstr[d]) % p.ksp[d];\n");
        s.push_str("      const i64 pos = op * p.stride[d] + kp - p.pad[d];\n");
        s.push_str("      if (pos < 0 || pos >= p.insp[d]) inside = false;\n");
        s.push_str("      else off += pos * p.istr[d];\n    }\n");
        let _ = writeln!(
            s,
            "    AT(cols, e) = inside ? AT(x, (u64)(b * p.frame + off * p.c + ch)) : ({t})0;"
        );
        s.push_str("  }\n}\n");
        KernelSource { name, source: s, sync: false }
    }
}
