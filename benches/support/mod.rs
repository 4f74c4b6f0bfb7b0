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
        let mut settings = Settings::for_data_dir(dir);
        let mut postgres = None;
        if let Ok(url) = std::env::var("DATABASE_URL")
            && url.starts_with("postgres")
        {
            let name = format!("charter_bench_{}", Uuid::new_v4().simple());
            let admin = Database::connect(&url).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
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
        if let Some((admin, name)) = self.postgres {
            db.close().await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
        }
        Ok(())
    }
}
