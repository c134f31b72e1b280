//! The operator's view of the box over time: a fixed-size ring of samples covering the last
//! hour (CPU, memory, renders per minute, listeners) for the Status tab's charts, and the
//! database probe the readiness checks share. Kept in memory only: a restart starts the
//! charts afresh.

use crate::health::DbProbe;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Time between two samples.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(30);
/// Samples kept: one hour.
pub const HISTORY_LEN: usize = 120;

/// One point of the charts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    /// Seconds since the Unix epoch.
    pub t: u64,
    /// Machine CPU use since the previous sample, percent (none for the first).
    pub cpu_percent: Option<f64>,
    /// Memory in use (total minus available), percent.
    pub memory_percent: Option<f64>,
    /// Renders started per minute since the previous sample.
    pub renders_per_min: Option<f64>,
    /// Playback sessions alive.
    pub listeners: u64,
}

/// What one sampling reads (the counters are cumulative).
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub t: u64,
    pub cpu_ticks: Option<(u64, u64)>,
    pub memory: Option<(u64, u64)>,
    pub renders_started: u64,
    pub listeners: u64,
}

#[derive(Default)]
struct Ring {
    samples: VecDeque<Sample>,
    prev: Option<Reading>,
}

pub struct Observer {
    pub probe: DbProbe,
    /// The cache folder's write probe (at most every [`crate::health::PROBE_EVERY`]).
    pub cache_probe: Memo<crate::health::Check>,
    /// Cache figures per format (they read the whole cache index: at most every 10 s).
    pub cache_figures: Memo<Vec<crate::metrics::CacheFormat>>,
    ring: Mutex<Ring>,
    capacity: usize,
    /// The alerts' memory (faults firing, devices seen, the render error window).
    pub alerter: Mutex<crate::alerts::Alerter>,
    /// CPU ticks at the last [`Observer::cpu_now`] call.
    last_ticks: Mutex<Option<(std::time::Instant, (u64, u64))>>,
}

/// A value computed at most once per interval (what anonymous requests may make the box
/// compute or write is bounded by it).
pub struct Memo<T>(Mutex<Option<(std::time::Instant, T)>>);

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(Mutex::new(None))
    }
}

impl<T: Clone> Memo<T> {
    /// The value computed less than `every` ago, else `f()` (callers wait for one another).
    pub fn get(&self, every: Duration, f: impl FnOnce() -> T) -> T {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, v)) = &*g {
            if t.elapsed() < every {
                return v.clone();
            }
        }
        let v = f();
        *g = Some((std::time::Instant::now(), v.clone()));
        v
    }
}

impl Default for Observer {
    fn default() -> Self {
        Observer::new(HISTORY_LEN)
    }
}

impl Observer {
    pub fn new(capacity: usize) -> Observer {
        Observer {
            probe: DbProbe::default(),
            cache_probe: Memo::default(),
            cache_figures: Memo::default(),
            ring: Mutex::new(Ring::default()),
            capacity: capacity.max(1),
            last_ticks: Mutex::new(None),
            alerter: Mutex::new(crate::alerts::Alerter::default()),
        }
    }

    /// Adds a sample made from `r` and the previous reading; returns it.
    pub fn record(&self, r: Reading) -> Sample {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let prev = ring.prev.replace(r);
        let cpu_percent = match (prev.and_then(|p| p.cpu_ticks), r.cpu_ticks) {
            (Some(a), Some(b)) => crate::sysinfo::cpu_percent(a, b),
            _ => None,
        };
        let renders_per_min = prev.and_then(|p| {
            let secs = r.t.checked_sub(p.t).filter(|s| *s > 0)? as f64;
            let n = r.renders_started.checked_sub(p.renders_started)? as f64;
            Some(n * 60.0 / secs)
        });
        let s = Sample {
            t: r.t,
            cpu_percent,
            memory_percent: r
                .memory
                .filter(|(total, _)| *total > 0)
                .map(|(total, avail)| 100.0 * (total.saturating_sub(avail)) as f64 / total as f64),
            renders_per_min,
            listeners: r.listeners,
        };
        if ring.samples.len() >= self.capacity {
            ring.samples.pop_front();
        }
        ring.samples.push_back(s.clone());
        s
    }

    /// Machine CPU use since the previous call (the Status tab's figure, refreshed with each
    /// `status` event); none on the first call.
    /// A previous call more than a minute ago does not count (the chart's sample does).
    pub fn cpu_now(&self, ticks: Option<(u64, u64)>) -> Option<f64> {
        let ticks = ticks?;
        let mut last = self.last_ticks.lock().unwrap_or_else(|p| p.into_inner());
        let prev = *last;
        if prev.is_some_and(|(at, _)| at.elapsed() < Duration::from_millis(500)) {
            return None; // too short to say; keep the older reading
        }
        *last = Some((std::time::Instant::now(), ticks));
        let (at, before) = prev?;
        if at.elapsed() > Duration::from_secs(60) {
            return None;
        }
        crate::sysinfo::cpu_percent(before, ticks)
    }

    /// The samples, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.samples.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(t: u64, busy: u64, total: u64, renders: u64) -> Reading {
        Reading {
            t,
            cpu_ticks: Some((busy, total)),
            memory: Some((1000, 250)),
            renders_started: renders,
            listeners: 2,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_samples_and_computes_rates() {
        let o = Observer::new(3);
        let first = o.record(reading(100, 0, 0, 0));
        assert_eq!(first.cpu_percent, None);
        assert_eq!(first.renders_per_min, None);
        assert_eq!(first.memory_percent, Some(75.0));
        let s = o.record(reading(130, 50, 200, 4));
        assert_eq!(s.cpu_percent, Some(25.0));
        assert_eq!(s.renders_per_min, Some(8.0));
        o.record(reading(160, 60, 400, 4));
        o.record(reading(190, 70, 600, 5));
        let h = o.history();
        assert_eq!(h.len(), 3);
        assert_eq!(h.first().unwrap().t, 130);
        assert_eq!(h.last().unwrap().t, 190);
        assert_eq!(h.last().unwrap().renders_per_min, Some(2.0));
    }

    #[test]
    fn cpu_now_is_measured_between_calls() {
        let o = Observer::default();
        assert_eq!(o.cpu_now(Some((0, 0))), None);
        // Too soon: no figure, and the first reading stays the baseline.
        assert_eq!(o.cpu_now(Some((1, 1))), None);
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(o.cpu_now(Some((50, 100))), Some(50.0));
        assert_eq!(o.cpu_now(None), None);
    }
}
