//! Secrets Charter must read back (an identity provider's client secret, an authenticator
//! app's seed, a directory's password, a webhook's secret, a token signing key), sealed at rest
//! with ChaCha20-Poly1305: a copy of the database alone does not reveal them.
//!
//! Two levels. The *secrets key* is a file every process holds (`secrets_key`, or
//! `keys/secrets.key` in the data directory); it only wraps the *sealing keys*, which live in
//! the database, so that a new sealing key reaches every process without copying a file. The
//! newest sealing key seals; every sealed value names the key that sealed it,
//! `v2.<key id>.<base64url of nonce, ciphertext and tag>`, so that `charter keys
//! rotate-sealing` can re-seal under a new key while the service runs. Values sealed before
//! sealing keys existed (`v1.`) were sealed with the secrets key itself and still open.
//!
//! Each sealed value names the record it belongs to as associated data, so a sealed secret
//! copied onto another record does not open.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{self, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::ApiError;

/// A value sealed directly with the secrets key, before sealing keys.
const FILE_SEALED: &str = "v1.";
/// A value sealed with a sealing key: `v2.<id>.` then the sealed bytes.
const KEY_SEALED: &str = "v2.";
/// The file the secrets key is kept in, in the keys directory.
pub const KEY_FILE: &str = "secrets.key";
/// What the check value is computed over: no secret, only a label.
const CHECK_LABEL: &[u8] = b"charter secrets key check v1";
/// How many characters of the check value name the secrets key.
const FILE_ID_LEN: usize = 12;

/// The secrets key file: a 256-bit key in unpadded base64url.
pub struct SecretsFile {
    key: LessSafeKey,
    path: PathBuf,
    /// HMAC-SHA256 of a fixed label under the key: equal for equal keys, of no help in finding
    /// the key.
    check: String,
}

impl SecretsFile {
    /// Where the secrets key is read from: `configured`, or `<data_dir>/keys/secrets.key`.
    pub fn path_for(data_dir: &Path, configured: Option<&Path>) -> PathBuf {
        configured.map_or_else(|| data_dir.join("keys").join(KEY_FILE), Path::to_path_buf)
    }

    /// Reads the key at `path`; `None` when there is no file there.
    pub fn read(path: &Path) -> anyhow::Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                anyhow::bail!("cannot read the secrets key {}: {err}", path.display())
            }
        };
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
        Ok(Some(Self::from_key(&bytes, path.to_path_buf())))
    }

    /// Writes a new random key to `path` (processes started together race to publish it; all
    /// take the winner's) and reads it back.
    pub fn generate(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let key = random_key()?;
        if super::keys::publish_private(path, URL_SAFE_NO_PAD.encode(key).as_bytes())? {
            tracing::info!(path = %path.display(), "generated the key that wraps the sealing keys");
        }
        Self::read(path)?.ok_or_else(|| anyhow::anyhow!("{} vanished", path.display()))
    }

    fn from_key(bytes: &[u8], path: PathBuf) -> Self {
        let check = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), CHECK_LABEL);
        Self {
            key: cipher(bytes),
            path,
            check: URL_SAFE_NO_PAD.encode(check.as_ref()),
        }
    }

    /// The key file this key was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The check value (recorded in the database, so that a process with another key refuses
    /// to start).
    pub fn check_value(&self) -> &str {
        &self.check
    }

    /// The key's id: the start of its check value.
    pub fn id(&self) -> &str {
        id_of_check(&self.check)
    }
}

/// The id a check value names its secrets key by.
pub fn id_of_check(check: &str) -> &str {
    check.get(..FILE_ID_LEN).unwrap_or(check)
}

/// One sealing key, unwrapped.
struct SealingKey {
    id: String,
    key: LessSafeKey,
}

/// The sealing keys a process has loaded; the newest seals.
#[derive(Default)]
struct SealingKeys {
    newest: Option<Arc<SealingKey>>,
    by_id: HashMap<String, Arc<SealingKey>>,
}

/// A sealing key as the database keeps it.
#[derive(Debug, Clone)]
pub struct WrappedKey {
    pub id: String,
    /// The key sealed under the secrets key, its id as associated data.
    pub wrapped: String,
}

