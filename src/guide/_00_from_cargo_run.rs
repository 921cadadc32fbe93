//! Chapter 0, `docs/GUIDE.md`:
//!
#![doc = include_str!("../../docs/GUIDE.md")]
