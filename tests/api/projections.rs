//! The projection engine: one transaction per batch (invariant 5), failure
//! isolation, and resuming from the checkpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chronicle::db::Db;
use chronicle::projections::rebuild::{self, RebuildState};
use chronicle::projections::{
    BatchError, EngineConfig, Outcome, Projection, ProjectionError, ProjectionWorker, Touched,
    order_details::OrderDetails,
};
use chronicle::store::RecordedEvent;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    a_batch_interrupted_mid_way_resumes_to_the_same_state_as_a_rebuild,
    a_failing_projection_is_isolated_and_resumes_from_its_checkpoint,
    a_rebuild_over_old_schema_versions_equals_the_live_read_models,
    appends_within_the_batch_interval_share_one_batch,
);

/// `order_details`, except that it fails on the event at position
/// `fail_at` (or on every OrderPlaced while `fail_placed` is set).
/// It also records how many events each `apply_batch` gets.
struct Faulty {
    inner: OrderDetails,
    fail_at: Arc<AtomicI64>,
    fail_placed: Arc<AtomicBool>,
    batches: Arc<std::sync::Mutex<Vec<usize>>>,
}

#[async_trait]
impl Projection for Faulty {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn handles(&self, stream_type: &str, event_type: &str) -> bool {
        self.inner.handles(stream_type, event_type)
    }
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        self.batches.lock().unwrap().push(events.len());
        // Write first, then fail: the failure must undo these writes too.
        let touched = self.inner.apply_batch(txn, generation, events).await?;
        let failing = events.iter().position(|event| {
            event.position == self.fail_at.load(Ordering::SeqCst)
                || (event.event_type == "OrderPlaced" && self.fail_placed.load(Ordering::SeqCst))
        });
        if let Some(i) = failing {
            return Err(BatchError::at(
                i,
                ProjectionError::handler(events[i], "injected failure"),
            ));
        }
        Ok(touched)
    }
    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        self.inner.clear(txn, generation).await
    }
    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        self.inner.dump(db, generation).await
    }
}

fn faulty() -> (Arc<Faulty>, Arc<AtomicI64>, Arc<AtomicBool>) {
    let fail_at = Arc::new(AtomicI64::new(-1));
    let fail_placed = Arc::new(AtomicBool::new(false));
    let p = Arc::new(Faulty {
        inner: OrderDetails::default(),
        fail_at: fail_at.clone(),
        fail_placed: fail_placed.clone(),
        batches: Arc::default(),
    });
    (p, fail_at, fail_placed)
}

async fn drain(worker: &ProjectionWorker) -> Outcome {
    loop {
        match worker.try_process_batch().await.expect("step") {
            Outcome::Processed { .. } => continue,
            other => return other,
        }
    }
}

