//! sea-orm entities: the database shape, nothing else. Behaviour lives in the
//! `charter` crate's services, never here.

pub mod api_key;
pub mod audit_checkpoint;
pub mod audit_event;
pub mod audit_head;
pub mod invitation;
pub mod key_fingerprint;
pub mod list;
pub mod list_entry;
pub mod login_throttle;
pub mod membership;
pub mod mfa_challenge;
pub mod mfa_factor;
pub mod organization;
pub mod organization_domain;
pub mod recovery_code;
pub mod refresh_token;
pub mod role;
pub mod saml_assertion_used;
pub mod scim_group;
pub mod scim_group_member;
pub mod sealing_key;
pub mod service_account;
pub mod session;
pub mod share_partner;
pub mod signing_key;
pub mod sso_code;
pub mod sso_connection;
pub mod sso_identity;
pub mod sso_login;
pub mod sso_refusal_tally;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
