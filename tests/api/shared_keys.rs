//! Processes on one database must hold the same secrets key: one without it, or with another,
//! refuses to start and names the key id it lacks. Signing keys live in the database, so a new
//! data directory signs with the same key as the others; a configured key file is checked as
//! before, and an earlier version's keys folder moves into the database.

use std::path::{Path, PathBuf};

use charter::auth::sealing::SecretsFile;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

use crate::helpers::{FreshDatabase, start_process};

/// Starts a process from `data_dir` on `url`, with the key files given (or else those of its
/// data directory).
async fn start(
    data_dir: &Path,
    url: &str,
    signing: Option<&Path>,
    secrets: Option<&Path>,
) -> anyhow::Result<charter::App> {
    start_process(data_dir, url, |settings| {
        settings.signing_key = signing.map(Path::to_path_buf);
        settings.sso.secrets_key = secrets.map(Path::to_path_buf);
    })
    .await
}

/// Why starting failed.
async fn refusal(
    data_dir: &Path,
    url: &str,
    signing: Option<&Path>,
    secrets: Option<&Path>,
) -> String {
    match start(data_dir, url, signing, secrets).await {
        Ok(_) => panic!(
            "{} started with keys the others do not hold",
            data_dir.display()
        ),
        Err(err) => err.to_string(),
    }
}

async fn starts(
    data_dir: &Path,
    url: &str,
    signing: Option<&Path>,
    secrets: Option<&Path>,
) -> charter::App {
    match start(data_dir, url, signing, secrets).await {
        Ok(app) => app,
        Err(err) => panic!("{} did not start: {err}", data_dir.display()),
    }
}

/// A database with a first process started on it from a data directory of its own.
struct First {
    _database: FreshDatabase,
    _shared: tempfile::TempDir,
    url: String,
    dir: tempfile::TempDir,
    /// Its generated secrets key.
    secrets: PathBuf,
    /// The key id it signs with.
    kid: String,
}

impl First {
    async fn start(signing: Option<&Path>) -> Self {
        let database = FreshDatabase::create().await;
        let shared = tempfile::tempdir().unwrap();
        let url = database.shared_url(shared.path());
        let dir = tempfile::tempdir().unwrap();
        let app = starts(dir.path(), &url, signing, None).await;
        Self {
            secrets: dir.path().join("keys/secrets.key"),
            kid: app.state.tokens.keys().current().kid.clone(),
            _database: database,
            _shared: shared,
            url,
            dir,
        }
    }

    fn secrets_id(&self) -> String {
        SecretsFile::read(&self.secrets)
            .unwrap()
            .unwrap()
            .id()
            .to_owned()
    }
}

/// An Ed25519 key file in `dir`.
fn key_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    std::fs::write(&path, key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
    path
}

#[tokio::test]
async fn a_process_without_the_secrets_key_refuses_to_start_and_names_the_key_id() {
    let first = First::start(None).await;
    let (url, secrets) = (&first.url, &first.secrets);
    let needed = first.secrets_id();

    // A new data directory: no secrets key, and none is made for it.
    let stranger = tempfile::tempdir().unwrap();
    let message = refusal(stranger.path(), url, None, None).await;
    let missing = stranger.path().join("keys/secrets.key");
    assert!(message.contains("there is no secrets key at"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&needed), "{message}");
    assert!(!missing.exists(), "a secrets key was generated: {message}");

    // A secrets key of its own: both ids are named.
    let other = tempfile::tempdir().unwrap();
    let own = SecretsFile::generate(&other.path().join("keys/secrets.key")).unwrap();
    let message = refusal(other.path(), url, None, None).await;
    assert!(message.contains(own.id()), "{message}");
    assert!(message.contains(&needed), "{message}");
    assert!(message.contains("secrets_key"), "{message}");

    // The secrets key shared: it starts and signs with the database's key.
    let twin = tempfile::tempdir().unwrap();
    let app = starts(twin.path(), url, None, Some(secrets)).await;
    assert_eq!(app.state.tokens.keys().current().kid, first.kid);
    starts(first.dir.path(), url, None, None).await;
}

