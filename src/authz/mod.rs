//! What you may do: the policy, requirements of fields, and the viewer's effective access in an organization.

pub mod owners;
pub mod policy;
pub mod power;
pub mod refusal;
pub mod rules;
pub mod seats;

use std::sync::Arc;

use uuid::Uuid;

use crate::error::ApiError;
pub use policy::{Grants, Policy, SeatClass};
pub use power::Standing;
pub use refusal::Refusal;

/// A `(resource, level)` that a field or mutation needs in the organization that owns its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub resource: &'static str,
    pub level: &'static str,
}

impl Requirement {
    pub const fn new(resource: &'static str, level: &'static str) -> Self {
        Self { resource, level }
    }
}

/// The requirements Charter's own schema uses, declared once and referenced by guards.
pub mod require {
    use super::Requirement;

    pub const ORGANIZATION_READ: Requirement = Requirement::new("organization", "read");
    pub const ORGANIZATION_EDIT: Requirement = Requirement::new("organization", "edit");
    pub const MEMBER_READ: Requirement = Requirement::new("member", "read");
    pub const MEMBER_MANAGE: Requirement = Requirement::new("member", "manage");
    pub const INVITATION_SEND: Requirement = Requirement::new("invitation", "send");
    pub const ROLE_READ: Requirement = Requirement::new("role", "read");
    pub const ROLE_MANAGE: Requirement = Requirement::new("role", "manage");
    pub const AUDIT_LOG_READ: Requirement = Requirement::new("audit_log", "read");
    pub const LIST_READ: Requirement = Requirement::new("list", "read");
    pub const LIST_CREATE: Requirement = Requirement::new("list", "create");
    pub const LIST_EDIT: Requirement = Requirement::new("list", "edit");
    pub const LIST_FULL: Requirement = Requirement::new("list", "full");
    pub const LIST_SHARING_MANAGE: Requirement = Requirement::new("list_sharing", "manage");
}

/// Proof that the viewer is a member of `organization_id`, with the grants of their role there.
///
/// Built only by [`crate::services::access`], read per request from the database; services that
/// touch an organization's data take one and call [`OrgAccess::require`] with their requirement.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub role_id: Uuid,
    pub owner: bool,
    /// The role's grants as they take effect here (feature-gated resources the organization is
    /// not licensed for are at their lowest level).
    pub grants: Arc<Grants>,
    /// The organization's licensed features.
    pub features: Arc<Vec<String>>,
    pub(crate) policy: Arc<Policy>,
}

impl OrgAccess {
    /// Whether the viewer's role passes `requirement`. An unknown resource or level never passes.
    pub fn allows(&self, requirement: Requirement) -> bool {
        self.allows_level(requirement.resource, requirement.level)
    }

    pub fn allows_level(&self, resource: &str, level: &str) -> bool {
        self.policy.allows(&self.grants, resource, level)
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The viewer as the rules on power over others see them.
    pub fn standing(&self) -> Standing<'_> {
        Standing {
            owner: self.owner,
            grants: &self.grants,
        }
    }

    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// FORBIDDEN unless the viewer's role passes `requirement`.
    pub fn require(&self, requirement: Requirement) -> Result<&Self, ApiError> {
        if self.allows(requirement) {
            Ok(self)
        } else {
            Err(ApiError::forbidden(format!(
                "your role does not grant {} `{}` in this organization",
                requirement.resource, requirement.level
            )))
        }
    }
}
