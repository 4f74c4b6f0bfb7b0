//! The replay store of SAML sign-ins: an assertion signs someone in once. Every process writes
//! to the same table, so a Response replayed to another process behind the load balancer is
//! refused there too. Rows are kept until the assertion could not be taken anyway, then purged.

use chrono::{DateTime, Duration, Utc};
use entity::saml_assertion_used;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::services::AppState;
use crate::services::store::scope::write_unrecorded;

/// The longest an assertion is remembered, whatever it states: a provider's far-off
/// NotOnOrAfter must not keep rows forever.
const LONGEST: Duration = Duration::hours(24);

/// Whether this is the first use of assertion `assertion_id` in `organization_id`: `true` once,
/// for exactly one caller, however many processes race with the same assertion; `false` for
/// every other. It is remembered until `not_on_or_after` (with the clock skew allowed, and at
/// most a day).
pub async fn first_use(
    state: &AppState,
    organization_id: Uuid,
    assertion_id: &str,
    not_on_or_after: Option<DateTime<Utc>>,
) -> ApiResult<bool> {
    let now = Utc::now();
    let until = not_on_or_after
        .map(|at| at + crate::saml::sp::CLOCK_SKEW)
        .unwrap_or(now + LONGEST)
        .min(now + LONGEST);
    let row = saml_assertion_used::ActiveModel {
        organization_id: Set(organization_id),
        assertion_hash: Set(hex(&Sha256::digest(assertion_id.as_bytes()))),
        expires_at: Set(until),
    };
    write_unrecorded(&state.db, async |txn| {
        let inserted = saml_assertion_used::Entity::insert(row)
            .on_conflict_do_nothing_on([
                saml_assertion_used::Column::OrganizationId,
                saml_assertion_used::Column::AssertionHash,
            ])
            .exec_without_returning(txn)
            .await?;
        Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(1)))
    })
    .await
}

/// Removes what could no longer be replayed; returns how many rows went.
pub async fn purge(state: &AppState) -> ApiResult<u64> {
    let expired = saml_assertion_used::Entity::delete_many()
        .filter(saml_assertion_used::Column::ExpiresAt.lt(Utc::now()));
    write_unrecorded(&state.db, async |txn| {
        Ok(expired.exec(txn).await?.rows_affected)
    })
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
