//! [`MemoriesState`]: the memories, and the secondary indexes the fold keeps beside them.
//!
//! Rows live in a hash map keyed by id, as `Arc<Memory>` (a result shares rows instead of
//! copying content and tags). Beside them the fold maintains indexes that hold the same `Arc`s
//! (not ids), so a query walks an index and clones what it finds, with no lookup per row:
//!
//! - `ids`: every row in id order, for id-ordered results and cursors;
//! - `by_tag`: for each tag, the rows that carry it in id order, so a tag filter reads exactly
//!   its rows and a tag count is a length (a retag removes the old tags, read from the row, and
//!   adds the new ones, so the log needs no "old tags" field);
//! - `by_created`: rows by `(created_ns, id)`, for created-time ranges and orders;
//! - `pinned`: the pinned rows in id order.
//!
//! A change to a row builds a new `Arc` and puts it in every place that held the old one (a
//! result handed out earlier keeps the old version). The indexes are derived data: snapshots
//! store only the rows and rebuild them on restore.

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::id_hash::IdMap;
use crate::memories::types::{Memory, MemoryId};
use crate::snapshot::SnapshotState;
use crate::sources::{RowsByCreated, RowsById};

/// Every memory, with its secondary indexes. Read it through the adapter's `state()` lock; the
/// query methods are in [`crate::memories::query`].
#[derive(Debug, Default, Clone)]
pub struct MemoriesState {
    pub(crate) rows: IdMap<Arc<Memory>>,
    pub(crate) ids: RowsById<Memory>,
    pub(crate) by_tag: HashMap<String, RowsById<Memory>>,
    pub(crate) by_created: RowsByCreated<Memory>,
    pub(crate) pinned: RowsById<Memory>,
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
        self.ids.values()
    }

    /// Distinct tags in use, with how many memories carry each.
    pub fn tag_counts(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.by_tag.iter().map(|(t, rows)| (t.as_str(), rows.len()))
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
        let memory = Arc::new(memory);
        for tag in tags {
            self.tag_index_insert(tag, &memory);
        }
        self.rows.insert(id, Arc::clone(&memory));
        self.ids.insert(id, Arc::clone(&memory));
        self.by_created.insert((now_ns, id), memory);
    }

    pub(crate) fn retag(&mut self, id: MemoryId, tags: &[&str], now_ns: u64) {
        self.update(id, |memory| {
            memory.tags = tags.iter().map(|t| (*t).to_owned()).collect();
            memory.updated_ns = now_ns;
        });
    }

    /// Puts `memory` in the index of `tag` (replacing an older version of the row).
    fn tag_index_insert(&mut self, tag: &str, memory: &Arc<Memory>) {
        match self.by_tag.get_mut(tag) {
            Some(rows) => {
                rows.insert(memory.id, Arc::clone(memory));
            }
            None => {
                let rows = RowsById::from([(memory.id, Arc::clone(memory))]);
                self.by_tag.insert(tag.to_owned(), rows);
            }
        }
    }

    fn tag_index_remove(&mut self, tag: &str, id: MemoryId) {
        if let Some(rows) = self.by_tag.get_mut(tag) {
            rows.remove(&id);
            if rows.is_empty() {
                self.by_tag.remove(tag);
            }
        }
    }

    pub(crate) fn set_pinned(&mut self, id: MemoryId, pinned: bool, now_ns: u64) {
        self.update(id, |memory| {
            memory.pinned = pinned;
            memory.updated_ns = now_ns;
        });
    }

    /// Applies `change` to a copy of the row `id` (if it exists) and puts the new row in the
    /// map and in every index: tags it lost are left, tags it gained are joined, the pinned set
    /// follows its pin. The id and the creation time never change.
    fn update(&mut self, id: MemoryId, change: impl FnOnce(&mut Memory)) {
        let Some(row) = self.rows.get_mut(&id) else { return };
        let old = Arc::clone(row);
        let mut memory = Memory::clone(&old);
        change(&mut memory);
        let memory = Arc::new(memory);
        *row = Arc::clone(&memory);
        if let Some(slot) = self.ids.get_mut(&id) {
            *slot = Arc::clone(&memory);
        }
        if let Some(slot) = self.by_created.get_mut(&(memory.created_ns, id)) {
            *slot = Arc::clone(&memory);
        }
        for tag in &old.tags {
            if !memory.has_tag(tag) {
                self.tag_index_remove(tag, id);
            }
        }
        for tag in &memory.tags {
            self.tag_index_insert(tag, &memory);
        }
        if memory.pinned {
            self.pinned.insert(id, memory);
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
            self.tag_index_remove(tag, id);
        }
    }

    /// Builds a state, indexes included, from rows in any order. Duplicate ids are refused.
    pub fn from_memories(memories: Vec<Memory>) -> Result<Self, String> {
        Self::from_rows(memories.into_iter().map(Arc::new).collect())
    }

    /// Builds a state from shared rows in any order (what snapshot decoding produces).
    pub(crate) fn from_rows(mut rows_in: Vec<Arc<Memory>>) -> Result<Self, String> {
        // Sorted input (snapshots are in id order) lets every index be built in bulk.
        if !rows_in.is_sorted_by_key(|m| m.id) {
            rows_in.sort_unstable_by_key(|m| m.id);
        }
        if let Some(w) = rows_in.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(format!("memory id {} appears twice", w[0].id));
        }
        let mut rows = IdMap::with_capacity_and_hasher(rows_in.len(), Default::default());
        let mut tag_rows: HashMap<&str, Vec<(MemoryId, Arc<Memory>)>> = HashMap::new();
        let mut created = Vec::with_capacity(rows_in.len());
        let mut pinned = Vec::new();
        let mut ids = Vec::with_capacity(rows_in.len());
        for memory in &rows_in {
            let id = memory.id;
            for tag in &memory.tags {
                let list = tag_rows.entry(tag.as_str()).or_default();
                // A row listing a tag twice is indexed once.
                if list.last().is_none_or(|(last, _)| *last != id) {
                    list.push((id, Arc::clone(memory)));
                }
            }
            created.push(((memory.created_ns, id), Arc::clone(memory)));
            if memory.pinned {
                pinned.push((id, Arc::clone(memory)));
            }
            rows.insert(id, Arc::clone(memory));
        }
        created.sort_unstable_by_key(|(key, _)| *key);
        let by_tag = tag_rows
            .into_iter()
            .map(|(tag, list)| (tag.to_owned(), RowsById::from_iter(list)))
            .collect();
        for memory in rows_in {
            ids.push((memory.id, memory));
        }
        Ok(MemoriesState {
            rows,
            ids: RowsById::from_iter(ids),
            by_tag,
            by_created: RowsByCreated::from_iter(created),
            pinned: RowsById::from_iter(pinned),
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

impl<'de> Deserialize<'de> for MemoriesState {
    /// Reads the rows (as [`Serialize`] wrote them) straight into shared rows and builds the
    /// indexes in bulk.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowsVisitor;
        impl<'de> Visitor<'de> for RowsVisitor {
            type Value = Vec<Arc<Memory>>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of memories")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // Trust a length prefix only up to 1 MiB of row handles, like serde does.
                let cap = seq.size_hint().unwrap_or(0).min(PREALLOC_ROWS_MAX);
                let mut rows = Vec::with_capacity(cap);
                while let Some(row) = seq.next_element::<Memory>()? {
                    rows.push(Arc::new(row));
                }
                Ok(rows)
            }
        }
        let rows = deserializer.deserialize_seq(RowsVisitor)?;
        MemoriesState::from_rows(rows).map_err(serde::de::Error::custom)
    }
}

/// Most row handles preallocated on the strength of a snapshot's length prefix.
const PREALLOC_ROWS_MAX: usize = (1 << 20) / std::mem::size_of::<Arc<Memory>>();

impl SnapshotState for MemoriesState {
    const MODEL: &'static str = "cortex.memories";
    const MODEL_VERSION: u32 = 1;
}
