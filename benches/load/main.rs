//! `cargo bench --bench load`: the real `chronicle serve` (release build,
//! a child process on 127.0.0.1:0) under load over HTTP and WebSocket, on
//! SQLite and PostgreSQL, each scenario printed beside a baseline measured
//! in the same run:
//!
//! 1. createOrder / placeOrder at 1, 8, 32, 64 clients vs raw
//!    one-event-per-transaction INSERTs of the same row;
//! 2. `order(id)`, `orders(first: 20)`, `customerOrderHistory` vs
//!    `{ __typename }` on the same server and on a trivial in-process
//!    server (the client's ceiling);
//! 3. commit → `orderUpdated` delivery with 1,000 subscribers while
//!    commands run, vs the command's own round trip;
//! 4. server RSS with 10,000 idle subscriptions vs none;
//! 5. projection rebuild events/s vs raw batched INSERTs of the same rows;
//! 6. `orderHistory` / `order(atVersion)` with 1,000,000 events vs 1,000;
//! 7. bytes on disk per event and per order vs the event's JSON;
//!
//! and, on PostgreSQL, createOrder vs a cqrs-es + postgres-es peer
//! (`peers/cqrs-es`) at 1, 8 and 32 concurrent commands.
//!
//! ```sh
//! cargo bench --bench load -- --quick              # both backends, < 2 min
//! cargo bench --bench load -- --backend postgres   # full, one backend
//! cargo bench --bench load -- --write              # full, rewrites BENCHMARKS.md
//! ```
//!
//! Markdown goes to stdout, progress to stderr. PostgreSQL: a fresh
//! database `chronicle_load_<uuid>` next to BENCH_DATABASE_URL (default
//! postgres://postgres@127.0.0.1:5432/test), dropped at the end.

mod args;
mod ceiling;
mod gql;
mod library;
mod peer;
mod raw;
mod report;
mod server;
mod stats;
mod subs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chronicle_testkit::{
    ADD_ITEM, Backend, CREATE, HISTORY, ORDER_FIELDS, PLACE, TYPENAME, TestDb,
};
use clap::Parser;
use serde_json::{Value, json};

use crate::args::{Args, BackendArg, DEFAULT_PG_URL};
use crate::gql::Gql;
use crate::raw::{EventTemplate, RawDb};
use crate::report::{Machine, Table, bytes, errors, ms, rate, ratio};
use crate::server::ServerProc;
use crate::stats::{Stats, percentile_ms, run_load, us};

/// When the run started (progress lines carry the time since).
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// A progress line on stderr (stdout is the report).
pub fn progress(msg: impl AsRef<str>) {
    let t = STARTED.get_or_init(Instant::now).elapsed();
    eprintln!("[load {:>6.1}s] {}", t.as_secs_f64(), msg.as_ref());
}

/// Orders and customers: ids spread over this many customers.
const CUSTOMERS: u64 = 100;
/// Orders the subscription scenarios watch.
const WATCHED_ORDERS: usize = 100;
/// Subscriptions per WebSocket (the server's default limit).
const SUBS_PER_SOCKET: usize = 100;
/// Concurrent command drivers in the delivery scenario.
const DRIVERS: usize = 4;
/// Waits for projections, subscriptions, rebuilds.
const WAIT: Duration = Duration::from_secs(120);

fn create_input(n: u64) -> Value {
    json!({"input": {"customerId": format!("load-c-{}", n % CUSTOMERS), "items": [
        {"sku": "A", "name": "Apple", "unitPrice": "10.00", "quantity": 1}
    ]}})
}

/// createOrder; (id, version).
async fn create_order(gql: &Gql, n: u64) -> anyhow::Result<(String, i64)> {
    let data = gql.post(CREATE, create_input(n)).await?;
    let r = &data["createOrder"];
    match (r["aggregateId"].as_str(), r["version"].as_i64()) {
        (Some(id), Some(v)) => Ok((id.to_owned(), v)),
        _ => bail!("unexpected createOrder result {data}"),
    }
}

/// How many of the most recent orders scenario 2's first `order(id)` row
/// reads: a working set within the server's default read cache.
const HOT_ORDERS: usize = 20_000;

