//! [`RedexIndex`]: an in-memory secondary index kept up to date from a log's entries.
//!
//! A log answers "what is at seq N"; an index answers "which entries (or values) belong to key
//! K" without scanning. The caller supplies a projection that turns each entry into index
//! operations ([`IndexOp::Insert`] / [`IndexOp::Remove`] of a `(key, value)` pair); a
//! background tokio task applies them in seq order to a `BTreeMap` from each key to its set
//! of values.
//!
//! **How it follows the log.** The task runs [`follow_log`]: it reads stored history with
//! [`RedexFile::read_range_async`], 4096 entries per read (an archived part is fetched on the
//! engine's cold runtime, so a worker never blocks on the store), then follows appends with
//! [`RedexFile::tail`]. A tail that lags (the writer outran the file's
//! `tail_buffer_events`) is not a loss: the task goes back to reading history from the first
//! entry it has not applied, then subscribes again. Every entry is applied exactly once, in
//! order; the index never resets.
//!
//! **Consistency.** The index is always the result of applying some prefix of the log (from
//! its start) and nothing else: readers see the entries below [`RedexIndex::next_seq`] applied,
//! never half an entry (an entry's operations are applied under one write lock). To read
//! your own write, await [`RedexIndex::wait_for_seq`] with the seq the append returned. A
//! waiter whose entries are already stored locally and at most 256 behind applies them itself
//! instead of waiting for the task to be scheduled.
//!
//! **Errors.** A projection that fails (or panics) on an entry is handled by the
//! [`IndexErrorPolicy`]: `Stop` (the default) stops the index before that entry, and waits for
//! it or anything later return [`RedexError::IndexStopped`]; `Skip` leaves that entry's
//! operations out, counts it ([`IndexStats::skipped_events`]) and goes on. History evicted by
//! retention before the index read it stops the index too, unless it was opened
//! [`IndexStart::FromHead`], which means "whatever is retained" and moves past evicted entries
//! (counted in [`IndexStats::evicted_events`]). A closed file ends the index's task; waits for
//! entries it did not reach return [`RedexError::Closed`]. Nothing waits forever on a task
//! that has stopped. Dropping the last clone of a `RedexIndex` stops its task.
//!
//! **Memory.** Everything is in memory, in proportion to the pairs present (not to the length
//! of the log: removes give memory back): one `BTreeMap` slot per key, holding the key and
//! either its only value or a boxed `BTreeSet` of its values. B-tree nodes run half to two
//! thirds full, so a key with one value costs about 1.5 to 2 times the size of the key plus
//! the size of the value (at least 8) plus 8; each value of a key with several costs about 1.5
//! to 2 times its size, plus a small per-node overhead. Measured with `u64` keys and values:
//! 38 to 49 bytes per single-valued key, about 17 bytes per value of a many-valued key, so 10
//! million distinct keys take about 400 to 500 MB. Index what queries need (ids, seqs), not
//! whole payloads.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), redex::RedexError> {
//! use redex::{ChannelName, IndexOp, IndexStart, Redex, RedexFileConfig, RedexIndex};
//!
//! let redex = Redex::new();
//! let file = redex.open_file(&ChannelName::new("orders")?, RedexFileConfig::default())?;
//! // Entries are "customer:order"; index the seqs of each customer's orders.
//! let by_customer = RedexIndex::open(&file, IndexStart::FromBeginning, |ev| {
//!     let text = std::str::from_utf8(&ev.payload)?;
//!     let (customer, _order) = text.split_once(':').ok_or("no ':' in the entry")?;
//!     Ok([IndexOp::Insert(customer.to_owned(), ev.seq)])
//! })?;
//!
//! file.append(b"ada:17")?;
//! file.append(b"bob:18")?;
//! let seq = file.append(b"ada:19")?;
//! by_customer.wait_for_seq(seq).await?; // read your own write
//! assert_eq!(by_customer.get("ada"), vec![0, 2]);
//! assert_eq!(by_customer.keys(), vec!["ada".to_owned(), "bob".to_owned()]);
//! # Ok(()) }
//! ```

