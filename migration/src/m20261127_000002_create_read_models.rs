//! Projection checkpoints and the first read models. Every read-model row
//! carries the `generation` it was built in, so a rebuild can fill a new
//! generation beside the live one and switch over in one transaction.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Checkpoints {
    Table,
    Name,
    Generation,
    Live,
    Position,
    State,
    LastError,
    FailedPosition,
    LastEventAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderDetails {
    Table,
    Generation,
    OrderId,
    CustomerId,
    Status,
    Items,
    TotalAmount,
    TrackingNumber,
    PaymentReference,
    CancelReason,
    Version,
    CreatedPosition,
    LastPosition,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CustomerOrderHistory {
    Table,
    Generation,
    CustomerId,
    OrderId,
    Status,
    TotalAmount,
    CreatedPosition,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SalesStats {
    Table,
    Generation,
    Day,
    OrdersCreated,
    OrdersPlaced,
    OrdersPaid,
    OrdersShipped,
    OrdersCancelled,
    Revenue,
}

fn timestamp(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Checkpoints::Table)
                    .col(ColumnDef::new(Checkpoints::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Checkpoints::Generation).integer().not_null())
                    .col(ColumnDef::new(Checkpoints::Live).boolean().not_null())
                    .col(
                        ColumnDef::new(Checkpoints::Position)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Checkpoints::State).string_len(20).not_null())
                    .col(ColumnDef::new(Checkpoints::LastError).text().null())
                    .col(
                        ColumnDef::new(Checkpoints::FailedPosition)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Checkpoints::LastEventAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(Checkpoints::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Checkpoints::Name)
                            .col(Checkpoints::Generation),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderDetails::Table)
                    .col(
                        ColumnDef::new(OrderDetails::Generation)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetails::OrderId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetails::CustomerId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetails::Status)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OrderDetails::Items).json_binary().not_null())
                    .col(
                        ColumnDef::new(OrderDetails::TotalAmount)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetails::TrackingNumber)
                            .string_len(200)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetails::PaymentReference)
                            .string_len(200)
                            .null(),
                    )
                    .col(ColumnDef::new(OrderDetails::CancelReason).text().null())
                    .col(ColumnDef::new(OrderDetails::Version).integer().not_null())
                    .col(
                        ColumnDef::new(OrderDetails::CreatedPosition)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrderDetails::LastPosition)
                            .big_integer()
                            .not_null(),
                    )
                    .col(timestamp(OrderDetails::CreatedAt))
                    .col(timestamp(OrderDetails::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(OrderDetails::Generation)
                            .col(OrderDetails::OrderId),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_order_details_created",
                vec![OrderDetails::CreatedPosition],
            ),
            (
                "ix_order_details_status",
                vec![OrderDetails::Status, OrderDetails::CreatedPosition],
            ),
            (
                "ix_order_details_customer",
                vec![OrderDetails::CustomerId, OrderDetails::CreatedPosition],
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(OrderDetails::Table)
                .col(OrderDetails::Generation)
                .to_owned();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CustomerOrderHistory::Table)
                    .col(
                        ColumnDef::new(CustomerOrderHistory::Generation)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerOrderHistory::CustomerId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerOrderHistory::OrderId)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerOrderHistory::Status)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerOrderHistory::TotalAmount)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerOrderHistory::CreatedPosition)
                            .big_integer()
                            .not_null(),
                    )
                    .col(timestamp(CustomerOrderHistory::CreatedAt))
                    .col(timestamp(CustomerOrderHistory::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(CustomerOrderHistory::Generation)
                            .col(CustomerOrderHistory::CustomerId)
                            .col(CustomerOrderHistory::OrderId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_order_history_order")
                    .table(CustomerOrderHistory::Table)
                    .col(CustomerOrderHistory::Generation)
                    .col(CustomerOrderHistory::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_order_history_newest")
                    .table(CustomerOrderHistory::Table)
                    .col(CustomerOrderHistory::Generation)
                    .col(CustomerOrderHistory::CustomerId)
                    .col(CustomerOrderHistory::CreatedPosition)
                    .to_owned(),
            )
            .await?;

        let count = |col: SalesStats| {
            ColumnDef::new(col)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(SalesStats::Table)
                    .col(ColumnDef::new(SalesStats::Generation).integer().not_null())
                    .col(ColumnDef::new(SalesStats::Day).string_len(10).not_null())
                    .col(count(SalesStats::OrdersCreated))
                    .col(count(SalesStats::OrdersPlaced))
                    .col(count(SalesStats::OrdersPaid))
                    .col(count(SalesStats::OrdersShipped))
                    .col(count(SalesStats::OrdersCancelled))
                    .col(
                        ColumnDef::new(SalesStats::Revenue)
                            .string_len(64)
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(SalesStats::Generation)
                            .col(SalesStats::Day),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SalesStats::Table.into_iden(),
            CustomerOrderHistory::Table.into_iden(),
            OrderDetails::Table.into_iden(),
            Checkpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
