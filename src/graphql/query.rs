//! The query root.

use async_graphql::{Context, ID, Object};

use super::ContextExt;
use super::guards::{Authenticated, Declared, Gate, Requires, SIGNED_IN, need};
use super::ids::NodeId;
use super::types::{
    ApiKey, AuditEvent, Invitation, List, Membership, Node, Organization, PermissionCatalog, Role,
    ServiceAccount, User, Viewer,
};
use crate::auth::Principal;
use crate::authz::require;
use crate::error::{ApiError, ApiResult};
use crate::services::organization::memberships;

pub struct QueryRoot;

#[Object(name = "Query", guard = "Declared::ROOT")]
impl QueryRoot {
    /// The signed-in user; null when the request carries no credentials.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Option<Viewer>> {
        // The user was read with the session, in this request.
        let user = match ctx.principal() {
            Principal::Anonymous => return Ok(None),
            Principal::User { user, .. } | Principal::Key { user, .. } => user.clone(),
            Principal::Rejected(reason) => return Err(ApiError::unauthenticated(reason.clone())),
        };
        let active_organization_id = ctx.principal().active_organization();
        Ok(Some(Viewer {
            user,
            active_organization_id,
        }))
    }

    /// An organization the viewer belongs to; null with NOT_FOUND otherwise, exactly as for an
    /// id that does not exist.
    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_READ)))]
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Organization>> {
        let org = NodeId::organization("id", &id)?;
        Gate::root("organization", org).scope(ctx).await?;
        let model = ctx
            .loaders()
            .organizations
            .load_one(org)
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        Ok(Some(Organization::new(model)))
    }

    /// Any object by its global id, when the viewer may see it; NOT_FOUND otherwise.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let id = NodeId::parse("id", &id)?;
        let kind = node_kind(id);
        // An object of an organization the viewer is not a member of answers exactly as an
        // object of its kind that does not exist.
        let node = find_node(ctx, id)
            .await
            .map_err(|err| super::missing_as(kind, err))?;
        node.map(Some).ok_or_else(|| ApiError::not_found(kind))
    }

    /// Home-realm discovery: the URL that starts a single sign-on for `email`, when its domain
    /// is verified by an organization whose single sign-on is on; null for any other email.
    /// The answer depends on the domain alone, so it tells nothing about accounts.
    async fn sso_sign_in(&self, ctx: &Context<'_>, email: String) -> ApiResult<Option<String>> {
        crate::domain::text::check(
            "email",
            crate::domain::text::TextKind::Line,
            &email,
            crate::services::identity::sso::MAX_EMAIL,
        )?;
        crate::services::identity::sso::realm::home_realm(ctx.state(), &email).await
    }

    /// The permission matrix: resources and their levels, dependencies, predefined roles,
    /// license features, and the requirement of every field.
    async fn permission_catalog(&self) -> PermissionCatalog {
        PermissionCatalog
    }

    /// Whether a member's role grants `resource` at `level` or above in an organization, for any
    /// resource of the policy. Checking yourself needs only membership (`userId` omitted or your
    /// own); checking another member needs `member: read`. Another service asks this instead of
    /// reading roles itself.
    #[graphql(directive = Requires::apply(need(require::MEMBER_READ).or_self()))]
    async fn check_permission(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        user_id: Option<ID>,
        resource: String,
        level: String,
    ) -> ApiResult<bool> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let viewer = ctx.request().viewer_id()?;
        let subject = user_id
            .as_ref()
            .map(|id| NodeId::user("userId", id))
            .transpose()?
            .unwrap_or(viewer);
        super::types::policy_key("resource", &resource)?;
        super::types::policy_key("level", &level)?;
        let policy = &ctx.state().policy;
        let Some(required) = policy.level_of(&resource, &level) else {
            return Err(if policy.resources().iter().any(|r| r.key == resource) {
                ApiError::invalid(
                    "level",
                    format!("resource `{resource}` has no level `{level}`"),
                )
            } else {
                ApiError::invalid("resource", format!("unknown resource `{resource}`"))
            });
        };
        let access = if subject == viewer {
            ctx.access(org).await?
        } else {
            let scope = Gate::root("organization", org).scope(ctx).await?;
            memberships::access_of(&scope, subject)
                .await?
                .ok_or_else(|| ApiError::not_found("member"))?
        };
        Ok(access.grants().allows(required.0, required.1))
    }
}

/// What an id names, as its NOT_FOUND says it.
fn node_kind(id: NodeId) -> &'static str {
    match id {
        NodeId::Organization(_) => "organization",
        NodeId::User(_) => "user",
        NodeId::Membership(_) => "membership",
        NodeId::Role { .. } => "role",
        NodeId::AuditEvent(_) => "audit event",
        NodeId::Invitation(_) => "invitation",
        NodeId::List(_) => "list",
        NodeId::ApiKey(_) => "API key",
        NodeId::ServiceAccount(_) => "service account",
        NodeId::OrganizationDomain(_) => "domain",
        NodeId::MfaFactor(_) => "second factor",
        NodeId::ScimGroup(_) => "SCIM group",
        NodeId::WebhookEndpoint(_) => "webhook endpoint",
        NodeId::WebhookDelivery(_) => "webhook delivery",
        NodeId::AuditCheckpoint(_) => "audit checkpoint",
    }
}

