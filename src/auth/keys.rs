//! Token signing keys: Ed25519, kept in the database (where they rotate) or read from a
//! configured file, and published as a JSON Web Key Set.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, EncodingKey};

/// One Ed25519 key pair with its key id (the RFC 7638 thumbprint of its public JWK).
pub struct SigningKeyPair {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: Jwk,
    signer: SigningKey,
}

impl SigningKeyPair {
    /// The Ed25519 signature of `message` (what a webhook's `v1a` signature is), which anyone
    /// can check against this key's published JWK.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.signer.sign(message).to_bytes()
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.signer
            .verifying_key()
            .verify_strict(message, &signature)
            .is_ok()
    }
}

/// Where a process's signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The configured `signing_key` file: rotation is the operator's.
    File(PathBuf),
    /// The database, where they rotate.
    Database,
}

/// The keys tokens are signed with (one) and verified against (those published), and every
/// key known, for what outlives a token (an audit checkpoint's signature).
pub struct KeyRing {
    keys: Vec<SigningKeyPair>,
    signing: usize,
    published: Vec<usize>,
    source: KeySource,
}

impl KeyRing {
    /// The ring of a configured key file: that one key signs and is published.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let key = read_pem(path)?;
        Ok(Self {
            keys: vec![pair(&key)?],
            signing: 0,
            published: vec![0],
            source: KeySource::File(path.to_path_buf()),
        })
    }

    /// The ring of keys kept in the database: `signing` signs, `published` (which holds it)
    /// are in the key set, the others only verify old signatures.
    pub fn from_database(
        keys: &[SigningKey],
        signing: usize,
        published: Vec<usize>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(signing < keys.len(), "no signing key");
        Ok(Self {
            keys: keys.iter().map(pair).collect::<anyhow::Result<_>>()?,
            signing,
            published,
            source: KeySource::Database,
        })
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The published key ids, the signing key's first.
    pub fn ids(&self) -> Vec<String> {
        let mut ids = vec![self.current().kid.clone()];
        ids.extend(
            self.published
                .iter()
                .filter(|index| **index != self.signing)
                .map(|index| self.keys[*index].kid.clone()),
        );
        ids
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> &SigningKeyPair {
        &self.keys[self.signing]
    }

    /// A published key: one a token may be signed with.
    pub fn find(&self, kid: &str) -> Option<&SigningKeyPair> {
        self.published
            .iter()
            .map(|index| &self.keys[*index])
            .find(|key| key.kid == kid)
    }

    /// Any key this ring knows, published or long retired: what checks a signature that
    /// outlives tokens (an audit checkpoint).
    pub fn find_any(&self, kid: &str) -> Option<&SigningKeyPair> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .published
                .iter()
                .map(|index| self.keys[*index].jwk.clone())
                .collect(),
        }
    }
}

/// The ring a process signs with now, replaced whole when the keys in the database change.
pub struct KeyStore {
    ring: RwLock<Arc<KeyRing>>,
}

impl KeyStore {
    pub fn new(ring: KeyRing) -> Self {
        Self {
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(|err| err.into_inner())
            .clone()
    }

    pub fn replace(&self, ring: KeyRing) {
        *self.ring.write().unwrap_or_else(|err| err.into_inner()) = Arc::new(ring);
    }
}

/// The Ed25519 keys of the `*.pem` files in `dir`, oldest name first.
pub fn pem_keys(dir: &Path) -> anyhow::Result<Vec<SigningKey>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    pem_files(dir)?.iter().map(|file| read_pem(file)).collect()
}

fn read_pem(file: &Path) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(file)
        .map_err(|err| anyhow::anyhow!("cannot read signing key {}: {err}", file.display()))?;
    SigningKey::from_pkcs8_pem(&pem)
        .map_err(|err| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key: {err}", file.display()))
}

/// A new random Ed25519 key.
pub fn generate_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// The key's id: the RFC 7638 thumbprint of its public JWK.
pub fn kid_of(key: &SigningKey) -> anyhow::Result<String> {
    Ok(pair(key)?.kid)
}

fn pem_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "pem"))
        .collect();
    files.sort();
    Ok(files)
}

/// Writes `bytes` to `path` readable by its owner only, unless a file is there already
/// (another process published it first): written aside, then linked into place, so that no
/// reader ever sees a part of it. Answers whether this call published it.
pub(crate) fn publish_private(path: &Path, bytes: &[u8]) -> anyhow::Result<bool> {
    let mut suffix = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
    let aside = path.with_extension(format!("{}.tmp", URL_SAFE_NO_PAD.encode(suffix)));
    write_private(&aside, bytes)?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err.into()),
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes)?;
    Ok(())
}

fn pair(key: &SigningKey) -> anyhow::Result<SigningKeyPair> {
    let der = key
        .to_pkcs8_der()
        .map_err(|err| anyhow::anyhow!("cannot encode signing key: {err}"))?;
    let encoding = EncodingKey::from_ed_der(der.as_bytes());
    let decoding = DecodingKey::from_ed_der(key.verifying_key().as_bytes());
    // jsonwebtoken builds no JWK from an Ed25519 key, so the OKP parameters are set here.
    let mut jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        }),
    };
    let kid = jwk.thumbprint(ThumbprintHash::SHA256);
    jwk.common.key_id = Some(kid.clone());
    Ok(SigningKeyPair {
        kid,
        encoding,
        decoding,
        jwk,
        signer: key.clone(),
    })
}
