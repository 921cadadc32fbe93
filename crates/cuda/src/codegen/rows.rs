//! Row kernels over the last dimension, one block per row: softmax and log_softmax
//! (one online max/sum pass, then the output pass), min and max (NaN-propagating,
//! first occurrence on ties, like the CPU backend), and the log-softmax-and-pick of a
//! next-token loss (`z[t] - logsumexp(z)`).
//!
//! Rows are addressed through the strides of the leading dimensions, so inputs need
//! not be contiguous; outputs are C-contiguous. Sums of exponentials accumulate in
//! double precision (the CPU backend accumulates them in float64 too).

use std::fmt::Write as _;

use super::{decompose, idx_type, prelude, Fields, KernelSource, Ty};

/// Largest block of a row kernel (the shared arrays are sized by it).
pub(crate) const ROW_BLOCK: u32 = 256;

/// What a row kernel computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowOp {
    /// `exp(x - max) / Σ exp(x - max)`.
    Softmax,
    /// `x - logsumexp(x)`.
    LogSoftmax,
    /// Minimum of the row (the output drops the last dimension).
    Min,
    /// Maximum of the row.
    Max,
    /// `z[t_row] - logsumexp(z_row)` with int64 targets (out-of-range targets are
    /// reported through the error word and give NaN).
    LogSoftmaxPick,
}

/// A row kernel's compile-time parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowSpec {
    /// The operation.
    pub op: RowOp,
    /// Element type (float32 or float64).
    pub ty: Ty,
    /// Rank of the row index space (the leading dimensions, at least 1).
    pub rank: usize,
    /// 64-bit index arithmetic.
    pub wide: bool,
}

impl RowSpec {
    /// Kernel name.
    pub fn name(&self) -> String {
        let op = match self.op {
            RowOp::Softmax => "softmax",
            RowOp::LogSoftmax => "log_softmax",
            RowOp::Min => "min",
            RowOp::Max => "max",
            RowOp::LogSoftmaxPick => "log_softmax_pick",
        };
        format!("rows_{op}_{}_r{}{}", self.ty.short(), self.rank, if self.wide { "_w" } else { "" })
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        f.ptr("out").ptr("x");
        if self.op == RowOp::LogSoftmaxPick {
            f.ptr("t").ptr("err").int("tag");
        }
        f.int("rows").int("n").int("es").ints("rshape", self.rank).ints("rs", self.rank);
        if self.op == RowOp::LogSoftmaxPick {
            f.ints("ts", self.rank);
        }
        f
    }

    /// The CUDA C++ source.
    pub fn source(&self) -> KernelSource {
        let name = self.name();
        let idx = idx_type(self.wide);
        let t = self.ty.c();
        let mut s = prelude();
        s.push_str(&self.fields().c_struct(&format!("P_{name}")));
        let _ = writeln!(s, "KERNEL_SYNC({name}, P_{name}) {{");
        let _ = writeln!(s, "  const {t}* x = (const {t}*)p.x;");
        let _ = writeln!(s, "  {t}* out = ({t}*)p.out;");
        let _ = writeln!(s, "  const {idx} rows = ({idx})p.rows;");
        let _ = writeln!(s, "  const {idx} n = ({idx})p.n;");
        let _ = writeln!(s, "  const {idx} es = ({idx})p.es;");
        let _ = writeln!(s, "  const {t} NEG_INF = neg_inf(({t})0);");
        let minmax = matches!(self.op, RowOp::Min | RowOp::Max);
        if minmax {
            let _ = writeln!(s, "  __shared__ {t} sv[{ROW_BLOCK}];");
            let _ = writeln!(s, "  __shared__ i64 si[{ROW_BLOCK}];");
        } else {
            let _ = writeln!(s, "  __shared__ {t} sm[{ROW_BLOCK}];");
            let _ = writeln!(s, "  __shared__ double ss[{ROW_BLOCK}];");
        }
        if self.op == RowOp::LogSoftmaxPick {
            s.push_str("  const i64* tg = (const i64*)p.t;\n");
        }
        let _ = writeln!(s, "  for ({idx} row = blockIdx.x; row < rows; row += gridDim.x) {{");
        let _ = writeln!(s, "    {idx} base = 0;");
        let mut offs = vec![("base".to_string(), "rs".to_string())];
        if self.op == RowOp::LogSoftmaxPick {
            let _ = writeln!(s, "    {idx} toff = 0;");
            offs.push(("toff".into(), "ts".into()));
        }
        let _ = writeln!(s, "    {idx} r = row;");
        decompose(&mut s, "    ", idx, self.rank, "rshape", &offs);
        if minmax {
            self.minmax_body(&mut s, idx, t);
        } else {
            self.softmax_body(&mut s, idx, t);
        }
        s.push_str("    __syncthreads();\n  }\n}\n");
        KernelSource { name, source: s, sync: true }
    }

