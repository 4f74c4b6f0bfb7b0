//! SCIM 2.0 (RFC 7643, RFC 7644), the protocol side: what clients such as Okta and Microsoft
//! Entra send, read into Charter's terms before any organization is touched. So far the
//! filter language; the endpoints build on it.

pub mod filter;
