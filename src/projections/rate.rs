//! Recent throughput of each projection worker, for `projections`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far back the rate looks.
const WINDOW: Duration = Duration::from_secs(10);

/// When batches committed, and how many events each held.
type Samples = VecDeque<(Instant, usize)>;

/// Events applied per second over the last few seconds, per projection and
/// generation. Only this process's workers are counted.
#[derive(Clone, Default)]
pub struct Rates {
    inner: Arc<Mutex<HashMap<(String, i32), Samples>>>,
}

impl Rates {
    /// Records a committed batch of `events`.
    pub fn record(&self, name: &str, generation: i32, events: usize) {
        let now = Instant::now();
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        let samples = map.entry((name.to_owned(), generation)).or_default();
        samples.push_back((now, events));
        while samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
        {
            samples.pop_front();
        }
    }

    /// Events per second over the window (0 when idle or unknown).
    pub fn per_second(&self, name: &str, generation: i32) -> f64 {
        let now = Instant::now();
        let Ok(map) = self.inner.lock() else {
            return 0.0;
        };
        let Some(samples) = map.get(&(name.to_owned(), generation)) else {
            return 0.0;
        };
        let recent: Vec<_> = samples
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= WINDOW)
            .collect();
        let Some((first, _)) = recent.first() else {
            return 0.0;
        };
        let events: usize = recent.iter().map(|(_, n)| n).sum();
        // At least one second, so a single burst does not read as infinite.
        let span = now.duration_since(*first).as_secs_f64().max(1.0);
        events as f64 / span
    }
}
