//! The record, in the database, of the keys the processes on it use: a process whose keys do
//! not fit it refuses to start.
//!
//! Without it, a process started with a secrets key of its own (a new data directory, a
//! forgotten `secrets_key`) would start silently and fail at the first sign-in: nothing sealed
//! by the others would open on it. The same holds for a configured `signing_key` file: the
//! tokens it signs would be refused by every other process and theirs by it. (Signing keys
//! kept in the database need no record: every process reads the same rows.)

use chrono::Utc;
use entity::key_fingerprint;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use std::path::Path;

use super::keys::{KeyRing, KeySource};
use super::sealing::{self, SecretsFile};

const SIGNING: &str = "signing";
const SECRETS: &str = "secrets";

/// What to do with the record of the signing key ids, given the process's ring (both with the
/// signing key first).
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The record stands as it is.
    Keep,
    /// Write the process's ids as the record.
    Record,
    /// The process signs with a key the others do not hold, and they with one it does not.
    Refuse,
}

/// The rule that lets keys rotate across processes: a process fits when its ring holds the
/// recorded signing key (it verifies what the others sign; when its own signing key is another
/// one, it is a newer key, and the record moves on to this ring) or when the record holds the
/// process's signing key (the others verify what it signs: it has not rotated yet). A process
/// that shares neither refuses to start, even when some older key is common to both: each
/// would refuse the tokens the other signs now. The first process on a database records its
/// ring. A process that has not rotated yet still refuses the tokens signed with the new key,
/// until it holds that key too.
pub fn signing_verdict(recorded: Option<&[String]>, ring: &[String]) -> Verdict {
    let Some(recorded) = recorded else {
        return Verdict::Record;
    };
    match (recorded.first(), ring.first()) {
        (Some(theirs), Some(ours)) if theirs == ours => Verdict::Keep,
        (Some(theirs), _) if ring.contains(theirs) => Verdict::Record,
        (_, Some(ours)) if recorded.contains(ours) => Verdict::Keep,
        _ => Verdict::Refuse,
    }
}

/// Compares the signing key of a configured key file with the record, recording it when
/// there is none (the first process) and following a rotation; an error saying which key
/// differs, where this process loaded it from and how to fix it otherwise. Runs under the
/// start-up lock, so two processes starting at once take turns.
pub async fn check_signing(db: &impl ConnectionTrait, keys: &KeyRing) -> anyhow::Result<()> {
    let ring = keys.ids();
    let recorded = find(db, SIGNING).await?;
    let recorded_ids = recorded.as_ref().map(signing_ids);
    match signing_verdict(recorded_ids.as_deref(), &ring) {
        Verdict::Keep => Ok(()),
        Verdict::Record => {
            if recorded.is_some() {
                tracing::info!(key = %ring[0], "the signing key rotated; recording the new ring");
            }
            save(db, recorded, SIGNING, ring.join(" ")).await
        }
        Verdict::Refuse => {
            anyhow::bail!(signing_mismatch(keys, &recorded_ids.unwrap_or_default()))
        }
    }
}

/// The secrets key this process may use: the file at `path` when it is the one the record
/// names (recording it when there is none); a new one there when neither exists (the first
/// process); an error naming the key id the database needs otherwise, when the file is missing
/// or holds another key. The secrets key does not rotate with the signing keys: the sealing
/// keys it wraps do.
pub async fn check_secrets(
    db: &impl ConnectionTrait,
    path: &Path,
    configured: bool,
) -> anyhow::Result<SecretsFile> {
    let recorded = find(db, SECRETS).await?;
    let file = SecretsFile::read(path)?;
    match (file, &recorded) {
        (Some(file), Some(row)) if row.fingerprint == file.check_value() => Ok(file),
        (Some(file), Some(row)) => anyhow::bail!(
            "the secrets key {path} is key {ours}, but the secrets sealed in this database need \
             key {theirs}, which the other Charter processes on it hold. {COPY}",
            path = path.display(),
            ours = file.id(),
            theirs = sealing::id_of_check(&row.fingerprint),
        ),
        (None, Some(row)) => anyhow::bail!(
            "there is no secrets key at {path}: the secrets sealed in this database need key \
             {theirs}. {COPY}",
            path = path.display(),
            theirs = sealing::id_of_check(&row.fingerprint),
        ),
        (file, None) => {
            let file = match file {
                Some(file) => file,
                None if configured => {
                    anyhow::bail!(
                        "cannot read the secrets key {}: no such file",
                        path.display()
                    )
                }
                None => SecretsFile::generate(path)?,
            };
            save(db, None, SECRETS, file.check_value().to_owned()).await?;
            Ok(file)
        }
    }
}

