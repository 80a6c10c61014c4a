//! [`MemoriesState`]: the memories, and the secondary indexes the fold keeps beside them.
//!
//! Each memory lives once, as an `Arc<Memory>` in a slot of a slab (a result shares rows
//! instead of copying content and tags). Everything else refers to a row by its slot number:
//!
//! - `rows`: id to slot, a hash map, so `find_unique` is one lookup;
//! - `ids`: every row's slot in id order, for id-ordered results and cursors;
//! - `by_tag`: for each tag, the slots of the rows that carry it in id order, so a tag filter
//!   reads exactly its rows and a tag count is a length (a retag removes the old tags, read
//!   from the row, and adds the new ones, so the log needs no "old tags" field);
//! - `by_created`: slots by `(created_ns, id)`, for created-time ranges and orders;
//! - `pinned`: the pinned rows' slots in id order.
//!
//! A change to a row is one store into its slot, plus the tag and pin sets it joins or
//! leaves. The row is changed in place when no query result shares it, and copied first
//! otherwise (a result handed out earlier keeps the version it saw). The indexes are derived
//! data: snapshots store only the rows, column by column (the private `columns` module), and
//! rebuild the indexes in one pass on restore.

use std::sync::Arc;

use smol_str::SmolStr;

use crate::columns::{
    self, bit, bitmap_len, delta, padding_is_zero, put_varint, BitmapWriter, BodyError,
    KeyColumnsReader, Reader, StrColumnReader, StrColumnWriter,
};
use crate::error::Result;
use crate::id_hash::{IdMap, StrMap};
use crate::memories::types::{Memory, MemoryId};
use crate::slab::{self, Slab, Slot};
use crate::snapshot::SnapshotState;
use crate::sources::{CreatedIndex, CreatedIndexBuilder, IdIndex};

/// Every memory, with its secondary indexes. Read it through the adapter's `state()` lock; the
/// query methods are in [`crate::memories::query`].
#[derive(Debug, Default, Clone)]
pub struct MemoriesState {
    pub(crate) slab: Slab<Arc<Memory>>,
    pub(crate) rows: IdMap<Slot>,
    pub(crate) ids: IdIndex,
    pub(crate) by_tag: StrMap<String, IdIndex>,
    pub(crate) by_created: CreatedIndex,
    pub(crate) pinned: IdIndex,
}

impl PartialEq for MemoriesState {
    /// Two states are equal when they hold the same memories (indexes are derived).
    fn eq(&self, other: &Self) -> bool {
        self.rows.len() == other.rows.len()
            && self.slab.rows().all(|m| other.get(m.id).is_some_and(|o| o == m))
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
    #[inline]
    pub fn get(&self, id: MemoryId) -> Option<&Arc<Memory>> {
        self.rows.get(&id).and_then(|&slot| self.slab.get(slot))
    }

    /// Every memory in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Memory>> + '_ {
        self.ids.values().filter_map(|slot| self.slab.get(slot))
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
        let std::collections::hash_map::Entry::Vacant(entry) = self.rows.entry(id) else {
            return;
        };
        let memory = Memory {
            id,
            content: columns::smol(content),
            tags: tags.iter().map(|t| columns::smol(t)).collect(),
            source: columns::smol(source),
            created_ns: now_ns,
            updated_ns: now_ns,
            pinned: false,
        };
        let slot = self.slab.insert(Arc::new(memory), id);
        entry.insert(slot);
        for tag in tags {
            tag_index_insert(&mut self.by_tag, tag, id, slot);
        }
        self.ids.insert(id, slot);
        self.by_created.insert((now_ns, id), slot);
    }

    pub(crate) fn retag(&mut self, id: MemoryId, tags: &[&str], now_ns: u64) {
        let Some(&slot) = self.rows.get(&id) else { return };
        let Some(row) = self.slab.get_mut(slot) else { return };
        let memory = Arc::make_mut(row);
        let old =
            std::mem::replace(&mut memory.tags, tags.iter().map(|t| columns::smol(t)).collect());
        memory.updated_ns = now_ns;
        for tag in &old {
            if !tags.contains(&tag.as_str()) {
                tag_index_remove(&mut self.by_tag, tag, id);
            }
        }
        for tag in tags {
            if !old.iter().any(|t| t == tag) {
                tag_index_insert(&mut self.by_tag, tag, id, slot);
            }
        }
    }

