//! The Standard Webhooks 1.0 signature (<https://www.standardwebhooks.com/>). A delivery
//! carries `webhook-id` (the same on every retry: the receiver's idempotency key),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`: space-separated
//! `v1,<base64 HMAC-SHA256>` for each of the endpoint's secrets (two while one is rotated) and
//! `v1a,<base64 Ed25519>` made with Charter's token signing key, which a receiver can check
//! against `/.well-known/jwks.json` without holding a shared secret; `webhook-key-id` names the
//! key (its JWK `kid`), since signing keys rotate. Both sign the bytes
//! `<id>.<timestamp>.<body>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use ring::hmac;

use crate::auth::keys::SigningKeyPair;

/// How a secret is shown: `whsec_` and the base64 of its bytes.
pub const SECRET_PREFIX: &str = "whsec_";
/// The bytes of a new secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// An endpoint's signing secret. It is never printed: `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret as [`Secret::expose`] shows it; `None` for anything else (another prefix, bad
    /// base64, fewer than 24 or more than 64 bytes).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(SECRET_PREFIX)?).ok()?;
        (24..=64).contains(&bytes.len()).then_some(Self(bytes))
    }

    /// The secret as its endpoint's owner is shown it, once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The three headers of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    /// The `kid` of the key of the `v1a` signature.
    pub key_id: String,
}

/// The headers that sign `body`, sent as message `id` at `at`, with every one of `secrets`
/// and with `key`.
pub fn headers(
    id: &str,
    at: DateTime<Utc>,
    body: &[u8],
    secrets: &[Secret],
    key: &SigningKeyPair,
) -> Headers {
    let timestamp = at.timestamp();
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let mut signatures: Vec<String> = secrets
        .iter()
        .map(|secret| {
            let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret.0), &signed);
            format!("v1,{}", STANDARD.encode(mac.as_ref()))
        })
        .collect();
    signatures.push(format!("v1a,{}", STANDARD.encode(key.sign(&signed))));
    Headers {
        id: id.to_owned(),
        timestamp,
        signature: signatures.join(" "),
        key_id: key.kid.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_shown_with_its_prefix_and_read_back_and_never_debug_printed() {
        let secret = Secret::generate();
        let shown = secret.expose();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(Secret::parse(&shown), Some(secret.clone()));
        assert_eq!(format!("{secret:?}"), "Secret(…)");
        assert!(
            Secret::parse(&shown["whsec_".len()..]).is_none(),
            "the prefix is required"
        );
        assert!(
            Secret::parse("whsec_c2hvcnQ=").is_none(),
            "fewer than 24 bytes"
        );
        assert!(Secret::parse("whsec_not base64!").is_none());
        assert!(Secret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 65]))).is_none());
    }

    #[test]
    fn the_hmac_signature_matches_the_specifications_example() {
        // The example of the Standard Webhooks reference libraries' test suites.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let at = DateTime::from_timestamp(1_614_265_330, 0).unwrap();
        let key = crate::auth::keys::generate_key();
        let keys = crate::auth::keys::KeyRing::from_database(&[key], 0, vec![0]).unwrap();
        let signed = headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            at,
            br#"{"test": 2432232314}"#,
            &[secret],
            keys.current(),
        );
        assert_eq!(signed.timestamp, 1_614_265_330);
        let mut parts = signed.signature.split(' ');
        assert_eq!(
            parts.next(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(parts.next().is_some_and(|v1a| v1a.starts_with("v1a,")));
        assert_eq!(parts.next(), None);
        assert_eq!(signed.key_id, keys.current().kid);
    }
}
