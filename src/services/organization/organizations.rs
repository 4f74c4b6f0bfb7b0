//! Creating, renaming and reading organizations.

use std::collections::HashMap;

use chrono::Utc;
use entity::{organization, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr,
};
use uuid::Uuid;

use crate::domain::text::{self, TextKind};
use crate::domain::{OrganizationName, new_public_org_id};
use crate::error::{ApiError, ApiResult};
use crate::services::AppState;
use crate::services::audit::{Action, Actor, Event, Scope};
pub(crate) use crate::services::store::records::load_organizations as load;
pub use crate::services::store::records::{OrganizationRecord, features};
use crate::services::store::scope::{self, Admitted, OrgChange, OrgScope};
use crate::services::store::seats::{SeatUsage, seat_usage};
use serde_json::json;

/// The organizations `ids` that exist, as records.
pub async fn records(
    state: &AppState,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, OrganizationRecord>> {
    let found = load(&state.db, ids).await?;
    Ok(found
        .into_iter()
        .map(|(id, org)| (id, org.into()))
        .collect())
}

/// The organization `reference` names by its public or internal id, if any.
pub async fn named(state: &AppState, reference: &str) -> ApiResult<Option<OrganizationRecord>> {
    Ok(find_by_reference(state, reference).await?.map(Into::into))
}

/// [`seat_usage`] of the organizations whose gate was passed.
pub async fn admitted_seat_usage(
    state: &AppState,
    keys: &[Admitted<Uuid>],
) -> ApiResult<HashMap<Admitted<Uuid>, SeatUsage>> {
    scope::batched(keys, async |ids| {
        let orgs: Vec<_> = load(&state.db, ids).await?.into_values().collect();
        seat_usage(&state.db, &state.policy, &orgs).await
    })
    .await
}

/// Creates an organization whose first owner is `owner_id`, in one transaction. It becomes the
/// owner's default organization when they have none.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    owner_id: Uuid,
    name: OrganizationName,
) -> ApiResult<organization::Model> {
    scope::write(&state.db, actor, async |txn| {
        let (org, event) = create_in(txn, state, actor, owner_id, name).await?;
        Ok((org, vec![event]))
    })
    .await
}

