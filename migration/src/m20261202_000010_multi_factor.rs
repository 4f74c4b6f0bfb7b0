//! Multi-factor authentication: second factors (TOTP secrets, sealed; WebAuthn credentials),
//! recovery codes (hashed), the challenges a sign-in or a step-up answers, an organization's
//! requirement, and on sessions when a second factor was last checked and which methods
//! signed the person in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    MfaEnabled,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    MfaRequired,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    MfaAt,
    Amr,
}

#[derive(DeriveIden)]
enum SsoCodes {
    Table,
    ProviderMfa,
}

#[derive(DeriveIden)]
enum MfaFactors {
    Table,
    Id,
    UserId,
    Kind,
    Name,
    SecretSealed,
    Credential,
    ConfirmedAt,
    LastUsedStep,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    TokenHash,
    UserId,
    SessionId,
    OrganizationId,
    AuthMethod,
    IdpIssuer,
    IdpOrganizationId,
    Amr,
    WebauthnState,
    CreatedAt,
    ExpiresAt,
}

fn user_key(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let added = [
            (
                Users::Table.into_iden(),
                boolean(Users::MfaEnabled).default(false).to_owned(),
            ),
            (
                Organizations::Table.into_iden(),
                boolean(Organizations::MfaRequired)
                    .default(false)
                    .to_owned(),
            ),
            (
                Sessions::Table.into_iden(),
                timestamp_with_time_zone_null(Sessions::MfaAt),
            ),
            (
                Sessions::Table.into_iden(),
                string_len(Sessions::Amr, 64).default("pwd").to_owned(),
            ),
            (
                SsoCodes::Table.into_iden(),
                boolean(SsoCodes::ProviderMfa).default(false).to_owned(),
            ),
        ];
        for (table, mut column) in added {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(MfaFactors::Table)
                    .col(pk_uuid(MfaFactors::Id))
                    .col(uuid(MfaFactors::UserId))
                    .col(string_len(MfaFactors::Kind, 16))
                    .col(string_len(MfaFactors::Name, 100))
                    .col(text_null(MfaFactors::SecretSealed))
                    .col(text_null(MfaFactors::Credential))
                    .col(timestamp_with_time_zone_null(MfaFactors::ConfirmedAt))
                    .col(big_integer_null(MfaFactors::LastUsedStep))
                    .col(timestamp_with_time_zone(MfaFactors::CreatedAt))
                    .col(timestamp_with_time_zone_null(MfaFactors::LastUsedAt))
                    .foreign_key(&mut user_key(MfaFactors::Table, MfaFactors::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mfa_factors_user")
                    .table(MfaFactors::Table)
                    .col(MfaFactors::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_uuid(RecoveryCodes::Id))
                    .col(uuid(RecoveryCodes::UserId))
                    .col(string_len_uniq(RecoveryCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut user_key(RecoveryCodes::Table, RecoveryCodes::UserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("recovery_codes_user")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaChallenges::Table)
                    .col(string_len(MfaChallenges::TokenHash, 64).primary_key())
                    .col(uuid(MfaChallenges::UserId))
                    .col(uuid_null(MfaChallenges::SessionId))
                    .col(uuid_null(MfaChallenges::OrganizationId))
                    .col(string_len(MfaChallenges::AuthMethod, 16))
                    .col(string_len_null(MfaChallenges::IdpIssuer, 512))
                    .col(uuid_null(MfaChallenges::IdpOrganizationId))
                    .col(string_len(MfaChallenges::Amr, 64))
                    .col(text_null(MfaChallenges::WebauthnState))
                    .col(timestamp_with_time_zone(MfaChallenges::CreatedAt))
                    .col(timestamp_with_time_zone(MfaChallenges::ExpiresAt))
                    .foreign_key(&mut user_key(MfaChallenges::Table, MfaChallenges::UserId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MfaChallenges::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            MfaFactors::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        let dropped = [
            (Users::Table.into_iden(), Users::MfaEnabled.into_iden()),
            (
                Organizations::Table.into_iden(),
                Organizations::MfaRequired.into_iden(),
            ),
            (Sessions::Table.into_iden(), Sessions::MfaAt.into_iden()),
            (Sessions::Table.into_iden(), Sessions::Amr.into_iden()),
            (
                SsoCodes::Table.into_iden(),
                SsoCodes::ProviderMfa.into_iden(),
            ),
        ];
        for (table, column) in dropped {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
