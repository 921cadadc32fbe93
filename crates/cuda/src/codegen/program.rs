//! Fused elementwise kernels: one thread per output element runs a plan's
//! [`Kernel::Map`](circuit_eval::Kernel::Map) program in registers, reading each input
//! at its own strides (0 along broadcast dims) and writing the output once.

use std::fmt::Write as _;

use circuit_eval::MapInstr;
use circuit_ir::kinds::SimpleFn;

use super::{decompose, grid_loop, idx_type, prelude, Fields, KernelSource, Ty};

/// One instruction, hashable (constants by their bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgInstr {
    /// Input `k` at this element.
    Input(usize),
    /// Sum of two registers.
    Add(usize, usize),
    /// Product of two registers.
    Mul(usize, usize),
    /// A register times the constant with these `f64` bits.
    Scale(usize, u64),
    /// A simple elementwise function of a register.
    Simple(SimpleFn, usize),
}

impl From<MapInstr> for ProgInstr {
    fn from(i: MapInstr) -> ProgInstr {
        match i {
            MapInstr::Input(k) => ProgInstr::Input(k),
            MapInstr::Add(a, b) => ProgInstr::Add(a, b),
            MapInstr::Mul(a, b) => ProgInstr::Mul(a, b),
            MapInstr::Scale(a, c) => ProgInstr::Scale(a, c.to_bits()),
            MapInstr::Simple(f, a) => ProgInstr::Simple(f, a),
        }
    }
}

/// A fused kernel's compile-time parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgramSpec {
    /// Element type of the inputs, the registers and the output (a float type).
    pub ty: Ty,
    /// The program; the last instruction's value is the output.
    pub program: Vec<ProgInstr>,
    /// Number of inputs.
    pub inputs: usize,
    /// Rank of the index space (at least 1).
    pub rank: usize,
    /// 64-bit index arithmetic.
    pub wide: bool,
}

impl ProgramSpec {
    /// The program's text (also what the kernel name is derived from).
    fn body(&self) -> String {
        let t = self.ty.c();
        let mut s = String::new();
        for (i, ins) in self.program.iter().enumerate() {
            let e = match *ins {
                ProgInstr::Input(k) => format!("AT(in{k}, o{k})"),
                ProgInstr::Add(a, b) => format!("r{a} + r{b}"),
                ProgInstr::Mul(a, b) => format!("r{a} * r{b}"),
                ProgInstr::Scale(a, bits) => format!("r{a} * ({t})({:?})", f64::from_bits(bits)),
                ProgInstr::Simple(f, a) => format!("f_{}(r{a})", f.name()),
            };
            let _ = writeln!(s, "    const {t} r{i} = {e};");
        }
        s
    }

    /// Kernel name (unique per spec: a hash of the program names it).
    pub fn name(&self) -> String {
        // FNV-1a: stable across runs and platforms (the name keys the compiled module).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.body().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!(
            "prog_{}_i{}_r{}{}_{h:016x}",
            self.ty.short(),
            self.inputs,
            self.rank,
            if self.wide { "_w" } else { "" }
        )
    }

    /// The parameter struct.
    pub(crate) fn fields(&self) -> Fields {
        let mut f = Fields::default();
        f.ptr("out");
        for k in 0..self.inputs {
            f.ptr(format!("in{k}"));
        }
        f.int("n").ints("shape", self.rank);
        for k in 0..self.inputs {
            f.ints(format!("s{k}"), self.rank);
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
        let _ = writeln!(s, "KERNEL({name}, P_{name}) {{");
        let _ = writeln!(s, "  {t}* out = ({t}*)p.out;");
        for k in 0..self.inputs {
            let _ = writeln!(s, "  const {t}* in{k} = (const {t}*)p.in{k};");
        }
        let _ = writeln!(s, "  const {idx} n = ({idx})p.n;");
        let _ = writeln!(s, "  {} {{", grid_loop(idx, "i", "n"));
        let offsets: Vec<(String, String)> =
            (0..self.inputs).map(|k| (format!("o{k}"), format!("s{k}"))).collect();
        for (v, _) in &offsets {
            let _ = writeln!(s, "    {idx} {v} = 0;");
        }
        let _ = writeln!(s, "    {idx} r = i;");
        decompose(&mut s, "    ", idx, self.rank, "shape", &offsets);
        s.push_str(&self.body());
        let _ = writeln!(s, "    AT(out, i) = r{};", self.program.len().saturating_sub(1));
        s.push_str("  }\n}\n");
        KernelSource { name, source: s, sync: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_runs_the_program() {
        let spec = ProgramSpec {
            ty: Ty::F32,
            program: vec![
                ProgInstr::Input(0),
                ProgInstr::Input(1),
                ProgInstr::Mul(0, 1),
                ProgInstr::Scale(2, 0.125f64.to_bits()),
                ProgInstr::Simple(SimpleFn::GeluNew, 3),
            ],
            inputs: 2,
            rank: 2,
            wide: false,
        };
        let src = spec.source().source;
        assert!(src.contains("const float r3 = r2 * (float)(0.125);"), "{src}");
        assert!(src.contains("const float r4 = f_gelu_new(r3);"));
        assert!(src.contains("AT(out, i) = r4;"));
        assert_eq!(spec.fields().words(), 3 + 1 + 2 + 2 * 2);
        let other = ProgramSpec { program: spec.program[..4].to_vec(), ..spec.clone() };
        assert_ne!(spec.name(), other.name());
    }
}
