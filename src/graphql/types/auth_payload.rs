//! `AuthPayload`: what a sign-in or a refresh returns: a session's tokens, or, for a user with
//! a second factor, the challenge that stands before them.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use super::{Organization, User};
use crate::error::ApiResult;
use crate::services::identity::sign_in::Tokens;
use crate::services::identity::sign_in::{Challenge, SignIn};

/// A session's tokens, or a challenge for the second factor (then no tokens).
pub struct AuthPayload(pub SignIn);

impl From<Tokens> for AuthPayload {
    fn from(tokens: Tokens) -> Self {
        Self(SignIn::Session(tokens))
    }
}

impl AuthPayload {
    fn tokens(&self) -> Option<&Tokens> {
        match &self.0 {
            SignIn::Session(tokens) => Some(tokens),
            SignIn::Challenge(_) => None,
        }
    }

    /// Who signed in, and what their session proved (none while a challenge waits).
    pub fn signed_in(&self) -> (uuid::Uuid, Option<crate::authz::Proof>) {
        match &self.0 {
            SignIn::Session(tokens) => (tokens.user.id, Some(tokens.proof)),
            SignIn::Challenge(challenge) => (challenge.user.id, None),
        }
    }
}

#[Object]
impl AuthPayload {
    /// A signed JWT (EdDSA) to send as `Authorization: Bearer …`; none while a second factor
    /// is awaited (`mfaChallenge`).
    async fn access_token(&self) -> Option<&str> {
        self.tokens().map(|tokens| tokens.access_token.as_str())
    }

    /// Exchange it once with `refreshSession` for new tokens.
    async fn refresh_token(&self) -> Option<&str> {
        self.tokens().map(|tokens| tokens.refresh_token.as_str())
    }

    /// When the access token expires.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.tokens().map(|tokens| tokens.expires_at)
    }

    /// The second factor to give `verifyMfa` before tokens are issued; none when the sign-in
    /// is complete.
    async fn mfa_challenge(&self) -> Option<MfaChallenge> {
        match &self.0 {
            SignIn::Challenge(challenge) => Some(MfaChallenge(challenge.clone())),
            SignIn::Session(_) => None,
        }
    }

    async fn user(&self) -> User {
        let user = match &self.0 {
            SignIn::Session(tokens) => tokens.user.clone(),
            SignIn::Challenge(challenge) => challenge.user.clone(),
        };
        User::new(user, None)
    }

    /// The session's active organization (none until a challenge is answered).
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let Some(org) = self.tokens().and_then(|tokens| tokens.organization_id) else {
            return Ok(None);
        };
        Organization::of_viewer(ctx, org).await
    }
}

/// A sign-in (or a step-up) waiting for a second factor: answer it with `verifyMfa`.
pub struct MfaChallenge(pub Challenge);

#[Object]
impl MfaChallenge {
    /// Single-use, and short-lived: give it to `verifyMfa`.
    async fn token(&self) -> &str {
        &self.0.token
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// How it can be answered: `totp`, `webauthn`, `recovery_code`.
    async fn methods(&self) -> Vec<&'static str> {
        self.0.methods.clone()
    }

    /// For a user with security keys: the options to give `navigator.credentials.get` (JSON,
    /// binary fields in unpadded base64url); its answer, as JSON, is `webauthnResponse`.
    async fn webauthn_options(&self) -> Option<&str> {
        self.0.webauthn_options.as_deref()
    }
}
