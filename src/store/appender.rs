//! Group commit: every append of a process goes through one appender task,
//! which takes whatever appends are waiting (up to a cap) and writes them
//! atomically (one transaction, or one statement when that is all it takes)
//! with the append lock taken once, by the INSERT.
//!
//! Each append is still judged on its own: its expected version is checked
//! against the stream's version as the appends before it in the same batch
//! left it, its command id against the command log and the ids earlier in
//! the batch, and a refusal (conflict, duplicate) concerns that append only.
//! Nothing is acknowledged before its batch has committed. When a batch
//! fails as a whole (a database error, a unique violation from a writer
//! outside this process), each of its appends is retried in a transaction of
//! its own, so one bad append cannot fail its neighbours.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set, SqlErr, Statement,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::entities::{command_log, events};
use super::{
    APPEND_LOCK_KEY, AppendOutcome, CommandEntry, CommandStamp, EventStore, ExpectedVersion,
    NewEvent, RecordedEvent, StoreError,
};

/// Most appends written in one transaction.
pub const MAX_BATCH: usize = 256;
/// Most event rows in one INSERT statement (bind parameters are bounded:
/// 10 columns × 500 rows stays far below SQLite's and PostgreSQL's limits).
const ROWS_PER_INSERT: usize = 500;
/// Appends waiting for the appender before `append` itself waits (the
/// queue's memory is bounded; callers feel back-pressure, not an error).
pub const QUEUE: usize = 4 * MAX_BATCH;

/// One append waiting for its batch.
pub(super) struct Request {
    pub stream_id: String,
    pub stream_type: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub command: Option<CommandStamp>,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// Starts the appender task of a store; it ends when every sender (every
/// clone of the store) is gone.
pub(super) fn spawn(store: EventStore, mut rx: mpsc::Receiver<Request>) {
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
            write_batch(&store, std::mem::take(&mut batch)).await;
            metrics::counter!("chronicle_append_batches_total").increment(1);
        }
    });
}

/// Writes one batch and answers every request in it.
pub(super) async fn write_batch(store: &EventStore, batch: Vec<Request>) {
    metrics::histogram!("chronicle_append_batch_size").record(batch.len() as f64);
    if batch.len() == 1 {
        let request = batch.into_iter().next().expect("one request");
        let outcome = write_one(store, &request).await;
        answer(store, request, outcome);
        return;
    }
    let attempt = {
        let requests: Vec<&Request> = batch.iter().collect();
        write_in_one_transaction(store, &requests).await
    };
    match attempt {
        Ok(outcomes) => {
            for (request, outcome) in batch.into_iter().zip(outcomes) {
                answer(store, request, outcome);
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, appends = batch.len(), "batch failed as a whole; retrying each append alone");
            for request in batch {
                let outcome = write_one(store, &request).await;
                answer(store, request, outcome);
            }
        }
    }
}

fn answer(store: &EventStore, request: Request, outcome: Result<AppendOutcome, StoreError>) {
    if let Ok(AppendOutcome::Appended(recorded)) = &outcome
        && let Some(last) = recorded.last()
    {
        store.advance_head(last.position);
    }
    // The caller may have gone away (a cancelled request): the append
    // stands all the same, as a retry with its command id will find.
    let _ = request.reply.send(outcome);
}

/// One append in its own transaction; a unique violation (a writer not
/// holding our lock, a racing command id) is reported as what is now true.
async fn write_one(store: &EventStore, request: &Request) -> Result<AppendOutcome, StoreError> {
    match write_in_one_transaction(store, &[request]).await {
        Ok(mut outcomes) => outcomes.pop().unwrap_or_else(|| {
            Err(StoreError::Corrupt {
                position: 0,
                message: "an append without an outcome".into(),
            })
        }),
        Err(StoreError::Database(e))
            if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
        {
            if let Some(stamp) = &request.command
                && let Some(entry) = store.find_command(&stamp.command_id).await?
            {
                return Ok(AppendOutcome::Duplicate(entry));
            }
            let actual = store.stream_version(&request.stream_id).await?;
            Err(StoreError::Concurrency {
                stream_id: request.stream_id.clone(),
                expected: request.expected,
                actual,
            })
        }
        Err(e) => Err(e),
    }
}

/// What a request comes to once the batch has been judged, before writing.
enum Plan {
    /// Refused or answered without writing.
    Done(Result<AppendOutcome, StoreError>),
    /// The same command id as the earlier request at this index: it gets
    /// that request's result.
    SameAs(usize),
    /// Write these rows (index into `rows` of the first, how many).
    Write { first_row: usize, count: usize },
}

