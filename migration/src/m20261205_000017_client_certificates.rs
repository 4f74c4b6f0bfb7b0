//! Client certificates beside providers and directories: an organization's one connection may
//! take smart-card certificates, kept with the certificate authorities it trusts, its revocation
//! lists (given, or fetched from a URL and kept fresh), and where a certificate names its
//! holder.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    /// JSON array of base64 DER CA certificates.
    CertAuthorities,
    /// JSON array of base64 DER revocation lists, as given.
    CertCrls,
    CertCrlUrl,
    /// Base64 DER: the revocation list last fetched from the URL.
    CertFetchedCrl,
    CertMapping,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let added = vec![
            text_null(SsoConnections::CertAuthorities),
            text_null(SsoConnections::CertCrls),
            text_null(SsoConnections::CertCrlUrl),
            text_null(SsoConnections::CertFetchedCrl),
            string_len_null(SsoConnections::CertMapping, 32),
        ];
        crate::add_columns(manager, SsoConnections::Table, added).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let dropped = vec![
            SsoConnections::CertAuthorities,
            SsoConnections::CertCrls,
            SsoConnections::CertCrlUrl,
            SsoConnections::CertFetchedCrl,
            SsoConnections::CertMapping,
        ];
        crate::drop_columns(manager, SsoConnections::Table, dropped).await
    }
}
