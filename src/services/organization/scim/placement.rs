//! Where SCIM places a member: the highest role among the roles of the groups they are in,
//! else the organization's SCIM default role. A group's role is the one set for it through
//! GraphQL, else the organization's role of the same name (any case), else none.
//!
//! "Highest" is stated once, in [`rank`]: the owner role first; then the role with the most
//! grant levels in total (the sum, over every resource, of the level it grants); ties go to
//! the name that sorts first. Every move goes through the rules a person's assignment goes
//! through: power over the member (the SCIM key's grant ceiling), the last owner, and seats.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use entity::{membership, organization, role, scim_group, scim_group_member};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::authz::{Policy, owners};
use crate::error::ApiResult;
use crate::services::audit::{Action, Event};
use crate::services::organization::members::{check_power_over, owner_count};
use crate::services::organization::roles::RoleRecord;
use crate::services::store::records;
use crate::services::store::scope::Tx;
use crate::services::store::seats::SeatLedger;

/// Rows read per `IN (…)` list, well inside both databases' bounds on bound parameters.
pub(super) const CHUNK: usize = 5000;

/// How high a role stands when a member's groups name several: greater is higher.
pub fn rank(role: &RoleRecord) -> (bool, u32, Reverse<String>) {
    let total = role
        .grants
        .levels()
        .iter()
        .map(|level| u32::from(*level))
        .sum();
    (role.owner, total, Reverse(role.name.to_lowercase()))
}

/// The role SCIM gives a member no group places: the one set through GraphQL, else the
/// policy's lowest predefined role (by [`rank`]) that is not the owner's, a free one first (it
/// takes no seat where the license allows).
pub(crate) async fn default_role(
    db: &impl ConnectionTrait,
    policy: &Policy,
    org: &organization::Model,
) -> ApiResult<RoleRecord> {
    if let Some(id) = org.scim_default_role_id
        && let Ok(role) = records::role_in_organization(db, policy, org.id, id).await
    {
        return Ok(role);
    }
    let lowest = policy
        .roles()
        .iter()
        .filter(|role| !role.owner)
        .map(RoleRecord::from)
        .min_by_key(|role| (role.seat_class != crate::authz::SeatClass::Free, rank(role)))
        .unwrap_or_else(|| RoleRecord::from(policy.owner_role()));
    Ok(lowest)
}

/// The role each of `groups` maps to, for those that map to one: its role set through GraphQL,
/// else the organization's role of its name; read in one batch.
pub(super) async fn group_roles(
    db: &impl ConnectionTrait,
    policy: &Policy,
    organization_id: Uuid,
    groups: &[scim_group::Model],
) -> ApiResult<HashMap<Uuid, RoleRecord>> {
    let custom = role::Entity::find()
        .filter(role::Column::OrganizationId.eq(organization_id))
        .all(db)
        .await?;
    let named = |group: &scim_group::Model| {
        let predefined = policy.roles().iter().map(|role| (role.id, &role.name));
        predefined
            .chain(custom.iter().map(|role| (role.id, &role.name)))
            .find(|(_, name)| name.to_lowercase() == group.display_lower)
            .map(|(id, _)| id)
    };
    let wanted: Vec<(Uuid, Uuid)> = groups
        .iter()
        .filter_map(|group| Some((group.id, group.role_id.or_else(|| named(group))?)))
        .collect();
    let ids: Vec<Uuid> = wanted.iter().map(|(_, role)| *role).collect();
    let roles = records::load_roles(db, policy, &ids).await?;
    Ok(wanted
        .into_iter()
        .filter_map(|(group, role)| Some((group, roles.get(&role)?.clone())))
        .collect())
}

/// The groups each of `memberships` is in.
pub(super) async fn groups_of(
    db: &impl ConnectionTrait,
    memberships: &[Uuid],
) -> ApiResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut found: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for chunk in memberships.chunks(CHUNK) {
        let links = scim_group_member::Entity::find()
            .filter(scim_group_member::Column::MembershipId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for link in links {
            found
                .entry(link.membership_id)
                .or_default()
                .push(link.group_id);
        }
    }
    Ok(found)
}

