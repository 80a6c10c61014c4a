//! The append backend: how a frame reaches the active log. Chosen at open time; both paths have
//! the same semantics (all bytes written or an error, nothing acknowledged that the kernel did
//! not complete) and pass the same tests.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::Once;

/// Which write path to use, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppendBackend {
    /// io_uring where the kernel allows it, else the portable path (with one log line).
    #[default]
    Auto,
    /// io_uring, or an error at open if it is unavailable.
    IoUring,
    /// The portable path: `pwrite` and `fdatasync`.
    Std,
}

/// Which write path a log is actually using.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Frames and fsyncs go through io_uring.
    IoUring,
    /// Frames go through `pwrite`, fsyncs through `fdatasync`.
    Std,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::IoUring => "io_uring",
            BackendKind::Std => "std",
        })
    }
}

/// Writes frames to one log file through the chosen backend.
#[derive(Debug)]
pub struct LogWriter {
    file: Arc<File>,
    #[cfg(target_os = "linux")]
    uring: Option<crate::uring::UringFile>,
}

static FALLBACK_NOTICE: Once = Once::new();

impl LogWriter {
    /// A writer for `file` using `backend`. `Auto` falls back to the portable path when io_uring
    /// cannot be set up (no kernel support, forbidden by seccomp or sysctl, another OS).
    pub fn open(file: Arc<File>, backend: AppendBackend) -> io::Result<Self> {
        match backend {
            AppendBackend::Std => Ok(LogWriter::std(file)),
            AppendBackend::IoUring => LogWriter::uring(file),
            AppendBackend::Auto => match LogWriter::uring(Arc::clone(&file)) {
                Ok(w) => Ok(w),
                Err(e) => {
                    FALLBACK_NOTICE.call_once(|| {
                        tracing::info!(error = %e, "io_uring unavailable; using the portable append path");
                    });
                    Ok(LogWriter::std(file))
                }
            },
        }
    }

    fn std(file: Arc<File>) -> Self {
        LogWriter {
            file,
            #[cfg(target_os = "linux")]
            uring: None,
        }
    }

    #[cfg(target_os = "linux")]
    fn uring(file: Arc<File>) -> io::Result<Self> {
        let uring = crate::uring::UringFile::new(Arc::clone(&file))?;
        Ok(LogWriter { file, uring: Some(uring) })
    }

    #[cfg(not(target_os = "linux"))]
    fn uring(_file: Arc<File>) -> io::Result<Self> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "io_uring exists only on Linux"))
    }

    /// The live backend.
    pub fn kind(&self) -> BackendKind {
        #[cfg(target_os = "linux")]
        if self.uring.is_some() {
            return BackendKind::IoUring;
        }
        BackendKind::Std
    }

    /// Writes all of `data` at `offset`; with `sync`, also makes it durable.
    ///
    /// Only durable writes go through io_uring (the write linked to an fdatasync in one
    /// submission). A plain buffered write is a `pwrite` on both backends: measured here, ext4
    /// buffered writes submitted through io_uring are handed to io-wq worker threads, which made
    /// small appends 3 to 30 times slower than a direct `pwrite` (docs/BENCHMARKS.md).
    ///
    /// A failed fsync is reported as an error for which [`is_fsync_failure`] holds: the caller
    /// must then assume unsynced data may be lost (the kernel may have dropped the dirty pages
    /// and will not report it again), not merely that this write failed.
    pub fn write_all_at(&self, data: &[u8], offset: u64, sync: bool) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        fault::before_write(&self.file, data, offset)?;
        #[cfg(feature = "fault-injection")]
        if sync && fault::take(&fault::FSYNC_ERRORS) {
            self.file.write_all_at(data, offset)?;
            return Err(fsync_failed(io::Error::from_raw_os_error(libc::EIO)));
        }
        #[cfg(target_os = "linux")]
        if let (Some(u), true) = (&self.uring, sync) {
            return u.write_all_at(data, offset, true);
        }
        self.file.write_all_at(data, offset)?;
        if sync {
            self.file.sync_data().map_err(fsync_failed)?;
        }
        Ok(())
    }

    /// `fdatasync` of the file (a direct system call on both backends: through io_uring an
    /// fsync is always punted to a worker thread, which only adds a hop). Errors satisfy
    /// [`is_fsync_failure`].
    pub fn sync_data(&self) -> io::Result<()> {
        fdatasync(&self.file)
    }
}

