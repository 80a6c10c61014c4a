//! Fold progress: how far the fold task got, and whether it still runs.
//!
//! Progress lives in a `tokio::sync::watch` channel that doubles as the adapter's change
//! signal. The fold task (or a waiter folding inline) updates it while it still holds the
//! state's write lock, whatever the status has become meanwhile, so anyone who holds the read
//! lock sees progress that matches the state exactly (snapshots rely on this, after a `close`
//! too), and anyone woken by it finds the state already updated (`wait_for_seq` relies on
//! this). A status, once no longer `Running`, never changes again.

/// Whether the fold task is running, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoldStatus {
    /// Applying events as they arrive.
    Running,
    /// Stopped at `seq` under [`crate::FoldErrorPolicy::Stop`], on an error of the log itself,
    /// or because the fold panicked (under either policy; the reason then says so, and the
    /// state may hold part of the event at `seq`); nothing at or after `seq` will be applied.
    Halted {
        /// The event that could not be applied.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The adapter or its file was closed. Events being applied when it closed (by a waiter
    /// folding inline) are finished and counted in [`Progress::next_seq`].
    Closed,
}

/// A point-in-time view of the fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Seq of the next event the fold will apply: every event below it is in the state (or was
    /// skipped under `LogAndContinue`, or, for a model opened without a snapshot, evicted by
    /// retention before its fold applied its first event).
    pub next_seq: u64,
    /// Whether the fold still runs.
    pub status: FoldStatus,
}

impl Progress {
    /// Seq of the last event applied or skipped, if any.
    pub fn applied_seq(&self) -> Option<u64> {
        self.next_seq.checked_sub(1)
    }
}
