//! The background freeze of a full segment: one thread per freeze, at most one at a time per
//! file. Besides its join handle, a freeze carries a completion flag an appender can wait on
//! without holding the file's lock, so a rollover that must wait for the previous freeze (the
//! bound on hot segments held in memory) never blocks readers, `stats()` or `sync()` meanwhile.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use redex_tiers::HotSegment;

use super::{age_timer, FileInner};
use crate::error::{RedexError, Result};
use crate::segments::WarmSegment;
use crate::storage::{ActiveLog, SegmentDir};

/// A running (or finished, not yet installed) freeze.
#[derive(Debug)]
pub(super) struct FreezeJob {
    thread: JoinHandle<Result<Arc<WarmSegment>>>,
    done: Arc<Done>,
}

/// Set when the freeze thread has sealed its segment (or failed to).
#[derive(Debug, Default)]
pub(super) struct Done {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Done {
    fn finish(&self) {
        *self.flag.lock() = true;
        self.changed.notify_all();
    }

    fn is_set(&self) -> bool {
        *self.flag.lock()
    }

    /// Blocks until the freeze has finished.
    pub(super) fn wait(&self) {
        let mut flag = self.flag.lock();
        while !*flag {
            self.changed.wait(&mut flag);
        }
    }
}

/// Sets its flag when dropped.
struct FinishOnDrop(Arc<Done>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish();
    }
}

impl FreezeJob {
    /// Starts sealing `seg` (whose log is `log`) into `dir` on a `redex-freeze` thread.
    pub(super) fn spawn(
        dir: SegmentDir,
        seg: Arc<HotSegment>,
        log: Arc<ActiveLog>,
        owner: Weak<FileInner>,
    ) -> std::io::Result<Self> {
        let done = Arc::new(Done::default());
        let signal = Arc::clone(&done);
        let thread = std::thread::Builder::new().name("redex-freeze".into()).spawn(move || {
            // Set even if sealing panics, so no appender waits for ever (the join reports it).
            let finished = FinishOnDrop(signal);
            let sealed = dir.seal(&seg, &log);
            drop(finished);
            // A quiet file has no append to install the result: the timer will.
            age_timer::after_freeze(owner);
            sealed
        })?;
        Ok(FreezeJob { thread, done })
    }

    /// Whether the thread has returned, so [`FreezeJob::join`] will not block.
    pub(super) fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// What an appender waits on outside the lock, if the segment is still being sealed.
    pub(super) fn running(&self) -> Option<Arc<Done>> {
        (!self.done.is_set()).then(|| Arc::clone(&self.done))
    }

    /// Waits for the thread and returns the frozen segment.
    pub(super) fn join(self) -> Result<Arc<WarmSegment>> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(RedexError::InvalidConfig("the freeze thread panicked".into())))
    }
}
