//! The keys a process holds, read from the database at start-up and again every
//! `key_refresh_seconds`: a rotation made by one process (or by `charter keys`) reaches every
//! other without a restart.

use chrono::{Duration, Utc};
use entity::{sealing_key, signing_key};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, Set};

use super::keys::{KeyRing, KeySource, KeyStore};
use super::sealing::{SecretBox, WrappedKey};
use super::{key_record, signing_keys};
use crate::config::Settings;

/// How long a key stays published around the time it signs: the longest a token lives, and
/// the leeway verifiers give its expiry.
pub fn lead(settings: &Settings) -> Duration {
    settings.access_token_ttl + Duration::seconds(super::tokens::LEEWAY_SECONDS)
}

/// At start-up, under the start-up lock: the secrets key checked against the record (a
/// process without the key the database needs stops here, naming it), the sealing keys
/// unwrapped (the first made when there are none), and the signing keys: the configured
/// file's, checked against the record, or the database's, stored on first start.
pub async fn open(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> anyhow::Result<(KeyRing, SecretBox)> {
    let configured = settings.sso.secrets_key.as_deref();
    let path = super::sealing::SecretsFile::path_for(&settings.data_dir, configured);
    let file = key_record::check_secrets(db, &path, configured.is_some()).await?;
    let secrets = SecretBox::new(file);
    if sealing_key::Entity::find().count(db).await? == 0 {
        add_sealing_key(db, &secrets).await?;
    }
    install_sealing_keys(db, &secrets).await?;
    let ring = match &settings.signing_key {
        Some(path) => {
            let stored = signing_key::Entity::find().count(db).await?;
            anyhow::ensure!(
                stored == 0,
                "signing_key is set to {}, but the processes on this database keep their {stored} \
                 signing keys in the database, where they rotate: unset signing_key",
                path.display()
            );
            let ring = KeyRing::from_file(path)?;
            key_record::check_signing(db, &ring).await?;
            ring
        }
        None => {
            signing_keys::prepare(db, &secrets, &settings.data_dir.join("keys")).await?;
            ring_of(&signing_keys::load(db, &secrets).await?, settings)?
        }
    };
    tracing::info!(
        secrets_key = %secrets.file().id(),
        sealing_key = %secrets.sealing_key_id().unwrap_or_default(),
        signing_key = %ring.current().kid,
        "keys ready"
    );
    Ok((ring, secrets))
}

/// The ring `stored` gives now.
fn ring_of(stored: &[signing_keys::Stored], settings: &Settings) -> anyhow::Result<KeyRing> {
    signing_keys::ring_at(stored, Utc::now(), lead(settings))?
        .ok_or_else(|| anyhow::anyhow!("no signing key in the database signs yet"))
}

/// Makes a new sealing key, the one new secrets are sealed with from now on; answers its id.
pub async fn add_sealing_key(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
) -> anyhow::Result<String> {
    let WrappedKey { id, wrapped } = secrets
        .new_sealing_key()
        .map_err(|err| anyhow::anyhow!("{}", err.message))?;
    sealing_key::ActiveModel {
        id: Set(id.clone()),
        wrapped_key: Set(wrapped),
        secrets_key_id: Set(secrets.file().id().to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// Gives `secrets` every sealing key in the database, the newest sealing.
pub async fn install_sealing_keys(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
) -> anyhow::Result<()> {
    let rows = sealing_key::Entity::find()
        .order_by_asc(sealing_key::Column::CreatedAt)
        .order_by_asc(sealing_key::Column::Id)
        .all(db)
        .await?;
    if let Some(row) = rows
        .iter()
        .find(|row| row.secrets_key_id != secrets.file().id())
    {
        anyhow::bail!(
            "sealing key {} is wrapped by secrets key {}, but this process holds secrets key {} ({})",
            row.id,
            row.secrets_key_id,
            secrets.file().id(),
            secrets.path().display()
        );
    }
    let wrapped: Vec<WrappedKey> = rows
        .into_iter()
        .map(|row| WrappedKey {
            id: row.id,
            wrapped: row.wrapped_key,
        })
        .collect();
    secrets.install(&wrapped)
}

/// What a process does every `key_refresh_seconds`: reads the sealing keys again and, when
/// its signing keys are the database's, rotates them when due and reads them again.
pub async fn refresh(
    db: &impl ConnectionTrait,
    store: &KeyStore,
    secrets: &SecretBox,
    settings: &Settings,
) -> anyhow::Result<()> {
    install_sealing_keys(db, secrets).await?;
    if *store.ring().source() != KeySource::Database {
        return Ok(());
    }
    // One read of the keys, and a second only after a rotation changed them.
    let every = Duration::days(settings.signing_key_rotation_days);
    let mut stored = signing_keys::load(db, secrets).await?;
    let spans: Vec<_> = stored.iter().map(|key| key.span).collect();
    if signing_keys::rotation_due(&spans, Utc::now(), every)
        && let Some(rotation) = signing_keys::rotate(db, secrets, lead(settings)).await?
    {
        tracing::info!(
            key = %rotation.kid,
            signs_from = %rotation.signs_from,
            next = %rotation.next,
            "rotated the token signing key"
        );
        stored = signing_keys::load(db, secrets).await?;
    }
    store.replace(ring_of(&stored, settings)?);
    Ok(())
}