/// The object `id` names, when the viewer may see it: none, or NOT_FOUND, otherwise.
async fn find_node(ctx: &Context<'_>, id: NodeId) -> ApiResult<Option<Node>> {
    let viewer = ctx.request().viewer_id()?;
    let loaders = ctx.loaders();
    Ok(match id {
        NodeId::Organization(org) => {
            ctx.access(org).await?;
            loaders
                .organizations
                .load_one(org)
                .await?
                .map(|org| Node::Organization(Organization::new(org)))
        }
        NodeId::Membership(id) => match loaders.memberships.load_one(id).await? {
            Some(m) => {
                // Visible to members of its organization; its fields check the rest.
                ctx.access(m.organization_id).await?;
                Some(Node::Membership(Membership::new(m)))
            }
            None => None,
        },
        NodeId::Role { organization, role } => role_node(ctx, organization, role).await?,
        NodeId::AuditEvent(id) => audit_event_node(ctx, id, viewer).await?,
        NodeId::Invitation(id) => match loaders.invitations.load_one(id).await? {
            Some(found) => {
                ctx.access(found.organization_id).await?;
                Some(Node::Invitation(Invitation(found)))
            }
            None => None,
        },
        NodeId::List(list_id) => {
            let (model, _) = super::types::visible_list(ctx, list_id).await?;
            Some(Node::List(List::new(model)))
        }
        NodeId::User(user_id) => user_node(ctx, user_id, viewer).await?,
        NodeId::ApiKey(id) => match loaders.api_keys.load_one(id).await? {
            Some(found) => {
                ctx.access(found.organization_id).await?;
                Some(Node::ApiKey(ApiKey(found)))
            }
            None => None,
        },
        NodeId::ServiceAccount(id) => match loaders.service_accounts.load_one(id).await? {
            Some(found) => {
                ctx.access(found.organization_id).await?;
                Some(Node::ServiceAccount(ServiceAccount(found)))
            }
            None => None,
        },
        // A domain is read through its organization's `sso`, not as a node.
        NodeId::OrganizationDomain(_) => None,
        // A second factor is read through `viewer.mfaFactors`, by its user alone; a SCIM group
        // through its organization's `scimGroups`.
        NodeId::MfaFactor(_) | NodeId::ScimGroup(_) => None,
        // Webhooks and checkpoints are read through their organization.
        NodeId::WebhookEndpoint(_) | NodeId::WebhookDelivery(_) | NodeId::AuditCheckpoint(_) => {
            None
        }
    })
}

/// A role as seen from `organization`: a predefined one, or one of the organization's own.
async fn role_node(
    ctx: &Context<'_>,
    organization: uuid::Uuid,
    role: uuid::Uuid,
) -> ApiResult<Option<Node>> {
    ctx.access(organization).await?;
    Ok(match ctx.loaders().roles.load_one(role).await? {
        Some(record)
            if record.organization_id.is_none() || record.organization_id == Some(organization) =>
        {
            Some(Node::Role(Role::new(record, organization)))
        }
        _ => None,
    })
}

/// An audit event: an organization's, for its members; a user's own security event, for them.
async fn audit_event_node(
    ctx: &Context<'_>,
    id: uuid::Uuid,
    viewer: uuid::Uuid,
) -> ApiResult<Option<Node>> {
    let Some(event) = ctx.loaders().audit_events.load_one(id).await? else {
        return Ok(None);
    };
    Ok(match (event.organization_id, event.subject_user_id) {
        (Some(org), _) => {
            ctx.access(org).await?;
            Some(Node::AuditEvent(AuditEvent(event)))
        }
        // A user's security events are their account's, which a key never reads.
        (None, Some(subject)) if subject == viewer && ctx.principal().key().is_none() => {
            Some(Node::AuditEvent(AuditEvent(event)))
        }
        _ => None,
    })
}

/// A user: the viewer, or someone who shares an organization with them (seen from it).
async fn user_node(
    ctx: &Context<'_>,
    user_id: uuid::Uuid,
    viewer: uuid::Uuid,
) -> ApiResult<Option<Node>> {
    let seen_in = if user_id == viewer {
        None
    } else {
        let shared = ctx
            .loaders()
            .shared_organizations
            .load_one((viewer, user_id))
            .await?;
        match shared.flatten() {
            Some(org) => Some(org),
            None => return Ok(None),
        }
    };
    Ok(ctx
        .loaders()
        .users
        .load_one(user_id)
        .await?
        .map(|user| Node::User(User::new(user, seen_in))))
}