use std::borrow::Borrow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeBounds;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{RedexError, Result};
use crate::event::RedexEvent;
use crate::file::RedexFile;
use crate::follow::{follow_log, panic_message, FollowStep, LogFollower};
use crate::typed::TypedRedexFile;

/// Most entries applied under one write lock of the index, so readers never wait long; also
/// the most live entries taken from the tail at once.
const APPLY_BATCH: usize = 256;
/// Most entries a [`RedexIndex::wait_for_seq`] applies on the caller's thread: one write lock's
/// worth.
const INLINE_MAX: u64 = APPLY_BATCH as u64;

/// One change to an index, produced by a projection from a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexOp<K, V> {
    /// Adds `value` to the values of `key` (nothing changes if it is there already).
    Insert(K, V),
    /// Removes `value` from the values of `key` (nothing changes if it is not there); a key
    /// left without values disappears from the index.
    Remove(K, V),
}

/// Where an index starts reading its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexStart {
    /// From seq 0: the whole log. Opening fails with [`RedexError::Evicted`] if retention has
    /// already dropped seq 0, and the index stops if retention drops entries before it reads
    /// them: it never silently misses an entry.
    #[default]
    FromBeginning,
    /// From the retained head ([`RedexFile::head_seq`]) at open: whatever the log still holds.
    /// Entries evicted by retention before the index reads them are passed over and counted
    /// ([`IndexStats::evicted_events`]) instead of stopping the index.
    FromHead,
    /// From this seq on; entries below it are not indexed. Like `FromBeginning`, a seq already
    /// evicted fails the open, and a later eviction of unread entries stops the index. A seq
    /// past the end waits for the log to get there.
    FromSeq(u64),
}

/// What an index does with an entry its projection rejects (returns an error or panics on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexErrorPolicy {
    /// Stop before the entry: the index keeps everything before it and applies nothing more;
    /// [`RedexIndex::wait_for_seq`] for it or anything later returns
    /// [`RedexError::IndexStopped`] naming the seq and the projection's error.
    #[default]
    Stop,
    /// Leave the entry's operations out (an entry is applied whole or not at all), log it with
    /// `tracing`, count it ([`IndexStats::skipped_events`]) and go on.
    Skip,
}

/// How to open a [`RedexIndex`]: where to start and what to do with a rejected entry. An
/// [`IndexStart`] converts into options with the default policy ([`IndexErrorPolicy::Stop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexOptions {
    start: IndexStart,
    error_policy: IndexErrorPolicy,
}

impl IndexOptions {
    /// Options starting at `start`, with [`IndexErrorPolicy::Stop`].
    pub fn new(start: IndexStart) -> Self {
        IndexOptions { start, error_policy: IndexErrorPolicy::Stop }
    }

