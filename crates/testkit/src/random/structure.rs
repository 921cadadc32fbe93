//! Module (with batching and symbolic sizes), SetSymbolicShape, Tag and the random
//! variable kinds (DiscreteVar, Cumulant, StoredCumulantVar).

use std::collections::BTreeMap;

use circuit_ir::kinds::{Module, ModuleArgSpec, SetSymbolicShape, StoredCumulantVar, Tag};
use circuit_ir::size::{decompose, is_symbolic, symbolic_size};
use circuit_ir::{Circuit, IrError, Op, Shape};

use super::Generator;

impl Generator {
    /// A spec circuit with free symbols: a pool node that has some, or a fresh one.
    fn module_body(&mut self) -> Circuit {
        if self.g.chance(0.8) {
            if let Some(c) = self.pick_where(|c| !c.free_symbols().is_empty()) {
                return c;
            }
        }
        let shape = self.shape(true);
        let sym = self.symbol_of(&shape);
        if self.g.chance(0.4) {
            return sym;
        }
        let other = self.node_of_shape(&shape, None);
        self.build(Op::Add, vec![sym.clone(), other]).unwrap_or(sym)
    }

    /// The size an input gives for a symbol dim, given concrete values for some atoms.
    fn input_size(
        &mut self,
        sym_size: usize,
        atoms: &BTreeMap<u8, usize>,
        flags: (bool, bool),
    ) -> usize {
        if !is_symbolic(sym_size) {
            let (expandable, ban) = flags;
            if expandable && !ban && self.g.chance(0.1) {
                return self.g.range(1, 4);
            }
            return sym_size;
        }
        let parts = decompose(sym_size);
        let mut acc = parts.other;
        for s in &parts.symbols {
            let v = match atoms.get(s) {
                Some(&v) => v,
                None => symbolic_size(usize::from(*s)).unwrap_or(1),
            };
            acc = acc.saturating_mul(v);
        }
        acc
    }

    pub(super) fn module(&mut self) -> Result<Circuit, IrError> {
        let body = self.module_body();
        let mut free: Vec<Circuit> = body.free_symbols().iter().cloned().collect();
        self.g.shuffle(&mut free);
        let n_args = match self.g.weighted(&[8, 50, 30, 12]) {
            0 => 0,
            1 => 1,
            2 => 2,
            _ => free.len(),
        }
        .min(free.len());
        let mut symbols: Vec<Circuit> = free[..n_args].to_vec();
        if !symbols.is_empty() && self.g.chance(0.05) {
            // the same symbol bound twice: the rightmost binding wins
            let s = symbols[self.g.below(symbols.len())].clone();
            symbols.push(s);
        }
        if self.cfg.unused_module_args && self.g.chance(0.2) {
            let shape = self.shape(true);
            symbols.push(self.symbol_of(&shape));
        }
        // concrete values for (some) symbolic atoms, shared by all inputs
        let mut atoms: BTreeMap<u8, usize> = BTreeMap::new();
        for s in &symbols {
            for &d in s.shape() {
                for a in decompose(d).symbols {
                    if !atoms.contains_key(&a) && self.g.chance(0.7) {
                        let v = self.g.range(1, 4);
                        atoms.insert(a, v);
                    }
                }
            }
        }
        let batch: Shape = if self.g.chance(0.35) {
            (0..self.g.range(1, 2)).map(|_| self.g.range(1, 3)).collect()
        } else {
            Shape::new()
        };
        let mut children = vec![body.clone()];
        let mut arg_specs = Vec::new();
        for s in symbols {
            let batchable = self.g.chance(0.8);
            let expandable = self.g.chance(0.7);
            let ban = self.g.chance(0.6);
            let mut shape: Shape = Shape::new();
            if batchable && !batch.is_empty() {
                let skip = if self.g.chance(0.7) { 0 } else { self.g.range(0, batch.len()) };
                shape.extend(batch[skip..].iter().copied());
            }
            for &d in s.shape() {
                let size = self.input_size(d, &atoms, (expandable, ban));
                shape.push(size);
            }
            let input = if self.g.chance(0.05) && &shape == s.shape() {
                s.clone()
            } else {
                self.node_of_shape(&shape, body.dtype())
            };
            arg_specs.push(ModuleArgSpec::with_flags(s, batchable, expandable, ban)?);
            children.push(input);
        }
        self.build(Op::Module(Module { arg_specs }), children)
    }

