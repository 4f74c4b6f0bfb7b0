//! Sign-ins that end elsewhere: a single sign-on's code, an invitation.

use super::*;

#[derive(Default)]
pub struct SignInMutations;

#[Object(guard = "Declared::ROOT")]
impl SignInMutations {
    /// Exchanges the one-time code a single sign-on hands the application (once, within 60
    /// seconds) for a session. When the sign-in named an existing Charter account that is not
    /// yet linked to the provider (the redirect then carries `sso_link=required`, and without
    /// it the answer is FORBIDDEN with `ssoLinkRequired`), that person confirms the link once
    /// with their Charter `password` (within five minutes), and their own second factor after.
    async fn exchange_sso_code(
        &self,
        ctx: &Context<'_>,
        code: String,
        password: Option<String>,
    ) -> ApiResult<AuthPayload> {
        if let Some(password) = &password {
            check_offered("password", password)?;
        }
        let request = ctx.request();
        let signed = crate::services::identity::sso::flow::exchange(
            ctx.state(),
            &code,
            password,
            &request.meta,
        )
        .await?;
        Ok(signed_in(ctx, AuthPayload(signed)))
    }

    /// Accepts an invitation with its token. A new email gets an account (display name and
    /// password required); an existing account must be signed in or give its password. An
    /// unknown, used, revoked or expired token gets one and the same answer.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> ApiResult<AuthPayload> {
        text::check("token", TextKind::Line, &input.token, MAX_TOKEN)?;
        if let Some(name) = &input.display_name {
            text::check(
                "displayName",
                TextKind::Name,
                name,
                crate::domain::DisplayName::MAX,
            )?;
        }
        if let Some(password) = &input.password {
            // A new account's password is checked as a new one by the acceptance itself.
            check_offered("password", password)?;
        }
        let request = ctx.request();
        let acceptance = invitations::Acceptance {
            token: input.token,
            display_name: input.display_name,
            password: input.password,
            signed_in: request.principal.user_id().ok(),
        };
        let (user, org) = invitations::accept(ctx.state(), acceptance, &request.meta).await?;
        // An account with a second factor answers its challenge before it gets tokens.
        let signed = sign_in::sign_in(
            ctx.state(),
            user,
            Some(org),
            sign_in::SignInMethod::password(),
            &request.meta,
            |_| vec![],
        )
        .await?;
        Ok(signed_in(ctx, AuthPayload(signed)))
    }
}

#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The token from the invitation email.
    pub token: String,
    /// For a new account: your name.
    pub display_name: Option<String>,
    /// For a new account: the password to set (12 to 128 characters). For an existing account
    /// you are not signed in as: its password.
    pub password: Option<String>,
}
