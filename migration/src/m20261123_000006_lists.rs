//! User-defined lists, their entries, and the partner organizations an organization shares its
//! lists with.
//!
//! Entries are keyed by their list and normalized value, which is also the order they are paged
//! in and the range a prefix search walks. On PostgreSQL the value is compared byte by byte
//! (`COLLATE "C"`), as SQLite compares it, so both databases page entries in the same order and
//! a prefix is a contiguous range of the index whatever the database's locale.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lists {
    Table,
    Id,
    OrganizationId,
    Name,
    NameLower,
    Kind,
    Description,
    Shared,
    EntryCount,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ListEntries {
    Table,
    ListId,
    Value,
    Note,
    AddedBy,
    AddedAt,
}

#[derive(DeriveIden)]
enum SharePartners {
    Table,
    OrganizationId,
    PartnerId,
    AddedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Lists::Table)
                    .col(pk_uuid(Lists::Id))
                    .col(uuid(Lists::OrganizationId))
                    .col(string_len(Lists::Name, 100))
                    .col(string_len(Lists::NameLower, 100))
                    .col(string_len(Lists::Kind, 16))
                    .col(text_null(Lists::Description))
                    .col(boolean(Lists::Shared).default(false))
                    .col(big_integer(Lists::EntryCount).default(0))
                    .col(uuid_null(Lists::CreatedBy))
                    .col(timestamp_with_time_zone(Lists::CreatedAt))
                    .col(timestamp_with_time_zone(Lists::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Lists::Table, Lists::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "lists_organization_name",
                vec![Lists::OrganizationId, Lists::NameLower],
                true,
            ),
            (
                "lists_organization_id",
                vec![Lists::OrganizationId, Lists::Id],
                false,
            ),
            (
                "lists_organization_shared_id",
                vec![Lists::OrganizationId, Lists::Shared, Lists::Id],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Lists::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        let mut value = string_len(ListEntries::Value, 2048);
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            value.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(ListEntries::Table)
                    .col(uuid(ListEntries::ListId))
                    .col(value)
                    .col(string_len_null(ListEntries::Note, 500))
                    .col(uuid_null(ListEntries::AddedBy))
                    .col(timestamp_with_time_zone(ListEntries::AddedAt))
                    .primary_key(
                        Index::create()
                            .col(ListEntries::ListId)
                            .col(ListEntries::Value),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ListEntries::Table, ListEntries::ListId)
                            .to(Lists::Table, Lists::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SharePartners::Table)
                    .col(uuid(SharePartners::OrganizationId))
                    .col(uuid(SharePartners::PartnerId))
                    .col(uuid_null(SharePartners::AddedBy))
                    .col(timestamp_with_time_zone(SharePartners::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SharePartners::OrganizationId)
                            .col(SharePartners::PartnerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SharePartners::Table, SharePartners::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SharePartners::Table, SharePartners::PartnerId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("share_partners_partner")
                    .table(SharePartners::Table)
                    .col(SharePartners::PartnerId)
                    .col(SharePartners::OrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SharePartners::Table.into_iden(),
            ListEntries::Table.into_iden(),
            Lists::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
