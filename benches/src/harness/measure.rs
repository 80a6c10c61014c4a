//! The timing loop: runs an operation until an event count or a time budget is reached, records
//! each call's latency in an hdrhistogram, and sums throughput over the timed calls only.
//!
//! Throughput is events (and payload bytes) divided by the summed time of the calls themselves,
//! so bookkeeping between calls (histogram, progress bar) is not charged to the system under
//! test; each call still pays one `Instant::now()` pair, the same for every system.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Serialize;

use super::Result;

/// Slowest latency the histogram records exactly; slower calls are clamped to it.
const LATENCY_NS_MAX: u64 = 120_000_000_000;

/// Latency percentiles of one kind of call, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// What one sample is (for example `append_batch`, `append+sync`, `open`).
    pub op: &'static str,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Slowest call.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
    /// Number of calls recorded.
    pub samples: u64,
}

/// What a timed run did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    /// Events handled (appended or read).
    pub events: u64,
    /// Payload bytes handled.
    pub payload_bytes: u64,
    /// Calls made.
    pub ops: u64,
    /// Summed time of the calls, in seconds.
    pub elapsed_s: f64,
    /// Events per second over the timed calls.
    pub events_per_s: f64,
    /// Payload bytes per second over the timed calls.
    pub payload_bytes_per_s: f64,
    /// Per-call latency percentiles.
    pub latency: Option<LatencySummary>,
}

/// A histogram of per-call latencies plus the totals a [`Measurement`] is made from.
#[derive(Debug)]
pub struct Recorder {
    op: &'static str,
    histogram: Histogram<u64>,
    events: u64,
    payload_bytes: u64,
    ops: u64,
    busy: Duration,
}

impl Recorder {
    /// An empty recorder whose samples are calls of `op`.
    pub fn new(op: &'static str) -> Result<Self> {
        Ok(Recorder {
            op,
            histogram: Histogram::new_with_bounds(1, LATENCY_NS_MAX, 3)?,
            events: 0,
            payload_bytes: 0,
            ops: 0,
            busy: Duration::ZERO,
        })
    }

    /// Records one call that took `took` and handled `events` events of `payload_bytes` in all.
    pub fn record(&mut self, took: Duration, events: u64, payload_bytes: u64) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).clamp(1, LATENCY_NS_MAX);
        self.histogram.saturating_record(ns);
        self.events += events;
        self.payload_bytes += payload_bytes;
        self.ops += 1;
        self.busy += took;
    }

    /// Events recorded so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Calls recorded so far.
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Summed time of the recorded calls.
    pub fn busy(&self) -> Duration {
        self.busy
    }

    /// Adds everything `other` recorded (another thread's calls of the same operation).
    pub fn merge(&mut self, other: &Recorder) -> Result<()> {
        self.histogram.add(&other.histogram)?;
        self.events += other.events;
        self.payload_bytes += other.payload_bytes;
        self.ops += other.ops;
        self.busy += other.busy;
        Ok(())
    }

    /// The summary of everything recorded.
    pub fn finish(&self) -> Measurement {
        self.finish_over(self.busy)
    }

    /// The summary, with throughput over `elapsed` instead of the summed call time (for calls
    /// made by several threads at once, whose times overlap).
    pub fn finish_over(&self, elapsed: Duration) -> Measurement {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let us = |ns: u64| ns as f64 / 1000.0;
        let latency = (self.ops > 0).then(|| LatencySummary {
            op: self.op,
            p50_us: us(self.histogram.value_at_quantile(0.5)),
            p99_us: us(self.histogram.value_at_quantile(0.99)),
            p999_us: us(self.histogram.value_at_quantile(0.999)),
            max_us: us(self.histogram.max()),
            mean_us: self.histogram.mean() / 1000.0,
            samples: self.ops,
        });
        Measurement {
            events: self.events,
            payload_bytes: self.payload_bytes,
            ops: self.ops,
            elapsed_s: elapsed.as_secs_f64(),
            events_per_s: self.events as f64 / secs,
            payload_bytes_per_s: self.payload_bytes as f64 / secs,
            latency,
        }
    }
}

/// When a timed loop stops: after `events_max` events, or once `time_max` of wall time has
/// passed (at least one call always runs).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Most events.
    pub events_max: u64,
    /// Most wall time.
    pub time_max: Duration,
}

