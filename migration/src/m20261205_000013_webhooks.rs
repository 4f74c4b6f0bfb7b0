//! Webhooks from the audit log: an organization's endpoints (each with a cursor into the
//! organization's audit chain: events past it are due), the deliveries made from those events
//! with their leases and schedule, every attempt of each, and the signed checkpoints of the
//! chains' heads.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganizationId,
    /// The organization's audit chain (`org:<id>`), to compare with its head.
    Chain,
    Url,
    Description,
    /// JSON array of event names and `prefix.*` patterns.
    Events,
    SecretSealed,
    PreviousSecretSealed,
    PreviousSecretUntil,
    Enabled,
    DisabledReason,
    /// The last sequence number of the chain already turned into deliveries.
    CursorSeq,
    FailingSince,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    OrganizationId,
    MessageId,
    EventType,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    LastAttemptAt,
    LastStatusCode,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    At,
    StatusCode,
    DurationMs,
    Error,
    Response,
}

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    Id,
    OrganizationId,
    Seq,
    HeadHash,
    At,
    KeyId,
    Signature,
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
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(uuid(WebhookEndpoints::OrganizationId))
                    .col(string_len(WebhookEndpoints::Chain, 64))
                    .col(text(WebhookEndpoints::Url))
                    .col(text_null(WebhookEndpoints::Description))
                    .col(text(WebhookEndpoints::Events))
                    .col(text(WebhookEndpoints::SecretSealed))
                    .col(text_null(WebhookEndpoints::PreviousSecretSealed))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretUntil,
                    ))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(string_len_null(WebhookEndpoints::DisabledReason, 255))
                    .col(big_integer(WebhookEndpoints::CursorSeq))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::FailingSince,
                    ))
                    .col(uuid_null(WebhookEndpoints::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookEndpoints::Table, WebhookEndpoints::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::OrganizationId))
                    .col(string_len(WebhookDeliveries::MessageId, 64))
                    .col(string_len(WebhookDeliveries::EventType, 64))
                    .col(text(WebhookDeliveries::Body))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::NextAttemptAt,
                    ))
                    .col(uuid_null(WebhookDeliveries::LeaseOwner))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(string_len_null(WebhookDeliveries::LastError, 255))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(uuid(WebhookAttempts::Id).primary_key())
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(timestamp_with_time_zone(WebhookAttempts::At))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(integer(WebhookAttempts::DurationMs))
                    .col(string_len_null(WebhookAttempts::Error, 255))
                    .col(text_null(WebhookAttempts::Response))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(uuid(AuditCheckpoints::Id).primary_key())
                    .col(uuid(AuditCheckpoints::OrganizationId))
                    .col(big_integer(AuditCheckpoints::Seq))
                    .col(string_len(AuditCheckpoints::HeadHash, 64))
                    .col(timestamp_with_time_zone(AuditCheckpoints::At))
                    .col(string_len(AuditCheckpoints::KeyId, 128))
                    .col(text(AuditCheckpoints::Signature))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditCheckpoints::Table, AuditCheckpoints::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "webhook_endpoints_organization",
                WebhookEndpoints::Table.into_iden(),
                vec![WebhookEndpoints::OrganizationId.into_iden()],
            ),
            (
                "webhook_endpoints_chain",
                WebhookEndpoints::Table.into_iden(),
                vec![WebhookEndpoints::Chain.into_iden()],
            ),
            (
                "webhook_deliveries_due",
                WebhookDeliveries::Table.into_iden(),
                vec![
                    WebhookDeliveries::Status.into_iden(),
                    WebhookDeliveries::NextAttemptAt.into_iden(),
                ],
            ),
            (
                "webhook_deliveries_endpoint",
                WebhookDeliveries::Table.into_iden(),
                vec![
                    WebhookDeliveries::EndpointId.into_iden(),
                    WebhookDeliveries::Id.into_iden(),
                ],
            ),
            (
                "webhook_attempts_delivery",
                WebhookAttempts::Table.into_iden(),
                vec![
                    WebhookAttempts::DeliveryId.into_iden(),
                    WebhookAttempts::Id.into_iden(),
                ],
            ),
            (
                "audit_checkpoints_organization",
                AuditCheckpoints::Table.into_iden(),
                vec![
                    AuditCheckpoints::OrganizationId.into_iden(),
                    AuditCheckpoints::Seq.into_iden(),
                ],
            ),
        ];
        for (name, table, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditCheckpoints::Table.into_iden(),
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
