//! Group commit (issue 9): appends written together in one transaction are
//! still judged one by one, on both backends.

use chronicle::db::Db;
use chronicle::store::{
    Append, AppendOutcome, CommandStamp, EventMetadata, EventStore, ExpectedVersion, NewEvent,
    StoreError, Upcasters,
};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    a_batch_mixes_winners_conflicts_and_a_duplicate_command_id,
    a_batch_that_fails_as_a_whole_is_retried_append_by_append,
    concurrent_appends_share_commits_and_keep_commit_order,
    an_append_draws_no_position_before_it_holds_the_append_lock,
);

async fn open(db: &TestDb) -> EventStore {
    let conn = Db::connect(&db.url).await.unwrap();
    chronicle::migrate(&conn).await.unwrap();
    EventStore::open(conn, Upcasters::new()).await.unwrap()
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent {
            event_type: "TestHappened".into(),
            schema_version: 1,
            data: json!({ "n": i }),
            metadata: EventMetadata::default(),
        })
        .collect()
}

fn append(stream: &str, expected: ExpectedVersion, n: usize, command: Option<&str>) -> Append {
    Append {
        stream_id: stream.into(),
        stream_type: "Test".into(),
        expected,
        events: events(n),
        command: command.map(|id| CommandStamp {
            command_id: id.into(),
            command_name: "Test".into(),
            payload_hash: 7,
        }),
    }
}

fn appended(outcome: &Result<AppendOutcome, StoreError>) -> Vec<(i64, i32)> {
    match outcome {
        Ok(AppendOutcome::Appended(recorded)) => {
            recorded.iter().map(|e| (e.position, e.version)).collect()
        }
        other => panic!("expected an append, got {other:?}"),
    }
}

