//! Password hashing with argon2id (OWASP parameters), always off the async runtime.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

use crate::error::ApiError;

/// OWASP's argon2id recommendation: 19 MiB of memory, two passes, one lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the email is unknown so that an unknown
/// account costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(b"charter dummy password for timing", &salt)
        .expect("hashing a fixed password succeeds")
        .to_string()
});

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| ApiError::internal(format!("argon2 hashing failed: {err}")))
    })
    .await
    .map_err(|err| ApiError::internal(format!("hashing task failed: {err}")))?
}

/// Verifies `password` against `hash`, or against a dummy hash when there is none, taking about
/// the same time either way. Returns true only for a real hash that matches.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&stored)
            .map_err(|err| ApiError::internal(format!("stored hash is malformed: {err}")))?;
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && matches)
    })
    .await
    .map_err(|err| ApiError::internal(format!("verification task failed: {err}")))?
}

/// Computes the dummy hash now, so that the first login with an unknown email is not faster.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}
