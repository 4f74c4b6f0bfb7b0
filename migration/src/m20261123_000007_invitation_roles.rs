//! Invitations refer to their role by a foreign key, so that no role is deleted while an
//! invitation holds it.
//!
//! Rows whose role no longer exists are deleted first: until now a role could be deleted under
//! a pending invitation, which then could never be accepted (its role is gone) and silently
//! freed its seat. Such an invitation is dead whatever its status, and the audit log keeps
//! both its sending and the role's deletion.
//!
//! PostgreSQL adds the constraint in place. SQLite cannot add a foreign key to a table, so the
//! table is rebuilt: created anew with the key, the rows copied, the old table dropped, the new
//! one renamed and its indexes recreated. Nothing refers to `invitations`, so the rebuild needs
//! no `PRAGMA foreign_keys = OFF` (which SQLite ignores inside a transaction anyway); the copy
//! is checked with `PRAGMA foreign_key_check`. The whole migration runs in one transaction on
//! both databases, so a failure leaves the old table as it was.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    Email,
    EmailLower,
    RoleId,
    TokenHash,
    Status,
    ExpiresAt,
    InvitedBy,
    CreatedAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum InvitationsRebuilt {
    Table,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
}

const FOREIGN_KEY: &str = "invitations_role_id_fkey";

/// The columns of `invitations`, in their order.
fn columns() -> [Invitations; 13] {
    use Invitations::*;
    [
        Id,
        OrganizationId,
        Email,
        EmailLower,
        RoleId,
        TokenHash,
        Status,
        ExpiresAt,
        InvitedBy,
        CreatedAt,
        AcceptedAt,
        AcceptedBy,
        RevokedAt,
    ]
}

fn role_key() -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(FOREIGN_KEY)
        .from(Invitations::Table, Invitations::RoleId)
        .to(Roles::Table, Roles::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// The table as the invitations migration made it, under `name`, with or without the role key.
fn table(name: impl IntoIden, with_role_key: bool) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table(name)
        .col(pk_uuid(Invitations::Id))
        .col(uuid(Invitations::OrganizationId))
        .col(string_len(Invitations::Email, 320))
        .col(string_len(Invitations::EmailLower, 320))
        .col(uuid(Invitations::RoleId))
        .col(string_len_uniq(Invitations::TokenHash, 64))
        .col(string_len(Invitations::Status, 16))
        .col(timestamp_with_time_zone(Invitations::ExpiresAt))
        .col(uuid_null(Invitations::InvitedBy))
        .col(timestamp_with_time_zone(Invitations::CreatedAt))
        .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
        .col(uuid_null(Invitations::AcceptedBy))
        .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
        .foreign_key(
            ForeignKey::create()
                .from(Invitations::Table, Invitations::OrganizationId)
                .to(Organizations::Table, Organizations::Id)
                .on_delete(ForeignKeyAction::Cascade),
        );
    if with_role_key {
        table.foreign_key(&mut role_key());
    }
    table.to_owned()
}

/// The indexes of `invitations`, as the invitations migration made them.
fn indexes() -> Vec<IndexCreateStatement> {
    [
        (
            "invitations_organization_status",
            vec![
                Invitations::OrganizationId,
                Invitations::Status,
                Invitations::Id,
            ],
        ),
        (
            "invitations_organization_email",
            vec![Invitations::OrganizationId, Invitations::EmailLower],
        ),
        (
            "invitations_organization_created",
            vec![Invitations::OrganizationId, Invitations::CreatedAt],
        ),
    ]
    .into_iter()
    .map(|(name, columns)| {
        let mut index = Index::create();
        index.name(name).table(Invitations::Table);
        for column in columns {
            index.col(column);
        }
        index.to_owned()
    })
    .collect()
}

/// Rebuilds `invitations` on SQLite, with the role key or without it.
async fn rebuild(manager: &SchemaManager<'_>, with_role_key: bool) -> Result<(), DbErr> {
    manager
        .create_table(table(InvitationsRebuilt::Table, with_role_key))
        .await?;
    let copy = Query::insert()
        .into_table(InvitationsRebuilt::Table)
        .columns(columns())
        .select_from(
            Query::select()
                .columns(columns())
                .from(Invitations::Table)
                .to_owned(),
        )
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.exec_stmt(copy).await?;
    manager
        .drop_table(Table::drop().table(Invitations::Table).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(InvitationsRebuilt::Table, Invitations::Table)
                .to_owned(),
        )
        .await?;
    for index in indexes() {
        manager.create_index(index).await?;
    }
    let db = manager.get_connection();
    let broken = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA foreign_key_check(invitations)",
        ))
        .await?;
    if !broken.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} invitation(s) break a foreign key after the rebuild",
            broken.len()
        )));
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let orphans = Query::delete()
            .from_table(Invitations::Table)
            .and_where(
                Expr::col(Invitations::RoleId).not_in_subquery(
                    Query::select()
                        .column(Roles::Id)
                        .from(Roles::Table)
                        .to_owned(),
                ),
            )
            .to_owned();
        manager.exec_stmt(orphans).await?;
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            return rebuild(manager, true).await;
        }
        let mut key = role_key();
        manager
            .create_foreign_key(key.from_tbl(Invitations::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            return rebuild(manager, false).await;
        }
        manager
            .drop_foreign_key(
                ForeignKey::drop()
                    .name(FOREIGN_KEY)
                    .table(Invitations::Table)
                    .to_owned(),
            )
            .await
    }
}
