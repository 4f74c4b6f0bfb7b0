//! SCIM provisioning: a membership can be suspended (kept, with its seat and history, but
//! granting nothing) and carries what the organization's provisioning client knows of the
//! person (its `externalId` and the attributes it set); an organization names the role SCIM
//! gives; and the client's groups, each mapped to a role, with their members.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrganizationId,
    SuspendedAt,
    /// When SCIM last changed the membership (its `meta.lastModified`).
    ScimUpdatedAt,
    ScimExternalId,
    /// JSON object: the SCIM attributes the client set that Charter does not own.
    ScimAttributes,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    ScimDefaultRoleId,
}

#[derive(DeriveIden)]
enum ScimGroups {
    Table,
    Id,
    OrganizationId,
    DisplayName,
    /// The display name lowercased: unique in the organization, and matched to role names.
    DisplayLower,
    ExternalId,
    /// A role set through GraphQL; none: the role of the same name, if any.
    RoleId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScimGroupMembers {
    Table,
    GroupId,
    MembershipId,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let added = vec![
            timestamp_with_time_zone_null(Memberships::SuspendedAt),
            timestamp_with_time_zone_null(Memberships::ScimUpdatedAt),
            string_len_null(Memberships::ScimExternalId, 255),
            text_null(Memberships::ScimAttributes),
        ];
        crate::add_columns(manager, Memberships::Table, added).await?;
        crate::add_columns(
            manager,
            Organizations::Table,
            vec![uuid_null(Organizations::ScimDefaultRoleId)],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScimGroups::Table)
                    .col(uuid(ScimGroups::Id).primary_key())
                    .col(uuid(ScimGroups::OrganizationId))
                    .col(string_len(ScimGroups::DisplayName, 255))
                    .col(string_len(ScimGroups::DisplayLower, 255))
                    .col(string_len_null(ScimGroups::ExternalId, 255))
                    .col(uuid_null(ScimGroups::RoleId))
                    .col(timestamp_with_time_zone(ScimGroups::CreatedAt))
                    .col(timestamp_with_time_zone(ScimGroups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimGroups::Table, ScimGroups::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimGroups::Table, ScimGroups::RoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScimGroupMembers::Table)
                    .col(uuid(ScimGroupMembers::GroupId))
                    .col(uuid(ScimGroupMembers::MembershipId))
                    .primary_key(
                        Index::create()
                            .col(ScimGroupMembers::GroupId)
                            .col(ScimGroupMembers::MembershipId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimGroupMembers::Table, ScimGroupMembers::GroupId)
                            .to(ScimGroups::Table, ScimGroups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimGroupMembers::Table, ScimGroupMembers::MembershipId)
                            .to(Memberships::Table, Memberships::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "scim_groups_display",
                ScimGroups::Table.into_iden(),
                vec![
                    ScimGroups::OrganizationId.into_iden(),
                    ScimGroups::DisplayLower.into_iden(),
                ],
                true,
            ),
            (
                "scim_group_members_membership",
                ScimGroupMembers::Table.into_iden(),
                vec![ScimGroupMembers::MembershipId.into_iden()],
                false,
            ),
            (
                "memberships_scim_external_id",
                Memberships::Table.into_iden(),
                vec![
                    Memberships::OrganizationId.into_iden(),
                    Memberships::ScimExternalId.into_iden(),
                ],
                false,
            ),
        ];
        for (name, table, columns, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            if unique {
                index.unique();
            }
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ScimGroupMembers::Table.into_iden(),
            ScimGroups::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("memberships_scim_external_id")
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
        crate::drop_columns(
            manager,
            Organizations::Table,
            vec![Organizations::ScimDefaultRoleId],
        )
        .await?;
        let dropped = vec![
            Memberships::SuspendedAt,
            Memberships::ScimUpdatedAt,
            Memberships::ScimExternalId,
            Memberships::ScimAttributes,
        ];
        crate::drop_columns(manager, Memberships::Table, dropped).await
    }
}
