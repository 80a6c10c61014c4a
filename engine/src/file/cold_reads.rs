//! Reads of archived history: the cold prefix of a file is fetched through its tier's cache on
//! the cold runtime, outside the file's lock, so a slow store never holds up appends. Also the
//! split every range read makes between that prefix and the local (hot and warm) rest, and
//! [`RedexFile::read_range_local`], which reads only the rest and never the store.

use std::sync::Arc;

use redex_tiers::cold::ColdSegmentRef;

use super::{FileInner, FileState, RedexFile};
use crate::batch::EventBatch;
use crate::cold::{self, ColdTier};
use crate::error::{RedexError, Result};
use crate::event::RedexEvent;

/// What a range read fills: entries read from the hot and warm tiers under the file's lock,
/// and entries fetched from the cold tier outside it.
pub(super) trait ReadSink: Default {
    /// Adds the entries `start..end`, read under the lock `st` is read through (the caller has
    /// checked that none of them is cold).
    fn read_local(&mut self, st: &FileState, start: u64, end: u64) -> Result<()>;
    /// Adds entries fetched from the cold tier, in seq order.
    fn push_fetched(&mut self, events: Vec<RedexEvent>);
}

impl ReadSink for Vec<RedexEvent> {
    fn read_local(&mut self, st: &FileState, start: u64, end: u64) -> Result<()> {
        self.reserve(end.saturating_sub(start).min(super::READ_PREALLOC_MAX) as usize);
        st.set.for_each(start, end, |seq, payload, timestamp_ns| {
            self.push(RedexEvent { seq, timestamp_ns, payload });
        })
    }

    fn push_fetched(&mut self, events: Vec<RedexEvent>) {
        self.extend(events);
    }
}

impl ReadSink for EventBatch {
    fn read_local(&mut self, st: &FileState, start: u64, end: u64) -> Result<()> {
        self.reserve(end.saturating_sub(start).min(super::READ_PREALLOC_MAX) as usize);
        st.set
            .for_each_slice(start, end, |seq, buf, range, ts| self.push_slice(seq, buf, range, ts))
    }

    fn push_fetched(&mut self, events: Vec<RedexEvent>) {
        events.into_iter().for_each(|event| self.push_event(event));
    }
}

/// Where a cold read fetches from, and the file it reads for.
pub(super) struct ColdSource {
    tier: Arc<ColdTier>,
    segs: Vec<Arc<ColdSegmentRef>>,
    /// Kept on the caller's side of the fetch, to tell a failure from an eviction.
    file: Arc<FileInner>,
}

impl ColdSource {
    /// What a fetch of entries from `start` on that failed with `error` means for the caller:
    /// [`RedexError::Evicted`] if retention moved the head past `start` meanwhile (it dropped
    /// the segment and deleted its object under the fetch, which then found nothing: not a
    /// missing object, which would be data loss, nor an outage worth retrying), else `error`.
    fn failed(&self, start: u64, error: RedexError) -> RedexError {
        let head = self.file.state.read().head.seq;
        if start < head {
            return RedexError::Evicted { requested: start, head };
        }
        error
    }

    /// What the fetch itself needs, to move onto the cold runtime (the file stays here).
    fn fetch(&self) -> (Arc<ColdTier>, Vec<Arc<ColdSegmentRef>>) {
        (Arc::clone(&self.tier), self.segs.clone())
    }
}

impl RedexFile {
    /// The tier and segments to fetch `start..end` (inside the cold prefix) from. `explicit`:
    /// asked through [`RedexFile::read_cold`], which works even with transparent reads off.
    fn cold_source(
        &self,
        st: &FileState,
        start: u64,
        end: u64,
        explicit: bool,
    ) -> Result<ColdSource> {
        let unavailable = |reason: &str| RedexError::ColdUnavailable {
            channel: self.inner.channel.to_string(),
            seq: start,
            reason: reason.to_owned(),
        };
        let tier = self.inner.cold.as_ref().ok_or_else(|| {
            unavailable("no cold store is configured (RedexFileConfig::with_cold_store)")
        })?;
        if !explicit && !tier.transparent_reads {
            return Err(unavailable("transparent cold reads are off; use read_cold"));
        }
        Ok(ColdSource {
            tier: Arc::clone(tier),
            segs: st.set.cold_segments(start, end),
            file: Arc::clone(&self.inner),
        })
    }

