//! Aggregate snapshots. History is kept (one row per snapshot taken), so
//! time travel can start from the nearest earlier one; each carries the
//! schema version of the state it holds.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Snapshots {
    Table,
    StreamId,
    StreamType,
    SchemaVersion,
    Version,
    State,
    EventRecordedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Snapshots::Table)
                    .col(
                        ColumnDef::new(Snapshots::StreamId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Snapshots::StreamType)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Snapshots::SchemaVersion)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Snapshots::Version).integer().not_null())
                    .col(ColumnDef::new(Snapshots::State).json_binary().not_null())
                    .col(
                        ColumnDef::new(Snapshots::EventRecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Snapshots::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Snapshots::StreamId)
                            .col(Snapshots::SchemaVersion)
                            .col(Snapshots::Version),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Snapshots::Table).to_owned())
            .await
    }
}
