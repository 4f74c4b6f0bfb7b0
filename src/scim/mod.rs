//! SCIM 2.0 (RFC 7643, RFC 7644), the protocol side: what clients such as Okta and Microsoft
//! Entra send, read into Charter's terms before any organization is touched, and the errors
//! they are answered with. So far the filter language and the error shape; the endpoints build
//! on them.

pub mod error;
pub mod filter;
