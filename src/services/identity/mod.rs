//! Who you are and how you got in: accounts, passwords, second factors, the sign-in door with its
//! first factors (password, single sign-on), sessions, key authentication and revocation.
//! Stands on the store; never reaches into an organization's use cases.

pub mod credentials;
pub mod keys;
pub mod mfa;
pub mod revocation;
pub mod sessions;
pub mod sign_in;
pub mod sso;
pub mod users;
