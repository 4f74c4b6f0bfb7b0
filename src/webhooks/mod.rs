//! Webhooks: what leaves Charter when its audit log records a change. So far the signature
//! every delivery carries ([`signature`]); endpoints, the outbox and delivery come next.

pub mod signature;
