//! [`MemoriesAdapter`]: the typed write path of the memories model over a [`CortexAdapter`].

use std::sync::Arc;

use parking_lot::RwLock;
use redex::{ChannelName, Redex};

use crate::adapter::CortexAdapter;
use crate::changes::ChangeStream;
use crate::config::CortexConfig;
use crate::error::Result;
use crate::memories::events::{
    IdBody, RetaggedBody, StoredBody, MEMORY_DELETED, MEMORY_PINNED, MEMORY_RETAGGED,
    MEMORY_STORED, MEMORY_UNPINNED,
};
use crate::memories::fold::MemoriesFold;
use crate::memories::state::MemoriesState;
use crate::memories::types::{Memory, MemoryId};
use crate::memories::watch::MemoriesWatcher;
use crate::meta::with_encoded_event;
use crate::progress::Progress;

/// Channel the memories model uses unless told otherwise.
pub const MEMORIES_CHANNEL: &str = "cortex/memories";

/// A memories model: writes go through the methods below (each appends one event and returns
/// its seq), reads through [`MemoriesAdapter::state`], reactions through
/// [`MemoriesAdapter::watch`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex::CortexError> {
/// use cortex::memories::MemoriesAdapter;
/// let redex = redex::Redex::new();
/// let memories = MemoriesAdapter::open(&redex, 7)?;
/// let seq = memories.store(1, "the build needs 2 cores", &["ci", "infra"], "notes", 100)?;
/// memories.wait_for_seq(seq).await?;
/// assert_eq!(memories.state().read().query().where_tag("ci").count(), 1);
/// memories.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MemoriesAdapter {
    inner: CortexAdapter<MemoriesState>,
}

impl MemoriesAdapter {
    /// Opens the memories model on channel [`MEMORIES_CHANNEL`] with the default
    /// configuration and folds its whole log.
    pub fn open(redex: &Redex, origin_hash: u64) -> Result<Self> {
        let name = ChannelName::new(MEMORIES_CHANNEL)?;
        Self::open_with(redex, &name, origin_hash, CortexConfig::default())
    }

    /// Opens the memories model on channel `name` with `config`.
    pub fn open_with(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        config: CortexConfig,
    ) -> Result<Self> {
        let inner = CortexAdapter::open(redex, name, origin_hash, MemoriesFold, config)?;
        Ok(MemoriesAdapter { inner })
    }

    /// Restores from a [`MemoriesAdapter::snapshot`] on channel [`MEMORIES_CHANNEL`] and
    /// folds only the events after `last_seq`.
    pub fn open_from_snapshot(
        redex: &Redex,
        origin_hash: u64,
        bytes: &[u8],
        last_seq: Option<u64>,
    ) -> Result<Self> {
        let name = ChannelName::new(MEMORIES_CHANNEL)?;
        let config = CortexConfig::default();
        Self::open_from_snapshot_with(redex, &name, origin_hash, config, bytes, last_seq)
    }

    /// [`MemoriesAdapter::open_from_snapshot`] on channel `name` with `config`.
    pub fn open_from_snapshot_with(
        redex: &Redex,
        name: &ChannelName,
        origin_hash: u64,
        config: CortexConfig,
        bytes: &[u8],
        last_seq: Option<u64>,
    ) -> Result<Self> {
        let inner = CortexAdapter::open_from_snapshot(
            redex,
            name,
            origin_hash,
            MemoriesFold,
            config,
            bytes,
            last_seq,
        )?;
        Ok(MemoriesAdapter { inner })
    }

    /// Stores a new memory. A second store of the same id changes nothing.
    pub fn store(
        &self,
        id: MemoryId,
        content: &str,
        tags: &[&str],
        source: &str,
        now_ns: u64,
    ) -> Result<u64> {
        let body = StoredBody { id, content, tags: tags.to_vec(), source };
        self.write(MEMORY_STORED, now_ns, &body)
    }

    /// Replaces a memory's tags.
    pub fn retag(&self, id: MemoryId, tags: &[&str], now_ns: u64) -> Result<u64> {
        self.write(MEMORY_RETAGGED, now_ns, &RetaggedBody { id, tags: tags.to_vec() })
    }

    /// Pins a memory.
    pub fn pin(&self, id: MemoryId, now_ns: u64) -> Result<u64> {
        self.write(MEMORY_PINNED, now_ns, &IdBody { id })
    }

    /// Unpins a memory.
    pub fn unpin(&self, id: MemoryId, now_ns: u64) -> Result<u64> {
        self.write(MEMORY_UNPINNED, now_ns, &IdBody { id })
    }

    /// Deletes a memory.
    pub fn delete(&self, id: MemoryId, now_ns: u64) -> Result<u64> {
        self.write(MEMORY_DELETED, now_ns, &IdBody { id })
    }

    fn write<B: serde::Serialize>(&self, dispatch: u8, now_ns: u64, body: &B) -> Result<u64> {
        with_encoded_event(dispatch, self.inner.origin_hash(), now_ns, body, |bytes| {
            self.inner.append_encoded(bytes)
        })
    }

    /// The folded state.
    pub fn state(&self) -> &Arc<RwLock<MemoriesState>> {
        self.inner.state()
    }

    /// The generic adapter underneath.
    pub fn adapter(&self) -> &CortexAdapter<MemoriesState> {
        &self.inner
    }

    /// Where the fold is.
    pub fn progress(&self) -> Progress {
        self.inner.progress()
    }

    /// Waits until the event at `seq` is folded (see [`CortexAdapter::wait_for_seq`]).
    pub async fn wait_for_seq(&self, seq: u64) -> Result<()> {
        self.inner.wait_for_seq(seq).await
    }

    /// A watch builder: chain filters, then `.stream()`.
    pub fn watch(&self) -> MemoriesWatcher<'_> {
        MemoriesWatcher::new(self)
    }

    /// The watcher's current result and a stream of its later changes, with no change lost
    /// between the two and the current result not repeated on the stream.
    pub fn snapshot_and_watch(
        &self,
        watcher: MemoriesWatcher<'_>,
    ) -> (Vec<Arc<Memory>>, ChangeStream<Vec<Arc<Memory>>>) {
        let filter = watcher.into_filter();
        self.inner.snapshot_and_changes(move |s: &MemoriesState| s.find_many(&filter))
    }

    /// Snapshot of the state and the seq of its last event.
    pub fn snapshot(&self) -> Result<(Vec<u8>, Option<u64>)> {
        self.inner.snapshot()
    }

    /// Stops the fold and closes the file (see [`CortexAdapter::close`]).
    pub async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}
