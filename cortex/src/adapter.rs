//! [`CortexAdapter`]: owns a folded state and the task that keeps it up to date with its log.
//!
//! Writes go to the log first ([`CortexAdapter::append`] returns the seq); the fold task
//! applies them asynchronously. Readers take the state's read lock whenever they like and see
//! a state that is some prefix of the log; a reader that needs its own write reflected awaits
//! [`CortexAdapter::wait_for_seq`] first. Nothing here can hang on a dead fold: a halted or
//! closed adapter answers waits and appends with an error, and a fold that panics halts it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use redex::{ChannelName, Redex, RedexFile};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::changes::ChangeStream;
use crate::config::CortexConfig;
use crate::error::{CortexError, Result};
use crate::fold::RedexFold;
use crate::fold_task;
use crate::meta::EventMeta;
use crate::policy::FoldErrorPolicy;
use crate::progress::{FoldStatus, Progress};
use crate::snapshot::{self, SnapshotState};

/// State shared by the adapter handle, the fold task and change streams.
pub(crate) struct Shared<S> {
    pub(crate) file: RedexFile,
    pub(crate) origin_hash: u64,
    pub(crate) state: Arc<RwLock<S>>,
    pub(crate) progress: watch::Sender<Progress>,
    pub(crate) stop: Notify,
    pub(crate) policy: FoldErrorPolicy,
    pub(crate) fold_errors: AtomicU64,
    /// History reads that failed with an error that may pass and were tried again.
    pub(crate) read_retries: AtomicU64,
    pub(crate) fold: Box<dyn RedexFold<S>>,
    /// Most events the fold task applies under one write lock; also the most a waiter folds
    /// inline (a larger gap is left to the task, so a waiter never does unbounded work).
    pub(crate) batch: usize,
    /// Whether the status is still `Running`: what every append checks, read without touching
    /// the progress channel's lock (which the fold task takes after every chunk). Cleared,
    /// after the status is set, by every path that ends the fold.
    pub(crate) running: AtomicBool,
    /// Set (under the state's write lock, before the halt is published) when the fold panicked:
    /// the state may hold part of the event it panicked on, so it is not snapshotted.
    pub(crate) poisoned: AtomicBool,
    /// The fold started at the log's retained head with a default state (`open`) and has not
    /// applied an event yet: events retention evicts meanwhile are ones it would never have
    /// seen had it opened a moment later, so it moves to the new head instead of treating them
    /// as missed. Cleared (under the state's write lock) by the first event applied.
    pub(crate) fresh: AtomicBool,
}

impl<S> Shared<S> {
    /// Sets a terminal status unless one is already set (the first reason wins).
    pub(crate) fn set_status(&self, status: FoldStatus) {
        self.progress.send_if_modified(|p| {
            if p.status != FoldStatus::Running {
                return false;
            }
            p.status = status;
            true
        });
        self.running.store(false, Ordering::Release);
    }
}

