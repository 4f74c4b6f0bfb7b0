//! Logins, rotating refresh tokens, logout, organization switching, and establishing the
//! principal of a request from its bearer token.

use chrono::{DateTime, Utc};
use entity::{login_throttle, membership, refresh_token, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::audit::{self, Action, Actor, Event, Scope};
use super::{AppState, RequestMeta, memberships, users};
use crate::auth::tokens::{hash_token, new_refresh_token};
use crate::auth::{Principal, password};
use crate::db::begin_write;
use crate::domain::Email;
use crate::error::{ApiError, ApiResult};
use serde_json::json;

/// The answer for an unknown email, a wrong password and a disabled account alike.
const BAD_CREDENTIALS: &str = "the email or password is incorrect";
const SESSION_ENDED: &str = "the session has ended; sign in again";

/// Tokens handed to a client after a login, a refresh or an organization switch.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
    pub organization_id: Option<Uuid>,
}

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
            "the Authorization header must be `Bearer <access token>`".into(),
        ));
    };
    let verified = match state.tokens.verify_access(token.trim()) {
        Ok(verified) => verified,
        Err(err) => return Ok(Principal::Rejected(err.message)),
    };
    let Some(session) = session::Entity::find_by_id(verified.session_id)
        .one(&state.db)
        .await?
    else {
        return Ok(Principal::Rejected(SESSION_ENDED.into()));
    };
    if session.revoked_at.is_some()
        || session.expires_at <= Utc::now()
        || session.user_id != verified.user_id
    {
        return Ok(Principal::Rejected(SESSION_ENDED.into()));
    }
    let user = user::Entity::find_by_id(session.user_id)
        .one(&state.db)
        .await?;
    match user {
        Some(user) if user.status == users::ACTIVE => Ok(Principal::User {
            user_id: user.id,
            session_id: session.id,
            organization_id: session.organization_id,
        }),
        _ => Ok(Principal::Rejected(SESSION_ENDED.into())),
    }
}

/// Checks an email and password and opens a session in `organization_id`, or else in the user's
/// default organization, or else in their oldest membership, or in none.
pub async fn login(
    state: &AppState,
    email: &str,
    password_text: String,
    organization_id: Option<Uuid>,
    meta: &RequestMeta,
) -> ApiResult<Tokens> {
    let email = Email::parse("email", email)?;
    let user = users::find_by_email(&state.db, &email).await?;
    let checked = check_password(
        state,
        &email,
        user.as_ref(),
        password_text,
        PasswordCheck::SignIn,
        meta,
    )
    .await?;
    let user = match user {
        Some(user) if checked && user.status == users::ACTIVE => user,
        Some(user) => {
            if checked {
                // The right password of a disabled account is still a refused sign-in.
                record_failed_check(state, &user, PasswordCheck::SignIn, meta).await?;
            }
            return Err(ApiError::unauthenticated(BAD_CREDENTIALS));
        }
        None => return Err(ApiError::unauthenticated(BAD_CREDENTIALS)),
    };
    let organization_id = match organization_id {
        Some(org) => {
            memberships::find(&state.db, user.id, org)
                .await?
                .ok_or_else(|| ApiError::not_found("organization"))?;
            Some(org)
        }
        None => landing_organization(&state.db, &user).await?,
    };
    let txn = begin_write(&state.db).await?;
    let (session, refresh_token) = open_in(&txn, state, &user, organization_id, meta).await?;
    audit::record(
        &txn,
        &actor_of(&user, meta),
        Event::new(
            Scope::User(user.id),
            Action::SessionLogin,
            format!("{} signed in", user.email),
        )
        .target("session", session.id)
        .payload(json!({ "organizationId": session.organization_id })),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(user = %user.id, session = %session.id, "login");
    tokens(state, user, &session, refresh_token)
}

/// What a password is being checked for; each has its own failure event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    SignIn,
    ChangePassword,
    AcceptInvitation,
}

