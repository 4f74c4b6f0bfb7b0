//! Multi-factor authentication: second factors (TOTP; WebAuthn credentials), recovery codes,
//! the challenge a sign-in answers before it gets tokens, the step-up that sensitive changes
//! ask of an old session, an organization's requirement, and an operator's reset.
//!
//! Every code check counts against a per-account throttle shared with passwords' (5 attempts,
//! then growing delays), counted before the code is compared and under a row lock, so parallel
//! attempts cannot slip past it.

pub mod enrollment;
pub mod factors;
pub mod recovery;
pub mod requirement;
pub mod totp;
pub mod webauthn;

pub use enrollment::{
    Enrollment, begin_totp, confirm_totp, enroll_for_demo, regenerate_recovery_codes, remove_totp,
};
pub use factors::{CHALLENGE_TTL, FactorRecord, TOTP, list};
pub(in crate::services) use factors::{MAX_CODE, accept_totp, factors, methods, throttle_key};
pub use requirement::{require_recent, reset};
