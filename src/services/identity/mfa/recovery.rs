//! Recovery codes: ten random one-time codes given when a first factor is confirmed (and when
//! asked for again), shown once and stored as SHA-256 hashes. A used code is gone.

use chrono::Utc;
use entity::recovery_code;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::tokens::hash_token;
use crate::error::ApiResult;
use crate::services::store::scope::claim_once;

pub const COUNT: usize = 10;
/// Letters and digits without the look-alikes (0/O, 1/I/L).
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// New codes: `XXXXX-XXXXX`, about 50 bits each.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let mut code = String::with_capacity(11);
            for i in 0..10 {
                if i == 5 {
                    code.push('-');
                }
                code.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
            }
            code
        })
        .collect()
}

/// The stored form of a code as people type it: case, spaces and dashes do not matter.
fn normalized_hash(code: &str) -> String {
    let plain: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    hash_token(&plain)
}

/// Removes the user's codes (their last factor is gone).
pub(crate) async fn clear(txn: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Replaces the user's codes with `codes`.
pub(crate) async fn replace(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    codes: &[String],
) -> ApiResult<()> {
    clear(txn, user_id).await?;
    let now = Utc::now();
    let rows = codes.iter().map(|code| recovery_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        code_hash: Set(normalized_hash(code)),
        used_at: Set(None),
        created_at: Set(now),
    });
    recovery_code::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Uses up `code` if it is one of the user's unused codes: only one of parallel attempts with
/// the same code wins.
pub(crate) async fn consume(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    code: &str,
) -> ApiResult<bool> {
    let claim = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Utc::now()))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(normalized_hash(code)))
        .filter(recovery_code::Column::UsedAt.is_null());
    claim_once(db, claim).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_typed_loosely() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), COUNT);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalized_hash(code),
            normalized_hash(&code.to_lowercase().replace('-', " "))
        );
    }
}