/// Calls `op` until `budget` is spent, timing each call. `op` gets the call's index and returns
/// the events and payload bytes it handled. The bar advances by events.
pub fn timed_loop(
    op_name: &'static str,
    budget: Budget,
    bar: &ProgressBar,
    mut op: impl FnMut(u64) -> Result<(u64, u64)>,
) -> Result<Measurement> {
    let mut recorder = Recorder::new(op_name)?;
    let deadline = Instant::now() + budget.time_max;
    while recorder.events() < budget.events_max {
        let start = Instant::now();
        let (events, bytes) = op(recorder.ops())?;
        let end = Instant::now();
        recorder.record(end - start, events, bytes);
        if recorder.ops().is_multiple_of(256) {
            bar.set_position(recorder.events());
        }
        if end >= deadline || events == 0 {
            break;
        }
    }
    bar.set_position(recorder.events());
    Ok(recorder.finish())
}

/// Runs `op` on `threads` threads at once until `budget` is spent (its events shared between
/// them, its time from the common start), timing each call; `op` gets the thread's index and
/// returns the events and payload bytes one call handled. Latency percentiles cover every call
/// of every thread; throughput is all events over the wall time from the common start until the
/// last thread stops. The bar advances by events.
pub fn concurrent_loop<F>(
    op_name: &'static str,
    threads: usize,
    budget: Budget,
    bar: &ProgressBar,
    op: F,
) -> Result<Measurement>
where
    F: Fn(usize) -> Result<(u64, u64)> + Sync,
{
    let threads = threads.max(1);
    let per_thread = budget.events_max.div_ceil(threads as u64).max(1);
    let start_line = std::sync::Barrier::new(threads + 1);
    let (outcomes, wall) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (op, start_line) = (&op, &start_line);
                s.spawn(move || -> Result<Recorder> {
                    // Every thread reaches the start line, even one that cannot record.
                    let recorder = Recorder::new(op_name);
                    start_line.wait();
                    let mut recorder = recorder?;
                    let deadline = Instant::now() + budget.time_max;
                    while recorder.events() < per_thread {
                        let start = Instant::now();
                        let (events, bytes) = op(t)?;
                        let end = Instant::now();
                        recorder.record(end - start, events, bytes);
                        if t == 0 && recorder.ops().is_multiple_of(64) {
                            bar.set_position(recorder.events() * threads as u64);
                        }
                        if end >= deadline || events == 0 {
                            break;
                        }
                    }
                    Ok(recorder)
                })
            })
            .collect();
        start_line.wait();
        let started = Instant::now();
        let outcomes: Vec<Result<Recorder>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("an appender thread panicked".into())))
            .collect();
        (outcomes, started.elapsed())
    });
    let mut total = Recorder::new(op_name)?;
    for outcome in outcomes {
        total.merge(&outcome?)?;
    }
    bar.set_position(total.events());
    Ok(total.finish_over(wall))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_stops_at_event_budget() -> Result<()> {
        let budget = Budget { events_max: 100, time_max: Duration::from_secs(60) };
        let m = timed_loop("op", budget, &ProgressBar::hidden(), |_| Ok((10, 640)))?;
        assert_eq!((m.events, m.ops, m.payload_bytes), (100, 10, 6400));
        let lat = m.latency.ok_or("latency recorded")?;
        assert!(lat.p50_us <= lat.p99_us && lat.p99_us <= lat.p999_us && lat.p999_us <= lat.max_us);
        Ok(())
    }

    #[test]
    fn concurrent_loop_shares_the_event_budget() -> Result<()> {
        let budget = Budget { events_max: 100, time_max: Duration::from_secs(60) };
        let calls = std::sync::atomic::AtomicU64::new(0);
        let m = concurrent_loop("op", 4, budget, &ProgressBar::hidden(), |_| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok((1, 64))
        })?;
        assert_eq!((m.events, m.ops), (100, 100));
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 100);
        assert_eq!(m.latency.ok_or("latency recorded")?.samples, 100);
        Ok(())
    }

    #[test]
    fn loop_stops_at_time_budget_after_one_call() -> Result<()> {
        let budget = Budget { events_max: u64::MAX, time_max: Duration::ZERO };
        let m = timed_loop("op", budget, &ProgressBar::hidden(), |_| Ok((1, 1)))?;
        assert_eq!(m.ops, 1);
        Ok(())
    }
}
