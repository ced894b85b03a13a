//! Projection leadership: on PostgreSQL each projection runs in one
//! instance at a time and another takes over when it stops; SQLite (one
//! process) runs them all.

use std::time::Duration;

use chronicle::projections::EngineConfig;

use crate::both_backends;
use crate::helpers::*;

both_backends!(each_projection_runs_in_one_instance_and_another_takes_over);

const NAMES: [&str; 3] = ["order_details", "customer_order_history", "sales_stats"];

fn quick(config: &mut chronicle::Config) {
    config.engine = EngineConfig {
        poll_interval: Duration::from_millis(100),
        ..EngineConfig::default()
    };
}

async fn each_projection_runs_in_one_instance_and_another_takes_over(backend: Backend) {
    let a = spawn_app_with(backend, quick).await;
    eventually("instance A to run every projection", || async {
        NAMES.iter().all(|n| a.state.read.leaders.runs(n))
    })
    .await;
    if backend == Backend::Sqlite {
        // One process: nothing to elect.
        return;
    }
    let b = Server::start(&a.db_url(), quick).await.unwrap();
    // B waits while A leads: several of B's polls go by.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in NAMES {
        assert!(a.state.read.leaders.runs(name), "A still runs {name}");
        assert!(!b.state.read.leaders.runs(name), "B does not run {name}");
    }
    assert!(
        !b.state.read.cache.caches_orders(),
        "B does not cache rows it does not write"
    );
    let id = b.create_order("c-lead").await;
    b.order_at(&id, 1).await;

    // A goes away: B takes over from the checkpoint and keeps the read
    // models current.
    let (a, db) = a.into_parts();
    a.stop().await.unwrap();
    eventually("B to take over every projection", || async {
        NAMES.iter().all(|n| b.state.read.leaders.runs(n))
    })
    .await;
    assert!(b.state.read.cache.caches_orders());
    b.place(&id).await;
    assert_eq!(b.order_at(&id, 2).await.status, "PLACED");
    b.stop().await.unwrap();
    db.close().await.unwrap();
}