    pub(super) fn set_symbolic_shape(&mut self) -> Result<Circuit, IrError> {
        let child = match self.pick_where(|c| c.rank() >= 1 && c.rank() <= 4) {
            Some(c) if self.g.chance(0.8) => c,
            _ => {
                let mut s = self.shape(true);
                if s.is_empty() {
                    s.push(symbolic_size(0)?);
                }
                self.leaf_of_shape(&s, None)
            }
        };
        let mut target = Shape::new();
        for &c in child.shape() {
            let t = if is_symbolic(c) {
                if self.g.chance(0.6) {
                    decompose(c).other * self.g.range(1, 3)
                } else {
                    c
                }
            } else if self.g.chance(0.3) && c > 0 && self.cfg.symbolic_sizes {
                symbolic_size(self.g.below(4))?
            } else {
                c
            };
            target.push(t);
        }
        self.build(Op::SetSymbolicShape(SetSymbolicShape { shape: target }), vec![child])
    }

    pub(super) fn tag(&mut self) -> Result<Circuit, IrError> {
        let child = match self.pick_any() {
            Some(c) => c,
            None => self.random_leaf(),
        };
        let uuid = if self.g.chance(0.1) { circuit_ir::Uuid::nil() } else { self.g.uuid() };
        self.build(Op::Tag(Tag { uuid }), vec![child])
    }

    pub(super) fn discrete_var(&mut self) -> Result<Circuit, IrError> {
        let values = match self.pick_where(|c| c.rank() >= 1 && c.rank() <= 4) {
            Some(c) if self.g.chance(0.7) => c,
            _ => {
                let mut s = self.shape(false);
                s.insert(0, self.g.range(1, 4));
                self.leaf_of_shape(&s, None)
            }
        };
        let n = values.shape()[0];
        let probs = if self.g.chance(0.4) {
            let p = self.scalar_of(&[n]);
            let uuid = self.g.uuid();
            self.build(Op::Tag(Tag { uuid }), vec![p])?
        } else {
            self.node_of_shape(&[n], None)
        };
        self.build(Op::DiscreteVar, vec![values, probs])
    }

    pub(super) fn cumulant(&mut self) -> Result<Circuit, IrError> {
        let n = self.g.weighted(&[10, 40, 35, 15]);
        let mut children = Vec::new();
        let mut dtype = None;
        for _ in 0..n {
            let var = if self.g.chance(0.6) {
                self.pick_compatible(dtype, |c| c.kind().is_var() && c.rank() <= 2)
            } else {
                None
            };
            let c = match var {
                Some(c) => c,
                None => match self.pick_compatible(dtype, |c| c.rank() <= 2) {
                    Some(c) => c,
                    None => self.random_leaf(),
                },
            };
            dtype = dtype.or(c.dtype());
            children.push(c);
        }
        self.build(Op::Cumulant, children)
    }

    pub(super) fn stored_cumulant_var(&mut self) -> Result<Circuit, IrError> {
        let base: Shape = (0..self.g.range(0, 2)).map(|_| self.dim(false)).collect();
        let mut orders = vec![1, 2];
        if self.g.chance(0.3) {
            orders.push(3);
        }
        if self.g.chance(0.15) {
            orders.push(4);
        }
        let mut children = Vec::new();
        let mut dtype = None;
        for &k in &orders {
            let shape: Shape = (0..k).flat_map(|_| base.iter().copied()).collect();
            let c = self.node_of_shape(&shape, dtype);
            dtype = dtype.or(c.dtype());
            children.push(c);
        }
        let uuid = self.g.uuid();
        self.build(Op::StoredCumulantVar(StoredCumulantVar { orders, uuid }), children)
    }
}
