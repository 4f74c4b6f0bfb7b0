//! Processes on one database must hold the same keys: one with a signing key or a secrets key
//! of its own refuses to start, saying which key and where it loaded it from; a signing key
//! rotation is followed.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

use crate::helpers::{FreshDatabase, start_process};

/// The single signing key file `data_dir` generated.
fn signing_key_of(data_dir: &Path) -> PathBuf {
    let mut pems: Vec<PathBuf> = std::fs::read_dir(data_dir.join("keys"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "pem"))
        .collect();
    assert_eq!(pems.len(), 1, "{pems:?}");
    pems.remove(0)
}

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

async fn starts(data_dir: &Path, url: &str, signing: Option<&Path>, secrets: Option<&Path>) {
    if let Err(err) = start(data_dir, url, signing, secrets).await {
        panic!("{} did not start: {err}", data_dir.display());
    }
}

/// A database with a first process started on it from a data directory of its own.
struct First {
    _database: FreshDatabase,
    _shared: tempfile::TempDir,
    url: String,
    dir: tempfile::TempDir,
    /// Its generated signing key and secrets key.
    pem: PathBuf,
    secrets: PathBuf,
}

impl First {
    async fn start() -> Self {
        let database = FreshDatabase::create().await;
        let shared = tempfile::tempdir().unwrap();
        let url = database.shared_url(shared.path());
        let dir = tempfile::tempdir().unwrap();
        starts(dir.path(), &url, None, None).await;
        Self {
            pem: signing_key_of(dir.path()),
            secrets: dir.path().join("keys/secrets.key"),
            _database: database,
            _shared: shared,
            url,
            dir,
        }
    }
}

#[tokio::test]
async fn a_process_with_keys_of_its_own_refuses_to_start_and_says_which() {
    let first = First::start().await;
    let (url, pem, secrets) = (&first.url, &first.pem, &first.secrets);

    // A new data directory: keys generated of its own.
    let stranger = tempfile::tempdir().unwrap();
    let message = refusal(stranger.path(), url, None, None).await;
    assert!(
        message.contains("the token signing key differs"),
        "{message}"
    );
    let stranger_keys = stranger.path().join("keys").display().to_string();
    assert!(message.contains(&stranger_keys), "{message}");
    assert!(message.contains("signing_key"), "{message}");

    // The signing key shared, the secrets key its own.
    let half = tempfile::tempdir().unwrap();
    let message = refusal(half.path(), url, Some(pem), None).await;
    assert!(message.contains("the secrets key differs"), "{message}");
    assert!(!message.contains("signing key differs"), "{message}");
    let half_secrets = half.path().join("keys/secrets.key").display().to_string();
    assert!(message.contains(&half_secrets), "{message}");
    assert!(message.contains("secrets_key"), "{message}");

    // Both shared: it starts, as does the first again.
    let twin = tempfile::tempdir().unwrap();
    starts(twin.path(), url, Some(pem), Some(secrets)).await;
    starts(first.dir.path(), url, None, None).await;
}

#[tokio::test]
async fn a_signing_key_rotation_is_followed_across_processes() {
    let first = First::start().await;
    let (url, old, secrets) = (&first.url, &first.pem, &first.secrets);

    // A newer key, named to sort after the generated one (the newest file by name signs).
    let spare = tempfile::tempdir().unwrap();
    let new = spare.path().join("ed25519-99991231T235959Z.pem");
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    std::fs::write(&new, key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();

    // Alone, the new key is foreign.
    let early = tempfile::tempdir().unwrap();
    let message = refusal(early.path(), url, Some(&new), Some(secrets)).await;
    assert!(
        message.contains("the token signing key differs"),
        "{message}"
    );

    // A process whose ring holds the recorded key and the newer one starts and moves the
    // record on: then the new key alone fits, and so does a process that has not rotated yet.
    let rotated = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(rotated.path().join("keys")).unwrap();
    for file in [old, &new, secrets] {
        std::fs::copy(
            file,
            rotated.path().join("keys").join(file.file_name().unwrap()),
        )
        .unwrap();
    }
    starts(rotated.path(), url, None, None).await;
    let later = tempfile::tempdir().unwrap();
    starts(later.path(), url, Some(&new), Some(secrets)).await;
    starts(first.dir.path(), url, None, None).await;
    let stranger = tempfile::tempdir().unwrap();
    let message = refusal(stranger.path(), url, None, Some(secrets)).await;
    assert!(
        message.contains("the token signing key differs"),
        "{message}"
    );
}
