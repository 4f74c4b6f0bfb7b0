//! Single sign-on per organization: its connection to an identity provider, its verified email
//! domains, the links from a provider's subjects to users, the state of sign-ins under way and
//! the one-time codes they end with; and, on sessions, how the person signed in.
//!
//! `sso_connections` has a `protocol` column and keeps the OpenID Connect settings in columns
//! of their own, so that a SAML connection can sit beside them with its own later.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    AuthMethod,
    IdpIssuer,
    IdpOrganizationId,
}

#[derive(DeriveIden)]
enum SsoConnections {
    Table,
    Id,
    OrganizationId,
    Protocol,
    Enabled,
    Enforced,
    EnforcedSince,
    JitProvisioning,
    DefaultRoleId,
    Issuer,
    ClientId,
    ClientSecretSealed,
    ProviderMetadata,
    ProviderJwks,
    MetadataFetchedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganizationDomains {
    Table,
    Id,
    OrganizationId,
    Domain,
    Challenge,
    CreatedBy,
    CreatedAt,
    VerifiedAt,
}

#[derive(DeriveIden)]
enum SsoIdentities {
    Table,
    Id,
    OrganizationId,
    UserId,
    Issuer,
    Subject,
    CreatedAt,
    LastSignInAt,
}

#[derive(DeriveIden)]
enum SsoLogins {
    Table,
    Id,
    StateHash,
    BrowserHash,
    OrganizationId,
    Issuer,
    Nonce,
    PkceVerifier,
    ReturnTo,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum SsoCodes {
    Table,
    CodeHash,
    UserId,
    OrganizationId,
    Issuer,
    CreatedAt,
    ExpiresAt,
}

fn organization_key(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len(Sessions::AuthMethod, 16)
                .default("pwd")
                .to_owned(),
            string_len_null(Sessions::IdpIssuer, 512),
            uuid_null(Sessions::IdpOrganizationId),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SsoConnections::Table)
                    .col(pk_uuid(SsoConnections::Id))
                    .col(uuid_uniq(SsoConnections::OrganizationId))
                    .col(string_len(SsoConnections::Protocol, 16))
                    .col(boolean(SsoConnections::Enabled))
                    .col(boolean(SsoConnections::Enforced))
                    .col(timestamp_with_time_zone_null(SsoConnections::EnforcedSince))
                    .col(boolean(SsoConnections::JitProvisioning))
                    .col(uuid_null(SsoConnections::DefaultRoleId))
                    .col(string_len_null(SsoConnections::Issuer, 512))
                    .col(string_len_null(SsoConnections::ClientId, 255))
                    .col(text_null(SsoConnections::ClientSecretSealed))
                    .col(text_null(SsoConnections::ProviderMetadata))
                    .col(text_null(SsoConnections::ProviderJwks))
                    .col(timestamp_with_time_zone_null(
                        SsoConnections::MetadataFetchedAt,
                    ))
                    .col(uuid_null(SsoConnections::CreatedBy))
                    .col(timestamp_with_time_zone(SsoConnections::CreatedAt))
                    .col(timestamp_with_time_zone(SsoConnections::UpdatedAt))
                    .foreign_key(&mut organization_key(
                        SsoConnections::Table,
                        SsoConnections::OrganizationId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganizationDomains::Table)
                    .col(pk_uuid(OrganizationDomains::Id))
                    .col(uuid(OrganizationDomains::OrganizationId))
                    .col(string_len(OrganizationDomains::Domain, 253))
                    .col(string_len(OrganizationDomains::Challenge, 64))
                    .col(uuid_null(OrganizationDomains::CreatedBy))
                    .col(timestamp_with_time_zone(OrganizationDomains::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        OrganizationDomains::VerifiedAt,
                    ))
                    .foreign_key(&mut organization_key(
                        OrganizationDomains::Table,
                        OrganizationDomains::OrganizationId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("organization_domains_organization_domain")
                    .table(OrganizationDomains::Table)
                    .col(OrganizationDomains::OrganizationId)
                    .col(OrganizationDomains::Domain)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One organization at a time holds a domain verified: a partial unique index, which
        // both databases enforce against parallel verifications.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX organization_domains_verified ON organization_domains (domain) \
                 WHERE verified_at IS NOT NULL",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoIdentities::Table)
                    .col(pk_uuid(SsoIdentities::Id))
                    .col(uuid(SsoIdentities::OrganizationId))
                    .col(uuid(SsoIdentities::UserId))
                    .col(string_len(SsoIdentities::Issuer, 512))
                    .col(string_len(SsoIdentities::Subject, 255))
                    .col(timestamp_with_time_zone(SsoIdentities::CreatedAt))
                    .col(timestamp_with_time_zone(SsoIdentities::LastSignInAt))
                    .foreign_key(&mut organization_key(
                        SsoIdentities::Table,
                        SsoIdentities::OrganizationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SsoIdentities::Table, SsoIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sso_identities_subject")
                    .table(SsoIdentities::Table)
                    .col(SsoIdentities::OrganizationId)
                    .col(SsoIdentities::Issuer)
                    .col(SsoIdentities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoLogins::Table)
                    .col(pk_uuid(SsoLogins::Id))
                    .col(string_len_uniq(SsoLogins::StateHash, 64))
                    .col(string_len(SsoLogins::BrowserHash, 64))
                    .col(uuid(SsoLogins::OrganizationId))
                    .col(string_len(SsoLogins::Issuer, 512))
                    .col(string_len(SsoLogins::Nonce, 128))
                    .col(string_len(SsoLogins::PkceVerifier, 128))
                    .col(text(SsoLogins::ReturnTo))
                    .col(timestamp_with_time_zone(SsoLogins::CreatedAt))
                    .col(timestamp_with_time_zone(SsoLogins::ExpiresAt))
                    .foreign_key(&mut organization_key(
                        SsoLogins::Table,
                        SsoLogins::OrganizationId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoCodes::Table)
                    .col(string_len(SsoCodes::CodeHash, 64).primary_key())
                    .col(uuid(SsoCodes::UserId))
                    .col(uuid(SsoCodes::OrganizationId))
                    .col(string_len(SsoCodes::Issuer, 512))
                    .col(timestamp_with_time_zone(SsoCodes::CreatedAt))
                    .col(timestamp_with_time_zone(SsoCodes::ExpiresAt))
                    .foreign_key(&mut organization_key(
                        SsoCodes::Table,
                        SsoCodes::OrganizationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SsoCodes::Table, SsoCodes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SsoCodes::Table.into_iden(),
            SsoLogins::Table.into_iden(),
            SsoIdentities::Table.into_iden(),
            OrganizationDomains::Table.into_iden(),
            SsoConnections::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            Sessions::AuthMethod.into_iden(),
            Sessions::IdpIssuer.into_iden(),
            Sessions::IdpOrganizationId.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
