//! Enrolling and removing an authenticator app, and issuing recovery codes.

use chrono::{DateTime, Utc};
use entity::{mfa_factor, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::identity::credentials::{clear_attempts, reserve_attempt};
use crate::services::store::scope::write;

use super::factors::{
    MAX_CODE, TOTP, accept_factor_code, delete_factor, factors, mark_verified, set_enabled,
    throttle_key,
};
use super::{recovery, totp};
use crate::services::store::account::OwnAccount;

/// A new TOTP secret for `user_id`: its base32 form and URI to show, and its sealed form to store.
fn new_totp_secret(
    state: &AppState,
    user_id: Uuid,
    email: &str,
) -> ApiResult<(String, String, String)> {
    let secret = totp::new_secret();
    let (base32, uri) = totp::provisioning(&secret, &state.settings.issuer, email)?;
    let sealed = state
        .secrets
        .seal(user_id.as_bytes(), &totp::encode(&secret))?;
    Ok((base32, uri, sealed))
}

/// A TOTP factor row holding `sealed`, confirmed at `confirmed_at` (none while pending).
fn totp_factor(
    user_id: Uuid,
    sealed: String,
    confirmed_at: Option<DateTime<Utc>>,
) -> mfa_factor::ActiveModel {
    mfa_factor::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        kind: Set(TOTP.to_owned()),
        name: Set("Authenticator app".to_owned()),
        secret_sealed: Set(Some(sealed)),
        credential: Set(None),
        confirmed_at: Set(confirmed_at),
        last_used_step: Set(None),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
    }
}

/// What a new TOTP enrollment shows once.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

/// Starts a TOTP enrollment: a new secret, waiting for its first code. A pending enrollment
/// before it is replaced. Only one TOTP factor is active at a time.
pub async fn begin_totp(own: &OwnAccount) -> ApiResult<Enrollment> {
    let (state, user) = (own.state(), own.user());
    let active = factors(&state.db, user.id).await?;
    if active.iter().any(|factor| factor.kind == TOTP) {
        return Err(ApiError::conflict(
            "you already have an authenticator app; remove it (removeTotp) to enroll another",
        ));
    }
    let (base32, uri, sealed) = new_totp_secret(state, user.id, &user.email)?;
    let user_id = user.id;
    own.write(async |txn| {
        mfa_factor::Entity::delete_many()
            .filter(mfa_factor::Column::UserId.eq(user_id))
            .filter(mfa_factor::Column::Kind.eq(TOTP))
            .filter(mfa_factor::Column::ConfirmedAt.is_null())
            .exec(txn)
            .await?;
        let factor = totp_factor(user_id, sealed, None).insert(txn).await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::MfaEnrollmentStarted,
            "started enrolling an authenticator app",
        )
        .target("mfa_factor", factor.id);
        Ok(((), vec![event]))
    })
    .await?;
    let qr_svg = totp::qr_svg(&uri)?;
    Ok(Enrollment {
        secret: base32,
        uri,
        qr_svg,
    })
}

/// A confirmed authenticator app for `user`, made directly (the demo's): the secret in base32
/// and the URI, to print.
pub async fn enroll_for_demo(
    state: &AppState,
    actor: &Actor,
    user: &user::Model,
) -> ApiResult<(String, String)> {
    let (base32, uri, sealed) = new_totp_secret(state, user.id, &user.email)?;
    let user_id = user.id;
    write(&state.db, actor, async |txn| {
        let now = Utc::now();
        let factor = totp_factor(user_id, sealed, Some(now)).insert(txn).await?;
        set_enabled(txn, user_id, true).await?;
        recovery::replace(txn, user_id, &recovery::generate()).await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::MfaEnrolled,
            "enrolled an authenticator app (demo data)",
        )
        .target("mfa_factor", factor.id);
        Ok(((), vec![event]))
    })
    .await?;
    Ok((base32, uri))
}

/// Confirms the pending TOTP enrollment with its first code: the factor is active, the user
/// has multi-factor authentication, the caller's session counts as verified now, and the
/// answer holds ten new recovery codes, shown this once.
pub async fn confirm_totp(own: &OwnAccount, code: &str) -> ApiResult<Vec<String>> {
    text::check("code", TextKind::Line, code, MAX_CODE)?;
    let (state, user_id, session_id) = (own.state(), own.user_id(), own.session_id());
    let throttle = throttle_key(user_id);
    reserve_attempt(&state.db, &throttle).await?;
    let pending = mfa_factor::Entity::find()
        .filter(mfa_factor::Column::UserId.eq(user_id))
        .filter(mfa_factor::Column::Kind.eq(TOTP))
        .filter(mfa_factor::Column::ConfirmedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("pending enrollment"))?;
    if !accept_factor_code(state, &pending, code).await? {
        return Err(ApiError::invalid("code", "is not the app's current code"));
    }
    clear_attempts(&state.db, &throttle).await?;
    let codes = recovery::generate();
    own.write(async |txn| {
        mfa_factor::Entity::update_many()
            .col_expr(mfa_factor::Column::ConfirmedAt, Expr::value(Utc::now()))
            .filter(mfa_factor::Column::Id.eq(pending.id))
            .exec(txn)
            .await?;
        set_enabled(txn, user_id, true).await?;
        recovery::replace(txn, user_id, &codes).await?;
        mark_verified(txn, session_id, "otp").await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::MfaEnrolled,
            "enrolled an authenticator app; ten recovery codes were issued",
        )
        .target("mfa_factor", pending.id);
        Ok(((), vec![event]))
    })
    .await?;
    Ok(codes)
}

/// Removes the authenticator app after checking one of its codes (or a recovery code). With no
/// factor left, the user no longer has multi-factor authentication and the recovery codes go.
pub async fn remove_totp(own: &OwnAccount, code: &str) -> ApiResult<()> {
    text::check("code", TextKind::Line, code, MAX_CODE)?;
    let (state, user_id) = (own.state(), own.user_id());
    let throttle = throttle_key(user_id);
    reserve_attempt(&state.db, &throttle).await?;
    let factor = factors(&state.db, user_id)
        .await?
        .into_iter()
        .find(|factor| factor.kind == TOTP)
        .ok_or_else(|| ApiError::not_found("authenticator app"))?;
    let proved = accept_factor_code(state, &factor, code).await?
        || recovery::consume(&state.db, user_id, code).await?;
    if !proved {
        return Err(ApiError::invalid(
            "code",
            "is not the app's current code or a recovery code",
        ));
    }
    clear_attempts(&state.db, &throttle).await?;
    own.write(async |txn| {
        let event = delete_factor(txn, &factor, "removed the authenticator app").await?;
        Ok(((), vec![event]))
    })
    .await
}

/// New recovery codes in place of the old ones (which stop working).
pub async fn regenerate_recovery_codes(own: &OwnAccount) -> ApiResult<Vec<String>> {
    let (state, user_id) = (own.state(), own.user_id());
    if factors(&state.db, user_id).await?.is_empty() {
        return Err(ApiError::invalid(
            "user",
            "recovery codes come with a second factor; enroll one first",
        ));
    }
    let codes = recovery::generate();
    own.write(async |txn| {
        recovery::replace(txn, user_id, &codes).await?;
        let event = Event::new(
            Scope::User(user_id),
            Action::MfaRecoveryCodesRegenerated,
            "issued new recovery codes; the old ones stopped working",
        )
        .target("user", user_id);
        Ok(((), vec![event]))
    })
    .await?;
    Ok(codes)
}
