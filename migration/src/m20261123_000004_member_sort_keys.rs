//! Sort keys of members kept on their membership rows (email, display name and role name,
//! lowercased), each indexed with the organization, so a page of the Users tab in any order is
//! an index walk rather than a sort of every member.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrganizationId,
    UserId,
    RoleId,
    SortEmail,
    SortName,
    SortRole,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Memberships::SortEmail,
            Memberships::SortName,
            Memberships::SortRole,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Memberships::Table)
                        .add_column(string_len(column, 320).default(""))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE memberships SET \
             sort_email = (SELECT users.email_lower FROM users WHERE users.id = memberships.user_id), \
             sort_name = (SELECT LOWER(users.display_name) FROM users WHERE users.id = memberships.user_id), \
             sort_role = COALESCE((SELECT LOWER(roles.name) FROM roles WHERE roles.id = memberships.role_id), '')",
        )
        .await?;
        for (name, column) in [
            (
                "memberships_organization_sort_email",
                Memberships::SortEmail,
            ),
            ("memberships_organization_sort_name", Memberships::SortName),
            ("memberships_organization_sort_role", Memberships::SortRole),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Memberships::Table)
                        .col(Memberships::OrganizationId)
                        .col(column)
                        .col(Memberships::Id)
                        .to_owned(),
                )
                .await?;
        }
        // Filtering by role keeps joining order: (organization, role, id).
        manager
            .create_index(
                Index::create()
                    .name("memberships_organization_role_id")
                    .table(Memberships::Table)
                    .col(Memberships::OrganizationId)
                    .col(Memberships::RoleId)
                    .col(Memberships::Id)
                    .to_owned(),
            )
            .await?;
        let _ = Memberships::UserId;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "memberships_organization_sort_email",
            "memberships_organization_sort_name",
            "memberships_organization_sort_role",
            "memberships_organization_role_id",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Memberships::Table)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Memberships::SortEmail,
            Memberships::SortName,
            Memberships::SortRole,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Memberships::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
