//! SCIM Groups: sets of the organization's SCIM users, each placing its members in a role (see
//! [`super::placement`]). A group's members change in one transaction, however many.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{membership, scim_group, scim_group_member};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::users::{UserFilter, page_query};
use super::{Window, placement};
use crate::error::{ApiError, ApiResult};
use crate::scim::error::{ScimError, ScimType};
use crate::services::audit::{Action, Event};
use crate::services::organization::roles::RoleRecord;
use crate::services::store::records;
use crate::services::store::scope::{OrgChange, OrgScope, Tx};

/// A group as the provisioning client describes it, checked by the protocol side.
#[derive(Debug, Clone)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The SCIM ids (membership ids) of its members.
    pub members: Vec<Uuid>,
}

/// A group, with its members (their SCIM ids) when they were asked for.
#[derive(Debug, Clone)]
pub struct ScimGroup {
    pub group: scim_group::Model,
    pub members: Vec<Uuid>,
}

/// A group as GraphQL shows it: what it is, and the role it places its members in.
#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    /// Whether the role was set through GraphQL rather than matched by name.
    pub role_set: bool,
    pub role: Option<RoleRecord>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl GroupRecord {
    fn new(group: scim_group::Model, role: Option<RoleRecord>) -> Self {
        Self {
            id: group.id,
            organization_id: group.organization_id,
            display_name: group.display_name,
            external_id: group.external_id,
            role_set: group.role_id.is_some(),
            role,
            created_at: group.created_at,
            updated_at: group.updated_at,
        }
    }
}

/// The part of a filter the database answers: `displayName eq`, `externalId eq`.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub display_name: Option<String>,
    pub external_id: Option<String>,
}

fn groups(organization_id: Uuid, filter: &GroupFilter) -> sea_orm::Select<scim_group::Entity> {
    let mut query =
        scim_group::Entity::find().filter(scim_group::Column::OrganizationId.eq(organization_id));
    if let Some(name) = &filter.display_name {
        query = query.filter(scim_group::Column::DisplayLower.eq(name.to_lowercase()));
    }
    if let Some(id) = &filter.external_id {
        query = query.filter(scim_group::Column::ExternalId.eq(id.as_str()));
    }
    query
}

/// The groups `filter` selects in the window, oldest first, with their members when
/// `members`, and how many it selects.
pub async fn page(
    scope: &OrgScope,
    filter: &GroupFilter,
    window: Window,
    members: bool,
) -> ApiResult<(Vec<ScimGroup>, u64)> {
    let query = groups(scope.organization_id(), filter);
    let total = query.clone().count(scope.db()).await?;
    let rows = query
        .order_by_asc(scim_group::Column::Id)
        .offset(window.offset)
        .limit(window.limit)
        .all(scope.db())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for group in rows {
        out.push(with_members(scope.db(), group, members).await?);
    }
    Ok((out, total))
}

/// One group of the organization; NOT_FOUND for any other id.
pub async fn get(scope: &OrgScope, id: Uuid, members: bool) -> ApiResult<ScimGroup> {
    let group = groups(scope.organization_id(), &GroupFilter::default())
        .filter(scim_group::Column::Id.eq(id))
        .one(scope.db())
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    with_members(scope.db(), group, members).await
}

async fn member_ids(db: &impl sea_orm::ConnectionTrait, group: Uuid) -> ApiResult<Vec<Uuid>> {
    Ok(scim_group_member::Entity::find()
        .filter(scim_group_member::Column::GroupId.eq(group))
        .order_by_asc(scim_group_member::Column::MembershipId)
        .all(db)
        .await?
        .into_iter()
        .map(|link| link.membership_id)
        .collect())
}

async fn with_members(
    db: &impl sea_orm::ConnectionTrait,
    group: scim_group::Model,
    members: bool,
) -> ApiResult<ScimGroup> {
    let members = match members {
        true => member_ids(db, group.id).await?,
        false => vec![],
    };
    Ok(ScimGroup { group, members })
}

type Checked<T> = Result<T, ScimError>;

/// Refuses members that are not SCIM users of the organization (another organization's id,
/// a service account, a made-up id), before anything is written.
async fn unknown_members(tx: &Tx<'_>, members: &[Uuid]) -> ApiResult<Checked<()>> {
    let mut known = 0;
    for chunk in members.chunks(placement::CHUNK) {
        known += page_query(tx.organization.id, &UserFilter::default())
            .filter(membership::Column::Id.is_in(chunk.iter().copied()))
            .count(tx.txn)
            .await?;
    }
    if known == members.len() as u64 {
        return Ok(Ok(()));
    }
    Ok(Err(ScimError::bad_request(
        ScimType::InvalidValue,
        format!(
            "`members` names {} values that are not users of this organization",
            members.len() as u64 - known
        ),
    )))
}

