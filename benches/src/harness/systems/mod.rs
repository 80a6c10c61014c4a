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

pub mod ours;
#[cfg(feature = "peers")]
pub mod peer_batpak;
#[cfg(feature = "peers")]
pub mod peer_net_mesh;

use super::system::LogSystem;

/// Every system this build can run, ours first.
pub fn all() -> super::Result<Vec<Box<dyn LogSystem>>> {
    #[allow(unused_mut)]
    let mut systems: Vec<Box<dyn LogSystem>> = vec![Box::new(ours::Ours)];
    #[cfg(feature = "peers")]
    {
        systems.push(Box::new(peer_net_mesh::NetMesh::new()?));
        systems.push(Box::new(peer_batpak::Batpak));
    }
    Ok(systems)
}
