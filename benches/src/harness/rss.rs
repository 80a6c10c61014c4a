//! Resident anonymous memory (`RssAnon` in `/proc/self/status`) of this process, read on demand
//! and sampled over the whole run by a background thread, each sample tagged with what was
//! running. `RssAnon` counts heap and other private memory, not file pages mapped from the page
//! cache, so mmap'd frozen segments do not inflate it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

/// `RssAnon` of this process in bytes, or `None` where `/proc` does not say (not Linux).
pub fn rss_anon_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One sample of the run's memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RssSample {
    /// Seconds since the sampler started.
    pub t_s: f64,
    /// `RssAnon` in bytes.
    pub rss_anon_bytes: u64,
    /// What was running (`scenario/case/system`), or `limits` / `idle`.
    pub label: String,
}

#[derive(Debug, Default)]
struct Shared {
    samples: Mutex<Vec<RssSample>>,
    label: Mutex<String>,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a sample list or label half-written.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Samples `RssAnon` every `period` until dropped or [`RssSampler::finish`]ed.
#[derive(Debug)]
pub struct RssSampler {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Most samples kept; past it every other sample is dropped and the period doubles in effect,
/// so a run of any length keeps bounded memory.
const SAMPLES_MAX: usize = 4096;

impl RssSampler {
    /// Starts sampling every `period`.
    pub fn start(period: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        *lock(&shared.label) = "start".into();
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("rss-sampler".into()).spawn(move || {
            let start = Instant::now();
            let mut stride = 1usize;
            let mut tick = 0usize;
            while !worker.stop.load(Ordering::Relaxed) {
                if tick.is_multiple_of(stride) {
                    if let Some(rss) = rss_anon_bytes() {
                        let label = lock(&worker.label).clone();
                        let mut samples = lock(&worker.samples);
                        samples.push(RssSample {
                            t_s: start.elapsed().as_secs_f64(),
                            rss_anon_bytes: rss,
                            label,
                        });
                        if samples.len() >= SAMPLES_MAX {
                            let kept = samples.iter().step_by(2).cloned().collect();
                            *samples = kept;
                            stride *= 2;
                        }
                    }
                }
                tick += 1;
                std::thread::sleep(period);
            }
        })?;
        Ok(RssSampler { shared, thread: Some(thread) })
    }

    /// Tags the following samples with `label`.
    pub fn set_label(&self, label: impl Into<String>) {
        *lock(&self.shared.label) = label.into();
    }

    /// Stops sampling and returns the samples.
    pub fn finish(mut self) -> Vec<RssSample> {
        self.stop();
        std::mem::take(&mut *lock(&self.shared.samples))
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The sampler never panics on purpose; a panic there only loses samples.
            let _ = thread.join();
        }
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_samples() {
        if rss_anon_bytes().is_none() {
            return; // Not Linux: nothing to sample.
        }
        let sampler = RssSampler::start(Duration::from_millis(1)).expect("sampler thread");
        sampler.set_label("test");
        std::thread::sleep(Duration::from_millis(20));
        let samples = sampler.finish();
        assert!(!samples.is_empty());
        assert!(samples.iter().all(|s| s.rss_anon_bytes > 0));
        assert!(samples.iter().any(|s| s.label == "test"));
    }
}
