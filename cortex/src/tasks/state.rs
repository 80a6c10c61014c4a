//! [`TasksState`]: the tasks, and the secondary indexes the fold keeps beside them.
//!
//! Each task lives once, by value, in a slot of a slab (a row is small: an owned query result
//! copies it, its title inline up to 23 bytes). Everything else refers to a row by its slot
//! number:
//!
//! - `rows`: id to slot, a hash map, so `find_unique` is one lookup;
//! - `by_status`: for each status, its rows' slots in id order, so a status filter reads
//!   exactly its rows and a status count is a length. The two sets together hold every row, so
//!   they double as the id-ordered index of all rows (walked as a merge);
//! - `by_created`: slots by `(created_ns, id)`, for created-time ranges and orders.
//!
//! A change to a row is one store into its slot: the indexes do not move unless a key does (a
//! status change moves the id between the status sets), and the row is changed in place (a
//! result handed out earlier holds its own copy). The indexes are derived data: snapshots
//! store only the rows, column by column (the private `columns` module), and rebuild the
//! indexes in one pass on restore.

use crate::columns::{
    self, bit, bitmap_len, delta, padding_is_zero, put_varint, BitmapWriter, BodyError,
    KeyColumnsReader, Reader, StrColumnReader, StrColumnWriter,
};
use crate::error::Result;
use crate::id_hash::IdMap;
use crate::slab::{self, Slab, Slot};
use crate::snapshot::SnapshotState;
use crate::sources::{self, CreatedIndex, CreatedIndexBuilder, IdIndex};
use crate::tasks::types::{Task, TaskId, TaskStatus};
use crate::OrderBy;

/// Every task, with its secondary indexes. Read it through the adapter's `state()` lock; the
/// query methods are in [`crate::tasks::query`].
#[derive(Debug, Default, Clone)]
pub struct TasksState {
    pub(crate) slab: Slab<Task>,
    pub(crate) rows: IdMap<Slot>,
    pub(crate) by_status: [IdIndex; 2],
    pub(crate) by_created: CreatedIndex,
}

impl PartialEq for TasksState {
    /// Two states are equal when they hold the same tasks (indexes are derived).
    fn eq(&self, other: &Self) -> bool {
        self.rows.len() == other.rows.len()
            && self.slab.rows().all(|t| other.get(t.id).is_some_and(|o| o == t))
    }
}

impl Eq for TasksState {}

impl TasksState {
    /// An empty state.
    pub fn new() -> Self {
        TasksState::default()
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The task `id`.
    #[inline]
    pub fn get(&self, id: TaskId) -> Option<&Task> {
        self.rows.get(&id).and_then(|&slot| self.slab.get(slot))
    }

    /// Every task in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = &Task> + '_ {
        let [pending, completed] = &self.by_status;
        sources::union_slots(pending, completed).filter_map(|slot| self.slab.get(slot))
    }

    /// Every row in id order (the union of the status sets), seeked to `after`.
    pub(crate) fn all_by_id(
        &self,
        order: OrderBy,
        after: Option<crate::Cursor>,
    ) -> sources::Source<'_, '_, Task> {
        let [pending, completed] = &self.by_status;
        sources::id_union([pending, completed], &self.slab, order, after)
    }

    /// Inserts a new pending task; an existing id is left as it is.
    pub(crate) fn create(&mut self, id: TaskId, title: &str, now_ns: u64) {
        let std::collections::hash_map::Entry::Vacant(entry) = self.rows.entry(id) else {
            return;
        };
        let task = Task {
            id,
            title: columns::smol(title),
            status: TaskStatus::Pending,
            created_ns: now_ns,
            updated_ns: now_ns,
        };
        let slot = self.slab.insert(task, id);
        entry.insert(slot);
        self.by_status[TaskStatus::Pending.index()].insert(id, slot);
        self.by_created.insert((now_ns, id), slot);
    }

    pub(crate) fn rename(&mut self, id: TaskId, title: &str, now_ns: u64) {
        self.update(id, |task| {
            task.title = columns::smol(title);
            task.updated_ns = now_ns;
        });
    }

    pub(crate) fn set_status(&mut self, id: TaskId, status: TaskStatus, now_ns: u64) {
        self.update(id, |task| {
            task.status = status;
            task.updated_ns = now_ns;
        });
    }

    /// Applies `change` to the row `id` (if it exists), in place. A status change moves the id
    /// between the status sets; the id and the creation time never change, so nothing else
    /// moves.
    fn update(&mut self, id: TaskId, change: impl FnOnce(&mut Task)) {
        let Some(&slot) = self.rows.get(&id) else { return };
        let Some(task) = self.slab.get_mut(slot) else { return };
        let old_status = task.status;
        change(task);
        let new_status = task.status;
        if new_status != old_status {
            self.by_status[old_status.index()].remove(&id);
            self.by_status[new_status.index()].insert(id, slot);
        }
    }

