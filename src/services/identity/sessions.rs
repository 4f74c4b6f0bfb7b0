//! Logins, rotating refresh tokens, logout, organization switching, and establishing the
//! principal of a request from its bearer token.

use chrono::{DateTime, Utc};
use entity::{refresh_token, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::tokens::hash_token;
use crate::authz::Refusal;
use crate::domain::Email;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::identity::credentials::{self, PasswordCheck};
use crate::services::identity::sign_in::landing::password_standing_event;
use crate::services::identity::sign_in::method::{SignInMethod, proof_of};
use crate::services::identity::sign_in::session::{
    Tokens, issue_refresh_token, renew_refresh_token, tokens,
};
use crate::services::identity::sign_in::{self, SignIn};
use crate::services::identity::sso::{self, enforcement};
use crate::services::store::account::OwnAccount;
use crate::services::store::records;
use crate::services::store::scope::{claim_once, write, write_recording};
use crate::services::{AppState, RequestMeta, identity::revocation, identity::users};
use serde_json::json;

/// The answer for an unknown email, a wrong password and a disabled account alike.
const BAD_CREDENTIALS: &str = "the email or password is incorrect";

/// Establishes who is calling from an `Authorization` header value, checking the token and then
/// that its session is live and its user active: a logout, a revocation or a disabled account
/// takes effect on the very next request.
pub async fn authenticate(state: &AppState, authorization: Option<&str>) -> ApiResult<Principal> {
    let Some(header) = authorization else {
        return Ok(Principal::Anonymous);
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Ok(Principal::Rejected(
            "the Authorization header must be `Bearer <access token or API key>`".into(),
        ));
    };
    let token = token.trim();
    if crate::auth::api_keys::looks_like_key(token) {
        return super::keys::authenticate(state, token).await;
    }
    let verified = match state.tokens.verify_access(token) {
        Ok(verified) => verified,
        Err(err) => return Ok(Principal::Rejected(err.message)),
    };
    // The session and its user in one statement: every authenticated request reads both.
    let Some((session, user)) = session::Entity::find_by_id(verified.session_id)
        .find_also_related(user::Entity)
        .one(&state.db)
        .await?
    else {
        return Ok(Principal::Rejected(Refusal::SessionEnded.message()));
    };
    if session.revoked_at.is_some()
        || session.expires_at <= Utc::now()
        || session.user_id != verified.user_id
    {
        return Ok(Principal::Rejected(Refusal::SessionEnded.message()));
    }
    match user {
        Some(user) if user.status == users::ACTIVE => Ok(Principal::User {
            user: user.into(),
            session_id: session.id,
            organization_id: session.organization_id,
            mfa_at: session.mfa_at,
            proof: proof_of(&session),
        }),
        _ => Ok(Principal::Rejected(Refusal::SessionEnded.message())),
    }
}

/// Checks an email and password and signs the person in, through the one door
/// ([`sign_in::sign_in`]), to `organization_id`, or else their default organization, or else
/// their oldest membership, or none: a session, or a challenge for their second factor.
pub async fn login(
    state: &AppState,
    email: &str,
    password_text: String,
    organization_id: Option<Uuid>,
    meta: &RequestMeta,
) -> ApiResult<SignIn> {
    let parsed = Email::parse("email", email)?;
    let counted =
        match sso::ldap::sign_in(state, &parsed, &password_text, organization_id, meta).await? {
            sso::ldap::Outcome::SignedIn(signed) => return Ok(*signed),
            sso::ldap::Outcome::Refused => true,
            sso::ldap::Outcome::NotCovered => false,
        };
    let user = password_holder(state, &parsed, password_text, counted, meta)
        .await
        .inspect_err(|err| {
            let outcome = match err.code {
                crate::error::ErrorCode::RateLimited => "throttled",
                _ => "refused",
            };
            crate::metrics::metrics().sign_in("password", outcome);
        })?;
    if let Some(org) = organization_id {
        records::active_membership(&state.db, user.id, org)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
    }
    let (user_id, email) = (user.id, user.email.clone());
    let signed = sign_in::sign_in(
        state,
        user,
        organization_id,
        SignInMethod::password(),
        meta,
        |session| {
            vec![
                Event::new(
                    Scope::User(user_id),
                    Action::SessionLogin,
                    format!("{email} signed in"),
                )
                .target("session", session.id)
                .payload(json!({ "organizationId": session.organization_id })),
            ]
        },
    )
    .await?;
    tracing::info!(user = %user_id, "login");
    Ok(signed)
}

/// The active person whose password `password_text` is, checked under the throttle (already
/// `counted` when the organization's directory was asked first); the same UNAUTHENTICATED for
/// an unknown email, a wrong password and a disabled account or a service account.
async fn password_holder(
    state: &AppState,
    email: &Email,
    password_text: String,
    counted: bool,
    meta: &RequestMeta,
) -> ApiResult<user::Model> {
    let user = users::find_by_email(&state.db, email).await?;
    let (found, purpose) = (user.as_ref(), PasswordCheck::SignIn);
    let checked = if counted {
        credentials::check_counted_password(state, email, found, password_text, purpose, meta)
            .await?
    } else {
        credentials::check_password(state, email, found, password_text, purpose, meta).await?
    };
    match user {
        Some(user) if checked && user.status == users::ACTIVE && user.kind == users::HUMAN => {
            Ok(user)
        }
        Some(user) => {
            if checked {
                // The right password of a disabled account is still a refused sign-in.
                credentials::record_failed_check(state, &user, PasswordCheck::SignIn, meta).await?;
            }
            Err(ApiError::unauthenticated(BAD_CREDENTIALS))
        }
        None => Err(ApiError::unauthenticated(BAD_CREDENTIALS)),
    }
}

/// Exchanges a refresh token for new tokens. Each refresh token works once: presenting one that
/// was already used revokes the whole session, since one of its holders is not the user.
pub async fn refresh(state: &AppState, presented: &str, meta: &RequestMeta) -> ApiResult<Tokens> {
    let hash = hash_token(presented.trim());
    let (user, session, refresh_token) = write_recording(&state.db, async |txn| {
        let token = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(txn)
            .await?
            .ok_or_else(invalid_refresh)?;
        let now = Utc::now();
        // Mark the token used only if nobody has; losing this race is the same as reuse.
        let claim = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(token.id))
            .filter(refresh_token::Column::UsedAt.is_null());
        if !claim_once(txn, claim).await? {
            // Retired by a renewal of the session (read again: it may have happened since).
            let retired = refresh_token::Entity::find_by_id(token.id)
                .one(txn)
                .await?
                .is_some_and(|token| token.retired_at.is_some());
            if retired {
                return Ok((Err(invalid_refresh()), vec![]));
            }
            let events = revoke_on_reuse(txn, token.session_id, meta).await?;
            tracing::warn!(session = %token.session_id, "refresh token reused; session revoked");
            return Ok((Err(invalid_refresh()), events));
        }
        let (user, session) = refreshed_session(txn, &token, now).await?;
        if let Some(refused) = refused_by_enforcement(txn, state, &user, &session, meta).await? {
            return Ok((Err(refused.0), refused.1));
        }
        let refresh_token = issue_refresh_token(txn, state, &session).await?;
        let event = Event::new(
            Scope::User(user.id),
            Action::SessionRefreshed,
            format!("{} refreshed a session", user.email),
        )
        .target("session", session.id);
        let actor = Actor::user(&user, meta);
        Ok((Ok((user, session, refresh_token)), vec![(actor, event)]))
    })
    .await??;
    tokens(state, user, &session, refresh_token)
}

