//! The node kinds: [`Kind`] (a plain tag) and [`Op`] (the kind with its payload).
//!
//! Children are not part of the payload; they live in the node. Each payload type is
//! defined in its own file under `kinds/`.

use crate::kinds::{
    Array, Concat, Conv, Einsum, GeneralFunction, Index, Module, Rearrange, Scalar, Scatter,
    SetSymbolicShape, StoredCumulantVar, Symbol, Tag,
};

/// The 17 node kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Kind {
    Array,
    Scalar,
    Symbol,
    Einsum,
    Add,
    Rearrange,
    Index,
    Scatter,
    Concat,
    GeneralFunction,
    Conv,
    Module,
    SetSymbolicShape,
    Tag,
    DiscreteVar,
    StoredCumulantVar,
    Cumulant,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 17] = [
        Kind::Array,
        Kind::Scalar,
        Kind::Symbol,
        Kind::Einsum,
        Kind::Add,
        Kind::Rearrange,
        Kind::Index,
        Kind::Scatter,
        Kind::Concat,
        Kind::GeneralFunction,
        Kind::Conv,
        Kind::Module,
        Kind::SetSymbolicShape,
        Kind::Tag,
        Kind::DiscreteVar,
        Kind::StoredCumulantVar,
        Kind::Cumulant,
    ];

    /// The name used in the text format (`Einsum`, `GeneralFunction`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Array => "Array",
            Kind::Scalar => "Scalar",
            Kind::Symbol => "Symbol",
            Kind::Einsum => "Einsum",
            Kind::Add => "Add",
            Kind::Rearrange => "Rearrange",
            Kind::Index => "Index",
            Kind::Scatter => "Scatter",
            Kind::Concat => "Concat",
            Kind::GeneralFunction => "GeneralFunction",
            Kind::Conv => "Conv",
            Kind::Module => "Module",
            Kind::SetSymbolicShape => "SetSymbolicShape",
            Kind::Tag => "Tag",
            Kind::DiscreteVar => "DiscreteVar",
            Kind::StoredCumulantVar => "StoredCumulantVar",
            Kind::Cumulant => "Cumulant",
        }
    }

    /// Looks a kind up by its text-format name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "Array" => Kind::Array,
            "Scalar" => Kind::Scalar,
            "Symbol" => Kind::Symbol,
            "Einsum" => Kind::Einsum,
            "Add" => Kind::Add,
            "Rearrange" => Kind::Rearrange,
            "Index" => Kind::Index,
            "Scatter" => Kind::Scatter,
            "Concat" => Kind::Concat,
            "GeneralFunction" => Kind::GeneralFunction,
            "Conv" => Kind::Conv,
            "Module" => Kind::Module,
            "SetSymbolicShape" => Kind::SetSymbolicShape,
            "Tag" => Kind::Tag,
            "DiscreteVar" => Kind::DiscreteVar,
            "StoredCumulantVar" => Kind::StoredCumulantVar,
            "Cumulant" => Kind::Cumulant,
            _ => return None,
        })
    }

    /// Leaves: Array, Scalar, Symbol.
    pub fn is_leaf(self) -> bool {
        matches!(self, Kind::Array | Kind::Scalar | Kind::Symbol)
    }

    /// Random variables: DiscreteVar, StoredCumulantVar.
    pub fn is_var(self) -> bool {
        matches!(self, Kind::DiscreteVar | Kind::StoredCumulantVar)
    }

    /// A stable 16-byte tag per kind, hashed into every node.
    pub(crate) fn type_tag(self) -> [u8; 16] {
        let mut tag = *b"circuit-kind-\0\0\0";
        tag[13] = self as u8;
        tag
    }
}

/// A kind together with its payload.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Op {
    Array(Array),
    Scalar(Scalar),
    Symbol(Symbol),
    Einsum(Einsum),
    Add,
    Rearrange(Rearrange),
    Index(Index),
    Scatter(Scatter),
    Concat(Concat),
    GeneralFunction(GeneralFunction),
    Conv(Conv),
    Module(Module),
    SetSymbolicShape(SetSymbolicShape),
    Tag(Tag),
    DiscreteVar,
    StoredCumulantVar(StoredCumulantVar),
    Cumulant,
}

impl Op {
    /// The kind tag.
    pub fn kind(&self) -> Kind {
        match self {
            Op::Array(_) => Kind::Array,
            Op::Scalar(_) => Kind::Scalar,
            Op::Symbol(_) => Kind::Symbol,
            Op::Einsum(_) => Kind::Einsum,
            Op::Add => Kind::Add,
            Op::Rearrange(_) => Kind::Rearrange,
            Op::Index(_) => Kind::Index,
            Op::Scatter(_) => Kind::Scatter,
            Op::Concat(_) => Kind::Concat,
            Op::GeneralFunction(_) => Kind::GeneralFunction,
            Op::Conv(_) => Kind::Conv,
            Op::Module(_) => Kind::Module,
            Op::SetSymbolicShape(_) => Kind::SetSymbolicShape,
            Op::Tag(_) => Kind::Tag,
            Op::DiscreteVar => Kind::DiscreteVar,
            Op::StoredCumulantVar(_) => Kind::StoredCumulantVar,
            Op::Cumulant => Kind::Cumulant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("add"), None);
        assert_eq!(Kind::from_name(""), None);
    }
}
