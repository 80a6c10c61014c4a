//! [`Redex`]: the manager that owns a base directory (or none) and opens files by channel.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::channel::ChannelName;
use crate::config::RedexFileConfig;
use crate::error::{RedexError, Result};
use crate::file::RedexFile;
use crate::storage::SegmentDir;

/// How long `with_persistent_dir` retries a held lock before reporting `Locked`.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

/// Name of the lock file in a persistent base directory.
pub const LOCK_FILE_NAME: &str = "redex.lock";

/// An exclusive advisory lock (`flock`) on a base directory, held while any handle is alive.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Opens named logs. Heap-only (`Redex::new`) or rooted in a directory
/// (`Redex::with_persistent_dir`), which one process at a time may hold.
///
/// ```
/// # fn main() -> Result<(), redex::RedexError> {
/// use redex::{ChannelName, Redex, RedexFileConfig};
/// let dir = tempfile::tempdir().map_err(|e| redex::RedexError::InvalidConfig(e.to_string()))?;
/// let name = ChannelName::new("events")?;
/// {
///     let redex = Redex::with_persistent_dir(dir.path())?;
///     let file = redex.open_file(&name, RedexFileConfig::default().with_persistent(true))?;
///     file.append(b"survives a restart")?;
///     file.close()?;
/// }
/// let redex = Redex::with_persistent_dir(dir.path())?;
/// let file = redex.open_file(&name, RedexFileConfig::default().with_persistent(true))?;
/// assert_eq!(&file.get(0)?.map(|e| e.payload).unwrap_or_default()[..], b"survives a restart");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Redex {
    inner: Arc<Inner>,
}

/// The open files of a manager, by channel. A file leaves it when it is closed (it holds a weak
/// reference to it), so the manager keeps no closed file alive: a daemon that opens and closes
/// channels under ever new names (one per session or per day) holds only the open ones.
pub(crate) type Registry = Mutex<HashMap<ChannelName, RedexFile>>;

#[derive(Debug)]
struct Inner {
    base: Option<PathBuf>,
    /// Opened with `open_read_only`: no lock, no writes.
    read_only: bool,
    lock: Option<Arc<DirLock>>,
    files: Arc<Registry>,
}

impl Default for Redex {
    fn default() -> Self {
        Redex::new()
    }
}

impl Redex {
    /// A manager without a directory: every file lives in memory only.
    pub fn new() -> Self {
        Redex {
            inner: Arc::new(Inner {
                base: None,
                read_only: false,
                lock: None,
                files: Arc::new(Mutex::new(HashMap::new())),
            }),
        }
    }

