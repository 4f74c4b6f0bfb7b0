//! `TotpEnrollment`: what starting an authenticator app's enrollment shows, once.

use async_graphql::Object;

use crate::services::mfa::Enrollment;

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
