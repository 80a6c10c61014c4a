//! Group commit for durable appends.
//!
//! A durable append writes its frame like any other (under the file's write lock, which keeps
//! seq order) and then waits here until an fsync that started after its write has completed.
//! One waiter at a time leads: it notes how far the log has been written, fsyncs, and marks
//! everything up to that point durable; the others wait on it, and whoever is not covered by
//! the finished fsync leads the next one. So `n` concurrent durable appenders cost about one
//! fsync per round instead of `n`.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::error::Result;

/// A point in a file's written log: which active log (generations only grow) and how far into
/// it. Ordered lexicographically, so a later log covers everything in an earlier one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DurablePosition {
    pub(crate) generation: u64,
    pub(crate) offset: u64,
}

#[derive(Debug, Default)]
struct GateState {
    /// Everything written up to here is known durable.
    durable: DurablePosition,
    /// A leader's fsync is running.
    syncing: bool,
}

/// Coordinates the fsyncs of durable appenders.
#[derive(Debug, Default)]
pub(crate) struct DurabilityGate {
    state: Mutex<GateState>,
    done: Condvar,
    appenders: AtomicUsize,
}

/// Counts a durable appender in progress until dropped.
pub(crate) struct InProgress<'a>(&'a AtomicUsize);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl DurabilityGate {
    /// Registers a durable appender for the duration of the returned guard.
    pub(crate) fn enter(&self) -> InProgress<'_> {
        self.appenders.fetch_add(1, Ordering::AcqRel);
        InProgress(&self.appenders)
    }

    /// Durable appenders in progress, this one included.
    pub(crate) fn appenders(&self) -> usize {
        self.appenders.load(Ordering::Acquire)
    }

    /// Records that everything up to `pos` is durable (a write that fsynced itself).
    pub(crate) fn mark_durable(&self, pos: DurablePosition) {
        let mut st = self.state.lock();
        st.durable = st.durable.max(pos);
    }

    /// Returns once everything up to `ticket` is durable, leading an fsync if none running
    /// covers it. `written` reports how far the log has been written; `sync` fsyncs every log
    /// not yet known durable.
    pub(crate) fn sync_through(
        &self,
        ticket: DurablePosition,
        written: impl Fn() -> DurablePosition,
        sync: impl Fn() -> Result<()>,
    ) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            if st.durable >= ticket {
                return Ok(());
            }
            if st.syncing {
                self.done.wait(&mut st);
                continue;
            }
            st.syncing = true;
            drop(st);
            // Everything written by now is covered by the fsync that starts after this read.
            let target = written();
            let result = sync();
            st = self.state.lock();
            st.syncing = false;
            if result.is_ok() {
                st.durable = st.durable.max(target);
            }
            self.done.notify_all();
            result?;
        }
    }
}