    pub(crate) fn delete(&mut self, id: TaskId) {
        let Some(slot) = self.rows.remove(&id) else { return };
        if let Some(task) = self.slab.remove(slot) {
            self.by_status[task.status.index()].remove(&id);
            self.by_created.remove(&(task.created_ns, id));
        }
    }

    /// Builds a state, indexes included, from rows in any order. Duplicate ids are refused.
    pub fn from_tasks(mut rows_in: Vec<Task>) -> Result<Self, String> {
        // Sorted input lets every index be built in bulk (a `BlockMap` cuts sorted entries
        // into blocks, without searching).
        slab::sort_by_unique_key(&mut rows_in, |t| t.id)
            .map_err(|id| format!("task id {id} appears twice"))?;
        let mut builder = Builder::with_capacity(rows_in.len());
        for task in rows_in {
            builder.push(task);
        }
        Ok(builder.finish())
    }

    /// Appends the column-wise body of this state (rows in id order) to `out`:
    ///
    /// | field         | encoding                                                        |
    /// |---------------|-----------------------------------------------------------------|
    /// | `count`       | varint, number of tasks                                         |
    /// | column sizes  | varints: bytes of `ids`, `created`, `updated`, `title_lens`, `titles` |
    /// | `ids`         | varint per task: the first id, then the gap to the previous (≥ 1) |
    /// | `status`      | bitmap, `ceil(count / 8)` bytes, bit set = completed; padding zero |
    /// | `created`     | zigzag varint per task: `created_ns` minus the previous task's (0 before the first) |
    /// | `updated`     | zigzag varint per task: `updated_ns` minus its `created_ns`     |
    /// | `title_lens`  | varint per task: bytes of its title                             |
    /// | `titles`      | the titles back to back, UTF-8                                  |
    fn encode_columns(&self, out: Vec<u8>) -> Vec<u8> {
        match self.slab.rows_in_key_order() {
            Some(rows) => self.encode_rows(rows, out),
            None => self.encode_rows(self.iter(), out),
        }
    }

    /// [`TasksState::encode_columns`] of `rows`, every row in ascending id order.
    fn encode_rows<'a>(&self, rows: impl Iterator<Item = &'a Task>, mut out: Vec<u8>) -> Vec<u8> {
        let n = self.len();
        let mut ids = Vec::with_capacity(n * 2);
        let mut status = BitmapWriter::with_capacity(n);
        let mut created = Vec::with_capacity(n * 2);
        let mut updated = Vec::with_capacity(n * 2);
        let mut titles =
            StrColumnWriter { lens: Vec::with_capacity(n), blob: Vec::with_capacity(n * 16) };
        // The key columns, as `KeyColumnsReader` reads them back (written here, in the loop:
        // see there why).
        let (mut prev_id, mut prev_created) = (0u64, 0u64);
        for task in rows {
            put_varint(&mut ids, task.id - prev_id);
            prev_id = task.id;
            status.push(task.status == TaskStatus::Completed);
            put_varint(&mut created, delta(prev_created, task.created_ns));
            prev_created = task.created_ns;
            put_varint(&mut updated, delta(task.created_ns, task.updated_ns));
            titles.push(&task.title);
        }
        let columns: [&[u8]; 6] =
            [&ids, status.bytes(), &created, &updated, &titles.lens, &titles.blob];
        out.reserve(6 * 10 + columns.iter().map(|c| c.len()).sum::<usize>());
        put_varint(&mut out, n as u64);
        for column in [&ids, &created, &updated, &titles.lens, &titles.blob] {
            put_varint(&mut out, column.len() as u64);
        }
        for column in columns {
            out.extend_from_slice(column);
        }
        out
    }

    /// Decodes a body written by [`TasksState::encode_columns`], which must fill `body`
    /// exactly, building the rows and every index in one pass.
    fn decode_columns(body: &[u8]) -> Result<Self, BodyError> {
        let mut header = Reader::new(body, "tasks snapshot header");
        let count = header.len()?;
        let mut sizes = [0usize; 5];
        for size in &mut sizes {
            *size = header.len()?;
        }
        let [ids_len, created_len, updated_len, lens_len, titles_len] = sizes;
        // Every task takes at least one byte of each varint column: a count beyond the
        // smallest is a lie, and nothing is allocated on its strength.
        let fits = ids_len.min(created_len).min(updated_len).min(lens_len);
        if count > fits || Slot::try_from(count).is_err() {
            return Err(BodyError::new(format!(
                "{count} tasks cannot fit in varint columns of {fits} bytes"
            )));
        }
        let ids = Reader::new(header.take(ids_len)?, "tasks ids");
        let status = header.take(bitmap_len(count))?;
        let created = Reader::new(header.take(created_len)?, "tasks created_ns");
        let updated = Reader::new(header.take(updated_len)?, "tasks updated_ns");
        let mut keys = KeyColumnsReader::new(ids, created, updated);
        let lens = header.take(lens_len)?;
        let mut titles = StrColumnReader::new(lens, header.take(titles_len)?, "tasks titles")?;
        header.finish()?;
        if !padding_is_zero(status, count) {
            return Err(BodyError::new("tasks status: padding bits set"));
        }

        let mut builder = Builder::with_capacity(count);
        for i in 0..count {
            let (id, created_ns, updated_ns) = keys.next_keys()?;
            let status = if bit(status, i) { TaskStatus::Completed } else { TaskStatus::Pending };
            let title = columns::smol(titles.next_str()?);
            builder.push(Task { id, title, status, created_ns, updated_ns });
        }
        keys.finish()?;
        titles.finish()?;
        Ok(builder.finish())
    }
}

