//! Field guards derived from the matrix: the `@requires` and `@authenticated` directives that
//! declare what each field needs, and the guards that enforce the same declaration.
//!
//! A field's requirement is its own `@requires`, else its type's. Fields on [`PUBLIC_FIELDS`]
//! need nothing; fields of [`VALUE_TYPES`] carry no identity and are reached only through a
//! guarded field. A test walks the schema and fails on any other field without a requirement.

use async_graphql::parser::types::OperationType;
use std::borrow::Cow;

use async_graphql::registry::{MetaDirectiveInvocation, Registry, location_traits};
use async_graphql::{Context, Guard, TypeDirective};
use uuid::Uuid;

use super::ContextExt;
pub use super::declared::{
    Account, Need, PERSON, PUBLIC_FIELDS, Rule, SIGNED_IN, STEPPED_UP, VALUE_TYPES, need,
};
use crate::authz::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::services::store::scope::{OrgChange, OrgScope};

/// `@requires(resource, level, orSelf, orPartner, orMember)`: the viewer's role in the
/// organization that owns the object must grant `resource` at `level` or above; with `orSelf`,
/// the viewer's own record (their user, membership and events, the role they hold) passes too;
/// with `orPartner`, so does a member of a share partner of
/// the owner whose role there grants `list: read` (the object is seen through a shared list);
/// with `orMember`, membership in the owner passes whatever the role grants. With `stepUp`,
/// the caller must also be a person (never an API key) whose session proved a Charter second
/// factor within the step-up window, when they have one.
// Applied through [`Requires`], from a [`Need`] of a constant of `crate::authz::require`.
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn requires(
    resource: String,
    level: String,
    or_self: Option<bool>,
    or_partner: Option<bool>,
    or_member: Option<bool>,
    step_up: Option<bool>,
) {
}

/// `@authenticated(person, stepUp)`: any signed-in user; the field acts on the caller's own
/// account only. With `person`, never through an API key (a mutation of the account always
/// needs the person); with `stepUp`, a person whose session proved a Charter second factor
/// within the step-up window, when they have one.
// Applied through [`Authenticated`], from an [`Account`].
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn authenticated(person: Option<bool>, step_up: Option<bool>) {}

/// `@platformOperator`: only users flagged as platform operators (`charter user operator`).
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn platformOperator() {}

/// `@authenticated` applied from an [`Account`]: `directive = Authenticated::apply(PERSON)`.
pub struct Authenticated;

impl TypeDirective for Authenticated {
    fn name(&self) -> Cow<'static, str> {
        authenticated.name()
    }

    fn register(&self, registry: &mut Registry) {
        authenticated.register(registry)
    }
}

impl location_traits::Directive_At_FIELD_DEFINITION for Authenticated {}
impl location_traits::Directive_At_OBJECT for Authenticated {}

impl Authenticated {
    pub fn apply(account: Account) -> MetaDirectiveInvocation {
        let flag = |on: bool| on.then_some(true);
        authenticated::apply(flag(account.person), flag(account.step_up))
    }
}

/// `@requires` applied from a [`Need`]: `directive = Requires::apply(need(R).or_self())`, the
/// one declaration of a field's or type's requirement, which the [`Gate`] enforces.
pub struct Requires;

impl TypeDirective for Requires {
    fn name(&self) -> Cow<'static, str> {
        requires.name()
    }

    fn register(&self, registry: &mut Registry) {
        requires.register(registry)
    }
}

impl location_traits::Directive_At_FIELD_DEFINITION for Requires {}
impl location_traits::Directive_At_OBJECT for Requires {}

impl Requires {
    pub fn apply(need: Need) -> MetaDirectiveInvocation {
        let flag = |on: bool| on.then_some(true);
        requires::apply(
            need.requirement.resource.into(),
            need.requirement.level.into(),
            flag(need.or_self),
            flag(need.or_partner),
            flag(need.or_member),
            flag(need.step_up),
        )
    }
}

/// How the viewer may have come to see an object without being a member of its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Only through membership.
    No,
    /// A list: when it is `shared`, members of its owner's share partners read it with
    /// `list: read` in their own organization (`orPartner` fields).
    List { shared: bool },
    /// An organization reached through a sharing relationship (a shared list's owner, or a
    /// share partner): its `orPartner` fields pass without membership.
    Organization,
}

/// What a field's rule says of an object, once the viewer's access in its owner is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Passes if the viewer reads the owner's shared lists as a partner's member.
    ThroughSharing(Need),
    /// Passes if the viewer is a platform operator.
    PlatformOperator,
}

/// How a field's requirement may be met besides the role's grants.
enum Around {
    Passes,
    ThroughSharing,
    ByRole,
}