/// Seals and opens secrets: the secrets key and the sealing keys it unwrapped.
pub struct SecretBox {
    file: SecretsFile,
    keys: RwLock<Arc<SealingKeys>>,
    rng: SystemRandom,
}

impl SecretBox {
    /// A box with the secrets key alone; [`Self::install`] gives it the sealing keys.
    pub fn new(file: SecretsFile) -> Self {
        Self {
            file,
            keys: RwLock::default(),
            rng: SystemRandom::new(),
        }
    }

    pub fn file(&self) -> &SecretsFile {
        &self.file
    }

    /// The key file the secrets key was read from.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn check_value(&self) -> &str {
        self.file.check_value()
    }

    /// Makes a new random sealing key, wrapped under the secrets key, for the database.
    pub fn new_sealing_key(&self) -> Result<WrappedKey, ApiError> {
        let mut id = [0u8; 9];
        self.rng
            .fill(&mut id)
            .map_err(|_| ApiError::internal("no randomness for a key id"))?;
        let id = URL_SAFE_NO_PAD.encode(id);
        let key = random_key().map_err(|err| ApiError::internal(err.to_string()))?;
        let wrapped = seal_bytes(&self.file.key, &self.rng, wrap_label(&id).as_bytes(), &key)?;
        Ok(WrappedKey { id, wrapped })
    }

    /// Unwraps `keys` (the newest last) and makes them the keys this box seals and opens with;
    /// an error naming a key the secrets key does not open.
    pub fn install(&self, keys: &[WrappedKey]) -> anyhow::Result<()> {
        let mut loaded = SealingKeys::default();
        for wrapped in keys {
            let bytes = open_bytes(
                &self.file.key,
                wrap_label(&wrapped.id).as_bytes(),
                &wrapped.wrapped,
            )
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "sealing key {} does not open under the secrets key {} ({})",
                    wrapped.id,
                    self.file.id(),
                    self.file.path().display()
                )
            })?;
            let key = Arc::new(SealingKey {
                id: wrapped.id.clone(),
                key: cipher(&bytes),
            });
            loaded.by_id.insert(key.id.clone(), key.clone());
            loaded.newest = Some(key);
        }
        *self.keys.write().unwrap_or_else(|err| err.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    fn loaded(&self) -> Arc<SealingKeys> {
        self.keys
            .read()
            .unwrap_or_else(|err| err.into_inner())
            .clone()
    }

    /// The id of the key new values are sealed with.
    pub fn sealing_key_id(&self) -> Option<String> {
        self.loaded().newest.as_ref().map(|key| key.id.clone())
    }

    /// Seals `secret` for the record `owner` under the newest sealing key.
    pub fn seal(&self, owner: &[u8], secret: &str) -> Result<String, ApiError> {
        let keys = self.loaded();
        let key = keys
            .newest
            .as_ref()
            .ok_or_else(|| ApiError::internal("no sealing key is loaded"))?;
        let sealed = seal_bytes(&key.key, &self.rng, owner, secret.as_bytes())?;
        Ok(format!("{KEY_SEALED}{}.{sealed}", key.id))
    }

    /// Opens what [`Self::seal`] made for the same `owner`; an error for anything else (an
    /// unknown key, another owner, a changed byte).
    pub fn open(&self, owner: &[u8], sealed: &str) -> Result<String, ApiError> {
        let broken = || ApiError::internal("a sealed secret does not open under its key");
        let opened = if let Some(rest) = sealed.strip_prefix(FILE_SEALED) {
            open_bytes(&self.file.key, owner, rest)
        } else {
            let (id, rest) = sealed
                .strip_prefix(KEY_SEALED)
                .and_then(|rest| rest.split_once('.'))
                .ok_or_else(broken)?;
            let keys = self.loaded();
            let key = keys.by_id.get(id).ok_or_else(|| {
                ApiError::internal(format!(
                    "a secret is sealed under key {id}, which this process has not loaded"
                ))
            })?;
            open_bytes(&key.key, owner, rest)
        };
        String::from_utf8(opened.ok_or_else(broken)?).map_err(|_| broken())
    }
}