/// Places each of `members` (memberships of the organization) where their groups say, under
/// the change's rules; the events of the moves made. Nothing is written when one is refused.
pub(super) async fn place(tx: &Tx<'_>, members: &[Uuid]) -> ApiResult<Vec<Event>> {
    let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization);
    let mut rows = Vec::new();
    for chunk in members.chunks(CHUNK) {
        rows.extend(
            membership::Entity::find()
                .filter(membership::Column::Id.is_in(chunk.iter().copied()))
                .filter(membership::Column::OrganizationId.eq(org.id))
                .all(txn)
                .await?,
        );
    }
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let groups_of = groups_of(txn, &ids).await?;
    let group_ids: HashSet<Uuid> = groups_of.values().flatten().copied().collect();
    let groups = scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(org.id))
        .filter(scim_group::Column::Id.is_in(group_ids))
        .all(txn)
        .await?;
    let roles_of_groups = group_roles(txn, policy, org.id, &groups).await?;
    let fallback = default_role(txn, policy, org).await?;
    let mut moves = Vec::new();
    for member in rows {
        let target = groups_of
            .get(&member.id)
            .into_iter()
            .flatten()
            .filter_map(|group| roles_of_groups.get(group))
            .max_by_key(|role| rank(role))
            .unwrap_or(&fallback);
        if target.id != member.role_id {
            moves.push((member, target.clone()));
        }
    }
    apply_moves(tx, moves).await
}

/// Gives each member their new role, checking every rule before the first write.
async fn apply_moves(
    tx: &Tx<'_>,
    moves: Vec<(membership::Model, RoleRecord)>,
) -> ApiResult<Vec<Event>> {
    if moves.is_empty() {
        return Ok(vec![]);
    }
    let (txn, policy, org) = (tx.txn, tx.policy(), tx.organization);
    let mut current_roles: HashMap<Uuid, RoleRecord> = HashMap::new();
    let mut owners = owner_count(txn, policy, org.id).await?;
    let mut seats = SeatLedger::read(txn, policy, org).await?;
    for (member, target) in &moves {
        if !current_roles.contains_key(&member.role_id) {
            let role = records::role_in_organization(txn, policy, org.id, member.role_id).await?;
            current_roles.insert(role.id, role);
        }
        let current = &current_roles[&member.role_id];
        check_power_over(tx.access, member.user_id, current)?;
        check_power_over(tx.access, member.user_id, target)?;
        owners::keeps_an_owner(current.owner, target.owner, owners)?;
        owners = owners + u64::from(target.owner) - u64::from(current.owner);
        seats.moves(Some(current.seat_class), target.seat_class)?;
    }
    let user_ids: Vec<Uuid> = moves.iter().map(|(m, _)| m.user_id).collect();
    let emails = super::emails_of(txn, &user_ids).await?;
    let now = chrono::Utc::now();
    let mut events = Vec::with_capacity(moves.len());
    for (member, target) in moves {
        let before = current_roles[&member.role_id].key.clone();
        let email = emails.get(&member.user_id).cloned().unwrap_or_default();
        let mut active: membership::ActiveModel = member.clone().into();
        active.role_id = Set(target.id);
        active.sort_role = Set(target.name.to_lowercase());
        active.scim_updated_at = Set(Some(now));
        active.update(txn).await?;
        events.push(
            tx.event(
                Action::MemberRoleAssigned,
                format!("assigned {} to {email} through SCIM groups", target.name),
            )
            .target("membership", member.id)
            .payload(json!({
                "user": email,
                "via": "scim",
                "before": { "role": before },
                "after": { "role": target.key },
            })),
        );
    }
    Ok(events)
}