/// The one gate of the schema. An object says what it is (its type, the organization that owns
/// it, whose it is); the field being resolved says what it needs, in its declaration
/// ([`rule`]). As a guard the gate lets the field resolve or refuses it; in a resolver,
/// [`Gate::scope`] hands out the [`OrgScope`] the field's use case takes.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// None for the root types, whose name comes from the operation.
    type_name: Option<&'static str>,
    organization: Option<Uuid>,
    /// What a viewer outside the organization is told was not found.
    kind: &'static str,
    own_user: Option<Uuid>,
    held_role: Option<Uuid>,
    sharing: Sharing,
}

impl Gate {
    /// For an object of `type_name` owned by `organization`.
    pub fn object(type_name: &'static str, organization: Uuid) -> Self {
        Self {
            type_name: Some(type_name),
            organization: Some(organization),
            kind: "organization",
            own_user: None,
            held_role: None,
            sharing: Sharing::No,
        }
    }

    /// For a root field (a query or a mutation) acting in `organization`; a viewer outside it
    /// is told that the `kind` they named was not found.
    pub fn root(kind: &'static str, organization: Uuid) -> Self {
        Self {
            type_name: None,
            kind,
            ..Self::object("", organization)
        }
    }

    /// For a record belonging to `user_id`, found in `organization` when known (`orSelf`).
    pub fn own(type_name: &'static str, organization: Option<Uuid>, user_id: Uuid) -> Self {
        Self {
            organization,
            own_user: Some(user_id),
            ..Self::object(type_name, Uuid::nil())
        }
    }

    /// The role `role_id`: the members holding it see it (`orSelf`).
    pub fn held_role(self, role_id: Uuid) -> Self {
        Self {
            held_role: Some(role_id),
            ..self
        }
    }

    /// The record belongs to `user_id` (`orSelf` lets them through).
    pub fn owned_by(self, user_id: Uuid) -> Self {
        Self {
            own_user: Some(user_id),
            ..self
        }
    }

    pub fn sharing(self, sharing: Sharing) -> Self {
        Self { sharing, ..self }
    }

    /// The rule of the field being resolved.
    fn rule(&self, ctx: &Context<'_>) -> ApiResult<Rule> {
        let field = ctx.item.node.name.node.as_str();
        let type_name = match self.type_name {
            Some(type_name) => type_name,
            None => match ctx.query_env.operation.node.ty {
                OperationType::Mutation => "Mutation",
                _ => "Query",
            },
        };
        ctx.declared()
            .rule(type_name, field)
            .ok_or_else(|| ApiError::internal(format!("{type_name}.{field} declares no rule")))
    }

