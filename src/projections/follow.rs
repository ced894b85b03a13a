//! Cross-instance notices on PostgreSQL (LISTEN/NOTIFY), so that
//! subscribers on any instance hear of every commit within milliseconds.
//!
//! - Every append batch sends `NOTIFY chronicle_head` inside its
//!   transaction (delivered on commit, in the lock statement: no extra round
//!   trip), its payload the appending store's origin. A listener reads the
//!   new head and wakes this process's `events` subscriptions and
//!   projection workers (its own appends' notifications it skips: the
//!   appender moved the head when they committed).
//! - Every projection batch sends `NOTIFY chronicle_batch, '<name>
//!   <generation> <from> <to> <origin>'` inside its transaction (`origin`
//!   tags the process that committed it). Every instance but that one
//!   reads the log between the positions it has announced and `to`, and
//!   announces the events the projection handles to its own subscribers,
//!   exactly as the committing worker does locally. Whose batch it was, not
//!   who leads now, decides: an instance that has just taken a projection
//!   over still announces the old leader's last batches, which its own
//!   worker (starting after them) never will.
//! - NOTIFY is not durable: after the listening connection is (re)made,
//!   each projection is caught up from its checkpoint, so nothing is
//!   missed; a duplicate announcement is harmless (`orderUpdated` sends a
//!   version once).

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::{ProjectionNotice, ReadModels, checkpoint};

/// The channel of append batches.
pub const HEAD_CHANNEL: &str = "chronicle_head";
/// The channel of projection batches.
pub const BATCH_CHANNEL: &str = "chronicle_batch";
/// Most events read per step when announcing another instance's batches.
const READ_CHUNK: u64 = 500;

/// The payload of a projection batch's notification; `origin` is the
/// committing process's [`super::Leaders::origin`].
pub fn batch_payload(name: &str, generation: i32, from: i64, to: i64, origin: &str) -> String {
    format!("{name} {generation} {from} {to} {origin}")
}

/// (name, generation, to, origin); a payload without an origin (an older
/// instance's) counts as another process's.
fn parse_batch(payload: &str) -> Option<(&str, i32, i64, Option<&str>)> {
    let mut parts = payload.split(' ');
    let name = parts.next()?;
    let generation = parts.next()?.parse().ok()?;
    let _from: i64 = parts.next()?.parse().ok()?;
    let to = parts.next()?.parse().ok()?;
    Some((name, generation, to, parts.next()))
}

/// Listens until stopped, reconnecting (and catching up) when the
/// connection drops.
pub async fn run(read: ReadModels, poll_interval: Duration, stop: CancellationToken) {
    let pool = read.db().conn().get_postgres_connection_pool().clone();
    let mut announced: HashMap<&'static str, i64> = HashMap::new();
    while !stop.is_cancelled() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other instances' commits; retrying");
                super::pause(poll_interval, &stop).await;
                continue;
            }
        };
        if let Err(e) = listener.listen_all([HEAD_CHANNEL, BATCH_CHANNEL]).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            super::pause(poll_interval, &stop).await;
            continue;
        }
        // Listening now: whatever was committed before is caught up from
        // the database, so the seam loses nothing.
        catch_up(&read, &mut announced).await;
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => return,
                m = listener.try_recv() => m,
            };
            match message {
                Ok(Some(n)) if n.channel() == HEAD_CHANNEL => {
                    // Our own appends moved the head when they committed.
                    if n.payload() == read.store.origin() {
                        continue;
                    }
                    if let Ok(head) = read.store.head_position().await {
                        read.store.advance_head(head);
                    }
                }
                Ok(Some(n)) => {
                    if let Some((name, generation, to, origin)) = parse_batch(n.payload()) {
                        let own = origin == Some(read.leaders.origin());
                        follow_batch(&read, &mut announced, name, generation, to, own).await;
                    }
                }
                // The connection was lost: make a new one and catch up.
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the LISTEN connection; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Announces every projection up to its checkpoint, and wakes the head.
/// What this process's own workers committed while the listener was away
/// may be announced twice (harmless); nothing is missed.
async fn catch_up(read: &ReadModels, announced: &mut HashMap<&'static str, i64>) {
    if let Ok(head) = read.store.head_position().await {
        read.store.advance_head(head);
    }
    for p in read.projections.iter() {
        let Ok(generation) = read.fresh_live_generation(p.name()).await else {
            continue;
        };
        if let Ok(Some(cp)) = checkpoint::load(read.db(), p.name(), generation).await {
            follow_batch(read, announced, p.name(), generation, cp.position, false).await;
        }
    }
}

/// Announces the events of `name` up to `to` that this process has not
/// announced yet (unless the batch is `own`: this process's worker
/// committed it and announced it).
async fn follow_batch(
    read: &ReadModels,
    announced: &mut HashMap<&'static str, i64>,
    name: &str,
    generation: i32,
    to: i64,
    own: bool,
) {
    let Some(projection) = read.projection(name).filter(|p| p.announces()) else {
        return;
    };
    let name = projection.name();
    let live = read.live_generation(name).await.ok();
    if live != Some(generation) {
        return; // a rebuild's generation: it announces nothing
    }
    let Some(&from) = announced.get(name) else {
        // First sight of this projection: start from here.
        announced.insert(name, to);
        return;
    };
    if to <= from {
        return;
    }
    announced.insert(name, to);
    if own {
        return;
    }
    let mut after = from;
    while after < to {
        let events = match read.store.read_all(after, READ_CHUNK).await {
            Ok(events) if !events.is_empty() => events,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(projection = name, error = %e, "cannot read the log to announce a batch");
                return;
            }
        };
        for event in events.iter().take_while(|e| e.position <= to) {
            after = event.position;
            if !projection.handles(&event.stream_type, &event.event_type) {
                continue;
            }
            read.router.publish(name, &event.stream_id, event.version);
            let _ = read.notices.send(ProjectionNotice {
                projection: name,
                aggregate_id: event.stream_id.clone(),
                version: event.version,
                position: event.position,
                event_type: event.event_type.clone(),
            });
        }
        if events.last().is_some_and(|e| e.position > to) {
            return;
        }
    }
}
