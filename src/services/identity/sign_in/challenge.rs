//! The second factor of a sign-in, and of a session's step-up: the challenge a sign-in answers
//! before it gets tokens, and its answer (a TOTP code, a recovery code or a security key's
//! assertion), checked under the per-account throttle.

use chrono::{DateTime, Utc};
use entity::{mfa_challenge, session, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::method::SignInMethod;
use super::session::{self as sessions, Tokens};
use crate::auth::Principal;
use crate::auth::tokens::{hash_token, new_refresh_token};
use crate::authz::Refusal;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::identity::credentials::{clear_attempts, reserve_attempt};
use crate::services::identity::mfa::{self, CHALLENGE_TTL, recovery, webauthn};
use crate::services::identity::users::UserRecord;
use crate::services::store::scope::{claim_once, write_unrecorded};
use crate::services::store::scope::{record, write};
use crate::services::{AppState, RequestMeta};

/// A sign-in (or a session's step-up) waiting for a second factor.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// `totp`, `webauthn`, `recovery_code`: what the user has.
    pub methods: Vec<&'static str>,
    /// For a user with security keys: the options for `navigator.credentials.get`, JSON.
    pub webauthn_options: Option<String>,
    pub user: UserRecord,
    pub organization_id: Option<Uuid>,
}

/// A challenge for the caller's own session, to prove a second factor again before a
/// sensitive change (a step-up).
pub async fn step_up_challenge(state: &AppState, principal: &Principal) -> ApiResult<Challenge> {
    // A key has no session: it is refused here with the key's refusal.
    let session_id = principal.session_id()?;
    let user = user::Entity::find_by_id(principal.user_id()?)
        .one(&state.db)
        .await?
        .ok_or(Refusal::SessionEnded)?;
    if !user.mfa_enabled {
        return Err(ApiError::invalid(
            "challenge",
            "you have no second factor to verify; enroll one with beginTotpEnrollment",
        ));
    }
    let session = session::Entity::find_by_id(session_id)
        .one(&state.db)
        .await?
        .ok_or(Refusal::SessionEnded)?;
    let method = SignInMethod {
        method: session.auth_method.clone(),
        idp_issuer: session.idp_issuer.clone(),
        idp_organization_id: session.idp_organization_id,
        amr: session.amr.clone(),
        mfa_at: None,
        link_subject: None,
    };
    new_challenge(
        state,
        &user,
        Some(session_id),
        session.organization_id,
        &method,
    )
    .await
}

/// What a person answers a challenge with: exactly one of them.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
    /// A security key's assertion (`navigator.credentials.get`'s answer), JSON.
    pub webauthn_response: Option<String>,
}

/// Answers a challenge: a TOTP code (accepted once) or a recovery code (used up). A right
/// answer opens the session (or, for a step-up, refreshes the session's second-factor time
/// and issues it new tokens); a wrong one is counted by the account's throttle and recorded.
pub async fn verify(
    state: &AppState,
    token: &str,
    answer: Answer,
    meta: &RequestMeta,
) -> ApiResult<Tokens> {
    checked_answer(token, &answer)?;
    let stale = || ApiError::from(Refusal::ChallengeGone);
    let hash = hash_token(token.trim());
    let challenge = mfa_challenge::Entity::find_by_id(hash.clone())
        .one(&state.db)
        .await?
        .filter(|challenge| challenge.expires_at > Utc::now())
        .ok_or_else(stale)?;
    let user = user::Entity::find_by_id(challenge.user_id)
        .one(&state.db)
        .await?
        .filter(|user| user.status == crate::services::identity::users::ACTIVE)
        .ok_or_else(stale)?;
    let throttle = mfa::throttle_key(user.id);
    reserve_attempt(&state.db, &throttle).await?;
    let actor = Actor::user(&user, meta);
    let Some(proved) = proved_factor(state, &user, &challenge, &answer).await? else {
        return Err(wrong_answer(state, &user, actor).await?);
    };
    // The challenge works once: of parallel right answers, one wins.
    let claim =
        mfa_challenge::Entity::delete_many().filter(mfa_challenge::Column::TokenHash.eq(hash));
    if !claim_once(&state.db, claim).await? {
        return Err(stale());
    }
    clear_attempts(&state.db, &throttle).await?;
    let recovery_event = (answer.recovery_code.is_some()).then(|| {
        Event::new(
            Scope::User(user.id),
            Action::MfaRecoveryCodeUsed,
            format!("{} used a recovery code", user.email),
        )
        .target("user", user.id)
    });
    let way_in = SignInMethod {
        method: challenge.auth_method.clone(),
        idp_issuer: challenge.idp_issuer.clone(),
        idp_organization_id: challenge.idp_organization_id,
        amr: challenge.amr.clone(),
        mfa_at: None,
        link_subject: challenge.link_subject.clone(),
    }
    .with_second_factor(proved);
    match challenge.session_id {
        Some(session_id) => step_up(state, &actor, user, session_id, way_in, recovery_event).await,
        None => {
            let email = user.email.clone();
            let user_id = user.id;
            sessions::open(state, user, challenge.organization_id, way_in, meta, |session| {
                let mut events = vec![
                    Event::new(
                        Scope::User(user_id),
                        Action::SessionLogin,
                        format!("{email} signed in with a second factor"),
                    )
                    .target("session", session.id)
                    .payload(json!({ "organizationId": session.organization_id, "amr": session.amr })),
                ];
                events.extend(recovery_event);
                events
            })
            .await
            .inspect(|_| crate::metrics::metrics().sign_in("second_factor", "session"))
        }
    }
}

