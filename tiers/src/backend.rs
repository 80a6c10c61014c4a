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
    pub fn write_all_at(&self, data: &[u8], offset: u64, sync: bool) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let (Some(u), true) = (&self.uring, sync) {
            return u.write_all_at(data, offset, true);
        }
        self.file.write_all_at(data, offset)?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// `fdatasync` of the file (a direct system call on both backends: through io_uring an
    /// fsync is always punted to a worker thread, which only adds a hop).
    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}
