//! Command ids are scoped to the caller (the stored key is
//! `<len(user)>:<user>:<command id>`, so it needs more room than the 200
//! characters a client may send), and the log remembers a fingerprint of
//! the command so a reused id with another payload is refused.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CommandLog {
    Table,
    PayloadHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite does not enforce VARCHAR lengths; PostgreSQL does.
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE command_log ALTER COLUMN command_id TYPE varchar(512)",
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CommandLog::Table)
                    .add_column(ColumnDef::new(CommandLog::PayloadHash).big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CommandLog::Table)
                    .drop_column(CommandLog::PayloadHash)
                    .to_owned(),
            )
            .await
    }
}
