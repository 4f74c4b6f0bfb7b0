//! The token signing keys kept in the database, and when each signs.
//!
//! A key is published from the moment it is made (as the *next* key), signs from
//! `signs_from`, and stays published after the next key takes over for `lead` (the longest a
//! token lives, and the leeway verifiers give it), then only checks what outlives tokens (an
//! audit checkpoint). A rotation (automatic after `signing_key_rotation_days`, or `charter keys
//! rotate`) sets the next key's `signs_from` no sooner than `lead` after it was published, so
//! that a verifier holding any key set fetched within a token's life knows every key it will
//! meet, and makes a new next key. Which key signs is computed from the rows and the clock, so
//! every process that has read the same rows signs with the same key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use entity::signing_key;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use super::keys::{self, KeyRing};
use super::sealing::SecretBox;

/// When a key is published and when it signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub created_at: DateTime<Utc>,
    pub signs_from: Option<DateTime<Utc>>,
}

/// Which of `spans` signs at `now` and which are published (the signing one among them);
/// `None` when none signs yet.
pub fn schedule(spans: &[Span], now: DateTime<Utc>, lead: Duration) -> Option<(usize, Vec<usize>)> {
    let began = |span: &Span| span.signs_from.filter(|from| *from <= now);
    let signing = (0..spans.len())
        .filter(|index| began(&spans[*index]).is_some())
        .max_by_key(|index| (began(&spans[*index]), *index))?;
    let published = (0..spans.len())
        .filter(|index| match spans[*index].signs_from {
            None => true,
            Some(from) if from > now => true,
            Some(from) => {
                *index == signing
                    || spans
                        .iter()
                        .filter_map(|other| other.signs_from)
                        .filter(|later| *later > from)
                        .min()
                        .is_some_and(|succeeded| succeeded + lead > now)
            }
        })
        .collect();
    Some((signing, published))
}

/// A key as the database keeps it, opened.
pub struct Stored {
    pub kid: String,
    pub span: Span,
    pub key: SigningKey,
}

/// Every signing key's id and span, none opened (what deciding a rotation and listing need).
pub async fn spans(db: &impl ConnectionTrait) -> anyhow::Result<Vec<(String, Span)>> {
    let rows = signing_key::Entity::find().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let span = Span {
                created_at: row.created_at,
                signs_from: row.signs_from,
            };
            (row.kid, span)
        })
        .collect())
}

/// Every signing key in the database, opened with `secrets`.
pub async fn load(db: &impl ConnectionTrait, secrets: &SecretBox) -> anyhow::Result<Vec<Stored>> {
    let rows = signing_key::Entity::find().all(db).await?;
    rows.into_iter()
        .map(|row| {
            let der = secrets
                .open(row.kid.as_bytes(), &row.private_key_sealed)
                .ok()
                .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
                .ok_or_else(|| anyhow::anyhow!("signing key {} does not open", row.kid))?;
            let key = SigningKey::from_pkcs8_der(&der)
                .map_err(|err| anyhow::anyhow!("signing key {} is damaged: {err}", row.kid))?;
            Ok(Stored {
                kid: row.kid,
                span: Span {
                    created_at: row.created_at,
                    signs_from: row.signs_from,
                },
                key,
            })
        })
        .collect()
}

/// The ring `stored` gives at `now`; `None` when no key signs yet.
pub fn ring_at(
    stored: &[Stored],
    now: DateTime<Utc>,
    lead: Duration,
) -> anyhow::Result<Option<KeyRing>> {
    let spans: Vec<Span> = stored.iter().map(|key| key.span).collect();
    let Some((signing, published)) = schedule(&spans, now, lead) else {
        return Ok(None);
    };
    let keys: Vec<SigningKey> = stored.iter().map(|key| key.key.clone()).collect();
    KeyRing::from_database(&keys, signing, published).map(Some)
}

/// Stores `key`, sealed; answers its id.
async fn insert(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    key: &SigningKey,
    span: Span,
) -> anyhow::Result<String> {
    let kid = keys::kid_of(key)?;
    let der = key
        .to_pkcs8_der()
        .map_err(|err| anyhow::anyhow!("cannot encode a signing key: {err}"))?;
    let sealed = secrets
        .seal(kid.as_bytes(), &URL_SAFE_NO_PAD.encode(der.as_bytes()))
        .map_err(|err| anyhow::anyhow!("{}", err.message))?;
    signing_key::ActiveModel {
        kid: Set(kid.clone()),
        private_key_sealed: Set(sealed),
        created_at: Set(span.created_at),
        signs_from: Set(span.signs_from),
    }
    .insert(db)
    .await?;
    Ok(kid)
}

/// At start-up, under the start-up lock: the first process on a database stores the keys a
/// keys folder of an earlier version holds (the newest by name signing) or a new key, and
/// every process makes sure a next key is published.
pub async fn prepare(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    keys_folder: &std::path::Path,
) -> anyhow::Result<()> {
    let now = Utc::now();
    if signing_key::Entity::find().count(db).await? == 0 {
        store_first(db, secrets, keys_folder, now).await?;
    }
    let next = signing_key::Entity::find()
        .filter(signing_key::Column::SignsFrom.is_null())
        .count(db)
        .await?;
    if next == 0 {
        make_next(db, secrets, now).await?;
    }
    Ok(())
}