    pub(crate) fn set_pinned(&mut self, id: MemoryId, pinned: bool, now_ns: u64) {
        let Some(&slot) = self.rows.get(&id) else { return };
        let Some(row) = self.slab.get_mut(slot) else { return };
        let memory = Arc::make_mut(row);
        memory.pinned = pinned;
        memory.updated_ns = now_ns;
        if pinned {
            self.pinned.insert(id, slot);
        } else {
            self.pinned.remove(&id);
        }
    }

    pub(crate) fn delete(&mut self, id: MemoryId) {
        let Some(slot) = self.rows.remove(&id) else { return };
        let Some(memory) = self.slab.remove(slot) else { return };
        self.ids.remove(&id);
        self.pinned.remove(&id);
        self.by_created.remove(&(memory.created_ns, id));
        for tag in &memory.tags {
            tag_index_remove(&mut self.by_tag, tag, id);
        }
    }

    /// Builds a state, indexes included, from rows in any order. Duplicate ids are refused.
    pub fn from_memories(memories: Vec<Memory>) -> Result<Self, String> {
        Self::from_rows(memories.into_iter().map(Arc::new).collect())
    }

    /// Builds a state from shared rows in any order.
    pub(crate) fn from_rows(mut rows_in: Vec<Arc<Memory>>) -> Result<Self, String> {
        // Sorted input lets every index be built in bulk.
        slab::sort_by_unique_key(&mut rows_in, |m| m.id)
            .map_err(|id| format!("memory id {id} appears twice"))?;
        // Number the tags in order of first use, then index each row under its numbers.
        let mut numbers: StrMap<&str, usize> = StrMap::default();
        let mut names: Vec<String> = Vec::new();
        let mut listed = Vec::new();
        let mut ends = Vec::with_capacity(rows_in.len());
        for memory in &rows_in {
            for tag in &memory.tags {
                let next = numbers.len();
                let number = *numbers.entry(tag.as_str()).or_insert_with(|| {
                    names.push(tag.to_string());
                    next
                });
                listed.push(number);
            }
            ends.push(listed.len());
        }
        drop(numbers);
        let mut builder = Builder::with_capacity(rows_in.len(), names.len());
        builder.tag_rows.resize_with(names.len(), Vec::new);
        let mut start = 0;
        for (memory, end) in rows_in.into_iter().zip(ends) {
            builder.push(memory, listed.get(start..end).unwrap_or_default());
            start = end;
        }
        Ok(builder.finish(names))
    }

    /// Appends the column-wise body of this state (rows in id order) to `out`. Tags and
    /// sources are stored once each in a dictionary of strings, and rows refer to them by
    /// number:
    ///
    /// | field          | encoding                                                       |
    /// |----------------|----------------------------------------------------------------|
    /// | `count`        | varint, number of memories                                     |
    /// | `dict_count`   | varint, number of distinct strings used as tags or sources     |
    /// | column sizes   | varints: bytes of `ids`, `created`, `updated`, `content_lens`, `contents`, `sources`, `tag_counts`, `tags`, `dict_lens`, `dict` |
    /// | `ids`          | varint per memory: the first id, then the gap to the previous (≥ 1) |
    /// | `pinned`       | bitmap, `ceil(count / 8)` bytes, bit set = pinned; padding zero |
    /// | `created`      | zigzag varint per memory: `created_ns` minus the previous one's (0 before the first) |
    /// | `updated`      | zigzag varint per memory: `updated_ns` minus its `created_ns`  |
    /// | `content_lens` | varint per memory: bytes of its content                        |
    /// | `contents`     | the contents back to back, UTF-8                               |
    /// | `sources`      | varint per memory: dictionary number of its source             |
    /// | `tag_counts`   | varint per memory: how many tags it lists                      |
    /// | `tags`         | varint per listed tag, in each memory's order: dictionary number |
    /// | `dict_lens`    | varint per dictionary string: its bytes                        |
    /// | `dict`         | the dictionary strings back to back, UTF-8                     |
    fn encode_columns(&self, out: Vec<u8>) -> Vec<u8> {
        match self.slab.rows_in_key_order() {
            Some(rows) => self.encode_rows(rows, out),
            None => self.encode_rows(self.iter(), out),
        }
    }

