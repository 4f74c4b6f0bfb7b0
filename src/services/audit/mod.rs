//! The audit log: each change recorded in its own transaction, hash-chained so tampering shows.
//!
//! Each organization has a chain, and so does each user for their own security events. Each
//! job has its own file; everything callers use is re-exported here, so a caller names
//! `services::audit::record` and never the file it lives in.

mod actor;
mod append;
mod catalog;
mod event;
mod export;
mod hash;
mod purge;
mod record;
mod search;
mod verify;

pub use actor::Actor;
pub use append::record;
pub use catalog::Action;
pub use event::{Event, Scope};
pub(crate) use export::export;
pub use export::to_json;
pub use hash::{GENESIS, canonical_time, hash_of};
pub use purge::purge;
pub use record::{EventRecord, Log, records};
pub use search::{EventPage, Filter, page};
pub use verify::{Broken, verify};
