//! The background thread that carries out a file's [`FsyncPolicy`], off the append path.
//!
//! The append path only bumps counters under a short mutex and, when a threshold is crossed,
//! wakes the thread; the `fdatasync` itself never runs on an appending thread.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::config::FsyncPolicy;
use crate::stats::FsyncStats;
use crate::storage::ActiveLog;

#[derive(Debug)]
struct SyncState {
    file: Arc<File>,
    path: PathBuf,
    unsynced_appends: u64,
    unsynced_bytes: u64,
    requested: bool,
    stop: bool,
    fsyncs: u64,
    last_error: Option<String>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<SyncState>,
    wake: Condvar,
    stats: Arc<FsyncStats>,
}

/// Handle to a running syncer thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    policy: FsyncPolicy,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts a syncer for `policy`, or returns `None` for [`FsyncPolicy::Never`].
    pub(crate) fn start(
        policy: FsyncPolicy,
        log: &ActiveLog,
        stats: Arc<FsyncStats>,
    ) -> Option<Syncer> {
        let period = match policy {
            FsyncPolicy::Never => return None,
            FsyncPolicy::EveryN(_) => None,
            FsyncPolicy::Interval(p) | FsyncPolicy::IntervalOrBytes { period: p, .. } => Some(p),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(SyncState {
                file: Arc::clone(&log.file),
                path: log.path.clone(),
                unsynced_appends: 0,
                unsynced_bytes: 0,
                requested: false,
                stop: false,
                fsyncs: 0,
                last_error: None,
            }),
            wake: Condvar::new(),
            stats,
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("redex-fsync".into())
            .spawn(move || run(&worker, period))
            .ok();
        if thread.is_none() {
            tracing::error!("could not spawn the fsync thread; policy fsyncs disabled");
        }
        Some(Syncer { shared, policy, thread })
    }

    /// Records an append of `entries` entries and `bytes` bytes; wakes the thread when the
    /// policy's count or byte threshold is reached.
    pub(crate) fn note_append(&self, entries: u64, bytes: u64) {
        let mut st = self.shared.state.lock();
        st.unsynced_appends += entries;
        st.unsynced_bytes += bytes;
        let due = match self.policy {
            FsyncPolicy::EveryN(n) => st.unsynced_appends >= n.max(1),
            FsyncPolicy::IntervalOrBytes { max_bytes, .. } => st.unsynced_bytes >= max_bytes,
            FsyncPolicy::Never | FsyncPolicy::Interval(_) => false,
        };
        if due && !st.requested {
            st.requested = true;
            self.shared.wake.notify_one();
        }
    }

    /// Points the thread at a new active log after a rollover (the old one was fsynced when it
    /// was frozen).
    pub(crate) fn set_log(&self, log: &ActiveLog) {
        let mut st = self.shared.state.lock();
        st.file = Arc::clone(&log.file);
        st.path = log.path.clone();
    }

    /// The first background fsync failure since the last call, if any. A failed fsync may have
    /// dropped dirty pages, so [`crate::RedexFile::sync`] reports it instead of claiming success.
    pub(crate) fn take_error(&self) -> Option<String> {
        self.shared.state.lock().last_error.take()
    }

    /// Background fsyncs completed so far.
    pub(crate) fn fsyncs(&self) -> u64 {
        self.shared.state.lock().fsyncs
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.state.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(shared: &Shared, period: Option<Duration>) {
    loop {
        let (file, path) = {
            let mut st = shared.state.lock();
            if !st.stop && !st.requested {
                match period {
                    Some(p) => {
                        shared.wake.wait_for(&mut st, p);
                    }
                    None => shared.wake.wait(&mut st),
                }
            }
            if st.stop {
                return;
            }
            st.requested = false;
            if st.unsynced_appends == 0 {
                continue;
            }
            st.unsynced_appends = 0;
            st.unsynced_bytes = 0;
            (Arc::clone(&st.file), st.path.clone())
        };
        let started = Instant::now();
        let result = redex_tiers::backend::fdatasync(&file);
        let mut st = shared.state.lock();
        match result {
            Ok(()) => {
                st.fsyncs += 1;
                shared.stats.record(started.elapsed());
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "background fsync failed");
                if st.last_error.is_none() {
                    st.last_error = Some(format!("fsync {}: {e}", path.display()));
                }
            }
        }
    }
}
