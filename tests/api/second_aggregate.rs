//! A second aggregate, defined only here, runs through the real store,
//! command handling (idempotency, conflicts, retries), an upcaster, a
//! snapshot and a projection, without any change under `src/`: the core
//! knows no aggregate.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chronicle::commands::{self, CommandContext, CommandError, LoadTarget};
use chronicle::db::Db;
use chronicle::domain::testing::given;
use chronicle::domain::{Aggregate, DomainEvent, Refusal, RefusalKind, Upcast, UpcastRegistry};
use chronicle::projections::{BatchError, Projection, Touched, decode_batch, default_projections};
use chronicle::store::{ExpectedVersion, NewEvent, RecordedEvent};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

// ------------------------------------------------------------- the domain

/// A film screening whose seats can be reserved.
struct Screening;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ScreeningState {
    seats: u32,
    reserved: BTreeSet<u32>,
}

#[derive(Debug, Clone, PartialEq)]
enum ScreeningCommand {
    Open { seats: u32 },
    Reserve { seat: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
enum ScreeningEvent {
    /// Schema version 2: `seats` (version 1 called it `capacity`).
    Opened {
        seats: u32,
    },
    SeatReserved {
        seat: u32,
    },
}

impl DomainEvent for ScreeningEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ScreeningEvent::Opened { .. } => "Opened",
            ScreeningEvent::SeatReserved { .. } => "SeatReserved",
        }
    }
    fn schema_version(&self) -> i32 {
        match self {
            ScreeningEvent::Opened { .. } => 2,
            ScreeningEvent::SeatReserved { .. } => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum ScreeningError {
    #[error("a screening needs seats")]
    NoSeats,
    #[error("already open")]
    AlreadyOpen,
    #[error("screening not found")]
    NotFound,
    #[error("seat {0} does not exist")]
    NoSuchSeat(u32),
    #[error("seat {0} is taken")]
    SeatTaken(u32),
}

impl Refusal for ScreeningError {
    fn kind(&self) -> RefusalKind {
        match self {
            ScreeningError::NoSeats | ScreeningError::NoSuchSeat(_) => RefusalKind::Validation,
            ScreeningError::AlreadyOpen | ScreeningError::SeatTaken(_) => RefusalKind::BusinessRule,
            ScreeningError::NotFound => RefusalKind::NotFound,
        }
    }
}

#[derive(Deserialize)]
struct OpenedV1 {
    capacity: u32,
}

#[derive(Serialize)]
struct OpenedV2 {
    seats: u32,
}

struct OpenedV1ToV2;

impl Upcast for OpenedV1ToV2 {
    const EVENT_TYPE: &'static str = "Opened";
    const FROM_VERSION: i32 = 1;
    type From = OpenedV1;
    type To = OpenedV2;
    fn upcast(old: OpenedV1) -> OpenedV2 {
        OpenedV2 {
            seats: old.capacity,
        }
    }
}

impl Aggregate for Screening {
    const STREAM_TYPE: &'static str = "Screening";
    const STATE_SCHEMA_VERSION: i32 = 1;
    type Id = String;
    type State = Option<ScreeningState>;
    type Command = ScreeningCommand;
    type Event = ScreeningEvent;
    type Error = ScreeningError;

    fn command_name(command: &ScreeningCommand) -> &'static str {
        match command {
            ScreeningCommand::Open { .. } => "openScreening",
            ScreeningCommand::Reserve { .. } => "reserveSeat",
        }
    }
    fn creates_stream(command: &ScreeningCommand) -> bool {
        matches!(command, ScreeningCommand::Open { .. })
    }
    fn decide(
        state: &Option<ScreeningState>,
        command: &ScreeningCommand,
    ) -> Result<Vec<ScreeningEvent>, ScreeningError> {
        match (state, command) {
            (Some(_), ScreeningCommand::Open { .. }) => Err(ScreeningError::AlreadyOpen),
            (None, ScreeningCommand::Open { seats: 0 }) => Err(ScreeningError::NoSeats),
            (None, ScreeningCommand::Open { seats }) => {
                Ok(vec![ScreeningEvent::Opened { seats: *seats }])
            }
            (None, _) => Err(ScreeningError::NotFound),
            (Some(s), ScreeningCommand::Reserve { seat }) => {
                if *seat == 0 || *seat > s.seats {
                    Err(ScreeningError::NoSuchSeat(*seat))
                } else if s.reserved.contains(seat) {
                    Err(ScreeningError::SeatTaken(*seat))
                } else {
                    Ok(vec![ScreeningEvent::SeatReserved { seat: *seat }])
                }
            }
        }
    }
    fn evolve(state: Option<ScreeningState>, event: &ScreeningEvent) -> Option<ScreeningState> {
        match (state, event) {
            (None, ScreeningEvent::Opened { seats }) => Some(ScreeningState {
                seats: *seats,
                reserved: BTreeSet::new(),
            }),
            (Some(mut s), ScreeningEvent::SeatReserved { seat }) => {
                s.reserved.insert(*seat);
                Some(s)
            }
            (state, _) => state,
        }
    }
    fn register_upcasters(registry: &mut impl UpcastRegistry) {
        registry.register::<OpenedV1ToV2>(Self::STREAM_TYPE);
    }
}

#[test]
fn the_second_aggregate_is_tested_with_the_same_harness() {
    let opened = ScreeningEvent::Opened { seats: 2 };
    given::<Screening>(&[])
        .when(ScreeningCommand::Open { seats: 2 })
        .then([opened.clone()]);
    given::<Screening>(std::slice::from_ref(&opened))
        .when(ScreeningCommand::Reserve { seat: 3 })
        .then_err(ScreeningError::NoSuchSeat(3));
    given::<Screening>(&[opened, ScreeningEvent::SeatReserved { seat: 1 }])
        .when(ScreeningCommand::Reserve { seat: 1 })
        .then_err(ScreeningError::SeatTaken(1));
}

// --------------------------------------------------------- the projection

/// Free seats per screening, in a table this test creates itself.
struct FreeSeats;

const FREE_SEATS: &str = "free_seats";

fn table() -> Alias {
    Alias::new("test_free_seats")
}

async fn ensure_table(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    conn.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS test_free_seats (generation INTEGER NOT NULL, \
         screening_id TEXT NOT NULL, free BIGINT NOT NULL, version INTEGER NOT NULL, \
         PRIMARY KEY (generation, screening_id))",
    )
    .await
    .map(|_| ())
}

