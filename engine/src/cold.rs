//! The engine's side of the cold tier: the private runtime store calls run on, and each file's
//! [`ColdTier`] (its reader, archival status and counters). Archival and cold reads themselves
//! live with the file (`file/archive.rs`, `file/cold_reads.rs`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use redex_tiers::cold::{ColdCache, ColdReader};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::config::{ColdConfig, Retention};
use crate::error::{RedexError, Result};
use crate::stats::ColdStats;

/// Worker threads of the cold runtime: store calls are I/O-bound; two keep an upload from
/// delaying a read.
const COLD_WORKER_THREADS: usize = 2;

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The process-wide runtime every cold-store call runs on, so the engine works the same from
/// synchronous code, from any async executor, and with stores that need Tokio's reactor.
fn runtime() -> Result<&'static Runtime> {
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(COLD_WORKER_THREADS)
            .thread_name("redex-cold")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    rt.as_ref()
        .map_err(|e| RedexError::InvalidConfig(format!("cannot start the cold runtime: {e}")))
}

fn task_failed(e: tokio::task::JoinError) -> RedexError {
    RedexError::InvalidConfig(format!("a cold-tier task failed: {e}"))
}

/// Starts `work` on the cold runtime.
pub(crate) fn spawn<F>(work: F) -> Result<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(runtime()?.spawn(work))
}

/// Runs `work` on the cold runtime and waits for it, blocking this thread (synchronous reads
/// of archived history).
pub(crate) fn block_on<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    futures::executor::block_on(spawn(work)?).map_err(task_failed)?
}

/// Runs `work` on the cold runtime and awaits it from any executor.
pub(crate) async fn run<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    spawn(work)?.await.map_err(task_failed)?
}

/// A file's cold tier: where it archives, how it reads back, and how archival is going.
#[derive(Debug)]
pub(crate) struct ColdTier {
    pub(crate) reader: Arc<ColdReader>,
    pub(crate) channel: String,
    pub(crate) warm: Retention,
    pub(crate) transparent_reads: bool,
    pub(crate) archived_segments: AtomicU64,
    pub(crate) archived_bytes: AtomicU64,
    pub(crate) archive_failures: AtomicU64,
    pub(crate) objects_deleted: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
    /// The running archiver, if any.
    pub(crate) job: Mutex<Option<JoinHandle<()>>>,
    /// Set by `close`: no archiver starts any more.
    pub(crate) stopped: AtomicBool,
    /// First seq of the segment being uploaded, or [`NOT_UPLOADING`]. Retention treats that
    /// segment as cold already (evicted whole or not at all), so the head never lands inside a
    /// segment that becomes cold when its upload finishes.
    uploading: AtomicU64,
}

const NOT_UPLOADING: u64 = u64::MAX;

/// Marks a segment as uploading for as long as it lives (also when the archiver is aborted).
pub(crate) struct UploadMark<'a>(&'a ColdTier);

impl Drop for UploadMark<'_> {
    fn drop(&mut self) {
        self.0.uploading.store(NOT_UPLOADING, Ordering::SeqCst);
    }
}

impl ColdTier {
    /// The tier `config` describes, if it names a store.
    pub(crate) fn new(channel: &str, config: &ColdConfig) -> Option<Arc<Self>> {
        let store = Arc::clone(config.store.as_ref()?);
        let cache = Arc::new(ColdCache::new(config.cache_bytes));
        Some(Arc::new(ColdTier {
            reader: Arc::new(ColdReader::new(store, cache)),
            channel: channel.to_owned(),
            warm: config.warm_retention,
            transparent_reads: config.transparent_reads,
            archived_segments: AtomicU64::new(0),
            archived_bytes: AtomicU64::new(0),
            archive_failures: AtomicU64::new(0),
            objects_deleted: AtomicU64::new(0),
            last_error: Mutex::new(None),
            job: Mutex::new(None),
            stopped: AtomicBool::new(false),
            uploading: AtomicU64::new(NOT_UPLOADING),
        }))
    }

