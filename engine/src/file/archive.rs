//! Archival: frozen segments that leave the warm window go to the cold store, oldest first, on
//! the cold runtime, never on the append path.
//!
//! Per segment: upload the object (index and log straight from the mappings), read it back and
//! check it, record it as cold in the manifest (fsynced), install it as cold in the segment set,
//! then delete the local files. A crash or store failure at any step leaves the segment readable
//! from one tier or the other: before the manifest record it is still warm (a retry replaces the
//! object with the same bytes); after it, reopen deletes any local files left over. A failed
//! attempt is retried with backoff while the segment stays warm.

use std::sync::{Arc, Weak};
use std::time::Duration;

use redex_tiers::cold::{segment as cold_segment, ColdKey, ColdSegmentRef};

use super::{FileInner, FileState, RedexFile};
use crate::clock::now_ns;
use crate::cold::{self, ColdTier, UploadMark};
use crate::error::{RedexError, Result};
use crate::manager::DirLock;
use crate::retention;
use crate::segments::{Frozen, WarmSegment};
use crate::storage::SegmentDir;

/// First and longest wait between failed archive attempts.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);

impl RedexFile {
    /// Starts the archiver if the warm window has a segment to archive and none is running.
    /// Cheap when there is nothing to do; called after freezes and retention passes.
    pub(super) fn maybe_archive(&self, st: &mut FileState) {
        st.archive_check_due = false;
        let (Some(tier), Some(dir)) = (&self.inner.cold, &self.inner.storage) else { return };
        // Checked and set under the job slot's lock, which `ColdTier::stop` takes too: a close
        // racing this either stops the archiver started here or keeps it from starting.
        let mut slot = tier.job.lock();
        if self.inner.read_only
            || tier.stopped.load(std::sync::atomic::Ordering::SeqCst)
            || slot.as_ref().is_some_and(|j| !j.is_finished())
            || self.pending_archive(st) == 0
        {
            return;
        }
        let job = archive_loop(
            Arc::downgrade(&self.inner),
            Arc::clone(tier),
            dir.clone(),
            self.inner._lock.clone(),
        );
        match cold::spawn(job) {
            Ok(handle) => *slot = Some(handle),
            Err(e) => tier.note_failure(&e),
        }
    }

    /// 1 if a frozen segment is waiting to be archived, else 0.
    pub(super) fn pending_archive(&self, st: &FileState) -> u64 {
        let Some(tier) = &self.inner.cold else { return 0 };
        u64::from(retention::archive_candidate(&st.set, st.head, &tier.warm, now_ns()).is_some())
    }
}

/// Archives candidates one after the other until none is left, the file is gone or closed.
/// Holds the directory lock so no other writer can open the directory meanwhile.
async fn archive_loop(
    file: Weak<FileInner>,
    tier: Arc<ColdTier>,
    dir: SegmentDir,
    _lock: Option<Arc<DirLock>>,
) {
    let mut wait = RETRY_FIRST;
    while let Some((seg, mark)) = next_candidate(&file, &tier) {
        let archived = archive_one(&file, &tier, &dir, &seg).await;
        drop(mark);
        match archived {
            Ok(()) => wait = RETRY_FIRST,
            Err(e) => {
                tier.note_failure(&e);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

/// The next segment to archive, marked as uploading (released before a retry's backoff, so a
/// store that stays down never holds retention back).
fn next_candidate<'t>(
    file: &Weak<FileInner>,
    tier: &'t ColdTier,
) -> Option<(Arc<WarmSegment>, UploadMark<'t>)> {
    let inner = file.upgrade()?;
    let st = inner.state.read();
    if st.closed {
        return None;
    }
    let seg = retention::archive_candidate(&st.set, st.head, &tier.warm, now_ns())?;
    let mark = tier.mark_uploading(seg.meta().first_seq);
    Some((seg, mark))
}

async fn archive_one(
    file: &Weak<FileInner>,
    tier: &Arc<ColdTier>,
    dir: &SegmentDir,
    seg: &Arc<WarmSegment>,
) -> Result<()> {
    let meta = *seg.meta();
    let frozen = seg.segment()?;
    let store = tier.reader.store().as_ref();
    let index_len = cold_segment::archive(store, &tier.channel, &frozen).await?;
    let index_len = u32::try_from(index_len).map_err(|_| {
        RedexError::InvalidConfig(format!("index of segment {} too large", meta.first_seq))
    })?;
    let key = ColdKey::new(&tier.channel, meta.first_seq);
    if !dir.mark_cold(meta, index_len)? {
        // Retention dropped the segment while it was uploading: its object is an orphan.
        tier.delete_object(meta.first_seq);
        return Ok(());
    }
    let cold = Arc::new(ColdSegmentRef { key, meta, index_len: u64::from(index_len) });
    tier.note_success(meta.payload_bytes);
    let Some(inner) = file.upgrade() else {
        // The file is gone; the manifest is right, and reopen deletes the local files.
        return Ok(());
    };
    let installed = {
        let mut st = inner.state.write();
        let slot = st.set.cold_count();
        match st.set.frozen.get_mut(slot) {
            Some(s @ Frozen::Warm(_)) if s.base_seq() == meta.first_seq => {
                *s = Frozen::Cold(cold);
                true
            }
            _ => false,
        }
    };
    if !installed {
        // Retention dropped the segment (and its files) since the cold record, while it was
        // still warm in memory: nothing will read the object again.
        tier.delete_object(meta.first_seq);
        return Ok(());
    }
    // Readers holding the warm segment keep its mappings; the files can go.
    if let Err(e) = dir.delete_files(meta.first_seq) {
        tracing::warn!(error = %e, "could not delete an archived segment's local files; the next open does");
    }
    Ok(())
}
