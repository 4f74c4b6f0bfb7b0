//! Signing in and out, and the session's organization.

use super::*;

#[derive(Default)]
pub struct SessionMutations;

#[Object(guard = "Declared::ROOT")]
impl SessionMutations {
    /// Signs in with an email and password. An unknown email, a wrong password and a disabled
    /// account all get the same UNAUTHENTICATED answer.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        let organization_id = input
            .organization_id
            .as_ref()
            .map(|id| NodeId::organization("organizationId", id))
            .transpose()?;
        check_offered("password", &input.password)?;
        let signed = sessions::login(
            ctx.state(),
            &input.email,
            input.password,
            organization_id,
            &ctx.request().meta,
        )
        .await?;
        Ok(signed_in(ctx, AuthPayload(signed)))
    }

    /// Exchanges a refresh token (once) for new tokens.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        text::check("refreshToken", TextKind::Line, &refresh_token, MAX_TOKEN)?;
        let tokens = sessions::refresh(ctx.state(), &refresh_token, &ctx.request().meta).await?;
        Ok(signed_in(ctx, tokens.into()))
    }

    /// Ends the current session: its access tokens stop working on the next request.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let actor = ctx.actor().await?;
        sessions::logout(ctx.state(), &actor, ctx.principal()).await?;
        Ok(true)
    }

    /// New tokens acting in another organization the viewer belongs to.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<AuthPayload> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let actor = ctx.actor().await?;
        let tokens =
            sessions::switch_organization(ctx.state(), &actor, ctx.principal(), org).await?;
        Ok(tokens.into())
    }

    /// The organization a login lands in when none is asked for.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn set_default_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> ApiResult<Viewer> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let user = sessions::set_default_organization(&ctx.own_account().await?, org).await?;
        let active_organization_id = ctx.principal().active_organization();
        Ok(Viewer {
            user: user.into(),
            active_organization_id,
        })
    }
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The organization to act in; by default the user's default organization, else their oldest.
    pub organization_id: Option<ID>,
}