#[async_trait]
impl Projection for FreeSeats {
    fn name(&self) -> &'static str {
        FREE_SEATS
    }
    fn handles(&self, stream_type: &str, _event_type: &str) -> bool {
        stream_type == Screening::STREAM_TYPE
    }
    async fn apply_batch(
        &self,
        txn: &DatabaseTransaction,
        generation: i32,
        events: &[&RecordedEvent],
    ) -> Result<Vec<Touched>, BatchError> {
        ensure_table(txn).await.map_err(|e| BatchError::at(0, e))?;
        let mut touched = Vec::new();
        for item in decode_batch::<Screening>(events) {
            let (i, event, decoded) = item?;
            let (free, delta) = match decoded {
                ScreeningEvent::Opened { seats } => (i64::from(seats), None),
                ScreeningEvent::SeatReserved { .. } => (0, Some(-1)),
            };
            let statement = match delta {
                None => Query::insert()
                    .into_table(table())
                    .columns(["generation", "screening_id", "free", "version"].map(Alias::new))
                    .values_panic([
                        generation.into(),
                        event.stream_id.clone().into(),
                        free.into(),
                        event.version.into(),
                    ])
                    .on_conflict(
                        OnConflict::columns(["generation", "screening_id"].map(Alias::new))
                            .do_nothing()
                            .to_owned(),
                    )
                    .to_owned(),
                Some(delta) => {
                    let update = Query::update()
                        .table(table())
                        .value(Alias::new("free"), Expr::col(Alias::new("free")).add(delta))
                        .value(Alias::new("version"), event.version)
                        .and_where(Expr::col(Alias::new("generation")).eq(generation))
                        .and_where(
                            Expr::col(Alias::new("screening_id")).eq(event.stream_id.as_str()),
                        )
                        .to_owned();
                    txn.execute(&update)
                        .await
                        .map_err(|e| BatchError::at(i, e))?;
                    touched.push(Touched::by(event));
                    continue;
                }
            };
            txn.execute(&statement)
                .await
                .map_err(|e| BatchError::at(i, e))?;
            touched.push(Touched::by(event));
        }
        Ok(touched)
    }
    async fn clear(&self, txn: &DatabaseTransaction, generation: i32) -> Result<(), DbErr> {
        ensure_table(txn).await?;
        let delete = Query::delete()
            .from_table(table())
            .and_where(Expr::col(Alias::new("generation")).eq(generation))
            .to_owned();
        txn.execute(&delete).await.map(|_| ())
    }
    async fn dump(&self, db: &Db, generation: i32) -> Result<Vec<Value>, DbErr> {
        ensure_table(db.conn()).await?;
        let select = Query::select()
            .columns(["screening_id", "free", "version"].map(Alias::new))
            .from(table())
            .and_where(Expr::col(Alias::new("generation")).eq(generation))
            .order_by(Alias::new("screening_id"), sea_orm::Order::Asc)
            .to_owned();
        db.conn()
            .query_all(&select)
            .await?
            .into_iter()
            .map(|row| {
                Ok(json!([
                    row.try_get::<String>("", "screening_id")?,
                    row.try_get::<i64>("", "free")?,
                    row.try_get::<i32>("", "version")?
                ]))
            })
            .collect()
    }
}

// ------------------------------------------------------------- the test

both_backends!(a_second_aggregate_runs_through_the_whole_core);

fn ctx(command_id: Option<&str>, expected_version: Option<i32>) -> CommandContext {
    CommandContext {
        user_id: Some("tester".into()),
        command_id: command_id.map(str::to_owned),
        expected_version,
        ..CommandContext::default()
    }
}

