//! What the lists service hands out: plain records of lists and entries, not database rows.

use chrono::{DateTime, Utc};
use entity::{list, list_entry};
use uuid::Uuid;

use crate::domain::ListKind;
use crate::error::{ApiError, ApiResult};

/// A list as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub kind: ListKind,
    pub description: Option<String>,
    /// Whether the owner's share partners see the list (read-only).
    pub shared: bool,
    pub entry_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<list::Model> for ListRecord {
    type Error = ApiError;

    fn try_from(model: list::Model) -> ApiResult<Self> {
        Ok(Self {
            kind: kind_of(&model)?,
            id: model.id,
            organization_id: model.organization_id,
            name: model.name,
            description: model.description,
            shared: model.shared,
            entry_count: model.entry_count,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}

/// The kind a stored list holds.
pub(super) fn kind_of(model: &list::Model) -> ApiResult<ListKind> {
    ListKind::parse(&model.kind)
        .ok_or_else(|| ApiError::internal(format!("list {} has unknown kind", model.id)))
}

/// One value of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    pub list_id: Uuid,
    /// Normalized for the list's kind.
    pub value: String,
    pub note: Option<String>,
    /// Who added it; none for removed users.
    pub added_by: Option<Uuid>,
    pub added_at: DateTime<Utc>,
}

impl From<list_entry::Model> for EntryRecord {
    fn from(model: list_entry::Model) -> Self {
        Self {
            list_id: model.list_id,
            value: model.value,
            note: model.note,
            added_by: model.added_by,
            added_at: model.added_at,
        }
    }
}