    fn softmax_body(&self, s: &mut String, idx: &str, t: &str) {
        // Online max and sum of exp per thread; -inf terms add nothing (and would give
        // exp(-inf - -inf) = NaN), NaN terms poison the sum as on the CPU.
        let _ = writeln!(s, "    {t} m = NEG_INF;");
        s.push_str("    double sum = 0.0;\n");
        let _ = writeln!(s, "    for ({idx} j = threadIdx.x; j < n; j += blockDim.x) {{");
        let _ = writeln!(s, "      const {t} v = AT(x, base + j * es);");
        s.push_str("      if (v > m) {\n");
        s.push_str("        sum = sum * (double)m_exp(m - v) + 1.0;\n        m = v;\n");
        s.push_str("      } else if (v != NEG_INF) {\n");
        s.push_str("        sum += (double)m_exp(v - m);\n      }\n    }\n");
        s.push_str("    sm[threadIdx.x] = m;\n    ss[threadIdx.x] = sum;\n    __syncthreads();\n");
        s.push_str("    for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {\n");
        s.push_str("      if (threadIdx.x < h) {\n");
        let _ = writeln!(s, "        const {t} m1 = sm[threadIdx.x], m2 = sm[threadIdx.x + h];");
        s.push_str("        const double s1 = ss[threadIdx.x], s2 = ss[threadIdx.x + h];\n");
        let _ = writeln!(s, "        const {t} mm = m1 > m2 ? m1 : m2;");
        s.push_str("        const double a = s1 == 0.0 ? 0.0 : s1 * (double)m_exp(m1 - mm);\n");
        s.push_str("        const double b = s2 == 0.0 ? 0.0 : s2 * (double)m_exp(m2 - mm);\n");
        s.push_str("        sm[threadIdx.x] = mm;\n        ss[threadIdx.x] = a + b;\n");
        s.push_str("      }\n      __syncthreads();\n    }\n");
        // As the CPU: an all -inf row uses 0 as its max (so the result is NaN like torch).
        let _ = writeln!(s, "    {t} mx = sm[0];");
        let _ = writeln!(s, "    if (mx == NEG_INF) mx = ({t})0;");
        s.push_str("    const double total = ss[0];\n");
        match self.op {
            RowOp::Softmax => {
                let _ = writeln!(s, "    const {t} inv = ({t})(1.0 / total);");
                let _ = writeln!(s, "    for ({idx} j = threadIdx.x; j < n; j += blockDim.x) {{");
                s.push_str(
                    "      AT(out, row * n + j) = m_exp(AT(x, base + j * es) - mx) * inv;\n",
                );
                s.push_str("    }\n");
            }
            RowOp::LogSoftmax => {
                let _ = writeln!(s, "    const {t} lse = mx + ({t})log(total);");
                let _ = writeln!(s, "    for ({idx} j = threadIdx.x; j < n; j += blockDim.x) {{");
                s.push_str("      AT(out, row * n + j) = AT(x, base + j * es) - lse;\n");
                s.push_str("    }\n");
            }
            _ => {
                let _ = writeln!(s, "    const {t} lse = mx + ({t})log(total);");
                s.push_str("    if (threadIdx.x == 0) {\n");
                s.push_str("      const i64 tv = AT(tg, toff);\n");
                s.push_str("      const i64 nn = (i64)n;\n");
                s.push_str("      if (tv < -nn || tv >= nn) {\n");
                s.push_str("        report_index_error((u64*)p.err, p.tag, tv, nn);\n");
                let _ = writeln!(s, "        AT(out, row) = nan_of(({t})0);");
                s.push_str("      } else {\n");
                let _ = writeln!(s, "        const {idx} tt = ({idx})(tv < 0 ? tv + nn : tv);");
                s.push_str("        AT(out, row) = AT(x, base + tt * es) - lse;\n      }\n    }\n");
            }
        }
    }

