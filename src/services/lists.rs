//! User-defined lists: an organization's lists of values of one kind (addresses, domains,
//! hashes …), their entries, and the partner organizations it shares them with.
//!
//! A list belongs to one organization and only its members change it. When the list is
//! `shared`, members of every organization its owner picked as a share partner read it (with
//! `list: read` in their own organization); they cannot change or re-share it. Who sees a shared
//! list is decided on each request from the partner rows and the list's flag, so unsharing or
//! removing a partner hides it on the very next request.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{list, list_entry, organization, share_partner};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query, SelectStatement, UnionType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Action, Actor, Event, Scope};
use super::{Page, PageArgs};
use crate::authz::{OrgAccess, require};
use crate::db::begin_write;
use crate::domain::text::{self, TextKind};
use crate::domain::{ListKind, ListName};
use crate::error::{ApiError, ApiResult};

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

/// Records a change in the audit log of the actor's organization.
async fn record(
    txn: &impl ConnectionTrait,
    access: &OrgAccess,
    actor: &Actor,
    action: Action,
    target: (&'static str, Uuid),
    description: String,
    payload: serde_json::Value,
) -> ApiResult<()> {
    audit::record(
        txn,
        actor,
        Event::new(
            Scope::Organization(access.organization_id),
            action,
            description,
        )
        .target(target.0, target.1)
        .payload(payload),
    )
    .await
}

/// The kind a stored list holds.
pub fn kind_of(model: &list::Model) -> ApiResult<ListKind> {
    ListKind::parse(&model.kind)
        .ok_or_else(|| ApiError::internal(format!("list {} has unknown kind", model.id)))
}

async fn name_taken(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    name_lower: &str,
    except: Option<Uuid>,
) -> ApiResult<bool> {
    let mut query = list::Entity::find()
        .filter(list::Column::OrganizationId.eq(organization_id))
        .filter(list::Column::NameLower.eq(name_lower));
    if let Some(id) = except {
        query = query.filter(list::Column::Id.ne(id));
    }
    Ok(query.count(txn).await? > 0)
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
    if name_taken(&txn, access.organization_id, &name_lower, None).await? {
        return Err(ApiError::conflict(format!(
            "a list named {name} already exists in this organization"
        )));
    }
    let now = Utc::now();
    let model = list::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(access.organization_id),
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

/// The list `list_id` of the actor's organization, locked until the transaction ends so that
/// changes to one list run one after another.
async fn lock_list(
    txn: &impl ConnectionTrait,
    access: &OrgAccess,
    list_id: Uuid,
) -> ApiResult<list::Model> {
    list::Entity::find_by_id(list_id)
        .filter(list::Column::OrganizationId.eq(access.organization_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))
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
        if name_lower != before.name_lower
            && name_taken(&txn, access.organization_id, &name_lower, Some(list_id)).await?
        {
            return Err(ApiError::conflict(format!(
                "a list named {name} already exists in this organization"
            )));
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
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    list_id: Uuid,
    entries: Vec<NewEntry>,
) -> ApiResult<(list::Model, EntriesChange)> {
    access.require(require::LIST_EDIT)?;
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
    let txn = begin_write(db).await?;
    let model = lock_list(&txn, access, list_id).await?;
    let kind = kind_of(&model)?;
    let values = normalize_all(
        "entries",
        kind,
        entries.iter().map(|entry| entry.value.as_str()),
    )?;
    let mut seen = HashSet::with_capacity(values.len());
    let unique: Vec<(&str, Option<String>)> = values
        .iter()
        .zip(&entries)
        .filter(|(value, _)| seen.insert(value.as_str()))
        .map(|(value, entry)| {
            let note = entry
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty());
            (value.as_str(), note.map(str::to_owned))
        })
        .collect();
    let keys: Vec<&str> = unique.iter().map(|(value, _)| *value).collect();
    let existing = present(&txn, list_id, &keys).await?;
    let now = Utc::now();
    let new: Vec<(&str, Option<String>)> = unique
        .into_iter()
        .filter(|(value, _)| !existing.contains(*value))
        .collect();
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
        .exec_without_returning(&txn)
        .await?;
    }
    let added: Vec<&str> = new.iter().map(|(value, _)| *value).collect();
    finish_entries_change(
        txn,
        access,
        actor,
        model,
        Entries::Added,
        &added,
        values.len(),
    )
    .await
}

/// Removes entries by value (normalized for the list's kind like added ones); absent values
/// are skipped and counted.
pub async fn remove_entries(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    list_id: Uuid,
    values: Vec<String>,
) -> ApiResult<(list::Model, EntriesChange)> {
    access.require(require::LIST_EDIT)?;
    let txn = begin_write(db).await?;
    let model = lock_list(&txn, access, list_id).await?;
    let kind = kind_of(&model)?;
    let normalized = normalize_all("values", kind, values.iter().map(String::as_str))?;
    let mut seen = HashSet::with_capacity(normalized.len());
    let unique: Vec<&str> = normalized
        .iter()
        .map(String::as_str)
        .filter(|value| seen.insert(*value))
        .collect();
    let existing = present(&txn, list_id, &unique).await?;
    let removed: Vec<&str> = unique
        .into_iter()
        .filter(|value| existing.contains(*value))
        .collect();
    for chunk in removed.chunks(CHUNK) {
        list_entry::Entity::delete_many()
            .filter(list_entry::Column::ListId.eq(list_id))
            .filter(list_entry::Column::Value.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    finish_entries_change(
        txn,
        access,
        actor,
        model,
        Entries::Removed,
        &removed,
        normalized.len(),
    )
    .await
}

/// Which way a change of entries went.
#[derive(Clone, Copy)]
enum Entries {
    Added,
    Removed,
}

/// Ends a change of entries whose `changed` values were written out of `asked`: counts them on
/// the list, records the change and commits. A call that changed nothing writes nothing.
async fn finish_entries_change(
    txn: sea_orm::DatabaseTransaction,
    access: &OrgAccess,
    actor: &Actor,
    model: list::Model,
    way: Entries,
    changed: &[&str],
    asked: usize,
) -> ApiResult<(list::Model, EntriesChange)> {
    let change = EntriesChange {
        changed: changed.len() as u64,
        skipped: (asked - changed.len()) as u64,
    };
    if changed.is_empty() {
        return Ok((model, change));
    }
    let (action, verb, preposition, delta) = match way {
        Entries::Added => (Action::ListEntriesAdded, "added", "to", 1),
        Entries::Removed => (Action::ListEntriesRemoved, "removed", "from", -1),
    };
    let model = bump_entry_count(&txn, &model, delta * changed.len() as i64).await?;
    let mut payload = audited_values(changed);
    payload[verb] = json!(change.changed);
    payload["skipped"] = json!(change.skipped);
    record(
        &txn,
        access,
        actor,
        action,
        ("list", model.id),
        format!(
            "{} {verb} {} entries {preposition} the list {}",
            actor.name(),
            change.changed,
            model.name
        ),
        payload,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        list = %model.id,
        changed = change.changed,
        skipped = change.skipped,
        entries = model.entry_count,
        "list entries {verb}"
    );
    Ok((model, change))
}

/// Shares a list with the organization's share partners, or stops sharing it.
pub async fn set_shared(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    list_id: Uuid,
    shared: bool,
) -> ApiResult<list::Model> {
    access.require(require::LIST_SHARING_MANAGE)?;
    let txn = begin_write(db).await?;
    let before = lock_list(&txn, access, list_id).await?;
    if before.shared == shared {
        return Ok(before);
    }
    let model = list::ActiveModel {
        id: Set(list_id),
        shared: Set(shared),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let (action, verb) = if shared {
        (Action::ListShared, "shared")
    } else {
        (Action::ListUnshared, "stopped sharing")
    };
    record(
        &txn,
        access,
        actor,
        action,
        ("list", model.id),
        format!("{} {verb} the list {}", actor.name(), model.name),
        json!({ "before": { "shared": before.shared }, "after": { "shared": shared } }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Picks `partner` to receive the organization's shared lists (nothing changes when it
/// already does).
pub async fn add_partner(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    partner: &organization::Model,
) -> ApiResult<()> {
    access.require(require::LIST_SHARING_MANAGE)?;
    if partner.id == access.organization_id {
        return Err(ApiError::invalid(
            "partnerOrganizationId",
            "an organization cannot be its own share partner",
        ));
    }
    let txn = begin_write(db).await?;
    let existing = share_partner::Entity::find_by_id((access.organization_id, partner.id))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Ok(());
    }
    share_partner::ActiveModel {
        organization_id: Set(access.organization_id),
        partner_id: Set(partner.id),
        added_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        access,
        actor,
        Action::SharePartnerAdded,
        ("organization", partner.id),
        format!(
            "{} added {} ({}) as a share partner",
            actor.name(),
            partner.name,
            partner.public_id
        ),
        json!({ "partner": { "name": partner.name, "publicId": partner.public_id } }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Stops sharing with `partner` (nothing changes when it was not a partner).
pub async fn remove_partner(
    db: &DatabaseConnection,
    access: &OrgAccess,
    actor: &Actor,
    partner: &organization::Model,
) -> ApiResult<()> {
    access.require(require::LIST_SHARING_MANAGE)?;
    let txn = begin_write(db).await?;
    let removed = share_partner::Entity::delete_by_id((access.organization_id, partner.id))
        .exec(&txn)
        .await?;
    if removed.rows_affected == 0 {
        return Ok(());
    }
    record(
        &txn,
        access,
        actor,
        Action::SharePartnerRemoved,
        ("organization", partner.id),
        format!(
            "{} removed {} ({}) as a share partner",
            actor.name(),
            partner.name,
            partner.public_id
        ),
        json!({ "partner": { "name": partner.name, "publicId": partner.public_id } }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Lists by id.
pub async fn load(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, list::Model>> {
    Ok(list::Entity::find()
        .filter(list::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|model| (model.id, model))
        .collect())
}

/// The partners each of `organization_ids` shares its lists with.
pub async fn partners(
    db: &impl ConnectionTrait,
    organization_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows = share_partner::Entity::find()
        .filter(share_partner::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(share_partner::Column::CreatedAt)
        .all(db)
        .await?;
    let mut partners: HashMap<Uuid, Vec<Uuid>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        partners
            .entry(row.organization_id)
            .or_default()
            .push(row.partner_id);
    }
    Ok(partners)
}

/// A page of an organization's own lists, oldest first.
pub async fn page(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    args: PageArgs,
) -> ApiResult<(Page<list::Model>, i64)> {
    let base = list::Entity::find().filter(list::Column::OrganizationId.eq(organization_id));
    let total = base.clone().count(db).await? as i64;
    let mut query = base;
    if let Some(after) = args.after {
        query = query.filter(list::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(list::Column::Id)
        .limit(args.first + 1)
        .all(db)
        .await?;
    Ok((Page::from_rows(rows, args.first), total))
}

/// A page of the lists other organizations share with `organization_id`: shared lists of every
/// organization that picked it as a partner, oldest first.
pub async fn shared_with(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    args: PageArgs,
) -> ApiResult<(Page<list::Model>, i64)> {
    let owners = share_partner::Entity::find()
        .select_only()
        .column(share_partner::Column::OrganizationId)
        .filter(share_partner::Column::PartnerId.eq(organization_id))
        .into_query();
    let base = list::Entity::find()
        .filter(list::Column::Shared.eq(true))
        .filter(list::Column::OrganizationId.in_subquery(owners));
    let total = base.clone().count(db).await? as i64;
    let mut query = base;
    if let Some(after) = args.after {
        query = query.filter(list::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(list::Column::Id)
        .limit(args.first + 1)
        .all(db)
        .await?;
    Ok((Page::from_rows(rows, args.first), total))
}

/// Which entries of a list a page shows: `first` after the value `after`, optionally only
/// values starting with `prefix` (already normalized for the list's kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryQuery {
    pub first: u64,
    pub after: Option<String>,
    pub prefix: Option<String>,
}

/// The values that start with `prefix` are those from `prefix` up to (not including) this
/// bound, in byte order: the prefix followed by the highest character.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

fn entry_select(list_id: Uuid, query: &EntryQuery) -> SelectStatement {
    use sea_orm::sea_query::ExprTrait;
    let mut select = Query::select();
    select
        .columns([
            list_entry::Column::ListId,
            list_entry::Column::Value,
            list_entry::Column::Note,
            list_entry::Column::AddedBy,
            list_entry::Column::AddedAt,
        ])
        .from(list_entry::Entity)
        .and_where(Expr::col(list_entry::Column::ListId).eq(list_id));
    if let Some(after) = &query.after {
        select.and_where(Expr::col(list_entry::Column::Value).gt(after.clone()));
    }
    if let Some(prefix) = &query.prefix {
        select
            .and_where(Expr::col(list_entry::Column::Value).gte(prefix.clone()))
            .and_where(Expr::col(list_entry::Column::Value).lt(prefix_end(prefix)));
    }
    select
        .order_by(list_entry::Column::Value, sea_orm::Order::Asc)
        .limit(query.first + 1);
    select
}

/// Pages of entries of many lists in one statement: one index walk per list, joined with
/// UNION ALL, so the statement count does not grow with the number of lists.
pub async fn entry_pages(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, EntryQuery)],
) -> ApiResult<HashMap<(Uuid, EntryQuery), Page<list_entry::Model>>> {
    /// An entry with the index of the key whose page it belongs to, so that one list asked
    /// for with two different pages in one batch keeps them apart.
    #[derive(FromQueryResult)]
    struct KeyedEntry {
        page: i64,
        list_id: Uuid,
        value: String,
        note: Option<String>,
        added_by: Option<Uuid>,
        added_at: chrono::DateTime<Utc>,
    }
    let Some(((first_list, first_query), rest)) = keys.split_first() else {
        return Ok(HashMap::new());
    };
    let wrap = |index: usize, list_id: Uuid, query: &EntryQuery| {
        Query::select()
            .expr_as(Expr::val(index as i64), Alias::new("page"))
            .column(Asterisk)
            .from_subquery(
                entry_select(list_id, query),
                Alias::new(format!("p{index}")),
            )
            .to_owned()
    };
    let mut union = wrap(0, *first_list, first_query);
    for (index, (list_id, query)) in rest.iter().enumerate() {
        union.union(UnionType::All, wrap(index + 1, *list_id, query));
    }
    let statement = db.get_database_backend().build(&union);
    let rows = KeyedEntry::find_by_statement(statement).all(db).await?;
    let mut pages: Vec<Vec<list_entry::Model>> = vec![Vec::new(); keys.len()];
    for row in rows {
        if let Some(page) = usize::try_from(row.page)
            .ok()
            .and_then(|i| pages.get_mut(i))
        {
            page.push(list_entry::Model {
                list_id: row.list_id,
                value: row.value,
                note: row.note,
                added_by: row.added_by,
                added_at: row.added_at,
            });
        }
    }
    Ok(keys
        .iter()
        .zip(pages)
        .map(|((list_id, query), mut rows)| {
            rows.sort_by(|a, b| a.value.cmp(&b.value));
            (
                (*list_id, query.clone()),
                Page::from_rows(rows, query.first),
            )
        })
        .collect())
}

/// How many entries of a list start with `prefix`.
pub async fn count_prefix(
    db: &impl ConnectionTrait,
    list_id: Uuid,
    prefix: &str,
) -> ApiResult<u64> {
    Ok(list_entry::Entity::find()
        .filter(list_entry::Column::ListId.eq(list_id))
        .filter(list_entry::Column::Value.gte(prefix))
        .filter(list_entry::Column::Value.lt(prefix_end(prefix)))
        .count(db)
        .await?)
}

/// The next `limit` entries of a list after `after`, in value order: how exports walk a list
/// without holding it in memory.
pub async fn entries_after(
    db: &impl ConnectionTrait,
    list_id: Uuid,
    after: Option<&str>,
    limit: u64,
) -> ApiResult<Vec<list_entry::Model>> {
    let mut query = list_entry::Entity::find().filter(list_entry::Column::ListId.eq(list_id));
    if let Some(after) = after {
        query = query.filter(list_entry::Column::Value.gt(after));
    }
    Ok(query
        .order_by_asc(list_entry::Column::Value)
        .limit(limit)
        .all(db)
        .await?)
}

/// The rule of sharing: a viewer who is not a member of a list's organization reads the list
/// when it is `shared` and the viewer's role grants `list: read` in one of the organizations
/// its owner picked as share partners (`partner_accesses`: the viewer's access in those of
/// them the viewer belongs to).
pub fn readable_through_sharing<'a>(
    shared: bool,
    partner_accesses: impl IntoIterator<Item = &'a OrgAccess>,
) -> bool {
    shared
        && partner_accesses
            .into_iter()
            .any(|access| access.allows(require::LIST_READ))
}

/// The list `list_id` if `viewer` may read it: with `list: read` in its organization, or, when
/// it is shared, in an organization its owner picked as a share partner. NOT_FOUND when the
/// viewer cannot see it at all (as for a list that does not exist); FORBIDDEN for a member of
/// its organization whose role does not grant `list: read`.
pub async fn readable(
    db: &impl ConnectionTrait,
    policy: &std::sync::Arc<crate::authz::Policy>,
    viewer: Uuid,
    list_id: Uuid,
) -> ApiResult<list::Model> {
    let model = list::Entity::find_by_id(list_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("list"))?;
    if let Some(access) = super::access::load_one(db, policy, viewer, model.organization_id).await?
    {
        access.require(require::LIST_READ)?;
        return Ok(model);
    }
    if model.shared {
        let partners = partners(db, &[model.organization_id])
            .await?
            .remove(&model.organization_id)
            .unwrap_or_default();
        let accesses = super::access::load(db, policy, viewer, &partners).await?;
        if readable_through_sharing(model.shared, accesses.values()) {
            return Ok(model);
        }
    }
    Err(ApiError::not_found("list"))
}