    /// Marks the segment starting at `first_seq` as uploading. Call under the file's state
    /// lock, where retention cannot move the head meanwhile.
    pub(crate) fn mark_uploading(&self, first_seq: u64) -> UploadMark<'_> {
        self.uploading.store(first_seq, Ordering::SeqCst);
        UploadMark(self)
    }

    /// First seq of the segment being uploaded, if one is.
    pub(crate) fn uploading(&self) -> Option<u64> {
        Some(self.uploading.load(Ordering::SeqCst)).filter(|&s| s != NOT_UPLOADING)
    }

    /// Stops archival: no new archiver starts, the running one is cancelled at its next await
    /// (an upload in flight is abandoned; the segment stays warm) and waited for.
    pub(crate) fn stop(&self) {
        let job = {
            // Under the slot's lock, as the archiver's start checks `stopped` (see
            // `RedexFile::maybe_archive`).
            let mut slot = self.job.lock();
            self.stopped.store(true, Ordering::SeqCst);
            slot.take()
        };
        if let Some(job) = job {
            job.abort();
            let _ = futures::executor::block_on(job);
        }
    }

    pub(crate) fn note_failure(&self, error: &RedexError) {
        self.archive_failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(channel = %self.channel, error = %error, "archiving to the cold store failed; the segment stays warm and archival retries");
        *self.last_error.lock() = Some(error.to_string());
    }

    pub(crate) fn note_success(&self, payload_bytes: u64) {
        self.archived_segments.fetch_add(1, Ordering::Relaxed);
        self.archived_bytes.fetch_add(payload_bytes, Ordering::Relaxed);
        *self.last_error.lock() = None;
    }

    /// Deletes the object of a segment retention dropped, in the background. A failure leaves
    /// an orphan object that the next open's sweep deletes. Never reached from a read-only
    /// open: it follows a manifest change (the drop or the cold record) that its directory
    /// refuses.
    pub(crate) fn delete_object(self: &Arc<Self>, first_seq: u64) {
        let tier = Arc::clone(self);
        let key = redex_tiers::cold::ColdKey::new(&self.channel, first_seq);
        let spawned = spawn(async move {
            match tier.reader.store().delete(&key).await {
                Ok(()) => {
                    tier.objects_deleted.fetch_add(1, Ordering::Relaxed);
                    tier.reader.cache().forget(&key);
                }
                Err(e) => {
                    tracing::warn!(object = %tier.reader.store().describe(&key), error = %e, "could not delete a dropped segment's object; the next open retries")
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not delete a dropped segment's object");
        }
    }

    /// Deletes, in the background, objects of this channel below `first_live_seq`: left behind
    /// when a process died between dropping a cold segment and deleting its object. Only a
    /// writer's open sweeps; a read-only one leaves them.
    pub(crate) fn sweep_orphans(self: &Arc<Self>, first_live_seq: u64) {
        let tier = Arc::clone(self);
        let spawned = spawn(async move {
            let store = tier.reader.store();
            let objects = match store.list(&tier.channel).await {
                Ok(objects) => objects,
                Err(e) => {
                    // Orphans stay until the next open's sweep; nothing readable is at stake.
                    tracing::warn!(channel = %tier.channel, error = %e, "could not list cold objects to sweep orphans");
                    return;
                }
            };
            for object in objects.into_iter().filter(|o| o.key.first_seq() < first_live_seq) {
                if store.delete(&object.key).await.is_ok() {
                    tier.objects_deleted.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not sweep orphaned cold objects");
        }
    }

    pub(crate) fn stats(&self, pending_segments: u64) -> ColdStats {
        let cache = self.reader.cache().stats();
        let fetch = self.reader.stats();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ColdStats {
            archived_segments: load(&self.archived_segments),
            archived_bytes: load(&self.archived_bytes),
            archive_failures: load(&self.archive_failures),
            pending_segments,
            last_error: self.last_error.lock().clone(),
            objects_deleted: load(&self.objects_deleted),
            fetches: fetch.fetches,
            fetched_bytes: fetch.fetched_bytes,
            cache_hits: cache.hits,
            cache_misses: cache.misses,
            cache_evictions: cache.evictions,
            cache_bytes: cache.bytes,
        }
    }
}
