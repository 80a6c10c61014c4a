//! Mapping segment files into memory: with `uring`, the only place with `unsafe` code.

use std::fs::File;
use std::path::Path;

use bytes::Bytes;

use crate::error::{Result, TierError};

/// Maps a frozen segment file read-only and returns its bytes; slices of the result keep the
/// mapping alive, so a payload handed to a reader stays valid even after the file is deleted.
pub fn map_frozen(path: &Path) -> Result<Bytes> {
    let file = File::open(path).map_err(|e| TierError::io("open", path, e))?;
    // Why this is sound: `Mmap::map` is unsafe because the mapped file could be changed
    // underneath us. Frozen segment files are written completely, fsynced and never modified
    // afterwards: the engine only ever creates, reads and unlinks them, and the directory is
    // guarded by an exclusive advisory lock against a second writer. Unlinking keeps the pages
    // valid for existing mappings. A foreign process truncating the file is outside the
    // contract (documented in docs/DURABILITY.md).
    #[expect(unsafe_code, reason = "read-only mmap of an immutable frozen segment")]
    // SAFETY: a frozen file never changes while mapped (argued above).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| TierError::io("mmap", path, e))?;
    Ok(Bytes::from_owner(map))
}

/// Maps the first `len` bytes of the active segment's log, which may be longer than the file is
/// now: the log grows by `pwrite` underneath the mapping and, Linux's page cache being unified,
/// written bytes become visible through it. Callers only read bytes below the written length.
pub fn map_active(file: &File, path: &Path, len: usize) -> Result<Bytes> {
    // Why this is sound: the mapping is read-only and shared. The active log is only ever
    // appended to by this process's single writer (guarded by the directory lock); bytes below
    // the written length, the only ones callers slice, never change once written. The one
    // truncation the engine performs (rolling back a failed write, or cutting preallocated
    // zeros) removes bytes that were never published to a reader. Pages past end-of-file are
    // never touched, so no SIGBUS arises from our own use. Only the writing process maps its
    // active logs: a read-only open of a live directory reads unfrozen logs with `pread`
    // instead, because the other process's writer may cut them meanwhile.
    #[expect(unsafe_code, reason = "read-only mmap of the append-only active log")]
    // SAFETY: published bytes of the active log never change while mapped (argued above).
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }
        .map_err(|e| TierError::io("mmap", path, e))?;
    Ok(Bytes::from_owner(map))
}
