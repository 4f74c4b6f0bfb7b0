//! SCIM Users: the organization's people, one membership each.

use chrono::Utc;
use entity::{membership, scim_group, scim_group_member, user};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{Window, check_target, emails_of, placement};
use crate::domain::Email;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::scim::error::{ScimError, ScimType};
use crate::services::audit::{Action, Event};
use crate::services::identity::users;
use crate::services::organization::members::{delete_membership, user_email};
use crate::services::store::records;
use crate::services::store::scope::{OrgChange, OrgScope, Tx};
use crate::services::store::seats::SeatLedger;

/// A person as the provisioning client describes them, checked by the protocol side.
#[derive(Debug, Clone)]
pub struct UserInput {
    /// `userName`: the person's Charter identity.
    pub email: Email,
    pub active: bool,
    pub external_id: Option<String>,
    /// The name a new identity gets.
    pub display_name: String,
    /// JSON object: the other attributes, kept for this organization's view.
    pub attributes: String,
}

/// A SCIM User: a membership, its person's email, and the groups it is in.
#[derive(Debug, Clone)]
pub struct ScimUser {
    pub membership: membership::Model,
    pub email: String,
    pub groups: Vec<(Uuid, String)>,
}

/// The part of a filter the database answers: `userName eq`, `externalId eq`, `active eq`.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub active: Option<bool>,
}

/// The organization's people (service accounts are Charter's own) that `filter` selects.
pub(super) fn page_query(
    organization_id: Uuid,
    filter: &UserFilter,
) -> sea_orm::Select<membership::Entity> {
    let mut humans = Query::select();
    humans
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(Expr::col(user::Column::Kind).eq(users::HUMAN));
    if let Some(name) = &filter.user_name {
        humans.and_where(Expr::col(user::Column::EmailLower).eq(name.to_lowercase()));
    }
    let mut query = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.in_subquery(humans.to_owned()));
    if let Some(id) = &filter.external_id {
        query = query.filter(membership::Column::ScimExternalId.eq(id.as_str()));
    }
    query = match filter.active {
        Some(true) => query.filter(membership::Column::SuspendedAt.is_null()),
        Some(false) => query.filter(membership::Column::SuspendedAt.is_not_null()),
        None => query,
    };
    query
}

/// The users `filter` selects in the window, oldest first, and how many it selects.
pub async fn page(
    scope: &OrgScope,
    filter: &UserFilter,
    window: Window,
) -> ApiResult<(Vec<ScimUser>, u64)> {
    let query = page_query(scope.organization_id(), filter);
    let total = query.clone().count(scope.db()).await?;
    let rows = query
        .order_by_asc(membership::Column::Id)
        .offset(window.offset)
        .limit(window.limit)
        .all(scope.db())
        .await?;
    Ok((described(scope.db(), rows).await?, total))
}

/// One user of the organization; NOT_FOUND for any other id.
pub async fn get(scope: &OrgScope, id: Uuid) -> ApiResult<ScimUser> {
    let found = page_query(scope.organization_id(), &UserFilter::default())
        .filter(membership::Column::Id.eq(id))
        .one(scope.db())
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(described(scope.db(), vec![found]).await?.remove(0))
}

async fn described(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<membership::Model>,
) -> ApiResult<Vec<ScimUser>> {
    let user_ids: Vec<Uuid> = rows.iter().map(|m| m.user_id).collect();
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let emails = emails_of(db, &user_ids).await?;
    let groups_of = placement::groups_of(db, &ids).await?;
    let group_ids: Vec<Uuid> = groups_of.values().flatten().copied().collect();
    let names: std::collections::HashMap<Uuid, String> = scim_group::Entity::find()
        .filter(scim_group::Column::Id.is_in(group_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|group| (group.id, group.display_name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|membership| {
            let groups = groups_of
                .get(&membership.id)
                .into_iter()
                .flatten()
                .filter_map(|id| Some((*id, names.get(id)?.clone())))
                .collect();
            ScimUser {
                email: emails.get(&membership.user_id).cloned().unwrap_or_default(),
                membership,
                groups,
            }
        })
        .collect())
}

/// Refusals a provisioning client is answered with, before anything is written.
type Checked<T> = Result<T, ScimError>;

fn foreign_domain() -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidValue,
        "`userName` must be an email in one of the organization's verified domains",
    )
}

/// Adds the person to the organization: their existing identity when one has the email (it is
/// linked, not duplicated, whatever its domain: the organization changes nothing of it but its
/// own membership), else a new one, only in one of the organization's verified domains; with
/// the SCIM default role. Two organizations
/// provisioning the same new person at once end with one identity: the second write finds it.
pub async fn create(change: &OrgChange, input: &UserInput) -> ApiResult<Checked<ScimUser>> {
    match create_once(change, input).await {
        Err(err) if err.code == ErrorCode::Conflict => create_once(change, input).await,
        other => other,
    }
}

