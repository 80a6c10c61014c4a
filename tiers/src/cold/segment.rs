//! Archiving a frozen segment as one object, and reading archived segments back: the header
//! and index by one ranged fetch, then only the log blocks a read needs, all through a
//! [`ColdCache`] and checked before anything is returned.

use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::cache::{ColdCache, Part};
use super::object::{ObjectHeader, Section};
use super::{ColdKey, ColdStore};
use crate::error::{Result, TierError};
use crate::frozen::{FrozenSegment, LogWindow, SegmentIndex};
use crate::manifest::SegmentMeta;

/// Log bytes are fetched and cached in aligned blocks of this size.
pub const LOG_BLOCK_BYTES: u64 = 1 << 20;
/// Blocks a range read fetches beyond what it needs when it has to fetch anyway: sequential
/// scans (tail backfill, replays) then make one request per few megabytes.
pub const READAHEAD_BLOCKS: u64 = 3;

/// An archived segment as the engine's manifest describes it: enough to fetch its header and
/// index in one ranged read and to check that the object is the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdSegmentRef {
    /// Where it lives.
    pub key: ColdKey,
    /// What the manifest recorded when it was frozen.
    pub meta: SegmentMeta,
    /// Bytes of its index section.
    pub index_len: u64,
}

/// Archives `seg` of `channel` into `store` and reads the object back to check it (whole, or
/// only its header and last byte for stores that say a read-back verifies nothing; see
/// [`ColdStore::verify_by_read_back`]), returning the length of its index section. The object's
/// index and log are the segment's mappings (no copy); only the header is new. The read-back
/// includes a ranged read of exactly what a cold read fetches first (header and index): a store
/// that does not serve ranged reads as asked (a server or proxy that ignores `Range` and sends
/// the whole object) fails archival, and the segment stays warm, instead of being archived and
/// then unreadable.
pub async fn archive(store: &dyn ColdStore, channel: &str, seg: &FrozenSegment) -> Result<u64> {
    let key = ColdKey::new(channel, seg.base_seq());
    let index = seg.index().bytes().clone();
    let log = seg.log_bytes().clone();
    let header = ObjectHeader::for_segment(channel, seg.footer(), &index, &log);
    let name = PathBuf::from(store.describe(&key));
    store
        .archive_segment(&key, header.parts(index, log.clone()))
        .await
        .map_err(|e| TierError::io("archive", &name, e))?;
    let head_and_index = 0..header.index_range().end;
    if store.verify_by_read_back() {
        // Verify what the store now holds, not what we sent: size, header and both checksums.
        let stored = store
            .fetch_segment(&key, None)
            .await
            .map_err(|e| TierError::io("read back", &name, e))?;
        let read_back = ObjectHeader::verify_object(&name, &stored)?;
        if read_back != header {
            return Err(TierError::corrupt(
                &name,
                0,
                "read-back header differs from the one written",
            ));
        }
        let ranged = read_back_range(store, &key, &name, head_and_index.clone()).await?;
        if ranged[..] != stored[..head_and_index.end as usize] {
            return Err(TierError::corrupt(
                &name,
                0,
                "a ranged read-back of the header and index differs from the whole object",
            ));
        }
    } else {
        // The header, and the last byte (which also proves the length).
        let head = read_back_range(store, &key, &name, 0..header.header_len()).await?;
        let end = header.object_len();
        let last = read_back_range(store, &key, &name, end - 1..end).await?;
        if ObjectHeader::decode(&name, &head)? != header || last.last() != log.last() {
            return Err(TierError::corrupt(&name, 0, "stored object differs from the one written"));
        }
    }
    Ok(header.index_len)
}

/// A ranged read-back of `range` of `key`, which must return exactly that many bytes.
async fn read_back_range(
    store: &dyn ColdStore,
    key: &ColdKey,
    name: &std::path::Path,
    range: Range<u64>,
) -> Result<Bytes> {
    let bytes = store
        .fetch_segment(key, Some(range.clone()))
        .await
        .map_err(|e| TierError::io("read back", name, e))?;
    let want = range.end - range.start;
    if bytes.len() as u64 != want {
        let why = format!(
            "a ranged read of {range:?} returned {} bytes instead of {want}: cold reads need a \
             store that serves ranged reads",
            bytes.len()
        );
        return Err(TierError::io(
            "read back",
            name,
            io::Error::new(io::ErrorKind::InvalidData, why),
        ));
    }
    Ok(bytes)
}

/// Reads archived segments of one store through one cache.
#[derive(Debug)]
pub struct ColdReader {
    store: Arc<dyn ColdStore>,
    cache: Arc<ColdCache>,
    fetches: AtomicU64,
    fetched_bytes: AtomicU64,
}

/// Counters of a [`ColdReader`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Ranged fetches sent to the store.
    pub fetches: u64,
    /// Bytes they returned.
    pub fetched_bytes: u64,
}

/// A segment's decoded header and index, fetched (or found in the cache) and checked.
#[derive(Debug)]
pub struct OpenedCold {
    header: ObjectHeader,
    index: SegmentIndex,
    log_name: PathBuf,
}

