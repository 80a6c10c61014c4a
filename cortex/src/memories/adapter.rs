//! [`MemoriesAdapter`]: the typed write path of the memories model over a [`CortexAdapter`].

use crate::adapter::CortexAdapter;
use crate::error::Result;
use crate::memories::events::{
    IdBody, RetaggedBody, StoredBody, MEMORY_DELETED, MEMORY_PINNED, MEMORY_RETAGGED,
    MEMORY_STORED, MEMORY_UNPINNED,
};
use crate::memories::fold::MemoriesFold;
use crate::memories::state::MemoriesState;
use crate::memories::types::{Memory, MemoryId};
use crate::memories::watch::MemoriesWatcher;
use crate::model_adapter;

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
    model_adapter::adapter_start!("memories", MemoriesAdapter, MEMORIES_CHANNEL, MemoriesFold);

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

    model_adapter::adapter_end!(MemoriesState, MemoriesWatcher, std::sync::Arc<Memory>);
}
