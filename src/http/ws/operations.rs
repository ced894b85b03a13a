//! The operations of a graphql-transport-ws socket, run by the gate itself
//! rather than by async-graphql's protocol loop. Each operation is a task
//! that executes it and hands its responses to the session; a read-model
//! subscription with nothing to send parks (see [`Parking`]): its
//! execution ends, the task keeps only what it needs to wake, and when its
//! aggregate changes the operation is executed again from where it stopped.
//! An idle subscription so costs a small task instead of a live executor.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Data, Executor, Request, Response};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::graphql::{AppSchema, Parking};

/// What an operation's task tells the session.
pub(super) enum Event {
    /// A response to send as `next`.
    Next {
        key: u64,
        id: Arc<str>,
        response: Box<Response>,
    },
    /// The operation ended (its stream finished).
    Complete { key: u64, id: Arc<str> },
}

/// The running operations of one socket, by the client's id. Each has a
/// key of its own, so the events of an operation the client completed are
/// not taken for those of a later one that reuses its id.
pub(super) struct Operations {
    running: HashMap<String, (u64, AbortHandle)>,
    next_key: u64,
    events: mpsc::Sender<Event>,
}

/// Events queued from all operations of a socket before a task waits.
const EVENTS: usize = 64;

impl Operations {
    /// No operations yet, and the receiver of their events.
    pub(super) fn new() -> (Operations, mpsc::Receiver<Event>) {
        let (events, rx) = mpsc::channel(EVENTS);
        let ops = Operations {
            running: HashMap::new(),
            next_key: 0,
            events,
        };
        (ops, rx)
    }

    /// Starts operation `id`. `payload` is the subscribe message's payload
    /// (JSON that reads as a `Request`), kept to execute it again after it
    /// parks.
    pub(super) fn start(
        &mut self,
        id: String,
        payload: Box<str>,
        schema: AppSchema,
        session: Arc<Data>,
    ) {
        self.next_key += 1;
        let key = self.next_key;
        let task = tokio::spawn(run(Runner {
            schema,
            session,
            payload,
            key,
            id: Arc::from(id.as_str()),
            events: self.events.clone(),
        }));
        self.running.insert(id, (key, task.abort_handle()));
    }

    /// Stops operation `id` (the client completed it); false when it is
    /// not running.
    pub(super) fn cancel(&mut self, id: &str) -> bool {
        match self.running.remove(id) {
            Some((_, task)) => {
                task.abort();
                true
            }
            None => false,
        }
    }

    /// Whether an event of `key` belongs to the running operation `id`.
    pub(super) fn is_current(&self, key: u64, id: &str) -> bool {
        self.running.get(id).is_some_and(|(k, _)| *k == key)
    }

    /// Forgets operation `id` when `key` is its; false when it is not.
    pub(super) fn finish(&mut self, key: u64, id: &str) -> bool {
        if self.is_current(key, id) {
            self.running.remove(id);
            true
        } else {
            false
        }
    }
}

impl Drop for Operations {
    fn drop(&mut self) {
        for (_, task) in self.running.values() {
            task.abort();
        }
    }
}

struct Runner {
    schema: AppSchema,
    session: Arc<Data>,
    payload: Box<str>,
    key: u64,
    id: Arc<str>,
    events: mpsc::Sender<Event>,
}

impl Runner {
    /// Executes the operation once, sending its responses; what it parked,
    /// if it did; `Err` when the session is gone.
    async fn execute(
        &self,
        request: Request,
        resume: Option<crate::graphql::Parked>,
    ) -> Result<Option<crate::graphql::Parked>, ()> {
        let parking = Arc::new(Parking::new(resume));
        let mut stream = Executor::execute_stream(
            &self.schema,
            request.data(parking.clone()),
            Some(self.session.clone()),
        );
        while let Some(response) = stream.next().await {
            let event = Event::Next {
                key: self.key,
                id: self.id.clone(),
                response: Box::new(response),
            };
            self.events.send(event).await.map_err(|_| ())?;
        }
        Ok(parking.take_parked())
    }
}

async fn run(runner: Runner) {
    let mut resume = None;
    loop {
        // Read from the payload for each execution (a few microseconds),
        // so that a parked operation does not keep a `Request`. It was
        // read once when the operation began, so it reads.
        let Ok(request) = serde_json::from_str::<Request>(&runner.payload) else {
            break;
        };
        // Boxed: the execution's future is large and lives only while it
        // runs; a parked operation keeps only `resume`.
        match Box::pin(runner.execute(request, resume.take())).await {
            Err(()) => return,
            Ok(None) => break,
            Ok(Some(mut parked)) => {
                if !parked.wait().await {
                    break;
                }
                resume = Some(parked);
            }
        }
    }
    let _ = runner
        .events
        .send(Event::Complete {
            key: runner.key,
            id: runner.id.clone(),
        })
        .await;
}
