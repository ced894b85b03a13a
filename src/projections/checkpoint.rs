//! The `checkpoints` table: per projection and generation, how far it got,
//! whether it is the live one, and why it stopped if it did.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, DeriveValueType, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, prelude::Expr,
};

use crate::db::Db;

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "checkpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub generation: i32,
        pub live: bool,
        pub position: i64,
        pub state: super::ProjectionState,
        pub last_error: Option<String>,
        pub failed_position: Option<i64>,
        pub last_event_at: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity};

/// Whether a projection is keeping up or stuck (a text column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum ProjectionState {
    /// Applying events as they come.
    Running,
    /// Stopped at `failed_position`; retried with backoff.
    Failed,
}

impl fmt::Display for ProjectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProjectionState::Running => "RUNNING",
            ProjectionState::Failed => "FAILED",
        })
    }
}

impl FromStr for ProjectionState {
    type Err = DbErr;

    /// Anything but FAILED reads as running (the column's only other value).
    fn from_str(s: &str) -> Result<Self, DbErr> {
        Ok(if s == "FAILED" {
            ProjectionState::Failed
        } else {
            ProjectionState::Running
        })
    }
}

/// One row of `checkpoints`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The projection.
    pub name: String,
    /// The read-model generation this checkpoint belongs to.
    pub generation: i32,
    /// Whether queries read this generation.
    pub live: bool,
    /// The last position applied.
    pub position: i64,
    /// Running or failed.
    pub state: ProjectionState,
    /// Why it failed, while failed.
    pub last_error: Option<String>,
    /// Where it failed, while failed.
    pub failed_position: Option<i64>,
    /// When the last applied event was recorded.
    pub last_event_at: Option<DateTime<Utc>>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<entity::Model> for Checkpoint {
    fn from(m: entity::Model) -> Self {
        Checkpoint {
            name: m.name,
            generation: m.generation,
            live: m.live,
            position: m.position,
            state: m.state,
            last_error: m.last_error,
            failed_position: m.failed_position,
            last_event_at: m.last_event_at,
            updated_at: m.updated_at,
        }
    }
}

