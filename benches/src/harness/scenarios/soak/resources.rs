//! What the process holds, as the kernel reports it, sampled by the soak.

use std::path::Path;

use crate::harness::rss::rss_anon_bytes;

/// What the process holds, as the kernel reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resources {
    /// `RssAnon` in bytes (heap and other private memory).
    pub rss_anon_bytes: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Memory mappings (lines of `/proc/self/maps`).
    pub maps: u64,
    /// Threads.
    pub threads: u64,
    /// Disk blocks allocated under the directory sampled, in bytes.
    pub disk_bytes: u64,
}

/// Open file descriptors of this process, or `None` without `/proc`.
pub fn open_fds() -> Option<u64> {
    // The directory being read is itself one descriptor.
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count().saturating_sub(1) as u64)
}

/// Memory mappings of this process, or `None` without `/proc`.
pub fn mappings() -> Option<u64> {
    Some(std::fs::read_to_string("/proc/self/maps").ok()?.lines().count() as u64)
}

/// Threads of this process, or `None` without `/proc`.
pub fn threads() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:"))?.trim().parse().ok()
}

/// Bytes of disk allocated to the files under `dir` (as `du` counts them); files that vanish
/// while it walks are skipped.
pub fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

/// The process's resources now, and the disk use under `dir`; `None` without `/proc`.
pub fn resources(dir: &Path) -> Option<Resources> {
    Some(Resources {
        rss_anon_bytes: rss_anon_bytes()?,
        fds: open_fds()?,
        maps: mappings()?,
        threads: threads()?,
        disk_bytes: disk_bytes(dir),
    })
}