    /// The viewer's access in the owner; NOT_FOUND as this gate's `kind` for a non-member.
    async fn access(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgAccess>> {
        match self.organization {
            Some(organization) => ctx.membership_access(organization).await,
            None => Ok(None),
        }
    }

    /// Whether the field passes some other way than the role's requirement, or the refusal a
    /// viewer outside the owner gets for it.
    fn around(
        &self,
        ctx: &Context<'_>,
        need: Need,
        access: Option<&OrgAccess>,
    ) -> ApiResult<Around> {
        if need.or_self {
            let viewer = ctx.request().viewer_id()?;
            let held = self.held_role.is_some() && access.map(|a| a.role_id()) == self.held_role;
            // A record of the viewer's own in an organization is theirs only where they are
            // admitted: not through a key or a session bound elsewhere.
            let admitted = self.organization.is_none() || access.is_some();
            if admitted && (self.own_user == Some(viewer) || held) {
                return Ok(Around::Passes);
            }
        }
        if need.or_member && access.is_some() {
            return Ok(Around::Passes);
        }
        match (self.sharing, access) {
            (Sharing::Organization, _) if need.or_partner => Ok(Around::Passes),
            (Sharing::Organization, None) => {
                let type_name = self.type_name.unwrap_or_default();
                Err(ApiError::forbidden(format!(
                    "seen through a shared list, an organization shows only its {}",
                    ctx.declared().partner_fields(type_name).join(", ")
                )))
            }
            (Sharing::List { shared: true }, None) if need.or_partner => Ok(Around::ThroughSharing),
            _ => Ok(Around::ByRole),
        }
    }

    /// Checks the field's rule for this object.
    async fn pass(&self, ctx: &Context<'_>) -> ApiResult<()> {
        let rule = self.rule(ctx)?;
        let access = self.access_for(ctx, rule).await?;
        match self.decide(ctx, rule, access.as_ref())? {
            Verdict::Pass => Ok(()),
            Verdict::PlatformOperator => Box::pin(PlatformOperator.admit(ctx)).await,
            Verdict::ThroughSharing(need) => {
                let organization = self.organization.unwrap_or_default();
                // Boxed: the rare path through sharing keeps every other field's check small.
                if !Box::pin(ctx.reads_through_sharing(organization, true)).await? {
                    return Err(ApiError::not_found("list"));
                }
                if need.step_up {
                    step_up(ctx)?;
                }
                Ok(())
            }
        }
    }

    /// The viewer's access in the owner, where `rule` reads it: UNAUTHENTICATED without a
    /// viewer.
    pub(crate) async fn access_for(
        &self,
        ctx: &Context<'_>,
        rule: Rule,
    ) -> ApiResult<Option<OrgAccess>> {
        match rule {
            Rule::Requires(_) if !self.outside_organizations() => {
                ctx.request().viewer_id()?;
                self.access(ctx).await
            }
            _ => Ok(None),
        }
    }

    /// An account's own record, outside any organization.
    fn outside_organizations(&self) -> bool {
        self.organization.is_none() && self.own_user.is_some()
    }

    /// What `rule` says of this object for the viewer whose access in the owner is `access`
    /// (as [`Self::access_for`] read it): the one decision of every guard, which a planned
    /// list ([`crate::graphql::types::member_page`]) also takes, once per organization, field
    /// and kind of row. What needs another read is left to the caller as a [`Verdict`].
    pub(crate) fn decide(
        &self,
        ctx: &Context<'_>,
        rule: Rule,
        access: Option<&OrgAccess>,
    ) -> ApiResult<Verdict> {
        let need = match rule {
            Rule::Public => return Ok(Verdict::Pass),
            Rule::Authenticated(account) => {
                return own_account(ctx, account, false).map(|()| Verdict::Pass);
            }
            Rule::PlatformOperator => return Ok(Verdict::PlatformOperator),
            Rule::Requires(need) => need,
        };
        if self.outside_organizations() {
            // An account's own record, outside any organization: its person's.
            let own = ctx.request().own_id()?;
            return if need.or_self && self.own_user == Some(own) {
                Ok(Verdict::Pass)
            } else {
                ctx.request().viewer_id()?;
                Err(ApiError::not_found("record"))
            };
        }
        // The organization's requirement of a second factor holds on every way in: the
        // role's, the viewer's own record, membership alone.
        if access.is_some_and(OrgAccess::mfa_pending) {
            return Err(crate::authz::Refusal::MfaRequired.into());
        }
        match self.around(ctx, need, access)? {
            Around::Passes => {}
            Around::ThroughSharing => return Ok(Verdict::ThroughSharing(need)),
            Around::ByRole => {
                OrgScope::check(self.kind, access, Some(need.requirement))?;
            }
        }
        if need.step_up {
            step_up(ctx)?;
        }
        Ok(Verdict::Pass)
    }

    /// The capability the field's use case takes: the viewer passed the field's `@requires`
    /// through their role in the owner.
    pub async fn scope(&self, ctx: &Context<'_>) -> ApiResult<OrgScope> {
        let Rule::Requires(need) = self.rule(ctx)? else {
            return Err(ApiError::internal(
                "this field declares no organization requirement",
            ));
        };
        let access = self.access(ctx).await?;
        let scope = OrgScope::admit(ctx.state(), self.kind, access, need.requirement)?;
        if need.step_up {
            step_up(ctx)?;
        }
        Ok(scope)
    }

    /// The capability to read the owner's data for a field whose guard passed through the
    /// viewer's membership there, by the role's requirement or a way around it (`orSelf` for a
    /// role they hold, `orMember`): membership is what it proves.
    pub async fn member_scope(&self, ctx: &Context<'_>) -> ApiResult<OrgScope> {
        self.pass(ctx).await?;
        let access = self.access(ctx).await?;
        OrgScope::admit_member(ctx.state(), self.kind, access)
    }

    /// The capability of an `orSelf` field: membership for the viewer's own record, else the
    /// role's requirement (what the gate checked either way).
    pub async fn self_or_scope(&self, ctx: &Context<'_>) -> ApiResult<OrgScope> {
        if self.own_user == Some(ctx.request().viewer_id()?) {
            self.member_scope(ctx).await
        } else {
            self.scope(ctx).await
        }
    }

    /// [`Self::self_or_scope`] as a capability to change the organization's data.
    pub async fn self_or_change(&self, ctx: &Context<'_>) -> ApiResult<OrgChange> {
        let scope = self.self_or_scope(ctx).await?;
        Ok(scope.change_as(ctx.actor().await?))
    }

    /// [`Self::scope`] as a capability to change the organization's data as the viewer.
    pub async fn change(&self, ctx: &Context<'_>) -> ApiResult<OrgChange> {
        let scope = self.scope(ctx).await?;
        Ok(scope.change_as(ctx.actor().await?))
    }

    /// The capability of an `@authenticated` field acting on the viewer's own membership of
    /// the owner (leaving it): membership alone, whatever the role grants.
    pub async fn own_membership(&self, ctx: &Context<'_>) -> ApiResult<OrgChange> {
        let Rule::Authenticated(_) = self.rule(ctx)? else {
            return Err(ApiError::internal(
                "only an @authenticated field acts on the viewer's own membership",
            ));
        };
        let access = self.access(ctx).await?;
        let scope = OrgScope::admit_member(ctx.state(), self.kind, access)?;
        Ok(scope.change_as(ctx.actor().await?))
    }
}

impl Guard for Gate {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        self.pass(ctx).await?;
        Ok(())
    }
}

