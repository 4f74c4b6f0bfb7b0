//! What second factors are required: a recent one for sensitive changes (step-up) and an
//! operator's reset of a user's factors. An organization's requirement of its members is set by
//! `organizations::set_requirement` and weighed by the gate.

use chrono::Utc;
use entity::{membership, mfa_challenge, mfa_factor};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::store::scope::write;
use crate::services::{AppState, identity::revocation};

use super::factors::set_enabled;
use super::recovery;

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

/// An operator's reset of a user's factors (a lost phone): factors, recovery codes and
/// challenges go, every session ends, and the user's security events and each of their
/// organizations' logs say so. Returns how many factors were removed.
pub async fn reset(
    state: &AppState,
    actor: &Actor,
    email: &crate::domain::Email,
) -> ApiResult<u64> {
    write(&state.db, actor, async |txn| {
        let user = crate::services::identity::users::find_by_email(txn, email)
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