    /// The cold part of a read of `start..end`: `Some((source, stop))` when `start` lies in
    /// the cold prefix, where `stop` is where the cold part ends.
    pub(super) fn cold_part(
        &self,
        st: &FileState,
        start: u64,
        end: u64,
    ) -> Result<Option<(ColdSource, u64)>> {
        let Some(stop) = Self::cold_stop(st, start, end) else { return Ok(None) };
        Ok(Some((self.cold_source(st, start, stop, false)?, stop)))
    }

    /// Where the cold part of a read of `start..end` ends: `Some(stop)` when `start` lies in
    /// the cold prefix (and the range is not empty).
    fn cold_stop(st: &FileState, start: u64, end: u64) -> Option<u64> {
        let stop = end.min(st.set.cold_end());
        (start < stop).then_some(stop)
    }

    /// Entries `start..end` into a fresh `S`, stepping through the tiers with
    /// [`RedexFile::read_step`] and fetching each archived part blocking this thread: what
    /// [`RedexFile::read_range`] and [`RedexFile::read_batch`] share.
    pub(super) fn read_blocking<S: ReadSink>(&self, start: u64, end: u64) -> Result<S> {
        if start > end {
            return Err(RedexError::InvalidRange { start, end });
        }
        let mut out = S::default();
        let mut seq = start;
        loop {
            let step = self.read_step(start, seq, end, &mut out)?;
            let Some((source, stop)) = step else { return Ok(out) };
            let fetched = Self::read_cold_blocking(source, seq, stop);
            out.push_fetched(fetched.map_err(|e| e.evicted_from(start))?);
            seq = stop;
        }
    }

    /// A single archived entry, fetched (blocking this thread) through the cache.
    pub(super) fn get_cold(source: ColdSource, seq: u64) -> Result<Option<RedexEvent>> {
        let (tier, seg) = (Arc::clone(&source.tier), source.segs.first().cloned());
        cold::block_on(async move {
            let Some(seg) = seg else { return Ok(None) };
            let found = tier.reader.get(&seg, seq).await?;
            Ok(found.map(|(payload, timestamp_ns)| RedexEvent { seq, timestamp_ns, payload }))
        })
        .map_err(|e| source.failed(seq, e))
    }

    /// Archived entries `start..end`, fetched (blocking this thread) through the cache.
    pub(super) fn read_cold_blocking(
        source: ColdSource,
        start: u64,
        end: u64,
    ) -> Result<Vec<RedexEvent>> {
        cold::block_on(fetch_range(source.fetch(), start, end)).map_err(|e| source.failed(start, e))
    }

    /// Entries `start..end` that are archived in the cold store, fetched only as far as
    /// needed (index section first, then the frames holding the entries) through the file's
    /// cache. `end` is clamped to the end of the cold prefix, so a range past it returns only
    /// its cold part (read the rest with [`RedexFile::read_range`]). Works even when
    /// transparent cold reads are off; needs a cold store. A start below the retained head is
    /// [`RedexError::Evicted`]; an object that fails its checksums is an error naming it.
    pub async fn read_cold(&self, start: u64, end: u64) -> Result<Vec<RedexEvent>> {
        if start > end {
            return Err(RedexError::InvalidRange { start, end });
        }
        let (source, stop) = {
            let st = self.inner.state.read();
            self.check_readable(&st, start)?;
            let Some(stop) = Self::cold_stop(&st, start, end) else { return Ok(Vec::new()) };
            (self.cold_source(&st, start, stop, true)?, stop)
        };
        cold::run(fetch_range(source.fetch(), start, stop))
            .await
            .map_err(|e| source.failed(start, e))
    }

