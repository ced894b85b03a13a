//! The database side of the benchmark, in the bench process: raw-INSERT
//! baselines, filling the store with valid event rows, sizes on disk.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait, Value,
};

use crate::stats::{Stats, run_load, us};

/// The scratch copy of `events` the raw INSERT baseline writes.
const RAW_EVENTS: &str = "bench_raw_events";
/// The scratch copies of `order_details` and `order_detail_lines` the raw
/// batched INSERTs write.
const RAW_ORDER_DETAILS: &str = "bench_raw_order_details";
const RAW_ORDER_LINES: &str = "bench_raw_order_detail_lines";
/// Rows per transaction of the fill.
const FILL_BATCH: u64 = 50_000;
/// Rows per transaction of the rebuild baseline (the rebuild's batch).
pub const REBUILD_BATCH: usize = 1_000;
/// Rows per multi-row INSERT statement of the rebuild baseline (bind
/// parameters stay under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 500;

/// A connection pool of the bench's own, opened like the server opens its
/// database (SQLite: WAL, synchronous=NORMAL; one writer at a time).
#[derive(Clone)]
pub struct RawDb {
    /// The pool.
    pub conn: DatabaseConnection,
    /// SQLite's one-writer discipline (the server's write lock).
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// One line of an order as `order_detail_lines` holds it.
#[derive(Clone, Debug)]
pub struct RawLine {
    sku: String,
    name: String,
    unit_price: String,
    quantity: i32,
}

/// One real event row (as the server stored it), as JSON values.
#[derive(Clone, Debug)]
pub struct EventTemplate {
    /// Its position (the fill copies it by position).
    pub position: i64,
    /// `data`.
    pub data: serde_json::Value,
    /// `metadata`.
    pub metadata: serde_json::Value,
    /// Bytes of `data` + `metadata` as JSON text.
    pub json_bytes: usize,
}

impl RawDb {
    /// Connects with a pool of `pool` connections (SQLite: 8, as the server).
    pub async fn connect(url: &str, pool: u32) -> anyhow::Result<RawDb> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
            });
        } else {
            opts.max_connections(pool);
        }
        let conn = Database::connect(opts)
            .await
            .context("connecting (bench)")?;
        Ok(RawDb {
            conn,
            writer: sqlite.then(|| Arc::new(tokio::sync::Mutex::new(()))),
        })
    }

    /// The backend.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    fn pg(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    fn stmt(&self, sql: impl Into<String>, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), sql, values)
    }

    /// `$n` on PostgreSQL, `?` on SQLite.
    fn ph(&self, n: usize) -> String {
        if self.pg() {
            format!("${n}")
        } else {
            "?".into()
        }
    }

    /// A single i64 from a query.
    pub async fn scalar_i64(&self, sql: &str, values: Vec<Value>) -> anyhow::Result<i64> {
        let row = self
            .conn
            .query_one_raw(self.stmt(sql, values))
            .await?
            .context("no row")?;
        Ok(row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0))
    }

    /// A single f64 from a query.
    pub async fn scalar_f64(&self, sql: &str) -> anyhow::Result<f64> {
        let row = self
            .conn
            .query_one_raw(self.stmt(sql, vec![]))
            .await?
            .context("no row")?;
        Ok(row.try_get_by_index::<Option<f64>>(0)?.unwrap_or(0.0))
    }

    /// A single text from a query.
    pub async fn scalar_text(&self, sql: &str, values: Vec<Value>) -> anyhow::Result<String> {
        let row = self
            .conn
            .query_one_raw(self.stmt(sql, values))
            .await?
            .context("no row")?;
        Ok(row
            .try_get_by_index::<Option<String>>(0)?
            .unwrap_or_default())
    }

    /// The event row the server wrote at (stream, version).
    pub async fn event_template(
        &self,
        stream: &str,
        version: i32,
    ) -> anyhow::Result<EventTemplate> {
        let cast = if self.pg() { "::text" } else { "" };
        let sql = format!(
            "SELECT position, data{cast}, metadata{cast} FROM events WHERE stream_id = {} AND version = {}",
            self.ph(1),
            self.ph(2)
        );
        let row = self
            .conn
            .query_one_raw(self.stmt(sql, vec![stream.into(), version.into()]))
            .await?
            .with_context(|| format!("no event {stream} v{version}"))?;
        let position: i64 = row.try_get_by_index(0)?;
        let data: String = row.try_get_by_index(1)?;
        let metadata: String = row.try_get_by_index(2)?;
        Ok(EventTemplate {
            position,
            json_bytes: data.len() + metadata.len(),
            data: serde_json::from_str(&data)?,
            metadata: serde_json::from_str(&metadata)?,
        })
    }

    /// Creates the scratch copy of `events`: the same columns, types and
    /// secondary indexes (no triggers, its own sequence).
    pub async fn create_raw_events(&self) -> anyhow::Result<()> {
        let t = RAW_EVENTS;
        let table = if self.pg() {
            format!(
                "CREATE TABLE {t} (position BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL UNIQUE, \
                 stream_id VARCHAR(200) NOT NULL, stream_type VARCHAR(100) NOT NULL, \
                 version INTEGER NOT NULL, event_type VARCHAR(200) NOT NULL, \
                 schema_version INTEGER NOT NULL, data JSONB NOT NULL, metadata JSONB NOT NULL, \
                 recorded_at TIMESTAMPTZ NOT NULL)"
            )
        } else {
            format!(
                "CREATE TABLE {t} (position INTEGER PRIMARY KEY AUTOINCREMENT, \
                 event_id uuid_text NOT NULL UNIQUE, stream_id varchar(200) NOT NULL, \
                 stream_type varchar(100) NOT NULL, version integer NOT NULL, \
                 event_type varchar(200) NOT NULL, schema_version integer NOT NULL, \
                 data jsonb_text NOT NULL, metadata jsonb_text NOT NULL, \
                 recorded_at timestamp_with_timezone_text NOT NULL)"
            )
        };
        self.conn.execute_unprepared(&table).await?;
        for ddl in [
            format!("CREATE UNIQUE INDEX ux_{t}_stream_version ON {t} (stream_id, version)"),
            format!("CREATE INDEX ix_{t}_event_type ON {t} (event_type, position)"),
            format!("CREATE INDEX ix_{t}_recorded_at ON {t} (recorded_at)"),
        ] {
            self.conn.execute_unprepared(&ddl).await?;
        }
        Ok(())
    }

    /// One event row per transaction from `clients` concurrent tasks (SQLite:
    /// one writer at a time, as the server), for the given times.
    pub async fn raw_event_inserts(
        &self,
        template: &EventTemplate,
        clients: usize,
        warmup: Duration,
        measure: Duration,
    ) -> Stats {
        let db = self.clone();
        let template = template.clone();
        let sql = format!(
            "INSERT INTO {RAW_EVENTS} (event_id, stream_id, stream_type, version, event_type, \
             schema_version, data, metadata, recorded_at) VALUES ({})",
            (1..=9).map(|i| self.ph(i)).collect::<Vec<_>>().join(", ")
        );
        run_load(clients, warmup, measure, move |_, _| {
            let (db, template, sql) = (db.clone(), template.clone(), sql.clone());
            async move {
                let values: Vec<Value> = vec![
                    uuid::Uuid::new_v4().into(),
                    uuid::Uuid::new_v4().to_string().into(),
                    "Order".into(),
                    1i32.into(),
                    "OrderCreated".into(),
                    1i32.into(),
                    template.data.into(),
                    template.metadata.into(),
                    chrono::Utc::now().into(),
                ];
                let _guard = match &db.writer {
                    Some(w) => Some(w.lock().await),
                    None => None,
                };
                let txn = db.conn.begin().await?;
                txn.execute_raw(db.stmt(sql, values)).await?;
                txn.commit().await?;
                Ok(true)
            }
        })
        .await
    }

    /// Appends `n` valid OrderCreated rows (copies of the template row,
    /// each its own new stream at version 1) straight into `events`, in
    /// big transactions. Only while no server runs on this database.
    pub async fn fill_events(&self, template: &EventTemplate, n: u64) -> anyhow::Result<()> {
        let mut left = n;
        while left > 0 {
            let k = left.min(FILL_BATCH) as i64;
            let sql = if self.pg() {
                "INSERT INTO events (event_id, stream_id, stream_type, version, event_type, \
                 schema_version, data, metadata, recorded_at) \
                 SELECT gen_random_uuid(), gen_random_uuid()::text, e.stream_type, 1, e.event_type, \
                 e.schema_version, e.data, e.metadata, e.recorded_at \
                 FROM generate_series(1, $1) AS s(i), (SELECT * FROM events WHERE position = $2) e \
                 ORDER BY s.i"
                    .to_owned()
            } else {
                let event_id = match self
                    .scalar_text(
                        "SELECT typeof(event_id) FROM events WHERE position = ?",
                        vec![template.position.into()],
                    )
                    .await?
                    .as_str()
                {
                    "blob" => "randomblob(16)",
                    _ => UUID_TEXT,
                };
                format!(
                    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) \
                     INSERT INTO events (event_id, stream_id, stream_type, version, event_type, \
                     schema_version, data, metadata, recorded_at) \
                     SELECT {event_id}, {UUID_TEXT}, e.stream_type, 1, e.event_type, \
                     e.schema_version, e.data, e.metadata, e.recorded_at \
                     FROM s, (SELECT * FROM events WHERE position = ?) e"
                )
            };
            let txn = self.conn.begin().await?;
            txn.execute_raw(self.stmt(sql, vec![k.into(), template.position.into()]))
                .await
                .context("filling events")?;
            txn.commit().await?;
            left -= k as u64;
        }
        Ok(())
    }

    /// Moves every projection checkpoint to the head, so that a restarted
    /// server does not project the filler rows. Only while no server runs.
    pub async fn skip_projections_to_head(&self) -> anyhow::Result<()> {
        self.conn
            .execute_unprepared(
                "UPDATE checkpoints SET position = (SELECT MAX(position) FROM events)",
            )
            .await?;
        Ok(())
    }

    /// Rows in `events`.
    pub async fn event_count(&self) -> anyhow::Result<i64> {
        self.scalar_i64("SELECT COUNT(*) FROM events", vec![]).await
    }

    /// Creates the scratch copies of `order_details` and its lines
    /// (columns, keys, indexes).
    pub async fn create_raw_order_details(&self) -> anyhow::Result<()> {
        for (table, copy) in [
            ("order_details", RAW_ORDER_DETAILS),
            ("order_detail_lines", RAW_ORDER_LINES),
        ] {
            if self.pg() {
                self.conn
                    .execute_unprepared(&format!(
                        "CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)"
                    ))
                    .await?;
                continue;
            }
            let rows = self
                .conn
                .query_all_raw(self.stmt(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL \
                     ORDER BY type DESC",
                    vec![table.into()],
                ))
                .await?;
            for row in rows {
                let sql: String = row.try_get_by_index(0)?;
                self.conn
                    .execute_unprepared(&sql.replace(table, copy))
                    .await?;
            }
        }
        Ok(())
    }

    /// The lines (sku, name, unit price, quantity) and total of the newest
    /// PENDING `order_details` row (a filler order's, as the projection
    /// wrote it).
    pub async fn pending_order_details_row(&self) -> anyhow::Result<(Vec<RawLine>, String)> {
        let row = self
            .conn
            .query_one_raw(self.stmt(
                "SELECT generation, order_id, total_amount FROM order_details \
                 WHERE status = 'PENDING' ORDER BY generation DESC LIMIT 1",
                vec![],
            ))
            .await?
            .context("no PENDING order_details row")?;
        let (generation, order_id, total): (i32, String, String) = (
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        );
        let lines = self
            .conn
            .query_all_raw(self.stmt(
                format!(
                    "SELECT sku, name, unit_price, quantity FROM order_detail_lines \
                     WHERE generation = {} AND order_id = {} ORDER BY added_version, line_index",
                    self.ph(1),
                    self.ph(2)
                ),
                vec![generation.into(), order_id.into()],
            ))
            .await?
            .into_iter()
            .map(|r| {
                Ok(RawLine {
                    sku: r.try_get_by_index(0)?,
                    name: r.try_get_by_index(1)?,
                    unit_price: r.try_get_by_index(2)?,
                    quantity: r.try_get_by_index(3)?,
                })
            })
            .collect::<anyhow::Result<Vec<RawLine>>>()?;
        Ok((lines, total))
    }

    /// `rows` read-model rows (shaped like the projection's rows for a
    /// created order: the order's row and a row per line) in multi-row
    /// INSERTs, [`REBUILD_BATCH`] orders per transaction, sequentially;
    /// the wall time.
    pub async fn raw_batched_order_details(
        &self,
        rows: usize,
        lines: &[RawLine],
        total: &str,
    ) -> anyhow::Result<Stats> {
        const COLS: usize = 13;
        const LINE_COLS: usize = 8;
        let started = Instant::now();
        let mut latencies = Vec::new();
        let mut done = 0usize;
        while done < rows {
            let batch = (rows - done).min(REBUILD_BATCH);
            let t = Instant::now();
            let txn = self.conn.begin().await?;
            let mut in_batch = 0;
            while in_batch < batch {
                let k = (batch - in_batch).min(ROWS_PER_STATEMENT);
                let mut values: Vec<Value> = Vec::with_capacity(k * COLS);
                let mut line_values: Vec<Value> = Vec::with_capacity(k * lines.len() * LINE_COLS);
                for j in 0..k {
                    let i = (done + in_batch + j) as i64;
                    let now = chrono::Utc::now();
                    let order_id = uuid::Uuid::new_v4().to_string();
                    values.extend([
                        1i32.into(),
                        order_id.clone().into(),
                        "bench-customer".into(),
                        "PENDING".into(),
                        total.into(),
                        Value::String(None),
                        Value::String(None),
                        Value::String(None),
                        1i32.into(),
                        (i + 1).into(),
                        (i + 1).into(),
                        now.into(),
                        now.into(),
                    ]);
                    for (n, l) in lines.iter().enumerate() {
                        line_values.extend([
                            1i32.into(),
                            order_id.clone().into(),
                            l.sku.clone().into(),
                            l.name.clone().into(),
                            l.unit_price.clone().into(),
                            l.quantity.into(),
                            1i32.into(),
                            (n as i32).into(),
                        ]);
                    }
                }
                let sql = format!(
                    "INSERT INTO {RAW_ORDER_DETAILS} (generation, order_id, customer_id, status, \
                     total_amount, tracking_number, payment_reference, cancel_reason, version, \
                     created_position, last_position, created_at, updated_at) VALUES {}",
                    self.tuples(k, COLS)
                );
                txn.execute_raw(self.stmt(sql, values)).await?;
                for chunk in line_values.chunks(ROWS_PER_STATEMENT * LINE_COLS) {
                    let sql = format!(
                        "INSERT INTO {RAW_ORDER_LINES} (generation, order_id, sku, name, unit_price, \
                         quantity, added_version, line_index) VALUES {}",
                        self.tuples(chunk.len() / LINE_COLS, LINE_COLS)
                    );
                    txn.execute_raw(self.stmt(sql, chunk.to_vec())).await?;
                }
                in_batch += k;
            }
            txn.commit().await?;
            latencies.push(us(t.elapsed()));
            done += batch;
        }
        Ok(Stats::from_parts(rows as u64, started.elapsed(), latencies))
    }

    /// `rows` tuples of `cols` placeholders each: `(…), (…)`.
    fn tuples(&self, rows: usize, cols: usize) -> String {
        (0..rows)
            .map(|j| {
                format!(
                    "({})",
                    (1..=cols)
                        .map(|c| self.ph(j * cols + c))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Bytes on disk of each table with its indexes (scratch tables and
    /// the migrations table left out): (table, bytes).
    pub async fn table_sizes(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let sql = if self.pg() {
            "SELECT c.relname::text, pg_total_relation_size(c.oid)::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY 1"
        } else {
            "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name \
             GROUP BY m.tbl_name ORDER BY 1"
        };
        let rows = self.conn.query_all_raw(self.stmt(sql, vec![])).await?;
        let mut out = Vec::new();
        for row in rows {
            let name: String = row.try_get_by_index(0)?;
            let bytes: Option<i64> = row.try_get_by_index(1)?;
            if name.starts_with("bench_")
                || name.contains("migrations")
                || name.starts_with("cqrs_")
            {
                continue;
            }
            out.push((name, bytes.unwrap_or(0)));
        }
        Ok(out)
    }

    /// Mean bytes of `data` + `metadata` as JSON text per event.
    pub async fn mean_event_json_bytes(&self) -> anyhow::Result<f64> {
        let sql = if self.pg() {
            "SELECT AVG(octet_length(data::text) + octet_length(metadata::text))::float8 FROM events"
        } else {
            "SELECT AVG(length(CAST(data AS BLOB)) + length(CAST(metadata AS BLOB))) FROM events"
        };
        self.scalar_f64(sql).await
    }

    /// The database's version string.
    pub async fn version(&self) -> anyhow::Result<String> {
        let sql = if self.pg() {
            "SELECT current_setting('server_version')"
        } else {
            "SELECT sqlite_version()"
        };
        self.scalar_text(sql, vec![]).await
    }
}

/// A random version-4-looking UUID as text, in SQL (SQLite).
const UUID_TEXT: &str = "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || \
     substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2) || '-' || \
     lower(hex(randomblob(6))))";