/// Judges and writes `requests` atomically, holding the append lock from
/// the moment positions are drawn until the commit. `Err` means nothing was
/// written.
///
/// A batch without command ids whose rows fit one INSERT is that one
/// statement, committed on its own (on PostgreSQL it takes the append lock
/// itself, see [`insert_events`]): no BEGIN, no COMMIT. Otherwise the
/// reads, the INSERTs and the command log rows share a transaction.
async fn write_in_one_transaction(
    store: &EventStore,
    requests: &[&Request],
) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
    let db = store.db();
    let rows: usize = requests.iter().map(|r| r.events.len()).sum();
    if rows <= ROWS_PER_INSERT && requests.iter().all(|r| r.command.is_none()) {
        // SQLite: the process's write lock keeps the version read and the
        // INSERT together.
        let _guard = db.write_guard().await;
        let (outcomes, _) = judge_and_write(store, db.conn(), requests).await?;
        return Ok(outcomes);
    }
    let tx = db.begin_write().await?;
    match judge_and_write(store, &tx.txn, requests).await {
        Ok((outcomes, wrote)) => {
            if wrote {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(outcomes)
        }
        Err(e) => {
            // Roll back explicitly so the append lock is released now, not
            // whenever the pool next touches the connection.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback of a failed append batch failed");
            }
            Err(e)
        }
    }
}