    /// Sets what a rejected entry does.
    pub fn with_error_policy(mut self, policy: IndexErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// Where the index starts.
    pub fn start(&self) -> IndexStart {
        self.start
    }

    /// What a rejected entry does.
    pub fn error_policy(&self) -> IndexErrorPolicy {
        self.error_policy
    }
}

impl From<IndexStart> for IndexOptions {
    fn from(start: IndexStart) -> Self {
        IndexOptions::new(start)
    }
}

/// The error a projection returns to reject an entry: any error type (`?` converts), or a
/// string (`Err("why".into())`).
pub type ProjectionError = Box<dyn std::error::Error + Send + Sync>;

/// Whether an index is still following its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// Applying entries as the log grows.
    Running,
    /// Stopped before `seq`: a rejected entry under [`IndexErrorPolicy::Stop`], history evicted
    /// before it was read, a failed read of the log, or the task ended unexpectedly (its runtime
    /// shut down). The index keeps the entries before `seq` and applies nothing more.
    Stopped {
        /// The first entry not applied.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The file was closed; the index keeps what it had applied.
    Closed,
}

/// Counters of an index, read at one moment (see [`RedexIndex::stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    /// The next entry to apply: every entry from the start up to this one is accounted for.
    pub next_seq: u64,
    /// Whether the index still runs.
    pub status: IndexStatus,
    /// Distinct keys.
    pub keys: usize,
    /// `(key, value)` pairs.
    pub pairs: usize,
    /// Entries whose operations were applied.
    pub applied_events: u64,
    /// Entries rejected by the projection and left out under [`IndexErrorPolicy::Skip`].
    pub skipped_events: u64,
    /// Entries evicted by retention before the index read them, passed over because the index
    /// was opened [`IndexStart::FromHead`].
    pub evicted_events: u64,
    /// Times the live tail lagged and the index went back to reading history (nothing lost).
    pub tail_lags: u64,
    /// History reads that failed with an error that may pass (a cold store down) and were
    /// tried again; the index waits at its seq meanwhile, losing nothing.
    pub read_retries: u64,
}

/// The values of one key: the only one inline (most keys of a secondary index have one), or
/// a set once there are several. The set is boxed so that a single `u64` value costs 16 bytes
/// in the key's B-tree slot rather than 32.
#[derive(Debug)]
enum Values<V> {
    One(V),
    #[allow(clippy::box_collection, reason = "halves the slot of every single-valued key")]
    Many(Box<BTreeSet<V>>),
}

impl<V: Ord> Values<V> {
    /// Adds `v`; whether it was new.
    fn insert(&mut self, v: V) -> bool {
        match self {
            Values::Many(set) => return set.insert(v),
            Values::One(only) if *only == v => return false,
            Values::One(_) => {}
        }
        // A second value: move the first into a set with it.
        let set = Box::new(BTreeSet::from([v]));
        if let Values::One(first) = std::mem::replace(self, Values::Many(set)) {
            if let Values::Many(set) = self {
                set.insert(first);
            }
        }
        true
    }

    /// Removes `v`: `(whether it was there, whether no value is left)`.
    fn remove(&mut self, v: &V) -> (bool, bool) {
        let set = match self {
            Values::One(only) => return if only == v { (true, true) } else { (false, false) },
            Values::Many(set) => set,
        };
        if !set.remove(v) {
            return (false, false);
        }
        if set.len() == 1 {
            if let Some(only) = set.pop_first() {
                *self = Values::One(only);
            }
            return (true, false);
        }
        (true, set.is_empty())
    }

    fn contains(&self, v: &V) -> bool {
        match self {
            Values::One(only) => only == v,
            Values::Many(set) => set.contains(v),
        }
    }

    fn to_vec(&self) -> Vec<V>
    where
        V: Clone,
    {
        match self {
            Values::One(only) => vec![only.clone()],
            Values::Many(set) => set.iter().cloned().collect(),
        }
    }
}

/// The index proper: what the operations build.
#[derive(Debug)]
struct Map<K, V> {
    entries: BTreeMap<K, Values<V>>,
    pairs: usize,
}

impl<K: Ord, V: Ord> Map<K, V> {
    fn apply(&mut self, op: IndexOp<K, V>) {
        match op {
            IndexOp::Insert(k, v) => match self.entries.entry(k) {
                Entry::Vacant(e) => {
                    e.insert(Values::One(v));
                    self.pairs += 1;
                }
                Entry::Occupied(mut e) => self.pairs += usize::from(e.get_mut().insert(v)),
            },
            IndexOp::Remove(k, v) => {
                let Entry::Occupied(mut e) = self.entries.entry(k) else { return };
                let (removed, emptied) = e.get_mut().remove(&v);
                self.pairs -= usize::from(removed);
                if emptied {
                    e.remove();
                }
            }
        }
    }
}

