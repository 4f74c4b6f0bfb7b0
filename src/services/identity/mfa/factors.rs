//! A user's second factors: listing them, checking a code against them (once per step), and
//! the bookkeeping of a factor's removal and of a session that has just proved one.

use chrono::{DateTime, Utc};
use entity::{mfa_factor, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::{Action, Event, Scope};

use super::{recovery, totp};
use crate::services::store::scope::claim_once;

pub const TOTP: &str = "totp";
/// The kind of a security key (WebAuthn credential).
pub const WEBAUTHN: &str = "webauthn";

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
    if found.iter().any(|factor| factor.kind == WEBAUTHN) {
        methods.push(WEBAUTHN);
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

pub(super) async fn accept_factor_code(
    state: &AppState,
    factor: &mfa_factor::Model,
    code: &str,
) -> ApiResult<bool> {
    let secret = open_secret(state, factor)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
    let Some(step) = totp::matching_step(&secret, code, now, factor.last_used_step) else {
        return Ok(false);
    };
    // A code works once: of parallel answers with it, one wins.
    let claim = mfa_factor::Entity::update_many()
        .col_expr(mfa_factor::Column::LastUsedStep, Expr::value(step))
        .col_expr(mfa_factor::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(mfa_factor::Column::Id.eq(factor.id))
        .filter(
            sea_orm::Condition::any()
                .add(mfa_factor::Column::LastUsedStep.is_null())
                .add(mfa_factor::Column::LastUsedStep.lt(step)),
        );
    claim_once(&state.db, claim).await
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

/// Deletes `factor`; with none left, the user no longer has multi-factor authentication and
/// their recovery codes go. Returns the event that records it.
pub(super) async fn delete_factor(
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

pub(super) async fn set_enabled(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    enabled: bool,
) -> ApiResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::MfaEnabled, Expr::value(enabled))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Records that `session_id` has just proved a second factor (`method`).
pub(super) async fn mark_verified(
    txn: &impl ConnectionTrait,
    session_id: Uuid,
    method: &str,
) -> ApiResult<()> {
    let Some(found) = session::Entity::find_by_id(session_id).one(txn).await? else {
        return Ok(());
    };
    let amr = crate::services::identity::sign_in::method::amr_with(&found.amr, method);
    let mut active: session::ActiveModel = found.into();
    active.mfa_at = Set(Some(Utc::now()));
    active.amr = Set(amr);
    active.update(txn).await?;
    Ok(())
}
