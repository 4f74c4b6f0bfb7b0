//! The audit log: append-only events, hash-chained per organization (and per user for their
//! own security events), with the head of each chain kept for locking and appending.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Chain,
    Seq,
    OrganizationId,
    SubjectUserId,
    ActorId,
    ActorEmail,
    Ip,
    UserAgent,
    At,
    Action,
    TargetType,
    TargetId,
    Description,
    Payload,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    Chain,
    Seq,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(string_len(AuditEvents::Chain, 64))
                    .col(big_integer(AuditEvents::Seq))
                    .col(uuid_null(AuditEvents::OrganizationId))
                    .col(uuid_null(AuditEvents::SubjectUserId))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(string_len_null(AuditEvents::ActorEmail, 320))
                    .col(string_len_null(AuditEvents::Ip, 64))
                    .col(string_len_null(AuditEvents::UserAgent, 512))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len_null(AuditEvents::TargetType, 32))
                    .col(string_len_null(AuditEvents::TargetId, 64))
                    .col(text(AuditEvents::Description))
                    .col(text(AuditEvents::Payload))
                    .col(string_len(AuditEvents::PrevHash, 64))
                    .col(string_len(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        // One index per filter of the audit log page, each ending in seq for newest-first order.
        for (name, columns, unique) in [
            (
                "audit_events_chain_seq",
                vec![AuditEvents::Chain, AuditEvents::Seq],
                true,
            ),
            (
                "audit_events_chain_action_seq",
                vec![AuditEvents::Chain, AuditEvents::Action, AuditEvents::Seq],
                false,
            ),
            (
                "audit_events_chain_actor_seq",
                vec![AuditEvents::Chain, AuditEvents::ActorId, AuditEvents::Seq],
                false,
            ),
            (
                "audit_events_chain_at",
                vec![AuditEvents::Chain, AuditEvents::At],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditHeads::Table)
                    .col(string_len(AuditHeads::Chain, 64).primary_key())
                    .col(big_integer(AuditHeads::Seq))
                    .col(string_len(AuditHeads::Hash, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditHeads::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