/// `fdatasync` of `file`, the one call every fsync of a log goes through (append path, policy
/// thread, `sync`, freeze). Errors satisfy [`is_fsync_failure`].
pub fn fdatasync(file: &File) -> io::Result<()> {
    #[cfg(feature = "fault-injection")]
    fault::hold_fsync();
    #[cfg(feature = "fault-injection")]
    if fault::take(&fault::FSYNC_ERRORS) {
        return Err(fsync_failed(io::Error::from_raw_os_error(libc::EIO)));
    }
    file.sync_data().map_err(fsync_failed)
}

/// Marks an error as a failed fsync (see [`is_fsync_failure`]).
#[derive(Debug)]
struct FsyncFailed(io::Error);

impl std::fmt::Display for FsyncFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fsync failed: {}", self.0)
    }
}

impl std::error::Error for FsyncFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Wraps an fsync error so that [`is_fsync_failure`] recognises it; the kind is kept.
pub fn fsync_failed(e: io::Error) -> io::Error {
    if is_fsync_failure(&e) {
        return e;
    }
    io::Error::new(e.kind(), FsyncFailed(e))
}

/// Whether `e` came from a failed fsync (as opposed to a failed write).
pub fn is_fsync_failure(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<FsyncFailed>())
}

/// Test-only fault injection (feature `fault-injection`, never in a release build): the next
/// writes or fsyncs of every log fail or come up short, in ways the kernel can produce but a
/// test cannot easily provoke. Counters are process-wide: tests using them run serially.
#[cfg(feature = "fault-injection")]
pub mod fault {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// Writes that will write only the first half of their bytes, then continue (the kernel
    /// may return short; the writer must loop).
    pub static SHORT_WRITES: AtomicU64 = AtomicU64::new(0);
    /// Writes that will write the first half of their bytes, then fail with `ENOSPC`.
    pub static TORN_WRITES: AtomicU64 = AtomicU64::new(0);
    /// Fsyncs (policy, explicit or durable) that will fail with `EIO`.
    pub static FSYNC_ERRORS: AtomicU64 = AtomicU64::new(0);
    /// Index writes of freezes that will fail with `ENOSPC` (a freeze failure that is not a
    /// failed fsync).
    pub static INDEX_WRITE_ERRORS: AtomicU64 = AtomicU64::new(0);
    /// Index writes of freezes that will panic (a bug in the freeze thread).
    pub static INDEX_WRITE_PANICS: AtomicU64 = AtomicU64::new(0);
    /// While set, every `fdatasync` of a log (a freeze's, the policy thread's, `sync`'s) waits:
    /// a disk so busy that an fsync takes as long as a test likes.
    pub static FSYNC_HOLD: AtomicBool = AtomicBool::new(false);

    /// Waits while [`FSYNC_HOLD`] is set.
    pub(crate) fn hold_fsync() {
        while FSYNC_HOLD.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Takes one pending fault from `counter`, if any.
    pub fn take(counter: &AtomicU64) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// Applies a pending short or torn write: the first half of `data` is written first.
    pub(crate) fn before_write(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
        let short = take(&SHORT_WRITES);
        let torn = !short && take(&TORN_WRITES);
        if (short || torn) && data.len() > 1 {
            file.write_all_at(&data[..data.len() / 2], offset)?;
            if torn {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
        }
        Ok(())
    }
}
