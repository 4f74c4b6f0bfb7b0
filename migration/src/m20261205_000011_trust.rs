//! Trust between roles, keys and organizations: a single sign-on that names an existing account
//! by email links it only once that person confirms with their own credentials (the pending
//! link rides on the sign-in's code and second-factor challenge); sign-in starts are counted
//! per client, and stay counted after their callback; refused sign-ins are tallied per
//! organization and reason instead of each written to the log; a refresh token retired by a
//! renewal is told apart from one used by a refresh.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoCodes {
    Table,
    LinkSubject,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    LinkSubject,
}

#[derive(DeriveIden)]
enum SsoLogins {
    Table,
    ClientKey,
    UsedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    RetiredAt,
}

#[derive(DeriveIden)]
enum SsoRefusalTallies {
    Table,
    OrganizationId,
    Reason,
    WindowStartedAt,
    Suppressed,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let added = [
            (
                SsoCodes::Table.into_iden(),
                string_len_null(SsoCodes::LinkSubject, 255),
            ),
            (
                MfaChallenges::Table.into_iden(),
                string_len_null(MfaChallenges::LinkSubject, 255),
            ),
            (
                SsoLogins::Table.into_iden(),
                string_len(SsoLogins::ClientKey, 64).default("").to_owned(),
            ),
            (
                SsoLogins::Table.into_iden(),
                timestamp_with_time_zone_null(SsoLogins::UsedAt),
            ),
            (
                RefreshTokens::Table.into_iden(),
                timestamp_with_time_zone_null(RefreshTokens::RetiredAt),
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
            .create_index(
                Index::create()
                    .name("sso_logins_client")
                    .table(SsoLogins::Table)
                    .col(SsoLogins::ClientKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoRefusalTallies::Table)
                    .col(uuid(SsoRefusalTallies::OrganizationId))
                    .col(string_len(SsoRefusalTallies::Reason, 32))
                    .col(timestamp_with_time_zone(SsoRefusalTallies::WindowStartedAt))
                    .col(big_integer(SsoRefusalTallies::Suppressed).default(0))
                    .primary_key(
                        Index::create()
                            .col(SsoRefusalTallies::OrganizationId)
                            .col(SsoRefusalTallies::Reason),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SsoRefusalTallies::Table, SsoRefusalTallies::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SsoRefusalTallies::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("sso_logins_client")
                    .table(SsoLogins::Table)
                    .to_owned(),
            )
            .await?;
        let dropped = [
            (
                SsoCodes::Table.into_iden(),
                SsoCodes::LinkSubject.into_iden(),
            ),
            (
                MfaChallenges::Table.into_iden(),
                MfaChallenges::LinkSubject.into_iden(),
            ),
            (
                SsoLogins::Table.into_iden(),
                SsoLogins::ClientKey.into_iden(),
            ),
            (SsoLogins::Table.into_iden(), SsoLogins::UsedAt.into_iden()),
            (
                RefreshTokens::Table.into_iden(),
                RefreshTokens::RetiredAt.into_iden(),
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
