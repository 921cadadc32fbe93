//! Reductions: `out[o] = alpha * Σ_r in0[o0(o) + r0(r)] (* in1[o1(o) + r1(r)])` with
//! the output C-contiguous over its index space. One input is a sum over labels (the
//! Reduce kernel); two inputs are a contraction by products (int64 contractions, and
//! batched dot products where a GEMM has nothing to tile).
//!
//! Two shapes of kernel: a thread per output (nested loops over the reduced
//! dimensions, no division) when outputs are many and rows short, and a block per
//! output (threads split the reduced index space, then a shared-memory tree) when rows
//! are long.

use std::fmt::Write as _;

use super::{decompose, grid_loop, idx_type, prelude, Fields, KernelSource, Ty};

/// Threads per block of the block-per-output kernel (a power of two; the shared
/// array is sized by it).
pub(crate) const REDUCE_BLOCK: u32 = 256;

/// A reduction kernel's compile-time parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReduceSpec {
    /// Element type (inputs, accumulator and output).
    pub ty: Ty,
    /// 1 (sum) or 2 (sum of products).
    pub inputs: usize,
    /// Rank of the output index space (at least 1).
    pub out_rank: usize,
    /// Rank of the reduced index space (at least 1).
    pub red_rank: usize,
    /// 64-bit index arithmetic.
    pub wide: bool,
    /// One block per output (else one thread per output).
    pub block: bool,
}

impl ReduceSpec {
    /// Kernel name.
    pub fn name(&self) -> String {
        format!(
            "reduce{}_{}_o{}_r{}{}{}",
            self.inputs,
            self.ty.short(),
            self.out_rank,
            self.red_rank,
            if self.wide { "_w" } else { "" },
            if self.block { "_block" } else { "_thread" }
        )
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        f.ptr("out");
        for k in 0..self.inputs {
            f.ptr(format!("in{k}"));
        }
        f.int("n_out").int("n_red").ints("oshape", self.out_rank);
        for k in 0..self.inputs {
            f.ints(format!("os{k}"), self.out_rank);
        }
        f.ints("rshape", self.red_rank);
        for k in 0..self.inputs {
            f.ints(format!("rs{k}"), self.red_rank);
        }
        if self.ty == Ty::I64 {
            f.int("alpha");
        } else {
            f.float("alpha");
        }
        f
    }

    fn add(&self, acc: &str, v: &str) -> String {
        if self.ty == Ty::I64 {
            format!("wadd({acc}, {v})")
        } else {
            format!("({acc} + {v})")
        }
    }

    /// The value at reduced offsets `c0[, c1]`.
    fn value(&self, c0: &str, c1: &str) -> String {
        match (self.inputs, self.ty) {
            (1, _) => format!("AT(in0, {c0})"),
            (_, Ty::I64) => format!("wmul(AT(in0, {c0}), AT(in1, {c1}))"),
            _ => format!("(AT(in0, {c0}) * AT(in1, {c1}))"),
        }
    }

    fn scaled(&self, v: &str) -> String {
        if self.ty == Ty::I64 {
            format!("wmul({v}, (i64)p.alpha)")
        } else {
            format!("({v} * ({})p.alpha)", self.ty.c())
        }
    }

