//! Second factors as their user sees them: `TotpEnrollment` (what starting an authenticator
//! app's enrollment shows, once), `MfaFactor` and `SecurityKeyRegistered`.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use crate::graphql::ids::NodeId;
use crate::services::identity::mfa::webauthn::Registered;
use crate::services::identity::mfa::{Enrollment, FactorRecord};

/// A new authenticator-app secret, waiting for its first code (`confirmTotpEnrollment`).
pub struct TotpEnrollment(pub Enrollment);

#[Object]
impl TotpEnrollment {
    /// The secret in base32, to type into an app that cannot scan.
    async fn secret(&self) -> &str {
        &self.0.secret
    }

    /// The `otpauth://totp/…` URI authenticator apps read.
    async fn uri(&self) -> &str {
        &self.0.uri
    }

    /// The URI as a QR code, an SVG document.
    async fn qr_code_svg(&self) -> &str {
        &self.0.qr_svg
    }
}

/// One of the viewer's second factors: an authenticator app (`totp`) or a security key
/// (`webauthn`).
pub struct MfaFactor(pub FactorRecord);

#[Object]
impl MfaFactor {
    async fn id(&self) -> ID {
        NodeId::MfaFactor(self.0.id).to_id()
    }

    /// `totp` or `webauthn`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
}

/// A registered security key, and recovery codes when it is the first second factor (shown
/// this once).
pub struct SecurityKeyRegistered(pub Registered);

#[Object]
impl SecurityKeyRegistered {
    async fn factor(&self) -> MfaFactor {
        MfaFactor(self.0.factor.clone())
    }

    async fn recovery_codes(&self) -> &[String] {
        &self.0.recovery_codes
    }
}
