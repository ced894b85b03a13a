//! The command layer's memory of folded aggregate states: the state a
//! command left a stream in, so that the next command on it decides
//! without reading the stream again (no snapshot query, no events to read
//! and decode). It is a cache, never the truth: a command decided on a
//! cached state appends with that state's version as its expected version,
//! so if anything else appended since (another instance, or a command this
//! instance lost track of) the append is refused as a conflict, the entry
//! is dropped and the command is judged again on the stream as stored.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

/// Streams whose states are kept by default.
pub const DEFAULT_STATE_CACHE: usize = 10_000;

/// A folded state taken from the cache.
#[derive(Debug)]
pub struct CachedState<S> {
    /// The state.
    pub state: S,
    /// The version it reflects.
    pub version: i32,
    /// When the event at `version` was recorded.
    pub updated_at: Option<DateTime<Utc>>,
}

struct Entry {
    stream_type: &'static str,
    schema_version: i32,
    version: i32,
    updated_at: Option<DateTime<Utc>>,
    state: Box<dyn Any + Send>,
}

/// Folded states by stream id, least recently used first out. An entry is
/// taken out while a command runs on it (so two commands on one stream in
/// the same instance never share one), and put back with the state the
/// command left.
#[derive(Clone)]
pub struct StateCache {
    entries: Option<Arc<Mutex<lru::LruCache<String, Entry>>>>,
}

impl StateCache {
    /// A cache of at most `capacity` streams (0: none kept). Its map grows
    /// as streams are kept rather than being sized for `capacity` up front
    /// (`EventStore::open` makes a default one that `with_state_cache` may
    /// replace at once, while the appender's copy of the store keeps it).
    pub fn new(capacity: usize) -> StateCache {
        StateCache {
            entries: std::num::NonZeroUsize::new(capacity).map(|n| {
                let mut entries = lru::LruCache::unbounded();
                entries.resize(n);
                Arc::new(Mutex::new(entries))
            }),
        }
    }

    fn lock(&self) -> Option<MutexGuard<'_, lru::LruCache<String, Entry>>> {
        // The map holds no invariant a panic could break.
        self.entries
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Takes the state of `stream_id` out of the cache, if it holds one of
    /// this stream type and state schema version.
    pub fn take<S: Send + 'static>(
        &self,
        stream_type: &'static str,
        schema_version: i32,
        stream_id: &str,
    ) -> Option<CachedState<S>> {
        let entry = self.lock()?.pop(stream_id)?;
        if entry.stream_type != stream_type || entry.schema_version != schema_version {
            return None;
        }
        let state = entry.state.downcast::<S>().ok()?;
        Some(CachedState {
            state: *state,
            version: entry.version,
            updated_at: entry.updated_at,
        })
    }

    /// Keeps `state` as the state of `stream_id` at `version`, unless the
    /// cache already holds a later one.
    pub fn put<S: Send + 'static>(
        &self,
        stream_type: &'static str,
        schema_version: i32,
        stream_id: &str,
        state: CachedState<S>,
    ) {
        let Some(mut entries) = self.lock() else {
            return;
        };
        if entries
            .peek(stream_id)
            .is_some_and(|e| e.version >= state.version)
        {
            return;
        }
        entries.put(
            stream_id.to_owned(),
            Entry {
                stream_type,
                schema_version,
                version: state.version,
                updated_at: state.updated_at,
                state: Box::new(state.state),
            },
        );
    }

    /// How many streams' states are kept.
    pub fn len(&self) -> usize {
        self.lock().map_or(0, |e| e.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(state: u32, version: i32) -> CachedState<u32> {
        CachedState {
            state,
            version,
            updated_at: None,
        }
    }

    #[test]
    fn a_state_is_taken_once_and_only_as_its_own_type_and_schema() {
        let cache = StateCache::new(4);
        cache.put("order", 1, "a", cached(7, 3));
        assert!(cache.take::<String>("order", 1, "a").is_none());
        cache.put("order", 1, "a", cached(7, 3));
        assert!(cache.take::<u32>("order", 2, "a").is_none());
        cache.put("order", 1, "a", cached(7, 3));
        assert!(cache.take::<u32>("invoice", 1, "a").is_none());
        cache.put("order", 1, "a", cached(7, 3));
        let got = cache.take::<u32>("order", 1, "a").unwrap();
        assert_eq!((got.state, got.version), (7, 3));
        assert!(cache.take::<u32>("order", 1, "a").is_none());
    }

    #[test]
    fn an_older_state_never_replaces_a_newer_one() {
        let cache = StateCache::new(4);
        cache.put("order", 1, "a", cached(2, 5));
        cache.put("order", 1, "a", cached(1, 4));
        assert_eq!(cache.take::<u32>("order", 1, "a").unwrap().version, 5);
    }

    #[test]
    fn the_cache_holds_at_most_its_capacity_and_none_at_zero() {
        let cache = StateCache::new(3);
        for i in 0..10 {
            cache.put("order", 1, &i.to_string(), cached(i, 1));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.take::<u32>("order", 1, "0").is_none());
        assert!(cache.take::<u32>("order", 1, "9").is_some());
        let off = StateCache::new(0);
        off.put("order", 1, "a", cached(1, 1));
        assert!(off.is_empty());
        assert!(off.take::<u32>("order", 1, "a").is_none());
    }
}
