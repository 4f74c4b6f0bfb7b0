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
    "ListConnection",
    "ListEdge",
    "ListEntry",
    "ListEntryConnection",
    "ListEntryEdge",
    "ListEntriesChange",
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

/// `@requires(resource, level, orSelf, orPartner, orMember)`: the viewer's role in the
/// organization that owns the object must grant `resource` at `level` or above; with `orSelf`,
/// the viewer's own record (their user, membership and events, the role they hold) passes too;
/// with `orPartner`, so does a member of a share partner of
/// the owner whose role there grants `list: read` (the object is seen through a shared list);
/// with `orMember`, membership in the owner passes whatever the role grants.
// Applied as `directive = requires::apply(R.resource.into(), R.level.into(), None, None, None)`
// with a constant `R` of `crate::authz::require`, the same constant the field's guard enforces.
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn requires(
    resource: String,
    level: String,
    or_self: Option<bool>,
    or_partner: Option<bool>,
    or_member: Option<bool>,
) {
}

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
    partner: Partner,
    /// Fields that membership in the organization shows, whatever the role grants.
    member_fields: &'static [&'static str],
    /// A role that its holders see, whatever it grants (their own role).
    held_role: Option<Uuid>,
}

/// Whether members of the owner's share partners pass, and on which fields.
enum Partner {
    No,
    /// The object is a shared list: partners pass on every field.
    SharedList,
    /// The object was reached through a sharing relationship: partners pass on these fields.
    Fields(&'static [&'static str]),
}

impl OrgGuard {
    pub fn new(organization_id: Uuid, requirement: Requirement) -> Self {
        Self {
            organization_id: Some(organization_id),
            requirement,
            owner_user: None,
            partner: Partner::No,
            member_fields: &[],
            held_role: None,
        }
    }

    /// For a record belonging to `user_id`, found in `organization_id` (when known).
    pub fn or_self(organization_id: Option<Uuid>, requirement: Requirement, user_id: Uuid) -> Self {
        Self {
            organization_id,
            requirement,
            owner_user: Some(user_id),
            partner: Partner::No,
            member_fields: &[],
            held_role: None,
        }
    }

    /// For a list of `organization_id`: when it is `shared`, members of the organization's
    /// share partners pass with `list: read` in their own organization.
    pub fn or_partner_list(organization_id: Uuid, requirement: Requirement, shared: bool) -> Self {
        Self {
            partner: if shared {
                Partner::SharedList
            } else {
                Partner::No
            },
            ..Self::new(organization_id, requirement)
        }
    }

    /// For an organization the viewer reached through a sharing relationship (a shared list's
    /// owner, or a share partner): `fields` pass without membership.
    pub fn or_partner_fields(
        organization_id: Uuid,
        requirement: Requirement,
        fields: Option<&'static [&'static str]>,
    ) -> Self {
        Self {
            partner: fields.map_or(Partner::No, Partner::Fields),
            ..Self::new(organization_id, requirement)
        }
    }

    /// For the role `role_id` of `organization_id`: the members holding it pass (it is their
    /// own role, `@requires(orSelf: true)`).
    pub fn or_held_role(organization_id: Uuid, requirement: Requirement, role_id: Uuid) -> Self {
        Self {
            held_role: Some(role_id),
            ..Self::new(organization_id, requirement)
        }
    }

    /// `fields` pass for any member of the organization (`@requires(orMember: true)`).
    pub fn or_member_fields(self, fields: &'static [&'static str]) -> Self {
        Self {
            member_fields: fields,
            ..self
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
        let field = ctx.item.node.name.node.as_str();
        if self.member_fields.contains(&field) || self.held_role.is_some() {
            let access = ctx.access(organization_id).await;
            let held = |role| access.as_ref().is_ok_and(|a| Some(a.role_id) == role);
            if (self.member_fields.contains(&field) && access.is_ok()) || held(self.held_role) {
                return Ok(());
            }
        }
        match &self.partner {
            Partner::Fields(fields) if fields.contains(&field) => {
                return Ok(());
            }
            Partner::Fields(fields) if ctx.access(organization_id).await.is_err() => {
                return Err(ApiError::forbidden(format!(
                    "seen through a shared list, an organization shows only its {}",
                    fields.join(", ")
                ))
                .into());
            }
            Partner::SharedList if ctx.access(organization_id).await.is_err() => {
                return if ctx.reads_through_sharing(organization_id, true).await? {
                    Ok(())
                } else {
                    Err(ApiError::not_found("list").into())
                };
            }
            _ => {}
        }
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
