//! Machine credentials: service accounts (users of the `service` kind, each a member of one
//! organization) and API keys (stored only as the SHA-256 of their secret), and the key an
//! audit event's actor acted through.
//!
//! Every change adds: a column with a default on `users` and a nullable one on `audit_events`
//! (both databases add columns in place), and two new tables.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Kind,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ActorApiKeyId,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ServiceAccounts {
    Table,
    Id,
    OrganizationId,
    Name,
    NameLower,
    Description,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    HolderId,
    Name,
    Prefix,
    SecretHash,
    Grants,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_len(Users::Kind, 16).default("human"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(uuid_null(AuditEvents::ActorApiKeyId))
                    .to_owned(),
            )
            .await?;
        // A service account is the user of the same id: memberships, roles and seats apply to
        // it as to anyone; this row says which organization it belongs to and what it is for.
        manager
            .create_table(
                Table::create()
                    .table(ServiceAccounts::Table)
                    .col(pk_uuid(ServiceAccounts::Id))
                    .col(uuid(ServiceAccounts::OrganizationId))
                    .col(string_len(ServiceAccounts::Name, 100))
                    .col(string_len(ServiceAccounts::NameLower, 100))
                    .col(text_null(ServiceAccounts::Description))
                    .col(uuid_null(ServiceAccounts::CreatedBy))
                    .col(timestamp_with_time_zone(ServiceAccounts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceAccounts::Table, ServiceAccounts::Id)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceAccounts::Table, ServiceAccounts::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_accounts_organization_name")
                    .table(ServiceAccounts::Table)
                    .col(ServiceAccounts::OrganizationId)
                    .col(ServiceAccounts::NameLower)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::OrganizationId))
                    .col(uuid(ApiKeys::HolderId))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::Prefix, 32))
                    .col(string_len(ApiKeys::SecretHash, 64))
                    .col(text(ApiKeys::Grants))
                    .col(uuid_null(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::HolderId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("api_keys_secret_hash", vec![ApiKeys::SecretHash], true),
            (
                "api_keys_organization",
                vec![ApiKeys::OrganizationId, ApiKeys::Id],
                false,
            ),
            (
                "api_keys_holder",
                vec![ApiKeys::HolderId, ApiKeys::OrganizationId],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(ApiKeys::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ServiceAccounts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::ActorApiKeyId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::Kind)
                    .to_owned(),
            )
            .await
    }
}