    /// A manager rooted in `dir` (created if missing). Takes an exclusive lock on
    /// `dir/redex.lock`; a second manager on the same directory, in this process or another,
    /// gets [`RedexError::Locked`] (after retrying for a quarter of a second) until every
    /// handle of the first is dropped.
    pub fn with_persistent_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| RedexError::io("create directory", &dir, e))?;
        let lock_path = dir.join(LOCK_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| RedexError::io("open", &lock_path, e))?;
        // A lock held by another writer is refused. Only briefly retried: a child process that
        // this process forks keeps a copy of the lock's descriptor until it execs (the file is
        // close-on-exec), so a reopen racing such a fork would otherwise fail spuriously.
        let deadline = std::time::Instant::now() + LOCK_RETRY;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(RedexError::Locked { path: lock_path });
                }
                Err(TryLockError::Error(e)) => return Err(RedexError::io("lock", &lock_path, e)),
            }
        }
        Ok(Redex {
            inner: Arc::new(Inner {
                base: Some(dir),
                read_only: false,
                lock: Some(Arc::new(DirLock { _file: file })),
                files: Arc::new(Mutex::new(HashMap::new())),
            }),
        })
    }

    /// Opens `dir` for inspection, without taking its lock, so it works while a live writer
    /// holds the directory and never changes a byte of it: recovery indexes the valid prefix
    /// of each log instead of trimming it, and finishes no interrupted freeze or retention.
    /// Files opened through it refuse appends ([`RedexError::ReadOnly`]); what they show is the
    /// state on disk when each file was opened. Channels must be opened with
    /// `with_persistent(true)`. Given the cold store the writer archives to
    /// (`with_cold_store`), a file reads and verifies its archived segments and only reads the
    /// store: it archives nothing, deletes no object (not even the orphans a writer's open
    /// sweeps), and retention applied to it (`apply_retention`) moves the head in memory only.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                let not_dir =
                    std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
                return Err(RedexError::io("open", &dir, not_dir));
            }
            Err(e) => return Err(RedexError::io("open", &dir, e)),
        }
        Ok(Redex {
            inner: Arc::new(Inner {
                base: Some(dir),
                read_only: true,
                lock: None,
                files: Arc::new(Mutex::new(HashMap::new())),
            }),
        })
    }

    /// The channels stored under a persistent base directory, sorted.
    pub fn list_channels(&self) -> Result<Vec<ChannelName>> {
        let Some(base) = &self.inner.base else {
            return Ok(self.inner.files.lock().keys().cloned().collect());
        };
        let root = base.join("channels");
        let mut found = Vec::new();
        let mut stack = vec![(root.clone(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(RedexError::io("list", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| RedexError::io("list", &dir, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !entry.path().is_dir() {
                    continue;
                }
                if name == ".redex" {
                    if let Ok(channel) = ChannelName::new(prefix.clone()) {
                        found.push(channel);
                    }
                } else {
                    let joined = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
                    stack.push((entry.path(), joined));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// The base directory, if persistent.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.base.as_deref()
    }

    /// Opens (or recovers from disk) the log `name`. Opening a channel that is already open
    /// returns the same log if the configuration matches, and an error if it does not.
    pub fn open_file(&self, name: &ChannelName, config: RedexFileConfig) -> Result<RedexFile> {
        self.open_file_fresh(name, config).map(|(file, _)| file)
    }

    /// [`Redex::open_file`], also saying whether this call opened the log (`true`) or shares
    /// one that was already open (`false`), decided under the manager's lock. A caller that
    /// must undo its own open after a later failure closes the log only when it opened it:
    /// another handle's log stays open.
    pub fn open_file_fresh(
        &self,
        name: &ChannelName,
        config: RedexFileConfig,
    ) -> Result<(RedexFile, bool)> {
        crate::clock::calibrate();
        let mut files = self.inner.files.lock();
        if let Some(existing) = files.get(name) {
            if !existing.is_closed() {
                if existing.config() != &config {
                    return Err(RedexError::InvalidConfig(format!(
                        "channel {name} is already open with a different configuration"
                    )));
                }
                return Ok((existing.clone(), false));
            }
        }
        let storage = match (config.persistent(), &self.inner.base) {
            (false, _) => None,
            (true, Some(base)) => Some(SegmentDir::open(
                name.segment_dir(base),
                base,
                config.segment_bytes_max(),
                config.open_segments_max(),
                config.append_backend(),
                self.inner.read_only,
            )?),
            (true, None) => {
                return Err(RedexError::InvalidConfig(format!(
                    "channel {name} is persistent but this Redex has no directory \
                     (use Redex::with_persistent_dir)"
                )))
            }
        };
        let file = RedexFile::open(
            name.clone(),
            config,
            storage,
            self.inner.lock.clone(),
            self.inner.read_only,
            Arc::downgrade(&self.inner.files),
        )?;
        files.insert(name.clone(), file.clone());
        Ok((file, true))
    }

    /// The stats of every open file, sorted by channel.
    pub fn stats(&self) -> Vec<crate::FileStats> {
        let mut files: Vec<_> = self
            .inner
            .files
            .lock()
            .values()
            .filter(|f| !f.is_closed())
            .map(RedexFile::stats)
            .collect();
        files.sort_by(|a, b| a.channel.cmp(&b.channel));
        files
    }

    /// Closes every open file (fsyncing persistent ones). Returns the first error, after
    /// trying all files.
    pub fn close(&self) -> Result<()> {
        let files: Vec<RedexFile> = self.inner.files.lock().drain().map(|(_, f)| f).collect();
        let mut first_err = None;
        for f in files {
            if let Err(e) = f.close() {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
