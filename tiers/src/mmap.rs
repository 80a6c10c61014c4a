//! The one place with `unsafe` code: mapping files into memory, and advising the kernel on
//! the heap arena's pages.

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
    // never touched, so no SIGBUS arises from our own use.
    #[expect(unsafe_code, reason = "read-only mmap of the append-only active log")]
    // SAFETY: published bytes of the active log never change while mapped (argued above).
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }
        .map_err(|e| TierError::io("mmap", path, e))?;
    Ok(Bytes::from_owner(map))
}

/// Size of a transparent huge page on the platforms we target.
pub const HUGE_PAGE_BYTES: usize = 2 << 20;

const PAGE_BYTES: usize = 4096;

/// Asks the kernel to back `buf`'s spare capacity with transparent huge pages, which turns the
/// hundreds of page faults a growing heap arena takes per megabyte into one. Advisory: failures
/// (no THP support, `never` mode, another OS) are ignored.
pub fn advise_huge_pages(buf: &mut bytes::BytesMut) {
    #[cfg(target_os = "linux")]
    {
        let spare = buf.spare_capacity_mut();
        let addr = spare.as_mut_ptr() as usize;
        let start = addr.next_multiple_of(PAGE_BYTES);
        let end = (addr + spare.len()) / PAGE_BYTES * PAGE_BYTES;
        if end >= start + HUGE_PAGE_BYTES {
            // Why this is sound: `start..end` lies inside `buf`'s own allocation (its spare
            // capacity, rounded inward to page boundaries), which stays allocated for the call.
            // MADV_HUGEPAGE changes only the kernel's choice of page size for the range: it
            // neither reads, writes nor unmaps memory, so no Rust invariant can be affected.
            #[expect(unsafe_code, reason = "madvise on memory this buffer owns")]
            // SAFETY: advisory call on a range this buffer owns (argued above).
            let _ = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE)
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}
