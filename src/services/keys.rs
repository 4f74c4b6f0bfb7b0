//! The keys in the database, as the serving process and `charter keys` work with them: reading
//! them again, rotating the signing key, re-sealing under a new sealing key, listing.

use std::collections::BTreeMap;

use super::AppState;
use crate::auth::{key_store, resealing, signing_keys};

/// Reads the keys again, rotating the signing key when it is due.
pub async fn refresh(state: &AppState) -> anyhow::Result<()> {
    key_store::refresh(
        &state.db,
        state.tokens.key_store(),
        &state.secrets,
        &state.settings,
    )
    .await
}

/// Schedules the next signing key and publishes a new next one.
pub async fn rotate_signing(state: &AppState) -> anyhow::Result<signing_keys::Rotation> {
    anyhow::ensure!(
        state.settings.signing_key.is_none(),
        "signing_key is set: the key file is the operator's to rotate"
    );
    let lead = key_store::lead(&state.settings);
    signing_keys::rotate(&state.db, &state.secrets, lead)
        .await?
        .ok_or_else(|| anyhow::anyhow!("another process rotated at the same time"))
}

/// Makes a new sealing key, the one this process seals with from now on; answers its id.
pub async fn add_sealing_key(state: &AppState) -> anyhow::Result<String> {
    let id = key_store::add_sealing_key(&state.db, &state.secrets).await?;
    key_store::install_sealing_keys(&state.db, &state.secrets).await?;
    Ok(id)
}

/// Re-seals every stored secret under the newest sealing key.
pub async fn reseal(state: &AppState) -> anyhow::Result<resealing::Report> {
    resealing::reseal(&state.db, &state.secrets).await
}

/// A signing key as `charter keys list` shows it.
pub struct SigningKeyLine {
    pub kid: String,
    /// `signing`, `published` or `retired`.
    pub part: &'static str,
    pub signs_from: Option<chrono::DateTime<chrono::Utc>>,
}

/// The database's signing keys (none when a key file signs) and how many stored values each
/// sealing key seals.
pub async fn list(
    state: &AppState,
) -> anyhow::Result<(Vec<SigningKeyLine>, BTreeMap<String, usize>)> {
    let ring = state.tokens.keys();
    let mut lines = Vec::new();
    if state.settings.signing_key.is_none() {
        for (kid, span) in signing_keys::spans(&state.db).await? {
            let part = if kid == ring.current().kid {
                "signing"
            } else if ring.find(&kid).is_some() {
                "published"
            } else {
                "retired"
            };
            lines.push(SigningKeyLine {
                kid,
                part,
                signs_from: span.signs_from,
            });
        }
    }
    let sealed = resealing::count_by_key(&state.db).await?;
    Ok((lines, sealed))
}
