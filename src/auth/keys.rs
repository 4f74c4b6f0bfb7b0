//! Token signing keys: Ed25519, loaded from the data directory (or a configured file), generated
//! on first start when there are none, and published as a JSON Web Key Set.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
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

/// The keys tokens are signed with (the newest) and verified against (all of them).
pub struct KeyRing {
    keys: Vec<SigningKeyPair>,
    /// The configured key file, or the keys directory.
    source: PathBuf,
}

impl KeyRing {
    /// Loads `configured` when given; otherwise every `*.pem` in `<data_dir>/keys`, generating one
    /// there when the folder holds none. The newest file by name signs.
    pub fn load(data_dir: &Path, configured: Option<&Path>) -> anyhow::Result<Self> {
        let (files, source) = match configured {
            Some(path) => (vec![path.to_path_buf()], path.to_path_buf()),
            None => {
                let dir = data_dir.join("keys");
                std::fs::create_dir_all(&dir)?;
                let mut files = pem_files(&dir)?;
                if files.is_empty() {
                    files.push(generate(&dir)?);
                }
                (files, dir)
            }
        };
        let mut keys = Vec::new();
        for file in files.iter().rev() {
            let pem = std::fs::read_to_string(file).map_err(|err| {
                anyhow::anyhow!("cannot read signing key {}: {err}", file.display())
            })?;
            let key = SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
                anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key: {err}", file.display())
            })?;
            keys.push(pair(&key)?);
        }
        Ok(Self { keys, source })
    }

    /// Where the keys were loaded from: the `signing_key` file, or the keys directory.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The key ids, the signing key's first.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|key| key.kid.clone()).collect()
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> &SigningKeyPair {
        &self.keys[0]
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKeyPair> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|key| key.jwk.clone()).collect(),
        }
    }
}

fn pem_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "pem"))
        .collect();
    files.sort();
    Ok(files)
}

fn generate(dir: &Path) -> anyhow::Result<PathBuf> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| anyhow::anyhow!("cannot encode a new signing key: {err}"))?;
    // The first key of an empty folder has a fixed name that sorts before any later one's:
    // processes started together on one folder race to publish it, and all take the winner's.
    let path = dir.join(FIRST_KEY_FILE);
    if publish_private(&path, pem.as_bytes())? {
        tracing::info!(path = %path.display(), "generated a new token signing key");
    }
    Ok(path)
}

/// The name of the first signing key generated in an empty keys folder.
const FIRST_KEY_FILE: &str = "ed25519-00000000T000000Z.pem";

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
