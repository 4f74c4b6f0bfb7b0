//! The assertions SAML sign-ins have used, shared by every process: an assertion is taken once,
//! and kept until it could no longer be taken anyway. The id is stored as its SHA-256, so no
//! text a provider chose is written as it came.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SamlAssertionsUsed {
    Table,
    OrganizationId,
    /// SHA-256 of the assertion's ID, hex.
    AssertionHash,
    /// When the assertion stops being acceptable; the row may go after that.
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SamlAssertionsUsed::Table)
                    .col(uuid(SamlAssertionsUsed::OrganizationId))
                    .col(string_len(SamlAssertionsUsed::AssertionHash, 64))
                    .col(timestamp_with_time_zone(SamlAssertionsUsed::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(SamlAssertionsUsed::OrganizationId)
                            .col(SamlAssertionsUsed::AssertionHash),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("saml_assertions_used_expiry")
                    .table(SamlAssertionsUsed::Table)
                    .col(SamlAssertionsUsed::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SamlAssertionsUsed::Table).to_owned())
            .await
    }
}
