//! The floor under the gate: the records the gate reads ([`access`], [`records`]) and the gate
//! itself ([`scope`]): the capabilities a use case takes and the one write path.

pub mod access;
pub mod account;
pub mod records;
pub mod scope;
pub mod seats;
