//! SAML connections beside OpenID ones: an organization's one connection says its protocol, and
//! a SAML connection keeps its identity provider's entity id, sign-on URL and signing
//! certificates (several, so the provider can rotate), which attribute carries the email, and
//! whether responses the provider sends unasked are taken.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    SamlIdpEntityId,
    SamlSsoUrl,
    /// JSON array of base64 DER certificates.
    SamlCertificates,
    SamlEmailAttribute,
    SamlAllowIdpInitiated,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let added = vec![
            text_null(SsoConnections::SamlIdpEntityId),
            text_null(SsoConnections::SamlSsoUrl),
            text_null(SsoConnections::SamlCertificates),
            string_len_null(SsoConnections::SamlEmailAttribute, 255),
            boolean(SsoConnections::SamlAllowIdpInitiated)
                .default(false)
                .to_owned(),
        ];
        crate::add_columns(manager, SsoConnections::Table, added).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let dropped = vec![
            SsoConnections::SamlIdpEntityId,
            SsoConnections::SamlSsoUrl,
            SsoConnections::SamlCertificates,
            SsoConnections::SamlEmailAttribute,
            SsoConnections::SamlAllowIdpInitiated,
        ];
        crate::drop_columns(manager, SsoConnections::Table, dropped).await
    }
}
