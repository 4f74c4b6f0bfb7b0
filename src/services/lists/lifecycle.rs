//! A list's own life: created, renamed or described, deleted with its entries.

use chrono::Utc;
use entity::{list, list_entry};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::change::{lock_list, record};
use crate::authz::{OrgAccess, require};
use crate::db::begin_write;
use crate::domain::{ListKind, ListName};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor};

fn description(value: Option<String>) -> ApiResult<Option<String>> {
    crate::domain::text::description("description", value.as_deref())
}

fn list_json(model: &list::Model) -> serde_json::Value {
    json!({
        "name": model.name,
        "kind": model.kind,
        "description": model.description,
        "shared": model.shared,
    })
}

/// The kind a stored list holds.
pub fn kind_of(model: &list::Model) -> ApiResult<ListKind> {
    ListKind::parse(&model.kind)
        .ok_or_else(|| ApiError::internal(format!("list {} has unknown kind", model.id)))
}

/// CONFLICT unless no other list of the organization (than `except`) has this name, in any
/// case.
async fn ensure_name_free(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    name: &str,
    name_lower: &str,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let mut query = list::Entity::find()
        .filter(list::Column::OrganizationId.eq(organization_id))
        .filter(list::Column::NameLower.eq(name_lower));
    if let Some(id) = except {
        query = query.filter(list::Column::Id.ne(id));
    }
    if query.count(txn).await? > 0 {
        return Err(ApiError::conflict(format!(
            "a list named {name} already exists in this organization"
        )));
    }
    Ok(())
}

/// Creates a list in the actor's organization.
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    name: &str,
    kind: ListKind,
    description_text: Option<String>,
) -> ApiResult<list::Model> {
    access.require(require::LIST_CREATE)?;
    let name = ListName::parse("name", name)?.into_inner();
    let description_text = description(description_text)?;
    let txn = begin_write(db).await?;
    let name_lower = name.to_lowercase();
    ensure_name_free(&txn, access.organization_id(), &name, &name_lower, None).await?;
    let now = Utc::now();
    let model = list::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(access.organization_id()),
        name: Set(name),
        name_lower: Set(name_lower),
        kind: Set(kind.as_str().to_owned()),
        description: Set(description_text),
        shared: Set(false),
        entry_count: Set(0),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        access,
        actor,
        Action::ListCreated,
        ("list", model.id),
        format!(
            "{} created the {} list {}",
            actor.name(),
            model.kind,
            model.name
        ),
        json!({ "after": list_json(&model) }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Renames a list or changes its description (`Some(None)` clears it).
pub async fn update(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    list_id: Uuid,
    name: Option<&str>,
    description_text: Option<Option<String>>,
) -> ApiResult<list::Model> {
    access.require(require::LIST_EDIT)?;
    let name = name
        .map(|name| ListName::parse("name", name).map(ListName::into_inner))
        .transpose()?;
    let description_text = description_text.map(description).transpose()?;
    let txn = begin_write(db).await?;
    let before = lock_list(&txn, access, list_id).await?;
    let mut after = before.clone();
    if let Some(name) = name {
        let name_lower = name.to_lowercase();
        if name_lower != before.name_lower {
            let organization_id = access.organization_id();
            ensure_name_free(&txn, organization_id, &name, &name_lower, Some(list_id)).await?;
        }
        after.name = name;
        after.name_lower = name_lower;
    }
    if let Some(description_text) = description_text {
        after.description = description_text;
    }
    if after == before {
        return Ok(before);
    }
    after.updated_at = Utc::now();
    let model = list::ActiveModel {
        id: Set(list_id),
        name: Set(after.name.clone()),
        name_lower: Set(after.name_lower.clone()),
        description: Set(after.description.clone()),
        updated_at: Set(after.updated_at),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    record(
        &txn,
        access,
        actor,
        Action::ListUpdated,
        ("list", model.id),
        format!("{} updated the list {}", actor.name(), model.name),
        json!({ "before": list_json(&before), "after": list_json(&model) }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Deletes a list with its entries.
pub async fn delete(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    list_id: Uuid,
) -> ApiResult<()> {
    access.require(require::LIST_FULL)?;
    let txn = begin_write(db).await?;
    let model = lock_list(&txn, access, list_id).await?;
    list_entry::Entity::delete_many()
        .filter(list_entry::Column::ListId.eq(list_id))
        .exec(&txn)
        .await?;
    list::Entity::delete_by_id(list_id).exec(&txn).await?;
    record(
        &txn,
        access,
        actor,
        Action::ListDeleted,
        ("list", model.id),
        format!(
            "{} deleted the list {} and its {} entries",
            actor.name(),
            model.name,
            model.entry_count
        ),
        json!({ "before": list_json(&model), "entryCount": model.entry_count }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