async fn name_taken(tx: &Tx<'_>, name: &str, except: Option<Uuid>) -> ApiResult<Checked<()>> {
    let mut query = groups(
        tx.organization.id,
        &GroupFilter {
            display_name: Some(name.to_owned()),
            external_id: None,
        },
    );
    if let Some(except) = except {
        query = query.filter(scim_group::Column::Id.ne(except));
    }
    Ok(match query.count(tx.txn).await? {
        0 => Ok(()),
        _ => Err(ScimError::new(
            409,
            Some(ScimType::Uniqueness),
            "a group of the organization already has this `displayName`",
        )),
    })
}

/// Creates a group with its members, and places them.
pub async fn create(change: &OrgChange, input: &GroupInput) -> ApiResult<Checked<ScimGroup>> {
    let members = distinct(&input.members);
    let created = change
        .write_all(async |tx| {
            if let Err(refused) = name_taken(tx, &input.display_name, None).await? {
                return Ok((Err(refused), vec![]));
            }
            if let Err(refused) = unknown_members(tx, &members).await? {
                return Ok((Err(refused), vec![]));
            }
            let now = Utc::now();
            let group = scim_group::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(tx.organization.id),
                display_name: Set(input.display_name.clone()),
                display_lower: Set(input.display_name.to_lowercase()),
                external_id: Set(input.external_id.clone()),
                role_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(tx.txn)
            .await?;
            link(tx, group.id, &members).await?;
            let mut events = vec![
                tx.event(
                    Action::ScimGroupCreated,
                    format!("created the group {}", group.display_name),
                )
                .target("scim_group", group.id)
                .payload(json!({
                    "after": { "displayName": group.display_name, "members": members.len() },
                })),
            ];
            events.extend(placement::place(tx, &members).await?);
            Ok((Ok(group.id), events))
        })
        .await?;
    match created {
        Ok(id) => Ok(Ok(get(change, id, true).await?)),
        Err(refused) => Ok(Err(refused)),
    }
}

fn distinct(ids: &[Uuid]) -> Vec<Uuid> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

async fn link(tx: &Tx<'_>, group: Uuid, members: &[Uuid]) -> ApiResult<()> {
    for chunk in members.chunks(placement::CHUNK / 2) {
        let rows = chunk.iter().map(|member| scim_group_member::ActiveModel {
            group_id: Set(group),
            membership_id: Set(*member),
        });
        scim_group_member::Entity::insert_many(rows)
            .exec_without_returning(tx.txn)
            .await?;
    }
    Ok(())
}

async fn unlink(tx: &Tx<'_>, group: Uuid, members: &[Uuid]) -> ApiResult<()> {
    for chunk in members.chunks(placement::CHUNK) {
        scim_group_member::Entity::delete_many()
            .filter(scim_group_member::Column::GroupId.eq(group))
            .filter(scim_group_member::Column::MembershipId.is_in(chunk.iter().copied()))
            .exec(tx.txn)
            .await?;
    }
    Ok(())
}

/// Replaces a group's name and members with what `edit` makes of the current group (a PUT's
/// body, or the group with a PATCH applied); members who joined or left are placed again, and
/// all of them when the new name maps the group to another role.
pub async fn edit(
    change: &OrgChange,
    id: Uuid,
    edit: impl FnOnce(&ScimGroup) -> Checked<GroupInput>,
) -> ApiResult<Checked<ScimGroup>> {
    let current = get(change, id, true).await?;
    let input = match edit(&current) {
        Ok(input) => input,
        Err(refused) => return Ok(Err(refused)),
    };
    let members = distinct(&input.members);
    let done = change
        .write_all(async |tx| {
            let group = locked(tx, id).await?;
            if let Err(refused) = name_taken(tx, &input.display_name, Some(id)).await? {
                return Ok((Err(refused), vec![]));
            }
            if let Err(refused) = unknown_members(tx, &members).await? {
                return Ok((Err(refused), vec![]));
            }
            let before: HashSet<Uuid> = member_ids(tx.txn, id).await?.into_iter().collect();
            let after: HashSet<Uuid> = members.iter().copied().collect();
            let added: Vec<Uuid> = members
                .iter()
                .copied()
                .filter(|m| !before.contains(m))
                .collect();
            let removed: Vec<Uuid> = before.difference(&after).copied().collect();
            unlink(tx, id, &removed).await?;
            link(tx, id, &added).await?;
            let mut active: scim_group::ActiveModel = group.clone().into();
            active.display_name = Set(input.display_name.clone());
            active.display_lower = Set(input.display_name.to_lowercase());
            active.external_id = Set(input.external_id.clone());
            active.updated_at = Set(Utc::now());
            active.update(tx.txn).await?;
            let mut events = vec![updated_event(
                tx,
                &group,
                &input.display_name,
                &added,
                &removed,
            )];
            // A new name may map the group to another role: then every member moves.
            let moved: Vec<Uuid> = if group.display_lower != input.display_name.to_lowercase() {
                members.iter().chain(&removed).copied().collect()
            } else {
                added.iter().chain(&removed).copied().collect()
            };
            events.extend(placement::place(tx, &moved).await?);
            Ok((Ok(()), events))
        })
        .await?;
    match done {
        Ok(()) => Ok(Ok(get(change, id, true).await?)),
        Err(refused) => Ok(Err(refused)),
    }
}

