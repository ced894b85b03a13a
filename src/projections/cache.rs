//! Reads from memory, kept exact: the live generation of every projection
//! (a `watch` per projection, not a query per request) and a bounded LRU
//! copy of `order_details` rows for `order(id)`.
//!
//! The rule (ARCHITECTURE.md, invariant 13): a read never returns an older
//! version of a row than the database held when the read began. How:
//!
//! - Before a projection commits a batch, every row it touched is replaced
//!   in the cache by a *tombstone* carrying the version being committed
//!   (`begin_commit`); until the commit is done the generation counts as
//!   "in flight" (`end_commit`, also on failure, through a guard).
//! - A miss reads the database and then offers the row (`fill`). The offer
//!   is taken only if it is at least as new as the key's tombstone, or if no
//!   commit of that generation began (or was in flight) since the read
//!   started (a `FillTicket` taken before the read). So a row read before a
//!   commit can never be stored after it.
//! - A hit therefore holds at least the newest committed version: any
//!   commit after the row was stored tombstoned it first.
//! - A rebuild's switch moves readers to the new generation's keys at once
//!   (`set_live`) and drops the old generation's entries.
//! - Only a process that is the sole writer of a projection may cache it
//!   (`set_owner`): with several instances on one PostgreSQL another
//!   instance's commits would not tombstone our entries. Until the
//!   instances tell each other (issue 11), the owner is the instance that
//!   holds the projection's leadership, and SQLite (one process).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::order_details::{self, OrderDetail};
use super::{Touched, order_details::NAME as ORDER_DETAILS};

/// Default number of `order_details` rows (and tombstones) kept.
pub const DEFAULT_ENTRIES: usize = 50_000;

/// The read side's memory: live generations and hot rows.
#[derive(Clone)]
pub struct ReadCache {
    live: Arc<Mutex<HashMap<String, watch::Sender<Option<i32>>>>>,
    orders: Option<Arc<Mutex<Orders>>>,
    /// Misses being read now, one read per key: when a change wakes many
    /// subscribers of one order, the first reads the row and the others
    /// find it in memory.
    reading: Arc<Mutex<HashMap<RowKey, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A cached row: (generation, order id).
type RowKey = (i32, String);

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache::new(DEFAULT_ENTRIES)
    }
}

enum Slot {
    Row(Arc<OrderDetail>),
    /// A commit of this version (or a newer one) is in flight or done:
    /// only a row at least this new may replace it.
    Tomb(i32),
}

#[derive(Default, Clone, Copy)]
struct Generation {
    /// Commits begun and not yet ended.
    in_flight: u32,
    /// Commits begun so far.
    begun: u64,
}

struct Orders {
    rows: lru::LruCache<(i32, String), Slot>,
    generations: HashMap<i32, Generation>,
    /// Whether this process is the sole writer of `order_details`.
    owner: bool,
    /// Raised when an entry is evicted: tickets older than that are refused
    /// (the evicted entry may have been a tombstone).
    evictions: u64,
}

/// Taken before a miss reads the database; `fill` checks it.
#[derive(Debug, Clone, Copy)]
pub struct FillTicket {
    generation: i32,
    /// `begun` of the generation when the read started, if no commit was
    /// in flight then.
    quiet_since: Option<u64>,
    evictions: u64,
}

/// Ends a commit's "in flight" window when dropped (after the commit, or
/// when it failed).
pub struct CommitGuard {
    cache: Option<(Arc<Mutex<Orders>>, i32)>,
}

impl Drop for CommitGuard {
    fn drop(&mut self) {
        if let Some((orders, generation)) = self.cache.take() {
            let mut orders = lock(&orders);
            if let Some(g) = orders.generations.get_mut(&generation) {
                g.in_flight = g.in_flight.saturating_sub(1);
            }
        }
    }
}

fn lock(orders: &Mutex<Orders>) -> MutexGuard<'_, Orders> {
    // Every update leaves the cache consistent; a panic elsewhere does not
    // make it unusable.
    orders.lock().unwrap_or_else(|p| p.into_inner())
}

impl ReadCache {
    /// A cache of at most `entries` rows; 0 turns the row cache off (live
    /// generations are kept in memory either way).
    pub fn new(entries: usize) -> ReadCache {
        ReadCache {
            live: Default::default(),
            reading: Default::default(),
            orders: NonZeroUsize::new(entries).map(|n| {
                Arc::new(Mutex::new(Orders {
                    rows: lru::LruCache::new(n),
                    generations: HashMap::new(),
                    owner: false,
                    evictions: 0,
                }))
            }),
        }
    }