    /// [`MemoriesState::encode_columns`] of `rows`, every row in ascending id order.
    fn encode_rows<'a>(
        &'a self,
        rows: impl Iterator<Item = &'a Arc<Memory>>,
        mut out: Vec<u8>,
    ) -> Vec<u8> {
        let n = self.len();
        let mut ids = Vec::with_capacity(n * 2);
        let mut pinned = BitmapWriter::with_capacity(n);
        let mut created = Vec::with_capacity(n * 2);
        let mut updated = Vec::with_capacity(n * 2);
        let mut contents =
            StrColumnWriter { lens: Vec::with_capacity(n), blob: Vec::with_capacity(n * 32) };
        let mut sources = Vec::with_capacity(n);
        let mut tag_counts = Vec::with_capacity(n);
        let mut tags = Vec::with_capacity(n);
        let mut dict = Dictionary::default();
        // The key columns, as `KeyColumnsReader` reads them back (written here, in the loop:
        // see there why).
        let (mut prev_id, mut prev_created) = (0u64, 0u64);
        for m in rows {
            put_varint(&mut ids, m.id - prev_id);
            prev_id = m.id;
            pinned.push(m.pinned);
            put_varint(&mut created, delta(prev_created, m.created_ns));
            prev_created = m.created_ns;
            put_varint(&mut updated, delta(m.created_ns, m.updated_ns));
            contents.push(&m.content);
            put_varint(&mut sources, dict.number(&m.source));
            put_varint(&mut tag_counts, m.tags.len() as u64);
            for tag in &m.tags {
                put_varint(&mut tags, dict.number(tag));
            }
        }
        let dict_count = dict.numbers.len() as u64;
        let dict = dict.column;
        let sized: [&[u8]; 10] = [
            &ids,
            &created,
            &updated,
            &contents.lens,
            &contents.blob,
            &sources,
            &tag_counts,
            &tags,
            &dict.lens,
            &dict.blob,
        ];
        out.reserve(12 * 10 + pinned.bytes().len() + sized.iter().map(|c| c.len()).sum::<usize>());
        put_varint(&mut out, n as u64);
        put_varint(&mut out, dict_count);
        for column in sized {
            put_varint(&mut out, column.len() as u64);
        }
        let [ids, created, updated, content_lens, content_blob, rest @ ..] = sized;
        for column in [ids, pinned.bytes(), created, updated, content_lens, content_blob] {
            out.extend_from_slice(column);
        }
        for column in rest {
            out.extend_from_slice(column);
        }
        out
    }

    /// Decodes a body written by [`MemoriesState::encode_columns`], which must fill `body`
    /// exactly, building the rows and every index in one pass.
    fn decode_columns(body: &[u8]) -> Result<Self, BodyError> {
        let mut header = Reader::new(body, "memories snapshot header");
        let count = header.len()?;
        let dict_count = header.len()?;
        let mut sizes = [0usize; 10];
        for size in &mut sizes {
            *size = header.len()?;
        }
        let [ids_len, created_len, updated_len, lens_len, contents_len, sources_len, counts_len, tags_len, dict_lens_len, dict_len] =
            sizes;
        // Every memory takes at least a byte of each per-memory varint column, every
        // dictionary string a byte of `dict_lens`: counts beyond that are lies, and nothing is
        // allocated on their strength.
        let fits = ids_len.min(created_len).min(updated_len).min(lens_len);
        let fits = fits.min(sources_len).min(counts_len);
        if count > fits || Slot::try_from(count).is_err() || dict_count > dict_lens_len {
            return Err(BodyError::new(format!(
                "{count} memories and {dict_count} strings do not fit their columns"
            )));
        }
        let ids = Reader::new(header.take(ids_len)?, "memories ids");
        let pinned = header.take(bitmap_len(count))?;
        let created = Reader::new(header.take(created_len)?, "memories created_ns");
        let updated = Reader::new(header.take(updated_len)?, "memories updated_ns");
        let mut keys = KeyColumnsReader::new(ids, created, updated);
        let lens = header.take(lens_len)?;
        let mut contents =
            StrColumnReader::new(lens, header.take(contents_len)?, "memories contents")?;
        let mut sources = Reader::new(header.take(sources_len)?, "memories sources");
        let mut tag_counts = Reader::new(header.take(counts_len)?, "memories tag counts");
        let mut tags = Reader::new(header.take(tags_len)?, "memories tags");
        let dict_lens = header.take(dict_lens_len)?;
        let mut dict_col = StrColumnReader::new(dict_lens, header.take(dict_len)?, "dictionary")?;
        header.finish()?;
        if !padding_is_zero(pinned, count) {
            return Err(BodyError::new("memories pinned: padding bits set"));
        }
        // Rows share the dictionary's strings (inline up to 23 bytes, else one reference).
        let mut dict: Vec<SmolStr> = Vec::with_capacity(dict_count);
        for _ in 0..dict_count {
            dict.push(columns::smol(dict_col.next_str()?));
        }
        dict_col.finish()?;
        let mut builder = Builder::with_capacity(count, dict_count);
        builder.tag_rows.resize_with(dict_count, Vec::new);
        let mut row_tags = Vec::new();
        for i in 0..count {
            let (id, created_ns, updated_ns) = keys.next_keys()?;
            let content = columns::smol(contents.next_str()?);
            let (_, source) = lookup(&dict, &mut sources)?;
            let listed = tag_counts.len()?;
            // Each listed tag takes at least a byte of `tags`.
            if listed > tags.remaining() {
                return Err(BodyError::new(format!("memory {id} lists {listed} tags, too many")));
            }
            row_tags.clear();
            let mut row_tag_names = Vec::with_capacity(listed);
            for _ in 0..listed {
                let (number, tag) = lookup(&dict, &mut tags)?;
                row_tags.push(number);
                row_tag_names.push(tag.clone());
            }
            let memory = Memory {
                id,
                content,
                tags: row_tag_names,
                source: source.clone(),
                created_ns,
                updated_ns,
                pinned: bit(pinned, i),
            };
            builder.push(Arc::new(memory), &row_tags);
        }
        keys.finish()?;
        contents.finish()?;
        sources.finish()?;
        tag_counts.finish()?;
        tags.finish()?;
        let names = dict.iter().map(SmolStr::to_string).collect();
        Ok(builder.finish(names))
    }
}

