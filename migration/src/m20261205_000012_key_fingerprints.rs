//! What keys the processes on one database use, recorded by the first to start: the key ids
//! (JWK thumbprints) of the token signing keys and a check value of the secrets key, so that a
//! process started with keys of its own refuses to start instead of signing tokens the others
//! refuse and sealing secrets they cannot open.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyFingerprints {
    Table,
    /// `signing` or `secrets`.
    Kind,
    /// The signing key ids, space-separated, the signing one first; or the secrets key's
    /// check value.
    Fingerprint,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyFingerprints::Table)
                    .col(string_len(KeyFingerprints::Kind, 16).primary_key())
                    .col(text(KeyFingerprints::Fingerprint))
                    .col(timestamp_with_time_zone(KeyFingerprints::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyFingerprints::Table).to_owned())
            .await
    }
}