    fn live_sender(&self, name: &str) -> watch::Sender<Option<i32>> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.entry(name.to_owned())
            .or_insert_with(|| watch::Sender::new(None))
            .clone()
    }

    /// The live generation of a projection, if known in memory.
    pub fn live(&self, name: &str) -> Option<i32> {
        *self.live_sender(name).borrow()
    }

    /// A receiver of a projection's live generation.
    pub fn watch_live(&self, name: &str) -> watch::Receiver<Option<i32>> {
        self.live_sender(name).subscribe()
    }

    /// Records the live generation (at start, after a switch, or when a
    /// worker learns of one). Switching drops the old generation's rows.
    pub fn set_live(&self, name: &str, generation: i32) {
        let previous = self.live_sender(name).send_replace(Some(generation));
        if name == ORDER_DETAILS
            && let (Some(old), Some(orders)) = (previous, &self.orders)
            && old != generation
        {
            let mut orders = lock(orders);
            let stale: Vec<(i32, String)> = orders
                .rows
                .iter()
                .filter(|((g, _), _)| *g != generation)
                .map(|(k, _)| k.clone())
                .collect();
            for key in stale {
                orders.rows.pop(&key);
            }
        }
    }

    /// Whether this process may cache `name` (it is its sole writer).
    pub fn set_owner(&self, name: &str, owner: bool) {
        if name != ORDER_DETAILS {
            return;
        }
        if let Some(orders) = &self.orders {
            let mut orders = lock(orders);
            if orders.owner != owner {
                orders.owner = owner;
                orders.rows.clear();
                orders.evictions += 1;
            }
        }
    }

    /// Whether `order(id)` may be answered from memory now.
    pub fn caches_orders(&self) -> bool {
        self.orders.as_ref().is_some_and(|o| lock(o).owner)
    }

    /// A cached order row, if present and current.
    pub fn order(&self, generation: i32, order_id: &str) -> Option<Arc<OrderDetail>> {
        let orders = self.orders.as_ref()?;
        let mut orders = lock(orders);
        if !orders.owner {
            return None;
        }
        match orders.rows.get(&(generation, order_id.to_owned()))? {
            Slot::Row(row) => Some(row.clone()),
            Slot::Tomb(_) => None,
        }
    }

    /// Taken before reading a row from the database on a miss.
    pub fn ticket(&self, generation: i32) -> Option<FillTicket> {
        let orders = self.orders.as_ref()?;
        let orders = lock(orders);
        if !orders.owner {
            return None;
        }
        let g = orders
            .generations
            .get(&generation)
            .copied()
            .unwrap_or_default();
        Some(FillTicket {
            generation,
            quiet_since: (g.in_flight == 0).then_some(g.begun),
            evictions: orders.evictions,
        })
    }

    /// Offers a row read from the database after `ticket` was taken.
    /// Returns whether it was stored.
    pub fn fill(&self, ticket: FillTicket, row: &OrderDetail) -> bool {
        let Some(orders) = &self.orders else {
            return false;
        };
        let mut orders = lock(orders);
        if !orders.owner {
            return false;
        }
        let key = (ticket.generation, row.order_id.clone());
        let g = orders
            .generations
            .get(&ticket.generation)
            .copied()
            .unwrap_or_default();
        let quiet = ticket.quiet_since == Some(g.begun)
            && g.in_flight == 0
            && ticket.evictions == orders.evictions;
        let allowed = match orders.rows.peek(&key) {
            Some(Slot::Tomb(at_least)) => row.version >= *at_least,
            Some(Slot::Row(current)) => row.version >= current.version,
            None => quiet,
        };
        if allowed {
            put(&mut orders, key, Slot::Row(Arc::new(row.clone())));
        }
        allowed
    }

    /// Called by the engine before it commits a batch of `name` in
    /// `generation`: tombstones every touched row. Keep the guard until the
    /// commit is over.
    pub fn begin_commit(&self, name: &str, generation: i32, touched: &[Touched]) -> CommitGuard {
        let Some(orders) = self.orders.as_ref().filter(|_| name == ORDER_DETAILS) else {
            return CommitGuard { cache: None };
        };
        let mut guard = lock(orders);
        let g = guard.generations.entry(generation).or_default();
        g.in_flight += 1;
        g.begun += 1;
        let mut newest: HashMap<&str, i32> = HashMap::new();
        for t in touched {
            let v = newest.entry(t.aggregate_id.as_str()).or_insert(t.version);
            *v = (*v).max(t.version);
        }
        for (id, version) in newest {
            put(&mut guard, (generation, id.to_owned()), Slot::Tomb(version));
        }
        drop(guard);
        CommitGuard {
            cache: Some((orders.clone(), generation)),
        }
    }

    /// Called by the engine right after a batch of `name` committed (the
    /// commit still counts as in flight): the rows it wrote replace their
    /// tombstones, for the live generation only (a rebuild's rows would
    /// only push live ones out).
    pub fn committed(&self, name: &str, generation: i32, touched: &[Touched]) {
        let Some(orders) = self.orders.as_ref().filter(|_| name == ORDER_DETAILS) else {
            return;
        };
        if self.live(name) != Some(generation) {
            return;
        }
        let mut orders = lock(orders);
        if !orders.owner {
            return;
        }
        for t in touched {
            let Some(row) = t.row.clone().and_then(|r| r.downcast::<OrderDetail>().ok()) else {
                continue;
            };
            let key = (generation, row.order_id.clone());
            let newer = match orders.rows.peek(&key) {
                Some(Slot::Tomb(at_least)) => row.version >= *at_least,
                Some(Slot::Row(current)) => row.version >= current.version,
                None => true,
            };
            if newer {
                put(&mut orders, key, Slot::Row(row));
            }
        }
    }

    /// Forgets a generation (retired by a rebuild).
    pub fn retire(&self, name: &str, generation: i32) {
        if name != ORDER_DETAILS {
            return;
        }
        if let Some(orders) = &self.orders {
            let mut orders = lock(orders);
            let keys: Vec<(i32, String)> = orders
                .rows
                .iter()
                .filter(|((g, _), _)| *g == generation)
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                orders.rows.pop(&key);
            }
            orders.generations.remove(&generation);
        }
    }

    /// Rows and tombstones held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.orders.as_ref().map_or(0, |o| lock(o).rows.len())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn put(orders: &mut Orders, key: (i32, String), slot: Slot) {
    // Losing a row is harmless; losing a tombstone loses its protection,
    // so every ticket taken before that is refused.
    if let Some((evicted, Slot::Tomb(_))) = orders.rows.push(key.clone(), slot)
        && evicted != key
    {
        orders.evictions += 1;
    }
}