fn conflict(outcome: &Result<AppendOutcome, StoreError>) -> i32 {
    match outcome {
        Err(StoreError::Concurrency { actual, .. }) => *actual,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn a_batch_mixes_winners_conflicts_and_a_duplicate_command_id(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    store
        .append("s-a", "Test", ExpectedVersion::NoStream, events(1), None)
        .await
        .unwrap();
    let head_before = store.head_position().await.unwrap();

    let outcomes = store
        .append_batch(vec![
            append("s-a", ExpectedVersion::Exact(1), 1, None), // wins: v2
            append("s-a", ExpectedVersion::Exact(1), 1, None), // loses to the first
            append("s-b", ExpectedVersion::NoStream, 1, Some("k1")), // wins
            append("s-c", ExpectedVersion::NoStream, 1, Some("k1")), // same id: the first's result
            append("s-a", ExpectedVersion::Any, 2, None),      // wins: v3, v4
            append("s-d", ExpectedVersion::Exact(5), 1, None), // no such version
        ])
        .await;
    assert_eq!(outcomes.len(), 6);
    let first = appended(&outcomes[0]);
    assert_eq!(first.iter().map(|e| e.1).collect::<Vec<_>>(), vec![2]);
    assert_eq!(conflict(&outcomes[1]), 2, "judged after the first append");
    let b = appended(&outcomes[2]);
    match &outcomes[3] {
        Ok(AppendOutcome::Duplicate(entry)) => {
            assert_eq!(entry.stream_id, "s-b");
            assert_eq!(entry.first_position, b[0].0);
        }
        other => panic!("expected the first use's result, got {other:?}"),
    }
    let last = appended(&outcomes[4]);
    assert_eq!(last.iter().map(|e| e.1).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(conflict(&outcomes[5]), 0);

    // Positions follow the order of the batch and nothing else was written.
    let written: Vec<i64> = first.iter().chain(&b).chain(&last).map(|e| e.0).collect();
    let log: Vec<(i64, String, i32)> = store
        .read_all(head_before, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.position, e.stream_id, e.version))
        .collect();
    assert_eq!(
        log.iter().map(|e| e.0).collect::<Vec<_>>(),
        written,
        "the log holds exactly the winners, in batch order"
    );
    assert_eq!(
        log.iter().map(|e| (e.1.as_str(), e.2)).collect::<Vec<_>>(),
        vec![("s-a", 2), ("s-b", 1), ("s-a", 3), ("s-a", 4)]
    );
    assert_eq!(store.stream_version("s-c").await.unwrap(), 0);
    assert_eq!(store.stream_version("s-d").await.unwrap(), 0);
    let entry = store.find_command("k1").await.unwrap().expect("logged");
    assert_eq!(entry.stream_id, "s-b");
    // The same id again, in a later batch: the first result, nothing new.
    let again = store
        .append_batch(vec![append(
            "s-e",
            ExpectedVersion::NoStream,
            1,
            Some("k1"),
        )])
        .await;
    assert!(matches!(&again[0], Ok(AppendOutcome::Duplicate(e)) if e.stream_id == "s-b"));
    assert_eq!(
        store.head_position().await.unwrap(),
        *written.last().unwrap()
    );
    db.close().await.unwrap();
}

/// A creation of a stream that exists fails the batch's INSERT as a whole
/// (the unique index): each append is then retried alone, so only that one
/// is refused.
async fn a_batch_that_fails_as_a_whole_is_retried_append_by_append(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    store
        .append("s-x", "Test", ExpectedVersion::NoStream, events(1), None)
        .await
        .unwrap();
    let outcomes = store
        .append_batch(vec![
            append("s-y", ExpectedVersion::NoStream, 2, Some("y")),
            append("s-x", ExpectedVersion::NoStream, 1, Some("x")),
            append("s-z", ExpectedVersion::NoStream, 1, None),
        ])
        .await;
    assert_eq!(appended(&outcomes[0]).len(), 2);
    assert_eq!(conflict(&outcomes[1]), 1);
    assert_eq!(appended(&outcomes[2]).len(), 1);
    assert_eq!(store.stream_version("s-x").await.unwrap(), 1);
    assert_eq!(store.stream_version("s-y").await.unwrap(), 2);
    assert!(store.find_command("x").await.unwrap().is_none());
    assert!(store.find_command("y").await.unwrap().is_some());
    db.close().await.unwrap();
}

/// Many concurrent appends through the appender (batched as they queue up):
/// every one is answered, and positions ascend in commit order with each
/// stream's versions gap-free.
async fn concurrent_appends_share_commits_and_keep_commit_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    const TASKS: usize = 64;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let stream = format!("c-{}", t % 8);
            let mut positions = Vec::new();
            for _ in 0..5 {
                let out = store
                    .append(&stream, "Test", ExpectedVersion::Any, events(1), None)
                    .await
                    .unwrap();
                match out {
                    AppendOutcome::Appended(r) => positions.push(r[0].position),
                    AppendOutcome::Duplicate(_) => panic!("no command id"),
                }
            }
            positions
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        let positions = h.await.unwrap();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        all.extend(positions);
    }
    assert_eq!(all.len(), TASKS * 5);
    let log = store.read_all(0, 10_000).await.unwrap();
    assert_eq!(log.len(), TASKS * 5);
    for s in 0..8 {
        let versions: Vec<i32> = log
            .iter()
            .filter(|e| e.stream_id == format!("c-{s}"))
            .map(|e| e.version)
            .collect();
        assert_eq!(versions, (1..=versions.len() as i32).collect::<Vec<_>>());
    }
    db.close().await.unwrap();
}

/// Positions are handed out in commit order only if an append takes the
/// append lock before the database draws its positions (PostgreSQL: the
/// lock is taken inside the INSERT itself). While another session holds the
/// lock, an append waits and the position sequence does not move; once the
/// lock is released the append gets the next position.
async fn an_append_draws_no_position_before_it_holds_the_append_lock(backend: Backend) {
    use sea_orm::sqlx::{self, Connection};
    if backend == Backend::Sqlite {
        // One process, one writer: the write lock is a mutex in the store.
        return;
    }
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    let first = store
        .append("lock-0", "Test", ExpectedVersion::NoStream, events(1), None)
        .await;
    let before = appended(&first)[0].0;
    let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(chronicle::store::APPEND_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append("lock-1", "Test", ExpectedVersion::NoStream, events(3), None)
                .await
        })
    };
    let mut watcher = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let deadline = std::time::Instant::now() + chronicle_testkit::DEADLINE;
    loop {
        let (blocked,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if blocked == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the append never waited for the lock"
        );
        tokio::time::sleep(chronicle_testkit::POLL).await;
    }
    let (drawn,): (i64,) = sqlx::query_as("SELECT last_value FROM events_position_seq")
        .fetch_one(&mut watcher)
        .await
        .unwrap();
    assert_eq!(
        drawn, before,
        "no position is drawn while the lock is held elsewhere"
    );
    assert!(!waiting.is_finished());
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(chronicle::store::APPEND_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let positions: Vec<i64> = appended(&waiting.await.unwrap())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(positions, vec![before + 1, before + 2, before + 3]);
    db.close().await.unwrap();
}