/// Where the index is: moved only under the map's write lock (so a reader holding the read
/// lock sees a position that matches the map), and doubling as the waiters' wake-up signal.
#[derive(Debug, Clone)]
struct Progress {
    next_seq: u64,
    status: IndexStatus,
}

/// A projection as the index calls it: operations appended to `out`, or why the entry was
/// rejected.
type Projector<K, V> =
    dyn Fn(&RedexEvent, &mut Vec<IndexOp<K, V>>) -> std::result::Result<(), String> + Send + Sync;

/// What the handles and the task share.
struct Shared<K, V> {
    file: RedexFile,
    map: RwLock<Map<K, V>>,
    progress: watch::Sender<Progress>,
    project: Box<Projector<K, V>>,
    policy: IndexErrorPolicy,
    /// Opened `FromHead`: move past evicted entries instead of stopping.
    follow_head: bool,
    applied: AtomicU64,
    skipped: AtomicU64,
    evicted: AtomicU64,
    lags: AtomicU64,
    read_retries: AtomicU64,
}

/// The last handle's drop stops the task.
struct Handle<K, V> {
    shared: Arc<Shared<K, V>>,
    task: JoinHandle<()>,
}

impl<K, V> Drop for Handle<K, V> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An in-memory secondary index of a [`RedexFile`], from keys `K` to sets of values `V`,
/// maintained by a background task from the file's entries through a projection. See the
/// [module docs](self) for how it follows the log, its consistency, its errors and its memory.
///
/// Keys are kept in order ([`RedexIndex::keys`] and [`RedexIndex::range`] are sorted), and the
/// values of a key form a set, returned in ascending order: the index's contents depend only
/// on the log, never on timing or hashing. Cloning is cheap and shares the index; dropping the
/// last clone stops the task (it is aborted, and lets go of its clone of the file when its
/// runtime next polls it).
pub struct RedexIndex<K, V> {
    handle: Arc<Handle<K, V>>,
}

impl<K, V> Clone for RedexIndex<K, V> {
    fn clone(&self) -> Self {
        RedexIndex { handle: Arc::clone(&self.handle) }
    }
}