/// The body of `write_in_one_transaction`: returns each request's outcome
/// and whether anything was written.
///
/// The command log and stream versions are read before the append lock is
/// taken (by the first INSERT). Within this process the appender is the
/// only writer of the log, so nothing can change them in between; a writer
/// in another process that does is refused by the unique indexes
/// (`(stream_id, version)`, the command id), the batch fails as a whole and
/// each append is retried and judged alone.
async fn judge_and_write<C: ConnectionTrait>(
    store: &EventStore,
    txn: &C,
    requests: &[&Request],
) -> Result<(Vec<Result<AppendOutcome, StoreError>>, bool), StoreError> {
    let logged = logged_commands(txn, requests).await?;
    let mut versions = stream_versions(txn, requests).await?;
    let now = Utc::now();
    // Per row: its column values in [`EVENT_COLUMNS`] order.
    let mut rows: Vec<[sea_orm::Value; 9]> = Vec::new();
    // Per row: its id and its version in the stream.
    let mut event_ids: Vec<Uuid> = Vec::new();
    let mut versions_before: Vec<i32> = Vec::new();
    let mut plans = Vec::with_capacity(requests.len());
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    for (index, request) in requests.iter().enumerate() {
        if let Some(stamp) = &request.command {
            if let Some(entry) = logged.get(&stamp.command_id) {
                plans.push(Plan::Done(Ok(AppendOutcome::Duplicate(entry.clone()))));
                continue;
            }
            if let Some(&earlier) = first_use.get(stamp.command_id.as_str()) {
                plans.push(Plan::SameAs(earlier));
                continue;
            }
            first_use.insert(&stamp.command_id, index);
        }
        let actual = versions
            .get(request.stream_id.as_str())
            .copied()
            .unwrap_or(0);
        if !request.expected.admits(actual) {
            plans.push(Plan::Done(Err(StoreError::Concurrency {
                stream_id: request.stream_id.clone(),
                expected: request.expected,
                actual,
            })));
            continue;
        }
        let first_row = rows.len();
        for (i, event) in request.events.iter().enumerate() {
            let event_id = Uuid::new_v4();
            event_ids.push(event_id);
            versions_before.push(actual + 1 + i as i32);
            rows.push([
                event_id.into(),
                request.stream_id.clone().into(),
                request.stream_type.clone().into(),
                (actual + 1 + i as i32).into(),
                event.event_type.clone().into(),
                event.schema_version.into(),
                event.data.clone().into(),
                serde_json::to_value(&event.metadata)
                    .unwrap_or(Value::Null)
                    .into(),
                now.into(),
            ]);
        }
        versions.insert(&request.stream_id, actual + request.events.len() as i32);
        plans.push(Plan::Write {
            first_row,
            count: request.events.len(),
        });
    }
    let written = insert_events(store, txn, &event_ids, rows).await?;
    let mut outcomes: Vec<Result<AppendOutcome, StoreError>> = Vec::with_capacity(plans.len());
    let mut log_rows = Vec::new();
    for (request, plan) in requests.iter().zip(&plans) {
        let outcome = match plan {
            Plan::Done(outcome) => clone_outcome(outcome),
            Plan::SameAs(earlier) => match &outcomes[*earlier] {
                Ok(AppendOutcome::Appended(recorded)) => {
                    match entry_of(requests[*earlier], recorded) {
                        Some(entry) => Ok(AppendOutcome::Duplicate(entry)),
                        None => Ok(AppendOutcome::Appended(Vec::new())),
                    }
                }
                other => clone_outcome(other),
            },
            Plan::Write { first_row, count } => {
                let recorded: Vec<RecordedEvent> = written[*first_row..first_row + count]
                    .iter()
                    .zip(&request.events)
                    .enumerate()
                    .map(|(i, (&position, event))| {
                        store.recorded_from_new(
                            position,
                            event_ids[first_row + i],
                            request,
                            versions_before[first_row + i],
                            event,
                            now,
                        )
                    })
                    .collect::<Result<_, _>>()?;
                if let (Some(stamp), Some(entry)) = (&request.command, entry_of(request, &recorded))
                {
                    log_rows.push(command_log::ActiveModel {
                        command_id: Set(stamp.command_id.clone()),
                        command_name: Set(stamp.command_name.clone()),
                        stream_id: Set(entry.stream_id),
                        first_position: Set(entry.first_position),
                        last_position: Set(entry.last_position),
                        version: Set(entry.version),
                        recorded_at: Set(now),
                        payload_hash: Set(Some(stamp.payload_hash)),
                    });
                }
                Ok(AppendOutcome::Appended(recorded))
            }
        };
        outcomes.push(outcome);
    }
    for chunk in chunks(log_rows, ROWS_PER_INSERT) {
        command_log::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    let wrote = plans.iter().any(|p| matches!(p, Plan::Write { .. }));
    Ok((outcomes, wrote))
}

/// The command log entry an append with a command id makes.
fn entry_of(request: &Request, recorded: &[RecordedEvent]) -> Option<CommandEntry> {
    let (stamp, first, last) = (
        request.command.as_ref()?,
        recorded.first()?,
        recorded.last()?,
    );
    Some(CommandEntry {
        command_id: stamp.command_id.clone(),
        command_name: stamp.command_name.clone(),
        stream_id: request.stream_id.clone(),
        first_position: first.position,
        last_position: last.position,
        version: last.version,
        payload_hash: Some(stamp.payload_hash),
    })
}

fn clone_outcome(outcome: &Result<AppendOutcome, StoreError>) -> Result<AppendOutcome, StoreError> {
    match outcome {
        Ok(o) => Ok(o.clone()),
        Err(StoreError::Concurrency {
            stream_id,
            expected,
            actual,
        }) => Err(StoreError::Concurrency {
            stream_id: stream_id.clone(),
            expected: *expected,
            actual: *actual,
        }),
        Err(e) => Err(StoreError::Corrupt {
            position: 0,
            message: e.to_string(),
        }),
    }
}

fn chunks<T>(mut items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    while items.len() > size {
        let rest = items.split_off(size);
        out.push(std::mem::replace(&mut items, rest));
    }
    if !items.is_empty() {
        out.push(items);
    }
    out
}

/// The columns an append writes (`position` is drawn by the database).
const EVENT_COLUMNS: &str = "event_id, stream_id, stream_type, version, event_type, \
                             schema_version, data, metadata, recorded_at";

/// Inserts the rows (`ids[i]` is the event id of `rows[i]`) in order and
/// returns the position drawn for each, in the order given. Only `(event_id, position)` comes back: the rest is
/// what was sent, so no payload is decoded again.
///
/// On PostgreSQL each INSERT takes the append lock (an advisory lock held
/// to the end of the transaction, so through its commit) before it draws a
/// position: the rows come from a `VALUES` list filtered by a scalar
/// subquery that takes the lock, which PostgreSQL evaluates once, before
/// the first row and so before the first `nextval`. The same subquery
/// queues the notification that tells other instances of the commit (it is
/// delivered only if the transaction commits; see `projections::follow`);
/// its payload is this store's origin, so its own listener skips it. On
/// SQLite the caller holds the process's write lock.
async fn insert_events<C: ConnectionTrait>(
    store: &EventStore,
    txn: &C,
    ids: &[Uuid],
    rows: Vec<[sea_orm::Value; 9]>,
) -> Result<Vec<i64>, StoreError> {
    use std::fmt::Write;
    let backend = txn.get_database_backend();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    let mut out = Vec::with_capacity(rows.len());
    for (ids, chunk) in ids
        .chunks(ROWS_PER_INSERT)
        .zip(chunks(rows, ROWS_PER_INSERT))
    {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 9 + 3);
        let mut sql = String::with_capacity(64 + chunk.len() * 60);
        let mut next = 0;
        let mut placeholder = |sql: &mut String| {
            next += 1;
            if postgres {
                let _ = write!(sql, "${next}");
            } else {
                sql.push('?');
            }
        };
        sql.push_str("INSERT INTO events (");
        sql.push_str(EVENT_COLUMNS);
        sql.push_str(") ");
        if postgres {
            sql.push_str("SELECT * FROM (");
        }
        sql.push_str("VALUES ");
        for (i, row) in chunk.into_iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.into_iter().enumerate() {
                if j > 0 {
                    sql.push_str(", ");
                }
                placeholder(&mut sql);
                values.push(value);
            }
            sql.push(')');
        }
        if postgres {
            sql.push_str(") AS v (");
            sql.push_str(EVENT_COLUMNS);
            sql.push_str(") WHERE (SELECT pg_advisory_xact_lock(");
            placeholder(&mut sql);
            sql.push_str(")::text || pg_notify(");
            placeholder(&mut sql);
            sql.push_str(", ");
            placeholder(&mut sql);
            sql.push_str(")::text) IS NOT NULL");
            values.push(APPEND_LOCK_KEY.into());
            values.push(crate::projections::follow::HEAD_CHANNEL.into());
            values.push(store.origin().into());
        }
        sql.push_str(" RETURNING event_id, position");
        let statement = Statement::from_sql_and_values(backend, sql, values);
        let mut drawn: HashMap<Uuid, i64> = HashMap::with_capacity(ids.len());
        for row in txn.query_all_raw(statement).await? {
            let id: Uuid = row.try_get("", "event_id")?;
            drawn.insert(id, row.try_get("", "position")?);
        }
        // RETURNING's row order is not promised: put them back in ours.
        for id in ids {
            out.push(drawn.remove(id).ok_or_else(|| StoreError::Corrupt {
                position: 0,
                message: format!("event {id} was not returned by its insert"),
            })?);
        }
    }
    // One statement draws positions in VALUES order, so they ascend in the
    // order the rows were given (invariant 3 within a batch).
    debug_assert!(out.windows(2).all(|w| w[0] < w[1]));
    Ok(out)
}

