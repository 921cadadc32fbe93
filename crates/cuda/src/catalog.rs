//! Every kind of kernel the backend can generate, in representative variants: each
//! operation and element type once, plus the structural variants (ranks, 32/64-bit
//! indexing, strided outputs, block or thread reductions). The NVRTC check compiles
//! these when no GPU is at hand.

use circuit_ir::kinds::SimpleFn;

use crate::codegen::gather::{GatherSpec, Im2colSpec, TableSpec};
use crate::codegen::map::{MapOp, MapSpec};
use crate::codegen::program::{ProgInstr, ProgramSpec};
use crate::codegen::reduce::ReduceSpec;
use crate::codegen::rows::{RowOp, RowSpec};
use crate::codegen::{KernelSource, Ty};

/// The sources of the catalog.
pub fn kernel_catalog() -> Vec<KernelSource> {
    let mut out = Vec::new();
    for ty in Ty::ALL {
        let map = |op: MapOp, ins: Vec<Ty>, rank: usize, wide: bool, out_strided: bool| {
            MapSpec { op, out: ty, ins, rank, wide, out_strided }.source()
        };
        let mut ops: Vec<(MapOp, Vec<Ty>)> = vec![
            (MapOp::Add, vec![ty, ty]),
            (MapOp::Scale, vec![ty]),
            (MapOp::MulScale, vec![ty, ty]),
            (MapOp::Pow, vec![ty, ty]),
        ];
        ops.extend(Ty::ALL.into_iter().map(|from| (MapOp::Convert, vec![from])));
        ops.extend(
            SimpleFn::ALL
                .into_iter()
                .filter(|f| f.is_elementwise())
                .map(|f| (MapOp::Simple(f), vec![ty])),
        );
        for (op, ins) in ops {
            out.push(map(op, ins, 2, false, false));
        }
        for rank in [1, 3] {
            for wide in [false, true] {
                for strided in [false, true] {
                    out.push(map(MapOp::Convert, vec![ty], rank, wide, strided));
                }
            }
        }
        out.push(map(MapOp::Add, vec![ty, ty, ty], 3, true, true));
        if ty.is_float() {
            // A fused program using every instruction and every elementwise function.
            let mut program = vec![ProgInstr::Input(0), ProgInstr::Input(1), ProgInstr::Mul(0, 1)];
            program.push(ProgInstr::Scale(2, 0.5f64.to_bits()));
            program.push(ProgInstr::Add(3, 0));
            for f in SimpleFn::ALL.into_iter().filter(|f| f.is_elementwise()) {
                program.push(ProgInstr::Simple(f, program.len() - 1));
            }
            for (rank, wide) in [(1, false), (3, true)] {
                let spec = ProgramSpec { ty, program: program.clone(), inputs: 2, rank, wide };
                out.push(spec.source());
            }
        }
        for (out_rank, red_rank, wide) in [(1, 1, false), (3, 2, true)] {
            for inputs in [1, 2] {
                for block in [false, true] {
                    out.push(ReduceSpec { ty, inputs, out_rank, red_rank, wide, block }.source());
                }
            }
        }
        for (rank, wide) in [(1, false), (3, true)] {
            out.push(GatherSpec { ty, rank, wide }.source());
            out.push(TableSpec { ty, rank, wide }.source());
            if ty.is_float() {
                for op in [
                    RowOp::Softmax,
                    RowOp::LogSoftmax,
                    RowOp::Min,
                    RowOp::Max,
                    RowOp::LogSoftmaxPick,
                ] {
                    out.push(RowSpec { op, ty, rank, wide }.source());
                }
            }
        }
        for spatial in [1, 2] {
            out.push(Im2colSpec { ty, spatial }.source());
        }
    }
    out
}