/// The signing key ids a configured key file recorded (the processes on the database signed
/// with files), if any.
pub async fn recorded_signing(db: &impl ConnectionTrait) -> anyhow::Result<Option<Vec<String>>> {
    Ok(find(db, SIGNING).await?.as_ref().map(signing_ids))
}

/// The signing key ids a record holds, the signing key's first.
fn signing_ids(row: &key_fingerprint::Model) -> Vec<String> {
    row.fingerprint.split(' ').map(str::to_owned).collect()
}

/// Forgets the record of key files: the signing keys moved into the database.
pub async fn forget_signing(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    key_fingerprint::Entity::delete_by_id(SIGNING.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// How to fix a secrets key that does not fit.
const COPY: &str = "Copy secrets.key from the keys directory of a process that runs to this \
                    path (or set secrets_key to the same file): without it, identity \
                    providers' client secrets, authenticator apps, directory passwords, \
                    webhook secrets and the signing keys would not open here.";

fn signing_mismatch(keys: &KeyRing, recorded: &[String]) -> String {
    let source = match keys.source() {
        KeySource::File(path) => path.display().to_string(),
        KeySource::Database => "the database".to_owned(),
    };
    format!(
        "the token signing key differs from the one the other Charter processes on this database \
         use: this process loaded key {ours} from {source}, the others sign with key {theirs} \
         (their keys: {all}), and neither holds the key the other signs with, so each would \
         refuse the other's tokens. Give every process the same keys: set signing_key to the \
         key file the others use instead of {source}. If every process has new keys on purpose, \
         delete the row '{SIGNING}' of the table key_fingerprints.",
        ours = keys.ids()[0],
        theirs = recorded.first().map_or("?", String::as_str),
        all = recorded.join(", "),
    )
}

async fn find(
    db: &impl ConnectionTrait,
    kind: &str,
) -> anyhow::Result<Option<key_fingerprint::Model>> {
    Ok(key_fingerprint::Entity::find_by_id(kind.to_owned())
        .one(db)
        .await?)
}

/// Writes `fingerprint` as the record of `kind`, over `existing` when there is one.
async fn save(
    db: &impl ConnectionTrait,
    existing: Option<key_fingerprint::Model>,
    kind: &str,
    fingerprint: String,
) -> anyhow::Result<()> {
    let now = Utc::now();
    match existing {
        Some(row) => {
            let mut active: key_fingerprint::ActiveModel = row.into();
            active.fingerprint = Set(fingerprint);
            active.updated_at = Set(now);
            active.update(db).await?;
        }
        None => {
            key_fingerprint::ActiveModel {
                kind: Set(kind.to_owned()),
                fingerprint: Set(fingerprint),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| (*id).to_owned()).collect()
    }

    fn verdict(recorded: Option<&[&str]>, ring: &[&str]) -> Verdict {
        let recorded = recorded.map(ids);
        signing_verdict(recorded.as_deref(), &ids(ring))
    }

    #[test]
    fn the_first_process_records_and_the_same_keys_fit() {
        assert_eq!(verdict(None, &["a"]), Verdict::Record);
        assert_eq!(verdict(Some(&["a"]), &["a"]), Verdict::Keep);
        assert_eq!(verdict(Some(&["a", "old"]), &["a"]), Verdict::Keep);
    }

    #[test]
    fn a_ring_that_gained_a_newer_key_moves_the_record_on() {
        assert_eq!(verdict(Some(&["a"]), &["b", "a"]), Verdict::Record);
    }

    #[test]
    fn a_process_that_has_not_rotated_yet_still_fits() {
        assert_eq!(verdict(Some(&["b", "a"]), &["a"]), Verdict::Keep);
    }

    #[test]
    fn foreign_keys_are_refused_even_with_an_older_key_in_common() {
        assert_eq!(verdict(Some(&["a"]), &["b"]), Verdict::Refuse);
        assert_eq!(verdict(Some(&["c", "a"]), &["b", "a"]), Verdict::Refuse);
    }
}