    /// The CUDA C++ source.
    pub fn source(&self) -> KernelSource {
        let name = self.name();
        let idx = idx_type(self.wide);
        let t = self.ty.c();
        let mut s = prelude();
        s.push_str(&self.fields().c_struct(&format!("P_{name}")));
        let mac = if self.block { "KERNEL_SYNC" } else { "KERNEL" };
        let _ = writeln!(s, "{mac}({name}, P_{name}) {{");
        let _ = writeln!(s, "  {t}* out = ({t}*)p.out;");
        for k in 0..self.inputs {
            let _ = writeln!(s, "  const {t}* in{k} = (const {t}*)p.in{k};");
        }
        let _ = writeln!(s, "  const {idx} n_out = ({idx})p.n_out;");
        let _ = writeln!(s, "  const {idx} n_red = ({idx})p.n_red;");
        if self.block {
            let _ = writeln!(s, "  __shared__ {t} sm[{REDUCE_BLOCK}];");
            let _ = writeln!(s, "  for ({idx} o = blockIdx.x; o < n_out; o += gridDim.x) {{");
        } else {
            let _ = writeln!(s, "  {} {{", grid_loop(idx, "o", "n_out"));
        }
        let base: Vec<(String, String)> =
            (0..self.inputs).map(|k| (format!("b{k}"), format!("os{k}"))).collect();
        for (v, _) in &base {
            let _ = writeln!(s, "    {idx} {v} = 0;");
        }
        let _ = writeln!(s, "    {idx} r = o;");
        decompose(&mut s, "    ", idx, self.out_rank, "oshape", &base);
        let _ = writeln!(s, "    {t} acc = ({t})0;");
        if self.block {
            let _ = writeln!(s, "    for ({idx} j = threadIdx.x; j < n_red; j += blockDim.x) {{");
            let red: Vec<(String, String)> =
                (0..self.inputs).map(|k| (format!("c{k}"), format!("rs{k}"))).collect();
            for k in 0..self.inputs {
                let _ = writeln!(s, "      {idx} c{k} = b{k};");
            }
            let _ = writeln!(s, "      {idx} r = j;");
            decompose(&mut s, "      ", idx, self.red_rank, "rshape", &red);
            let _ = writeln!(s, "      acc = {};", self.add("acc", &self.value("c0", "c1")));
            s.push_str("    }\n");
            s.push_str("    sm[threadIdx.x] = acc;\n    __syncthreads();\n");
            s.push_str("    for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {\n");
            let _ = writeln!(
                s,
                "      if (threadIdx.x < h) sm[threadIdx.x] = {};",
                self.add("sm[threadIdx.x]", "sm[threadIdx.x + h]")
            );
            s.push_str("      __syncthreads();\n    }\n");
            let _ = writeln!(s, "    if (threadIdx.x == 0) AT(out, o) = {};", self.scaled("sm[0]"));
            s.push_str("    __syncthreads();\n  }\n}\n");
        } else {
            // Nested loops, outermost reduced dimension first; `c{k}_{d}` is the offset of
            // input k after fixing reduced dimensions 0..=d.
            let mut indent = String::from("    ");
            for d in 0..self.red_rank {
                let _ = writeln!(
                    s,
                    "{indent}for ({idx} j{d} = 0; j{d} < ({idx})p.rshape[{d}]; ++j{d}) {{"
                );
                indent.push_str("  ");
                for k in 0..self.inputs {
                    let prev = if d == 0 { format!("b{k}") } else { format!("c{k}_{}", d - 1) };
                    let _ = writeln!(
                        s,
                        "{indent}const {idx} c{k}_{d} = {prev} + j{d} * ({idx})p.rs{k}[{d}];"
                    );
                }
            }
            let last = self.red_rank.saturating_sub(1);
            let v = self.value(&format!("c0_{last}"), &format!("c1_{last}"));
            let _ = writeln!(s, "{indent}acc = {};", self.add("acc", &v));
            for _ in 0..self.red_rank {
                indent.truncate(indent.len() - 2);
                let _ = writeln!(s, "{indent}}}");
            }
            let _ = writeln!(s, "    AT(out, o) = {};", self.scaled("acc"));
            s.push_str("  }\n}\n");
        }
        KernelSource { name, source: s, sync: self.block }
    }
}

/// Whether to reduce with a block per output: long reductions over memory that is
/// contiguous along the reduced index (coalesced across the block's threads), or too
/// few outputs to occupy the GPU with a thread each.
pub(crate) fn use_block(n_out: usize, n_red: usize, red_inner_stride: usize) -> bool {
    if n_red < 32 {
        return false;
    }
    if red_inner_stride == 1 {
        return true;
    }
    n_out < 1 << 15
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_kernel_nests_loops() {
        let spec = ReduceSpec {
            ty: Ty::F32,
            inputs: 2,
            out_rank: 2,
            red_rank: 2,
            wide: true,
            block: false,
        };
        let src = spec.source().source;
        assert!(src.contains("for (u64 j1 = 0;"), "{src}");
        assert!(src.contains("const u64 c1_1 = c1_0 + j1 * (u64)p.rs1[1];"), "{src}");
        assert!(src.contains("acc = (acc + (AT(in0, c0_1) * AT(in1, c1_1)));"), "{src}");
        let block = ReduceSpec { block: true, ty: Ty::I64, inputs: 1, ..spec };
        let src = block.source();
        assert!(src.sync);
        assert!(src.source.contains("__shared__ long long sm[256];"));
        assert!(src.source.contains("wmul(sm[0], (i64)p.alpha)"));
    }

    #[test]
    fn block_choice() {
        assert!(!use_block(10, 8, 1));
        assert!(use_block(1 << 20, 4096, 1));
        assert!(!use_block(1 << 20, 4096, 512));
        assert!(use_block(4, 4096, 512));
    }
}
