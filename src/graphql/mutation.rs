//! The mutation root.

use async_graphql::{Context, ID, InputObject, Object};

use super::ContextExt;
use super::guards::{SignedIn, authenticated, requires};
use super::ids::NodeId;
use super::types::{AuthPayload, Organization, Viewer};
use crate::authz::require;
use crate::domain::OrganizationName;
use crate::error::ApiResult;
use crate::services::{organizations, sessions};

pub struct MutationRoot;

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The organization to act in; by default the user's default organization, else their oldest.
    pub organization_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// 1 to 200 characters.
    pub name: String,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub organization_id: ID,
    /// 1 to 200 characters.
    pub name: String,
}

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Signs in with an email and password. An unknown email, a wrong password and a disabled
    /// account all get the same UNAUTHENTICATED answer.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        let organization_id = input
            .organization_id
            .as_ref()
            .map(|id| NodeId::organization("organizationId", id))
            .transpose()?;
        let tokens = sessions::login(
            ctx.state(),
            &input.email,
            input.password,
            organization_id,
            &ctx.request().meta,
        )
        .await?;
        ctx.request().act_as(tokens.user.id);
        Ok(AuthPayload(tokens))
    }

    /// Exchanges a refresh token (once) for new tokens.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        let tokens = sessions::refresh(ctx.state(), &refresh_token).await?;
        ctx.request().act_as(tokens.user.id);
        Ok(AuthPayload(tokens))
    }

    /// Ends the current session: its access tokens stop working on the next request.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        sessions::logout(ctx.state(), ctx.principal()).await?;
        Ok(true)
    }

    /// New tokens acting in another organization the viewer belongs to.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<AuthPayload> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let tokens = sessions::switch_organization(ctx.state(), ctx.principal(), org).await?;
        Ok(AuthPayload(tokens))
    }

    /// The organization a login lands in when none is asked for.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn set_default_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<Viewer> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let user = sessions::set_default_organization(ctx.state(), ctx.principal(), org).await?;
        let active_organization_id = match ctx.principal() {
            crate::auth::Principal::User {
                organization_id, ..
            } => *organization_id,
            _ => None,
        };
        Ok(Viewer {
            user,
            active_organization_id,
        })
    }

    /// Creates an organization; the viewer becomes its owner.
    #[graphql(guard = "SignedIn", directive = authenticated::apply())]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> ApiResult<Organization> {
        let viewer = ctx.request().viewer_id()?;
        let name = OrganizationName::parse("name", &input.name)?;
        let org = organizations::create(ctx.state(), viewer, name).await?;
        Ok(Organization(org))
    }

    /// Renames an organization.
    #[graphql(directive = requires::apply(require::ORGANIZATION_EDIT.resource.into(), require::ORGANIZATION_EDIT.level.into(), None))]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> ApiResult<Organization> {
        let org = NodeId::organization("organizationId", &input.organization_id)?;
        let access = ctx.require(org, require::ORGANIZATION_EDIT).await?;
        let name = OrganizationName::parse("name", &input.name)?;
        let org = organizations::rename(&ctx.state().db, &access, name).await?;
        Ok(Organization(org))
    }
}
