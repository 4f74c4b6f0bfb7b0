//! Webhooks: what leaves Charter when its audit log records a change. So far the signature
//! every delivery carries ([`signature`]) and the check of an endpoint's URL ([`endpoint_url`]);
//! endpoints, the outbox and delivery come next.

pub mod endpoint_url;
pub mod signature;
