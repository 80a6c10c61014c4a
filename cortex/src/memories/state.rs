//! [`MemoriesState`]: the memories, and the secondary indexes the fold keeps beside them.
//!
//! Rows live in a hash map keyed by id, as `Arc<Memory>` (a result shares rows instead of
//! copying content and tags). Beside them the fold maintains:
//!
//! - `ids`: every id, ordered, for id-ordered results and cursors;
//! - `by_tag`: for each tag, the ordered ids that carry it, so a tag filter reads exactly its
//!   rows and a tag count is a length (a retag removes the old tags, read from the row, and adds
//!   the new ones, so the log needs no "old tags" field);
//! - `by_created`: `(created_ns, id)` pairs, for created-time ranges and orders;
//! - `pinned`: the pinned ids.
//!
//! The indexes are derived data: snapshots store only the rows and rebuild them on restore.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::id_hash::IdMap;
use crate::memories::types::{Memory, MemoryId};
use crate::snapshot::SnapshotState;

/// Every memory, with its secondary indexes. Read it through the adapter's `state()` lock; the
/// query methods are in [`crate::memories::query`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(try_from = "Vec<Memory>")]
pub struct MemoriesState {
    pub(crate) rows: IdMap<Arc<Memory>>,
    pub(crate) ids: BTreeSet<MemoryId>,
    pub(crate) by_tag: HashMap<String, BTreeSet<MemoryId>>,
    pub(crate) by_created: BTreeSet<(u64, MemoryId)>,
    pub(crate) pinned: BTreeSet<MemoryId>,
}

impl PartialEq for MemoriesState {
    /// Two states are equal when they hold the same memories (indexes are derived).
    fn eq(&self, other: &Self) -> bool {
        self.rows.len() == other.rows.len()
            && self.rows.iter().all(|(id, m)| other.rows.get(id).is_some_and(|o| o == m))
    }
}

impl Eq for MemoriesState {}

impl MemoriesState {
    /// An empty state.
    pub fn new() -> Self {
        MemoriesState::default()
    }

    /// Number of memories.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no memories.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The memory `id`.
    pub fn get(&self, id: MemoryId) -> Option<&Arc<Memory>> {
        self.rows.get(&id)
    }

    /// Every memory in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Memory>> + '_ {
        self.ids.iter().filter_map(|id| self.rows.get(id))
    }

    /// Distinct tags in use, with how many memories carry each.
    pub fn tag_counts(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.by_tag.iter().map(|(t, ids)| (t.as_str(), ids.len()))
    }

    pub(crate) fn store(
        &mut self,
        id: MemoryId,
        content: &str,
        tags: &[&str],
        source: &str,
        now_ns: u64,
    ) {
        if self.rows.contains_key(&id) {
            return;
        }
        let memory = Memory {
            id,
            content: content.to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            source: source.to_owned(),
            created_ns: now_ns,
            updated_ns: now_ns,
            pinned: false,
        };
        for tag in tags {
            self.tag_index_insert(tag, id);
        }
        self.rows.insert(id, Arc::new(memory));
        self.ids.insert(id);
        self.by_created.insert((now_ns, id));
    }

    pub(crate) fn retag(&mut self, id: MemoryId, tags: &[&str], now_ns: u64) {
        let Some(row) = self.rows.get_mut(&id) else { return };
        let memory = Arc::make_mut(row);
        let old =
            std::mem::replace(&mut memory.tags, tags.iter().map(|t| (*t).to_owned()).collect());
        memory.updated_ns = now_ns;
        for tag in &old {
            if !tags.contains(&tag.as_str()) {
                if let Some(ids) = self.by_tag.get_mut(tag) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.by_tag.remove(tag);
                    }
                }
            }
        }
        for tag in tags {
            self.tag_index_insert(tag, id);
        }
    }

    fn tag_index_insert(&mut self, tag: &str, id: MemoryId) {
        match self.by_tag.get_mut(tag) {
            Some(ids) => {
                ids.insert(id);
            }
            None => {
                self.by_tag.insert(tag.to_owned(), BTreeSet::from([id]));
            }
        }
    }

    pub(crate) fn set_pinned(&mut self, id: MemoryId, pinned: bool, now_ns: u64) {
        let Some(row) = self.rows.get_mut(&id) else { return };
        let memory = Arc::make_mut(row);
        memory.pinned = pinned;
        memory.updated_ns = now_ns;
        if pinned {
            self.pinned.insert(id);
        } else {
            self.pinned.remove(&id);
        }
    }

    pub(crate) fn delete(&mut self, id: MemoryId) {
        let Some(memory) = self.rows.remove(&id) else { return };
        self.ids.remove(&id);
        self.pinned.remove(&id);
        self.by_created.remove(&(memory.created_ns, id));
        for tag in &memory.tags {
            if let Some(ids) = self.by_tag.get_mut(tag) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_tag.remove(tag);
                }
            }
        }
    }

    /// Builds a state, indexes included, from rows in any order. Duplicate ids are refused.
    pub fn from_memories(memories: Vec<Memory>) -> Result<Self, String> {
        let mut rows = IdMap::with_capacity_and_hasher(memories.len(), Default::default());
        let mut tag_ids: HashMap<String, Vec<MemoryId>> = HashMap::new();
        let mut created = Vec::with_capacity(memories.len());
        let mut pinned = Vec::new();
        for memory in memories {
            let id = memory.id;
            for tag in &memory.tags {
                match tag_ids.get_mut(tag.as_str()) {
                    Some(ids) => ids.push(id),
                    None => {
                        tag_ids.insert(tag.clone(), vec![id]);
                    }
                }
            }
            created.push((memory.created_ns, id));
            if memory.pinned {
                pinned.push(id);
            }
            if rows.insert(id, Arc::new(memory)).is_some() {
                return Err(format!("memory id {id} appears twice"));
            }
        }
        Ok(MemoriesState {
            ids: rows.keys().copied().collect(),
            rows,
            by_tag: tag_ids.into_iter().map(|(t, ids)| (t, ids.into_iter().collect())).collect(),
            by_created: created.into_iter().collect(),
            pinned: pinned.into_iter().collect(),
        })
    }
}

impl TryFrom<Vec<Memory>> for MemoriesState {
    type Error = String;

    fn try_from(memories: Vec<Memory>) -> Result<Self, String> {
        MemoriesState::from_memories(memories)
    }
}

impl Serialize for MemoriesState {
    /// Serializes the memories alone, in id order; the indexes are rebuilt on restore.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for memory in self.iter() {
            seq.serialize_element(&**memory)?;
        }
        seq.end()
    }
}

impl SnapshotState for MemoriesState {
    const MODEL: &'static str = "cortex.memories";
    const MODEL_VERSION: u32 = 1;
}
