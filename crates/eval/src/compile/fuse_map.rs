//! Elementwise fusion: a chain of elementwise steps (Adds, elementwise products,
//! scalings, elementwise functions) whose intermediate results nobody else reads becomes
//! one [`Kernel::Map`] step, which reads its inputs once and writes one output instead
//! of a buffer per step. A step is absorbed into its reader only when the reader is its
//! only reader and has as many elements (so nothing is recomputed under a broadcast).

use std::collections::HashMap;

use circuit_ir::kinds::GfSpec;
use circuit_tensor::DType;

use crate::kernel::{BufId, Kernel, Label, MapInstr, Step};
use crate::schedule::Schedule;

/// Most inputs of one fused step (a CUDA kernel's parameters grow with each).
const MAX_INPUTS: usize = 12;
/// Most instructions of one fused step.
const MAX_INSTRS: usize = 48;

fn distinct(ls: &[Label]) -> bool {
    ls.iter().enumerate().all(|(i, l)| !ls[..i].contains(l))
}

/// The step as a map program, if it is elementwise work over inputs broadcast
/// right-aligned to its shape.
fn as_program(step: &Step) -> Option<Vec<MapInstr>> {
    if !matches!(step.dtype, DType::F32 | DType::F64) {
        return None;
    }
    // Constants go into generated source: finite in the step's type.
    let finite =
        |a: f64| a.is_finite() && (step.dtype != DType::F32 || a.abs() <= f64::from(f32::MAX));
    let n = step.inputs.len();
    match &step.kernel {
        Kernel::Map(p) => Some(p.clone()),
        Kernel::Add if n >= 2 => {
            let mut p: Vec<MapInstr> = (0..n).map(MapInstr::Input).collect();
            p.push(MapInstr::Add(0, 1));
            for k in 2..n {
                p.push(MapInstr::Add(p.len() - 1, k));
            }
            Some(p)
        }
        Kernel::Function(GfSpec::Simple(f)) if f.is_elementwise() && n == 1 => {
            Some(vec![MapInstr::Input(0), MapInstr::Simple(*f, 0)])
        }
        // A scaling (a one-operand einsum that keeps every label in place).
        Kernel::Reduce { input, output, alpha }
            if input == output && distinct(input) && n == 1 && finite(*alpha) =>
        {
            Some(vec![MapInstr::Input(0), MapInstr::Scale(0, *alpha)])
        }
        // An elementwise product whose operands are trailing labels of the output.
        Kernel::Contract { a, b, out, alpha }
            if n == 2
                && distinct(out)
                && out.ends_with(a)
                && out.ends_with(b)
                && out.len() == a.len().max(b.len())
                && finite(*alpha) =>
        {
            let mut p = vec![MapInstr::Input(0), MapInstr::Input(1), MapInstr::Mul(0, 1)];
            if *alpha != 1.0 {
                p.push(MapInstr::Scale(2, *alpha));
            }
            Some(p)
        }
        _ => None,
    }
}

/// Replaces input `j` of `consumer` (over `consumer_inputs`) by the program `producer`
/// (over `producer_inputs`). Returns the fused program and inputs.
fn splice(
    consumer: &[MapInstr],
    consumer_inputs: &[BufId],
    j: usize,
    producer: &[MapInstr],
    producer_inputs: &[BufId],
) -> (Vec<MapInstr>, Vec<BufId>) {
    let extra = producer_inputs.len();
    let mut inputs = consumer_inputs[..j].to_vec();
    inputs.extend_from_slice(producer_inputs);
    inputs.extend_from_slice(&consumer_inputs[j + 1..]);
    let mut prog: Vec<MapInstr> = producer
        .iter()
        .map(|i| match *i {
            MapInstr::Input(k) => MapInstr::Input(j + k),
            other => other,
        })
        .collect();
    let result = prog.len() - 1;
    let mut reg = Vec::with_capacity(consumer.len());
    for ins in consumer {
        let r = |x: usize| reg[x];
        let new = match *ins {
            MapInstr::Input(k) if k == j => {
                reg.push(result);
                continue;
            }
            MapInstr::Input(k) if k > j => MapInstr::Input(k + extra - 1),
            MapInstr::Input(k) => MapInstr::Input(k),
            MapInstr::Add(a, b) => MapInstr::Add(r(a), r(b)),
            MapInstr::Mul(a, b) => MapInstr::Mul(r(a), r(b)),
            MapInstr::Scale(a, c) => MapInstr::Scale(r(a), c),
            MapInstr::Simple(f, a) => MapInstr::Simple(f, r(a)),
        };
        reg.push(prog.len());
        prog.push(new);
    }
    (prog, inputs)
}

/// Fuses elementwise chains of `steps` (in execution order; `output` the plan's result).
/// Absorbing a producer keeps its inputs alive until its reader runs; where that would
/// raise the predicted peak memory, the steps stay as they are (the budget comes first).
/// Tried first without limit, then absorbing only producers with at most one computed
/// input (their input then lives in place of their output, so the peak cannot grow).
pub(crate) fn fuse_elementwise(steps: Vec<Step>, output: BufId) -> Vec<Step> {
    let peak = Schedule::new(&steps, output).peak_bytes;
    for narrow in [false, true] {
        let fused = fuse_chains(steps.clone(), output, narrow);
        if fused.len() < steps.len() && Schedule::new(&fused, output).peak_bytes <= peak {
            return fused;
        }
    }
    steps
}