/// The answer's bounds: the challenge and each code one bounded line, and exactly one answer.
fn checked_answer(token: &str, answer: &Answer) -> ApiResult<()> {
    text::check("challenge", TextKind::Line, token, mfa::MAX_CODE)?;
    for (field, code) in [
        ("totpCode", &answer.totp_code),
        ("recoveryCode", &answer.recovery_code),
    ] {
        if let Some(code) = code {
            text::check(field, TextKind::Line, code, mfa::MAX_CODE)?;
        }
    }
    if let Some(response) = &answer.webauthn_response {
        text::check(
            "webauthnResponse",
            TextKind::Line,
            response,
            webauthn::MAX_RESPONSE,
        )?;
    }
    let given = [
        answer.totp_code.is_some(),
        answer.recovery_code.is_some(),
        answer.webauthn_response.is_some(),
    ];
    if given.iter().filter(|given| **given).count() != 1 {
        return Err(ApiError::invalid(
            "totpCode",
            "give exactly one of totpCode, recoveryCode and webauthnResponse",
        ));
    }
    Ok(())
}

/// The method (`otp`, `hwk`) the answer proved, when it is right: an app's code accepted once,
/// a recovery code used up, or a security key's assertion of this challenge.
async fn proved_factor(
    state: &AppState,
    user: &user::Model,
    challenge: &mfa_challenge::Model,
    answer: &Answer,
) -> ApiResult<Option<&'static str>> {
    Ok(if let Some(code) = &answer.totp_code {
        mfa::accept_totp(state, user.id, code)
            .await?
            .then_some("otp")
    } else if let Some(code) = &answer.recovery_code {
        recovery::consume(&state.db, user.id, code)
            .await?
            .then_some("otp")
    } else if let Some(response) = &answer.webauthn_response {
        let kept = challenge.webauthn_state.as_deref();
        webauthn::accept_assertion(state, user.id, kept, response)
            .await?
            .then_some("hwk")
    } else {
        None
    })
}

/// Records a wrong answer among the account's security events (as nobody's: whoever gave it
/// is not known to be the person) and answers the refusal.
async fn wrong_answer(state: &AppState, user: &user::Model, actor: Actor) -> ApiResult<ApiError> {
    crate::metrics::metrics().sign_in("second_factor", "refused");
    let event = Event::new(
        Scope::User(user.id),
        Action::MfaVerifyFailed,
        format!("a wrong second-factor code was given for {}", user.email),
    )
    .target("user", user.id);
    let nobody = Actor {
        user_id: None,
        email: None,
        ..actor
    };
    record(&state.db, &nobody, vec![event]).await?;
    Ok(ApiError::unauthenticated("the code is not valid"))
}

/// A session's second factor proved again: its time is now, its methods include the factor,
/// its refresh tokens are retired and it gets new tokens.
async fn step_up(
    state: &AppState,
    actor: &Actor,
    user: user::Model,
    session_id: Uuid,
    way_in: SignInMethod,
    recovery_event: Option<Event>,
) -> ApiResult<Tokens> {
    let (session, refresh_token) = write(&state.db, actor, async |txn| {
        let found = session::Entity::find_by_id(session_id)
            .one(txn)
            .await?
            .filter(|session| session.revoked_at.is_none() && session.expires_at > Utc::now())
            .ok_or(Refusal::SessionEnded)?;
        let mut active: session::ActiveModel = found.into();
        active.mfa_at = Set(way_in.mfa_at);
        active.amr = Set(way_in.amr.clone());
        let session = active.update(txn).await?;
        let mut events = vec![
            Event::new(
                Scope::User(user.id),
                Action::SessionMfaVerified,
                format!("{} verified a second factor in a session", user.email),
            )
            .target("session", session.id),
        ];
        events.extend(recovery_event);
        let refresh_token = sessions::renew_refresh_token(txn, state, &session).await?;
        Ok(((session, refresh_token), events))
    })
    .await?;
    sessions::tokens(state, user, &session, refresh_token)
}

pub(super) async fn new_challenge(
    state: &AppState,
    user: &user::Model,
    session_id: Option<Uuid>,
    organization_id: Option<Uuid>,
    method: &SignInMethod,
) -> ApiResult<Challenge> {
    let token = format!("cmc_{}", &new_refresh_token()[4..]);
    let now = Utc::now();
    let expires_at = now + CHALLENGE_TTL;
    let found = mfa::factors(&state.db, user.id).await?;
    let assertion = webauthn::start_assertion(state, &found)?;
    let (webauthn_options, webauthn_state) = match assertion {
        Some((options, kept)) => (Some(options), Some(kept)),
        None => (None, None),
    };
    let row = mfa_challenge::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(user.id),
        session_id: Set(session_id),
        organization_id: Set(organization_id),
        auth_method: Set(method.method.clone()),
        idp_issuer: Set(method.idp_issuer.clone()),
        idp_organization_id: Set(method.idp_organization_id),
        amr: Set(method.amr.clone()),
        webauthn_state: Set(webauthn_state),
        link_subject: Set(method.link_subject.clone()),
        created_at: Set(now),
        expires_at: Set(expires_at),
    };
    // Challenges nobody answered go when the next one is made.
    write_unrecorded(&state.db, async |txn| {
        mfa_challenge::Entity::delete_many()
            .filter(mfa_challenge::Column::ExpiresAt.lt(now))
            .exec(txn)
            .await?;
        row.insert(txn).await?;
        Ok(())
    })
    .await?;
    Ok(Challenge {
        token,
        expires_at,
        methods: mfa::methods(&found),
        webauthn_options,
        user: user.clone().into(),
        organization_id,
    })
}
