//! The global event feed: a query (a connection over the log) and a
//! subscription that catches up from the store and then follows it live.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;

use super::error::ApiError;
use super::read::page_size;
use super::types::EventRecord;
use super::{read_models, request_context};
use crate::store::{EventQuery, RecordedEvent};

/// Which events to return. All given conditions must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct EventFilter {
    pub stream_id: Option<ID>,
    pub event_types: Option<Vec<String>>,
    /// recordedAt >= from
    pub from: Option<DateTime<Utc>>,
    /// recordedAt <= to
    pub to: Option<DateTime<Utc>>,
    pub user_id: Option<String>,
}

impl EventFilter {
    fn query(&self) -> EventQuery {
        EventQuery {
            stream_id: self.stream_id.as_ref().map(|s| s.0.clone()),
            event_types: self.event_types.clone(),
            from: self.from,
            to: self.to,
            user_id: self.user_id.clone(),
        }
    }
}

/// Parses a position given as a decimal string.
pub(crate) fn parse_position(what: &str, value: &str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| {
            ApiError::validation(format!("{what} must be a non-negative integer in a string"))
        })
}

#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// The global event log in commit order. `after` is a cursor from a
    /// previous page (an edge's cursor is the event's position).
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        first: Option<i32>,
        filter: Option<EventFilter>,
    ) -> Result<Connection<String, EventRecord>> {
        request_context(ctx).require_staff()?;
        let limit = page_size(first)? as usize;
        let after_position = after
            .as_deref()
            .map(|a| parse_position("after", a))
            .transpose()?
            .unwrap_or(0);
        let query = filter.unwrap_or_default().query();
        let store = &read_models(ctx).store;
        let mut events = store
            .read_filtered(after_position, limit + 1, &query)
            .await
            .map_err(ApiError::from)?;
        let has_next = events.len() > limit;
        events.truncate(limit);
        let mut connection = Connection::new(after_position > 0, has_next);
        connection.edges.extend(
            events
                .iter()
                .map(|e| Edge::new(e.position.to_string(), EventRecord::from(e))),
        );
        Ok(connection)
    }
}

#[derive(Default)]
pub struct EventsSubscription;

#[Subscription]
impl EventsSubscription {
    /// Every event after `afterPosition` (default: from now on), first
    /// those already stored, then live, with no gap and no duplicate: both
    /// phases read the log by position, which is commit order.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after_position: Option<String>,
        filter: Option<EventFilter>,
    ) -> Result<impl Stream<Item = EventRecord>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx).clone();
        let store = read.store.clone();
        let mut last = match after_position {
            Some(p) => parse_position("afterPosition", &p)?,
            None => store.head_position().await.map_err(ApiError::from)?,
        };
        let query = filter.unwrap_or_default().query();
        let poll = read.poll_interval;
        let mut head = store.subscribe_head();
        metrics::gauge!("chronicle_active_subscriptions", "subscription" => "events")
            .increment(1.0);
        let guard = SubscriptionGauge("events");
        Ok(async_stream::stream! {
            let _guard = guard;
            const BATCH: u64 = 200;
            loop {
                // Mark the head seen before reading, so an append that
                // lands after the read wakes us below.
                head.borrow_and_update();
                let batch: Vec<RecordedEvent> = match store.read_all(last, BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(error = %e, "events subscription read failed; retrying");
                        tokio::time::sleep(poll).await;
                        continue;
                    }
                };
                let full = batch.len() as u64 == BATCH;
                for event in batch {
                    last = event.position;
                    if query.matches(&event) {
                        yield EventRecord::from(&event);
                    }
                }
                if !full {
                    tokio::select! {
                        _ = head.changed() => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
            }
        })
    }
}

/// Counts a subscription in the active-subscriptions gauge while it lives.
pub(crate) struct SubscriptionGauge(pub &'static str);

impl Drop for SubscriptionGauge {
    fn drop(&mut self) {
        metrics::gauge!("chronicle_active_subscriptions", "subscription" => self.0).decrement(1.0);
    }
}
