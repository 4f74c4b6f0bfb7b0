//! A list's own life: created, renamed or described, deleted with its entries.

use chrono::Utc;
use entity::{list, list_entry};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::ListRecord;
use super::change::lock_list;
use crate::domain::{ListKind, ListName};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::Action;
use crate::services::store::scope::{OrgChange, Tx};

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

/// Creates a list in the organization being changed.
pub async fn create(
    change: &OrgChange,
    name: &str,
    kind: ListKind,
    description_text: Option<String>,
) -> ApiResult<ListRecord> {
    let name = ListName::parse("name", name)?.into_inner();
    let description_text = description(description_text)?;
    let model = change
        .write(async |tx| {
            let name_lower = name.to_lowercase();
            ensure_name_free(tx.txn, tx.organization_id(), &name, &name_lower, None).await?;
            let now = Utc::now();
            let model = list::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(tx.organization_id()),
                name: Set(name),
                name_lower: Set(name_lower),
                kind: Set(kind.as_str().to_owned()),
                description: Set(description_text),
                shared: Set(false),
                entry_count: Set(0),
                created_by: Set(tx.actor.user_id),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(tx.txn)
            .await?;
            let what = format!("created the {} list {}", model.kind, model.name);
            let event = tx
                .event(Action::ListCreated, what)
                .target("list", model.id)
                .payload(json!({ "after": list_json(&model) }));
            Ok((model, Some(event)))
        })
        .await?;
    model.try_into()
}

/// Renames a list or changes its description (`Some(None)` clears it).
pub async fn update(
    change: &OrgChange,
    list_id: Uuid,
    name: Option<&str>,
    description_text: Option<Option<String>>,
) -> ApiResult<ListRecord> {
    let name = name
        .map(|name| ListName::parse("name", name).map(ListName::into_inner))
        .transpose()?;
    let description_text = description_text.map(description).transpose()?;
    let model = change
        .write(async |tx| {
            let before = lock_list(tx, list_id).await?;
            let mut after = before.clone();
            if let Some(name) = name {
                let name_lower = name.to_lowercase();
                if name_lower != before.name_lower {
                    let organization_id = tx.organization_id();
                    ensure_name_free(tx.txn, organization_id, &name, &name_lower, Some(list_id))
                        .await?;
                }
                after.name = name;
                after.name_lower = name_lower;
            }
            if let Some(description_text) = description_text {
                after.description = description_text;
            }
            if after == before {
                return Ok((before, None));
            }
            let model = renamed(tx, after).await?;
            let event = tx
                .event(
                    Action::ListUpdated,
                    format!("updated the list {}", model.name),
                )
                .target("list", model.id)
                .payload(json!({ "before": list_json(&before), "after": list_json(&model) }));
            Ok((model, Some(event)))
        })
        .await?;
    model.try_into()
}

/// Writes a list's new name and description.
async fn renamed(tx: &Tx<'_>, after: list::Model) -> ApiResult<list::Model> {
    Ok(list::ActiveModel {
        id: Set(after.id),
        name: Set(after.name),
        name_lower: Set(after.name_lower),
        description: Set(after.description),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.txn)
    .await?)
}

/// Deletes a list with its entries.
pub async fn delete(change: &OrgChange, list_id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let model = lock_list(tx, list_id).await?;
            list_entry::Entity::delete_many()
                .filter(list_entry::Column::ListId.eq(list_id))
                .exec(tx.txn)
                .await?;
            list::Entity::delete_by_id(list_id).exec(tx.txn).await?;
            let what = format!(
                "deleted the list {} and its {} entries",
                model.name, model.entry_count
            );
            let event = tx
                .event(Action::ListDeleted, what)
                .target("list", model.id)
                .payload(json!({ "before": list_json(&model), "entryCount": model.entry_count }));
            Ok(((), Some(event)))
        })
        .await
}
