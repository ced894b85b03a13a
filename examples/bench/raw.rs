//! Phase 1: raw-database baselines through the same SeaORM pool.

use std::sync::Arc;

use chronicle::db::Db;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::Value;

use crate::figures::{Measured, sequentially};
use crate::store::{concurrently, order_created};

const RAW_TABLE: &str = "bench_raw";
const RAW_EVENTS_TABLE: &str = "bench_events_copy";

/// The scratch tables of phase 1: `bench_raw` (shaped like `events`) and a
/// copy of `events` with all its columns and indexes.
pub async fn create_tables(db: &Db) -> anyhow::Result<()> {
    create_raw_table(db).await?;
    create_raw_events_table(db).await
}

async fn create_raw_table(db: &Db) -> anyhow::Result<()> {
    // The shape of `events`: bigint autoincrement position, text, int, JSON.
    let ddl = match db.backend() {
        DbBackend::Postgres => format!(
            "CREATE TABLE {RAW_TABLE} (position BIGSERIAL PRIMARY KEY, \
             stream_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL)"
        ),
        _ => format!(
            "CREATE TABLE {RAW_TABLE} (position INTEGER PRIMARY KEY AUTOINCREMENT, \
             stream_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL)"
        ),
    };
    db.conn().execute_unprepared(&ddl).await?;
    Ok(())
}

fn raw_insert(db: &Db, i: usize, payload: &str) -> Statement {
    let sql = match db.backend() {
        DbBackend::Postgres => {
            format!("INSERT INTO {RAW_TABLE} (stream_id, version, data) VALUES ($1, $2, $3)")
        }
        _ => format!("INSERT INTO {RAW_TABLE} (stream_id, version, data) VALUES (?, ?, ?)"),
    };
    Statement::from_sql_and_values(
        db.backend(),
        sql,
        [
            format!("raw-{i}").into(),
            1i32.into(),
            payload.to_owned().into(),
        ],
    )
}

/// One statement in an explicit BEGIN … COMMIT.
async fn in_own_txn(db: &Db, statement: Statement) -> anyhow::Result<()> {
    let txn = db.conn().begin().await?;
    txn.execute_raw(statement).await?;
    txn.commit().await?;
    Ok(())
}

/// N INSERTs, each in an explicit BEGIN … COMMIT (the append path's shape).
pub async fn bench_raw_txn(
    db: &Db,
    first: usize,
    n: usize,
    payload: &str,
) -> anyhow::Result<Measured> {
    sequentially(first, n, async |i| {
        in_own_txn(db, raw_insert(db, i, payload)).await
    })
    .await
}

/// A copy of `events` with the same columns, types and indexes (but no
/// triggers, and its own sequence), for 1c.
async fn create_raw_events_table(db: &Db) -> anyhow::Result<()> {
    let t = RAW_EVENTS_TABLE;
    let table = match db.backend() {
        DbBackend::Postgres => format!(
            "CREATE TABLE {t} (position BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL UNIQUE, \
             stream_id VARCHAR(200) NOT NULL, stream_type VARCHAR(100) NOT NULL, \
             version INTEGER NOT NULL, event_type VARCHAR(200) NOT NULL, \
             schema_version INTEGER NOT NULL, data JSONB NOT NULL, metadata JSONB NOT NULL, \
             recorded_at TIMESTAMPTZ NOT NULL)"
        ),
        _ => format!(
            "CREATE TABLE {t} (position INTEGER PRIMARY KEY AUTOINCREMENT, \
             event_id uuid_text NOT NULL UNIQUE, stream_id varchar(200) NOT NULL, \
             stream_type varchar(100) NOT NULL, version integer NOT NULL, \
             event_type varchar(200) NOT NULL, schema_version integer NOT NULL, \
             data jsonb_text NOT NULL, metadata jsonb_text NOT NULL, \
             recorded_at timestamp_with_timezone_text NOT NULL)"
        ),
    };
    db.conn().execute_unprepared(&table).await?;
    for ddl in [
        format!("CREATE UNIQUE INDEX ux_{t}_stream_version ON {t} (stream_id, version)"),
        format!("CREATE INDEX ix_{t}_event_type ON {t} (event_type, position)"),
        format!("CREATE INDEX ix_{t}_recorded_at ON {t} (recorded_at)"),
    ] {
        db.conn().execute_unprepared(&ddl).await?;
    }
    Ok(())
}

/// One event row bound with the same value types the `events` entity binds.
fn raw_event_insert(db: &Db, i: usize) -> Statement {
    let event = order_created(i);
    let metadata = serde_json::to_value(&event.metadata).unwrap_or(Value::Null);
    let columns = "event_id, stream_id, stream_type, version, event_type, schema_version, \
                   data, metadata, recorded_at";
    let placeholders = match db.backend() {
        DbBackend::Postgres => "$1, $2, $3, $4, $5, $6, $7, $8, $9",
        _ => "?, ?, ?, ?, ?, ?, ?, ?, ?",
    };
    Statement::from_sql_and_values(
        db.backend(),
        format!("INSERT INTO {RAW_EVENTS_TABLE} ({columns}) VALUES ({placeholders})"),
        [
            uuid::Uuid::new_v4().into(),
            uuid::Uuid::new_v4().to_string().into(),
            "Order".into(),
            1i32.into(),
            event.event_type.into(),
            event.schema_version.into(),
            event.data.into(),
            metadata.into(),
            chrono::Utc::now().into(),
        ],
    )
}

/// N event-shaped INSERTs into the copy of `events`, each in its own
/// BEGIN … COMMIT: the database's share of an append.
pub async fn bench_raw_events(db: &Db, first: usize, n: usize) -> anyhow::Result<Measured> {
    sequentially(first, n, async |i| {
        in_own_txn(db, raw_event_insert(db, i)).await
    })
    .await
}

/// N INSERTs in autocommit mode (an implicit transaction each).
pub async fn bench_raw_autocommit(
    db: &Db,
    first: usize,
    n: usize,
    payload: &str,
) -> anyhow::Result<Measured> {
    sequentially(first, n, async |i| {
        db.conn().execute_raw(raw_insert(db, i, payload)).await?;
        Ok(())
    })
    .await
}

/// Raw INSERTs from concurrent tasks, each in a write transaction of the
/// project's discipline (`Db::begin_write`: a plain BEGIN on PostgreSQL, the
/// process write lock + BEGIN on SQLite): what concurrency gives without the
/// append lock.
pub async fn bench_raw_concurrent(
    db: &Db,
    first: usize,
    n: usize,
    tasks: usize,
    payload: &str,
) -> anyhow::Result<Measured> {
    let db = db.clone();
    let payload: Arc<str> = payload.into();
    concurrently(first, n, tasks, move |i| {
        let db = db.clone();
        let payload = payload.clone();
        async move {
            let tx = db.begin_write().await?;
            tx.txn.execute_raw(raw_insert(&db, i, &payload)).await?;
            tx.commit().await?;
            Ok(())
        }
    })
    .await
}