/// Builds a state from rows given in strictly ascending id order, collecting each index's
/// entries in key order so that each is built in bulk at the end.
struct Builder {
    rows: Vec<Task>,
    ids: IdMap<Slot>,
    by_status: [Vec<(TaskId, Slot)>; 2],
    created: CreatedIndexBuilder,
}

impl Builder {
    fn with_capacity(n: usize) -> Self {
        Builder {
            rows: Vec::with_capacity(n),
            ids: IdMap::with_capacity_and_hasher(n, Default::default()),
            by_status: [Vec::with_capacity(n), Vec::new()],
            created: CreatedIndexBuilder::with_capacity(n),
        }
    }

    /// Adds the next row (its id above every id before it).
    #[inline]
    fn push(&mut self, task: Task) {
        // The caller checked that the count fits a slot.
        let slot = self.rows.len() as Slot;
        let id = task.id;
        self.by_status[task.status.index()].push((id, slot));
        self.created.push(task.created_ns, id, slot);
        self.rows.push(task);
    }

    fn finish(self) -> TasksState {
        // The id map is filled in one tight loop at the end, where the inserts (independent
        // of each other) overlap their cache misses instead of waiting between allocations.
        let mut ids = self.ids;
        let [pending, completed] = self.by_status;
        ids.extend(pending.iter().chain(&completed).copied());
        let last_id = self.rows.last().map(|t| t.id);
        TasksState {
            slab: Slab::from_rows(self.rows, last_id),
            rows: ids,
            by_status: [IdIndex::from_sorted(pending), IdIndex::from_sorted(completed)],
            by_created: self.created.finish(),
        }
    }
}

impl TryFrom<Vec<Task>> for TasksState {
    type Error = String;

    fn try_from(tasks: Vec<Task>) -> Result<Self, String> {
        TasksState::from_tasks(tasks)
    }
}

// Serialized as one byte string holding the column-wise body.
columns::serde_as_body!(TasksState, "tasks");

impl SnapshotState for TasksState {
    const MODEL: &'static str = "cortex.tasks";
    /// 2: column-wise body (1 was postcard of the row sequence).
    const MODEL_VERSION: u32 = 2;

    fn encode_body(&self, out: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.encode_columns(out))
    }

    fn decode_body(body: &[u8]) -> Result<Self> {
        TasksState::decode_columns(body).map_err(BodyError::into_cortex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// States built by the fold (ids created out of order, deleted, slots reused) encode to
    /// exactly the bytes of the same rows built in bulk, whichever walk the encoder takes.
    #[test]
    fn folded_and_bulk_states_encode_alike() {
        let mut state = TasksState::new();
        for (i, id) in [5u64, 1, 9, 3, 7, 2].into_iter().enumerate() {
            state.create(id, &format!("t{id}"), i as u64);
        }
        assert!(state.slab.rows_in_key_order().is_none());
        state.set_status(3, TaskStatus::Completed, 10);
        state.delete(9);
        state.create(11, "eleven", 11);
        state.rename(1, "one", 12);
        let bulk = TasksState::from_tasks(state.iter().cloned().collect()).expect("unique ids");
        assert!(bulk.slab.rows_in_key_order().is_some());
        assert_eq!(bulk, state);
        assert_eq!(state.encode_columns(Vec::new()), bulk.encode_columns(Vec::new()));

        let mut ordered = TasksState::new();
        for id in 1..=4 {
            ordered.create(id, "x", id);
        }
        ordered.delete(2);
        assert!(ordered.slab.rows_in_key_order().is_some());
        let bulk = TasksState::from_tasks(ordered.iter().cloned().collect()).expect("unique ids");
        assert_eq!(ordered.encode_columns(Vec::new()), bulk.encode_columns(Vec::new()));
    }
}