impl<K, V> std::fmt::Debug for RedexIndex<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = &self.handle.shared;
        f.debug_struct("RedexIndex")
            .field("channel", shared.file.channel())
            .field("progress", &*shared.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl<K, V> RedexIndex<K, V>
where
    K: Ord + Clone + Send + Sync + 'static,
    V: Ord + Clone + Send + Sync + 'static,
{
    /// Opens an index of `file`, fed by `project`, which turns each entry into index
    /// operations (any iterable: a `Vec`, an array, an `Option`) or rejects it with an error
    /// (handled by the options' [`IndexErrorPolicy`]). The projection must be deterministic
    /// (the entry only): the index is rebuilt from the log by opening it again.
    ///
    /// `options` is an [`IndexStart`] or full [`IndexOptions`]. Spawns the index's task on
    /// the current tokio runtime and returns at once; the index fills as the task reads. Fails
    /// with [`RedexError::NoRuntime`] outside a runtime, [`RedexError::Closed`] on a closed
    /// file, and [`RedexError::Evicted`] if the start (other than `FromHead`) is below the
    /// retained head.
    pub fn open<F, I>(
        file: &RedexFile,
        options: impl Into<IndexOptions>,
        project: F,
    ) -> Result<Self>
    where
        F: Fn(&RedexEvent) -> std::result::Result<I, ProjectionError> + Send + Sync + 'static,
        I: IntoIterator<Item = IndexOp<K, V>>,
    {
        let projector = move |ev: &RedexEvent, out: &mut Vec<IndexOp<K, V>>| match project(ev) {
            Ok(ops) => {
                out.extend(ops);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        Self::start(file, options.into(), Box::new(projector), "RedexIndex::open")
    }

    /// Opens an index of a [`TypedRedexFile`]: each payload is decoded from postcard and
    /// `project` gets its seq and the value. A payload that does not decode is a rejected
    /// entry (see [`IndexErrorPolicy`]). Otherwise as [`RedexIndex::open`].
    pub fn open_typed<T, F, I>(
        file: &TypedRedexFile<T>,
        options: impl Into<IndexOptions>,
        project: F,
    ) -> Result<Self>
    where
        T: serde::Serialize + DeserializeOwned + 'static,
        F: Fn(u64, &T) -> I + Send + Sync + 'static,
        I: IntoIterator<Item = IndexOp<K, V>>,
    {
        let projector = move |ev: &RedexEvent, out: &mut Vec<IndexOp<K, V>>| {
            let value: T = crate::typed::decode_exact(&ev.payload).map_err(|e| {
                format!("the payload does not decode as {}: {e}", std::any::type_name::<T>())
            })?;
            out.extend(project(ev.seq, &value));
            Ok(())
        };
        Self::start(file.file(), options.into(), Box::new(projector), "RedexIndex::open_typed")
    }

    fn start(
        file: &RedexFile,
        options: IndexOptions,
        project: Box<Projector<K, V>>,
        what: &'static str,
    ) -> Result<Self> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedexError::NoRuntime { what })?;
        if file.is_closed() {
            return Err(RedexError::Closed { channel: file.channel().to_string() });
        }
        let head = file.head_seq();
        let (from, follow_head) = match options.start {
            IndexStart::FromBeginning => (0, false),
            IndexStart::FromHead => (head, true),
            IndexStart::FromSeq(seq) => (seq, false),
        };
        if from < head {
            return Err(RedexError::Evicted { requested: from, head });
        }
        let (progress, _) =
            watch::channel(Progress { next_seq: from, status: IndexStatus::Running });
        let shared = Arc::new(Shared {
            file: file.clone(),
            map: RwLock::new(Map { entries: BTreeMap::new(), pairs: 0 }),
            progress,
            project,
            policy: options.error_policy,
            follow_head,
            applied: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            lags: AtomicU64::new(0),
            read_retries: AtomicU64::new(0),
        });
        let follower = Arc::clone(&shared);
        let task =
            runtime.spawn(async move { follow_log(&follower.file, &*follower, APPLY_BATCH).await });
        Ok(RedexIndex { handle: Arc::new(Handle { shared, task }) })
    }

    fn shared(&self) -> &Shared<K, V> {
        &self.handle.shared
    }

    /// The values of `key`, in ascending order (empty if the key is absent). Like
    /// `BTreeMap::get`, takes any borrowed form of the key (`&str` for `String` keys).
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Vec<V>
    where
        K: Borrow<Q>,
    {
        self.shared().map.read().entries.get(key).map_or_else(Vec::new, Values::to_vec)
    }

    /// Whether `value` is among the values of `key`.
    pub fn contains<Q: Ord + ?Sized>(&self, key: &Q, value: &V) -> bool
    where
        K: Borrow<Q>,
    {
        self.shared().map.read().entries.get(key).is_some_and(|vals| vals.contains(value))
    }

    /// Whether `key` has any value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.shared().map.read().entries.contains_key(key)
    }

    /// Every key, in ascending order.
    pub fn keys(&self) -> Vec<K> {
        self.shared().map.read().entries.keys().cloned().collect()
    }

    /// The keys within `range`, in ascending order, each with its values (ascending).
    pub fn range<Q, R>(&self, range: R) -> Vec<(K, Vec<V>)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let map = self.shared().map.read();
        map.entries.range(range).map(|(k, vals)| (k.clone(), vals.to_vec())).collect()
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.shared().map.read().entries.len()
    }

    /// Whether the index has no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of `(key, value)` pairs.
    pub fn pair_count(&self) -> usize {
        self.shared().map.read().pairs
    }
}

