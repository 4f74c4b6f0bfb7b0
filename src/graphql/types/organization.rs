//! The `Organization` object, with its `License`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::list::list_connection;
use super::member_page::MemberConnection;
use super::membership::{MemberFilter, MemberOrder, member_query};
use super::{
    ApiKey, AuditCheckpoint, AuditConnection, GrantList, Invitation, InvitationStatus, List,
    PermissionGrant, Role, ScimGroup, ScimSettings, ServiceAccount, SsoConnection, WebhookEndpoint,
    audit_page,
};
use crate::authz::require;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::connection::{Conn, connection, page_and_total, page_args};
use crate::graphql::guards::{Gate, Requires, Sharing, need};
use crate::graphql::ids::NodeId;
use crate::services::audit::{Filter, Log};
use crate::services::organization::invitations;
use crate::services::organization::organizations::{Licensed, OrganizationRecord};
use crate::services::{
    organization::api_keys, organization::lists, organization::organizations, organization::roles,
    organization::scim, organization::service_accounts, organization::sso, organization::webhooks,
    webhooks::checkpoints,
};

/// An organization: a tenant with its members, roles and license.
pub struct Organization(pub OrganizationRecord, Sight);

/// How the viewer came to see an organization.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sight {
    /// As one of its members (or when that is still to be checked): every field is guarded by
    /// the viewer's role there.
    Member,
    /// Through a sharing relationship (the owner of a shared list, or a share partner): only
    /// the fields that declare `orPartner` pass without membership.
    Sharing,
}

impl Organization {
    pub fn new(model: OrganizationRecord) -> Self {
        Self(model, Sight::Member)
    }

    /// An organization the viewer may not belong to but shares lists with.
    pub fn through_sharing(model: OrganizationRecord) -> Self {
        Self(model, Sight::Sharing)
    }

    /// The gate of every field: the viewer's role here, membership alone for the fields that
    /// declare `orMember`, and, seen through sharing, the fields that declare `orPartner`.
    fn gate(&self) -> Gate {
        let gate = Gate::object("Organization", self.0.id);
        match self.1 {
            Sight::Member => gate,
            Sight::Sharing => gate.sharing(Sharing::Organization),
        }
    }

    /// `organization_id` if the viewer still belongs to it, else none (a session's or a user's
    /// remembered organization may have been left since).
    pub async fn of_viewer(ctx: &Context<'_>, organization_id: Uuid) -> ApiResult<Option<Self>> {
        if ctx.access(organization_id).await.is_err() {
            return Ok(None);
        }
        Ok(ctx
            .loaders()
            .organizations
            .load_one(organization_id)
            .await?
            .map(Organization::new))
    }
}

/// What the organization is licensed for, and how much of it is in use: the organization and
/// the key to read its seats, made by the gate passed to see the license.
pub struct License(pub Licensed);

impl License {
    fn organization(&self) -> &OrganizationRecord {
        &self.0.organization
    }

    async fn usage(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::services::store::seats::SeatUsage>> {
        ctx.loaders()
            .seat_usage
            .load_one(self.0.seats.clone())
            .await
    }
}

#[Object]
impl License {
    /// Licensed seats: members holding a licensed role take one each.
    async fn seats(&self) -> i32 {
        self.organization().seats
    }

    /// Licensed seats in use.
    async fn seats_used(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self
            .usage(ctx)
            .await?
            .map(|usage| usage.licensed)
            .unwrap_or(0))
    }

    /// Members in free read-only seats (where the license allows them).
    async fn free_seats_used(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.usage(ctx).await?.map(|usage| usage.free).unwrap_or(0))
    }

    /// Whether read-only (free) roles take no licensed seat.
    async fn free_read_only_seats(&self) -> bool {
        self.organization().free_read_only_seats
    }

    /// Licensed features, such as `custom_roles`.
    async fn features(&self) -> Vec<String> {
        self.organization().features.clone()
    }
}

