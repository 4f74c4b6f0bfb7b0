//! The figures `/metrics` reads from the database: the webhook queue's depth and the accounts
//! throttled now, read at most every few seconds however often anyone scrapes (the endpoint
//! may be open to anyone: its cost must not grow with its callers), and the pool's use.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::{login_throttle, webhook_delivery};
use sea_orm::{ColumnTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter};

use super::AppState;
use super::webhooks::fanout::PENDING;
use crate::metrics::{PoolLabels, metrics};

/// How stale the figures read from the database may be.
const EVERY: Duration = Duration::from_secs(5);

/// Updates the gauges: the pool's now, the database's when the last read is older than
/// [`EVERY`].
pub async fn sample(state: &AppState) {
    pool_use(state);
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    {
        let mut last = LAST.lock().unwrap_or_else(|err| err.into_inner());
        if last.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        *last = Some(Instant::now());
    }
    let metrics = metrics();
    let queued = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .count(&state.db)
        .await;
    let throttled = login_throttle::Entity::find()
        .filter(login_throttle::Column::LockedUntil.gt(Utc::now()))
        .count(&state.db)
        .await;
    match (queued, throttled) {
        (Ok(queued), Ok(throttled)) => {
            metrics.webhook_queue.set(gauge(queued));
            metrics.throttled_accounts.set(gauge(throttled));
        }
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!(error = %err, "reading the figures for /metrics failed");
        }
    }
}

fn gauge(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Connections in use, idle, and the pool's maximum.
fn pool_use(state: &AppState) {
    let (size, idle, max) = match state.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    let metrics = metrics();
    for (state, value) in [
        ("in_use", size.saturating_sub(idle)),
        ("idle", idle),
        ("max", max),
    ] {
        metrics
            .db_connections
            .get_or_create(&PoolLabels { state })
            .set(i64::from(value));
    }
}
