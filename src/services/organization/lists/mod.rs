//! User-defined lists: an organization's lists of values of one kind (addresses, hashes …).
//!
//! A list belongs to one organization and only its members change it. When the list is
//! `shared`, members of every organization its owner picked as a share partner read it (with
//! `list: read` in their own organization); they cannot change or re-share it. Who sees a shared
//! list is decided on each request from the partner rows and the list's flag, so unsharing or
//! removing a partner hides it on the very next request.
//!
//! Each concern has its own file; everything callers use is re-exported here, so a caller
//! names `services::organization::lists::create` and never the file it lives in.

mod change;
mod entries;
mod entry_pages;
mod export;
mod lifecycle;
mod pages;
mod reading;
mod record;
mod sharing;

pub use crate::services::store::scope::Admitted;
pub use entries::{
    EntriesChange, MAX_REPORTED_INVALID, MAX_VALUES_PER_CALL, NewEntry, add_entries, remove_entries,
};
pub use entry_pages::{EntryQuery, count_prefix, entry_pages};
pub use export::entries_after;
pub use lifecycle::{create, delete, update};
pub use pages::{load, page, shared_with};
pub use reading::{EntryKey, ListRead, Readable, open, readable_through_sharing};
pub use record::{EntryRecord, ListRecord};
pub(crate) use sharing::partners;
pub use sharing::{add_partner, partners_of, remove_partner, set_shared};