impl OpenedCold {
    /// The decoded index.
    pub fn index(&self) -> &SegmentIndex {
        &self.index
    }
}

impl ColdReader {
    /// A reader of `store` caching through `cache`.
    pub fn new(store: Arc<dyn ColdStore>, cache: Arc<ColdCache>) -> Self {
        ColdReader { store, cache, fetches: AtomicU64::new(0), fetched_bytes: AtomicU64::new(0) }
    }

    /// The store read from.
    pub fn store(&self) -> &Arc<dyn ColdStore> {
        &self.store
    }

    /// The cache read through.
    pub fn cache(&self) -> &ColdCache {
        &self.cache
    }

    /// Its fetch counters.
    pub fn stats(&self) -> FetchStats {
        FetchStats {
            fetches: self.fetches.load(Ordering::Relaxed),
            fetched_bytes: self.fetched_bytes.load(Ordering::Relaxed),
        }
    }

    async fn fetch(&self, key: &ColdKey, range: Range<u64>) -> Result<Bytes> {
        let want = range.end - range.start;
        let bytes = self.store.fetch_segment(key, Some(range.clone())).await.map_err(|e| {
            let name = PathBuf::from(self.store.describe(key));
            if e.kind() == io::ErrorKind::InvalidInput {
                // The store says the range lies outside the object (`ColdStore::fetch_segment`):
                // the object is shorter than its manifest record says, which is damage, not an
                // outage that a retry could get past.
                return TierError::corrupt(
                    name,
                    range.start,
                    format!("object shorter than its manifest record says: {e}"),
                );
            }
            TierError::io("fetch", name, e)
        })?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.fetched_bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.len() as u64 != want {
            return Err(TierError::corrupt(
                self.store.describe(key),
                range.start,
                format!("store returned {} bytes for a {want}-byte range", bytes.len()),
            ));
        }
        Ok(bytes)
    }

    /// Fetches (or finds in the cache) and checks `seg`'s header and index: the header's
    /// checksum and its agreement with the manifest, the index section's checksum, and the
    /// index's own header and footer.
    pub async fn open(&self, seg: &ColdSegmentRef) -> Result<OpenedCold> {
        let name = PathBuf::from(self.store.describe(&seg.key));
        let head_len = super::object::header_len(seg.key.channel().len()) as u64;
        // Cached bytes were checked when they were fetched; only their header is decoded again.
        let (bytes, header) = match self.cache.get(&seg.key, Part::Index) {
            Some(bytes) => {
                let header = ObjectHeader::decode(&name, &bytes)?;
                (bytes, header)
            }
            None => {
                let bytes = self.fetch(&seg.key, 0..head_len + seg.index_len).await?;
                let header = check_head(&name, &bytes, seg)?;
                self.cache.insert(&seg.key, Part::Index, bytes.clone());
                (bytes, header)
            }
        };
        let idx_name = PathBuf::from(format!("{} (index section)", name.display()));
        let index =
            SegmentIndex::decode(&idx_name, bytes.slice(header.index_range().start as usize..))
                .inspect_err(|_| self.cache.forget(&seg.key))?;
        if !seg.meta.matches(index.footer()) {
            self.cache.forget(&seg.key);
            return Err(TierError::corrupt(
                &name,
                header.index_range().start,
                "index footer disagrees with the manifest",
            ));
        }
        let log_name = PathBuf::from(format!("{} (log section)", name.display()));
        Ok(OpenedCold { header, index, log_name })
    }

    /// Log bytes `range` of an opened segment, from cached blocks, fetching each run of
    /// missing blocks with one ranged read. A run that reaches the end of the range is extended
    /// by up to `readahead` uncached blocks, so a sequential scan makes few, large requests.
    async fn log_bytes(
        &self,
        seg: &OpenedCold,
        key: &ColdKey,
        range: Range<u64>,
        readahead: u64,
    ) -> Result<Bytes> {
        if range.start >= range.end {
            return Ok(Bytes::new());
        }
        let log_len = seg.header.log_len;
        let short = || {
            TierError::corrupt(
                &seg.log_name,
                range.start,
                "log section shorter than its index says",
            )
        };
        if range.end > log_len {
            return Err(short());
        }
        let first = range.start / LOG_BLOCK_BYTES;
        let last = (range.end - 1) / LOG_BLOCK_BYTES;
        let last_block = (log_len - 1) / LOG_BLOCK_BYTES;
        let mut blocks: Vec<Option<Bytes>> =
            (first..=last).map(|b| self.cache.get(key, Part::LogBlock(b))).collect();
        let mut b = first;
        while b <= last {
            if blocks[(b - first) as usize].is_some() {
                b += 1;
                continue;
            }
            let mut run_end = b;
            while run_end <= last && blocks[(run_end - first) as usize].is_none() {
                run_end += 1;
            }
            if run_end > last {
                let ahead = (last + readahead).min(last_block);
                while run_end <= ahead && !self.cache.contains(key, Part::LogBlock(run_end)) {
                    run_end += 1;
                }
            }
            let from = b * LOG_BLOCK_BYTES;
            let to = (run_end * LOG_BLOCK_BYTES).min(log_len);
            let base = seg.header.log_range().start;
            let fetched = self.fetch(key, base + from..base + to).await?;
            for x in b..run_end {
                let at = ((x - b) * LOG_BLOCK_BYTES) as usize;
                let end = (at + LOG_BLOCK_BYTES as usize).min(fetched.len());
                let block = fetched.slice(at..end);
                self.cache.insert(key, Part::LogBlock(x), block.clone());
                if x <= last {
                    blocks[(x - first) as usize] = Some(block);
                }
            }
            b = run_end;
        }
        // Only the bytes asked for: one block is sliced without a copy; a range spanning
        // blocks is copied out of each.
        let mut pieces = blocks.into_iter().zip(first..).map(|(block, x)| {
            let block = block.unwrap_or_default();
            let at = x * LOG_BLOCK_BYTES;
            let from = (range.start.max(at) - at) as usize;
            let to = (range.end.min(at + LOG_BLOCK_BYTES) - at) as usize;
            block.get(from..to).map(|_| block.slice(from..to)).ok_or_else(short)
        });
        if first == last {
            return pieces.next().unwrap_or_else(|| Err(short()));
        }
        let mut joined = BytesMut::with_capacity((range.end - range.start) as usize);
        for piece in pieces {
            joined.extend_from_slice(&piece?);
        }
        Ok(joined.freeze())
    }