/// A password session in an organization that now enforces single sign-on over its user (it
/// was opened before enforcement began) ends instead of refreshing, unless its user is an
/// owner there; the refusal is audited.
async fn refused_by_enforcement(
    txn: &impl ConnectionTrait,
    state: &AppState,
    user: &user::Model,
    session: &session::Model,
    meta: &RequestMeta,
) -> ApiResult<Option<(ApiError, Vec<(Actor, Event)>)>> {
    let Some(org) = session.organization_id else {
        return Ok(None);
    };
    if enforcement::through_sso_of(session, org) {
        return Ok(None);
    }
    let standing = enforcement::standing_of(txn, &state.policy, user.id, &user.email, org).await?;
    if standing != enforcement::Standing::Refused {
        return Ok(None);
    }
    revocation::revoke(txn, session.id, "single sign-on enforced").await?;
    let event = Event::new(
        Scope::Organization(org),
        Action::SsoPasswordRefused,
        format!(
            "{}'s password session was ended: single sign-on is enforced",
            user.email
        ),
    )
    .target("session", session.id);
    Ok(Some((
        enforcement::refusal(txn, org, ErrorCode::Unauthenticated).await?,
        vec![(Actor::user(user, meta), event)],
    )))
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthenticated("the refresh token is not valid")
}

/// The live session and active user of a refresh token just claimed; its active organization
/// stays only while the user is still a member of it.
async fn refreshed_session(
    txn: &impl ConnectionTrait,
    token: &refresh_token::Model,
    now: DateTime<Utc>,
) -> ApiResult<(user::Model, session::Model)> {
    let session = session::Entity::find_by_id(token.session_id)
        .one(txn)
        .await?
        .ok_or_else(invalid_refresh)?;
    if token.expires_at <= now || session.revoked_at.is_some() || session.expires_at <= now {
        return Err(invalid_refresh());
    }
    let user = user::Entity::find_by_id(session.user_id)
        .one(txn)
        .await?
        .filter(|user| user.status == users::ACTIVE)
        .ok_or_else(invalid_refresh)?;
    let mut session = session;
    if let Some(org) = session.organization_id
        && records::active_membership(txn, user.id, org)
            .await?
            .is_none()
    {
        let mut active: session::ActiveModel = session.into();
        active.organization_id = Set(None);
        session = active.update(txn).await?;
    }
    Ok((user, session))
}

