//! How a session was signed in, which its tokens say (`amr`, `idp`), and what that proves as
//! the gate weighs it in each organization.

use chrono::{DateTime, Utc};
use entity::session;
use uuid::Uuid;

use crate::authz::Proof;
use crate::services::identity::sso::enforcement;

/// How a session was opened, which its access tokens say (`amr`, `idp`).
#[derive(Debug, Clone)]
pub struct SignInMethod {
    /// The first factor: `pwd` or `sso`.
    pub method: String,
    pub idp_issuer: Option<String>,
    pub idp_organization_id: Option<Uuid>,
    /// Every method proved, space-separated (RFC 8176 names: `pwd`, `otp`, `hwk`, `swk`,
    /// `mfa`, and `sso`).
    pub amr: String,
    /// When a Charter second factor was checked, if one was (a provider's word never counts).
    pub mfa_at: Option<DateTime<Utc>>,
    /// The provider's subject to link to the account when the session opens: a single sign-on
    /// that named an existing account, confirmed by that person's own credentials.
    pub link_subject: Option<String>,
}

impl SignInMethod {
    pub fn password() -> Self {
        Self {
            method: enforcement::PASSWORD.to_owned(),
            idp_issuer: None,
            idp_organization_id: None,
            amr: enforcement::PASSWORD.to_owned(),
            mfa_at: None,
            link_subject: None,
        }
    }

    /// Through `organization_id`'s provider, which may have done multi-factor authentication
    /// itself (its ID token's `amr` says so): that counts in `organization_id` only (see
    /// [`Proof`]), never as the person's own Charter second factor.
    pub fn sso(issuer: String, organization_id: Uuid, provider_mfa: bool) -> Self {
        Self {
            method: enforcement::SSO.to_owned(),
            idp_issuer: Some(issuer),
            idp_organization_id: Some(organization_id),
            amr: if provider_mfa { "sso mfa" } else { "sso" }.to_owned(),
            mfa_at: None,
            link_subject: None,
        }
    }

    /// How `/metrics` counts a sign-in this way: `password` or `single_sign_on`.
    pub fn metric_label(&self) -> &'static str {
        if self.method == enforcement::SSO {
            "single_sign_on"
        } else {
            "password"
        }
    }

    /// Whether this is a sign-in through `organization_id`'s own provider, which its
    /// enforcement of single sign-on lets in.
    pub fn through_provider_of(&self, organization_id: Uuid) -> bool {
        self.method == enforcement::SSO && self.idp_organization_id == Some(organization_id)
    }

    /// The same way in, with the person's Charter password proved too.
    pub fn with_password(mut self) -> Self {
        self.amr = amr_with(&self.amr, enforcement::PASSWORD);
        self
    }

    /// The same way in, linking the provider's `subject` to the account when the session opens.
    pub fn linking(mut self, subject: String) -> Self {
        self.link_subject = Some(subject);
        self
    }

    /// The same way in, with a second factor (`otp`, `hwk`, `swk`) checked now.
    pub fn with_second_factor(mut self, method: &str) -> Self {
        self.amr = amr_with(&self.amr, method);
        self.mfa_at = Some(Utc::now());
        self
    }
}

/// The space-separated methods `amr` with `method` among them.
pub fn amr_with(amr: &str, method: &str) -> String {
    if amr.split(' ').any(|m| m == method) {
        amr.to_owned()
    } else {
        format!("{amr} {method}")
    }
}

/// What `session` proved: its Charter second factor, the organization whose provider signed it
/// in (and whether that provider did multi-factor authentication), and its password.
pub fn proof_of(session: &session::Model) -> Proof {
    let proved = |method: &str| session.amr.split(' ').any(|m| m == method);
    let provider = (session.auth_method == enforcement::SSO)
        .then_some(session.idp_organization_id)
        .flatten();
    Proof {
        second_factor: session.mfa_at.is_some(),
        provider,
        provider_mfa: provider.is_some() && proved("mfa"),
        password: proved(enforcement::PASSWORD),
    }
}