    /// The payload and timestamp of `seq` in an archived segment, fetching only its payload.
    pub async fn get(&self, seg: &ColdSegmentRef, seq: u64) -> Result<Option<(Bytes, u64)>> {
        let opened = self.open(seg).await?;
        let Some(span) = opened.index.payload_span(seq)? else { return Ok(None) };
        let bytes = self.log_bytes(&opened, &seg.key, span.clone(), 0).await?;
        let window = LogWindow { path: &opened.log_name, bytes: &bytes, start: span.start };
        opened.index.get(&window, seq).inspect_err(|_| self.cache.forget(&seg.key))
    }

    /// Calls `f` for every entry of `start..end` an archived segment holds, in order, fetching
    /// only the frames holding them.
    pub async fn for_each(
        &self,
        seg: &ColdSegmentRef,
        start: u64,
        end: u64,
        f: impl FnMut(u64, Bytes, u64),
    ) -> Result<()> {
        let opened = self.open(seg).await?;
        let Some(span) = opened.index.frames_span(start, end) else { return Ok(()) };
        let bytes = self.log_bytes(&opened, &seg.key, span.clone(), READAHEAD_BLOCKS).await?;
        let window = LogWindow { path: &opened.log_name, bytes: &bytes, start: span.start };
        opened.index.for_each(&window, start, end, f).inspect_err(|_| self.cache.forget(&seg.key))
    }

    /// Fetches a whole archived segment and checks every checksum of it.
    pub async fn verify(&self, seg: &ColdSegmentRef) -> Result<()> {
        let name = PathBuf::from(self.store.describe(&seg.key));
        let object = self
            .store
            .fetch_segment(&seg.key, None)
            .await
            .map_err(|e| TierError::io("fetch", &name, e))?;
        let header = ObjectHeader::verify_object(&name, &object)?;
        check_against_manifest(&name, &header, seg)?;
        let idx_name = PathBuf::from(format!("{} (index section)", name.display()));
        let r = header.index_range();
        let index =
            SegmentIndex::decode(&idx_name, object.slice(r.start as usize..r.end as usize))?;
        let log = object.slice(header.log_range().start as usize..);
        let log_name = PathBuf::from(format!("{} (log section)", name.display()));
        index.verify(&LogWindow { path: &log_name, bytes: &log, start: 0 })
    }
}

/// Decodes the header at the start of `bytes` (header + index section) and checks it against
/// the manifest and the index section's checksum.
fn check_head(name: &std::path::Path, bytes: &[u8], seg: &ColdSegmentRef) -> Result<ObjectHeader> {
    let header = ObjectHeader::decode(name, bytes)?;
    check_against_manifest(name, &header, seg)?;
    header.check_section(name, bytes, Section::Index)?;
    Ok(header)
}

fn check_against_manifest(
    name: &std::path::Path,
    h: &ObjectHeader,
    seg: &ColdSegmentRef,
) -> Result<()> {
    let m = &seg.meta;
    let agrees = h.channel == seg.key.channel()
        && h.first_seq == m.first_seq
        && h.count == m.count
        && h.min_ts_ns == m.min_ts_ns
        && h.max_ts_ns == m.max_ts_ns
        && h.payload_bytes == m.payload_bytes
        && h.log_len == m.log_len
        && h.index_len == seg.index_len;
    if !agrees {
        return Err(TierError::corrupt(
            name,
            0,
            format!(
                "object header {h:?} disagrees with the manifest's {m:?} (index {} bytes)",
                seg.index_len
            ),
        ));
    }
    Ok(())
}
