//! The W3C `traceparent` of the request that wrote an audit event, carried on to the webhook
//! deliveries of that event, so that a delivery's trace continues the request's. Not part of
//! the event's hash: it is where the work ran, not what happened.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    TraceParent,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    TraceParent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::add_columns(
            manager,
            AuditEvents::Table,
            vec![string_len_null(AuditEvents::TraceParent, 55)],
        )
        .await?;
        crate::add_columns(
            manager,
            WebhookDeliveries::Table,
            vec![string_len_null(WebhookDeliveries::TraceParent, 55)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_columns(manager, AuditEvents::Table, vec![AuditEvents::TraceParent]).await?;
        crate::drop_columns(
            manager,
            WebhookDeliveries::Table,
            vec![WebhookDeliveries::TraceParent],
        )
        .await
    }
}