#[Object(
    guard = "self.gate()",
    directive = Requires::apply(need(require::ORGANIZATION_READ))
)]
impl Organization {
    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_READ).or_partner().or_member()))]
    pub async fn id(&self) -> ID {
        NodeId::Organization(self.0.id).to_id()
    }

    /// The id people read, type and share (for example to pick a share partner).
    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_READ).or_partner().or_member()))]
    async fn public_id(&self) -> &str {
        &self.0.public_id
    }

    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_READ).or_partner().or_member()))]
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Whether members' sessions must have checked a second factor to see anything here.
    async fn mfa_required(&self) -> bool {
        self.0.mfa_required
    }

    async fn license(&self, ctx: &Context<'_>) -> ApiResult<License> {
        let scope = self.gate().scope(ctx).await?;
        Ok(License(organizations::licensed(&scope, self.0.clone())?))
    }

    /// The viewer's role in this organization.
    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_READ).or_member()))]
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        let access = ctx.access(self.0.id).await?;
        let role = ctx.loaders().roles.load_one(access.role_id()).await?;
        Ok(role.map(|record| Role::new(record, self.0.id)))
    }

    /// Every resource of the policy with the level the viewer's role grants here.
    #[graphql(directive = Requires::apply(need(require::ORGANIZATION_READ).or_member()))]
    async fn viewer_permissions(&self, ctx: &Context<'_>) -> ApiResult<GrantList> {
        let access = ctx.access(self.0.id).await?;
        Ok(PermissionGrant::all(&ctx.state().policy, access.grants()))
    }

    /// Members: by joining order (oldest first) unless `orderBy` says otherwise, optionally only
    /// those holding a role or whose email or name contains a text.
    #[graphql(
        directive = Requires::apply(need(require::MEMBER_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<MemberOrder>,
        filter: Option<MemberFilter>,
    ) -> ApiResult<Option<MemberConnection>> {
        let query = member_query(self.0.id, first, after, order_by, filter)?;
        let scope = self.gate().scope(ctx).await?;
        let loaders = ctx.loaders();
        // Counting walks every matching member, so it is done only when `totalCount` is asked.
        let count = async {
            if !ctx.look_ahead().field("totalCount").exists() {
                return Ok(None);
            }
            let key = scope.key((query.role, query.search.clone(), query.kind));
            loaders.member_counts.load_one(key).await
        };
        let (page, total) = futures_util::try_join!(
            loaders.member_pages.load_one(scope.key(query.clone())),
            count,
        )?;
        Ok(Some(MemberConnection::from_page(
            page.unwrap_or_else(crate::services::Page::empty),
            query.after.is_some(),
            total.unwrap_or(0),
        )))
    }

    /// The organization's service accounts, oldest first.
    #[graphql(
        directive = Requires::apply(need(require::MEMBER_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn service_accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<Conn<ServiceAccount>>> {
        let args = page_args(first, after)?;
        let scope = self.gate().scope(ctx).await?;
        let (page, total) = page_and_total(
            ctx,
            service_accounts::page(&scope, args),
            service_accounts::count(&scope),
        )
        .await?;
        Ok(Some(connection(
            page,
            &args,
            total,
            |account| account.id,
            ServiceAccount,
        )))
    }

    /// The organization's SCIM provisioning: the role it gives new members.
    #[graphql(directive = Requires::apply(need(require::MEMBER_READ)))]
    async fn scim(&self, ctx: &Context<'_>) -> ApiResult<Option<ScimSettings>> {
        let scope = self.gate().scope(ctx).await?;
        Ok(Some(ScimSettings {
            organization_id: scope.organization_id(),
            default_role: scim::default_role_of(&scope).await?,
        }))
    }

    /// The groups SCIM provisioned, oldest first, each with the role it places its members in.
    #[graphql(
        directive = Requires::apply(need(require::MEMBER_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn scim_groups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<Conn<ScimGroup>>> {
        let args = page_args(first, after)?;
        let scope = self.gate().scope(ctx).await?;
        let (page, total) = page_and_total(
            ctx,
            scim::groups::listed(&scope, args),
            scim::groups::count(&scope),
        )
        .await?;
        Ok(Some(connection(
            page,
            &args,
            total,
            |group| group.id,
            ScimGroup,
        )))
    }

    /// The organization's single sign-on: its connection (none until configured) and its
    /// claimed email domains.
    #[graphql(directive = Requires::apply(need(require::SSO_READ)))]
    async fn sso(&self, ctx: &Context<'_>) -> ApiResult<Option<SsoConnection>> {
        let scope = self.gate().scope(ctx).await?;
        let (record, domains) =
            futures_util::try_join!(sso::connection(&scope), sso::domains(&scope))?;
        Ok(Some(SsoConnection {
            organization_id: self.0.id,
            record,
            domains: domains.into_iter().map(Into::into).collect(),
        }))
    }

    /// The organization's API keys, oldest first: every key with `api_key: read`, else the
    /// viewer's own.
    #[graphql(
        directive = Requires::apply(need(require::API_KEY_READ).or_member()),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<Conn<ApiKey>>> {
        let args = page_args(first, after)?;
        // The role's requirement shows every key; membership alone, the viewer's own.
        let (scope, holder) = match self.gate().scope(ctx).await {
            Ok(scope) => (scope, None),
            Err(err) if err.code == crate::error::ErrorCode::Forbidden => {
                let scope = self.gate().member_scope(ctx).await?;
                let viewer = ctx.request().viewer_id()?;
                (scope, Some(viewer))
            }
            Err(err) => return Err(err),
        };
        let (page, total) = page_and_total(
            ctx,
            api_keys::page(&scope, holder, args),
            api_keys::count(&scope, holder),
        )
        .await?;
        Ok(Some(connection(page, &args, total, |key| key.id, ApiKey)))
    }

    /// The organization's webhook endpoints, oldest first (at most 20).
    #[graphql(directive = Requires::apply(need(require::WEBHOOK_READ)))]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<Vec<WebhookEndpoint>>> {
        let scope = self.gate().scope(ctx).await?;
        let endpoints = webhooks::endpoints(&scope).await?;
        Ok(Some(endpoints.into_iter().map(WebhookEndpoint).collect()))
    }

    /// Signed heads of the organization's audit chain, newest first: what subscribers of
    /// `audit.checkpoint` were sent.
    #[graphql(
        directive = Requires::apply(need(require::AUDIT_LOG_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn audit_checkpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<Conn<AuditCheckpoint>>> {
        let args = page_args(first, after)?;
        let scope = self.gate().scope(ctx).await?;
        let (page, total) = page_and_total(
            ctx,
            checkpoints::page(&scope, args),
            checkpoints::count(&scope),
        )
        .await?;
        Ok(Some(connection(
            page,
            &args,
            total,
            |checkpoint| checkpoint.id,
            AuditCheckpoint,
        )))
    }

    /// The organization's audit log, newest first.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        directive = Requires::apply(need(require::AUDIT_LOG_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        search: Option<String>,
        action: Option<String>,
        actor_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<AuditConnection>> {
        if let Some(text) = &search {
            crate::domain::text::search("search", text)?;
        }
        if let Some(text) = &action {
            crate::domain::text::search("action", text)?;
        }
        let filter = Filter {
            from,
            to,
            action,
            actor_id: actor_id
                .as_ref()
                .map(|id| NodeId::user("actorId", id))
                .transpose()?,
            search,
        };
        let scope = self.gate().scope(ctx).await?;
        audit_page(Log::Organization(scope), filter, first, after)
            .await
            .map(Some)
    }

    /// Invitations, newest first, optionally of one status.
    #[graphql(
        directive = Requires::apply(need(require::INVITATION_SEND)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<InvitationStatus>,
    ) -> ApiResult<Option<Conn<Invitation>>> {
        let args = page_args(first, after)?;
        let scope = self.gate().scope(ctx).await?;
        let (page, total) =
            invitations::page(&scope, status.map(InvitationStatus::as_str), args).await?;
        Ok(Some(connection(
            page,
            &args,
            total as i64,
            |i| i.id,
            Invitation,
        )))
    }

    /// The organization's own lists, oldest first.
    #[graphql(
        directive = Requires::apply(need(require::LIST_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn lists(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<Conn<List>>> {
        let args = page_args(first, after)?;
        let scope = self.gate().scope(ctx).await?;
        let found = lists::page(&scope, args).await?;
        list_connection(ctx, found, &args).await.map(Some)
    }

    /// The lists other organizations share with this one (read-only), oldest first: the shared
    /// lists of every organization that picked this one as a share partner.
    #[graphql(
        directive = Requires::apply(need(require::LIST_READ)),
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn shared_lists(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Option<Conn<List>>> {
        let args = page_args(first, after)?;
        let scope = self.gate().scope(ctx).await?;
        let found = lists::shared_with(&scope, args).await?;
        list_connection(ctx, found, &args).await.map(Some)
    }

    /// The organizations this one shares its shared lists with, in the order they were picked.
    #[graphql(
        directive = Requires::apply(need(require::LIST_READ))
    )]
    async fn share_partners(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Organization>>> {
        let loaders = ctx.loaders();
        let partners = loaders
            .share_partners
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let models = loaders
            .organizations
            .load_many(partners.iter().copied())
            .await?;
        Ok(Some(
            partners
                .iter()
                .filter_map(|id| models.get(id).cloned())
                .map(Organization::through_sharing)
                .collect(),
        ))
    }

    /// The roles members can hold here: the policy's predefined roles and this organization's own.
    #[graphql(
        directive = Requires::apply(need(require::ROLE_READ))
    )]
    async fn roles(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Role>>> {
        let scope = self.gate().scope(ctx).await?;
        let roles = roles::for_organization(&scope).await?;
        Ok(Some(
            roles
                .into_iter()
                .map(|record| Role::new(record, self.0.id))
                .collect(),
        ))
    }
}
