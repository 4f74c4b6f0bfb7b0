//! Sign-in, one pipeline with one door: a first factor (a password, a single sign-on's
//! assertion; next SAML, LDAP, a client certificate) proves who someone is and how
//! ([`SignInMethod`]); [`sign_in`] then asks for their second factor when they have one and the
//! sign-in has not proved it, or opens the session. Adding a way to sign in is adding a first
//! factor, nothing else.

pub mod challenge;
pub mod landing;
pub mod method;
pub mod session;

use entity::{session as session_row, user};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::services::audit::Event;
use crate::services::{AppState, RequestMeta};
pub use challenge::Challenge;
pub use method::SignInMethod;
pub use session::Tokens;

/// What a sign-in answers: tokens, or a challenge for the second factor.
#[derive(Debug, Clone)]
pub enum SignIn {
    Session(Tokens),
    Challenge(Challenge),
}

/// Signs `user`, whose first factor `method` proved, in: decides where the session lands and
/// applies single sign-on's enforcement there ([`landing`]), then opens the session, or, when
/// the user has a second factor that this sign-in has not proved, a challenge for it instead.
pub async fn sign_in(
    state: &AppState,
    user: user::Model,
    organization_id: Option<Uuid>,
    method: SignInMethod,
    meta: &RequestMeta,
    describe: impl FnOnce(&session_row::Model) -> Vec<Event>,
) -> ApiResult<SignIn> {
    let counted = method.metric_label();
    let organization_id = landing::landing(state, &user, organization_id, &method, meta)
        .await
        .inspect_err(|_| crate::metrics::metrics().sign_in(counted, "refused"))?;
    if !user.mfa_enabled || method.mfa_at.is_some() {
        let tokens = session::open(state, user, organization_id, method, meta, describe).await?;
        crate::metrics::metrics().sign_in(counted, "session");
        return Ok(SignIn::Session(tokens));
    }
    let challenge = challenge::new_challenge(state, &user, None, organization_id, &method).await?;
    crate::metrics::metrics().sign_in(counted, "challenge");
    Ok(SignIn::Challenge(challenge))
}