impl<K, V> RedexIndex<K, V> {
    /// The file this index follows.
    pub fn file(&self) -> &RedexFile {
        &self.handle.shared.file
    }

    /// Seq of the next entry the index will apply: every entry from its start up to this one
    /// is accounted for (applied, or skipped under [`IndexErrorPolicy::Skip`] or
    /// [`IndexStart::FromHead`]). Starts at the index's start seq.
    pub fn next_seq(&self) -> u64 {
        self.handle.shared.progress.borrow().next_seq
    }

    /// The last seq accounted for (see [`RedexIndex::next_seq`]), `None` before seq 0 is.
    pub fn indexed_through(&self) -> Option<u64> {
        self.next_seq().checked_sub(1)
    }

    /// Whether the index is running, stopped or closed.
    pub fn status(&self) -> IndexStatus {
        self.handle.shared.progress.borrow().status.clone()
    }

    /// The index's position, status, size and counters, read under its read lock so they
    /// agree with each other.
    pub fn stats(&self) -> IndexStats {
        let shared = &*self.handle.shared;
        let map = shared.map.read();
        let progress = shared.progress.borrow().clone();
        IndexStats {
            next_seq: progress.next_seq,
            status: progress.status,
            keys: map.entries.len(),
            pairs: map.pairs,
            applied_events: shared.applied.load(Ordering::Relaxed),
            skipped_events: shared.skipped.load(Ordering::Relaxed),
            evicted_events: shared.evicted.load(Ordering::Relaxed),
            tail_lags: shared.lags.load(Ordering::Relaxed),
            read_retries: shared.read_retries.load(Ordering::Relaxed),
        }
    }
}

impl<K, V> RedexIndex<K, V>
where
    K: Ord + Send + Sync + 'static,
    V: Ord + Send + Sync + 'static,
{
    /// Waits until the entry at `seq` is accounted for in the index (read-after-write
    /// barrier): once this returns `Ok`, reads reflect every entry up to `seq`. Returns at once
    /// for a seq below the index's start or already applied.
    ///
    /// Fails with [`RedexError::IndexStopped`] if the index stopped at or before `seq`, and
    /// [`RedexError::Closed`] if the file was closed before the index got there. Waiting for a
    /// seq nobody appends waits until it is appended or the file is closed.
    ///
    /// When the entries up to `seq` are already in the log, held locally (not archived), and
    /// at most 256 of them are missing, the caller applies them itself, exactly as the task
    /// would (which then skips them), instead of waiting for the task to be scheduled.
    pub async fn wait_for_seq(&self, seq: u64) -> Result<()> {
        let shared = &*self.handle.shared;
        if shared.progress.borrow().next_seq > seq {
            return Ok(());
        }
        apply_inline(shared, seq);
        let mut rx = shared.progress.subscribe();
        let reached = rx
            .wait_for(|p| p.next_seq > seq || p.status != IndexStatus::Running)
            .await
            .map(|p| p.clone());
        let closed = || RedexError::Closed { channel: shared.file.channel().to_string() };
        // The sender lives in `shared`, which `self` keeps alive: this never fails.
        let progress = reached.map_err(|_| closed())?;
        if progress.next_seq > seq {
            return Ok(());
        }
        match progress.status {
            IndexStatus::Stopped { seq, reason } => Err(RedexError::IndexStopped {
                channel: shared.file.channel().to_string(),
                seq,
                reason,
            }),
            _ => Err(closed()),
        }
    }
}

/// Entries projected outside the index's lock, ready to apply: the operations of them all, in
/// order, and per entry its seq and where its operations end in `ops` (or why it was rejected).
struct Projected<K, V> {
    ops: Vec<IndexOp<K, V>>,
    events: Vec<(u64, std::result::Result<usize, String>)>,
}