/// `order(id)` on the live generation: from memory when this process may
/// cache it, else (and on a miss) from the database.
pub async fn read_order(
    read: &super::ReadModels,
    order_id: &crate::domain::order::OrderId,
) -> Result<Option<Arc<OrderDetail>>, sea_orm::DbErr> {
    let generation = read.live_generation(ORDER_DETAILS).await?;
    let key = order_id.to_string();
    if let Some(hit) = read.cache.order(generation, &key) {
        metrics::counter!("chronicle_read_cache_total", "result" => "hit").increment(1);
        return Ok(Some(hit));
    }
    if !read.cache.caches_orders() {
        return Ok(order_details::get(read.db(), generation, order_id)
            .await?
            .map(Arc::new));
    }
    let turn = Turn::take(&read.cache, generation, &key);
    let result = async {
        let _turn = turn.lock.lock().await;
        // Another reader of this key may have filled it meanwhile.
        if let Some(hit) = read.cache.order(generation, &key) {
            metrics::counter!("chronicle_read_cache_total", "result" => "hit").increment(1);
            return Ok(Some(hit));
        }
        let ticket = read.cache.ticket(generation);
        let row = order_details::get(read.db(), generation, order_id).await?;
        metrics::counter!("chronicle_read_cache_total", "result" => "miss").increment(1);
        if let (Some(ticket), Some(row)) = (ticket, &row) {
            read.cache.fill(ticket, row);
        }
        Ok(row.map(Arc::new))
    }
    .await;
    drop(turn);
    result
}

/// The row a read of `order_id` would serve from memory now, without
/// counting it or reading the database: `None` when the read cache does not
/// hold it (or the live generation is not known in memory).
pub fn cached_order(read: &super::ReadModels, order_id: &str) -> Option<Arc<OrderDetail>> {
    let generation = read.cache.live(ORDER_DETAILS)?;
    read.cache.order(generation, order_id)
}

/// A reader's place in the queue of one key's misses; leaving it (also
/// when the request is cancelled) removes the key's entry once nobody
/// else waits.
struct Turn<'a> {
    cache: &'a ReadCache,
    key: (i32, String),
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Turn<'a> {
    fn take(cache: &'a ReadCache, generation: i32, key: &str) -> Turn<'a> {
        let key = (generation, key.to_owned());
        let lock = cache
            .reading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        Turn { cache, key, lock }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut reading = self.cache.reading.lock().unwrap_or_else(|p| p.into_inner());
        // The map's and ours: nobody else waits, so the entry goes.
        if Arc::strong_count(&self.lock) <= 2 {
            reading.remove(&self.key);
        }
    }
}
