//! Database migrations, applied in order at start and by `charter migrate`.
//!
//! Migrations describe tables with their own identifiers and never import the
//! `entity` crate, so an old migration does not change when an entity does.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_identity;
mod m20261123_000002_audit;
mod m20261123_000003_invitations;
mod m20261123_000004_member_sort_keys;
mod m20261123_000005_audit_search;
mod m20261123_000006_lists;
mod m20261123_000007_invitation_roles;
mod m20261202_000008_machine_credentials;
mod m20261202_000009_single_sign_on;
mod m20261202_000010_multi_factor;
mod m20261205_000011_trust;
mod m20261205_000012_key_fingerprints;
mod m20261205_000013_webhooks;
mod m20261205_000014_saml_connections;
mod m20261205_000015_saml_replays;
mod m20261205_000016_directories;
mod m20261205_000017_client_certificates;
mod m20261205_000018_scim;
mod m20261206_000019_key_store;
mod m20261206_000020_trace_parents;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_identity::Migration),
            Box::new(m20261123_000002_audit::Migration),
            Box::new(m20261123_000003_invitations::Migration),
            Box::new(m20261123_000004_member_sort_keys::Migration),
            Box::new(m20261123_000005_audit_search::Migration),
            Box::new(m20261123_000006_lists::Migration),
            Box::new(m20261123_000007_invitation_roles::Migration),
            Box::new(m20261202_000008_machine_credentials::Migration),
            Box::new(m20261202_000009_single_sign_on::Migration),
            Box::new(m20261202_000010_multi_factor::Migration),
            Box::new(m20261205_000011_trust::Migration),
            Box::new(m20261205_000012_key_fingerprints::Migration),
            Box::new(m20261205_000013_webhooks::Migration),
            Box::new(m20261205_000014_saml_connections::Migration),
            Box::new(m20261205_000015_saml_replays::Migration),
            Box::new(m20261205_000016_directories::Migration),
            Box::new(m20261205_000017_client_certificates::Migration),
            Box::new(m20261205_000018_scim::Migration),
            Box::new(m20261206_000019_key_store::Migration),
            Box::new(m20261206_000020_trace_parents::Migration),
        ]
    }
}

/// Adds `columns` to `table`, one statement each (SQLite alters one column at a time).
pub(crate) async fn add_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for mut column in columns {
        let alter = Table::alter()
            .table(table.clone())
            .add_column(&mut column)
            .to_owned();
        manager.alter_table(alter).await?;
    }
    Ok(())
}

/// Drops `columns` from `table`, one statement each.
pub(crate) async fn drop_columns<C: IntoIden>(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: Vec<C>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for column in columns {
        let alter = Table::alter()
            .table(table.clone())
            .drop_column(column)
            .to_owned();
        manager.alter_table(alter).await?;
    }
    Ok(())
}
