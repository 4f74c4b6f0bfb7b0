//! Field guards derived from the matrix: the `@requires` and `@authenticated` directives that
//! declare what each field needs, and the guards that enforce the same declaration.
//!
//! A field's requirement is its own `@requires`, else its type's. Fields on [`PUBLIC_FIELDS`]
//! need nothing; fields of [`VALUE_TYPES`] carry no identity and are reached only through a
//! guarded field. A test walks the schema and fails on any other field without a requirement.

use async_graphql::{Context, Guard, TypeDirective};
use uuid::Uuid;

use super::ContextExt;
use crate::authz::Requirement;
use crate::error::ApiError;

/// The only fields anyone may call without a declared requirement.
pub const PUBLIC_FIELDS: &[(&str, &str)] = &[
    ("Query", "viewer"),
    ("Query", "permissionCatalog"),
    ("Mutation", "login"),
    ("Mutation", "refreshSession"),
    ("Mutation", "acceptInvitation"),
];

/// Types without identity of their own (pages, edges, values): their fields are as visible as
/// the guarded field that returned them.
pub const VALUE_TYPES: &[&str] = &[
    "PageInfo",
    "MembershipConnection",
    "MembershipEdge",
    "AuditEventConnection",
    "InvitationConnection",
    "InvitationEdge",
    "AuditEventEdge",
    "PermissionGrant",
    "AuthPayload",
    "License",
    "PermissionCatalog",
    "CatalogResource",
    "CatalogDependency",
    "CatalogRole",
    "CatalogFeature",
    "CatalogGuard",
];

/// `@requires(resource, level, orSelf)`: the viewer's role in the organization that owns the
/// object must grant `resource` at `level` or above; with `orSelf`, the viewer's own record
/// passes too.
// Applied as `directive = requires::apply(R.resource.into(), R.level.into(), None)` with a
// constant `R` of `crate::authz::require`, the same constant the field's guard enforces.
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn requires(resource: String, level: String, or_self: Option<bool>) {}

/// `@authenticated`: any signed-in user; the field acts on the caller's own account only.
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn authenticated() {}

/// `@platformOperator`: only users flagged as platform operators (`charter user operator`).
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn platformOperator() {}

/// Enforces `@requires` for an object owned by `organization_id`. With `owner_user`, the
/// viewer's own record passes on membership alone.
pub struct OrgGuard {
    organization_id: Option<Uuid>,
    requirement: Requirement,
    owner_user: Option<Uuid>,
}

impl OrgGuard {
    pub fn new(organization_id: Uuid, requirement: Requirement) -> Self {
        Self {
            organization_id: Some(organization_id),
            requirement,
            owner_user: None,
        }
    }

    /// For a record belonging to `user_id`, found in `organization_id` (when known).
    pub fn or_self(organization_id: Option<Uuid>, requirement: Requirement, user_id: Uuid) -> Self {
        Self {
            organization_id,
            requirement,
            owner_user: Some(user_id),
        }
    }
}

impl Guard for OrgGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = ctx.request().viewer_id()?;
        if self.owner_user == Some(viewer) {
            return Ok(());
        }
        let Some(organization_id) = self.organization_id else {
            return Err(ApiError::not_found("record").into());
        };
        ctx.require(organization_id, self.requirement).await?;
        Ok(())
    }
}

/// Enforces `@platformOperator`.
pub struct PlatformOperator;

impl Guard for PlatformOperator {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = ctx.request().viewer_id()?;
        let user = ctx.loaders().users.load_one(viewer).await?;
        if user.is_some_and(|user| user.is_operator) {
            Ok(())
        } else {
            Err(ApiError::forbidden("only platform operators may do this").into())
        }
    }
}

/// Enforces `@authenticated`.
pub struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        ctx.request().viewer_id()?;
        Ok(())
    }
}