/// Inserts a checkpoint at position 0. When `live`, an existing row of that
/// generation is made live instead (only called when none is live).
async fn insert_if_missing(db: &Db, name: &str, generation: i32, live: bool) -> Result<(), DbErr> {
    let tx = db.begin_write().await?;
    Entity::insert(ActiveModel {
        name: Set(name.to_owned()),
        generation: Set(generation),
        live: Set(live),
        position: Set(0),
        state: Set(ProjectionState::Running),
        last_error: Set(None),
        failed_position: Set(None),
        last_event_at: Set(None),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(if live {
        OnConflict::columns([Column::Name, Column::Generation])
            .update_column(Column::Live)
            .to_owned()
    } else {
        OnConflict::columns([Column::Name, Column::Generation])
            .do_nothing()
            .to_owned()
    })
    .exec_without_returning(&tx.txn)
    .await?;
    tx.commit().await
}

/// The live generation of a projection (creating generation 1 on first use).
pub async fn live_generation(db: &Db, name: &str) -> Result<i32, DbErr> {
    loop {
        let live: Option<i32> = Entity::find()
            .select_only()
            .column(Column::Generation)
            .filter(Column::Name.eq(name))
            .filter(Column::Live.eq(true))
            .into_tuple()
            .one(db.conn())
            .await?;
        if let Some(generation) = live {
            return Ok(generation);
        }
        insert_if_missing(db, name, 1, true).await?;
    }
}

/// A generation's checkpoint, if it has one.
pub async fn load(db: &Db, name: &str, generation: i32) -> Result<Option<Checkpoint>, DbErr> {
    Ok(Entity::find_by_id((name.to_owned(), generation))
        .one(db.conn())
        .await?
        .map(Checkpoint::from))
}

/// The newest generation that is not live, if it is newer than the live
/// one: a rebuild in progress.
pub async fn newest_not_live(db: &Db, name: &str) -> Result<Option<Checkpoint>, DbErr> {
    let live = live_generation(db, name).await?;
    Ok(Entity::find()
        .filter(Column::Name.eq(name))
        .filter(Column::Live.eq(false))
        .filter(Column::Generation.gt(live))
        .order_by_desc(Column::Generation)
        .one(db.conn())
        .await?
        .map(Checkpoint::from))
}

/// The highest generation number ever used by a projection.
pub async fn max_generation(db: &Db, name: &str) -> Result<i32, DbErr> {
    let max: Option<Option<i32>> = Entity::find()
        .select_only()
        .column_as(Column::Generation.max(), "max")
        .filter(Column::Name.eq(name))
        .into_tuple()
        .one(db.conn())
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Makes `new` the live generation instead of `old`, if `new` has got at
/// least as far as `old` (so readers never step back). Returns whether it
/// switched. Both rows are locked for the check.
pub async fn swap_live(db: &Db, name: &str, old: i32, new: i32) -> Result<bool, DbErr> {
    let tx = db.begin_write().await?;
    let old_position = lock_position(&tx.txn, name, old).await?;
    let new_position = lock_position(&tx.txn, name, new).await?;
    if new_position < old_position {
        tx.rollback().await?;
        return Ok(false);
    }
    for (generation, live) in [(old, false), (new, true)] {
        Entity::update_many()
            .col_expr(Column::Live, Expr::value(live))
            .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(Column::Name.eq(name))
            .filter(Column::Generation.eq(generation))
            .exec(&tx.txn)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Deletes a (retired) generation's checkpoint inside `txn`.
pub async fn delete<C: ConnectionTrait>(txn: &C, name: &str, generation: i32) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::Name.eq(name))
        .filter(Column::Generation.eq(generation))
        .filter(Column::Live.eq(false))
        .exec(txn)
        .await?;
    Ok(())
}

/// A generation's checkpoint, created at position 0 if it has none yet.
pub async fn load_or_create(db: &Db, name: &str, generation: i32) -> Result<Checkpoint, DbErr> {
    loop {
        if let Some(m) = Entity::find_by_id((name.to_owned(), generation))
            .one(db.conn())
            .await?
        {
            return Ok(m.into());
        }
        insert_if_missing(db, name, generation, false).await?;
    }
}

/// Reads the position inside a write transaction, locking the row on
/// PostgreSQL so two workers cannot commit the same batch.
pub async fn lock_position<C: ConnectionTrait>(
    txn: &C,
    name: &str,
    generation: i32,
) -> Result<i64, DbErr> {
    let mut query = Entity::find()
        .select_only()
        .column(Column::Position)
        .filter(Column::Name.eq(name))
        .filter(Column::Generation.eq(generation));
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let position: Option<i64> = query.into_tuple().one(txn).await?;
    position.ok_or_else(|| DbErr::RecordNotFound(format!("checkpoint {name}/{generation}")))
}

/// Moves the checkpoint from `from` to `position` and clears any failure,
/// inside `txn`, if it is still at `from`: whether it was. On PostgreSQL the
/// update locks the row until `txn` ends, so of two workers applying the
/// same batch the second waits, then finds the checkpoint moved. With
/// `notify` (PostgreSQL), the same statement queues that notification (sent
/// on commit) and lets the commit skip its WAL flush (invariant 5): one
/// round trip for all three.
pub async fn advance_from<C: ConnectionTrait>(
    txn: &C,
    name: &str,
    generation: i32,
    (from, position): (i64, i64),
    last_event_at: DateTime<Utc>,
    notify: Option<(&str, String)>,
) -> Result<bool, DbErr> {
    let update = Entity::update_many()
        .col_expr(Column::Position, Expr::value(position))
        .col_expr(Column::State, Expr::value(ProjectionState::Running))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(Column::FailedPosition, Expr::value(Option::<i64>::None))
        .col_expr(Column::LastEventAt, Expr::value(Some(last_event_at)))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Name.eq(name))
        .filter(Column::Generation.eq(generation))
        .filter(Column::Position.eq(from));
    let Some((channel, payload)) = notify else {
        return Ok(update.exec(txn).await?.rows_affected == 1);
    };
    let backend = txn.get_database_backend();
    let built = backend.build(&update.into_query());
    let mut values = built.values.map(|v| v.0).unwrap_or_default();
    let n = values.len();
    values.push(channel.into());
    values.push(payload.into());
    let sql = built.sql;
    let sql = format!(
        "WITH moved AS ({sql} RETURNING 1) \
         SELECT (SELECT count(*) FROM moved) AS n, pg_notify(${}, ${}), \
         set_config('synchronous_commit', 'off', true)",
        n + 1,
        n + 2
    );
    let row = txn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("advancing a checkpoint returned no row".into()))?;
    let moved: i64 = row.try_get("", "n")?;
    Ok(moved == 1)
}

/// Records that the projection stopped at `position` and why.
pub async fn mark_failed(
    db: &Db,
    name: &str,
    generation: i32,
    position: i64,
    error: &str,
) -> Result<(), DbErr> {
    let tx = db.begin_write().await?;
    Entity::update_many()
        .col_expr(Column::State, Expr::value(ProjectionState::Failed))
        .col_expr(Column::LastError, Expr::value(Some(error.to_owned())))
        .col_expr(Column::FailedPosition, Expr::value(Some(position)))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Name.eq(name))
        .filter(Column::Generation.eq(generation))
        .exec(&tx.txn)
        .await?;
    tx.commit().await
}
