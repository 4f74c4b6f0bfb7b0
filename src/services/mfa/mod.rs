//! Multi-factor authentication: second factors (TOTP; WebAuthn credentials), recovery codes,
//! the challenge a sign-in answers before it gets tokens, the step-up that sensitive changes
//! ask of an old session, an organization's requirement, and an operator's reset.
//!
//! Every code check counts against a per-account throttle shared with passwords' (5 attempts,
//! then growing delays), counted before the code is compared and under a row lock, so parallel
//! attempts cannot slip past it.

pub mod recovery;
pub mod totp;
pub mod webauthn;

use chrono::{DateTime, Utc};
use entity::{membership, mfa_challenge, mfa_factor, organization, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{Action, Actor, Event, Scope};
use super::credentials::{clear_attempts, reserve_attempt};
use super::scope::{OrgChange, write};
use super::users::UserRecord;
use super::{AppState, revocation};
use crate::auth::Principal;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};

pub const TOTP: &str = "totp";
/// How long a sign-in may wait for its second factor.
pub const CHALLENGE_TTL: chrono::Duration = chrono::Duration::minutes(5);
pub(in crate::services) const MAX_CODE: usize = 64;

/// A second factor as its user sees it (never its secret or credential).
#[derive(Debug, Clone)]
pub struct FactorRecord {
    pub id: Uuid,
    /// `totp` or `webauthn`.
    pub kind: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<mfa_factor::Model> for FactorRecord {
    fn from(model: mfa_factor::Model) -> Self {
        Self {
            id: model.id,
            kind: model.kind,
            name: model.name,
            created_at: model.created_at,
            last_used_at: model.last_used_at,
        }
    }
}

/// The user's confirmed factors, oldest first.
pub async fn list(state: &AppState, user_id: Uuid) -> ApiResult<Vec<FactorRecord>> {
    Ok(factors(&state.db, user_id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The user's confirmed factors.
pub(in crate::services) async fn factors(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> ApiResult<Vec<mfa_factor::Model>> {
    Ok(mfa_factor::Entity::find()
        .filter(mfa_factor::Column::UserId.eq(user_id))
        .filter(mfa_factor::Column::ConfirmedAt.is_not_null())
        .order_by_asc(mfa_factor::Column::Id)
        .all(db)
        .await?)
}

/// The ways the user can answer a challenge, given their factors.
pub(in crate::services) fn methods(found: &[mfa_factor::Model]) -> Vec<&'static str> {
    let mut methods = Vec::new();
    if found.iter().any(|factor| factor.kind == TOTP) {
        methods.push(TOTP);
    }
    if found.iter().any(|factor| factor.kind == webauthn::WEBAUTHN) {
        methods.push(webauthn::WEBAUTHN);
    }
    methods.push("recovery_code");
    methods
}

/// Accepts `code` for the user's confirmed TOTP factor once: the step it matches is recorded,
/// and a parallel check of the same code finds it taken.
pub(in crate::services) async fn accept_totp(
    state: &AppState,
    user_id: Uuid,
    code: &str,
) -> ApiResult<bool> {
    let Some(factor) = factors(&state.db, user_id)
        .await?
        .into_iter()
        .find(|factor| factor.kind == TOTP)
    else {
        return Ok(false);
    };
    accept_factor_code(state, &factor, code).await
}

async fn accept_factor_code(
    state: &AppState,
    factor: &mfa_factor::Model,
    code: &str,
) -> ApiResult<bool> {
    let secret = open_secret(state, factor)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
    let Some(step) = totp::matching_step(&secret, code, now, factor.last_used_step) else {
        return Ok(false);
    };
    let claimed = mfa_factor::Entity::update_many()
        .col_expr(mfa_factor::Column::LastUsedStep, Expr::value(step))
        .col_expr(mfa_factor::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(mfa_factor::Column::Id.eq(factor.id))
        .filter(
            sea_orm::Condition::any()
                .add(mfa_factor::Column::LastUsedStep.is_null())
                .add(mfa_factor::Column::LastUsedStep.lt(step)),
        )
        .exec(&state.db)
        .await?
        .rows_affected
        == 1;
    Ok(claimed)
}

fn open_secret(state: &AppState, factor: &mfa_factor::Model) -> ApiResult<Vec<u8>> {
    let sealed = factor
        .secret_sealed
        .as_deref()
        .ok_or_else(|| ApiError::internal("a TOTP factor without a secret"))?;
    totp::decode(&state.secrets.open(factor.user_id.as_bytes(), sealed)?)
}

pub(in crate::services) fn throttle_key(user_id: Uuid) -> String {
    format!("mfa:{user_id}")
}

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
pub async fn begin_totp(
    state: &AppState,
    actor: &Actor,
    user: &UserRecord,
) -> ApiResult<Enrollment> {
    let active = factors(&state.db, user.id).await?;
    if active.iter().any(|factor| factor.kind == TOTP) {
        return Err(ApiError::conflict(
            "you already have an authenticator app; remove it (removeTotp) to enroll another",
        ));
    }
    let (base32, uri, sealed) = new_totp_secret(state, user.id, &user.email)?;
    let user_id = user.id;
    write(&state.db, actor, async |txn| {
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
pub async fn confirm_totp(
    state: &AppState,
    actor: &Actor,
    principal: &Principal,
    code: &str,
) -> ApiResult<Vec<String>> {
    text::check("code", TextKind::Line, code, MAX_CODE)?;
    let user_id = principal.user_id()?;
    let session_id = principal.session_id()?;
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
    write(&state.db, actor, async |txn| {
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
pub async fn remove_totp(
    state: &AppState,
    actor: &Actor,
    principal: &Principal,
    code: &str,
) -> ApiResult<()> {
    text::check("code", TextKind::Line, code, MAX_CODE)?;
    let user_id = principal.user_id()?;
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
    write(&state.db, actor, async |txn| {
        let event = delete_factor(txn, &factor, "removed the authenticator app").await?;
        Ok(((), vec![event]))
    })
    .await
}

/// Deletes `factor`; with none left, the user no longer has multi-factor authentication and
/// their recovery codes go. Returns the event that records it.
async fn delete_factor(
    txn: &impl ConnectionTrait,
    factor: &mfa_factor::Model,
    description: impl Into<String>,
) -> ApiResult<Event> {
    let user_id = factor.user_id;
    mfa_factor::Entity::delete_by_id(factor.id)
        .exec(txn)
        .await?;
    let left = factors(txn, user_id).await?;
    if left.is_empty() {
        set_enabled(txn, user_id, false).await?;
        recovery::clear(txn, user_id).await?;
    }
    Ok(
        Event::new(Scope::User(user_id), Action::MfaRemoved, description)
            .target("mfa_factor", factor.id)
            .payload(json!({ "factorsLeft": left.len() })),
    )
}

/// New recovery codes in place of the old ones (which stop working).
pub async fn regenerate_recovery_codes(
    state: &AppState,
    actor: &Actor,
    principal: &Principal,
) -> ApiResult<Vec<String>> {
    let user_id = principal.user_id()?;
    if factors(&state.db, user_id).await?.is_empty() {
        return Err(ApiError::invalid(
            "user",
            "recovery codes come with a second factor; enroll one first",
        ));
    }
    let codes = recovery::generate();
    write(&state.db, actor, async |txn| {
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

async fn set_enabled(db: &impl ConnectionTrait, user_id: Uuid, enabled: bool) -> ApiResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::MfaEnabled, Expr::value(enabled))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records that `session_id` has just proved a second factor (`method`).
async fn mark_verified(db: &impl ConnectionTrait, session_id: Uuid, method: &str) -> ApiResult<()> {
    let Some(found) = session::Entity::find_by_id(session_id).one(db).await? else {
        return Ok(());
    };
    let amr = crate::services::sign_in::method::amr_with(&found.amr, method);
    let mut active: session::ActiveModel = found.into();
    active.mfa_at = Set(Some(Utc::now()));
    active.amr = Set(amr);
    active.update(db).await?;
    Ok(())
}

/// FORBIDDEN unless the caller's session proved a second factor within the step-up window,
/// for a user who has one (a user without one, and an API key, pass).
pub fn require_recent(state: &AppState, principal: &Principal) -> ApiResult<()> {
    let Principal::User { user, mfa_at, .. } = principal else {
        return Ok(());
    };
    if !user.mfa_enabled {
        return Ok(());
    }
    let window = state.settings.mfa_step_up;
    if mfa_at.is_some_and(|at| Utc::now() - at <= window) {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "this change needs a second-factor check within the last {} minutes: call \
         startMfaChallenge, then verifyMfa",
        window.num_minutes()
    ))
    .with_detail("stepUpRequired", json!(true)))
}

/// Turns the organization's requirement on or off.
pub async fn set_requirement(change: &OrgChange, required: bool) -> ApiResult<organization::Model> {
    change
        .write(async |tx| {
            let before = tx.organization.mfa_required;
            let mut active: organization::ActiveModel = tx.organization.clone().into();
            active.mfa_required = Set(required);
            let model = active.update(tx.txn).await?;
            let event = (before != required).then(|| {
                tx.event(
                    Action::OrganizationMfaRequirementChanged,
                    if required {
                        "now requires multi-factor authentication of its members"
                    } else {
                        "no longer requires multi-factor authentication"
                    },
                )
                .target("organization", model.id)
                .payload(json!({ "before": { "mfaRequired": before }, "after": { "mfaRequired": required } }))
            });
            Ok((model, event))
        })
        .await
}

/// An operator's reset of a user's factors (a lost phone): factors, recovery codes and
/// challenges go, every session ends, and the user's security events and each of their
/// organizations' logs say so. Returns how many factors were removed.
pub async fn reset(
    state: &AppState,
    actor: &Actor,
    email: &crate::domain::Email,
) -> ApiResult<u64> {
    write(&state.db, actor, async |txn| {
        let user = super::users::find_by_email(txn, email)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        let removed = mfa_factor::Entity::delete_many()
            .filter(mfa_factor::Column::UserId.eq(user.id))
            .exec(txn)
            .await?
            .rows_affected;
        recovery::clear(txn, user.id).await?;
        mfa_challenge::Entity::delete_many()
            .filter(mfa_challenge::Column::UserId.eq(user.id))
            .exec(txn)
            .await?;
        set_enabled(txn, user.id, false).await?;
        let ended = revocation::revoke_all(txn, user.id, None, "second factors reset").await?;
        let description = format!(
            "the second factors of {} were reset by an operator",
            user.email
        );
        let payload = json!({ "factorsRemoved": removed, "sessionsEnded": ended });
        let mut events = vec![
            Event::new(Scope::User(user.id), Action::MfaReset, description.clone())
                .target("user", user.id)
                .payload(payload.clone()),
        ];
        let organizations = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.id))
            .all(txn)
            .await?;
        for member in organizations {
            events.push(
                Event::new(
                    Scope::Organization(member.organization_id),
                    Action::MfaReset,
                    description.clone(),
                )
                .target("user", user.id)
                .payload(payload.clone()),
            );
        }
        Ok((removed, events))
    })
    .await
}
