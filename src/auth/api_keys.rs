//! The secret of an API key: `chk_` and 48 URL-safe base64 characters, which encode 32 random
//! bytes (256 bits) followed by a 4-byte checksum of them.
//!
//! The prefix lets secret scanners find a leaked key; the checksum tells a mistyped or cut key
//! apart from one that was revoked, without a database lookup. Only the SHA-256 of the whole
//! secret is stored: with 256 random bits a fast hash leaves nothing to guess.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::tokens::hash_token;

/// What every key's secret starts with.
pub const PREFIX: &str = "chk_";

const RANDOM_BYTES: usize = 32;
const CHECKSUM_BYTES: usize = 4;
/// The characters after [`PREFIX`]: (32 + 4) bytes in base64, without padding.
const BODY_CHARS: usize = (RANDOM_BYTES + CHECKSUM_BYTES) * 4 / 3;
/// How much of a secret is shown to tell keys apart: the prefix and 8 characters (48 bits,
/// too few to help guess the rest).
const SHOWN_CHARS: usize = PREFIX.len() + 8;

/// A new secret, shown once to whoever created or rotated the key.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
    pub shown_prefix: String,
}

/// Makes a new random secret with its checksum.
pub fn new_secret() -> NewSecret {
    let mut bytes = [0u8; RANDOM_BYTES + CHECKSUM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes[..RANDOM_BYTES]);
    let checksum = checksum(&bytes[..RANDOM_BYTES]);
    bytes[RANDOM_BYTES..].copy_from_slice(&checksum);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    NewSecret {
        hash: hash_token(&secret),
        shown_prefix: secret[..SHOWN_CHARS].to_owned(),
        secret,
    }
}

fn checksum(random: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let digest = Sha256::digest(random);
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&digest[..CHECKSUM_BYTES]);
    out
}

/// Whether `token` looks like a key's secret at all (the caller then treats it as one).
pub fn looks_like_key(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// Why a presented secret is not one Charter could have made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Checks the shape and checksum of a presented secret and returns the hash to look it up by.
pub fn checked_hash(secret: &str) -> Result<String, Malformed> {
    let body = secret.strip_prefix(PREFIX).ok_or(Malformed)?;
    if body.len() != BODY_CHARS {
        return Err(Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| Malformed)?;
    if bytes.len() != RANDOM_BYTES + CHECKSUM_BYTES
        || checksum(&bytes[..RANDOM_BYTES]) != bytes[RANDOM_BYTES..]
    {
        return Err(Malformed);
    }
    Ok(hash_token(secret))
}

/// Whether a presented secret's hash is the stored one, in time that does not depend on where
/// they differ.
pub fn hash_matches(presented: &str, stored: &str) -> bool {
    presented.len() == stored.len() && bool::from(presented.as_bytes().ct_eq(stored.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_has_the_prefix_256_random_bits_and_a_checksum_that_holds() {
        let made = new_secret();
        assert!(made.secret.starts_with("chk_"));
        assert_eq!(made.secret.len(), PREFIX.len() + BODY_CHARS);
        assert_eq!(checked_hash(&made.secret), Ok(made.hash.clone()));
        assert!(made.secret.starts_with(&made.shown_prefix));
        assert_ne!(new_secret().secret, made.secret, "two secrets differ");
    }

    #[test]
    fn a_typo_breaks_the_checksum() {
        let made = new_secret();
        let mut changed = 0;
        for position in PREFIX.len()..made.secret.len() - 1 {
            let mut typo: Vec<char> = made.secret.chars().collect();
            typo[position] = if typo[position] == 'A' { 'B' } else { 'A' };
            let typo: String = typo.into_iter().collect();
            assert_eq!(checked_hash(&typo), Err(Malformed), "{typo}");
            changed += 1;
        }
        assert!(changed > 40);
        assert_eq!(
            checked_hash(&made.secret[..made.secret.len() - 1]),
            Err(Malformed)
        );
        assert_eq!(checked_hash("chk_"), Err(Malformed));
        assert_eq!(checked_hash("crt_abc"), Err(Malformed));
        assert_eq!(checked_hash(&format!("{}\0", made.secret)), Err(Malformed));
    }

    #[test]
    fn hashes_compare_equal_only_when_equal() {
        let a = new_secret().hash;
        let b = new_secret().hash;
        assert!(hash_matches(&a, &a.clone()));
        assert!(!hash_matches(&a, &b));
        assert!(!hash_matches(&a, &a[..10]));
    }
}
