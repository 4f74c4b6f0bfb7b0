//! The `Viewer` object: what the signed-in user sees of themselves.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use super::member_page::MemberConnection;
use super::membership::MemberKey;
use super::{
    AuditConnection, GrantList, Membership, Organization, PermissionGrant, User, audit_page,
};
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::connection::Keyset;
use crate::graphql::guards::{Authenticated, Declared, PERSON, SIGNED_IN};
use crate::graphql::ids::NodeId;
use crate::services::audit::{Filter, Log};
use crate::services::identity::users::UserRecord;
use crate::services::organization::memberships;

/// The signed-in user and what they can reach.
pub struct Viewer {
    pub user: UserRecord,
    pub active_organization_id: Option<Uuid>,
}

#[Object(
    guard = "Declared::on(\"Viewer\")",
    directive = Authenticated::apply(SIGNED_IN)
)]
impl Viewer {
    async fn user(&self) -> User {
        User::new(self.user.clone(), None)
    }

    /// The organization this session acts in, while the user is still a member of it.
    async fn active_organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let Some(org) = self.active_organization_id else {
            return Ok(None);
        };
        Organization::of_viewer(ctx, org).await
    }

    /// The user's memberships, oldest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<MemberConnection> {
        let after =
            crate::graphql::connection::after::<MemberKey>(after.as_deref())?.map(|key| key.id);
        let args = crate::services::PageArgs::new(first, after)?;
        // Counting is done only when `totalCount` is asked.
        let counted = ctx.look_ahead().field("totalCount").exists();
        // Through a key, only the key's organization.
        let only = ctx
            .principal()
            .key()
            .filter(|key| key.holder_id == self.user.id)
            .map(|key| key.organization_id);
        let (page, total) =
            memberships::of_user(ctx.state(), self.user.id, only, args, counted).await?;
        // The access of every field below in these organizations starts from these rows.
        ctx.loaders()
            .viewer(self.user.id)
            .knew_memberships(&page.items)
            .await;
        let edges = page.items.into_iter().map(|m| {
            let cursor = Keyset(MemberKey {
                sort_value: String::new(),
                id: m.id,
            });
            async_graphql::connection::Edge::new(cursor, Membership::new(m))
        });
        let total = total.unwrap_or(0) as i64;
        Ok(MemberConnection::new(
            args.after.is_some(),
            page.has_next_page,
            total,
            edges,
        ))
    }

    /// The user's own security events (sign-ins, failed sign-ins, sessions), newest first:
    /// the person's, never an API key's to read.
    #[graphql(
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1",
        directive = Authenticated::apply(PERSON)
    )]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AuditConnection> {
        let log = Log::OwnSecurity {
            state: ctx.state().clone(),
            user_id: self.user.id,
        };
        audit_page(log, Filter::default(), first, after).await
    }

    /// Your second factors, oldest first: the person's, never an API key's to read.
    #[graphql(directive = Authenticated::apply(PERSON))]
    async fn mfa_factors(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::MfaFactor>> {
        let factors = crate::services::identity::mfa::list(ctx.state(), self.user.id).await?;
        Ok(factors.into_iter().map(super::MfaFactor).collect())
    }

    /// Every resource of the policy with the level the user's role grants in `organizationId`.
    async fn permissions(&self, ctx: &Context<'_>, organization_id: ID) -> ApiResult<GrantList> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let access = ctx.access(org).await?;
        Ok(PermissionGrant::all(&ctx.state().policy, access.grants()))
    }
}