/// Stores the first keys: the keys folder's, which must hold the key the processes on the
/// database signed with when they recorded one, or else a new key.
async fn store_first(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    keys_folder: &std::path::Path,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut found = keys::pem_keys(keys_folder)?;
    if let Some(recorded) = super::key_record::recorded_signing(db).await? {
        let ids = found
            .iter()
            .map(keys::kid_of)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let signing = recorded.first().map_or("?", String::as_str);
        anyhow::ensure!(
            ids.iter().any(|id| id == signing),
            "the processes on this database sign with key {signing} from a key file; set \
             signing_key to that file, or put it in {folder} so that it moves into the database \
             with this process",
            folder = keys_folder.display()
        );
        super::key_record::forget_signing(db).await?;
    }
    if found.is_empty() {
        found.push(keys::generate_key());
    } else {
        tracing::info!(
            keys = found.len(),
            folder = %keys_folder.display(),
            "moved the signing keys of the keys folder into the database; its files are no longer read"
        );
    }
    let newest = found.len() - 1;
    for (index, key) in found.iter().enumerate() {
        // Older files only verify what they signed before: they signed long ago.
        let signs_from = if index == newest {
            now
        } else {
            DateTime::UNIX_EPOCH + Duration::seconds(index as i64)
        };
        let span = Span {
            created_at: signs_from,
            signs_from: Some(signs_from),
        };
        insert(db, secrets, key, span).await?;
    }
    Ok(())
}

async fn make_next(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let span = Span {
        created_at: now,
        signs_from: None,
    };
    insert(db, secrets, &keys::generate_key(), span).await
}

/// A rotation: the key that signs from when, and the new next key.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub kid: String,
    pub signs_from: DateTime<Utc>,
    pub next: String,
}

/// Rotates now: the next key signs as soon as it has been published `lead`, and a new next key
/// is made. Of processes rotating at once, one wins (the change applies only to a next key no
/// one has scheduled yet); the others answer `None`.
pub async fn rotate(
    db: &impl ConnectionTrait,
    secrets: &SecretBox,
    lead: Duration,
) -> anyhow::Result<Option<Rotation>> {
    let now = Utc::now();
    let Some(next) = signing_key::Entity::find()
        .filter(signing_key::Column::SignsFrom.is_null())
        .order_by_asc(signing_key::Column::CreatedAt)
        .one(db)
        .await?
    else {
        anyhow::bail!("there is no next signing key to rotate to; start a process first");
    };
    let signs_from = (next.created_at + lead).max(now);
    let taken = signing_key::Entity::update_many()
        .col_expr(signing_key::Column::SignsFrom, Expr::value(signs_from))
        .filter(signing_key::Column::Kid.eq(next.kid.as_str()))
        .filter(signing_key::Column::SignsFrom.is_null())
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(None);
    }
    let next_kid = make_next(db, secrets, now).await?;
    Ok(Some(Rotation {
        kid: next.kid,
        signs_from,
        next: next_kid,
    }))
}

/// Whether a rotation is due at `now`: the key that signs has signed for `every`, and no
/// later one is scheduled.
pub fn rotation_due(spans: &[Span], now: DateTime<Utc>, every: Duration) -> bool {
    let newest_start = spans.iter().filter_map(|span| span.signs_from).max();
    newest_start.is_some_and(|start| start <= now && now - start >= every)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(minutes)
    }

    fn span(created: i64, signs: Option<i64>) -> Span {
        Span {
            created_at: at(created),
            signs_from: signs.map(at),
        }
    }

    const LEAD: i64 = 15;

    fn at_minute(spans: &[Span], now: i64) -> Option<(usize, Vec<usize>)> {
        schedule(spans, at(now), Duration::minutes(LEAD))
    }

    #[test]
    fn the_first_key_signs_and_the_next_is_published_before_it_signs() {
        let spans = [span(0, Some(0)), span(0, None)];
        assert_eq!(at_minute(&spans, 1), Some((0, vec![0, 1])));
        assert_eq!(at_minute(&[span(0, None)], 1), None);
    }

    #[test]
    fn after_a_rotation_the_previous_key_stays_published_for_the_lead_then_only_verifies() {
        // Key 1 published at 0, scheduled at 100; key 2 made then.
        let spans = [span(0, Some(0)), span(0, Some(100)), span(100, None)];
        assert_eq!(at_minute(&spans, 99), Some((0, vec![0, 1, 2])));
        assert_eq!(at_minute(&spans, 100), Some((1, vec![0, 1, 2])));
        assert_eq!(at_minute(&spans, 100 + LEAD - 1), Some((1, vec![0, 1, 2])));
        assert_eq!(at_minute(&spans, 100 + LEAD), Some((1, vec![1, 2])));
    }

    #[test]
    fn a_key_scheduled_for_later_is_published_but_does_not_sign() {
        let spans = [span(0, Some(0)), span(95, Some(110)), span(100, None)];
        assert_eq!(at_minute(&spans, 105), Some((0, vec![0, 1, 2])));
        assert_eq!(at_minute(&spans, 110), Some((1, vec![0, 1, 2])));
    }

    #[test]
    fn a_rotation_is_due_once_the_signing_key_has_signed_its_time_and_none_is_scheduled() {
        let every = Duration::minutes(60);
        let spans = [span(0, Some(0)), span(0, None)];
        assert!(!rotation_due(&spans, at(59), every));
        assert!(rotation_due(&spans, at(60), every));
        // A rotation already scheduled (to sign later) is not made again.
        let scheduled = [span(0, Some(0)), span(0, Some(75)), span(60, None)];
        assert!(!rotation_due(&scheduled, at(70), every));
        assert!(!rotation_due(&[span(0, None)], at(70), every));
    }

    #[test]
    fn keys_retired_long_ago_are_not_published() {
        let spans = [
            span(0, Some(0)),
            span(0, Some(10)),
            span(10, Some(20)),
            span(20, None),
        ];
        assert_eq!(at_minute(&spans, 30), Some((2, vec![1, 2, 3])));
    }
}
