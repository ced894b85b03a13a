//! The Markdown tables printed at the end.

use std::fmt::Write as _;
use std::time::Duration;

use crate::args::Args;
use crate::figures::{Measured, ms, ratio};
use crate::{CONCURRENT_TASKS, Results};

/// The store and HTTP table, the derived ratios and the read-side table.
pub fn report(args: &Args, r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### {} — N = {} (store), {} (HTTP), {} concurrent tasks\n",
        args.backend.name(),
        args.n,
        args.http_n,
        CONCURRENT_TASKS
    );
    let _ = writeln!(
        out,
        "| # | measurement | ratio | vs | ops/s | p50 ms | p99 ms |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---:|");
    let rows: [(&str, &str, &Measured, f64, &str); 10] = [
        (
            "1",
            "raw INSERT, own BEGIN/COMMIT (baseline)",
            &r.raw_txn,
            1.0,
            "—",
        ),
        (
            "1b",
            "raw INSERT, autocommit",
            &r.raw_auto,
            ratio(&r.raw_auto, &r.raw_txn),
            "1",
        ),
        (
            "1c",
            "raw INSERT into a copy of `events` (all columns + indexes), own BEGIN/COMMIT",
            &r.raw_events,
            ratio(&r.raw_events, &r.raw_txn),
            "1",
        ),
        (
            "2",
            "EventStore::append, sequential",
            &r.append_seq,
            ratio(&r.append_seq, &r.raw_txn),
            "1",
        ),
        (
            "3",
            "EventStore::append, 8 tasks",
            &r.append_conc,
            ratio(&r.append_conc, &r.append_seq),
            "2",
        ),
        (
            "3b",
            "raw INSERT, own BEGIN/COMMIT, 8 tasks",
            &r.raw_conc,
            ratio(&r.raw_conc, &r.raw_txn),
            "1",
        ),
        (
            "4a",
            "HTTP `{ __typename }` (baseline)",
            &r.http.typename,
            1.0,
            "—",
        ),
        (
            "4b",
            "HTTP createOrder",
            &r.http.create,
            ratio(&r.http.create, &r.http.typename),
            "4a",
        ),
        (
            "4c",
            "HTTP placeOrder",
            &r.http.place,
            ratio(&r.http.place, &r.http.typename),
            "4a",
        ),
        (
            "4d",
            "HTTP createOrder, projection workers not started",
            &r.create_no_proj,
            ratio(&r.create_no_proj, &r.http.typename),
            "4a",
        ),
    ];
    for (id, what, m, ratio, vs) in rows {
        let _ = writeln!(
            out,
            "| {id} | {what} | {ratio:.3} | {vs} | {:.0} | {} | {} |",
            m.per_sec(),
            ms(m.percentile(50.0)),
            ms(m.percentile(99.0)),
        );
    }
    let _ = writeln!(
        out,
        "\nDerived: append(2) / raw events-copy INSERT(1c) = {:.3}; createOrder / append(2) = {:.3}; createOrder with / without projections (4b/4d) = {:.3}; \
         placeOrder / createOrder = {:.3}; \
         append(2) / raw autocommit(1b) = {:.3}; append 8 tasks(3) / raw 8 tasks(3b) = {:.3}\n",
        ratio(&r.append_seq, &r.raw_events),
        ratio(&r.http.create, &r.append_seq),
        ratio(&r.http.create, &r.create_no_proj),
        ratio(&r.http.place, &r.http.create),
        ratio(&r.append_seq, &r.raw_auto),
        ratio(&r.append_conc, &r.raw_conc),
    );
    let _ = writeln!(
        out,
        "| # | read side: all lags 0 after … | events | max lag at 1st poll | time to lag 0 ms | \
         drain events/s (lag ÷ time) | sustained events/s (events ÷ (phase + time)) | polls | ms per poll |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let lags = [
        (
            "5a",
            "server start (backlog of phases 2–3)",
            r.backlog_events as usize,
            Duration::ZERO,
            &r.http.startup_lag,
        ),
        (
            "5b",
            "last createOrder response",
            r.http.create.ops,
            r.http.create.elapsed,
            &r.http.create_lag,
        ),
        (
            "5c",
            "last placeOrder response",
            r.http.place.ops,
            r.http.place.elapsed,
            &r.http.place_lag,
        ),
    ];
    for (id, what, events, phase, lag) in lags {
        let sustained = events as f64 / (phase + lag.catch_up).as_secs_f64();
        let _ = writeln!(
            out,
            "| {id} | {what} | {events} | {} | {} | {} | {sustained:.0} | {} | {} |",
            lag.backlog,
            ms(lag.catch_up),
            lag.events_per_sec()
                .map_or("— (0 at 1st poll)".to_owned(), |r| format!("{r:.0}")),
            lag.polls,
            ms(lag.poll_mean),
        );
    }
    out
}