    fn minmax_body(&self, s: &mut String, idx: &str, t: &str) {
        let better = if self.op == RowOp::Max { "v > bv" } else { "v < bv" };
        let _ = writeln!(s, "    {t} bv = nan_of(({t})0);");
        s.push_str("    i64 bi = -1;\n");
        // Ascending j within a thread: a strict comparison keeps the first occurrence; the
        // first NaN wins over everything.
        let _ = writeln!(s, "    for ({idx} j = threadIdx.x; j < n; j += blockDim.x) {{");
        let _ = writeln!(s, "      const {t} v = AT(x, base + j * es);");
        let _ = writeln!(
            s,
            "      if (bi < 0 || (is_nan(v) && !is_nan(bv)) || (!is_nan(bv) && {better})) {{ bv = v; bi = (i64)j; }}"
        );
        s.push_str("    }\n");
        s.push_str("    sv[threadIdx.x] = bv;\n    si[threadIdx.x] = bi;\n    __syncthreads();\n");
        s.push_str("    for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {\n");
        s.push_str("      if (threadIdx.x < h) {\n");
        let _ = writeln!(s, "        const {t} v1 = sv[threadIdx.x], v = sv[threadIdx.x + h];");
        s.push_str("        const i64 i1 = si[threadIdx.x], i2 = si[threadIdx.x + h];\n");
        s.push_str("        bool take2;\n");
        s.push_str("        if (i2 < 0) take2 = false;\n");
        s.push_str("        else if (i1 < 0) take2 = true;\n");
        s.push_str("        else if (is_nan(v1) || is_nan(v)) take2 = is_nan(v) && (!is_nan(v1) || i2 < i1);\n");
        let bv = better.replace("bv", "v1");
        let worse = if self.op == RowOp::Max { "v < v1" } else { "v > v1" };
        let _ = writeln!(s, "        else if ({bv}) take2 = true;");
        let _ = writeln!(s, "        else if ({worse}) take2 = false;");
        s.push_str("        else take2 = i2 < i1;\n");
        s.push_str("        if (take2) { sv[threadIdx.x] = v; si[threadIdx.x] = i2; }\n");
        s.push_str("      }\n      __syncthreads();\n    }\n");
        s.push_str("    if (threadIdx.x == 0) AT(out, row) = sv[0];\n");
    }
}

/// Threads per block for rows of `n` elements: a power of two in `32..=ROW_BLOCK`.
pub(crate) fn row_block(n: usize) -> u32 {
    let want = n.next_power_of_two().clamp(32, ROW_BLOCK as usize);
    want as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sources() {
        for op in [RowOp::Softmax, RowOp::LogSoftmax, RowOp::Min, RowOp::Max, RowOp::LogSoftmaxPick]
        {
            let src = RowSpec { op, ty: Ty::F32, rank: 2, wide: false }.source();
            assert!(src.sync);
            assert!(src.source.contains("KERNEL_SYNC("), "{}", src.source);
        }
        let max = RowSpec { op: RowOp::Max, ty: Ty::F64, rank: 1, wide: true }.source().source;
        assert!(max.contains("else if (v > v1) take2 = true;"), "{max}");
        assert_eq!(row_block(1), 32);
        assert_eq!(row_block(300), 256);
        assert_eq!(row_block(64), 64);
    }
}
