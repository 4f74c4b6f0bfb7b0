//! LDAP directories beside OpenID and SAML providers: an organization's one connection may be a
//! directory, kept with its URL (and whether it uses StartTLS), the service account that
//! searches it (its password sealed), where and how people are searched, which attribute holds
//! the email, the filter members must also match, and the CA its certificate comes from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    LdapUrl,
    LdapStartTls,
    LdapBindDn,
    LdapBindPasswordSealed,
    LdapBaseDn,
    LdapUserFilter,
    LdapEmailAttribute,
    LdapGroupFilter,
    /// Base64 DER.
    LdapCaCertificate,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let added = vec![
            text_null(SsoConnections::LdapUrl),
            boolean(SsoConnections::LdapStartTls)
                .default(false)
                .to_owned(),
            text_null(SsoConnections::LdapBindDn),
            text_null(SsoConnections::LdapBindPasswordSealed),
            text_null(SsoConnections::LdapBaseDn),
            text_null(SsoConnections::LdapUserFilter),
            string_len_null(SsoConnections::LdapEmailAttribute, 255),
            text_null(SsoConnections::LdapGroupFilter),
            text_null(SsoConnections::LdapCaCertificate),
        ];
        crate::add_columns(manager, SsoConnections::Table, added).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let dropped = vec![
            SsoConnections::LdapUrl,
            SsoConnections::LdapStartTls,
            SsoConnections::LdapBindDn,
            SsoConnections::LdapBindPasswordSealed,
            SsoConnections::LdapBaseDn,
            SsoConnections::LdapUserFilter,
            SsoConnections::LdapEmailAttribute,
            SsoConnections::LdapGroupFilter,
            SsoConnections::LdapCaCertificate,
        ];
        crate::drop_columns(manager, SsoConnections::Table, dropped).await
    }
}
