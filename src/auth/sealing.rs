//! Secrets Charter must read back (an identity provider's client secret), sealed at rest with
//! ChaCha20-Poly1305 under a 256-bit key kept beside the signing keys: a copy of the database
//! alone does not reveal them. Each sealed value names the record it belongs to as associated
//! data, so a sealed secret copied onto another organization's row does not open.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{self, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::ApiError;

/// The version prefix of a sealed value, so another scheme can follow without ambiguity.
const VERSION: &str = "v1.";
const KEY_FILE: &str = "secrets.key";
/// What the check value is computed over: no secret, only a label.
const CHECK_LABEL: &[u8] = b"charter secrets key check v1";

/// Seals and opens secrets under one key.
pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
    /// The key file it was loaded from.
    path: PathBuf,
    /// A value that tells whether two processes hold the same key without revealing it.
    check: String,
}

impl SecretBox {
    /// Loads the key from `configured`, or from `<data_dir>/keys/secrets.key`, generating it
    /// there on first start. Every process on one database needs the same key, as it needs the
    /// same signing keys.
    pub fn load(data_dir: &Path, configured: Option<&Path>) -> anyhow::Result<Self> {
        let path = match configured {
            Some(path) => path.to_path_buf(),
            None => default_path(data_dir)?,
        };
        let text = std::fs::read_to_string(&path).map_err(|err| {
            anyhow::anyhow!("cannot read the secrets key {}: {err}", path.display())
        })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} must hold 32 bytes in unpadded base64url",
                    path.display()
                )
            })?;
        Ok(Self::from_key(&bytes, path))
    }

    fn from_key(bytes: &[u8], path: PathBuf) -> Self {
        let unbound =
            UnboundKey::new(&aead::CHACHA20_POLY1305, bytes).expect("a 32-byte ChaCha20 key");
        let check = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), CHECK_LABEL);
        Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
            path,
            check: URL_SAFE_NO_PAD.encode(check.as_ref()),
        }
    }

    /// The key file this box was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// HMAC-SHA256 of a fixed label under the key, base64url: equal for equal keys, and of no
    /// help in finding the key.
    pub fn check_value(&self) -> &str {
        &self.check
    }

    /// Seals `secret` for the record `owner`: `v1.` and base64url of a random nonce, the
    /// ciphertext and its tag.
    pub fn seal(&self, owner: &[u8], secret: &str) -> Result<String, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| ApiError::internal("no randomness for a nonce"))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner),
                &mut sealed,
            )
            .map_err(|_| ApiError::internal("sealing a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens what [`Self::seal`] made for the same `owner`; an error for anything else (another
    /// key, another owner, a changed byte).
    pub fn open(&self, owner: &[u8], sealed: &str) -> Result<String, ApiError> {
        let broken = || ApiError::internal("a sealed secret does not open under the secrets key");
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|rest| URL_SAFE_NO_PAD.decode(rest).ok())
            .filter(|bytes| bytes.len() > NONCE_LEN)
            .ok_or_else(broken)?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| broken())?;
        let mut body = body.to_vec();
        let opened = self
            .key
            .open_in_place(nonce, Aad::from(owner), &mut body)
            .map_err(|_| broken())?;
        String::from_utf8(opened.to_vec()).map_err(|_| broken())
    }
}

/// `<data_dir>/keys/secrets.key`, written with a new random key when it does not exist.
fn default_path(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join("keys");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(KEY_FILE);
    if !path.exists() {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| anyhow::anyhow!("no randomness for the secrets key"))?;
        // Processes started together race to publish it; all take the winner's.
        if super::keys::publish_private(&path, URL_SAFE_NO_PAD.encode(key).as_bytes())? {
            tracing::info!(path = %path.display(), "generated the key that seals stored secrets");
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner_and_key() {
        let sealer = SecretBox::from_key(&[7u8; 32], PathBuf::new());
        let sealed = sealer.seal(b"org-a", "s3cret").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(sealer.open(b"org-a", &sealed).unwrap(), "s3cret");
        assert!(sealer.open(b"org-b", &sealed).is_err());
        assert!(
            SecretBox::from_key(&[8u8; 32], PathBuf::new())
                .open(b"org-a", &sealed)
                .is_err()
        );
        // Two seals of one secret differ (a fresh nonce each).
        assert_ne!(sealer.seal(b"org-a", "s3cret").unwrap(), sealed);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            sealer
                .open(b"org-a", &String::from_utf8(tampered).unwrap())
                .is_err()
        );
    }

    #[test]
    fn the_check_value_tells_keys_apart_without_holding_them() {
        let key = [7u8; 32];
        let check = SecretBox::from_key(&key, PathBuf::new())
            .check_value()
            .to_owned();
        assert_eq!(
            SecretBox::from_key(&key, PathBuf::new()).check_value(),
            check
        );
        assert_ne!(
            SecretBox::from_key(&[8u8; 32], PathBuf::new()).check_value(),
            check
        );
        assert_ne!(check, URL_SAFE_NO_PAD.encode(key));
        assert_eq!(URL_SAFE_NO_PAD.decode(&check).unwrap().len(), 32);
    }
}