/// `count` orders from 8 concurrent clients.
async fn create_orders(gql: &Gql, count: usize) -> anyhow::Result<Vec<(String, i64)>> {
    use futures::StreamExt;
    let results: Vec<anyhow::Result<(String, i64)>> = futures::stream::iter(0..count)
        .map(|i| {
            let gql = gql.clone();
            async move { create_order(&gql, i as u64).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn add_item(gql: &Gql, id: &str, sku: &str) -> anyhow::Result<i64> {
    let data = gql
        .post(
            ADD_ITEM,
            json!({"input": {"orderId": id, "sku": sku, "name": "Item", "unitPrice": "1.00", "quantity": 1}}),
        )
        .await?;
    data["addItem"]["version"]
        .as_i64()
        .with_context(|| format!("unexpected addItem result {data}"))
}

/// Waits until every projection reports lag 0.
async fn wait_for_projections(gql: &Gql) -> anyhow::Result<Duration> {
    let t = Instant::now();
    loop {
        let data = gql.post("{ projections { name lag } }", json!({})).await?;
        let lagging = data["projections"]
            .as_array()
            .map(|ps| ps.iter().any(|p| p["lag"].as_i64() != Some(0)))
            .unwrap_or(true);
        if !lagging {
            return Ok(t.elapsed());
        }
        if t.elapsed() > WAIT {
            bail!("projections still lagging after {WAIT:?}: {data}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One server's life: warnings it logged, as a note.
fn server_note(server: &ServerProc, what: &str) -> Option<String> {
    let n = server.warnings.load(std::sync::atomic::Ordering::Relaxed);
    (n > 0).then(|| {
        let first = server
            .first_warning
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_default();
        format!(
            "**The server logged {n} WARN/ERROR lines during {what}**; first: `{}`",
            first.chars().take(300).collect::<String>()
        )
    })
}

/// Prints a table now and keeps it for BENCHMARKS.md.
fn emit(tables: &mut Vec<Table>, t: Table) {
    print!("{}", t.render());
    tables.push(t);
}

fn stat_cells(s: &Stats) -> Vec<String> {
    vec![rate(s.per_sec()), ms(s.pct_ms(50.0)), ms(s.pct_ms(99.0))]
}

struct Run<'a> {
    args: &'a Args,
    backend: Backend,
    tables: &'a mut Vec<Table>,
    versions: &'a mut Vec<String>,
}

impl Run<'_> {
    fn load<F, Fut>(&self, clients: usize, op: F) -> impl Future<Output = Stats> + use<F, Fut>
    where
        F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<bool>> + Send + 'static,
    {
        run_load(clients, self.args.warmup(), self.args.measure(), op)
    }

    /// Notes (under the last table, and on stdout) the WARN/ERROR lines the
    /// server logged since `seen`.
    fn server_warnings(&mut self, server: &ServerProc, seen: &mut u64) {
        let now = server.warning_count();
        if now > *seen {
            let note = format!(
                "**The server logged {} WARN/ERROR lines during this scenario**; the last: `{}`",
                now - *seen,
                server.last_warning().chars().take(300).collect::<String>()
            );
            println!("{note}\n");
            if let Some(t) = self.tables.last_mut() {
                t.note(note);
            }
        }
        *seen = now;
    }

    /// Scenario 1: commands vs raw INSERTs; the ids created.
    async fn commands(
        &mut self,
        gql: &Gql,
        raw: &RawDb,
        template: &EventTemplate,
    ) -> anyhow::Result<Vec<String>> {
        let mut t = Table::new(
            "1. Commands vs raw one-event-per-transaction INSERTs",
            &[
                "clients",
                "path",
                "req/s",
                "p50 ms",
                "p99 ms",
                "ratio vs raw",
                "errors",
            ],
        );
        let created: Arc<Mutex<Vec<String>>> = Arc::default();
        let to_place: Arc<Mutex<Vec<String>>> = Arc::default();
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        for &c in &self.args.clients {
            progress(format!("1. raw INSERT x {c} clients"));
            let base = raw
                .raw_event_inserts(template, c, self.args.warmup(), self.args.measure())
                .await;
            progress(format!("1. createOrder x {c} clients"));
            let create = {
                let (gql, created, to_place, counter) = (
                    gql.clone(),
                    created.clone(),
                    to_place.clone(),
                    counter.clone(),
                );
                self.load(c, move |_, _| {
                    let (gql, created, to_place, counter) = (
                        gql.clone(),
                        created.clone(),
                        to_place.clone(),
                        counter.clone(),
                    );
                    async move {
                        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let (id, _) = create_order(&gql, n).await?;
                        if let Ok(mut v) = created.lock() {
                            v.push(id.clone());
                        }
                        if let Ok(mut v) = to_place.lock() {
                            v.push(id);
                        }
                        Ok(true)
                    }
                })
                .await
            };
            progress(format!("1. placeOrder x {c} clients"));
            let place = {
                let (gql, to_place) = (gql.clone(), to_place.clone());
                self.load(c, move |_, _| {
                    let (gql, to_place) = (gql.clone(), to_place.clone());
                    async move {
                        let Some(id) = to_place.lock().ok().and_then(|mut v| v.pop()) else {
                            return Ok(false);
                        };
                        let data = gql.post(PLACE, json!({"input": {"orderId": id}})).await?;
                        if data["placeOrder"]["version"].as_i64() != Some(2) {
                            bail!("unexpected placeOrder result {data}");
                        }
                        Ok(true)
                    }
                })
                .await
            };
            let mut row = |path: &str, s: &Stats, vs: String| {
                let mut cells = vec![c.to_string(), path.to_owned()];
                cells.extend(stat_cells(s));
                cells.push(vs);
                cells.push(errors(s));
                t.row(cells);
            };
            row(
                "raw INSERT of the event row, own transaction (baseline)",
                &base,
                "1.00".into(),
            );
            row(
                "`createOrder`",
                &create,
                ratio(create.per_sec(), base.per_sec()),
            );
            row(
                "`placeOrder`",
                &place,
                ratio(place.per_sec(), base.per_sec()),
            );
        }
        t.note(format!(
            "Each client loops for {:.1} s after {:.1} s of warm-up; per-request timeout {} s. \
             The raw baseline INSERTs the same event row (the `data` and `metadata` JSON of a real \
             OrderCreated the server wrote, {} bytes) into a copy of `events` with all its columns \
             and indexes, one row per BEGIN … COMMIT, from the bench process{}. placeOrder places \
             orders created in the createOrder phases (a client stops when none is left).",
            self.args.measure().as_secs_f64(),
            self.args.warmup().as_secs_f64(),
            gql::REQUEST_TIMEOUT.as_secs(),
            template.json_bytes,
            if self.backend == Backend::Sqlite {
                " into its own SQLite file beside the server's, over a pool opened like the server's (WAL, synchronous=NORMAL), one writer at a time"
            } else {
                ", one pooled connection per client (at most 32: at 64 clients half of them wait for a connection)"
            }
        ));
        emit(self.tables, t);
        Ok(created.lock().map(|v| v.clone()).unwrap_or_default())
    }

    /// Scenario 2: reads vs `{ __typename }` and the client's ceiling.
    async fn reads(
        &mut self,
        gql: &Gql,
        addr: std::net::SocketAddr,
        ids: Vec<String>,
    ) -> anyhow::Result<()> {
        let c = self.args.read_clients;
        let waited = wait_for_projections(gql).await?;
        progress(format!(
            "2. projections caught up in {waited:?}; reads x {c} clients"
        ));
        let (ceiling_addr, ceiling_task) = ceiling::start().await?;
        let ceiling_gql = Gql::new(ceiling_addr)?;
        let typename_op = |g: Gql| {
            move |_: usize, _: u64| {
                let g = g.clone();
                async move {
                    let d = g.post(TYPENAME, json!({})).await?;
                    if d["__typename"] != "Query" {
                        bail!("unexpected {d}");
                    }
                    Ok(true)
                }
            }
        };
        progress("2. client ceiling");
        let ceiling = self.load(c, typename_op(ceiling_gql)).await;
        ceiling_task.abort();
        progress("2. { __typename }");
        let typename = self.load(c, typename_op(gql.clone())).await;
        if ids.is_empty() {
            bail!("no orders to read");
        }
        let order_q: Arc<str> =
            format!("query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}").into();
        let order_op = |ids: Arc<Vec<String>>| {
            let (g, q) = (gql.clone(), order_q.clone());
            move |client: usize, n: u64| {
                let (g, ids, q) = (g.clone(), ids.clone(), q.clone());
                async move {
                    let id = &ids[(client * 7919 + n as usize * 31) % ids.len()];
                    let d = g.post(&q, json!({"id": id})).await?;
                    if d["order"]["id"] != id.as_str() {
                        bail!("order {id}: {d}");
                    }
                    Ok(true)
                }
            }
        };
        // The read cache's hits and misses during a phase, from /metrics.
        let cache = || async {
            let count = |result: &str| {
                let metric = format!("chronicle_read_cache_total{{result=\"{result}\"}}");
                async move {
                    subs::metric_sum(gql.http(), addr, &metric)
                        .await
                        .unwrap_or(f64::NAN)
                }
            };
            (count("hit").await, count("miss").await)
        };
        let hit_rate = |a: (f64, f64), b: (f64, f64)| {
            let (hits, misses) = (b.0 - a.0, b.1 - a.1);
            100.0 * hits / (hits + misses).max(1.0)
        };
        // A working set within the read cache (the most recent orders:
        // those the projection put there last), then every order.
        let hot: Arc<Vec<String>> = Arc::new(ids[ids.len().saturating_sub(HOT_ORDERS)..].to_vec());
        let all = Arc::new(ids);
        progress(format!("2. order(id) over {} orders", hot.len()));
        let c0 = cache().await;
        let order = self.load(c, order_op(hot.clone())).await;
        let c1 = cache().await;
        progress(format!("2. order(id) over {} orders", all.len()));
        let order_all = self.load(c, order_op(all.clone())).await;
        let c2 = cache().await;
        let orders_q: Arc<str> =
            format!("{{ orders(first: 20) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }}").into();
        progress("2. orders(first: 20)");
        let orders = {
            let (g, q) = (gql.clone(), orders_q.clone());
            self.load(c, move |_, _| {
                let (g, q) = (g.clone(), q.clone());
                async move {
                    let d = g.post(&q, json!({})).await?;
                    if d["orders"]["edges"].as_array().map_or(0, Vec::len) != 20 {
                        bail!("orders: not 20 edges");
                    }
                    Ok(true)
                }
            })
            .await
        };
        progress("2. customerOrderHistory");
        let history = {
            let g = gql.clone();
            self.load(c, move |client, n| {
                let g = g.clone();
                async move {
                    let customer = format!("load-c-{}", (client as u64 * 13 + n) % CUSTOMERS);
                    let d = g
                        .post(
                            "query($c: ID!) { customerOrderHistory(customerId: $c, first: 20) { edges { node { orderId status totalAmount } } } }",
                            json!({"c": customer}),
                        )
                        .await?;
                    if !d["customerOrderHistory"]["edges"].is_array() {
                        bail!("customerOrderHistory: {d}");
                    }
                    Ok(true)
                }
            })
            .await
        };
        let mut t = Table::new(
            format!("2. Reads vs `{{ __typename }}`, {c} clients"),
            &[
                "query",
                "server",
                "req/s",
                "p50 ms",
                "p99 ms",
                "ratio vs `{ __typename }` on chronicle",
                "errors",
            ],
        );
        let base = typename.per_sec();
        for (q, server, s) in [
            (
                "`{ __typename }`",
                "trivial in-process axum server (the client's ceiling)",
                &ceiling,
            ),
            ("`{ __typename }` (baseline)", "chronicle", &typename),
            (
                &format!("`order(id)`, the {} most recent orders", hot.len()),
                "chronicle",
                &order,
            ),
            (
                &format!("`order(id)`, all {} orders", all.len()),
                "chronicle",
                &order_all,
            ),
            ("`orders(first: 20)`", "chronicle", &orders),
            (
                "`customerOrderHistory(customerId, first: 20)`",
                "chronicle",
                &history,
            ),
        ] {
            let mut cells = vec![q.to_owned(), server.to_owned()];
            cells.extend(stat_cells(s));
            cells.push(ratio(s.per_sec(), base));
            cells.push(errors(s));
            t.row(cells);
        }
        t.note(format!(
            "Same client (one reqwest::Client, keep-alive), same concurrency for every row. \
             `order(id)` picks among the {} most recent orders of scenario 1 (a working set within \
             the server's read cache, `--read-cache-entries` 50,000 by default; {:.1}% of its reads \
             were cache hits by /metrics), then among all {} of them ({:.1}% hits: a miss reads \
             the database), all projected before the phase; `customerOrderHistory` among their \
             {CUSTOMERS} customers. The ceiling server runs in the bench process and shares its 2 \
             cores with the client, so it is a lower bound of what the client can do; chronicle's \
             `{{ __typename }}` at {:.2}× the ceiling says how much of the machine the server's \
             transport takes.",
            hot.len(),
            hit_rate(c0, c1),
            all.len(),
            hit_rate(c1, c2),
            typename.per_sec() / ceiling.per_sec().max(1e-9)
        ));
        emit(self.tables, t);
        Ok(())
    }

    /// The cqrs-es peer vs createOrder (PostgreSQL).
    async fn peer(&mut self, gql: &Gql, url: &str) -> anyhow::Result<()> {
        let mut t = Table::new(
            "cqrs-es + postgres-es vs chronicle's createOrder (PostgreSQL, same server, interleaved)",
            &[
                "concurrent commands",
                "cqrs-es commands/s",
                "cqrs-es p50 / p99 ms",
                "chronicle `commands::execute` in-process commands/s",
                "in-process p50 / p99 ms",
                "in-process ÷ cqrs-es",
                "chronicle createOrder over HTTP req/s",
                "HTTP p50 / p99 ms",
                "HTTP ÷ cqrs-es",
                "errors (peer / in-process / HTTP)",
            ],
        );
        let bin = Args::in_crate(&self.args.cqrs_es_bin);
        let built = bin.is_file();
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(1_000_000));
        // The in-process runs get a database of their own, so that the
        // server's projection workers do not project their events.
        let lib_db = TestDb::create(Backend::Postgres, Some(url), "chronicle_load_lib_").await?;
        for c in [1usize, 8, 32] {
            let peer = if built {
                progress(format!("peer: cqrs-es x {c}"));
                Some(peer::run(&bin, url, self.args.peer_commands(), c).await)
            } else {
                None
            };
            progress(format!(
                "peer: chronicle commands::execute in-process x {c}"
            ));
            let lib = library::run(&lib_db.url, self.args.peer_commands(), c).await?;
            progress(format!("peer: chronicle createOrder x {c}"));
            let ours = {
                let (g, counter) = (gql.clone(), counter.clone());
                self.load(c, move |_, _| {
                    let (g, counter) = (g.clone(), counter.clone());
                    async move {
                        create_order(
                            &g,
                            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        )
                        .await?;
                        Ok(true)
                    }
                })
                .await
            };
            let (peer_cells, peer_rate, peer_errors) = match peer {
                Some(Ok(p)) => (
                    vec![
                        rate(p.commands_per_sec),
                        format!("{} / {}", ms(p.p50_ms), ms(p.p99_ms)),
                    ],
                    Some(p.commands_per_sec),
                    format!("{} of {}", p.errors, p.commands + p.errors),
                ),
                Some(Err(e)) => (
                    vec![
                        format!(
                            "**failed**: {}",
                            format!("{e:#}")
                                .replace('|', "/")
                                .chars()
                                .take(150)
                                .collect::<String>()
                        ),
                        "—".into(),
                    ],
                    None,
                    "—".into(),
                ),
                None => (vec!["not built".into(), "—".into()], None, "—".into()),
            };
            let vs_peer = |s: &Stats| match peer_rate {
                Some(p) => ratio(s.per_sec(), p),
                None => "—".into(),
            };
            let mut cells = vec![c.to_string()];
            cells.extend(peer_cells);
            for s in [&lib, &ours] {
                cells.push(rate(s.per_sec()));
                cells.push(format!("{} / {}", ms(s.pct_ms(50.0)), ms(s.pct_ms(99.0))));
                cells.push(vs_peer(s));
            }
            cells.push(format!(
                "{peer_errors} / {} / {}",
                errors(&lib),
                errors(&ours)
            ));
            t.row(cells);
        }
        if let Err(e) = lib_db.close().await {
            progress(format!("could not drop the database: {e:#}"));
        }
        if built {
            t.note(format!(
                "The peer (`peers/cqrs-es`, its own workspace) runs {} CreateOrder commands per row \
                 (same payload: one line, customer, total) through cqrs-es's `PostgresCqrs` on fresh \
                 aggregate ids, with its own tables `cqrs_events`/`cqrs_snapshots` in the server's database. \
                 \"In-process\" is the same for chronicle's command layer: {} `commands::execute` of a \
                 CreateOrder from the bench process over an `EventStore` on a database of its own on the \
                 same PostgreSQL (group commit, global order and the append lock as in the server; no \
                 projection workers, as the peer has no queries). \"Over HTTP\" is createOrder sent to the \
                 running server for the phase time (GraphQL, auth, and the server's three projections \
                 applying every event on the same 2 cores). Rows alternate peer, in-process, HTTP.",
                self.args.peer_commands(),
                self.args.peer_commands()
            ));
        } else {
            t.note(format!(
                "The peer is not built ({} is missing): build it with `{}`.",
                bin.display(),
                peer::BUILD_HINT
            ));
        }
        emit(self.tables, t);
        Ok(())
    }

    /// Scenario 3: delivery latency with many subscribers while commands
    /// run: as fast as the clients can send them (the server at capacity),
    /// then at a fixed rate below it (the latency of the path itself).
    async fn delivery(&mut self, server: &ServerProc, gql: &Gql) -> anyhow::Result<()> {
        let subscribers = self.args.subscribers.max(1);
        let mut t = Table::new(
            format!("3. Commit → `orderUpdated` delivery, {subscribers} subscribers"),
            &[
                "what",
                "count",
                "p50 ms",
                "p99 ms",
                "ratio p99 vs the command's round trip",
                "errors",
            ],
        );
        self.delivery_phase(server, gql, None, &mut t).await?;
        let rate = self.args.delivery_rate;
        if rate > 0.0 {
            self.delivery_phase(server, gql, Some(rate), &mut t).await?;
        }
        emit(self.tables, t);
        Ok(())
    }

    /// One phase of scenario 3 on 100 fresh orders: `rate` commands per
    /// second in all (`None`: as fast as the clients go).
    async fn delivery_phase(
        &mut self,
        server: &ServerProc,
        gql: &Gql,
        rate: Option<f64>,
        t: &mut Table,
    ) -> anyhow::Result<()> {
        let subscribers = self.args.subscribers.max(1);
        let per_socket = subscribers.min(WATCHED_ORDERS);
        let sockets = subscribers.div_ceil(per_socket);
        progress(format!(
            "3. {subscribers} subscribers on {sockets} WebSockets, {WATCHED_ORDERS} orders"
        ));
        let orders = create_orders(gql, WATCHED_ORDERS).await?;
        wait_for_projections(gql).await?;
        let counters = Arc::new(subs::Counters::default());
        let before = subs::active_subscriptions(gql.http(), server.addr)
            .await
            .unwrap_or(0.0);
        let plan: Vec<Vec<(String, i64)>> = (0..sockets)
            .map(|s| {
                let n = per_socket.min(subscribers - s * per_socket);
                orders.iter().take(n).cloned().collect()
            })
            .collect();
        let sockets_open = subs::open_many(server.addr, plan, counters.clone(), true).await?;
        let notices = subs::Subscriber::open_notices(server.addr, counters.clone()).await?;
        let active = subs::wait_for_subscriptions(
            gql.http(),
            server.addr,
            before + subscribers as f64,
            WAIT,
        )
        .await
            - before;
        progress(format!(
            "3. {active} subscriptions active; driving addItem from {DRIVERS} clients"
        ));
        // Every order is driven by one driver, so its next version is known
        // before the command is sent.
        let measure = self.args.measure() * 2;
        let until = Instant::now() + measure;
        let mut drivers = Vec::new();
        for d in 0..DRIVERS {
            let mine: Vec<(String, i64)> =
                orders.iter().skip(d).step_by(DRIVERS).cloned().collect();
            let gql = gql.clone();
            // Each client sends a quarter of the rate, on a fixed schedule.
            let mut pace = rate.map(|r| {
                let mut i = tokio::time::interval(Duration::from_secs_f64(DRIVERS as f64 / r));
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                i
            });
            drivers.push(tokio::spawn(async move {
                let mut sent: Vec<(String, i64, Instant, Instant)> = Vec::new();
                let mut latencies = Vec::new();
                let mut errs = 0u64;
                let mut first_err = None;
                let mut versions: Vec<i64> = mine.iter().map(|o| o.1).collect();
                let mut k = 0usize;
                while Instant::now() < until && !mine.is_empty() {
                    if let Some(pace) = pace.as_mut() {
                        pace.tick().await;
                    }
                    let i = k % mine.len();
                    k += 1;
                    let next = versions[i] + 1;
                    let t = Instant::now();
                    match add_item(&gql, &mine[i].0, &format!("S{next}")).await {
                        Ok(v) if v == next => {
                            let done = Instant::now();
                            latencies.push(us(done - t));
                            sent.push((mine[i].0.clone(), v, t, done));
                            versions[i] = v;
                        }
                        Ok(v) => {
                            errs += 1;
                            first_err.get_or_insert(format!(
                                "addItem returned version {v}, expected {next}"
                            ));
                            versions[i] = v;
                        }
                        Err(e) => {
                            errs += 1;
                            first_err.get_or_insert(format!("{e:#}"));
                        }
                    }
                }
                (sent, latencies, errs, first_err)
            }));
        }
        let mut sent = HashMap::new();
        let mut cmd_lat = Vec::new();
        let mut cmd = Stats::default();
        for d in drivers {
            let (s, l, e, f) = d.await?;
            for (id, v, t, done) in s {
                sent.insert((id, v), (t, done));
            }
            cmd_lat.extend(l);
            cmd.errors += e;
            if cmd.first_error.is_none() {
                cmd.first_error = f;
            }
        }
        let commands = cmd_lat.len() as u64;
        let mut cmd_stats = Stats::from_parts(commands, measure, cmd_lat);
        cmd_stats.errors = cmd.errors;
        cmd_stats.first_error = cmd.first_error;
        // Let the last deliveries arrive.
        tokio::time::sleep(Duration::from_secs(1)).await;
        // When each (order, version) was announced readable, and after the
        // HTTP response by how much: the projection's part of the delay.
        let mut readable = HashMap::new();
        let mut to_notice = Vec::new();
        for (id, v, at) in notices.close().await {
            if let Some((_, done)) = sent.get(&(id.clone(), v)) {
                to_notice.push(us(at.saturating_duration_since(*done)));
            }
            readable.insert((id, v), at);
        }
        let mut from_notice = Vec::new();
        let mut from_resp = Vec::new();
        let mut from_send = Vec::new();
        let mut early = 0u64;
        for s in sockets_open {
            for (id, v, at) in s.close().await {
                if let Some(notice) = readable.get(&(id.clone(), v)) {
                    from_notice.push(us(at.saturating_duration_since(*notice)));
                }
                if let Some((t, done)) = sent.get(&(id, v)) {
                    from_send.push(us(at.saturating_duration_since(*t)));
                    if at < *done {
                        early += 1;
                    }
                    from_resp.push(us(at.saturating_duration_since(*done)));
                }
            }
        }
        from_resp.sort_unstable();
        from_send.sort_unstable();
        to_notice.sort_unstable();
        from_notice.sort_unstable();
        let expected = commands * sockets as u64;
        let ws_errors = counters.errors.load(std::sync::atomic::Ordering::Relaxed);
        let load = match rate {
            None => format!("{DRIVERS} clients as fast as they go"),
            Some(r) => format!("{DRIVERS} clients at {r:.0} commands/s in all"),
        };
        t.row(vec![
            format!(
                "`addItem` round trip, send → HTTP response (baseline), {load}: {:.0} commands/s",
                cmd_stats.per_sec()
            ),
            commands.to_string(),
            ms(cmd_stats.pct_ms(50.0)),
            ms(cmd_stats.pct_ms(99.0)),
            "1.00".into(),
            errors(&cmd_stats),
        ]);
        let ws_errors = if ws_errors > 0 {
            format!("**{ws_errors}**")
        } else {
            "0".into()
        };
        let base_p99 = cmd_stats.pct_ms(99.0);
        let rows = [
            (
                format!(
                    "delivery ({load}): HTTP response of the mutation → `orderUpdated` with that version received"
                ),
                format!("{} of {expected}", from_resp.len()),
                &from_resp,
                ws_errors,
            ),
            (
                format!(
                    "delivery ({load}): mutation sent → `orderUpdated` with that version received"
                ),
                format!("{} of {expected}", from_send.len()),
                &from_send,
                String::new(),
            ),
            (
                format!(
                    "of which ({load}): HTTP response → the `projectionUpdated` notice of that version received (the projection's part)"
                ),
                to_notice.len().to_string(),
                &to_notice,
                String::new(),
            ),
            (
                format!(
                    "of which ({load}): that notice → `orderUpdated` of that version received (the subscriptions' part)"
                ),
                from_notice.len().to_string(),
                &from_notice,
                String::new(),
            ),
        ];
        for (what, count, samples, errors) in rows {
            t.row(vec![
                what,
                count,
                ms(percentile_ms(samples, 50.0)),
                ms(percentile_ms(samples, 99.0)),
                ratio(percentile_ms(samples, 99.0), base_p99),
                errors,
            ]);
        }
        if let Some(r) = rate {
            t.note(format!(
                "The second phase: the same on {WATCHED_ORDERS} fresh orders and new sockets, the {DRIVERS} \
                 clients each sending on a fixed schedule, {r:.0} commands/s in all, below what the \
                 server sustains, so the figures are the path's latency rather than a queue's. {early} \
                 deliveries arrived before the HTTP response."
            ));
        } else {
            t.note(format!(
                "{sockets} WebSockets (`graphql-transport-ws`, tokio-tungstenite) × {per_socket} subscriptions \
                 `orderUpdated(id, afterVersion)`; every one of {WATCHED_ORDERS} orders is watched by {sockets} \
                 subscribers ({active} subscriptions active by /metrics). {DRIVERS} clients send `addItem` \
                 round-robin over the orders for {:.1} s. A delivery counts when a subscriber receives the \
                 version a command produced by 1 s after the last command; \"count\" is those of \
                 commands × subscribers per order (a subscriber that falls behind is sent the latest \
                 version only, and deliveries still queued after that second are not counted). {early} deliveries \
                 arrived before the HTTP response (counted as 0 ms).",
                measure.as_secs_f64()
            ));
        }
        Ok(())
    }

    /// Scenario 4: RSS with many idle subscriptions.
    async fn memory(&mut self, server: &ServerProc, gql: &Gql) -> anyhow::Result<()> {
        let n = self.args.idle_subscriptions.max(1);
        let per_socket = n.min(SUBS_PER_SOCKET);
        let sockets = n.div_ceil(per_socket);
        let orders = create_orders(gql, per_socket).await?;
        wait_for_projections(gql).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before_subs = subs::active_subscriptions(gql.http(), server.addr)
            .await
            .unwrap_or(0.0);
        let rss0 = server.rss_bytes()?;
        progress(format!(
            "4. RSS {} with no subscriptions; opening {n} on {sockets} WebSockets",
            bytes(rss0 as f64)
        ));
        let counters = Arc::new(subs::Counters::default());
        let plan: Vec<Vec<(String, i64)>> = (0..sockets)
            .map(|s| {
                orders
                    .iter()
                    .take(per_socket.min(n - s * per_socket))
                    .cloned()
                    .collect()
            })
            .collect();
        let t0 = Instant::now();
        let open = subs::open_many(server.addr, plan, counters.clone(), false).await?;
        let active =
            subs::wait_for_subscriptions(gql.http(), server.addr, before_subs + n as f64, WAIT)
                .await
                - before_subs;
        let took = t0.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss1 = server.rss_bytes()?;
        progress(format!(
            "4. RSS {} with {active} subscriptions",
            bytes(rss1 as f64)
        ));
        for s in open {
            s.close().await;
        }
        let mut t = Table::new(
            format!("4. Server RSS with {n} idle subscriptions vs none"),
            &[
                "state",
                "subscriptions active",
                "RSS",
                "per subscription",
                "ratio vs none",
            ],
        );
        t.row(vec![
            "no subscriptions (baseline)".into(),
            format!("{before_subs}"),
            bytes(rss0 as f64),
            "—".into(),
            "1.00".into(),
        ]);
        t.row(vec![
            format!("{n} idle `orderUpdated` on {sockets} WebSockets"),
            format!("{active}"),
            bytes(rss1 as f64),
            bytes((rss1 as f64 - rss0 as f64) / active.max(1.0)),
            ratio(rss1 as f64, rss0 as f64),
        ]);
        t.note(format!(
            "A server process started for this scenario on the database of scenarios 1–3. \
             VmRSS of the server process from /proc/<pid>/status, 1 s after the /metrics gauge \
             `chronicle_active_subscriptions` reached the count ({:.1} s to open and register them all); \
             each subscription watches one of {per_socket} orders with `afterVersion` = its version, so \
             nothing is sent. The server ran with `--max-sockets-per-principal 512` (all sockets come from \
             one loopback address, one principal on an open server). WebSocket errors: {}.",
            took.as_secs_f64(),
            counters.errors.load(std::sync::atomic::Ordering::Relaxed)
        ));
        emit(self.tables, t);
        Ok(())
    }

    /// Scenario 7 on a database: bytes per event and per order.
    async fn disk(&mut self, raw: &RawDb, title: &str) -> anyhow::Result<()> {
        let sizes = match raw.table_sizes().await {
            Ok(s) => s,
            Err(e) => {
                let mut t = Table::new(format!("7. Bytes on disk — {title}"), &["what", "value"]);
                t.row(vec![
                    "not measured".into(),
                    format!("{e:#}").replace('|', "/"),
                ]);
                emit(self.tables, t);
                return Ok(());
            }
        };
        let events = raw.event_count().await?.max(1) as f64;
        let orders = raw
            .scalar_i64("SELECT COUNT(DISTINCT stream_id) FROM events", vec![])
            .await?
            .max(1) as f64;
        let json = raw.mean_event_json_bytes().await?;
        let get = |name: &str| sizes.iter().find(|(n, _)| n == name).map_or(0, |(_, b)| *b) as f64;
        let events_bytes = get("events");
        let read_models: f64 = [
            "order_details",
            "order_detail_lines",
            "customer_order_history",
            "sales_stats",
        ]
        .iter()
        .map(|n| get(n))
        .sum();
        let all: f64 = sizes.iter().map(|(_, b)| *b as f64).sum();
        let mut t = Table::new(
            format!("7. Bytes on disk — {title}"),
            &[
                "what",
                "bytes",
                "per event",
                "per order",
                "ratio vs the event's JSON",
            ],
        );
        t.row(vec![
            "event JSON (`data` + `metadata` text), mean (baseline)".into(),
            "—".into(),
            format!("{json:.0}"),
            format!("{:.0}", json * events / orders),
            "1.00".into(),
        ]);
        t.row(vec![
            "`events` table + its indexes".into(),
            bytes(events_bytes),
            format!("{:.0}", events_bytes / events),
            format!("{:.0}", events_bytes / orders),
            ratio(events_bytes / events, json),
        ]);
        t.row(vec![
            "read models (order_details and its lines, customer_order_history, sales_stats) + indexes".into(),
            bytes(read_models),
            format!("{:.0}", read_models / events),
            format!("{:.0}", read_models / orders),
            ratio(read_models / events, json),
        ]);
        t.row(vec![
            "every chronicle table (also command_log, snapshots, checkpoints)".into(),
            bytes(all),
            format!("{:.0}", all / events),
            format!("{:.0}", all / orders),
            ratio(all / events, json),
        ]);
        t.note(format!(
            "{events:.0} events in {orders:.0} orders ({:.2} events per order). {}",
            events / orders,
            if self.backend == Backend::Sqlite {
                "SQLite: pages per table and index from the `dbstat` virtual table (page size included)."
            } else {
                "PostgreSQL: `pg_total_relation_size` (heap, TOAST, indexes, free space map) per table."
            }
        ));
        emit(self.tables, t);
        Ok(())
    }

    /// Scenarios 5 and 6 on their own database: history latency on a small
    /// and a large store, and a rebuild in between.
    async fn history_and_rebuild(&mut self, url: &str) -> anyhow::Result<()> {
        let args = self.args;
        let raw = RawDb::connect(url, 4).await?;
        let server = ServerProc::start(url).await?;
        let gql = Gql::new(server.addr)?;
        let (id, _) = create_order(&gql, 0).await?;
        for k in 0..3 {
            add_item(&gql, &id, &format!("H{k}")).await?;
        }
        gql.post(PLACE, json!({"input": {"orderId": id}})).await?;
        wait_for_projections(&gql).await?;
        let template = raw.event_template(&id, 1).await?;
        server.stop().await?;

        let history_q: Arc<str> = HISTORY.into();
        let at_q: Arc<str> =
            format!("query($id: ID!) {{ order(id: $id, atVersion: 3) {{ {ORDER_FIELDS} }} }}")
                .into();
        let measure_history = |gql: Gql, id: String| {
            let (history_q, at_q) = (history_q.clone(), at_q.clone());
            async move {
                let h = {
                    let (g, q, id) = (gql.clone(), history_q.clone(), id.clone());
                    run_load(1, args.warmup(), args.measure(), move |_, _| {
                        let (g, q, id) = (g.clone(), q.clone(), id.clone());
                        async move {
                            let d = g.post(&q, json!({"id": id})).await?;
                            if d["orderHistory"].as_array().map_or(0, Vec::len) != 5 {
                                bail!("orderHistory: {d}");
                            }
                            Ok(true)
                        }
                    })
                    .await
                };
                let a = {
                    let (g, q, id) = (gql.clone(), at_q.clone(), id.clone());
                    run_load(1, args.warmup(), args.measure(), move |_, _| {
                        let (g, q, id) = (g.clone(), q.clone(), id.clone());
                        async move {
                            let d = g.post(&q, json!({"id": id})).await?;
                            if d["order"]["version"].as_i64() != Some(3) {
                                bail!("order(atVersion: 3): {d}");
                            }
                            Ok(true)
                        }
                    })
                    .await
                };
                (h, a)
            }
        };

        // 6a: the small store.
        let fill = |target: u64| {
            let raw = raw.clone();
            let template = template.clone();
            async move {
                let have = raw.event_count().await? as u64;
                let t = Instant::now();
                if target > have {
                    raw.fill_events(&template, target - have).await?;
                }
                raw.skip_projections_to_head().await?;
                anyhow::Ok((target.saturating_sub(have), t.elapsed()))
            }
        };
        let small = args.small_events;
        fill(small).await?;
        let server = ServerProc::start(url).await?;
        let gql = Gql::new(server.addr)?;
        progress(format!("6. history on {small} events"));
        let (h_small, a_small) = measure_history(gql.clone(), id.clone()).await;
        let notes_small = server_note(&server, "the small-store phase");
        server.stop().await?;

        // 5: rebuild of order_details over the rebuild store.
        let r_events = args.rebuild_events().max(small);
        let (added, _) = fill(r_events).await?;
        progress(format!(
            "5. rebuild of order_details over {r_events} events ({added} filled)"
        ));
        let server = ServerProc::start(url).await?;
        let gql = Gql::new(server.addr)?;
        let t0 = Instant::now();
        let job = gql
            .post(
                "mutation { rebuildProjection(name: \"order_details\") { generation } }",
                json!({}),
            )
            .await?;
        let generation = job["rebuildProjection"]["generation"]
            .as_i64()
            .context("rebuild generation")?;
        loop {
            let d = gql
                .post("{ projections { name generation } }", json!({}))
                .await?;
            let live = d["projections"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "order_details"))
                .and_then(|p| p["generation"].as_i64());
            if live == Some(generation) {
                break;
            }
            if t0.elapsed() > WAIT * 3 {
                bail!("the rebuild did not finish within {:?}", WAIT * 3);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let rebuild_time = t0.elapsed();
        let notes_rebuild = server_note(&server, "the rebuild");
        server.stop().await?;
        let replayed = raw.event_count().await? as f64;
        let rows = raw
            .scalar_i64(
                &format!("SELECT COUNT(*) FROM order_details WHERE generation = {generation}"),
                vec![],
            )
            .await?;
        raw.create_raw_order_details().await?;
        let (lines, total) = raw.pending_order_details_row().await?;
        progress(format!("5. raw batched INSERTs of {rows} rows"));
        let base = raw
            .raw_batched_order_details(rows.max(1) as usize, &lines, &total)
            .await?;
        let mut t = Table::new(
            "5. Projection rebuild vs raw batched INSERTs of the same rows",
            &[
                "what",
                "events",
                "rows written",
                "seconds",
                "events/s",
                "rows/s",
                "ratio (time of baseline ÷ time)",
            ],
        );
        t.row(vec![
            format!("raw multi-row INSERTs into a copy of `order_details`, {} rows per transaction (baseline)", raw::REBUILD_BATCH),
            "—".into(),
            rows.to_string(),
            format!("{:.2}", base.elapsed.as_secs_f64()),
            rate(replayed / base.elapsed.as_secs_f64()),
            rate(base.per_sec()),
            "1.00".into(),
        ]);
        t.row(vec![
            "`rebuildProjection(name: \"order_details\")` until its generation is live".into(),
            format!("{replayed:.0}"),
            rows.to_string(),
            format!("{:.2}", rebuild_time.as_secs_f64()),
            rate(replayed / rebuild_time.as_secs_f64()),
            rate(rows as f64 / rebuild_time.as_secs_f64()),
            ratio(base.elapsed.as_secs_f64(), rebuild_time.as_secs_f64()),
        ]);
        t.note(
            "The store holds valid OrderCreated rows (copies of one the server wrote, each its own order) \
             filled straight into `events`; the live projections were moved past them, so only the rebuild \
             replays them. Rebuild time: from sending the mutation until `projections` (polled every 25 ms) \
             reports the new generation live; it reads the events and writes the rows in batches of 1,000. \
             The baseline writes the same number of rows, shaped like the projection's (same items JSON), \
             from the bench process, sequentially.",
        );
        if let Some(n) = notes_rebuild {
            t.note(n);
        }
        emit(self.tables, t);

        // 6b: the large store.
        let large = args.large_events().max(r_events);
        progress(format!("6. filling the store to {large} events"));
        let (added, fill_time) = fill(large).await?;
        let server = ServerProc::start(url).await?;
        let gql = Gql::new(server.addr)?;
        progress(format!("6. history on {large} events"));
        let (h_large, a_large) = measure_history(gql.clone(), id.clone()).await;
        let notes_large = server_note(&server, "the large-store phase");
        server.stop().await?;
        let mut t = Table::new(
            format!(
                "6. History reads with {} events in the store vs {}",
                rate(large as f64),
                rate(small as f64)
            ),
            &[
                "query",
                "events in the store",
                "req/s",
                "p50 ms",
                "p99 ms",
                "ratio p50 vs the small store",
                "errors",
            ],
        );
        for (q, (s, l)) in [
            ("`orderHistory(id)` (5 events)", (&h_small, &h_large)),
            ("`order(id, atVersion: 3)`", (&a_small, &a_large)),
        ] {
            for (n, st) in [(small, s), (large, l)] {
                let mut cells = vec![q.to_owned(), rate(n as f64)];
                cells.extend(stat_cells(st));
                cells.push(ratio(st.pct_ms(50.0), s.pct_ms(50.0)));
                cells.push(errors(st));
                t.row(cells);
            }
        }
        t.note(format!(
            "One client, sequential requests, for one order of 5 events (created, 3 items added, placed) \
             written first through the API; the rest of the store is OrderCreated rows of other orders \
             inserted directly ({added} rows in {:.1} s, {} rows/s). {}",
            fill_time.as_secs_f64(),
            rate(added as f64 / fill_time.as_secs_f64().max(1e-9)),
            if args.quick && large < 1_000_000 {
                format!("**Quick mode: the large store is {large} events, not 1,000,000.**")
            } else {
                String::new()
            }
        ));
        for n in [notes_small, notes_large].into_iter().flatten() {
            t.note(n);
        }
        emit(self.tables, t);
        self.disk(
            &raw,
            &format!("the history store ({large:.0} events, one OrderCreated each)"),
        )
        .await?;
        raw.conn.clone().close().await.ok();
        Ok(())
    }

    async fn run(&mut self, admin_url: &str) -> anyhow::Result<()> {
        let pg_admin = (self.backend == Backend::Postgres).then_some(admin_url);
        let db = TestDb::create(self.backend, pg_admin, "chronicle_load_").await?;
        progress(format!(
            "{}: database {}",
            self.backend.name(),
            chronicle::app::redact(&db.url)
        ));
        let args = self.args;
        let outcome = if [1, 2, 3, 4, 7].iter().any(|&n| args.wants(n)) {
            self.run_on(&db.url).await
        } else {
            Ok(())
        };
        let outcome = match outcome {
            Ok(()) if args.wants(5) || args.wants(6) => {
                let db2 = TestDb::create(self.backend, pg_admin, "chronicle_load_").await?;
                let r = self.history_and_rebuild(&db2.url).await;
                if let Err(e) = db2.close().await {
                    progress(format!("could not drop the database: {e:#}"));
                }
                r
            }
            e => e,
        };
        if let Err(e) = db.close().await {
            progress(format!("could not drop the database: {e:#}"));
        }
        outcome
    }

    async fn run_on(&mut self, url: &str) -> anyhow::Result<()> {
        let server = ServerProc::start(url).await?;
        let gql = Gql::new(server.addr)?;
        // PostgreSQL: at most 32 connections for the raw baseline (64 clients
        // queue for them), closed after scenario 1, so that the server (20),
        // the peer (up to 32) and others' tests stay under max_connections.
        let raw = RawDb::connect(url, 32).await?;
        self.versions.push(format!(
            "- {}: {}",
            if self.backend == Backend::Sqlite {
                "SQLite (bundled, as the server and the bench open it: WAL, synchronous=NORMAL)"
            } else {
                "PostgreSQL"
            },
            raw.version().await?
        ));
        let (first, _) = create_order(&gql, 0).await?;
        let template = raw.event_template(&first, 1).await?;
        // SQLite: the raw baseline writes its own file beside the server's
        // (same directory, same pragmas). Two processes writing one SQLite
        // file make the server's projection workers fail with
        // SQLITE_BUSY_SNAPSHOT (517) and back off, which would measure the
        // benchmark, not the server.
        let scratch = match self.backend {
            Backend::Sqlite => {
                RawDb::connect(&url.replacen("/test.db?", "/raw-baseline.db?", 1), 8).await?
            }
            Backend::Postgres => raw.clone(),
        };
        scratch.create_raw_events().await?;
        let mut seen = server.warning_count();
        let args = self.args;
        let ids = if args.wants(1) || args.wants(2) {
            self.commands(&gql, &scratch, &template).await?
        } else {
            Vec::new()
        };
        self.server_warnings(&server, &mut seen);
        scratch.conn.clone().close().await.ok();
        raw.conn.clone().close().await.ok();
        let raw = RawDb::connect(url, 4).await?;
        if args.wants(2) {
            self.reads(&gql, server.addr, ids).await?;
            self.server_warnings(&server, &mut seen);
        }
        if self.backend == Backend::Postgres && args.wants(1) {
            self.peer(&gql, url).await?;
            self.server_warnings(&server, &mut seen);
        }
        if args.wants(3) {
            self.delivery(&server, &gql).await?;
            self.server_warnings(&server, &mut seen);
        }
        let server = if args.wants(4) {
            // A fresh process on the same database: what the allocator kept
            // from scenarios 1–3 would otherwise absorb the subscriptions'
            // memory and hide it.
            server.stop().await?;
            let server = ServerProc::start(url).await?;
            let gql = Gql::new(server.addr)?;
            let mut seen = server.warning_count();
            self.memory(&server, &gql).await?;
            self.server_warnings(&server, &mut seen);
            server
        } else {
            server
        };
        server.stop().await?;
        self.disk(&raw, "after scenarios 1–4 (orders with read models)")
            .await?;
        raw.conn.clone().close().await.ok();
        Ok(())
    }
}

const INTRO: &str = "# Benchmarks

`cargo bench --bench load` starts the real release server (`chronicle serve`,
a child process on 127.0.0.1:0) over a fresh database and drives it over
HTTP and WebSocket with one keep-alive client at a fixed concurrency. Every
scenario is printed beside a baseline **measured in the same run on the same
machine and database** (raw INSERTs from the bench process, `{ __typename }`
on the same server, the same client against a trivial in-process server,
the same query on a small store, RSS with no subscriptions); read the
ratios, the absolute numbers move with the machine's load. Errors are
counted in every row; a row with errors says so in bold.
";

const REPRODUCE: &str = "## Reproduce

```sh
# both backends, full run (about 8 minutes here); --write rewrites this file
cargo bench --bench load -- --write
# quick look (small counts, short phases; under 2 minutes for both backends)
cargo bench --bench load -- --quick
# one backend; PostgreSQL creates chronicle_load_<uuid> next to BENCH_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/test) and drops it at the end
BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
    cargo bench --bench load -- --backend postgres
# the cqrs-es peer of the PostgreSQL comparison (its own workspace; without it
# those rows say \"not built\")
cargo build --release --manifest-path peers/cqrs-es/Cargo.toml
```

Knobs (`cargo bench --bench load -- --help`): `--secs` and `--warmup-secs`
per phase, `--clients 1,8,32,64`, `--read-clients`, `--subscribers`,
`--idle-subscriptions`, `--small-events`, `--large-events`,
`--rebuild-events`, `--peer-commands`, `--cqrs-es-bin`, `--deadline-secs`;
`--only 3,5` runs just those scenarios (not with `--write`).
Progress and the first server log lines go to stderr, the tables to stdout.

`cargo run --release --example bench -- --backend sqlite|postgres`
(`examples/bench/`) is the older in-process benchmark that decomposes the
append path (`EventStore::append` vs raw INSERTs, sequential and 8 tasks,
projection drain); its last figures (2026-11-28, before this session's
write-path changes) are in this file's git history.
";

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.write && !args.only.is_empty() {
        bail!("--write rewrites BENCHMARKS.md from a whole run: not with --only");
    }
    let admin_url = std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
    let backends: Vec<Backend> = match args.backend {
        BackendArg::Sqlite => vec![Backend::Sqlite],
        BackendArg::Postgres => vec![Backend::Postgres],
        BackendArg::Both => vec![Backend::Sqlite, Backend::Postgres],
    };
    let started = *STARTED.get_or_init(Instant::now);
    let load_before = report::loadavg();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let mut sections = Vec::new();
    let mut versions = Vec::new();
    let mut failures = Vec::new();
    for backend in backends {
        let t = Instant::now();
        println!(
            "\n## {}{}\n",
            if backend == Backend::Sqlite {
                "SQLite"
            } else {
                "PostgreSQL"
            },
            if args.quick { " (quick)" } else { "" }
        );
        let mut tables = Vec::new();
        let mut run = Run {
            args: &args,
            backend,
            tables: &mut tables,
            versions: &mut versions,
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout(args.deadline(), run.run(&admin_url)) => {
                r.unwrap_or_else(|_| Err(anyhow::anyhow!("the deadline of {:?} passed", args.deadline())))
            }
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
        let took = t.elapsed();
        progress(format!("{}: {:.1} s", backend.name(), took.as_secs_f64()));
        let mut body: String = tables.iter().map(Table::render).collect();
        if let Err(e) = &outcome {
            let line = format!(
                "**The {} run failed: {e:#}** (the tables above are what it measured before).\n\n",
                backend.name()
            );
            print!("{line}");
            body.push_str(&line);
            failures.push(format!("{}: {e:#}", backend.name()));
        }
        body.push_str(&format!(
            "{} run: {:.0} s.\n\n",
            backend.name(),
            took.as_secs_f64()
        ));
        sections.push((backend, body));
    }
    let total = started.elapsed();
    let load_after = report::loadavg();
    progress(format!("total {:.1} s", total.as_secs_f64()));
    println!(
        "Total: {:.1} s; load average before {load_before}, after {load_after}.",
        total.as_secs_f64()
    );

    if args.write {
        let mut machine = Machine::probe();
        machine.lines.insert(
            0,
            format!("- {date}; the whole run took {:.0} s", total.as_secs_f64()),
        );
        machine.lines.extend(versions);
        machine.lines.push(format!(
            "- load average (1/5/15 min) before: {load_before}; after: {load_after}"
        ));
        let cmd: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect();
        machine.lines.push(format!(
            "- command: `cargo bench --bench load -- {}`",
            cmd.join(" ")
        ));
        let mut doc = String::new();
        doc.push_str(INTRO);
        doc.push('\n');
        doc.push_str(REPRODUCE);
        doc.push_str("\n## Machine and software\n\n");
        doc.push_str(&machine.lines.join("\n"));
        doc.push_str("\n\n{{NOTES}}\n\n");
        for (backend, body) in &sections {
            doc.push_str(&format!(
                "## {}\n\n",
                if *backend == Backend::Sqlite {
                    "SQLite"
                } else {
                    "PostgreSQL"
                }
            ));
            doc.push_str(
                &body
                    .replace("\n### ", "\n#### ")
                    .replacen("### ", "#### ", 1),
            );
        }
        let path = Args::in_crate(&args.out);
        report::write_benchmarks(&path, doc.trim_end())?;
        progress(format!("wrote {}", path.display()));
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    Ok(())
}
