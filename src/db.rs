//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions that do not
//! fail with "database is locked".

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Settings;

pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.effective_database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).map_err(|err| {
            anyhow::anyhow!(
                "cannot create the data directory {}: {err}",
                settings.data_dir.display()
            )
        })?;
    }
    let statement_timeout = settings.database_statement_timeout;
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        // Fail fast when the database is down instead of holding every request for long.
        .acquire_timeout(settings.database_acquire_timeout)
        .map_sqlx_postgres_opts(move |opts| {
            // A statement that runs too long is cancelled by the server; a transaction left
            // idle (its client gone) ends; and the server probes a silent client's socket.
            opts.options([
                (
                    "statement_timeout",
                    format!("{}ms", statement_timeout.as_millis()),
                ),
                (
                    "idle_in_transaction_session_timeout",
                    format!("{}ms", statement_timeout.as_millis() * 2),
                ),
                ("tcp_keepalives_idle", "30".to_owned()),
                ("tcp_keepalives_interval", "10".to_owned()),
                ("tcp_keepalives_count", "3".to_owned()),
            ])
        })
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
        });
    let sqlite = options.get_url().starts_with("sqlite:");
    let default_pool = if sqlite { 8 } else { 16 };
    options
        .max_connections(settings.database_max_connections.unwrap_or(default_pool))
        .min_connections(1);
    connect_retrying(options, sqlite).await
}

/// Connects with `options`. Processes started together on a new SQLite file race to switch it
/// to WAL, and SQLite answers that switch "database is locked" at once rather than waiting its
/// busy timeout: the loser tries again shortly (for about ten seconds) instead of failing to
/// start.
async fn connect_retrying(
    options: ConnectOptions,
    sqlite: bool,
) -> anyhow::Result<DatabaseConnection> {
    let mut attempts = 0;
    loop {
        match Database::connect(options.clone()).await {
            Ok(db) => return Ok(db),
            Err(err)
                if sqlite && attempts < 40 && err.to_string().contains("database is locked") =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => return Err(anyhow::anyhow!("cannot connect to the database: {err}")),
        }
    }
}

/// Applies the pending migrations under the start-up lock (see [`exclusively`]).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    exclusively(db, async |conn: &DatabaseConnection| {
        apply_migrations(conn).await
    })
    .await
}

/// Applies the pending migrations; the caller holds the start-up lock.
pub async fn apply_migrations(db: &DatabaseConnection) -> anyhow::Result<()> {
    let failed = |err: sea_orm::DbErr| anyhow::anyhow!("migrating the database failed: {err}");
    let pending = migration::Migrator::get_pending_migrations(db)
        .await
        .map_err(failed)?
        .len();
    migration::Migrator::up(db, None).await.map_err(failed)?;
    let known = migration::Migrator::migrations().len();
    tracing::info!(
        applied = pending,
        migrations = known,
        "database schema up to date"
    );
    Ok(())
}

/// The key of the PostgreSQL advisory lock that start-up work holds ("charter" in ASCII).
const START_UP_LOCK: i64 = 0x63_68_61_72_74_65_72;

/// Runs `work` (migrations, syncing the predefined roles) while holding a lock that every
/// Charter process on the same database takes for it, so that any number of processes can start
/// at once, as in a rolling upgrade: on PostgreSQL an advisory lock held by a connection of its
/// own (released by the server if the process dies), on SQLite an exclusive lock on a file
/// beside the database.
///
/// On PostgreSQL `work` gets connections without the statement timeout of request connections:
/// a migration over a large table, or the wait for another process's, may take minutes.
pub async fn exclusively<T>(
    db: &DatabaseConnection,
    work: impl AsyncFnOnce(&DatabaseConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let unbounded = unbounded_postgres(db).await?;
            let mut holder = unbounded
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map_err(|err| anyhow::anyhow!("cannot connect to the database: {err}"))?;
            sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(START_UP_LOCK)
                .execute(&mut *holder)
                .await
                .map_err(|err| anyhow::anyhow!("cannot take the start-up lock: {err}"))?;
            let result = work(&unbounded).await;
            // Closing the connection releases the lock as well; unlock first to be prompt.
            let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(START_UP_LOCK)
                .execute(&mut *holder)
                .await;
            drop(holder);
            let _ = unbounded.close().await;
            result
        }
        DatabaseBackend::Sqlite => {
            let options = db.get_sqlite_connection_pool().connect_options();
            let database = options.get_filename();
            if database.as_os_str().is_empty() || database == std::path::Path::new(":memory:") {
                return work(db).await;
            }
            let path = database.with_extension("startup-lock");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", path.display()))?;
            let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                .await?
                .map_err(|err| anyhow::anyhow!("cannot lock {}: {err}", path.display()))?;
            let result = work(db).await;
            drop(file); // closing the file releases the lock
            result
        }
        _ => work(db).await,
    }
}

/// A small pool on the same PostgreSQL database whose sessions have no statement or
/// idle-transaction timeout, for start-up work.
async fn unbounded_postgres(db: &DatabaseConnection) -> anyhow::Result<DatabaseConnection> {
    use sea_orm::sqlx::Executor;
    let options = db.get_postgres_connection_pool().connect_options();
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET statement_timeout = 0").await?;
                conn.execute("SET idle_in_transaction_session_timeout = 0")
                    .await?;
                Ok(())
            })
        })
        .connect_with((*options).clone())
        .await
        .map_err(|err| anyhow::anyhow!("cannot connect to the database: {err}"))?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
        pool,
    ))
}

/// Begins a transaction that will write. On SQLite it takes the write lock at BEGIN
/// (IMMEDIATE), so a concurrent writer waits on the busy timeout instead of failing when it
/// upgrades a read lock; PostgreSQL uses its default isolation with explicit row locks.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Whether the database answers within `within`.
pub async fn ping(db: &DatabaseConnection, within: Duration) -> bool {
    matches!(
        tokio::time::timeout(within, db.execute_unprepared("SELECT 1")).await,
        Ok(Ok(_))
    )
}