/// A folded view of one RedEX file: the state, the fold task that maintains it, and the write
/// path into the log. Generic over the state; the tasks and memories models wrap one each.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex::CortexError> {
/// use cortex::{CortexAdapter, CortexConfig, FoldError, FoldEvent, RedexFold};
/// use redex::{ChannelName, Redex};
///
/// struct Sum;
/// impl RedexFold<u64> for Sum {
///     fn apply(&self, state: &mut u64, event: &FoldEvent) -> Result<(), FoldError> {
///         *state += u64::from(event.meta.dispatch);
///         Ok(())
///     }
/// }
///
/// let redex = Redex::new();
/// let name = ChannelName::new("sums")?;
/// let adapter = CortexAdapter::open(&redex, &name, 0xabc, Sum, CortexConfig::default())?;
/// adapter.append(2, 0, b"")?;
/// let seq = adapter.append(5, 0, b"")?;
/// adapter.wait_for_seq(seq).await?;
/// assert_eq!(*adapter.state().read(), 7);
/// adapter.close().await?;
/// # Ok(()) }
/// ```
pub struct CortexAdapter<S> {
    shared: Arc<Shared<S>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl<S> std::fmt::Debug for CortexAdapter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CortexAdapter")
            .field("channel", self.shared.file.channel())
            .field("origin_hash", &self.shared.origin_hash)
            .field("progress", &*self.shared.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync + 'static> CortexAdapter<S> {
    /// Opens (or recovers) the file `name` and folds it from its first retained event into a
    /// default state. Must be called inside a tokio runtime, where the fold task is spawned.
    pub fn open<F: RedexFold<S>>(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        fold: F,
        config: CortexConfig,
    ) -> Result<Self>
    where
        S: Default,
    {
        let runtime = current_runtime()?;
        let file = redex.open_file(name, config.file_config().clone())?;
        let from = file.head_seq();
        Self::start(runtime, file, origin_hash, fold, &config, S::default(), from, true)
    }

    /// Opens the file `name` with `state` already holding every event up to `last_seq`
    /// (`None`: no event), and folds from `last_seq + 1` on. Events up to `last_seq` are not
    /// read again. Refused with [`CortexError::SnapshotAheadOfLog`] if the log does not hold
    /// `last_seq` (the fold would wait at `last_seq + 1` while the log gave the seqs below it
    /// to new events, skipping every one of them).
    pub fn open_with_state<F: RedexFold<S>>(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        fold: F,
        config: CortexConfig,
        state: S,
        last_seq: Option<u64>,
    ) -> Result<Self> {
        let runtime = current_runtime()?;
        let (file, opened_here) = redex.open_file_fresh(name, config.file_config().clone())?;
        if let Some(last_seq) = last_seq {
            let next_seq = file.next_seq();
            if last_seq >= next_seq {
                // Leave the manager as found: a log opened only to be refused would stay open
                // (refusing the caller's next open of it with another configuration). One
                // another handle had open is that handle's.
                if opened_here {
                    let _ = file.close();
                }
                let channel = name.to_string();
                return Err(CortexError::SnapshotAheadOfLog { channel, last_seq, next_seq });
            }
        }
        let from = last_seq.map_or(0, |s| s + 1);
        Self::start(runtime, file, origin_hash, fold, &config, state, from, false)
    }

    /// Restores the state from `bytes` (made by [`CortexAdapter::snapshot`]) and folds from
    /// `last_seq + 1` on. Bytes from another snapshot format version, another model, or another
    /// schema version of this model are a clear error, never a misread.
    #[allow(clippy::too_many_arguments, reason = "mirrors open plus the two snapshot values")]
    pub fn open_from_snapshot<F: RedexFold<S>>(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        fold: F,
        config: CortexConfig,
        bytes: &[u8],
        last_seq: Option<u64>,
    ) -> Result<Self>
    where
        S: SnapshotState,
    {
        let state = snapshot::decode::<S>(bytes)?;
        Self::open_with_state(redex, name, origin_hash, fold, config, state, last_seq)
    }

    #[allow(clippy::too_many_arguments, reason = "the open calls' values, passed through")]
    fn start<F: RedexFold<S>>(
        runtime: tokio::runtime::Handle,
        file: RedexFile,
        origin_hash: u64,
        fold: F,
        config: &CortexConfig,
        state: S,
        from: u64,
        fresh: bool,
    ) -> Result<Self> {
        let (progress, _) =
            watch::channel(Progress { next_seq: from, status: FoldStatus::Running });
        let shared = Arc::new(Shared {
            file,
            origin_hash,
            state: Arc::new(RwLock::new(state)),
            progress,
            stop: Notify::new(),
            policy: config.error_policy(),
            fold_errors: AtomicU64::new(0),
            read_retries: AtomicU64::new(0),
            fold: Box::new(fold),
            batch: config.fold_batch_events(),
            running: AtomicBool::new(true),
            poisoned: AtomicBool::new(false),
            fresh: AtomicBool::new(fresh),
        });
        let follower = Arc::clone(&shared);
        let task = runtime.spawn(async move {
            redex::follow_log(&follower.file, &*follower, follower.batch).await
        });
        Ok(CortexAdapter { shared, task: Mutex::new(Some(task)) })
    }

    /// The folded state. Hold its locks briefly: the fold task needs the write lock to advance.
    pub fn state(&self) -> &Arc<RwLock<S>> {
        &self.shared.state
    }

    /// The RedEX file this adapter folds.
    pub fn file(&self) -> &RedexFile {
        &self.shared.file
    }

    /// The origin hash stamped into every envelope this adapter writes.
    pub fn origin_hash(&self) -> u64 {
        self.shared.origin_hash
    }

    /// Where the fold is now.
    pub fn progress(&self) -> Progress {
        self.shared.progress.borrow().clone()
    }

    /// Events skipped under [`FoldErrorPolicy::LogAndContinue`] (including events evicted by
    /// retention before the fold read them).
    pub fn fold_errors(&self) -> u64 {
        self.shared.fold_errors.load(Ordering::Relaxed)
    }

    /// Reads of the log that failed with an error that may pass (an I/O error, such as a cold
    /// store that is down) and that the fold tried again, after a growing pause, instead of
    /// halting; it waits at its seq meanwhile and skips nothing (see [`redex::follow_log`]).
    pub fn read_retries(&self) -> u64 {
        self.shared.read_retries.load(Ordering::Relaxed)
    }

    /// Live receivers of the change signal: change streams not yet dropped, plus waits in
    /// progress. Dropping a stream lowers it at once (a stream owns no task to wind down).
    pub fn active_watchers(&self) -> usize {
        self.shared.progress.receiver_count()
    }

    /// Appends one event: a 24-byte envelope (`dispatch`, this adapter's origin hash,
    /// `timestamp_ns` flagged as a timestamp, CRC-32C of `body`) followed by `body`. Returns its
    /// seq. Refused once the fold has halted or the adapter is closed, so a caller never
    /// writes events that nothing will apply.
    pub fn append(&self, dispatch: u8, timestamp_ns: u64, body: &[u8]) -> Result<u64> {
        self.check_accepting()?;
        let bytes = EventMeta::encode(
            dispatch,
            EventMeta::FLAG_TIMESTAMP,
            self.shared.origin_hash,
            timestamp_ns,
            body,
        );
        Ok(self.shared.file.append(&bytes)?)
    }

    /// Appends pre-built envelopes (see [`EventMeta::encode`]) as one atomic batch. Returns the
    /// first seq, `None` for an empty batch.
    pub fn append_encoded_batch<P: AsRef<[u8]>>(&self, events: &[P]) -> Result<Option<u64>> {
        self.check_accepting()?;
        Ok(self.shared.file.append_batch(events)?)
    }

    /// Appends one pre-built envelope and body (the model adapters encode straight into one
    /// buffer and hand it here).
    pub(crate) fn append_encoded(&self, bytes: &[u8]) -> Result<u64> {
        self.check_accepting()?;
        Ok(self.shared.file.append(bytes)?)
    }

    #[inline]
    fn check_accepting(&self) -> Result<()> {
        if self.shared.running.load(Ordering::Acquire) {
            return Ok(());
        }
        match &self.shared.progress.borrow().status {
            FoldStatus::Running => Ok(()),
            FoldStatus::Halted { seq, reason } => {
                Err(CortexError::FoldHalted { seq: *seq, reason: reason.clone() })
            }
            FoldStatus::Closed => Err(self.closed()),
        }
    }

    fn closed(&self) -> CortexError {
        CortexError::Closed { channel: self.shared.file.channel().to_string() }
    }

    /// Waits until the event at `seq` is in the state (read-after-write barrier). Returns
    /// [`CortexError::FoldHalted`] if the fold stopped (or panicked) at or before `seq`, and
    /// [`CortexError::Closed`] if the adapter closed first. Waiting for a seq nobody appends
    /// waits until one is appended or the adapter closes.
    ///
    /// When the event is already in the log and the fold is at most one batch behind it, the
    /// caller applies the missing events itself, under the state's write lock and exactly as
    /// the fold task would (the task then skips them), instead of waiting for the task to be
    /// scheduled and to wake it back: a read-after-write costs a lock and the fold, not two
    /// cross-thread wake-ups. Only events held locally (hot and warm tiers) are folded so:
    /// events archived in the cold tier are never read on the caller's thread (that would block
    /// it, an executor's worker, on a store fetch while holding the state's write lock, so
    /// every reader would wait for the fetch too); the caller waits for the fold task instead,
    /// which fetches them without blocking.
    pub async fn wait_for_seq(&self, seq: u64) -> Result<()> {
        if self.shared.progress.borrow().next_seq > seq {
            return Ok(());
        }
        self.fold_inline(seq);
        let mut rx = self.shared.progress.subscribe();
        let outcome = rx
            .wait_for(|p| p.next_seq > seq || p.status != FoldStatus::Running)
            .await
            .map(|p| p.clone());
        let progress = outcome.map_err(|_| self.closed())?;
        if progress.next_seq > seq {
            return Ok(());
        }
        match progress.status {
            FoldStatus::Halted { seq, reason } => Err(CortexError::FoldHalted { seq, reason }),
            _ => Err(self.closed()),
        }
    }

    /// Folds the events up to `seq` on the caller's thread, if they are all in the log, none
    /// of them is archived in the cold tier, and there are at most `batch` of them. Does
    /// nothing otherwise (the fold task gets there). Never touches the cold store: the events
    /// are read with [`RedexFile::read_range_local`] under the state's write lock.
    fn fold_inline(&self, seq: u64) {
        let shared = &*self.shared;
        if seq >= shared.file.next_seq() {
            return;
        }
        let mut state = shared.state.write();
        let next = {
            let p = shared.progress.borrow();
            if p.status != FoldStatus::Running || p.next_seq > seq {
                return;
            }
            p.next_seq
        };
        if seq - next >= shared.batch as u64 {
            return;
        }
        // Local reads only: a cold fetch here would block this thread (a runtime worker) on
        // the store while every reader waits on the write lock held above.
        let Ok(Some(events)) = shared.file.read_range_local(next, seq + 1) else { return };
        if events.len() as u64 != seq + 1 - next {
            return;
        }
        let events = events.into_iter().map(Ok);
        fold_task::apply_locked(shared, &mut *state, events, true);
    }

    /// A stream of `eval(&state)`, evaluated now and after every change of the fold, emitted
    /// only when the value differs from the last one emitted. See [`ChangeStream`].
    pub fn changes<R, E>(&self, eval: E) -> ChangeStream<R>
    where
        R: Clone + PartialEq + Send + 'static,
        E: Fn(&S) -> R + Send + 'static,
    {
        ChangeStream::new(self.shared.progress.subscribe(), Arc::clone(&self.shared.state), eval)
    }

    /// The current `eval(&state)` and a stream of its later changes, with no change lost in
    /// between and the current value not repeated: the stream is registered for changes
    /// before the current value is computed.
    pub fn snapshot_and_changes<R, E>(&self, eval: E) -> (R, ChangeStream<R>)
    where
        R: Clone + PartialEq + Send + 'static,
        E: Fn(&S) -> R + Send + 'static,
    {
        ChangeStream::new_after_current(
            self.shared.progress.subscribe(),
            Arc::clone(&self.shared.state),
            eval,
        )
    }

    /// Serializes the state (see [`SnapshotState`]) together with the seq of the last event it
    /// holds (`None` if none). Pass both to [`CortexAdapter::open_from_snapshot`]. Refused with
    /// [`CortexError::FoldHalted`] once the fold has panicked: the state may then hold part of
    /// the event it panicked on, which no `last_seq` describes.
    pub fn snapshot(&self) -> Result<(Vec<u8>, Option<u64>)>
    where
        S: SnapshotState,
    {
        self.snapshot_with(|state, last_seq| Ok((snapshot::encode(state)?, last_seq)))?
    }

    /// Calls `encode` with the state and the seq of the last event it holds (`None` if none),
    /// both read under the state's read lock so that they match exactly, even after `close`,
    /// and returns what `encode` returns: [`CortexAdapter::snapshot`] for a state serialized
    /// another way (NetDB's custom models). Refused, like `snapshot`, with
    /// [`CortexError::FoldHalted`] once the fold has panicked (`encode` is not called).
    ///
    /// Before it returns, every event the snapshot covers is made durable (`sync` of the log:
    /// an `fdatasync` of a persistent one, nothing for a heap-only one): a snapshot never
    /// describes events a crash could still lose, so a stale snapshot is refused on restore
    /// (it is ahead of the log) or describes the log exactly, never a log whose lost seqs
    /// were later reused by other events. A failed fsync is returned instead of the snapshot.
    pub fn snapshot_with<R>(&self, encode: impl FnOnce(&S, Option<u64>) -> R) -> Result<R> {
        let encoded = self.snapshot_unsynced(encode)?;
        self.shared.file.sync()?;
        Ok(encoded)
    }

    /// [`CortexAdapter::snapshot_with`] without the sync: its own function so that the state's
    /// read lock is released before the fsync (the fold is not held up by the disk).
    fn snapshot_unsynced<R>(&self, encode: impl FnOnce(&S, Option<u64>) -> R) -> Result<R> {
        let state = self.shared.state.read();
        // Progress only moves under the write lock, so it matches the state we hold.
        let progress = self.shared.progress.borrow().clone();
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(match progress.status {
                FoldStatus::Halted { seq, reason } => CortexError::FoldHalted { seq, reason },
                // Closed while the fold was panicking: the panic's status lost the race.
                _ => CortexError::FoldHalted {
                    seq: progress.next_seq,
                    reason: "the fold panicked; its state is not snapshotted".to_owned(),
                },
            });
        }
        Ok(encode(&*state, progress.applied_seq()))
    }

