//! `PermissionGrant`: one resource with the level a role grants on it.

use async_graphql::SimpleObject;

use crate::authz::{Grants, Policy};

/// One resource and the level granted on it.
#[derive(Debug, Clone, SimpleObject)]
pub struct PermissionGrant {
    pub resource: String,
    pub level: String,
}

impl PermissionGrant {
    /// Every resource of the policy with its granted level (the lowest where nothing is granted).
    pub fn all(policy: &Policy, grants: &Grants) -> Vec<Self> {
        policy
            .describe(grants)
            .map(|(resource, level)| PermissionGrant {
                resource: resource.to_owned(),
                level: level.to_owned(),
            })
            .collect()
    }
}
