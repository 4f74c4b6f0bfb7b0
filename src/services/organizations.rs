//! Creating, renaming and reading organizations.

use std::collections::HashMap;

use chrono::Utc;
use entity::{membership, organization, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, SqlErr,
};
use uuid::Uuid;

use super::AppState;
use crate::authz::{OrgAccess, require};
use crate::db::begin_write;
use crate::domain::{OrganizationName, new_public_org_id};
use crate::error::{ApiError, ApiResult};

pub async fn load(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, organization::Model>> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|org| (org.id, org))
        .collect())
}

/// Creates an organization whose first owner is `owner_id`, in one transaction. It becomes the
/// owner's default organization when they have none.
pub async fn create(
    state: &AppState,
    owner_id: Uuid,
    name: OrganizationName,
) -> ApiResult<organization::Model> {
    let txn = begin_write(&state.db).await?;
    let org = create_in(&txn, state, owner_id, name).await?;
    txn.commit().await?;
    Ok(org)
}

/// The body of [`create`], for callers that already hold a transaction.
pub async fn create_in(
    txn: &impl ConnectionTrait,
    state: &AppState,
    owner_id: Uuid,
    name: OrganizationName,
) -> ApiResult<organization::Model> {
    let now = Utc::now();
    let name = name.into_inner();
    // Public ids are random; a collision is rare and simply retried with a fresh id.
    let mut attempt = 0;
    let org = loop {
        attempt += 1;
        let model = organization::ActiveModel {
            id: Set(Uuid::now_v7()),
            public_id: Set(new_public_org_id()),
            name: Set(name.clone()),
            seats: Set(state.settings.default_seats),
            free_read_only_seats: Set(true),
            features: Set("[]".to_owned()),
            created_at: Set(now),
        };
        match organization::Entity::insert(model.clone())
            .exec_without_returning(txn)
            .await
        {
            Ok(_) => break model,
            Err(err)
                if attempt < 5
                    && matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
            {
                continue;
            }
            Err(err) => return Err(err.into()),
        }
    };
    let org_id = *org.id.as_ref();
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(owner_id),
        organization_id: Set(org_id),
        role_id: Set(state.policy.owner_role().id),
        invited_by: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    user::Entity::update_many()
        .col_expr(user::Column::DefaultOrganizationId, Expr::value(org_id))
        .filter(user::Column::Id.eq(owner_id))
        .filter(user::Column::DefaultOrganizationId.is_null())
        .exec(txn)
        .await?;
    organization::Entity::find_by_id(org_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal("a created organization vanished"))
}

/// Renames an organization; needs `organization: edit`.
pub async fn rename(
    db: &DatabaseConnection,
    access: &OrgAccess,
    name: OrganizationName,
) -> ApiResult<organization::Model> {
    access.require(require::ORGANIZATION_EDIT)?;
    let txn = begin_write(db).await?;
    let org = organization::Entity::find_by_id(access.organization_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let mut active: organization::ActiveModel = org.into();
    active.name = Set(name.into_inner());
    let org = active.update(&txn).await?;
    txn.commit().await?;
    Ok(org)
}