    /// Stops the fold task (events not yet applied stay in the log for the next open), closes
    /// the RedEX file (which fsyncs a persistent one) and ends change streams. Call
    /// [`CortexAdapter::wait_for_seq`] first to fold everything appended. Closing twice is fine.
    ///
    /// Cancel-safe: dropped before it completes (a timeout around it), it leaves the adapter
    /// closed all the same. Appends and waits are answered with [`CortexError::Closed`] from
    /// its first poll on, the fold task stops on its own, and the log is closed when the
    /// future is dropped (an error closing it is then only logged).
    ///
    /// Dropping the adapter without closing it stops the fold and ends change streams but
    /// leaves the log open in its [`Redex`] (other handles to the channel may be using it):
    /// a heap-only log keeps its events, a persistent one its descriptors and fsync thread,
    /// until it is closed or the manager dropped.
    pub async fn close(&self) -> Result<()> {
        // First, before anything is awaited: were this future dropped while it waits for the
        // task, nothing else would set it, and the adapter would take appends nobody folds.
        // Events the task is applying meanwhile are finished and counted (see `apply_locked`).
        self.shared.set_status(FoldStatus::Closed);
        let task = self.task.lock().take();
        if let Some(task) = task {
            self.shared.stop.notify_one();
            let cancelled = CloseOnDrop(&self.shared.file);
            // A task that panicked has nothing left to clean up; its guard halted the fold.
            let _ = task.await;
            std::mem::forget(cancelled);
        }
        self.shared.file.close()?;
        Ok(())
    }
}

/// Closes the file if [`CortexAdapter::close`] is dropped while it waits for the fold task.
struct CloseOnDrop<'a>(&'a RedexFile);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.close() {
            let channel = self.0.channel();
            tracing::error!(%channel, error = %e, "closing the log of a cancelled close failed");
        }
    }
}

impl<S> Drop for CortexAdapter<S> {
    fn drop(&mut self) {
        // Closed first, so the task's guard against dying unexpectedly finds a status set.
        self.shared.set_status(FoldStatus::Closed);
        if let Some(task) = self.task.get_mut().take() {
            task.abort();
        }
    }
}

/// The runtime the fold task will run on, asked for before the log is opened so that a call
/// outside a runtime leaves nothing open behind its error.
fn current_runtime() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current().map_err(|_| CortexError::NoRuntime)
}
