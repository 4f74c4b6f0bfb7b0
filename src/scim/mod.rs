//! SCIM 2.0 (RFC 7643, RFC 7644), the protocol side: what clients such as Okta and Microsoft
//! Entra send, read into Charter's terms before any organization is touched, and the errors
//! they are answered with: the filter language, PATCH, the resources' schemas and the checks
//! on what a client sends. The endpoints (`crate::http`) and the use cases
//! (`crate::services::organization::scim`) build on them.

pub mod document;
pub mod error;
pub mod filter;
pub mod patch;
pub mod schema;