/// The strings of a body's dictionary, numbered in order of first use.
#[derive(Default)]
struct Dictionary<'a> {
    numbers: StrMap<&'a str, u64>,
    column: StrColumnWriter,
    /// Recently numbered strings, by a cheap fingerprint: tags and sources repeat, and a hit
    /// here costs a short compare instead of a hash lookup.
    recent: [Option<(&'a str, u64)>; RECENT_SLOTS],
}

const RECENT_SLOTS: usize = 16;

impl<'a> Dictionary<'a> {
    /// The number of `s`, added to the dictionary if new.
    #[inline]
    fn number(&mut self, s: &'a str) -> u64 {
        let bytes = s.as_bytes();
        let fingerprint = bytes.len()
            ^ bytes.first().map_or(0, |&b| usize::from(b) << 1)
            ^ bytes.last().map_or(0, |&b| usize::from(b) << 3);
        let recent = fingerprint % RECENT_SLOTS;
        if let Some(Some((seen, number))) = self.recent.get(recent) {
            if *seen == s {
                return *number;
            }
        }
        let next = self.numbers.len() as u64;
        let number = *self.numbers.entry(s).or_insert(next);
        if number == next {
            self.column.push(s);
        }
        if let Some(slot) = self.recent.get_mut(recent) {
            *slot = Some((s, number));
        }
        number
    }
}

/// The dictionary number read from `reader` and its string.
#[inline]
fn lookup<'a>(
    dict: &'a [SmolStr],
    reader: &mut Reader<'_>,
) -> Result<(usize, &'a SmolStr), BodyError> {
    let number = reader.len()?;
    match dict.get(number) {
        Some(s) => Ok((number, s)),
        None => {
            Err(BodyError::new(format!("dictionary number {number} out of {} strings", dict.len())))
        }
    }
}

/// Puts the row `id` (in `slot`) in the index of `tag`.
fn tag_index_insert(by_tag: &mut StrMap<String, IdIndex>, tag: &str, id: MemoryId, slot: Slot) {
    match by_tag.get_mut(tag) {
        Some(rows) => {
            rows.insert(id, slot);
        }
        None => {
            by_tag.insert(tag.to_owned(), IdIndex::from_sorted(vec![(id, slot)]));
        }
    }
}

fn tag_index_remove(by_tag: &mut StrMap<String, IdIndex>, tag: &str, id: MemoryId) {
    if let Some(rows) = by_tag.get_mut(tag) {
        rows.remove(&id);
        if rows.is_empty() {
            by_tag.remove(tag);
        }
    }
}

