//! Chronicle's schema, one timestamped migration per change.
//! Architecture invariant: a committed migration is never edited; add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_event_store;
mod m20261127_000002_create_read_models;
mod m20261128_000003_create_snapshots;
mod m20261129_000004_scope_command_ids;
mod m20261129_000005_order_lines_as_rows;

/// All migrations in order; run on every start.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_event_store::Migration),
            Box::new(m20261127_000002_create_read_models::Migration),
            Box::new(m20261128_000003_create_snapshots::Migration),
            Box::new(m20261129_000004_scope_command_ids::Migration),
            Box::new(m20261129_000005_order_lines_as_rows::Migration),
        ]
    }
}
