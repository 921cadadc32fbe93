//! Per-node boolean facts, computed as the AND over children and adjusted per kind.

use std::fmt;

/// Node flags: constant, explicitly computable, can be sampled, use autoname.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags(u8);

const IS_CONSTANT: u8 = 1;
const IS_EXPLICITLY_COMPUTABLE: u8 = 2;
const CAN_BE_SAMPLED: u8 = 4;
const USE_AUTONAME: u8 = 8;

impl Flags {
    /// All flags set (the identity for AND-combination).
    pub const ALL: Flags =
        Flags(IS_CONSTANT | IS_EXPLICITLY_COMPUTABLE | CAN_BE_SAMPLED | USE_AUTONAME);

    /// The raw bits (stable: hashed into node identity).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Not random: has no DiscreteVar/StoredCumulantVar below except inside a Cumulant.
    pub fn is_constant(self) -> bool {
        self.0 & IS_CONSTANT != 0
    }

    /// No free Symbol (or other non-computable node) below.
    pub fn is_explicitly_computable(self) -> bool {
        self.0 & IS_EXPLICITLY_COMPUTABLE != 0
    }

    /// The sampler can replace every variable below.
    pub fn can_be_sampled(self) -> bool {
        self.0 & CAN_BE_SAMPLED != 0
    }

    /// Ancestors built on this node get automatic names.
    pub fn use_autoname(self) -> bool {
        self.0 & USE_AUTONAME != 0
    }

    pub(crate) fn and(self, other: Flags) -> Flags {
        Flags(self.0 & other.0)
    }

    fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }

    pub(crate) fn set_constant(&mut self, on: bool) {
        self.set(IS_CONSTANT, on);
    }

    pub(crate) fn set_explicitly_computable(&mut self, on: bool) {
        self.set(IS_EXPLICITLY_COMPUTABLE, on);
    }

    pub(crate) fn set_can_be_sampled(&mut self, on: bool) {
        self.set(CAN_BE_SAMPLED, on);
    }

    pub(crate) fn set_use_autoname(&mut self, on: bool) {
        self.set(USE_AUTONAME, on);
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flags")
            .field("constant", &self.is_constant())
            .field("explicitly_computable", &self.is_explicitly_computable())
            .field("can_be_sampled", &self.can_be_sampled())
            .field("use_autoname", &self.use_autoname())
            .finish()
    }
}