/// The body of [`create`], for callers that already hold a transaction: the organization and
/// the event that records its creation, for the caller to record with the change.
pub(crate) async fn create_in(
    txn: &impl ConnectionTrait,
    state: &AppState,
    actor: &Actor,
    owner_id: Uuid,
    name: OrganizationName,
) -> ApiResult<(organization::Model, Event)> {
    let org_id = insert_organization(txn, state, name.into_inner()).await?;
    let owner = user::Entity::find_by_id(owner_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let owner_role = state.policy.owner_role();
    crate::services::store::records::new_membership(
        &owner,
        org_id,
        owner_role.id,
        &owner_role.name,
        None,
    )
    .insert(txn)
    .await?;
    user::Entity::update_many()
        .col_expr(user::Column::DefaultOrganizationId, Expr::value(org_id))
        .filter(user::Column::Id.eq(owner_id))
        .filter(user::Column::DefaultOrganizationId.is_null())
        .exec(txn)
        .await?;
    let org = organization::Entity::find_by_id(org_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("a created organization vanished"))?;
    let event = Event::new(
        Scope::Organization(org.id),
        Action::OrganizationCreated,
        format!("{} created the organization {}", actor.name(), org.name),
    )
    .target("organization", org.id)
    .payload(
        json!({ "after": { "name": org.name, "publicId": org.public_id, "owner": owner_id } }),
    );
    Ok((org, event))
}

/// Inserts a new organization named `name` and returns its id. Public ids are random; a
/// collision is rare and simply retried with a fresh id.
async fn insert_organization(
    txn: &impl ConnectionTrait,
    state: &AppState,
    name: String,
) -> ApiResult<Uuid> {
    let now = Utc::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let model = organization::ActiveModel {
            id: Set(Uuid::now_v7()),
            public_id: Set(new_public_org_id()),
            name: Set(name.clone()),
            seats: Set(state.settings.default_seats),
            free_read_only_seats: Set(true),
            features: Set("[]".to_owned()),
            created_at: Set(now),
            mfa_required: Set(false),
            scim_default_role_id: Set(None),
        };
        match organization::Entity::insert(model.clone())
            .exec_without_returning(txn)
            .await
        {
            Ok(_) => return Ok(*model.id.as_ref()),
            Err(err)
                if attempt < 5
                    && matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
            {
                continue;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Renames the organization.
pub async fn rename(change: &OrgChange, name: OrganizationName) -> ApiResult<organization::Model> {
    change
        .write(async |tx| {
            let before = tx.organization.name.clone();
            let mut active: organization::ActiveModel = tx.organization.clone().into();
            active.name = Set(name.into_inner());
            let org = active.update(tx.txn).await?;
            let event = tx
                .event(
                    Action::OrganizationUpdated,
                    format!("renamed the organization from {before} to {}", org.name),
                )
                .target("organization", org.id)
                .payload(json!({ "before": { "name": before }, "after": { "name": org.name } }));
            Ok((org, Some(event)))
        })
        .await
}

/// A change to an organization's license, made by a platform operator.
#[derive(Debug, Clone, Default)]
pub struct LicenseChange {
    pub seats: Option<i32>,
    pub free_read_only_seats: Option<bool>,
    pub add_features: Vec<String>,
    pub remove_features: Vec<String>,
}

/// Finds an organization by its public id (`ORG-…`) or its internal id.
pub(crate) async fn find_by_reference(
    state: &AppState,
    reference: &str,
) -> ApiResult<Option<organization::Model>> {
    let db = &state.db;
    let reference = reference.trim();
    // No organization has a control character or a thousand letters in its id: such a
    // reference names none, and must not reach the query (PostgreSQL refuses NUL).
    if reference.len() > 64 || !text::is_clean(TextKind::Line, reference) {
        return Ok(None);
    }
    if let Ok(id) = Uuid::parse_str(reference) {
        return Ok(organization::Entity::find_by_id(id).one(db).await?);
    }
    Ok(organization::Entity::find()
        .filter(organization::Column::PublicId.eq(reference.to_uppercase()))
        .one(db)
        .await?)
}

/// The license of the organization `scope` passed the gate of, with the key to read its seats.
pub fn licensed(scope: &OrgScope, organization: OrganizationRecord) -> ApiResult<Licensed> {
    if organization.id != scope.organization_id() {
        return Err(ApiError::not_found("organization"));
    }
    Ok(Licensed {
        seats: scope.organization_key(),
        organization,
    })
}

/// An organization whose license a platform operator has just changed, and the key to read
/// the seats it uses (the operator need not be a member).
pub struct Licensed {
    pub organization: OrganizationRecord,
    pub seats: Admitted<Uuid>,
}

/// [`change_license`] of the organization a platform operator names by its public or internal
/// id; NOT_FOUND when none has it.
pub async fn change_license_of(
    state: &AppState,
    actor: &Actor,
    reference: &str,
    change: LicenseChange,
) -> ApiResult<Licensed> {
    let org = find_by_reference(state, reference)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let org = change_license(state, actor, org.id, change).await?;
    Ok(Licensed {
        seats: Admitted::new(org.id),
        organization: org.into(),
    })
}

/// Applies a license change; features must be known to the policy.
pub async fn change_license(
    state: &AppState,
    actor: &Actor,
    organization_id: Uuid,
    change: LicenseChange,
) -> ApiResult<organization::Model> {
    let db = &state.db;
    let policy = &state.policy;
    check_license_change(policy, &change)?;
    scope::write(db, actor, async |txn| {
        let org = organization::Entity::find_by_id(organization_id)
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        let before = license_json(&org);
        let mut features = features(&org);
        features.retain(|f| !change.remove_features.contains(f));
        for feature in change.add_features {
            if !features.contains(&feature) {
                features.push(feature);
            }
        }
        features.sort();
        let mut active: organization::ActiveModel = org.into();
        if let Some(seats) = change.seats {
            active.seats = Set(seats);
        }
        if let Some(free) = change.free_read_only_seats {
            active.free_read_only_seats = Set(free);
        }
        active.features = Set(serde_json::to_string(&features).map_err(ApiError::internal)?);
        let org = active.update(txn).await?;
        let event = Event::new(
            Scope::Organization(org.id),
            Action::OrganizationLicenseChanged,
            format!("{} changed the license of {}", actor.name(), org.name),
        )
        .target("organization", org.id)
        .payload(json!({ "before": before, "after": license_json(&org) }));
        Ok((org, vec![event]))
    })
    .await
}

/// INVALID_INPUT for a seat count out of range or a feature the policy does not know.
fn check_license_change(policy: &crate::authz::Policy, change: &LicenseChange) -> ApiResult<()> {
    if let Some(seats) = change.seats
        && !(0..=1_000_000).contains(&seats)
    {
        return Err(ApiError::invalid("seats", "must be between 0 and 1000000"));
    }
    for feature in change.add_features.iter().chain(&change.remove_features) {
        if !policy.has_feature(feature) {
            let known: Vec<&str> = policy.features().iter().map(|f| f.key.as_str()).collect();
            return Err(ApiError::invalid(
                "features",
                format!(
                    "unknown feature `{feature}`; the policy knows {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn license_json(org: &organization::Model) -> serde_json::Value {
    json!({
        "seats": org.seats,
        "freeReadOnlySeats": org.free_read_only_seats,
        "features": features(org),
    })
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
