//! Keys every process reads from the database: the token signing keys (sealed at rest), so
//! that they rotate without copying files between hosts, and the sealing keys that seal
//! stored secrets (each wrapped by the secrets key file), so that sealed values can name the
//! key that sealed them and be re-sealed under a new one while the service runs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    /// The RFC 7638 thumbprint of the public key: the `kid` of what it signs.
    Kid,
    /// The PKCS#8 private key, sealed under a sealing key.
    PrivateKeySealed,
    /// When it was published (as the next key, or as the first).
    CreatedAt,
    /// When it signs from; empty while it is only the next key.
    SignsFrom,
}

#[derive(DeriveIden)]
enum SealingKeys {
    Table,
    /// A short random id, written into every value it seals.
    Id,
    /// The 256-bit key, sealed under the secrets key file.
    WrappedKey,
    /// The id of the secrets key that wraps it.
    SecretsKeyId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string_len(SigningKeys::Kid, 64).primary_key())
                    .col(text(SigningKeys::PrivateKeySealed))
                    .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::SignsFrom))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SealingKeys::Table)
                    .col(string_len(SealingKeys::Id, 32).primary_key())
                    .col(text(SealingKeys::WrappedKey))
                    .col(string_len(SealingKeys::SecretsKeyId, 32))
                    .col(timestamp_with_time_zone(SealingKeys::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SealingKeys::Table).to_owned())
            .await
    }
}
