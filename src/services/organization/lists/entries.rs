//! Changing a list's entries, all or nothing, with values normalized for the list's kind.

use std::collections::HashSet;

use chrono::Utc;
use entity::{list, list_entry};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::ListRecord;
use super::change::lock_list;
use super::record::kind_of;
use crate::domain::ListKind;
use crate::domain::text::{self, TextKind};
use crate::error::{ApiError, ApiResult};
use crate::services::audit::{Action, Actor, Event};
use crate::services::store::scope::{OrgChange, Tx};

/// The most values one call may add or remove.
pub const MAX_VALUES_PER_CALL: usize = 10_000;
/// The most refused values an INVALID_INPUT error lists (it also gives the total).
pub const MAX_REPORTED_INVALID: usize = 100;
/// The most values an audit event of an entries change names (it always gives the counts).
const MAX_AUDITED_VALUES: usize = 100;
const MAX_NOTE_CHARS: usize = 500;
/// Rows per statement when reading or writing entries in bulk: well under every database's
/// limit on bound parameters.
const CHUNK: usize = 500;

/// One value to add, as typed, with an optional note.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub value: String,
    pub note: Option<String>,
}

/// What a change of entries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntriesChange {
    /// Values added (or removed).
    pub changed: u64,
    /// Values skipped: already present when adding, absent when removing, or repeated in the
    /// same call.
    pub skipped: u64,
}

/// Normalizes every value for `kind`: all of them, or INVALID_INPUT on `field` listing up to
/// [`MAX_REPORTED_INVALID`] refused values with their reasons (and how many were refused).
fn normalize_all<'a>(
    field: &'static str,
    kind: ListKind,
    values: impl ExactSizeIterator<Item = &'a str>,
) -> ApiResult<Vec<String>> {
    let count = values.len();
    if count == 0 {
        return Err(ApiError::invalid(field, "must hold at least one value"));
    }
    if count > MAX_VALUES_PER_CALL {
        return Err(ApiError::invalid(
            field,
            format!("holds {count} values; at most {MAX_VALUES_PER_CALL} are allowed a call"),
        ));
    }
    let mut normalized = Vec::with_capacity(count);
    let mut refused = Vec::new();
    let mut refused_count = 0usize;
    for (index, raw) in values.enumerate() {
        match kind.normalize(raw) {
            Ok(value) => normalized.push(value),
            Err(reason) => {
                refused_count += 1;
                if refused.len() < MAX_REPORTED_INVALID {
                    let shown: String = raw.chars().take(200).collect();
                    refused.push(json!({ "index": index, "value": shown, "reason": reason }));
                }
            }
        }
    }
    if refused_count > 0 {
        let first = &refused[0];
        return Err(ApiError::invalid(
            field,
            format!(
                "{refused_count} value(s) do not fit a {} list (nothing was changed); the first, `{}`, {}",
                kind.as_str(),
                first["value"].as_str().unwrap_or_default(),
                first["reason"].as_str().unwrap_or_default()
            ),
        )
        .with_detail(
            "invalidValues",
            json!({ "count": refused_count, "values": refused }),
        ));
    }
    Ok(normalized)
}

/// INVALID_INPUT on `entries` for the first note that is too long or holds control characters.
fn check_notes(entries: &[NewEntry]) -> ApiResult<()> {
    for (index, entry) in entries.iter().enumerate() {
        if let Some(note) = &entry.note
            && text::check("entries", TextKind::Line, note, MAX_NOTE_CHARS).is_err()
        {
            return Err(ApiError::invalid(
                "entries",
                format!(
                    "the note of entry {index} must have at most {MAX_NOTE_CHARS} characters and no control characters"
                ),
            ));
        }
    }
    Ok(())
}

/// The first occurrence of each normalized value, with the trimmed note of its entry (none
/// when blank).
fn first_of_each<'a>(values: &'a [String], entries: &[NewEntry]) -> Vec<(&'a str, Option<String>)> {
    let mut seen = HashSet::with_capacity(values.len());
    values
        .iter()
        .zip(entries)
        .filter(|(value, _)| seen.insert(value.as_str()))
        .map(|(value, entry)| {
            let note = entry
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty());
            (value.as_str(), note.map(str::to_owned))
        })
        .collect()
}

