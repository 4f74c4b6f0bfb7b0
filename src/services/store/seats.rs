//! Seats in use, counted where every door that adds a member (invitations, assignments,
//! service accounts, single sign-on's first sign-in) asks the same question.

use std::collections::HashMap;

use chrono::Utc;
use entity::{invitation, membership, organization};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::records;
use crate::authz::{Policy, SeatClass, seats};
use crate::error::ApiResult;

/// Licensed and free seats in use in each organization: members holding a licensed role (or a
/// free one where the license allows no free seats) take a licensed seat.
pub(in crate::services) async fn seat_usage(
    db: &impl ConnectionTrait,
    policy: &Policy,
    organizations: &[organization::Model],
) -> ApiResult<HashMap<Uuid, SeatUsage>> {
    use sea_orm::sea_query::ExprTrait;
    use sea_orm::{FromQueryResult, QuerySelect};
    #[derive(FromQueryResult)]
    struct Row {
        organization_id: Uuid,
        role_id: Uuid,
        count: i64,
    }
    let ids: Vec<Uuid> = organizations.iter().map(|org| org.id).collect();
    let rows = membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .column(membership::Column::RoleId)
        .column_as(Expr::col(membership::Column::Id).count(), "count")
        .filter(membership::Column::OrganizationId.is_in(ids))
        .group_by(membership::Column::OrganizationId)
        .group_by(membership::Column::RoleId)
        .into_model::<Row>()
        .all(db)
        .await?;
    let free_allowed: HashMap<Uuid, bool> = organizations
        .iter()
        .map(|org| (org.id, org.free_read_only_seats))
        .collect();
    let mut usage: HashMap<Uuid, SeatUsage> = organizations
        .iter()
        .map(|org| (org.id, SeatUsage::default()))
        .collect();
    for row in rows {
        // Custom roles are always licensed; predefined ones say so in the policy.
        let seat_class = policy
            .role(row.role_id)
            .map_or(SeatClass::Licensed, |role| role.seat_class);
        let free_allowed = free_allowed
            .get(&row.organization_id)
            .copied()
            .unwrap_or(false);
        let entry = usage.entry(row.organization_id).or_default();
        if seats::takes_licensed_seat(seat_class, free_allowed) {
            entry.licensed += row.count;
        } else {
            entry.free += row.count;
        }
    }
    Ok(usage)
}

/// Seats taken in one organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeatUsage {
    pub licensed: i64,
    pub free: i64,
}

/// Licensed seats in use: members holding a licensed seat, and pending, unexpired invitations
/// holding licensed roles.
async fn licensed_seats_in_use(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    org: &organization::Model,
) -> ApiResult<(i64, i64)> {
    let usage = seat_usage(txn, policy, std::slice::from_ref(org)).await?;
    let members = usage.get(&org.id).map(|u| u.licensed).unwrap_or(0);
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org.id))
        .filter(invitation::Column::Status.eq("pending"))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .all(txn)
        .await?;
    let mut held = 0;
    for invite in pending {
        let role = records::role_in_organization(txn, policy, org.id, invite.role_id).await;
        if role
            .is_ok_and(|role| seats::takes_licensed_seat(role.seat_class, org.free_read_only_seats))
        {
            held += 1;
        }
    }
    Ok((members, held))
}

/// SEAT_LIMIT_REACHED unless one more licensed seat is free.
pub(crate) async fn ensure_licensed_seat(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    org: &organization::Model,
) -> ApiResult<()> {
    let (members, pending) = licensed_seats_in_use(txn, policy, org).await?;
    Ok(seats::one_more_fits(members, pending, org.seats.into())?)
}

/// Licensed seats counted once under the organization's lock, then kept up to date as one
/// change seats many members one by one (a provisioning run, a group's members).
pub(crate) struct SeatLedger {
    in_use: i64,
    pending: i64,
    seats: i64,
    free_read_only_seats: bool,
}

impl SeatLedger {
    pub(crate) async fn read(
        txn: &impl ConnectionTrait,
        policy: &Policy,
        org: &organization::Model,
    ) -> ApiResult<Self> {
        let (in_use, pending) = licensed_seats_in_use(txn, policy, org).await?;
        Ok(Self {
            in_use,
            pending,
            seats: org.seats.into(),
            free_read_only_seats: org.free_read_only_seats,
        })
    }

    /// A holder moves from a role of class `from` (none: someone new) to one of class `to`:
    /// SEAT_LIMIT_REACHED when that needs a licensed seat and none is left.
    pub(crate) fn moves(&mut self, from: Option<SeatClass>, to: SeatClass) -> ApiResult<()> {
        let free = self.free_read_only_seats;
        if seats::needs_another_seat(from, to, free) {
            seats::one_more_fits(self.in_use, self.pending, self.seats)?;
            self.in_use += 1;
        } else if from.is_some_and(|from| seats::needs_another_seat(Some(to), from, free)) {
            // The way back would take a seat: this move frees one.
            self.in_use -= 1;
        }
        Ok(())
    }
}
