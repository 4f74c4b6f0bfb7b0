//! The `Role` object: a role's grants, its seat class, how many members hold it.

use async_graphql::{Context, Enum, ID, Object};

use super::{GrantList, PermissionGrant};
use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::organization::roles::RoleRecord;

/// Whether a role takes one of the organization's licensed seats.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SeatClass", remote = "crate::authz::SeatClass")]
pub enum SeatClassValue {
    Licensed,
    Free,
}

/// A role as seen from one organization: predefined by the policy or custom to the organization.
pub struct Role {
    record: RoleRecord,
    organization_id: uuid::Uuid,
}

impl Role {
    pub fn new(record: RoleRecord, organization_id: uuid::Uuid) -> Self {
        Self {
            record,
            organization_id,
        }
    }

    /// The gate of every field: the viewer's role here, or holding this role (`orSelf`).
    fn gate(&self) -> Gate {
        Gate::object("Role", self.organization_id).held_role(self.record.id)
    }
}

#[Object(
    guard = "self.gate()",
    directive = Requires::apply(need(require::ROLE_READ).or_self())
)]
impl Role {
    pub async fn id(&self) -> ID {
        NodeId::Role {
            organization: self.organization_id,
            role: self.record.id,
        }
        .to_id()
    }

    /// A stable key, such as `organization_administrator`.
    async fn key(&self) -> &str {
        &self.record.key
    }

    async fn name(&self) -> &str {
        &self.record.name
    }

    async fn description(&self) -> Option<&str> {
        self.record.description.as_deref()
    }

    /// Declared by the policy (and immutable) rather than built by the organization.
    async fn predefined(&self) -> bool {
        self.record.predefined
    }

    async fn seat_class(&self) -> SeatClassValue {
        self.record.seat_class.into()
    }

    /// Every resource of the policy with the level this role grants.
    async fn grants(&self, ctx: &Context<'_>) -> GrantList {
        PermissionGrant::all(&ctx.state().policy, &self.record.grants)
    }

    /// How many members of this organization hold the role.
    async fn member_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let scope = self.gate().member_scope(ctx).await?;
        Ok(ctx
            .loaders()
            .role_member_counts
            .load_one(scope.key(self.record.id))
            .await?
            .unwrap_or(0))
    }
}