async fn create_once(change: &OrgChange, input: &UserInput) -> ApiResult<Checked<ScimUser>> {
    let created = change
        .write_all(async |tx| {
            let (txn, org) = (tx.txn, tx.organization);
            let mut events = Vec::new();
            let person = match users::find_by_email(txn, &input.email).await? {
                Some(person) if person.kind != users::HUMAN => {
                    return Ok((Err(taken("a service account")), vec![]));
                }
                Some(person) => {
                    if records::membership(txn, person.id, org.id).await?.is_some() {
                        return Ok((Err(taken("a member of this organization")), vec![]));
                    }
                    person
                }
                None => {
                    let domain = input.email.domain().unwrap_or_default();
                    if !crate::services::store::records::verified_domain(txn, org.id, &domain)
                        .await?
                    {
                        return Ok((Err(foreign_domain()), vec![]));
                    }
                    let (person, event) =
                        users::create(txn, &input.email, input.display_name.clone(), None).await?;
                    events.push(event);
                    person
                }
            };
            let (member, event) = join(tx, &person, input).await?;
            events.push(event);
            Ok((Ok(member.id), events))
        })
        .await?;
    match created {
        Ok(id) => Ok(Ok(get(change, id).await?)),
        Err(refused) => Ok(Err(refused)),
    }
}

fn taken(what: &str) -> ScimError {
    ScimError::new(
        409,
        Some(ScimType::Uniqueness),
        format!("`userName` is already {what}"),
    )
}

/// The membership of a provisioned person, in the SCIM default role (checked against the
/// actor's ceiling and the seats), and its event.
async fn join(
    tx: &Tx<'_>,
    person: &user::Model,
    input: &UserInput,
) -> ApiResult<(membership::Model, Event)> {
    let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization);
    let role = placement::default_role(txn, policy, org).await?;
    crate::services::organization::members::check_power_over(tx.access, person.id, &role)?;
    SeatLedger::read(txn, policy, org)
        .await?
        .moves(None, role.seat_class)?;
    let now = Utc::now();
    let mut row = records::new_membership(person, org.id, role.id, &role.name, None);
    row.suspended_at = Set((!input.active).then_some(now));
    row.scim_updated_at = Set(Some(now));
    row.scim_external_id = Set(input.external_id.clone());
    row.scim_attributes = Set(Some(input.attributes.clone()));
    let member = row.insert(txn).await?;
    let event = tx
        .event(
            Action::MemberAdded,
            format!("provisioned {} as {}", person.email, role.name),
        )
        .target("membership", member.id)
        .payload(json!({
            "via": "scim",
            "after": { "user": person.email, "role": role.key, "active": input.active },
        }));
    Ok((member, event))
}

/// Replaces what the organization knows of a member with what `edit` makes of the current
/// user (a PUT's body, or the user with a PATCH applied), under the organization's lock.
pub async fn edit(
    change: &OrgChange,
    id: Uuid,
    edit: impl FnOnce(&ScimUser) -> Checked<UserInput>,
) -> ApiResult<Checked<ScimUser>> {
    let current = get(change, id).await?;
    let input = match edit(&current) {
        Ok(input) => input,
        Err(refused) => return Ok(Err(refused)),
    };
    let done = change
        .write_all(async |tx| {
            let member = target(tx, id).await?;
            check_target(tx, &member).await?;
            let mut events = Vec::new();
            if let Err(refused) = rename(tx, &member, &input, &mut events).await? {
                return Ok((Err(refused), vec![]));
            }
            events.extend(update(tx, &member, &input).await?);
            Ok((Ok(()), events))
        })
        .await?;
    match done {
        Ok(()) => Ok(Ok(get(change, id).await?)),
        Err(refused) => Ok(Err(refused)),
    }
}

