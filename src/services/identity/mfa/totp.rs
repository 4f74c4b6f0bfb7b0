//! TOTP (RFC 6238) with `totp-rs`: SHA-1, 6 digits, 30-second steps, one step of skew either
//! way, as every authenticator app expects. The secret (160 random bits) is sealed at rest; a
//! code is accepted once, since the step it matched is recorded and only a later step passes.

use base64::Engine;
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Totp};

use crate::error::{ApiError, ApiResult};

pub const DIGITS: u8 = 6;
pub const STEP_SECONDS: u64 = 30;
pub const SKEW_STEPS: u16 = 1;

/// A new random secret: 20 bytes, the size of an HMAC-SHA-1 key.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> ApiResult<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|err| ApiError::internal(format!("building a TOTP: {err:?}")))
}

/// The secret in base32 (what a person types into an app) and the `otpauth://` URI.
pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> ApiResult<(String, String)> {
    let totp = totp(secret, issuer, account)?;
    let uri = totp
        .to_url()
        .map_err(|err| ApiError::internal(format!("a TOTP URI: {err:?}")))?;
    let base32 = base32_of(secret);
    Ok((base32, uri))
}

/// RFC 4648 base32 without padding, as authenticator apps take it.
fn base32_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The step `code` matches at `now` (Unix seconds), within the skew, when it is later than
/// `last_step` (the last one accepted); none otherwise.
pub fn matching_step(secret: &[u8], code: &str, now: u64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "charter", "check").ok()?;
    let step = i64::try_from(totp.check(code, now)?).ok()?;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// The enrollment's QR code, as an SVG document of black modules on white.
pub fn qr_svg(uri: &str) -> ApiResult<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(uri, QrCodeEcc::Medium)
        .map_err(|err| ApiError::internal(format!("a QR code: {err:?}")))?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// The secret as stored before sealing: base64 (the sealed box holds text).
pub fn encode(secret: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(secret)
}

pub fn decode(stored: &str) -> ApiResult<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|_| ApiError::internal("a stored TOTP secret is not base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last 6 digits are the 6-digit code).
    #[test]
    fn codes_match_the_rfc_6238_test_vectors_and_are_accepted_once() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59u64, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
        ] {
            let step = matching_step(secret, code, time, None).expect("the RFC's code");
            assert_eq!(step as u64, time / STEP_SECONDS);
            // The same step again is a replay; an earlier one too.
            assert_eq!(matching_step(secret, code, time, Some(step)), None);
            // One step of skew either way.
            assert!(matching_step(secret, code, time + STEP_SECONDS, None).is_some());
            assert!(matching_step(secret, code, time + 2 * STEP_SECONDS, None).is_none());
        }
        assert_eq!(matching_step(secret, "28708", 59, None), None);
        assert_eq!(matching_step(secret, "2870８2", 59, None), None);
    }

    #[test]
    fn the_uri_names_the_secret_in_base32() {
        let (base32, uri) =
            provisioning(b"12345678901234567890", "Charter", "a@example.com").unwrap();
        assert_eq!(base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(
            uri.starts_with("otpauth://totp/Charter:a%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(qr_svg(&uri).unwrap().starts_with("<svg"));
    }
}