/// Checks `password_text` against `user`'s password (a dummy hash when there is no such user,
/// so that the time tells nothing) under the per-account throttle every password check shares:
/// the attempt is counted before the hash is computed, a success clears the count, and a failure
/// on an existing account joins its security events.
pub async fn check_password(
    state: &AppState,
    email: &Email,
    user: Option<&user::Model>,
    password_text: String,
    purpose: PasswordCheck,
    meta: &RequestMeta,
) -> ApiResult<bool> {
    reserve_attempt(&state.db, &email.key()).await?;
    let hash = user.and_then(|user| user.password_hash.clone());
    let matches = password::verify(password_text, hash).await?;
    match user {
        // Only a check that lets the account in clears its count: otherwise the end of the
        // delays would tell that the password of a disabled account was right.
        Some(user) if matches && user.status == users::ACTIVE => {
            login_throttle::Entity::delete_by_id(email.key())
                .exec(&state.db)
                .await?;
        }
        Some(user) if !matches => record_failed_check(state, user, purpose, meta).await?,
        _ => {}
    }
    Ok(matches)
}

/// Records a refused password check among the account's own security events.
async fn record_failed_check(
    state: &AppState,
    user: &user::Model,
    purpose: PasswordCheck,
    meta: &RequestMeta,
) -> ApiResult<()> {
    let (action, description) = match purpose {
        PasswordCheck::SignIn => (
            Action::SessionLoginFailed,
            format!("a sign-in to {} failed", user.email),
        ),
        PasswordCheck::ChangePassword => (
            Action::UserPasswordCheckFailed,
            format!(
                "a wrong current password was given to change {}'s password",
                user.email
            ),
        ),
        PasswordCheck::AcceptInvitation => (
            Action::UserPasswordCheckFailed,
            format!(
                "a wrong password was given to accept an invitation for {}",
                user.email
            ),
        ),
    };
    let txn = begin_write(&state.db).await?;
    audit::record(
        &txn,
        &Actor {
            user_id: None,
            email: None,
            ..actor_of(user, meta)
        },
        Event::new(Scope::User(user.id), action, description).target("user", user.id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Opens a session for a user who has just proved who they are another way (by accepting an
/// invitation, whose event records it).
pub async fn open(
    state: &AppState,
    user: user::Model,
    organization_id: Option<Uuid>,
    meta: &RequestMeta,
) -> ApiResult<Tokens> {
    let txn = begin_write(&state.db).await?;
    let (session, refresh_token) = open_in(&txn, state, &user, organization_id, meta).await?;
    txn.commit().await?;
    tokens(state, user, &session, refresh_token)
}

async fn open_in(
    txn: &impl ConnectionTrait,
    state: &AppState,
    user: &user::Model,
    organization_id: Option<Uuid>,
    meta: &RequestMeta,
) -> ApiResult<(session::Model, String)> {
    let now = Utc::now();
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        organization_id: Set(organization_id),
        created_at: Set(now),
        expires_at: Set(now + state.settings.session_ttl),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.as_ref().map(|ua| truncate(ua, 512))),
    }
    .insert(txn)
    .await?;
    let refresh_token = issue_refresh_token(txn, state, &session).await?;
    Ok((session, refresh_token))
}

/// Sign-in attempts allowed per email in [`THROTTLE_WINDOW`] before delays start.
pub const MAX_FAILED_LOGINS: i32 = 5;
const THROTTLE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Counts a sign-in attempt for an email before its password is checked, atomically (the row
/// is locked), so parallel requests cannot slip past the limit. From the fifth attempt within
/// 15 minutes that has not succeeded, the email waits 1, 2, 4 … up to 15 minutes between
/// attempts and gets RATE_LIMITED meanwhile. Unknown emails are counted the same way, so the
/// answer tells nothing about which accounts exist. A successful sign-in clears the count.
async fn reserve_attempt(db: &sea_orm::DatabaseConnection, email_key: &str) -> ApiResult<()> {
    let txn = begin_write(db).await?;
    let now = Utc::now();
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        email_lower: Set(email_key.to_owned()),
        failures: Set(0),
        window_start: Set(now),
        locked_until: Set(None),
    })
    .on_conflict_do_nothing_on([login_throttle::Column::EmailLower])
    .exec(&txn)
    .await?;
    let row = login_throttle::Entity::find_by_id(email_key.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal("a throttle row vanished"))?;
    if let Some(until) = row.locked_until
        && until > now
    {
        txn.commit().await?;
        let seconds = (until - now).num_seconds().max(1);
        return Err(ApiError::new(
            crate::error::ErrorCode::RateLimited,
            format!("too many sign-in attempts; try again in {seconds} seconds"),
        )
        .with_detail("retryAfterSeconds", json!(seconds)));
    }
    let stale = row.window_start < now - THROTTLE_WINDOW
        && row
            .locked_until
            .is_none_or(|until| until < now - THROTTLE_WINDOW);
    let failures = if stale { 1 } else { row.failures + 1 };
    let locked_until = (failures >= MAX_FAILED_LOGINS).then(|| {
        let minutes = 1i64 << (failures - MAX_FAILED_LOGINS).min(4);
        now + chrono::Duration::minutes(minutes.min(15))
    });
    login_throttle::ActiveModel {
        email_lower: Set(email_key.to_owned()),
        failures: Set(failures),
        window_start: Set(if stale { now } else { row.window_start }),
        locked_until: Set(locked_until),
    }
    .update(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes the throttle rows whose window and delay have both passed: such a row counts for
/// nothing (the next attempt starts a new window), and without this every email ever tried
/// would keep one. Returns how many were removed.
pub async fn purge_throttles(db: &sea_orm::DatabaseConnection) -> ApiResult<u64> {
    let cutoff = Utc::now() - THROTTLE_WINDOW;
    let removed = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStart.lt(cutoff))
        .filter(
            sea_orm::Condition::any()
                .add(login_throttle::Column::LockedUntil.is_null())
                .add(login_throttle::Column::LockedUntil.lt(cutoff)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if removed > 0 {
        tracing::info!(removed, "expired sign-in throttles purged");
    }
    Ok(removed)
}

/// Exchanges a refresh token for new tokens. Each refresh token works once: presenting one that
/// was already used revokes the whole session, since one of its holders is not the user.
pub async fn refresh(state: &AppState, presented: &str, meta: &RequestMeta) -> ApiResult<Tokens> {
    let invalid = || ApiError::unauthenticated("the refresh token is not valid");
    let hash = hash_token(presented.trim());
    let txn = begin_write(&state.db).await?;
    let token = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    let now = Utc::now();
    // Mark the token used only if nobody has; losing this race is the same as reuse.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(token.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        revoke(&txn, token.session_id, "refresh token reuse").await?;
        if let Some(session) = session::Entity::find_by_id(token.session_id)
            .one(&txn)
            .await?
        {
            audit::record(
                &txn,
                &Actor {
                    user_id: None,
                    email: None,
                    ip: meta.ip.clone(),
                    user_agent: meta.user_agent.clone(),
                },
                Event::new(
                    Scope::User(session.user_id),
                    Action::SessionRefreshTokenReused,
                    "a used refresh token was presented again; the session was revoked",
                )
                .target("session", session.id),
            )
            .await?;
        }
        txn.commit().await?;
        tracing::warn!(session = %token.session_id, "refresh token reused; session revoked");
        return Err(invalid());
    }
    let session = session::Entity::find_by_id(token.session_id)
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    if token.expires_at <= now || session.revoked_at.is_some() || session.expires_at <= now {
        return Err(invalid());
    }
    let user = user::Entity::find_by_id(session.user_id)
        .one(&txn)
        .await?
        .filter(|user| user.status == users::ACTIVE)
        .ok_or_else(invalid)?;
    // The active organization stays only while the user is still a member of it.
    let mut session = session;
    if let Some(org) = session.organization_id
        && memberships::find(&txn, user.id, org).await?.is_none()
    {
        let mut active: session::ActiveModel = session.into();
        active.organization_id = Set(None);
        session = active.update(&txn).await?;
    }
    let refresh_token = issue_refresh_token(&txn, state, &session).await?;
    audit::record(
        &txn,
        &actor_of(&user, meta),
        Event::new(
            Scope::User(user.id),
            Action::SessionRefreshed,
            format!("{} refreshed a session", user.email),
        )
        .target("session", session.id),
    )
    .await?;
    txn.commit().await?;
    tokens(state, user, &session, refresh_token)
}

/// Revokes the caller's session: its access tokens stop working on the next request.
pub async fn logout(state: &AppState, actor: &Actor, principal: &Principal) -> ApiResult<()> {
    let user_id = principal.user_id()?;
    let session_id = principal.session_id()?;
    let txn = begin_write(&state.db).await?;
    revoke(&txn, session_id, "logout").await?;
    audit::record(
        &txn,
        actor,
        Event::new(
            Scope::User(user_id),
            Action::SessionLogout,
            format!("{} signed out", actor.name()),
        )
        .target("session", session_id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
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
    memberships::find(&state.db, user_id, organization_id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let txn = begin_write(&state.db).await?;
    let session = session::Entity::find_by_id(session_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::unauthenticated(SESSION_ENDED))?;
    let before = session.organization_id;
    let mut active: session::ActiveModel = session.into();
    active.organization_id = Set(Some(organization_id));
    let session = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event::new(
            Scope::User(user_id),
            Action::SessionOrganizationSwitched,
            format!("{} switched organization", actor.name()),
        )
        .target("session", session_id)
        .payload(json!({ "before": { "organizationId": before }, "after": { "organizationId": organization_id } })),
    )
    .await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::SessionId.eq(session_id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let refresh_token = issue_refresh_token(&txn, state, &session).await?;
    let user = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::unauthenticated(SESSION_ENDED))?;
    txn.commit().await?;
    tokens(state, user, &session, refresh_token)
}

/// Sets the organization a login lands in when none is asked for.
pub async fn set_default_organization(
    state: &AppState,
    actor: &Actor,
    principal: &Principal,
    organization_id: Uuid,
) -> ApiResult<user::Model> {
    let user_id = principal.user_id()?;
    memberships::find(&state.db, user_id, organization_id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let txn = begin_write(&state.db).await?;
    let user = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::unauthenticated(SESSION_ENDED))?;
    let before = user.default_organization_id;
    let mut active: user::ActiveModel = user.into();
    active.default_organization_id = Set(Some(organization_id));
    let user = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event::new(
            Scope::User(user.id),
            Action::UserDefaultOrganizationChanged,
            format!("{} changed their default organization", actor.name()),
        )
        .target("user", user.id)
        .payload(json!({ "before": { "organizationId": before }, "after": { "organizationId": organization_id } })),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

async fn landing_organization(
    db: &impl ConnectionTrait,
    user: &user::Model,
) -> ApiResult<Option<Uuid>> {
    if let Some(default) = user.default_organization_id
        && memberships::find(db, user.id, default).await?.is_some()
    {
        return Ok(Some(default));
    }
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id))
        .order_by_asc(membership::Column::Id)
        .one(db)
        .await?
        .map(|m| m.organization_id))
}

async fn issue_refresh_token(
    txn: &impl ConnectionTrait,
    state: &AppState,
    session: &session::Model,
) -> ApiResult<String> {
    let token = new_refresh_token();
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session.id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now),
        expires_at: Set((now + state.settings.refresh_token_ttl).min(session.expires_at)),
        used_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(token)
}

/// Ends every live session of a user (but `except`), returning how many.
pub async fn revoke_all(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    except: Option<Uuid>,
    reason: &str,
) -> ApiResult<u64> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = except {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(txn).await?.rows_affected)
}

async fn revoke(txn: &impl ConnectionTrait, session_id: Uuid, reason: &str) -> ApiResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

fn tokens(
    state: &AppState,
    user: user::Model,
    session: &session::Model,
    refresh_token: String,
) -> ApiResult<Tokens> {
    let (access_token, expires_at) =
        state
            .tokens
            .issue_access(user.id, session.id, session.organization_id)?;
    Ok(Tokens {
        access_token,
        refresh_token,
        expires_at,
        user,
        organization_id: session.organization_id,
    })
}

fn actor_of(user: &user::Model, meta: &RequestMeta) -> Actor {
    Actor::user(user, meta)
}

fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}
