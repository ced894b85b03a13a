//! The event store itself, on both backends.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chronicle::db::Db;
use chronicle::store::{
    AppendOutcome, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError, Upcasters,
};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    readers_after_a_position_see_every_event_once_in_commit_order,
    events_cannot_be_updated_or_deleted,
    expected_versions_are_enforced_and_failed_appends_write_nothing,
);

async fn open(db: &TestDb) -> EventStore {
    let conn = Db::connect(&db.url).await.unwrap();
    chronicle::migrate(&conn).await.unwrap();
    EventStore::open(conn, Upcasters::new()).await.unwrap()
}

fn event(n: usize) -> NewEvent {
    NewEvent {
        event_type: "TestHappened".into(),
        schema_version: 1,
        data: json!({"n": n}),
        metadata: EventMetadata::default(),
    }
}

/// Invariant 3: many concurrent writers, one reader that keeps asking for
/// "everything after the last position I saw". At the end the reader has
/// seen every event exactly once, in the table's order.
async fn readers_after_a_position_see_every_event_once_in_commit_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    const WRITERS: usize = 8;
    const APPENDS: usize = 40;
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let batch = store.read_all(last, 50).await.unwrap();
                for e in &batch {
                    seen.push(e.position);
                    last = e.position;
                }
                if batch.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..APPENDS {
                    // Alternate one- and seven-event appends across streams:
                    // a long append holds its early positions uncommitted
                    // while shorter ones around it commit.
                    let n = if i % 2 == 0 { 1 } else { 7 };
                    let stream = format!("s-{w}-{}", i % 5);
                    store
                        .append(
                            &stream,
                            "Test",
                            ExpectedVersion::Any,
                            (0..n).map(event).collect(),
                            None,
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let table: Vec<i64> = store
        .read_all(0, 1_000_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(table.len(), WRITERS * APPENDS / 2 * 8);
    let missed = table.iter().filter(|p| !seen.contains(p)).count();
    assert_eq!(
        missed, 0,
        "the reader skipped {missed} events that committed late"
    );
    assert!(seen == table, "the reader saw exactly the table, in order");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
}

async fn events_cannot_be_updated_or_deleted(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    store
        .append("s", "Test", ExpectedVersion::NoStream, vec![event(1)], None)
        .await
        .unwrap();
    let conn = store.db().conn();
    assert!(
        conn.execute_unprepared("UPDATE events SET event_type = 'X'")
            .await
            .is_err()
    );
    assert!(conn.execute_unprepared("DELETE FROM events").await.is_err());
    let all = store.read_all(0, 10).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].event_type, "TestHappened");
}

async fn expected_versions_are_enforced_and_failed_appends_write_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = open(&db).await;
    let appended = store
        .append(
            "s",
            "Test",
            ExpectedVersion::NoStream,
            vec![event(1), event(2)],
            None,
        )
        .await
        .unwrap();
    let AppendOutcome::Appended(events) = appended else {
        panic!("appended")
    };
    assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2]);

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(1),
        ExpectedVersion::Exact(3),
    ] {
        let err = store
            .append("s", "Test", expected, vec![event(3)], None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Concurrency { actual: 2, .. }),
            "{expected}: {err}"
        );
    }
    store
        .append("s", "Test", ExpectedVersion::Exact(2), vec![event(3)], None)
        .await
        .unwrap();
    store
        .append("s", "Test", ExpectedVersion::Any, vec![event(4)], None)
        .await
        .unwrap();
    let versions: Vec<i32> = store
        .read_stream("s", 1, None)
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(
        store.head_position().await.unwrap(),
        store
            .read_all(0, 10)
            .await
            .unwrap()
            .last()
            .unwrap()
            .position
    );
}
