//! The systems under test, one file each: our engine always, the peers with the `peers` feature.
//!
//! How each maps the harness's knobs to its own:
//!
//! | knob              | redex                        | net-mesh                      | batpak                              |
//! |-------------------|------------------------------|-------------------------------|-------------------------------------|
//! | heap log          | `Redex::new()`               | `Redex::new()`                | none (disk only)                    |
//! | `never`           | `FsyncPolicy::Never`         | `FsyncPolicy::Never`          | `sync_every_n_events(u32::MAX)`     |
//! | `every-n:N`       | `FsyncPolicy::EveryN(N)`     | `FsyncPolicy::EveryN(N)`      | `sync_every_n_events(N)`            |
//! | `interval-ms:N`   | `FsyncPolicy::Interval`      | `FsyncPolicy::Interval`       | none                                |
//! | retention (count) | `Retention::events(N)`       | `retention_max_events(N)` + `sweep_retention()` every N/10 appended events | none (compaction only) |
//! | read              | `read_range`                 | `read_range`                  | `query_entries_after` pages + `read_raw` per event |
//! | append backend    | `with_append_backend`        | none                          | none                                |
//! | durable append    | `append_durable` (group commit) | `append` + `sync()`        | `append` + `sync()`                 |
//! | several appender threads | clones of `RedexFile` | clones of `RedexFile`        | one shared `Store`                  |

pub mod ours;
#[cfg(feature = "peers")]
pub mod peer_batpak;
#[cfg(feature = "peers")]
pub mod peer_net_mesh;

use super::options::BackendArg;
use super::system::LogSystem;

/// Every system this build can run, ours first (twice, `redex:io_uring` then `redex:std`, with
/// `--backend both`).
pub fn all(backend: BackendArg) -> super::Result<Vec<Box<dyn LogSystem>>> {
    let mut systems: Vec<Box<dyn LogSystem>> = Vec::new();
    for (b, name) in backend.systems() {
        systems.push(Box::new(ours::Ours::new(name, b)));
    }
    #[cfg(feature = "peers")]
    {
        systems.push(Box::new(peer_net_mesh::NetMesh::new()?));
        systems.push(Box::new(peer_batpak::Batpak));
    }
    Ok(systems)
}