/// Which of `values` a list already holds.
async fn present(
    txn: &impl ConnectionTrait,
    list_id: Uuid,
    values: &[&str],
) -> ApiResult<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in values.chunks(CHUNK) {
        let rows: Vec<String> = list_entry::Entity::find()
            .select_only()
            .column(list_entry::Column::Value)
            .filter(list_entry::Column::ListId.eq(list_id))
            .filter(list_entry::Column::Value.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Writes new entries to a list, [`CHUNK`] rows a statement.
async fn insert(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    list_id: Uuid,
    new: &[(&str, Option<String>)],
) -> ApiResult<()> {
    let now = Utc::now();
    for chunk in new.chunks(CHUNK) {
        list_entry::Entity::insert_many(chunk.iter().map(|(value, note)| {
            list_entry::ActiveModel {
                list_id: Set(list_id),
                value: Set((*value).to_owned()),
                note: Set(note.clone()),
                added_by: Set(actor.user_id),
                added_at: Set(now),
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// The values an audit event names: the first [`MAX_AUDITED_VALUES`].
fn audited_values(values: &[&str]) -> serde_json::Value {
    json!({
        "values": values.iter().take(MAX_AUDITED_VALUES).collect::<Vec<_>>(),
        "valuesTruncated": values.len() > MAX_AUDITED_VALUES,
    })
}

async fn bump_entry_count(
    txn: &impl ConnectionTrait,
    list: &list::Model,
    delta: i64,
) -> ApiResult<list::Model> {
    Ok(list::ActiveModel {
        id: Set(list.id),
        entry_count: Set(list.entry_count + delta),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(txn)
    .await?)
}

/// Adds entries, all or nothing: every value is validated and normalized for the list's kind
/// first; values already present (or repeated in the call) are skipped and counted.
pub async fn add_entries(
    change: &OrgChange,
    list_id: Uuid,
    entries: Vec<NewEntry>,
) -> ApiResult<(ListRecord, EntriesChange)> {
    check_notes(&entries)?;
    let done = change
        .write(async |tx| {
            let model = lock_list(tx, list_id).await?;
            let kind = kind_of(&model)?;
            let values = normalize_all(
                "entries",
                kind,
                entries.iter().map(|entry| entry.value.as_str()),
            )?;
            let unique = first_of_each(&values, &entries);
            let keys: Vec<&str> = unique.iter().map(|(value, _)| *value).collect();
            let existing = present(tx.txn, list_id, &keys).await?;
            let new: Vec<(&str, Option<String>)> = unique
                .into_iter()
                .filter(|(value, _)| !existing.contains(*value))
                .collect();
            insert(tx.txn, tx.actor, list_id, &new).await?;
            let added: Vec<&str> = new.iter().map(|(value, _)| *value).collect();
            finish_entries_change(tx, model, Entries::Added, &added, values.len()).await
        })
        .await?;
    finished(done, Entries::Added)
}

/// Removes entries by value (normalized for the list's kind like added ones); absent values
/// are skipped and counted.
pub async fn remove_entries(
    change: &OrgChange,
    list_id: Uuid,
    values: Vec<String>,
) -> ApiResult<(ListRecord, EntriesChange)> {
    let done = change
        .write(async |tx| {
            let model = lock_list(tx, list_id).await?;
            let kind = kind_of(&model)?;
            let normalized = normalize_all("values", kind, values.iter().map(String::as_str))?;
            let mut seen = HashSet::with_capacity(normalized.len());
            let unique: Vec<&str> = normalized
                .iter()
                .map(String::as_str)
                .filter(|value| seen.insert(*value))
                .collect();
            let existing = present(tx.txn, list_id, &unique).await?;
            let removed: Vec<&str> = unique
                .into_iter()
                .filter(|value| existing.contains(*value))
                .collect();
            for chunk in removed.chunks(CHUNK) {
                list_entry::Entity::delete_many()
                    .filter(list_entry::Column::ListId.eq(list_id))
                    .filter(list_entry::Column::Value.is_in(chunk.iter().copied()))
                    .exec(tx.txn)
                    .await?;
            }
            finish_entries_change(tx, model, Entries::Removed, &removed, normalized.len()).await
        })
        .await?;
    finished(done, Entries::Removed)
}

/// Which way a change of entries went.
#[derive(Clone, Copy)]
enum Entries {
    Added,
    Removed,
}

impl Entries {
    fn verb(self) -> &'static str {
        match self {
            Entries::Added => "added",
            Entries::Removed => "removed",
        }
    }
}

/// Ends a change of entries whose `changed` values were written out of `asked`: counts them on
/// the list and describes the change for the audit log. A call that changed nothing writes
/// nothing.
async fn finish_entries_change(
    tx: &Tx<'_>,
    model: list::Model,
    way: Entries,
    changed: &[&str],
    asked: usize,
) -> ApiResult<((list::Model, EntriesChange), Option<Event>)> {
    let change = EntriesChange {
        changed: changed.len() as u64,
        skipped: (asked - changed.len()) as u64,
    };
    if changed.is_empty() {
        return Ok(((model, change), None));
    }
    let (action, preposition, delta) = match way {
        Entries::Added => (Action::ListEntriesAdded, "to", 1),
        Entries::Removed => (Action::ListEntriesRemoved, "from", -1),
    };
    let verb = way.verb();
    let model = bump_entry_count(tx.txn, &model, delta * changed.len() as i64).await?;
    let mut payload = audited_values(changed);
    payload[verb] = json!(change.changed);
    payload["skipped"] = json!(change.skipped);
    let what = format!(
        "{verb} {} entries {preposition} the list {}",
        change.changed, model.name
    );
    let event = tx
        .event(action, what)
        .target("list", model.id)
        .payload(payload);
    Ok(((model, change), Some(event)))
}

/// The committed change as callers see it, logged when it changed something.
fn finished(
    (model, change): (list::Model, EntriesChange),
    way: Entries,
) -> ApiResult<(ListRecord, EntriesChange)> {
    if change.changed > 0 {
        tracing::info!(
            list = %model.id,
            changed = change.changed,
            skipped = change.skipped,
            entries = model.entry_count,
            "list entries {}",
            way.verb()
        );
    }
    Ok((model.try_into()?, change))
}