fn updated_event(
    tx: &Tx<'_>,
    group: &scim_group::Model,
    name: &str,
    added: &[Uuid],
    removed: &[Uuid],
) -> Event {
    tx.event(
        Action::ScimGroupUpdated,
        format!("updated the group {name}"),
    )
    .target("scim_group", group.id)
    .payload(json!({
        "before": { "displayName": group.display_name },
        "after": { "displayName": name },
        "membersAdded": added.len(),
        "membersRemoved": removed.len(),
    }))
}

async fn locked(tx: &Tx<'_>, id: Uuid) -> ApiResult<scim_group::Model> {
    groups(tx.organization.id, &GroupFilter::default())
        .filter(scim_group::Column::Id.eq(id))
        .one(tx.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))
}

/// Deletes a group; its former members are placed again.
pub async fn delete(change: &OrgChange, id: Uuid) -> ApiResult<()> {
    change
        .write_all(async |tx| {
            let group = locked(tx, id).await?;
            let members = member_ids(tx.txn, id).await?;
            scim_group::Entity::delete_by_id(id).exec(tx.txn).await?;
            unlink(tx, id, &members).await?;
            let mut events = vec![
                tx.event(
                    Action::ScimGroupDeleted,
                    format!("deleted the group {}", group.display_name),
                )
                .target("scim_group", id)
                .payload(json!({
                    "before": { "displayName": group.display_name, "members": members.len() },
                })),
            ];
            events.extend(placement::place(tx, &members).await?);
            Ok(((), events))
        })
        .await
}

/// Sets the role a group places its members in (none: the role of the group's name), and
/// places its members again, under the actor's own power over those roles.
pub async fn set_role(
    change: &OrgChange,
    id: Uuid,
    role_id: Option<Uuid>,
) -> ApiResult<GroupRecord> {
    change
        .write_all(async |tx| {
            let group = locked(tx, id).await?;
            let role = match role_id {
                Some(role_id) => Some(
                    records::role_in_organization(tx.txn, tx.policy(), tx.organization.id, role_id)
                        .await?,
                ),
                None => None,
            };
            let mut active: scim_group::ActiveModel = group.clone().into();
            active.role_id = Set(role.as_ref().map(|role| role.id));
            active.updated_at = Set(Utc::now());
            let updated = active.update(tx.txn).await?;
            let mapped = placement::group_roles(
                tx.txn,
                tx.policy(),
                tx.organization.id,
                std::slice::from_ref(&updated),
            )
            .await?
            .remove(&id);
            let mut events = vec![
                tx.event(
                    Action::ScimGroupUpdated,
                    format!(
                        "set the role of the group {} to {}",
                        group.display_name,
                        mapped.as_ref().map_or("none", |role| role.name.as_str())
                    ),
                )
                .target("scim_group", id)
                .payload(
                    json!({ "after": { "role": mapped.as_ref().map(|role| role.key.clone()) } }),
                ),
            ];
            let members = member_ids(tx.txn, id).await?;
            events.extend(placement::place(tx, &members).await?);
            Ok((GroupRecord::new(updated, mapped), events))
        })
        .await
}

/// The role each of `groups` places its members in.
pub async fn roles_of(
    scope: &OrgScope,
    groups: &[scim_group::Model],
) -> ApiResult<HashMap<Uuid, RoleRecord>> {
    placement::group_roles(scope.db(), scope.policy(), scope.organization_id(), groups).await
}

/// A page of the organization's groups, oldest first, each with the role it places its
/// members in.
pub async fn listed(
    scope: &OrgScope,
    args: crate::services::PageArgs,
) -> ApiResult<crate::services::Page<GroupRecord>> {
    let mut select = groups(scope.organization_id(), &GroupFilter::default())
        .order_by_asc(scim_group::Column::Id)
        .limit(args.first + 1);
    if let Some(after) = args.after {
        select = select.filter(scim_group::Column::Id.gt(after));
    }
    let rows = select.all(scope.db()).await?;
    let page = crate::services::Page::from_rows(rows, args.first);
    let mut roles = roles_of(scope, &page.items).await?;
    Ok(page.map(|group| {
        let role = roles.remove(&group.id);
        GroupRecord::new(group, role)
    }))
}

/// How many groups the organization has.
pub async fn count(scope: &OrgScope) -> ApiResult<u64> {
    Ok(groups(scope.organization_id(), &GroupFilter::default())
        .count(scope.db())
        .await?)
}

/// The organization a group belongs to, or NOT_FOUND.
pub async fn organization_of(state: &crate::services::AppState, id: Uuid) -> ApiResult<Uuid> {
    Ok(scim_group::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("SCIM group"))?
        .organization_id)
}
