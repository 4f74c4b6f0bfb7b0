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
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
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
    Database::connect(options)
        .await
        .map_err(|err| anyhow::anyhow!("cannot connect to the database: {err}"))
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migration::Migrator::up(db, None)
        .await
        .map_err(|err| anyhow::anyhow!("migrating the database failed: {err}"))
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

/// Whether the database answers.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}