#[tokio::test]
async fn a_configured_key_file_is_checked_and_moves_into_the_database_from_the_keys_folder() {
    let files = tempfile::tempdir().unwrap();
    let pem = key_file(files.path(), "ed25519-a.pem");
    let first = First::start(Some(&pem)).await;
    let (url, secrets) = (&first.url, &first.secrets);

    // The same file fits; another is refused.
    let twin = tempfile::tempdir().unwrap();
    starts(twin.path(), url, Some(&pem), Some(secrets)).await;
    let foreign = key_file(files.path(), "ed25519-b.pem");
    let elsewhere = tempfile::tempdir().unwrap();
    let message = refusal(elsewhere.path(), url, Some(&foreign), Some(secrets)).await;
    assert!(
        message.contains("the token signing key differs"),
        "{message}"
    );

    // Keys in the database need the file's key among the keys folder's.
    let without = tempfile::tempdir().unwrap();
    let message = refusal(without.path(), url, None, Some(secrets)).await;
    assert!(message.contains(&first.kid), "{message}");
    assert!(message.contains("signing_key"), "{message}");

    // With it there, it moves into the database and signs on; then a file is refused.
    let upgraded = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(upgraded.path().join("keys")).unwrap();
    std::fs::copy(&pem, upgraded.path().join("keys/ed25519-a.pem")).unwrap();
    let app = starts(upgraded.path(), url, None, Some(secrets)).await;
    assert_eq!(app.state.tokens.keys().current().kid, first.kid);
    let message = refusal(elsewhere.path(), url, Some(&pem), Some(secrets)).await;
    assert!(message.contains("unset signing_key"), "{message}");
    let later = tempfile::tempdir().unwrap();
    let app = starts(later.path(), url, None, Some(secrets)).await;
    assert_eq!(app.state.tokens.keys().current().kid, first.kid);
}

#[tokio::test]
async fn a_checkpoint_signed_before_rotations_verifies_after_its_key_left_the_key_set() {
    use charter::services::webhooks::{checkpoints, payload::Checkpoint};
    use entity::{audit_checkpoint, signing_key};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let app = crate::helpers::TestApp::spawn_with(|settings| {
        settings.webhooks.checkpoint_every = std::time::Duration::ZERO;
    })
    .await;
    let owner = app.create_user("owner@example.com").await;
    app.create_org(&owner, "Acme").await;
    assert_eq!(checkpoints::sign_due(&app.state).await.unwrap(), 1);
    let db = app.state.database();
    let row = audit_checkpoint::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let signed = Checkpoint {
        id: row.id,
        organization_id: row.organization_id,
        seq: row.seq,
        head_hash: row.head_hash.clone(),
        at: row.at,
        key_id: row.key_id.clone(),
        signature: row.signature.clone(),
    };
    assert_eq!(signed.key_id, app.state.tokens.keys().current().kid);

    // Two rotations, long ago as far as the schedule knows: the checkpoint's key signed first,
    // and no token it signed can still be taken.
    for _ in 0..2 {
        charter::services::keys::rotate_signing(&app.state)
            .await
            .unwrap();
    }
    let now = chrono::Utc::now();
    let mut scheduled: Vec<signing_key::Model> = signing_key::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|key| key.signs_from.is_some())
        .collect();
    scheduled.sort_by_key(|key| (key.signs_from, key.created_at));
    assert_eq!(scheduled.len(), 3);
    assert_eq!(scheduled[0].kid, signed.key_id);
    for (index, key) in scheduled.into_iter().enumerate() {
        let mut key: signing_key::ActiveModel = key.into();
        key.signs_from = Set(Some(now - chrono::Duration::days(30 - index as i64)));
        key.update(db).await.unwrap();
    }
    charter::services::keys::refresh(&app.state).await.unwrap();
    let keys = app.state.tokens.keys();
    assert_ne!(keys.current().kid, signed.key_id);
    assert!(keys.find(&signed.key_id).is_none(), "still published");
    let published: Vec<_> = keys
        .jwks()
        .keys
        .into_iter()
        .filter_map(|key| key.common.key_id)
        .collect();
    assert!(!published.contains(&signed.key_id), "{published:?}");

    let verdicts = checkpoints::verify(&app.state, std::slice::from_ref(&signed))
        .await
        .unwrap();
    assert_eq!(verdicts, vec![Ok(())]);
    // A changed signature does not.
    let mut forged = signed.clone();
    let first = if forged.signature.starts_with('A') {
        "B"
    } else {
        "A"
    };
    forged.signature.replace_range(0..1, first);
    let verdicts = checkpoints::verify(&app.state, &[forged]).await.unwrap();
    assert!(verdicts[0].is_err(), "{verdicts:?}");
}