fn fuse_chains(mut steps: Vec<Step>, output: BufId, narrow: bool) -> Vec<Step> {
    let mut readers: HashMap<BufId, usize> = HashMap::new();
    for s in &steps {
        for &b in &s.inputs {
            *readers.entry(b).or_default() += 1;
        }
    }
    let producer: HashMap<BufId, usize> =
        steps.iter().enumerate().map(|(i, s)| (s.output, i)).collect();
    let mut absorbed = vec![false; steps.len()];
    for c in 0..steps.len() {
        let Some(mut prog) = as_program(&steps[c]) else { continue };
        let mut inputs = steps[c].inputs.clone();
        let mut flops = steps[c].flops;
        let mut fused = false;
        loop {
            let candidate = inputs.iter().enumerate().find_map(|(j, &b)| {
                if b == output || readers.get(&b) != Some(&1) {
                    return None;
                }
                let p = *producer.get(&b)?;
                let ps = &steps[p];
                if absorbed[p] || ps.dtype != steps[c].dtype || ps.numel() != steps[c].numel() {
                    return None;
                }
                let computed = |b: &BufId| {
                    producer.get(b).is_some_and(|&q| {
                        !matches!(steps[q].kernel, Kernel::Constant(_) | Kernel::Fill { .. })
                    })
                };
                if narrow && ps.inputs.iter().filter(|b| computed(b)).count() > 1 {
                    return None;
                }
                let pp = as_program(ps)?;
                (inputs.len() - 1 + ps.inputs.len() <= MAX_INPUTS
                    && prog.len() + pp.len() <= MAX_INSTRS)
                    .then_some((j, p, pp))
            });
            let Some((j, p, pp)) = candidate else { break };
            let (np, ni) = splice(&prog, &inputs, j, &pp, &steps[p].inputs);
            prog = np;
            inputs = ni;
            flops += steps[p].flops;
            absorbed[p] = true;
            fused = true;
        }
        if fused {
            let s = &mut steps[c];
            s.kernel = Kernel::Map(prog);
            s.inputs = inputs;
            s.flops = flops;
        }
    }
    steps.into_iter().zip(absorbed).filter(|(_, gone)| !gone).map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuit_ir::kinds::SimpleFn;

    fn step(kernel: Kernel, inputs: Vec<BufId>, output: BufId, shape: &[usize]) -> Step {
        Step {
            kernel,
            inputs,
            output,
            shape: shape.to_vec(),
            dtype: DType::F32,
            node: format!("s{output}"),
            flops: shape.iter().product::<usize>() as u128,
        }
    }

    fn constant(output: BufId, shape: &[usize]) -> Step {
        let t = circuit_tensor::Tensor::full(shape, 0.0, DType::F32);
        step(Kernel::Constant(t), vec![], output, shape)
    }

    #[test]
    fn chains_fuse_into_one_program() {
        // gelu(x * m * 0.5 + y): m broadcast over the rows.
        let steps = vec![
            constant(0, &[4, 3]),
            constant(1, &[3]),
            constant(2, &[4, 3]),
            step(
                Kernel::Contract { a: vec![0, 1], b: vec![1], out: vec![0, 1], alpha: 0.5 },
                vec![0, 1],
                3,
                &[4, 3],
            ),
            step(Kernel::Add, vec![3, 2], 4, &[4, 3]),
            step(Kernel::Function(GfSpec::Simple(SimpleFn::Gelu)), vec![4], 5, &[4, 3]),
        ];
        let fused = fuse_elementwise(steps, 5);
        assert_eq!(fused.len(), 4);
        let last = &fused[3];
        assert_eq!(last.inputs, vec![0, 1, 2]);
        assert_eq!(last.flops, 36);
        let Kernel::Map(p) = &last.kernel else { panic!("{}", last.kernel) };
        use MapInstr::*;
        assert_eq!(
            p,
            &vec![
                Input(0),
                Input(1),
                Mul(0, 1),
                Scale(2, 0.5),
                Input(2),
                Add(3, 4),
                Simple(SimpleFn::Gelu, 5)
            ]
        );
    }

    #[test]
    fn shared_broadcast_and_row_steps_stay_apart() {
        let steps = vec![
            constant(0, &[4, 3]),
            constant(1, &[3]),
            // Read twice: kept.
            step(Kernel::Function(GfSpec::Simple(SimpleFn::Exp)), vec![0], 2, &[4, 3]),
            step(Kernel::Add, vec![2, 2], 3, &[4, 3]),
            // Smaller than its reader (broadcast): kept.
            step(Kernel::Function(GfSpec::Simple(SimpleFn::Tanh)), vec![1], 4, &[3]),
            step(Kernel::Add, vec![3, 4], 5, &[4, 3]),
            // A row function: not elementwise.
            step(Kernel::Function(GfSpec::Simple(SimpleFn::Softmax)), vec![5], 6, &[4, 3]),
            step(Kernel::Function(GfSpec::Simple(SimpleFn::Exp)), vec![6], 7, &[4, 3]),
        ];
        let fused = fuse_elementwise(steps, 7);
        let kinds: Vec<&str> = fused.iter().map(|s| s.kernel.name()).collect();
        // exp(x) is read twice; the first Add absorbs nothing, and the second absorbs
        // the first Add (its only reader, same size) but not the broadcast tanh.
        assert_eq!(
            kinds,
            ["constant", "constant", "function", "function", "map", "function", "function"]
        );
        assert_eq!(fused[4].inputs, vec![2, 2, 4]);
    }
}
