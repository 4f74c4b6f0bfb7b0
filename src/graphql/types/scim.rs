//! The `ScimGroup` and `ScimSettings` objects: what an organization's SCIM provisioning does
//! with the people and groups its identity provider sends.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::Role;
use crate::authz::require;
use crate::graphql::guards::{Gate, Requires, need};
use crate::graphql::ids::NodeId;
use crate::services::organization::roles::RoleRecord;
use crate::services::organization::scim::groups::GroupRecord;

/// A group SCIM provisioned, and the role it places its members in.
pub struct ScimGroup(pub GroupRecord);

#[Object(
    guard = "Gate::object(\"ScimGroup\", self.0.organization_id)",
    directive = Requires::apply(need(require::MEMBER_READ))
)]
impl ScimGroup {
    async fn id(&self) -> ID {
        NodeId::ScimGroup(self.0.id).to_id()
    }

    /// The group's name at the identity provider.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    /// The role its members are placed in: the one set through `setScimGroupRole`, else the
    /// organization's role of the same name; none when neither exists. A member in several
    /// groups holds the highest of their roles (the owner role first, then the most grant
    /// levels in total, then the name that sorts first).
    async fn role(&self) -> Option<Role> {
        self.0
            .role
            .clone()
            .map(|role| Role::new(role, self.0.organization_id))
    }

    /// Whether the role was set through `setScimGroupRole` rather than matched by name.
    async fn role_set_explicitly(&self) -> bool {
        self.0.role_set
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An organization's SCIM provisioning settings.
pub struct ScimSettings {
    pub organization_id: uuid::Uuid,
    pub default_role: RoleRecord,
}

#[Object]
impl ScimSettings {
    /// The role SCIM gives a new member, and a member no group places: the one set through
    /// `configureScim`, else the policy's lowest predefined role.
    async fn default_role(&self) -> Role {
        Role::new(self.default_role.clone(), self.organization_id)
    }
}