/// The organization's person membership `id`, read under the lock.
async fn target(tx: &Tx<'_>, id: Uuid) -> ApiResult<membership::Model> {
    page_query(tx.organization.id, &UserFilter::default())
        .filter(membership::Column::Id.eq(id))
        .one(tx.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Changes the person's email (`userName`) when it differs: only for an identity no other
/// organization holds, to an address in a verified domain that nobody else has.
async fn rename(
    tx: &Tx<'_>,
    member: &membership::Model,
    input: &UserInput,
    events: &mut Vec<Event>,
) -> ApiResult<Checked<()>> {
    let txn = tx.txn;
    let person = user::Entity::find_by_id(member.user_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if person.email_lower == input.email.key() {
        return Ok(Ok(()));
    }
    if held_elsewhere(tx, person.id).await? {
        return Ok(Err(ScimError::bad_request(
            ScimType::Mutability,
            "the person is also a member of another organization: only they change their email",
        )));
    }
    let domain = input.email.domain().unwrap_or_default();
    if !crate::services::store::records::verified_domain(txn, tx.organization.id, &domain).await? {
        return Ok(Err(foreign_domain()));
    }
    if users::find_by_email(txn, &input.email).await?.is_some() {
        return Ok(Err(taken("another person's email")));
    }
    let mut active: user::ActiveModel = person.clone().into();
    active.email = Set(input.email.as_str().to_owned());
    active.email_lower = Set(input.email.key());
    active.update(txn).await?;
    membership::Entity::update_many()
        .col_expr(
            membership::Column::SortEmail,
            Expr::value(input.email.key()),
        )
        .filter(membership::Column::UserId.eq(person.id))
        .exec(txn)
        .await?;
    events.push(
        tx.event(
            Action::UserProfileUpdated,
            format!(
                "renamed {} to {} through SCIM",
                person.email,
                input.email.as_str()
            ),
        )
        .target("user", person.id)
        .payload(json!({
            "before": { "email": person.email },
            "after": { "email": input.email.as_str() },
        })),
    );
    Ok(Ok(()))
}

/// Whether another organization holds the person too.
async fn held_elsewhere(tx: &Tx<'_>, person: Uuid) -> ApiResult<bool> {
    let elsewhere = membership::Entity::find()
        .filter(membership::Column::UserId.eq(person))
        .filter(membership::Column::OrganizationId.ne(tx.organization.id))
        .count(tx.txn)
        .await?;
    Ok(elsewhere > 0)
}

/// Writes the membership's SCIM attributes and its suspension, with their events.
async fn update(
    tx: &Tx<'_>,
    member: &membership::Model,
    input: &UserInput,
) -> ApiResult<Vec<Event>> {
    let mut events = Vec::new();
    let email = user_email(tx.txn, member.user_id).await?;
    let mut active: membership::ActiveModel = member.clone().into();
    let mut changed = Vec::new();
    if member.scim_external_id != input.external_id {
        active.scim_external_id = Set(input.external_id.clone());
        changed.push("externalId");
    }
    if member.scim_attributes.as_deref() != Some(input.attributes.as_str()) {
        active.scim_attributes = Set(Some(input.attributes.clone()));
        changed.push("attributes");
    }
    if !changed.is_empty() {
        events.push(
            tx.event(
                Action::MemberUpdated,
                format!("updated {email} through SCIM"),
            )
            .target("membership", member.id)
            .payload(json!({ "user": email, "changed": changed })),
        );
    }
    let suspended = member.suspended_at.is_some();
    if suspended == input.active {
        active.suspended_at = Set((!input.active).then(Utc::now));
        events.push(suspension(tx, member, &email, input.active).await?);
    }
    active.scim_updated_at = Set(Some(Utc::now()));
    active.update(tx.txn).await?;
    Ok(events)
}

/// Suspends or restores a membership: a suspended one grants nothing (the gate reads only
/// active memberships), and the sessions acting in the organization end.
async fn suspension(
    tx: &Tx<'_>,
    member: &membership::Model,
    email: &str,
    restored: bool,
) -> ApiResult<Event> {
    if restored {
        return Ok(tx
            .event(
                Action::MemberRestored,
                format!("restored {email} through SCIM"),
            )
            .target("membership", member.id)
            .payload(json!({ "user": email })));
    }
    let ended = crate::services::identity::revocation::revoke_acting_in(
        tx.txn,
        member.user_id,
        tx.organization.id,
        "membership suspended",
    )
    .await?;
    Ok(tx
        .event(
            Action::MemberSuspended,
            format!("suspended {email} through SCIM"),
        )
        .target("membership", member.id)
        .payload(json!({ "user": email, "sessionsEnded": ended })))
}

/// Removes the person's membership (their keys there are revoked); their identity stays.
pub async fn delete(change: &OrgChange, id: Uuid) -> ApiResult<()> {
    change
        .write(async |tx| {
            let member = target(tx, id).await?;
            let role = check_target(tx, &member).await?;
            let owners = crate::services::organization::members::owner_count(
                tx.txn,
                tx.policy(),
                tx.organization.id,
            )
            .await?;
            crate::authz::owners::keeps_an_owner(role.owner, false, owners)?;
            let email = user_email(tx.txn, member.user_id).await?;
            scim_group_member::Entity::delete_many()
                .filter(scim_group_member::Column::MembershipId.eq(member.id))
                .exec(tx.txn)
                .await?;
            delete_membership(tx.txn, &member).await?;
            let event = tx
                .event(
                    Action::MemberRemoved,
                    format!("deprovisioned {email} ({})", role.name),
                )
                .target("membership", member.id)
                .payload(json!({ "via": "scim", "before": { "user": email, "role": role.key } }));
            Ok(((), Some(event)))
        })
        .await
}