/// Builds a state from rows given in strictly ascending id order, collecting each index's
/// entries in key order so that each is built in bulk at the end. Tags are numbered by the
/// caller; `tag_rows[number]` collects the rows of tag `number`.
struct Builder {
    rows: Vec<Arc<Memory>>,
    ids_map: IdMap<Slot>,
    ids: Vec<(MemoryId, Slot)>,
    tag_rows: Vec<Vec<(MemoryId, Slot)>>,
    created: CreatedIndexBuilder,
    pinned: Vec<(MemoryId, Slot)>,
}

impl Builder {
    fn with_capacity(n: usize, tags: usize) -> Self {
        Builder {
            rows: Vec::with_capacity(n),
            ids_map: IdMap::with_capacity_and_hasher(n, Default::default()),
            ids: Vec::with_capacity(n),
            tag_rows: Vec::with_capacity(tags),
            created: CreatedIndexBuilder::with_capacity(n),
            pinned: Vec::new(),
        }
    }

    /// Adds the next row (its id above every id before it), carrying the tags numbered
    /// `tags` (each below `tag_rows.len()`).
    #[inline]
    fn push(&mut self, memory: Arc<Memory>, tags: &[usize]) {
        // The caller checked that the count fits a slot.
        let slot = self.rows.len() as Slot;
        let id = memory.id;
        for &number in tags {
            if let Some(list) = self.tag_rows.get_mut(number) {
                // A row listing a tag twice is indexed once.
                if list.last().is_none_or(|(last, _)| *last != id) {
                    list.push((id, slot));
                }
            }
        }
        self.created.push(memory.created_ns, id, slot);
        if memory.pinned {
            self.pinned.push((id, slot));
        }
        self.ids_map.insert(id, slot);
        self.ids.push((id, slot));
        self.rows.push(memory);
    }

    /// The state, with `names[number]` the tag of `tag_rows[number]` (unused numbers, such as
    /// dictionary strings that are only sources, get no index).
    fn finish(self, names: Vec<String>) -> MemoriesState {
        let mut by_tag = StrMap::default();
        for (name, list) in names.into_iter().zip(self.tag_rows) {
            if !list.is_empty() {
                by_tag.insert(name, IdIndex::from_sorted(list));
            }
        }
        let last_id = self.rows.last().map(|m| m.id);
        MemoriesState {
            slab: Slab::from_rows(self.rows, last_id),
            rows: self.ids_map,
            ids: IdIndex::from_sorted(self.ids),
            by_tag,
            by_created: self.created.finish(),
            pinned: IdIndex::from_sorted(self.pinned),
        }
    }
}

impl TryFrom<Vec<Memory>> for MemoriesState {
    type Error = String;

    fn try_from(memories: Vec<Memory>) -> Result<Self, String> {
        MemoriesState::from_memories(memories)
    }
}

// Serialized as one byte string holding the column-wise body.
columns::serde_as_body!(MemoriesState, "memories");

impl SnapshotState for MemoriesState {
    const MODEL: &'static str = "cortex.memories";
    /// 2: column-wise body with a string dictionary (1 was postcard of the row sequence).
    const MODEL_VERSION: u32 = 2;

    fn encode_body(&self, out: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.encode_columns(out))
    }

    fn decode_body(body: &[u8]) -> Result<Self> {
        MemoriesState::decode_columns(body).map_err(BodyError::into_cortex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// States built by the fold (ids out of order, deletes, reused slots) encode to exactly
    /// the bytes of the same rows built in bulk, whichever walk the encoder takes.
    #[test]
    fn folded_and_bulk_states_encode_alike() {
        let mut state = MemoriesState::new();
        for (i, id) in [4u64, 2, 8, 6].into_iter().enumerate() {
            state.store(id, "c", &["a", "b"], "s", i as u64);
        }
        state.retag(2, &["z", "a", "z"], 9);
        state.set_pinned(8, true, 10);
        state.delete(4);
        state.store(1, "one", &[], "t", 11);
        assert!(state.slab.rows_in_key_order().is_none());
        let bulk = MemoriesState::from_memories(state.iter().map(|m| Memory::clone(m)).collect())
            .expect("unique ids");
        assert!(bulk.slab.rows_in_key_order().is_some());
        assert_eq!(bulk, state);
        assert_eq!(state.encode_columns(Vec::new()), bulk.encode_columns(Vec::new()));
    }
}