/// The command log entries of the batch's command ids.
async fn logged_commands<C: ConnectionTrait>(
    txn: &C,
    requests: &[&Request],
) -> Result<HashMap<String, CommandEntry>, StoreError> {
    let ids: HashSet<&str> = requests
        .iter()
        .filter_map(|r| r.command.as_ref().map(|c| c.command_id.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(command_log::Entity::find()
        .filter(command_log::Column::CommandId.is_in(ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|m| (m.command_id.clone(), CommandEntry::from(m)))
        .collect())
}

/// The current version of every stream the batch appends to, except
/// streams only ever expected not to exist: those are left to the unique
/// (stream, version) index, which refuses a second version 1 (the batch then
/// fails as a whole and each append is retried and judged alone, where
/// `write_one` reads the version after the violation). That saves a round
/// trip per batch of creations, a batch of one included.
async fn stream_versions<'a, C: ConnectionTrait>(
    txn: &C,
    requests: &[&'a Request],
) -> Result<HashMap<&'a str, i32>, StoreError> {
    let needed: HashSet<&str> = requests
        .iter()
        .filter(|r| r.expected != ExpectedVersion::NoStream)
        .map(|r| r.stream_id.as_str())
        .collect();
    let mut versions: HashMap<&'a str, i32> = HashMap::new();
    if needed.is_empty() {
        return Ok(versions);
    }
    let found: Vec<(String, Option<i32>)> = events::Entity::find()
        .select_only()
        .column(events::Column::StreamId)
        .column_as(events::Column::Version.max(), "version")
        .filter(events::Column::StreamId.is_in(needed.iter().copied()))
        .group_by(events::Column::StreamId)
        .into_tuple()
        .all(txn)
        .await?;
    for (stream, version) in found {
        if let Some(request) = requests.iter().find(|r| r.stream_id == stream) {
            versions.insert(request.stream_id.as_str(), version.unwrap_or(0));
        }
    }
    Ok(versions)
}

impl Request {
    /// A request and the receiver of its outcome.
    pub(super) fn new(
        stream_id: &str,
        stream_type: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command: Option<&CommandStamp>,
    ) -> (
        Request,
        oneshot::Receiver<Result<AppendOutcome, StoreError>>,
    ) {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            stream_id: stream_id.to_owned(),
            stream_type: stream_type.to_owned(),
            expected,
            events,
            command: command.cloned(),
            reply,
        };
        (request, answer)
    }
}

/// The appender is gone (the store is shutting down).
pub(super) fn stopped() -> StoreError {
    StoreError::Database(sea_orm::DbErr::Custom(
        "the appender has stopped (the store is shutting down)".into(),
    ))
}