/// Enforces `@platformOperator`.
pub struct PlatformOperator;

impl PlatformOperator {
    async fn admit(&self, ctx: &Context<'_>) -> ApiResult<()> {
        let viewer = ctx.request().viewer_id()?;
        ctx.principal().not_a_key()?;
        let user = ctx.loaders().users.load_one(viewer).await?;
        if user.is_some_and(|user| user.is_operator) {
            Ok(())
        } else {
            Err(ApiError::forbidden("only platform operators may do this"))
        }
    }
}

impl Guard for PlatformOperator {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Ok(self.admit(ctx).await?)
    }
}

/// The guard of the root types and of the viewer: it enforces what each field declares
/// (`@authenticated`, `@platformOperator`, nothing for a public field), so that a field states
/// its rule once, in its directive. A root field's `@requires` is enforced by the [`Gate`] its
/// resolver passes to reach the organization (and its `stepUp` with it); here a root mutation
/// that is not organization-scoped refuses API keys: it signs a person in or acts on their
/// account.
pub struct Declared {
    /// None for the root types, whose name comes from the operation.
    type_name: Option<&'static str>,
}

impl Declared {
    /// For the fields of `Query` and `Mutation`.
    pub const ROOT: Declared = Declared { type_name: None };

    /// For the fields of the object type `type_name`.
    pub const fn on(type_name: &'static str) -> Self {
        Self {
            type_name: Some(type_name),
        }
    }

    async fn admit(&self, ctx: &Context<'_>) -> ApiResult<()> {
        let mutation =
            self.type_name.is_none() && ctx.query_env.operation.node.ty == OperationType::Mutation;
        let type_name = match (self.type_name, mutation) {
            (Some(type_name), _) => type_name,
            (None, true) => "Mutation",
            (None, false) => "Query",
        };
        let field = ctx.item.node.name.node.as_str();
        let rule = ctx
            .declared()
            .rule(type_name, field)
            .ok_or_else(|| ApiError::internal(format!("{type_name}.{field} declares no rule")))?;
        match rule {
            // The catalog's `person` and this refusal are the one rule's.
            Rule::Public if rule.refuses_keys(mutation) => ctx.principal().not_a_key(),
            Rule::Public | Rule::Requires(_) => Ok(()),
            Rule::Authenticated(account) => own_account(ctx, account, mutation),
            Rule::PlatformOperator => PlatformOperator.admit(ctx).await,
        }
    }
}

impl Guard for Declared {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Ok(self.admit(ctx).await?)
    }
}

/// `@authenticated`: a viewer; the person, never an API key, for `person` and for a mutation
/// (which acts on the caller's own account: sessions, password, profile, organizations joined
/// or created); and a recent second factor for `stepUp`.
fn own_account(ctx: &Context<'_>, account: Account, mutation: bool) -> ApiResult<()> {
    ctx.request().viewer_id()?;
    if Rule::Authenticated(account).refuses_keys(mutation) {
        ctx.principal().not_a_key()?;
    }
    if account.step_up {
        step_up(ctx)?;
    }
    Ok(())
}

/// A sensitive change's bar (`@requires(…, stepUp: true)`, and the account's own factor
/// changes): a person, never an API key (a key's children would outlive it, and a machine has
/// no second factor to ask), whose session proved a Charter second factor within the step-up
/// window when they have one; and in a request of its own, since a session opened or renewed
/// earlier in the same document is not the bearer the check reads.
pub fn step_up(ctx: &Context<'_>) -> ApiResult<()> {
    let principal = ctx.principal();
    principal.not_a_key()?;
    if ctx.request().signed_in_here() {
        return Err(ApiError::forbidden(
            "a sensitive change cannot follow a sign-in in the same request: send it on its own \
             with the session's access token",
        ));
    }
    crate::services::identity::mfa::require_recent(ctx.state(), principal)
}