/// Runs the projection over `events`. A panic in it is caught and becomes a rejection of that
/// entry, handled by the policy: the projection only produces operations, so the index itself
/// is never left half-updated by one.
fn project<K, V>(
    shared: &Shared<K, V>,
    events: impl IntoIterator<Item = RedexEvent>,
) -> Projected<K, V> {
    let mut out = Projected { ops: Vec::new(), events: Vec::new() };
    for ev in events {
        let before = out.ops.len();
        let result = panic::catch_unwind(AssertUnwindSafe(|| (shared.project)(&ev, &mut out.ops)));
        let outcome = match result {
            Ok(Ok(())) => Ok(out.ops.len()),
            Ok(Err(reason)) => Err(format!("the projection rejected the entry: {reason}")),
            Err(payload) => Err(format!("the projection panicked: {}", panic_message(&*payload))),
        };
        if outcome.is_err() {
            out.ops.truncate(before);
        }
        out.events.push((ev.seq, outcome));
    }
    out
}

/// Applies projected entries under the index's write lock, in seq order: entries below the
/// progress were applied already (by a waiter inline, or the task) and are passed over; a gap
/// stops the index rather than lose entries. Publishes the new progress before releasing the
/// lock; wakes waiters if `wake` (or on a stop).
fn apply_projected<K: Ord, V: Ord>(
    shared: &Shared<K, V>,
    batch: Projected<K, V>,
    wake: bool,
) -> FollowStep {
    let mut map = shared.map.write();
    let (start, running) = {
        let p = shared.progress.borrow();
        (p.next_seq, p.status == IndexStatus::Running)
    };
    if !running {
        return FollowStep::Stop;
    }
    let mut next = start;
    let mut stopped = None;
    let (mut applied, mut skipped) = (0, 0);
    let mut ops = batch.ops.into_iter();
    let mut pos = 0;
    for (seq, outcome) in batch.events {
        let end = *outcome.as_ref().unwrap_or(&pos);
        let these = ops.by_ref().take(end - pos);
        pos = end;
        if seq < next {
            these.for_each(drop);
            continue;
        }
        if seq != next {
            let reason = format!("the log delivered seq {seq} while the index expected {next}");
            stopped = Some(IndexStatus::Stopped { seq: next, reason });
            break;
        }
        match outcome {
            Ok(_) => {
                these.for_each(|op| map.apply(op));
                applied += 1;
            }
            Err(reason) => match shared.policy {
                IndexErrorPolicy::Stop => {
                    let channel = shared.file.channel();
                    tracing::error!(%channel, seq, %reason, "index stopped");
                    stopped = Some(IndexStatus::Stopped { seq, reason });
                    break;
                }
                IndexErrorPolicy::Skip => {
                    let channel = shared.file.channel();
                    tracing::warn!(%channel, seq, %reason, "index skipped an entry");
                    skipped += 1;
                }
            },
        }
        next += 1;
    }
    shared.applied.fetch_add(applied, Ordering::Relaxed);
    shared.skipped.fetch_add(skipped, Ordering::Relaxed);
    let stop = stopped.is_some();
    if next != start || stop {
        shared.progress.send_if_modified(|p| {
            p.next_seq = next;
            if let Some(status) = stopped {
                if p.status == IndexStatus::Running {
                    p.status = status;
                }
            }
            wake || stop
        });
    }
    drop(map);
    if stop {
        FollowStep::Stop
    } else {
        FollowStep::Continue
    }
}

/// Sets a terminal status unless one is set already (the first reason wins) and wakes
/// waiters.
fn set_status<K, V>(shared: &Shared<K, V>, status: IndexStatus) {
    shared.progress.send_if_modified(|p| {
        if p.status != IndexStatus::Running {
            return false;
        }
        p.status = status;
        true
    });
}

