//! The global event feed: a query (a connection over the log) and a
//! subscription that catches up from the store and then follows it live.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;

use super::error::ApiError;
use super::paging::log_page;
use super::scalars::Position;
use super::subscriptions::SubscriptionGauge;
use super::types::EventRecord;
use super::{read_models, request_context};
use crate::store::{EventQuery, RecordedEvent};

/// Which events to return. All given conditions must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this stream's events.
    pub stream_id: Option<ID>,
    /// Only events of these types.
    pub event_types: Option<Vec<String>>,
    /// recordedAt >= from
    pub from: Option<DateTime<Utc>>,
    /// recordedAt <= to
    pub to: Option<DateTime<Utc>>,
    /// Only events of commands sent by this user.
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

/// The feed query.
#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// The global event log in commit order. `after` is a cursor from a
    /// previous page (an edge's cursor is the event's position). Staff and
    /// admins only.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Start after this position (an `endCursor`, or a `CommandResult.position`)."
        )]
        after: Option<String>,
        #[graphql(desc = "Page size (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Conditions the events must meet.")] filter: Option<EventFilter>,
    ) -> Result<Connection<String, EventRecord>> {
        request_context(ctx).require_staff()?;
        let mut page = log_page(first, after.as_deref())?;
        // Position 0 is the start of the log, not a previous page.
        page.after = page.after.filter(|p| p.0 > 0);
        let query = filter.unwrap_or_default().query();
        let store = &read_models(ctx).store;
        let after_position = page.after.map_or(0, |p| p.0);
        let events = store
            .read_filtered(after_position, page.fetch() as usize, &query)
            .await
            .map_err(ApiError::from)?;
        Ok(page.connection(
            events,
            |e| e.position.to_string(),
            |e| EventRecord::from(&e),
        ))
    }
}

/// The feed subscription.
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
        #[graphql(
            desc = "Start after this position (default: the current head, i.e. only new events)."
        )]
        after_position: Option<String>,
        #[graphql(desc = "Conditions the events must meet.")] filter: Option<EventFilter>,
    ) -> Result<impl Stream<Item = EventRecord>> {
        request_context(ctx).require_staff()?;
        let read = read_models(ctx).clone();
        let store = read.store.clone();
        let mut last = match after_position {
            Some(p) => Position::parse("afterPosition", &p)?.0,
            None => store.head_position().await.map_err(ApiError::from)?,
        };
        let query = filter.unwrap_or_default().query();
        let poll = read.poll_interval;
        let mut head = store.subscribe_head();
        let guard = SubscriptionGauge::new("events");
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