/// A used refresh token presented again: one of its holders is not the user, so the session
/// ends, and its user's security events say so (as nobody's: the presenter is unknown).
async fn revoke_on_reuse(
    txn: &impl ConnectionTrait,
    session_id: Uuid,
    meta: &RequestMeta,
) -> ApiResult<Vec<(Actor, Event)>> {
    revocation::revoke(txn, session_id, "refresh token reuse").await?;
    let Some(session) = session::Entity::find_by_id(session_id).one(txn).await? else {
        return Ok(vec![]);
    };
    let nobody = Actor {
        user_id: None,
        email: None,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        api_key_id: None,
    };
    let event = Event::new(
        Scope::User(session.user_id),
        Action::SessionRefreshTokenReused,
        "a used refresh token was presented again; the session was revoked",
    )
    .target("session", session.id);
    Ok(vec![(nobody, event)])
}

/// Revokes the caller's session: its access tokens stop working on the next request.
pub async fn logout(state: &AppState, actor: &Actor, principal: &Principal) -> ApiResult<()> {
    let user_id = principal.user_id()?;
    let session_id = principal.session_id()?;
    write(&state.db, actor, async |txn| {
        revocation::revoke(txn, session_id, "logout").await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::SessionLogout,
            format!("{} signed out", actor.name()),
        )
        .target("session", session_id);
        Ok(((), vec![event]))
    })
    .await
}

/// Whether the session `session_id` may move into `organization_id`: what it proved must reach
/// there (a provider-bound session does not; a required second factor must be proved), and
/// single sign-on's enforcement applies as at sign-in. The events it records (a break glass).
async fn entering(
    state: &AppState,
    actor: &Actor,
    session_id: Uuid,
    user_id: Uuid,
    organization_id: Uuid,
) -> ApiResult<Vec<Event>> {
    let current = session::Entity::find_by_id(session_id)
        .one(&state.db)
        .await?
        .ok_or(Refusal::SessionEnded)?;
    let proof = proof_of(&current);
    if !proof.reaches(organization_id) {
        return Err(Refusal::ProviderBound.into());
    }
    let requires_mfa = entity::organization::Entity::find_by_id(organization_id)
        .one(&state.db)
        .await?
        .is_some_and(|org| org.mfa_required);
    if requires_mfa && !proof.mfa_in(organization_id) {
        return Err(Refusal::MfaRequired.into());
    }
    if enforcement::through_sso_of(&current, organization_id) {
        return Ok(vec![]);
    }
    let email = actor.email.clone().unwrap_or_default();
    let standing =
        enforcement::standing_of(&state.db, &state.policy, user_id, &email, organization_id)
            .await?;
    Ok(
        password_standing_event(state, actor, &email, organization_id, standing)
            .await?
            .into_iter()
            .collect(),
    )
}

/// Moves the caller's session to another organization they belong to and issues new tokens.
/// Outstanding refresh tokens of the session are retired.
pub async fn switch_organization(
    state: &AppState,
    actor: &Actor,
    principal: &Principal,
    organization_id: Uuid,
) -> ApiResult<Tokens> {
    let user_id = principal.user_id()?;
    let session_id = principal.session_id()?;
    records::active_membership(&state.db, user_id, organization_id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let mut events = entering(state, actor, session_id, user_id, organization_id).await?;
    let (user, session, refresh_token) = write(&state.db, actor, async |txn| {
        let session = session::Entity::find_by_id(session_id)
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::from(Refusal::SessionEnded))?;
        let before = session.organization_id;
        let mut active: session::ActiveModel = session.into();
        active.organization_id = Set(Some(organization_id));
        let session = active.update(txn).await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::SessionOrganizationSwitched,
            format!("{} switched organization", actor.name()),
        )
        .target("session", session_id)
        .payload(json!({ "before": { "organizationId": before }, "after": { "organizationId": organization_id } }));
        let refresh_token = renew_refresh_token(txn, state, &session).await?;
        let user = user::Entity::find_by_id(user_id)
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::from(Refusal::SessionEnded))?;
        events.push(event);
        Ok(((user, session, refresh_token), events))
    })
    .await?;
    tokens(state, user, &session, refresh_token)
}

/// Sets the organization a login lands in when none is asked for.
pub async fn set_default_organization(
    own: &OwnAccount,
    organization_id: Uuid,
) -> ApiResult<user::Model> {
    let (state, actor, user_id) = (own.state(), own.actor(), own.user_id());
    records::active_membership(&state.db, user_id, organization_id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    own.write(async |txn| {
        let user = user::Entity::find_by_id(user_id)
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::from(Refusal::SessionEnded))?;
        let before = user.default_organization_id;
        let mut active: user::ActiveModel = user.into();
        active.default_organization_id = Set(Some(organization_id));
        let user = active.update(txn).await?;
        let event = Event::new(
            Scope::User(user.id),
            Action::UserDefaultOrganizationChanged,
            format!("{} changed their default organization", actor.name()),
        )
        .target("user", user.id)
        .payload(json!({ "before": { "organizationId": before }, "after": { "organizationId": organization_id } }));
        Ok((user, vec![event]))
    })
    .await
}