/// The id of the key that sealed `sealed` (`None` for a value sealed with the secrets key).
pub fn sealed_by(sealed: &str) -> Option<&str> {
    sealed
        .strip_prefix(KEY_SEALED)
        .and_then(|rest| rest.split_once('.'))
        .map(|(id, _)| id)
}

fn wrap_label(id: &str) -> String {
    format!("charter sealing key {id}")
}

fn cipher(bytes: &[u8]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&aead::CHACHA20_POLY1305, bytes).expect("a 32-byte key"))
}

fn random_key() -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| anyhow::anyhow!("no randomness for a key"))?;
    Ok(key)
}

/// base64url of a random nonce, the ciphertext of `plain` and its tag.
fn seal_bytes(
    key: &LessSafeKey,
    rng: &SystemRandom,
    owner: &[u8],
    plain: &[u8],
) -> Result<String, ApiError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)
        .map_err(|_| ApiError::internal("no randomness for a nonce"))?;
    let mut sealed = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(owner),
        &mut sealed,
    )
    .map_err(|_| ApiError::internal("sealing a secret failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

fn open_bytes(key: &LessSafeKey, owner: &[u8], text: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .filter(|bytes| bytes.len() > NONCE_LEN)?;
    let (nonce, body) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut body = body.to_vec();
    let opened = key.open_in_place(nonce, Aad::from(owner), &mut body).ok()?;
    Some(opened.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> SecretBox {
        let sealer = SecretBox::new(SecretsFile::from_key(&[byte; 32], PathBuf::new()));
        let key = sealer.new_sealing_key().unwrap();
        sealer.install(&[key]).unwrap();
        sealer
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner_and_key_and_names_its_key() {
        let sealer = sealer(7);
        let sealed = sealer.seal(b"org-a", "s3cret").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(sealed_by(&sealed), sealer.sealing_key_id().as_deref());
        assert_eq!(sealer.open(b"org-a", &sealed).unwrap(), "s3cret");
        assert!(sealer.open(b"org-b", &sealed).is_err());
        // The same secrets key, another sealing key: the value names a key it has not loaded.
        let other = SecretBox::new(SecretsFile::from_key(&[7u8; 32], PathBuf::new()));
        other.install(&[other.new_sealing_key().unwrap()]).unwrap();
        assert!(other.open(b"org-a", &sealed).is_err());
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
    fn a_sealing_key_unwraps_only_under_its_secrets_key_and_id() {
        let sealer = sealer(7);
        let wrapped = sealer.new_sealing_key().unwrap();
        let foreign = SecretBox::new(SecretsFile::from_key(&[8u8; 32], PathBuf::new()));
        assert!(foreign.install(std::slice::from_ref(&wrapped)).is_err());
        let renamed = WrappedKey {
            id: "another".into(),
            wrapped: wrapped.wrapped.clone(),
        };
        assert!(sealer.install(&[renamed]).is_err());
    }

    #[test]
    fn values_sealed_with_the_secrets_key_itself_still_open() {
        let sealer = sealer(7);
        let legacy = seal_bytes(&sealer.file.key, &sealer.rng, b"org-a", b"old").unwrap();
        let sealed = format!("{FILE_SEALED}{legacy}");
        assert_eq!(sealed_by(&sealed), None);
        assert_eq!(sealer.open(b"org-a", &sealed).unwrap(), "old");
    }

    #[test]
    fn the_check_value_tells_keys_apart_without_holding_them() {
        let key = [7u8; 32];
        let file = SecretsFile::from_key(&key, PathBuf::new());
        assert_eq!(
            SecretsFile::from_key(&key, PathBuf::new()).check_value(),
            file.check_value()
        );
        assert_ne!(
            SecretsFile::from_key(&[8u8; 32], PathBuf::new()).check_value(),
            file.check_value()
        );
        assert_ne!(file.check_value(), URL_SAFE_NO_PAD.encode(key));
        assert_eq!(file.id().len(), FILE_ID_LEN);
        assert!(file.check_value().starts_with(file.id()));
    }
}
