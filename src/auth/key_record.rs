//! The record, in the database, of the keys the processes on it use: a process whose keys do
//! not fit it refuses to start.
//!
//! Without it, a process started with keys of its own (a new data directory, a forgotten
//! `signing_key`) would start silently: the tokens it signs would be refused by every other
//! process and theirs by it, and a secret it seals (an authenticator app enrolled through it)
//! would not open anywhere else, locking its user out until an operator resets the factor.

use chrono::Utc;
use entity::key_fingerprint;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use super::keys::KeyRing;
use super::sealing::SecretBox;

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

/// Compares the process's keys with the record, recording them when there is none (the first
/// process) and following a signing-key rotation; an error saying which key differs, where
/// this process loaded it from and how to fix it otherwise. The secrets key does not rotate:
/// sealed values open under one key only, so its check value must be the recorded one.
/// Runs under the start-up lock, so two processes starting at once take turns.
pub async fn check(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    secrets: &SecretBox,
) -> anyhow::Result<()> {
    let ring = keys.ids();
    let recorded = find(db, SIGNING).await?;
    let recorded_ids: Option<Vec<String>> = recorded
        .as_ref()
        .map(|row| row.fingerprint.split(' ').map(str::to_owned).collect());
    match signing_verdict(recorded_ids.as_deref(), &ring) {
        Verdict::Keep => {}
        Verdict::Record => {
            if recorded.is_some() {
                tracing::info!(key = %ring[0], "the signing key rotated; recording the new ring");
            }
            save(db, recorded, SIGNING, ring.join(" ")).await?;
        }
        Verdict::Refuse => {
            anyhow::bail!(signing_mismatch(keys, &recorded_ids.unwrap_or_default()))
        }
    }
    let recorded = find(db, SECRETS).await?;
    match &recorded {
        Some(row) if row.fingerprint == secrets.check_value() => {}
        Some(_) => anyhow::bail!(secrets_mismatch(secrets)),
        None => save(db, None, SECRETS, secrets.check_value().to_owned()).await?,
    }
    Ok(())
}

fn signing_mismatch(keys: &KeyRing, recorded: &[String]) -> String {
    let source = keys.source().display();
    let fix = if keys.source().is_dir() {
        format!(
            "replace the key files in {source} with those of a process that runs (the key \
             generated here must go), or set signing_key to the key file the others use"
        )
    } else {
        format!("set signing_key to the key file the others use instead of {source}")
    };
    format!(
        "the token signing key differs from the one the other Charter processes on this database \
         use: this process loaded key {ours} from {source}, the others sign with key {theirs} \
         (their keys: {all}), and neither holds the key the other signs with, so each would \
         refuse the other's tokens. Give every process the same keys: {fix}. If every process \
         has new keys on purpose, delete the row '{SIGNING}' of the table key_fingerprints.",
        ours = keys.ids()[0],
        theirs = recorded.first().map_or("?", String::as_str),
        all = recorded.join(", "),
    )
}

fn secrets_mismatch(secrets: &SecretBox) -> String {
    format!(
        "the secrets key differs from the one the other Charter processes on this database use: \
         this process loaded it from {path}. Secrets sealed by one (identity providers' client \
         secrets, authenticator apps) would not open on the other, and a factor enrolled here \
         would lock its user out there. Copy secrets.key from the keys directory of a process \
         that runs to {path} (or set secrets_key to the same file).",
        path = secrets.path().display(),
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
