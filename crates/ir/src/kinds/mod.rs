//! Payload types, one file per kind (or per small family of kinds).

mod concat;
mod conv;
mod einsum;
mod general_function;
mod gf_parse;
mod index;
mod leaf;
mod misc;
mod module;
mod rearrange;
mod rearrange_parse;

pub use concat::Concat;
pub use conv::Conv;
pub use einsum::{label_char, label_from_char, Axes, Einsum};
pub use general_function::{DeviceDtype, GeneralFunction, GfSpec, ShapeInfo, SimpleFn};
pub use index::{Index, IndexTensor, Scatter, Slice, TensorAxisIndex};
pub use leaf::{Array, Scalar, Symbol, TensorLoader};
pub use misc::{SetSymbolicShape, StoredCumulantVar, Tag};
pub use module::{Module, ModuleArgSpec};
pub use rearrange::{Group, Rearrange, RearrangeSpec};
