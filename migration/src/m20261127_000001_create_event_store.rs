//! The append-only `events` table and the `command_log` that makes command
//! ids idempotent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Position,
    EventId,
    StreamId,
    StreamType,
    Version,
    EventType,
    SchemaVersion,
    Data,
    Metadata,
    RecordedAt,
}

#[derive(DeriveIden)]
enum CommandLog {
    Table,
    CommandId,
    CommandName,
    StreamId,
    FirstPosition,
    LastPosition,
    Version,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(
                        ColumnDef::new(Events::Position)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Events::EventId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Events::StreamId).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Events::StreamType)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Events::Version).integer().not_null())
                    .col(ColumnDef::new(Events::EventType).string_len(200).not_null())
                    .col(ColumnDef::new(Events::SchemaVersion).integer().not_null())
                    .col(ColumnDef::new(Events::Data).json_binary().not_null())
                    .col(ColumnDef::new(Events::Metadata).json_binary().not_null())
                    .col(
                        ColumnDef::new(Events::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Stream reads, and the per-stream version uniqueness that backs
        // optimistic concurrency.
        manager
            .create_index(
                Index::create()
                    .name("ux_events_stream_version")
                    .table(Events::Table)
                    .col(Events::StreamId)
                    .col(Events::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_event_type")
                    .table(Events::Table)
                    .col(Events::EventType)
                    .col(Events::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_recorded_at")
                    .table(Events::Table)
                    .col(Events::RecordedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CommandLog::Table)
                    .col(
                        ColumnDef::new(CommandLog::CommandId)
                            .string_len(200)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CommandLog::CommandName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommandLog::StreamId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommandLog::FirstPosition)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommandLog::LastPosition)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CommandLog::Version).integer().not_null())
                    .col(
                        ColumnDef::new(CommandLog::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        // Invariant 1: events are immutable. The database itself refuses to
        // update or delete an event row, whoever asks.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION chronicle_events_append_only() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN \
                     RAISE EXCEPTION 'events are append-only'; END $$;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events \
                     FOR EACH ROW EXECUTE FUNCTION chronicle_events_append_only();",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events \
                     FOR EACH STATEMENT EXECUTE FUNCTION chronicle_events_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events \
                     BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events \
                     BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP FUNCTION IF EXISTS chronicle_events_append_only() CASCADE",
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CommandLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