async fn a_second_aggregate_runs_through_the_whole_core(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.upcasters = c.upcasters.clone().with::<Screening>();
        let mut projections = default_projections();
        projections.push(Arc::new(FreeSeats));
        c.projections = Some(projections);
        c.snapshot_every = 3;
    })
    .await;
    let store = &app.state.store;
    let id = "screening-1".to_owned();
    let run = |command: ScreeningCommand, ctx: CommandContext| {
        let id = id.clone();
        async move { commands::execute::<Screening>(store, &id, &command, &ctx).await }
    };

    // Commands: create, then four reservations; the fifth seat stays free.
    let opened = run(ScreeningCommand::Open { seats: 5 }, ctx(None, None))
        .await
        .expect("open");
    assert_eq!(opened.version, 1);
    for seat in 1..=4 {
        run(ScreeningCommand::Reserve { seat }, ctx(None, None))
            .await
            .expect("reserve");
    }

    // Refusals keep their kind and message; nothing is appended.
    match run(ScreeningCommand::Reserve { seat: 2 }, ctx(None, None)).await {
        Err(CommandError::Refused { kind, message }) => {
            assert_eq!(kind, RefusalKind::BusinessRule);
            assert_eq!(message, "seat 2 is taken");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match run(ScreeningCommand::Reserve { seat: 9 }, ctx(None, None)).await {
        Err(CommandError::Refused { kind, .. }) => assert_eq!(kind, RefusalKind::Validation),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Optimistic concurrency and idempotent command ids are generic too.
    match run(ScreeningCommand::Reserve { seat: 5 }, ctx(None, Some(3))).await {
        Err(CommandError::Concurrency { expected, actual }) => {
            assert_eq!((expected, actual), (3, 5));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.stream_version(&id).await.expect("version"), 5);

    // A snapshot was taken at version 3; loading starts from it.
    let snapshots = store.snapshot_versions(&id).await.expect("snapshots");
    assert_eq!(snapshots, vec![3]);
    let loaded = commands::load::<Screening>(store, &id, LoadTarget::Latest)
        .await
        .expect("load");
    assert_eq!(loaded.snapshot_version, Some(3));
    assert_eq!(loaded.events_read, 2);
    let state = loaded.state.expect("open screening");
    assert_eq!(state.reserved, BTreeSet::from([1, 2, 3, 4]));
    let at_two = commands::load::<Screening>(store, &id, LoadTarget::AtVersion(2))
        .await
        .expect("time travel");
    assert_eq!(at_two.state.expect("open").reserved, BTreeSet::from([1]));

    // A repeated command id appends once and returns the first result.
    let first = run(
        ScreeningCommand::Reserve { seat: 5 },
        ctx(Some("k-5"), None),
    )
    .await
    .expect("reserve 5");
    let again = run(
        ScreeningCommand::Reserve { seat: 5 },
        ctx(Some("k-5"), None),
    )
    .await
    .expect("repeat");
    assert_eq!(
        (first.version, first.position),
        (again.version, again.position)
    );
    assert_eq!(store.stream_version(&id).await.expect("version"), 6);
    assert_eq!(
        store.snapshot_versions(&id).await.expect("snapshots"),
        vec![3, 6]
    );

    // A schema-1 event of this aggregate is upcast on every read path.
    let old = NewEvent {
        event_type: "Opened".into(),
        schema_version: 1,
        data: json!({"capacity": 7}),
        metadata: Default::default(),
    };
    store
        .append(
            "screening-old",
            Screening::STREAM_TYPE,
            ExpectedVersion::NoStream,
            vec![old],
            None,
        )
        .await
        .expect("append v1");
    let old_state =
        commands::load::<Screening>(store, &"screening-old".to_owned(), LoadTarget::Latest)
            .await
            .expect("load v1")
            .state
            .expect("open");
    assert_eq!(old_state.seats, 7);
    // The stored row stays as written; every read sees the current shape.
    let read_back = store
        .read_stream("screening-old", 1, None)
        .await
        .expect("read");
    assert_eq!(read_back[0].schema_version, 2);
    assert_eq!(read_back[0].data, json!({"seats": 7}));

    // The projection engine runs the test's projection like any other.
    let projection = FreeSeats;
    eventually("the free_seats projection to catch up", || async {
        let generation = app
            .state
            .read
            .live_generation(FREE_SEATS)
            .await
            .expect("generation");
        projection.dump(&app.state.db, generation).await.ok()
            == Some(vec![
                json!(["screening-1", 0, 6]),
                json!(["screening-old", 7, 1]),
            ])
    })
    .await;
    let status = app
        .ok("{ projections { name lag state } }", json!({}))
        .await;
    let mine = status["projections"]
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"] == FREE_SEATS)
        .cloned()
        .expect("free_seats is listed");
    assert_eq!(mine["state"], "RUNNING");

    // The Order read models ignored the other aggregate's events.
    let orders = app
        .ok("{ orders { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(orders["orders"]["edges"], json!([]));
}
