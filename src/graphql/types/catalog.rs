//! The `permissionCatalog` types: the permission matrix, the requirement of every field.

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::{GrantList, PermissionGrant, SeatClassValue};
use crate::authz::Policy;
use crate::graphql::ContextExt;
use crate::graphql::declared::{Declared, Rule};

/// The permission matrix and the requirement of every field: what a role editor, a console that
/// hides buttons, and other services need to know.
pub struct PermissionCatalog;

#[derive(SimpleObject)]
pub struct CatalogResource {
    pub key: String,
    pub name: String,
    pub group: String,
    pub description: Option<String>,
    /// Levels, lowest first.
    pub levels: Vec<String>,
    /// The license feature that gates the resource, if any.
    pub feature: Option<String>,
}

#[derive(SimpleObject)]
pub struct CatalogDependency {
    pub resource: String,
    pub level: String,
    /// What holding `resource` at `level` or above requires.
    pub requires: PermissionGrant,
}

#[derive(SimpleObject)]
pub struct CatalogRole {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub seat_class: SeatClassValue,
    /// Whether it holds the top level of every resource.
    pub owner: bool,
    pub grants: GrantList,
}

#[derive(SimpleObject)]
pub struct CatalogFeature {
    pub key: String,
    pub description: Option<String>,
}

/// How a field is guarded.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum GuardKind {
    /// Needs `resource` at `level` in the organization that owns the object.
    Requires,
    /// Needs `resource` at `level`, or the object is the viewer's own (their user, membership
    /// and events, the role they hold).
    RequiresOrSelf,
    /// Needs `resource` at `level`, or the viewer reads it through a share partner of its
    /// owner (with `list: read` there).
    RequiresOrPartner,
    /// Needs `resource` at `level`, or only membership in the organization that owns it
    /// (the SDL's `orPartner` says whether share partners see it too).
    RequiresOrMember,
    /// Needs a signed-in user.
    Authenticated,
    /// Needs a platform operator.
    PlatformOperator,
    /// Open to anyone.
    Public,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CatalogGuard {
    #[graphql(name = "type")]
    pub type_name: String,
    pub field: String,
    pub kind: GuardKind,
    pub resource: Option<String>,
    pub level: Option<String>,
    /// A sensitive change: only a person, never an API key, whose session proved a second
    /// factor recently when they have one (the SDL's `stepUp`).
    pub step_up: bool,
    /// Only a person: an API key is refused (the account's own operations, sign-ins, sensitive
    /// changes, platform operators' acts).
    pub person: bool,
}

#[Object]
impl PermissionCatalog {
    /// The policy's name.
    async fn name(&self, ctx: &Context<'_>) -> String {
        ctx.state().policy.name.clone()
    }

    async fn resources(&self, ctx: &Context<'_>) -> Vec<CatalogResource> {
        ctx.state()
            .policy
            .resources()
            .iter()
            .map(|r| CatalogResource {
                key: r.key.clone(),
                name: r.name.clone(),
                group: r.group.clone(),
                description: r.description.clone(),
                levels: r.levels.clone(),
                feature: r.feature.clone(),
            })
            .collect()
    }

    async fn dependencies(&self, ctx: &Context<'_>) -> Vec<CatalogDependency> {
        let policy = &ctx.state().policy;
        let name = |resource: usize, level: u8| {
            let resource = &policy.resources()[resource];
            (
                resource.key.clone(),
                resource.levels[level as usize].clone(),
            )
        };
        policy
            .dependencies()
            .iter()
            .map(|d| {
                let (resource, level) = name(d.resource, d.level);
                let (required, required_level) = name(d.requires.0, d.requires.1);
                CatalogDependency {
                    resource,
                    level,
                    requires: PermissionGrant {
                        resource: required,
                        level: required_level,
                    },
                }
            })
            .collect()
    }

    /// The predefined roles, the same in every organization.
    async fn roles(&self, ctx: &Context<'_>) -> Vec<CatalogRole> {
        let policy = &ctx.state().policy;
        policy
            .roles()
            .iter()
            .map(|role| CatalogRole {
                key: role.key.clone(),
                name: role.name.clone(),
                description: role.description.clone(),
                seat_class: role.seat_class.into(),
                owner: role.owner,
                grants: PermissionGrant::all(policy, &role.grants),
            })
            .collect()
    }

    /// License features an organization may hold.
    async fn features(&self, ctx: &Context<'_>) -> Vec<CatalogFeature> {
        ctx.state()
            .policy
            .features()
            .iter()
            .map(|f| CatalogFeature {
                key: f.key.clone(),
                description: f.description.clone(),
            })
            .collect()
    }

    /// The requirement of every field of the schema.
    async fn guards(&self, ctx: &Context<'_>) -> Vec<CatalogGuard> {
        guards_of(ctx.declared())
    }

    /// Every action an audit event records (`member.added`, `api_key.revoked`, …), in catalog
    /// order: the event types a webhook endpoint chooses from.
    async fn audit_actions(&self) -> Vec<&'static str> {
        crate::services::audit::Action::ALL
            .iter()
            .map(|action| action.as_str())
            .collect()
    }

    /// Every event type a webhook endpoint may receive: the audit actions, then
    /// `audit.checkpoint` (a signed head of the organization's audit chain). An endpoint's
    /// `events` lists these, `prefix.*` patterns of them, or `*`.
    async fn webhook_event_types(&self) -> Vec<&'static str> {
        crate::services::webhooks::events::types()
    }
}

/// Every field's guard, from what the schema declares (so it cannot differ from its
/// directives).
pub fn guards_of(declared: &Declared) -> Vec<CatalogGuard> {
    declared
        .rules()
        .iter()
        .map(|(type_name, field, rule)| catalog_guard(type_name, field, *rule))
        .collect()
}

/// A declared rule as the catalog lists it; a type-level requirement stands for the fields
/// without their own.
fn catalog_guard(type_name: &str, field: &str, rule: Rule) -> CatalogGuard {
    let (kind, need) = match rule {
        Rule::Public => (GuardKind::Public, None),
        Rule::Authenticated(_) => (GuardKind::Authenticated, None),
        Rule::PlatformOperator => (GuardKind::PlatformOperator, None),
        Rule::Requires(need) if need.or_member => (GuardKind::RequiresOrMember, Some(need)),
        Rule::Requires(need) if need.or_self => (GuardKind::RequiresOrSelf, Some(need)),
        Rule::Requires(need) if need.or_partner => (GuardKind::RequiresOrPartner, Some(need)),
        Rule::Requires(need) => (GuardKind::Requires, Some(need)),
    };
    CatalogGuard {
        type_name: type_name.to_owned(),
        field: field.to_owned(),
        kind,
        resource: need.map(|n| n.requirement.resource.to_owned()),
        level: need.map(|n| n.requirement.level.to_owned()),
        step_up: rule.steps_up(),
        person: rule.refuses_keys(type_name == "Mutation"),
    }
}

/// The requirements the schema declares, checked against a policy at start-up: every policy
/// must declare the resources and levels Charter's own fields need.
pub fn undeclared_requirements(guards: &[CatalogGuard], policy: &Policy) -> Vec<String> {
    guards
        .iter()
        .filter_map(|guard| match (&guard.resource, &guard.level) {
            (Some(resource), Some(level)) if policy.level_of(resource, level).is_none() => {
                Some(format!(
                    "{}.{} needs {resource} `{level}`",
                    guard.type_name, guard.field
                ))
            }
            _ => None,
        })
        .collect()
}
