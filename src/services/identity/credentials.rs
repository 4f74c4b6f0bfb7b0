//! Password checks under the per-account throttle every check shares (sign-in, changing a
//! password, accepting an invitation with one), the throttle's upkeep, and password changes.

use chrono::Utc;
use entity::{login_throttle, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;

use crate::auth::password;
use crate::domain::Email;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::store::account::OwnAccount;
use crate::services::store::scope::write;
use crate::services::store::scope::write_unrecorded;
use crate::services::{AppState, RequestMeta, identity::revocation, identity::users};

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
    check_counted_password(state, email, user, password_text, purpose, meta).await
}

/// [`check_password`] for an attempt already counted by [`reserve_attempt`] (a sign-in the
/// organization's directory refused first: one attempt, one count).
pub(crate) async fn check_counted_password(
    state: &AppState,
    email: &Email,
    user: Option<&user::Model>,
    password_text: String,
    purpose: PasswordCheck,
    meta: &RequestMeta,
) -> ApiResult<bool> {
    let hash = user.and_then(|user| user.password_hash.clone());
    let matches = password::verify(password_text, hash).await?;
    match user {
        // Only a check that lets the account in clears its count: otherwise the end of the
        // delays would tell that the password of a disabled account was right.
        Some(user) if matches && user.status == users::ACTIVE => {
            clear_attempts(&state.db, &email.key()).await?;
        }
        Some(user) if !matches => record_failed_check(state, user, purpose, meta).await?,
        _ => {}
    }
    Ok(matches)
}

/// Records a refused password check among the account's own security events.
pub(super) async fn record_failed_check(
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
    let nobody = Actor {
        user_id: None,
        email: None,
        ..Actor::user(user, meta)
    };
    let event = Event::new(Scope::User(user.id), action, description).target("user", user.id);
    crate::services::store::scope::record(&state.db, &nobody, vec![event]).await
}

/// Sign-in attempts allowed per email in [`THROTTLE_WINDOW`] before delays start.
pub const MAX_FAILED_LOGINS: i32 = 5;
const THROTTLE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Counts a sign-in attempt for an email before its password is checked, atomically (the row
/// is locked), so parallel requests cannot slip past the limit. From the fifth attempt within
/// 15 minutes that has not succeeded, the email waits 1, 2, 4 … up to 15 minutes between
/// attempts and gets RATE_LIMITED meanwhile. Unknown emails are counted the same way, so the
/// answer tells nothing about which accounts exist. A successful sign-in clears the count.
pub(super) async fn reserve_attempt(
    db: &sea_orm::DatabaseConnection,
    email_key: &str,
) -> ApiResult<()> {
    write(db, &Actor::default(), async |txn| {
        let now = Utc::now();
        login_throttle::Entity::insert(login_throttle::ActiveModel {
            email_lower: Set(email_key.to_owned()),
            failures: Set(0),
            window_start: Set(now),
            locked_until: Set(None),
        })
        .on_conflict_do_nothing_on([login_throttle::Column::EmailLower])
        .exec(txn)
        .await?;
        let row = login_throttle::Entity::find_by_id(email_key.to_owned())
            .lock_exclusive()
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::internal("a throttle row vanished"))?;
        if let Some(until) = row.locked_until
            && until > now
        {
            let seconds = (until - now).num_seconds().max(1);
            let refused = ApiError::new(
                crate::error::ErrorCode::RateLimited,
                format!("too many sign-in attempts; try again in {seconds} seconds"),
            )
            .with_detail("retryAfterSeconds", json!(seconds));
            return Ok((Err(refused), vec![]));
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
        .update(txn)
        .await?;
        Ok((Ok(()), vec![]))
    })
    .await?
}

/// Clears the attempts counted under `key` after a check that let the person in.
pub(super) async fn clear_attempts(db: &sea_orm::DatabaseConnection, key: &str) -> ApiResult<()> {
    write_unrecorded(db, async |txn| {
        login_throttle::Entity::delete_by_id(key.to_owned())
            .exec(txn)
            .await?;
        Ok(())
    })
    .await
}

/// Removes the throttle rows whose window and delay have both passed: such a row counts for
/// nothing (the next attempt starts a new window), and without this every email ever tried
/// would keep one. Returns how many were removed.
pub async fn purge_throttles(state: &AppState) -> ApiResult<u64> {
    let db = &state.db;
    let cutoff = Utc::now() - THROTTLE_WINDOW;
    let expired = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStart.lt(cutoff))
        .filter(
            sea_orm::Condition::any()
                .add(login_throttle::Column::LockedUntil.is_null())
                .add(login_throttle::Column::LockedUntil.lt(cutoff)),
        );
    let removed =
        write_unrecorded(db, async |txn| Ok(expired.exec(txn).await?.rows_affected)).await?;
    if removed > 0 {
        tracing::info!(removed, "expired sign-in throttles purged");
    }
    Ok(removed)
}

/// Changes the caller's password after checking the current one, under the same per-account
/// throttle as sign-ins (a stolen access token must not become a way to guess the password);
/// every other session of theirs ends.
pub async fn change_password(
    own: &OwnAccount,
    meta: &RequestMeta,
    current: String,
    new: crate::domain::NewPassword,
) -> ApiResult<()> {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let (state, user_id, current_session) = (own.state(), own.user_id(), own.session_id());
    let db = &state.db;
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(crate::authz::Refusal::SessionEnded)?;
    let email = crate::domain::Email::parse("email", &user.email)?;
    let checked = check_password(
        state,
        &email,
        Some(&user),
        current,
        PasswordCheck::ChangePassword,
        meta,
    )
    .await?;
    if !checked {
        return Err(crate::error::ApiError::invalid(
            "currentPassword",
            "is not your current password",
        ));
    }
    let hash = crate::auth::password::hash(new.into_inner()).await?;
    own.write(async |txn| {
        let mut active: user::ActiveModel = user.into();
        active.password_hash = Set(Some(hash));
        let user = active.update(txn).await?;
        let ended =
            revocation::revoke_all(txn, user.id, Some(current_session), "password changed").await?;
        let event = Event::new(
            Scope::User(user.id),
            Action::UserPasswordChanged,
            format!("{} changed their password", user.email),
        )
        .target("user", user.id)
        .payload(serde_json::json!({ "otherSessionsEnded": ended }));
        Ok(((), vec![event]))
    })
    .await
}
