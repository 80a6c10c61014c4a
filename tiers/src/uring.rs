//! The io_uring write path (Linux): a frame written with one `IORING_OP_WRITE`, optionally
//! linked (`IOSQE_IO_LINK`) to an `IORING_OP_FSYNC` with `DATASYNC`, so a durable append is one
//! submission and one wait.
//!
//! Soundness rests on ownership: the kernel reads from a buffer owned by this struct (the frame
//! is copied in), and every call waits for the completions of everything it submitted before it
//! returns or lets go of the ring's lock. If waiting fails in a way that leaves an operation
//! possibly in flight, the ring and its buffer are leaked rather than freed under the kernel.

use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use io_uring::{opcode, squeue, types, IoUring};
use parking_lot::Mutex;

/// Ring size: a write and a linked fsync are the most ever in flight.
const RING_ENTRIES: u32 = 4;
const WRITE_TAG: u64 = 1;
const FSYNC_TAG: u64 = 2;

struct Ring {
    ring: ManuallyDrop<IoUring>,
    buf: ManuallyDrop<Vec<u8>>,
    /// Set when an operation may still be in flight after an error: the ring and buffer are then
    /// never freed.
    poisoned: bool,
}

impl Drop for Ring {
    fn drop(&mut self) {
        if !self.poisoned {
            // SAFETY: not poisoned means every submitted operation was reaped, so the kernel
            // holds no reference to `buf`, and neither field is used after this.
            #[expect(unsafe_code, reason = "dropping ManuallyDrop fields exactly once")]
            unsafe {
                ManuallyDrop::drop(&mut self.ring);
                ManuallyDrop::drop(&mut self.buf);
            }
        }
    }
}

/// A log file written through io_uring.
pub struct UringFile {
    file: Arc<File>,
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for UringFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringFile").field("file", &self.file).finish()
    }
}

impl UringFile {
    /// Sets up a ring for `file`, or fails if the kernel has no io_uring, forbids it (seccomp,
    /// `io_uring_disabled`), or lacks the write and fsync operations.
    pub fn new(file: Arc<File>) -> io::Result<Self> {
        let ring = IoUring::new(RING_ENTRIES)?;
        let mut probe = io_uring::Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        if !probe.is_supported(opcode::Write::CODE) || !probe.is_supported(opcode::Fsync::CODE) {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "io_uring lacks write/fsync"));
        }
        let ring = Ring {
            ring: ManuallyDrop::new(ring),
            buf: ManuallyDrop::new(Vec::new()),
            poisoned: false,
        };
        Ok(UringFile { file, ring: Mutex::new(ring) })
    }

    /// Writes all of `data` at `offset`, resubmitting after short writes; with `sync`, the last
    /// write is linked to an fdatasync in the same submission.
    pub fn write_all_at(&self, data: &[u8], offset: u64, sync: bool) -> io::Result<()> {
        let mut ring = self.ring.lock();
        if ring.poisoned {
            return Err(io::Error::other("io_uring poisoned by an earlier failure"));
        }
        ring.buf.clear();
        ring.buf.extend_from_slice(data);
        let mut done = 0usize;
        while done < data.len() {
            let (wrote, synced) = ring.submit(&self.file, done, offset + done as u64, sync)?;
            if wrote == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "io_uring wrote zero bytes"));
            }
            done += wrote;
            if done == data.len() && sync && !synced {
                ring.fsync(&self.file)?;
            }
        }
        if data.is_empty() && sync {
            ring.fsync(&self.file)?;
        }
        Ok(())
    }
}

impl Ring {
    /// Submits a write of `buf[from..]` at `offset` (linked to an fsync when `sync`) and reaps
    /// every completion. Returns the bytes written and whether the linked fsync ran.
    fn submit(
        &mut self,
        file: &File,
        from: usize,
        offset: u64,
        sync: bool,
    ) -> io::Result<(usize, bool)> {
        let fd = types::Fd(file.as_raw_fd());
        let chunk = &self.buf[from..];
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        let mut write =
            opcode::Write::new(fd, chunk.as_ptr(), len).offset(offset).build().user_data(WRITE_TAG);
        if sync {
            write = write.flags(squeue::Flags::IO_LINK);
        }
        let fsync =
            opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build().user_data(FSYNC_TAG);
        let both = [write, fsync];
        let entries = if sync { &both[..] } else { &both[..1] };
        // Why this is sound: the entries point into `self.buf`, which this struct owns and does
        // not touch again until `reap` has collected the completion of every entry pushed here
        // (or, if that fails, the ring is poisoned and the buffer is never freed nor reused).
        #[expect(unsafe_code, reason = "io_uring reads the buffer until completion")]
        // SAFETY: `self.buf` outlives the operations reading it (argued above).
        let pushed = unsafe { self.ring.submission().push_multiple(entries) };
        pushed.map_err(|_| io::Error::other("io_uring submission queue full"))?;
        self.reap(entries.len())
    }

    fn fsync(&mut self, file: &File) -> io::Result<()> {
        let fd = types::Fd(file.as_raw_fd());
        let fsync =
            opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build().user_data(FSYNC_TAG);
        // SAFETY: an fsync references no user memory; `reap` collects its completion.
        #[expect(unsafe_code, reason = "io_uring submission")]
        let pushed = unsafe { self.ring.submission().push(&fsync) };
        pushed.map_err(|_| io::Error::other("io_uring submission queue full"))?;
        let (_, synced) = self.reap(1)?;
        if synced {
            Ok(())
        } else {
            Err(io::Error::other("io_uring fsync did not complete"))
        }
    }

    /// Waits for `want` completions. The first error among them is returned after all are in.
    fn reap(&mut self, want: usize) -> io::Result<(usize, bool)> {
        let mut seen = 0;
        let mut wrote = 0usize;
        let mut synced = false;
        let mut first_err: Option<io::Error> = None;
        while seen < want {
            match self.ring.submit_and_wait(want - seen) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Whatever was submitted may still be running: never free its buffer.
                    self.poisoned = true;
                    return Err(e);
                }
            }
            for cqe in self.ring.completion() {
                seen += 1;
                let res = cqe.result();
                match (cqe.user_data(), res) {
                    (_, r) if r < 0 && r == -libc::ECANCELED => {} // linked fsync after a short write
                    (FSYNC_TAG, r) if r < 0 => {
                        let e = crate::backend::fsync_failed(io::Error::from_raw_os_error(-r));
                        first_err.get_or_insert(e);
                    }
                    (_, r) if r < 0 => {
                        first_err.get_or_insert(io::Error::from_raw_os_error(-r));
                    }
                    (WRITE_TAG, r) => wrote = r as usize,
                    (FSYNC_TAG, _) => synced = true,
                    _ => {}
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok((wrote, synced)),
        }
    }
}
