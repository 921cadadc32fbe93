//! Small payloads: SetSymbolicShape, Tag and StoredCumulantVar.

use uuid::Uuid;

use crate::Shape;

/// A SetSymbolicShape's payload: the shape its child is asserted to have.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetSymbolicShape {
    /// The asserted shape.
    pub shape: Shape,
}

/// A Tag's payload: a uuid making otherwise equal circuits distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The identity.
    pub uuid: Uuid,
}

/// A StoredCumulantVar's payload: which cumulant orders the children hold, and a uuid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredCumulantVar {
    /// Orders, ascending; must include 1 and 2, never 0.
    pub orders: Vec<usize>,
    /// The identity.
    pub uuid: Uuid,
}