async fn a_batch_interrupted_mid_way_resumes_to_the_same_state_as_a_rebuild(backend: Backend) {
    let (projection, fail_at, _) = faulty();
    let app = spawn_app_with(backend, |c| {
        c.start_projections = false;
        c.projections = Some(vec![projection.clone() as Arc<dyn Projection>]);
    })
    .await;
    for i in 0..6 {
        let id = app.create_order(&format!("c-{i}")).await;
        app.place(&id).await;
        if i % 2 == 0 {
            app.cancel(&id, "r").await;
        }
    }
    let all = app.state.store.read_all(0, 1000).await.unwrap();
    assert_eq!(all.len(), 15);
    // Fail on the 10th event, inside the second batch of 8.
    let nth = all[9].position;
    fail_at.store(nth, Ordering::SeqCst);

    let config = EngineConfig {
        batch_size: 8,
        ..EngineConfig::default()
    };
    let live = app
        .state
        .read
        .live_generation("order_details")
        .await
        .unwrap();
    let worker = ProjectionWorker::new(projection.clone(), &app.state.read, live, config.clone());
    assert!(matches!(
        worker.try_process_batch().await.unwrap(),
        Outcome::Processed { events: 8, .. }
    ));
    match worker.try_process_batch().await.unwrap() {
        Outcome::Failed { position, error } => {
            assert_eq!(position, nth);
            assert!(error.contains("injected failure"), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // Everything before the failing event is committed, nothing after it.
    let status = &app.state.read.statuses().await.unwrap()[0];
    assert_eq!(status.position, all[8].position);
    assert_eq!(status.failed_position, Some(nth));
    // Still failing while the cause is there; the checkpoint does not move.
    assert!(matches!(
        worker.try_process_batch().await.unwrap(),
        Outcome::Failed { .. }
    ));

    // Remove the cause: it resumes from its checkpoint.
    fail_at.store(-1, Ordering::SeqCst);
    assert_eq!(drain(&worker).await, Outcome::Idle);
    let status = &app.state.read.statuses().await.unwrap()[0];
    assert_eq!(status.position, all[14].position);
    assert_eq!(status.last_error, None);

    // A rebuild from scratch into another generation matches exactly.
    let rebuild = ProjectionWorker::new(
        Arc::new(OrderDetails::default()),
        &app.state.read,
        99,
        config,
    );
    rebuild.ensure_checkpoint().await.unwrap();
    assert_eq!(drain(&rebuild).await, Outcome::Idle);
    let db = app.state.store.db();
    let served = projection.dump(db, live).await.unwrap();
    let fresh = OrderDetails::default().dump(db, 99).await.unwrap();
    assert_eq!(served.len(), 6);
    assert_eq!(served, fresh);
}

async fn a_failing_projection_is_isolated_and_resumes_from_its_checkpoint(backend: Backend) {
    let (projection, _, fail_placed) = faulty();
    fail_placed.store(true, Ordering::SeqCst);
    let app = spawn_app_with(backend, |c| {
        c.engine.max_backoff = Duration::from_millis(100);
        let mut all = chronicle::projections::default_projections();
        all[0] = projection.clone();
        c.projections = Some(all);
    })
    .await;
    let id = app.create_order("c-1").await;
    app.place(&id).await;
    let other = app.create_order("c-2").await;

    let query = "{ projections { name position head lag state lastError failedPosition } }";
    eventually("order_details FAILED, the others caught up", || async {
        let data = app.ok(query, json!({})).await;
        let list = data["projections"].as_array().unwrap().clone();
        let by = |n: &str| list.iter().find(|p| p["name"] == n).unwrap().clone();
        let failed = by("order_details");
        failed["state"] == "FAILED"
            && failed["lastError"]
                .as_str()
                .unwrap_or("")
                .contains("injected failure")
            && failed["lag"].as_i64().unwrap() >= 2
            && by("customer_order_history")["lag"] == 0
            && by("sales_stats")["lag"] == 0
            && by("sales_stats")["state"] == "RUNNING"
    })
    .await;
    // The order created before the failing event is readable; the one after is not yet.
    let order = app.order(&id).await.expect("the order is readable");
    assert_eq!(order.status, "PENDING");

    fail_placed.store(false, Ordering::SeqCst);
    eventually("order_details to recover", || async {
        let data = app.ok(query, json!({})).await;
        data["projections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "RUNNING" && p["lag"] == 0 && p["lastError"].is_null())
    })
    .await;
    app.order_at(&id, 2).await;
    app.order_at(&other, 1).await;
}

/// Every projection's live read model, with its generation.
async fn dumps(app: &TestApp) -> Vec<(&'static str, i32, Vec<Value>)> {
    let read = &app.state.read;
    let mut out = Vec::new();
    for p in read.projections.iter().filter(|p| p.rebuildable()) {
        let generation = read.fresh_live_generation(p.name()).await.unwrap();
        out.push((
            p.name(),
            generation,
            p.dump(app.state.store.db(), generation).await.unwrap(),
        ));
    }
    out
}

async fn a_rebuild_over_old_schema_versions_equals_the_live_read_models(backend: Backend) {
    let app = spawn_app(backend).await;
    // Orders of schema version 1 (upcast on read), among orders whose
    // events are spread over many small batches, some started before and
    // finished after a batch boundary.
    for i in 0..4 {
        insert_v1_order(&app, &uuid::Uuid::new_v4().to_string(), &format!("old-{i}")).await;
    }
    let old = uuid::Uuid::new_v4().to_string();
    insert_v1_order(&app, &old, "old-paid").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_order(&format!("c-{}", i % 2)).await);
    }
    for (i, id) in ids.iter().enumerate() {
        app.add_item(id, "X", "1.50", 2).await;
        if i % 2 == 0 {
            app.remove_item(id, "X").await;
        }
        app.place(id).await;
        match i % 3 {
            0 => {
                app.pay(id, if i % 2 == 0 { "25.25" } else { "28.25" })
                    .await;
                app.ship(id, "TRACK-0").await;
            }
            1 => {
                app.cancel(id, "changed my mind").await;
            }
            _ => {}
        }
    }
    app.place(&old).await;
    app.pay(&old, "25.25").await;
    app.ship(&old, "TRACK-1").await;
    eventually("every projection to catch up", || async {
        app.projection_lags()
            .await
            .is_ok_and(|lags| lags.iter().all(|p| p.lag == 0))
    })
    .await;
    let live = dumps(&app).await;
    assert!(live.iter().all(|(_, _, rows)| !rows.is_empty()));

    // Batches of 3: orders span batches, and each batch is written while
    // the next is read.
    let config = EngineConfig {
        batch_size: 3,
        ..EngineConfig::default()
    };
    for (name, generation, rows) in &live {
        let job = rebuild::prepare(&app.state.read, name, &config)
            .await
            .unwrap()
            .expect("no rebuild running");
        let status = job.run(|_| {}).await;
        assert_eq!(
            status.state,
            RebuildState::Done,
            "{name}: {:?}",
            status.error
        );
        assert_eq!(status.generation, generation + 1);
        let rebuilt = app
            .state
            .read
            .projection(name)
            .unwrap()
            .dump(app.state.store.db(), status.generation)
            .await
            .unwrap();
        assert_eq!(
            &rebuilt, rows,
            "{name}: the rebuild equals the live read model"
        );
    }
}

/// A worker that has caught up starts its next batch no sooner than the
/// batch interval after the last: appends that arrive meanwhile are
/// applied together, in one transaction, not one each.
async fn appends_within_the_batch_interval_share_one_batch(backend: Backend) {
    const INTERVAL: Duration = Duration::from_secs(3);
    // Failing on nothing: it only records its batches.
    let (recording, _, _) = faulty();
    let batches = recording.batches.clone();
    let app = spawn_app_with(backend, |c| {
        c.engine.batch_interval = INTERVAL;
        let mut all = chronicle::projections::default_projections();
        all[0] = recording.clone();
        c.projections = Some(all);
    })
    .await;
    let id = app.create_order("c-1").await;
    eventually("the order is projected", || async {
        !batches.lock().unwrap().is_empty()
    })
    .await;
    // The interval began when that batch did, before this point.
    let started = std::time::Instant::now();
    for sku in ["X", "Y", "Z"] {
        app.add_item(&id, sku, "1.00", 1).await;
    }
    assert!(
        started.elapsed() < INTERVAL,
        "the appends took longer than the interval; nothing to judge"
    );
    let query = "query($id: ID!) { order(id: $id) { version } }";
    eventually("the three appends are projected", || async {
        app.ok(query, json!({ "id": id })).await["order"]["version"] == 4
    })
    .await;
    assert!(
        started.elapsed() < INTERVAL * 2,
        "applied within about one interval"
    );
    assert_eq!(*batches.lock().unwrap(), vec![1, 3]);
}

/// PostgreSQL: the projection workers have connections of their own, kept
/// open. With every connection of the request pool taken (a burst of slow
/// requests), an order another instance creates still reaches
/// `order_details` at once: no batch waits for the request pool (whose
/// acquire timeout is 30 s) or for a new connection. (On SQLite the
/// workers share the store's handle, for its one writer lock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn projections_keep_up_while_requests_hold_every_pooled_connection() {
    use chronicle::commands::{self, CommandContext};
    use chronicle::domain::order::{OrderAggregate, OrderCommand, OrderId, OrderLine};
    use chronicle::store::{EventStore, Upcasters};
    use sea_orm::TransactionTrait;

    if postgres_base_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set, so this PostgreSQL test did not run");
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let mut notices = app.state.read.notices.subscribe();
    // Every connection the request pool will hand out (some are held for
    // good already: the leaderships', the listener's).
    let mut held = Vec::new();
    while let Ok(txn) =
        tokio::time::timeout(Duration::from_secs(2), app.state.db.conn().begin()).await
    {
        held.push(txn.unwrap());
        assert!(held.len() <= chronicle::db::PG_MAX_CONNECTIONS as usize);
    }
    assert!(!held.is_empty());
    let url = app.state.config.database_url.clone();
    let other = EventStore::open(
        chronicle::db::Db::connect(&url).await.unwrap(),
        Upcasters::new().with::<OrderAggregate>(),
    )
    .await
    .unwrap();
    let id = OrderId::from_uuid(uuid::Uuid::new_v4());
    let create = OrderCommand::CreateOrder {
        customer_id: "c-1".into(),
        items: vec![OrderLine {
            sku: "A".into(),
            name: "a".into(),
            unit_price: rust_decimal::Decimal::ONE,
            quantity: 1,
        }],
    };
    commands::execute::<OrderAggregate>(&other, &id, &create, &CommandContext::default())
        .await
        .unwrap();
    let wanted = id.to_string();
    let notice = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = notices.recv().await.expect("notices");
            if n.projection == "order_details" && n.aggregate_id == wanted {
                return n;
            }
        }
    })
    .await
    .expect("order_details applied the order while requests held the whole pool");
    assert_eq!(notice.version, 1);
    drop(held);
}