/// What a failed read of the log does to the index: a closed file closes it; evicted history
/// is passed over when the index follows the head, and stops it otherwise; anything else (a
/// corrupt segment, a cold read the file's configuration refuses) stops it. (Reads that fail
/// with an error that may pass, a cold store down, never get here: [`follow_log`] tries them
/// again.)
fn on_read_error<K, V>(shared: &Shared<K, V>, error: RedexError) -> FollowStep {
    let next = shared.progress.borrow().next_seq;
    let channel = shared.file.channel();
    match error {
        RedexError::Lagged { at_seq, skipped } => {
            tracing::debug!(%channel, at_seq, skipped, "index tail lagged; rereading");
            shared.lags.fetch_add(1, Ordering::Relaxed);
            FollowStep::Reread
        }
        RedexError::Closed { .. } => {
            set_status(shared, IndexStatus::Closed);
            FollowStep::Stop
        }
        RedexError::Evicted { head, .. } if shared.follow_head => {
            let _map = shared.map.write();
            let passed = shared.progress.send_if_modified(|p| {
                if p.status != IndexStatus::Running || p.next_seq >= head {
                    return false;
                }
                shared.evicted.fetch_add(head - p.next_seq, Ordering::Relaxed);
                let from = p.next_seq;
                tracing::warn!(%channel, from, head, "entries evicted before the index read them");
                p.next_seq = head;
                true
            });
            if passed || shared.progress.borrow().status == IndexStatus::Running {
                FollowStep::Reread
            } else {
                // Stopped or closed meanwhile.
                FollowStep::Stop
            }
        }
        e => {
            tracing::error!(%channel, seq = next, error = %e, "index stopped");
            set_status(shared, IndexStatus::Stopped { seq: next, reason: e.to_string() });
            FollowStep::Stop
        }
    }
}

/// Applies the entries up to `seq` on the caller's thread if they are all in the log, held
/// locally, and at most [`INLINE_MAX`] of them are missing; does nothing otherwise (the task
/// gets there). Never touches the cold store.
fn apply_inline<K: Ord, V: Ord>(shared: &Shared<K, V>, seq: u64) {
    if seq >= shared.file.next_seq() {
        return;
    }
    let next = {
        let p = shared.progress.borrow();
        if p.status != IndexStatus::Running || p.next_seq > seq {
            return;
        }
        p.next_seq
    };
    if seq - next >= INLINE_MAX {
        return;
    }
    let Ok(Some(events)) = shared.file.read_range_local(next, seq + 1) else { return };
    if events.len() as u64 != seq + 1 - next {
        return;
    }
    shared.apply(events.into_iter().map(Ok), true);
}

/// The index's side of [`follow_log`]: entries are projected outside the index's lock, then
/// applied under one write lock; the error that ends them, if any, goes to [`on_read_error`].
impl<K: Ord, V: Ord> LogFollower for Shared<K, V> {
    fn next_seq(&self) -> Option<u64> {
        let p = self.progress.borrow();
        (p.status == IndexStatus::Running).then_some(p.next_seq)
    }

    fn apply(&self, items: impl IntoIterator<Item = Result<RedexEvent>>, wake: bool) -> FollowStep {
        let mut error = None;
        let events = items.into_iter().map_while(|item| item.map_err(|e| error = Some(e)).ok());
        let projected = project(self, events);
        if !projected.events.is_empty()
            && apply_projected(self, projected, wake) == FollowStep::Stop
        {
            return FollowStep::Stop;
        }
        error.map_or(FollowStep::Continue, |e| on_read_error(self, e))
    }

    fn wake(&self) {
        self.progress.send_modify(|_| {});
    }

    fn read_failed(&self, _error: &RedexError, _pause: std::time::Duration) {
        self.read_retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The task ended early: aborted (its index was dropped, when nobody is left to care) or
    /// dropped by its runtime's shutdown, when the index must not leave waiters hanging.
    fn died(&self) {
        let seq = self.progress.borrow().next_seq;
        let reason = "the index task ended (its runtime shut down?)".to_owned();
        set_status(self, IndexStatus::Stopped { seq, reason });
    }
}
