//! An order's lines become rows of their own (`order_detail_lines`)
//! instead of a JSON array in `order_details.items`: adding a line to an
//! order of 90 lines wrote one small row, not the 90 lines again (a
//! multi-KB JSON value, parsed and TOASTed by PostgreSQL per write, was
//! most of the projection's time under load).
//!
//! Existing rows are moved over in SQL on both backends, in the array's
//! order (`added_version` 0 and the index in the array: lines the
//! projection adds later get their event's version, so they sort after).
//! Then `items` is dropped.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrderDetailLines {
    Table,
    Generation,
    OrderId,
    Sku,
    Name,
    UnitPrice,
    Quantity,
    AddedVersion,
    LineIndex,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrderDetailLines::Table)
                    .col(
                        ColumnDef::new(OrderDetailLines::Generation)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::OrderId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::Sku)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::Name)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::UnitPrice)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::Quantity)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::AddedVersion)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetailLines::LineIndex)
                            .integer()
                            .not_null(),
                    )
                    // The order first: every read names its orders, and a
                    // key led by the generation let PostgreSQL, with stale
                    // statistics (a table that grew from empty), scan a
                    // whole generation and filter the orders (34 listings
                    // a second instead of thousands).
                    .primary_key(
                        Index::create()
                            .col(OrderDetailLines::OrderId)
                            .col(OrderDetailLines::Generation)
                            .col(OrderDetailLines::Sku),
                    )
                    .to_owned(),
            )
            .await?;
        // A SKU is unique within an order (the domain refuses a second
        // line of one); should a row hold two anyway, the first is kept.
        let copy = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "INSERT INTO order_detail_lines \
                 (generation, order_id, sku, name, unit_price, quantity, added_version, line_index) \
                 SELECT d.generation, d.order_id, l.value->>'sku', l.value->>'name', \
                 l.value->>'unitPrice', (l.value->>'quantity')::integer, 0, (l.n - 1)::integer \
                 FROM order_details d \
                 CROSS JOIN LATERAL jsonb_array_elements(d.items) WITH ORDINALITY AS l(value, n) \
                 ORDER BY d.generation, d.order_id, l.n \
                 ON CONFLICT DO NOTHING"
            }
            _ => {
                "INSERT INTO order_detail_lines \
                 (generation, order_id, sku, name, unit_price, quantity, added_version, line_index) \
                 SELECT d.generation, d.order_id, json_extract(l.value, '$.sku'), \
                 json_extract(l.value, '$.name'), CAST(json_extract(l.value, '$.unitPrice') AS TEXT), \
                 CAST(json_extract(l.value, '$.quantity') AS INTEGER), 0, CAST(l.key AS INTEGER) \
                 FROM order_details d, json_each(d.items) l \
                 ORDER BY d.generation, d.order_id, l.key \
                 ON CONFLICT DO NOTHING"
            }
        };
        let conn = manager.get_connection();
        conn.execute_unprepared(copy).await?;
        conn.execute_unprepared("ALTER TABLE order_details DROP COLUMN items")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let (add, fill) = match manager.get_database_backend() {
            DbBackend::Postgres => (
                "ALTER TABLE order_details ADD COLUMN items jsonb NOT NULL DEFAULT '[]'::jsonb",
                "UPDATE order_details d SET items = COALESCE((SELECT jsonb_agg(jsonb_build_object(\
                 'sku', l.sku, 'name', l.name, 'unitPrice', l.unit_price, 'quantity', l.quantity) \
                 ORDER BY l.added_version, l.line_index) FROM order_detail_lines l \
                 WHERE l.generation = d.generation AND l.order_id = d.order_id), '[]'::jsonb)",
            ),
            _ => (
                "ALTER TABLE order_details ADD COLUMN items TEXT NOT NULL DEFAULT '[]'",
                "UPDATE order_details SET items = COALESCE((SELECT json_group_array(json_object(\
                 'sku', l.sku, 'name', l.name, 'unitPrice', l.unit_price, 'quantity', l.quantity)) \
                 FROM (SELECT * FROM order_detail_lines l WHERE l.generation = order_details.generation \
                 AND l.order_id = order_details.order_id ORDER BY l.added_version, l.line_index) l), '[]')",
            ),
        };
        conn.execute_unprepared(add).await?;
        conn.execute_unprepared(fill).await?;
        manager
            .drop_table(Table::drop().table(OrderDetailLines::Table).to_owned())
            .await
    }
}