    /// [`RedexFile::read_range`] for async callers (tail backfill, catch-up reads of a
    /// consumer): the same entries in the same order, but a part archived in the cold tier is
    /// fetched on the engine's cold runtime and awaited, instead of blocking the caller's
    /// thread, so it is safe on an executor's worker. Hot and warm entries are read at once,
    /// as `read_range` reads them. `end` is clamped to [`RedexFile::next_seq`]; a start below
    /// the retained head is [`RedexError::Evicted`].
    pub async fn read_range_async(&self, start: u64, end: u64) -> Result<Vec<RedexEvent>> {
        if start > end {
            return Err(RedexError::InvalidRange { start, end });
        }
        let mut out = Vec::new();
        let mut seq = start;
        loop {
            let step = self.read_step(start, seq, end, &mut out)?;
            let Some((source, stop)) = step else { return Ok(out) };
            let fetched = cold::run(fetch_range(source.fetch(), seq, stop)).await;
            out.extend(fetched.map_err(|e| source.failed(seq, e).evicted_from(start))?);
            seq = stop;
        }
    }

    /// One step of a read of `seq..end` (part of a read that began at `start`, which errors
    /// name) that never waits on the cold store: under one read lock it either reads the rest
    /// locally into `out` (`end` clamped to the next seq) and returns `None`, or returns the
    /// archived part that comes first, to fetch after the lock is
    /// released. Archival turns a segment cold only under the write lock, so no segment can
    /// go cold between that decision and the local read; one that went cold while a fetch was
    /// awaited is seen by the next step. Each fetch moves the read past at least one entry, so
    /// a loop of steps ends.
    fn read_step(
        &self,
        start: u64,
        seq: u64,
        end: u64,
        out: &mut impl ReadSink,
    ) -> Result<Option<(ColdSource, u64)>> {
        let st = self.inner.state.read();
        self.check_readable(&st, seq).map_err(|e| e.evicted_from(start))?;
        let end = end.min(st.set.next_seq());
        match self.cold_part(&st, seq, end)? {
            Some(cold) => Ok(Some(cold)),
            None => out.read_local(&st, seq, end).map(|()| None),
        }
    }

    /// [`RedexFile::read_range`] for callers that must not wait on the cold store: the same
    /// entries `start..end` if all of them are held locally (in the hot and warm tiers), read
    /// under one read lock of the file, or `Ok(None)` if any of them is archived in the cold
    /// tier; read those with [`RedexFile::read_range_async`] or [`RedexFile::read_cold`]. It
    /// never touches the cold store, so it never blocks on a fetch (an HTTP request for S3):
    /// safe on an executor's worker and under the caller's own locks. `end` is clamped to
    /// [`RedexFile::next_seq`], so an empty range (or one past the end) is `Some` of nothing.
    /// The errors are `read_range`'s: [`RedexError::InvalidRange`] for `start > end`,
    /// [`RedexError::Evicted`] for a start below the retained head, [`RedexError::Closed`] on
    /// a closed file. An archived range is `None` even where `read_range` could not fetch it
    /// (no cold store configured, or transparent cold reads off).
    pub fn read_range_local(&self, start: u64, end: u64) -> Result<Option<Vec<RedexEvent>>> {
        if start > end {
            return Err(RedexError::InvalidRange { start, end });
        }
        let st = self.inner.state.read();
        self.check_readable(&st, start)?;
        let end = end.min(st.set.next_seq());
        if Self::cold_stop(&st, start, end).is_some() {
            return Ok(None);
        }
        let mut out = Vec::new();
        out.read_local(&st, start, end)?;
        Ok(Some(out))
    }
}

async fn fetch_range(
    (tier, segs): (Arc<ColdTier>, Vec<Arc<ColdSegmentRef>>),
    start: u64,
    end: u64,
) -> Result<Vec<RedexEvent>> {
    let mut out = Vec::new();
    for seg in segs {
        tier.reader
            .for_each(&seg, start, end, |seq, payload, timestamp_ns| {
                out.push(RedexEvent { seq, timestamp_ns, payload });
            })
            .await?;
    }
    Ok(out)
}
