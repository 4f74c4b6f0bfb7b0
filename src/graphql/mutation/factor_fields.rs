//! Second factors, challenges, and an organization's requirement of them.

use super::*;

#[derive(Default)]
pub struct FactorMutations;

#[Object(guard = "Declared::ROOT")]
impl FactorMutations {
    /// Starts enrolling an authenticator app: the secret (base32), its `otpauth://` URI and a
    /// QR code (SVG) of it, shown this once. `confirmTotpEnrollment` with the app's first code
    /// activates it.
    #[graphql(directive = Authenticated::apply(STEPPED_UP))]
    async fn begin_totp_enrollment(&self, ctx: &Context<'_>) -> ApiResult<TotpEnrollment> {
        Ok(TotpEnrollment(
            mfa::begin_totp(&ctx.own_account().await?).await?,
        ))
    }

    /// Activates the pending authenticator app with its current code. Answers ten recovery
    /// codes, shown this once: each signs you in once when the app is lost.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn confirm_totp_enrollment(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> ApiResult<Vec<String>> {
        mfa::confirm_totp(&ctx.own_account().await?, &code).await
    }

    /// Removes your authenticator app, given one of its codes or a recovery code (and a recent
    /// second-factor check).
    #[graphql(directive = Authenticated::apply(STEPPED_UP))]
    async fn remove_totp(&self, ctx: &Context<'_>, code: String) -> ApiResult<bool> {
        mfa::remove_totp(&ctx.own_account().await?, &code).await?;
        Ok(true)
    }

    /// Starts registering a security key (WebAuthn) as a second factor: the options to give
    /// `navigator.credentials.create` (JSON, binary fields in unpadded base64url).
    #[graphql(directive = Authenticated::apply(STEPPED_UP))]
    async fn begin_security_key_registration(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> ApiResult<String> {
        mfa::webauthn::begin_registration(&ctx.own_account().await?, &name).await
    }

    /// Finishes the registration with the browser's answer (the `PublicKeyCredential` of
    /// `navigator.credentials.create`, as JSON). A first second factor comes with ten recovery
    /// codes, shown this once.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn finish_security_key_registration(
        &self,
        ctx: &Context<'_>,
        response: String,
    ) -> ApiResult<SecurityKeyRegistered> {
        let own = ctx.own_account().await?;
        let registered = mfa::webauthn::finish_registration(&own, &response).await?;
        Ok(SecurityKeyRegistered(registered))
    }

    /// Removes one of your security keys (with a recent second-factor check).
    #[graphql(directive = Authenticated::apply(STEPPED_UP))]
    async fn remove_security_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let id = NodeId::mfa_factor("id", &id)?;
        mfa::webauthn::remove(&ctx.own_account().await?, id).await?;
        Ok(true)
    }

    /// Ten new recovery codes, shown this once; the old ones stop working.
    #[graphql(directive = Authenticated::apply(STEPPED_UP))]
    async fn regenerate_recovery_codes(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        mfa::regenerate_recovery_codes(&ctx.own_account().await?).await
    }

    /// A challenge for your own session, to prove your second factor again (a step-up) before
    /// a sensitive change: answer it with `verifyMfa`.
    #[graphql(directive = Authenticated::apply(SIGNED_IN))]
    async fn start_mfa_challenge(&self, ctx: &Context<'_>) -> ApiResult<MfaChallenge> {
        Ok(MfaChallenge(
            sign_in::challenge::step_up_challenge(ctx.state(), ctx.principal()).await?,
        ))
    }

    /// Answers a second-factor challenge with an authenticator app's code or a recovery code:
    /// the tokens of the sign-in (or of your stepped-up session). Wrong codes are throttled per
    /// account like passwords.
    async fn verify_mfa(&self, ctx: &Context<'_>, input: VerifyMfaInput) -> ApiResult<AuthPayload> {
        let answer = sign_in::challenge::Answer {
            totp_code: input.totp_code,
            recovery_code: input.recovery_code,
            webauthn_response: input.webauthn_response,
        };
        let tokens =
            sign_in::challenge::verify(ctx.state(), &input.challenge, answer, &ctx.request().meta)
                .await?;
        Ok(signed_in(ctx, tokens.into()))
    }

    /// Requires (or stops requiring) that members' sessions have checked a second factor:
    /// without one, nothing of the organization is shown but how to enroll. Needs
    /// `sso: manage`, the grant of the organization's sign-in settings.
    #[graphql(directive = Requires::apply(need(require::SSO_MANAGE).step_up()))]
    async fn set_organization_mfa_requirement(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        required: bool,
    ) -> ApiResult<Organization> {
        let org = NodeId::organization("organizationId", &organization_id)?;
        let change = Gate::root("organization", org).change(ctx).await?;
        let model = organizations::set_requirement(&change, required).await?;
        Ok(Organization::new(model.into()))
    }

    /// Resets a user's second factors (a lost phone): their sessions end, and their security
    /// events and each of their organizations' logs record it. Platform operators only.
    /// Answers how many factors were removed.
    #[graphql(directive = platformOperator::apply())]
    async fn reset_user_mfa(&self, ctx: &Context<'_>, email: String) -> ApiResult<i32> {
        let email = crate::domain::Email::parse("email", &email)?;
        let actor = ctx.actor().await?;
        let removed = mfa::reset(ctx.state(), &actor, &email).await?;
        Ok(i32::try_from(removed).unwrap_or(i32::MAX))
    }
}

#[derive(InputObject)]
pub struct VerifyMfaInput {
    /// The `mfaChallenge.token` of a sign-in or of `startMfaChallenge`.
    pub challenge: String,
    /// The authenticator app's current code (six digits).
    pub totp_code: Option<String>,
    /// A security key's answer to `mfaChallenge.webauthnOptions` (the `PublicKeyCredential` of
    /// `navigator.credentials.get`, as JSON).
    pub webauthn_response: Option<String>,
    /// One of your recovery codes; it is used up.
    pub recovery_code: Option<String>,
}
