//! A text index behind the audit log's `search`, so finding a rare term among a million events
//! reads the index rather than every event.
//!
//! Both databases index the same text: the description, the actor's email, the action and the
//! target id, joined by newlines ([`SEARCH_TEXT_SQL`] is the expression the service queries).
//!
//! - PostgreSQL: a trigram GIN index (`pg_trgm`) on that expression, lowercased, which serves
//!   `LIKE '%term%'` directly.
//! - SQLite: an FTS5 table with the trigram tokenizer (case-insensitive substring matches),
//!   kept by triggers so that every way an event is written or purged keeps it in step. Its
//!   rowid encodes the event's place: the chain's number times 2^36 plus the sequence number,
//!   so one chain's matches are a rowid range the index walks newest first. Chain numbers live
//!   in `audit_search_chains`, whose INTEGER PRIMARY KEY survives a VACUUM.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE audit_search_chains (number INTEGER PRIMARY KEY, chain TEXT NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE audit_search USING fts5(body, content = '', contentless_delete = 1, \
     tokenize = 'trigram')",
    "CREATE TRIGGER audit_search_insert AFTER INSERT ON audit_events BEGIN \
       INSERT OR IGNORE INTO audit_search_chains (chain) VALUES (new.chain); \
       INSERT INTO audit_search (rowid, body) VALUES ( \
         (SELECT number FROM audit_search_chains WHERE chain = new.chain) * 68719476736 + new.seq, \
         new.description || char(10) || coalesce(new.actor_email, '') || char(10) \
           || new.action || char(10) || coalesce(new.target_id, '')); \
     END",
    "CREATE TRIGGER audit_search_delete AFTER DELETE ON audit_events BEGIN \
       DELETE FROM audit_search WHERE rowid = \
         (SELECT number FROM audit_search_chains WHERE chain = old.chain) * 68719476736 + old.seq; \
     END",
    "INSERT INTO audit_search_chains (chain) SELECT DISTINCT chain FROM audit_events ORDER BY chain",
    "INSERT INTO audit_search (rowid, body) \
     SELECT c.number * 68719476736 + e.seq, \
       e.description || char(10) || coalesce(e.actor_email, '') || char(10) \
         || e.action || char(10) || coalesce(e.target_id, '') \
     FROM audit_events e JOIN audit_search_chains c ON c.chain = e.chain",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER audit_search_delete",
    "DROP TRIGGER audit_search_insert",
    "DROP TABLE audit_search",
    "DROP TABLE audit_search_chains",
];

// pg_trgm ships with PostgreSQL and is a trusted extension (since 13): the database's owner
// may create it without being a superuser.
const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX audit_events_search ON audit_events USING gin ((lower(description || chr(10) \
     || coalesce(actor_email, '') || chr(10) || action || chr(10) || coalesce(target_id, ''))) \
     gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &["DROP INDEX audit_events_search"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}

async fn run(manager: &SchemaManager<'_>, sqlite: &[&str], postgres: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DatabaseBackend::Sqlite => sqlite,
        DatabaseBackend::Postgres => postgres,
        other => {
            return Err(DbErr::Migration(format!(
                "the audit search index is not written for {other:?}"
            )));
        }
    };
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}
