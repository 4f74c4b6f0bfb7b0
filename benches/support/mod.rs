//! What the scale benchmarks share: a database of their own for each run.
// Each benchmark is its own crate and uses only part of this.
#![allow(dead_code)]

use charter::config::Settings;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use uuid::Uuid;

/// A database for one run: SQLite in `dir` by default, or, when DATABASE_URL names a
/// PostgreSQL server, a fresh database there (dropped by [`BenchDatabase::drop_postgres`]).
pub struct BenchDatabase {
    pub settings: Settings,
    postgres: Option<(DatabaseConnection, String)>,
}

impl BenchDatabase {
    pub async fn new(dir: &std::path::Path) -> anyhow::Result<Self> {
        let url = std::env::var("DATABASE_URL").ok();
        Self::on(
            dir,
            url.as_deref().filter(|url| url.starts_with("postgres")),
        )
        .await
    }

    /// A database in `dir` (SQLite), or a fresh one on the PostgreSQL server of `admin_url`.
    pub async fn on(dir: &std::path::Path, admin_url: Option<&str>) -> anyhow::Result<Self> {
        let mut settings = Settings::for_data_dir(dir);
        let mut postgres = None;
        if let Some(url) = admin_url {
            let name = format!("charter_bench_{}", Uuid::new_v4().simple());
            let admin = Database::connect(url).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(url);
            settings.database_url = Some(format!("{base}/{name}"));
            postgres = Some((admin, name));
        }
        Ok(Self { settings, postgres })
    }

    /// "PostgreSQL" or "SQLite", for the printed figures.
    pub fn backend(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Closes `db` and drops the run's PostgreSQL database, if it made one.
    pub async fn finish(self, db: DatabaseConnection) -> anyhow::Result<()> {
        if self.postgres.is_some() {
            db.close().await?;
        }
        self.drop_database().await
    }

    /// Drops the run's PostgreSQL database, if it made one, whoever still holds connections.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        if let Some((admin, name)) = self.postgres {
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
        }
        Ok(())
    }
}
