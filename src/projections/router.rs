//! Routed notices: "aggregate X is readable at version v in projection P"
//! reaches the subscribers of X only, so the cost of a write is in
//! proportion to the subscribers that care about it, not to all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

type Key = (&'static str, String);

/// A map from (projection, aggregate id) to the version last applied, with
/// an entry only while somebody watches it. Cheap to clone.
#[derive(Clone, Default)]
pub struct NoticeRouter {
    entries: Arc<Mutex<HashMap<Key, watch::Sender<i32>>>>,
}

impl NoticeRouter {
    /// Watches one aggregate in one projection; the entry goes when the
    /// last watcher drops.
    pub fn watch(&self, projection: &'static str, aggregate_id: &str) -> RoutedWatch {
        let key = (projection, aggregate_id.to_owned());
        let receiver = match self.entries.lock() {
            Ok(mut entries) => entries
                .entry(key.clone())
                .or_insert_with(|| watch::Sender::new(0))
                .subscribe(),
            // A poisoned map (a panic while holding it) must not stop
            // subscriptions: this watcher simply never wakes on notices.
            Err(_) => watch::Sender::new(0).subscribe(),
        };
        RoutedWatch {
            receiver,
            router: self.clone(),
            key,
        }
    }

    /// Tells the watchers of `aggregate_id` (if any) that `projection`
    /// applied its event at `version`. One map lookup; nobody else wakes.
    pub fn publish(&self, projection: &'static str, aggregate_id: &str, version: i32) {
        let Ok(entries) = self.entries.lock() else {
            return;
        };
        if let Some(sender) = entries.get(&(projection, aggregate_id.to_owned())) {
            sender.send_if_modified(|v| {
                let newer = version > *v;
                *v = (*v).max(version);
                newer
            });
        }
    }

    /// How many (projection, aggregate) pairs are watched.
    pub fn watched(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

/// A subscription's view of one aggregate's version.
pub struct RoutedWatch {
    receiver: watch::Receiver<i32>,
    router: NoticeRouter,
    key: Key,
}

impl RoutedWatch {
    /// Waits until a version newer than the last one seen is published;
    /// returns it.
    pub async fn changed(&mut self) -> Option<i32> {
        self.receiver.changed().await.ok()?;
        Some(*self.receiver.borrow_and_update())
    }
}

impl Drop for RoutedWatch {
    fn drop(&mut self) {
        if let Ok(mut entries) = self.router.entries.lock()
            && entries
                .get(&self.key)
                .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            entries.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_watchers_of_an_aggregate_wake_and_entries_go_with_them() {
        let router = NoticeRouter::default();
        let mut a = router.watch("p", "a");
        let b = router.watch("p", "b");
        assert_eq!(router.watched(), 2);
        router.publish("p", "a", 3);
        router.publish("p", "nobody", 1);
        assert_eq!(a.changed().await, Some(3));
        drop(b);
        assert_eq!(router.watched(), 1);
        let a2 = router.watch("p", "a");
        drop(a);
        assert_eq!(router.watched(), 1, "a2 still watches");
        drop(a2);
        assert_eq!(router.watched(), 0);
    }
}
