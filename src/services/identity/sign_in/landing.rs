//! Where a sign-in lands, with single sign-on's enforcement applied the same way to every
//! first factor: a way into an organization other than its own provider is refused where it
//! enforces single sign-on over the person (an owner's break glass is let in and recorded as it
//! is used), and a sign-in that names no organization lands where it is not refused.

use entity::{membership, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::SignInMethod;
use crate::error::{ApiResult, ErrorCode};
use crate::services::audit::{Action, Actor, Event, Scope};
use crate::services::identity::sso::enforcement;
use crate::services::store::records;
use crate::services::store::scope::record;
use crate::services::{AppState, RequestMeta};

/// The organization the session of `user`, signed in by `method`, opens in: `requested`, or
/// else their default organization, or else their oldest membership, or none; refused where
/// single sign-on is enforced over them and `method` is not its provider.
pub(super) async fn landing(
    state: &AppState,
    user: &user::Model,
    requested: Option<Uuid>,
    method: &SignInMethod,
    meta: &RequestMeta,
) -> ApiResult<Option<Uuid>> {
    // A provider's sign-in names its own organization, which its enforcement lets in: nothing
    // to look up.
    if let Some(org) = requested
        && method.through_provider_of(org)
    {
        return Ok(Some(org));
    }
    let enforcing = enforcement::enforcing_organization(&state.db, &user.email).await?;
    let organization_id = match requested {
        Some(org) => Some(org),
        // Never the enforcing organization, so what it lands in enforces nothing over them.
        None => landing_organization(&state.db, user, enforcing).await?,
    };
    let Some(org) = organization_id else {
        return Ok(None);
    };
    // A break glass is recorded as it is used, before any second factor.
    let actor = Actor::user(user, meta);
    let standing = enforcement::standing(&state.db, &state.policy, user.id, enforcing, org).await?;
    let event = password_standing_event(state, &actor, &user.email, org, standing).await?;
    record(&state.db, &actor, event.into_iter().collect()).await?;
    Ok(Some(org))
}

/// The audit event of a password way into `org` where single sign-on is enforced: none when
/// nothing enforces, the break glass's for an owner; for anyone else the refusal is recorded
/// and returned as the error.
pub(in crate::services::identity) async fn password_standing_event(
    state: &AppState,
    actor: &Actor,
    email: &str,
    org: Uuid,
    standing: enforcement::Standing,
) -> ApiResult<Option<Event>> {
    match standing {
        enforcement::Standing::Free => Ok(None),
        enforcement::Standing::BreakGlass => Ok(Some(
            Event::new(
                Scope::Organization(org),
                Action::SsoBreakGlassUsed,
                format!(
                    "{email} used a password where single sign-on is enforced (owner break glass)"
                ),
            )
            .target("user", actor.user_id.unwrap_or_default()),
        )),
        enforcement::Standing::Refused => {
            let event = Event::new(
                Scope::Organization(org),
                Action::SsoPasswordRefused,
                format!("{email} was refused a password way in: single sign-on is enforced"),
            )
            .target("user", actor.user_id.unwrap_or_default());
            record(&state.db, actor, vec![event]).await?;
            Err(enforcement::refusal(&state.db, org, ErrorCode::Forbidden).await?)
        }
    }
}

/// The default organization, else the oldest membership; never `enforcing` (the organization
/// whose single sign-on a password sign-in must not land in).
async fn landing_organization(
    db: &impl ConnectionTrait,
    user: &user::Model,
    enforcing: Option<Uuid>,
) -> ApiResult<Option<Uuid>> {
    if let Some(default) = user.default_organization_id
        && Some(default) != enforcing
        && records::active_membership(db, user.id, default)
            .await?
            .is_some()
    {
        return Ok(Some(default));
    }
    let mut select = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id))
        .filter(membership::Column::SuspendedAt.is_null());
    if let Some(enforcing) = enforcing {
        select = select.filter(membership::Column::OrganizationId.ne(enforcing));
    }
    Ok(select
        .order_by_asc(membership::Column::Id)
        .one(db)
        .await?
        .map(|m| m.organization_id))
}
