//! batpak 0.10 (crates.io): an embedded, hash-chained event store with a background writer
//! thread and msgpack payloads.
//!
//! How the harness drives it:
//!
//! - Every event goes to one coordinate (`bench:entity` / `bench:scope`) with one custom kind,
//!   so it forms one ordered stream like a RedEX channel.
//! - Payloads are opaque bytes, sent as a msgpack `bin` value: single appends pass a wrapper
//!   that serialises as bytes; batches are prebuilt `from_msgpack_bytes` items. Its batch API
//!   takes owned items, so each batch call clones the payloads into them (timed, since any user
//!   of that API pays it).
//! - It has no heap-only mode, no count retention (only compaction) and no timed fsync policy;
//!   `never` maps to `sync_every_n_events(u32::MAX)` and `every-n:N` to `sync_every_n_events(N)`.
//!   Its `append_batch` makes each batch durable before it returns, whatever the cadence.
//! - Reads page through `query_entries_after` over all events in commit order and fetch each
//!   payload with `read_raw` (batpak's point read without JSON decoding). Bytes counted are the
//!   stored msgpack bytes, a 2 to 5 byte header more than the payload.

use std::path::Path;
use std::sync::Arc;

use batpak::prelude::{
    AppendOptions, Coordinate, EventKind, KindFilter, Region, Store, StoreConfig,
};
use batpak::store::{BatchAppendItem, CausationRef};
use redex::Bytes;

use crate::harness::options::FsyncArg;
use crate::harness::system::{Capability, Log, LogSpec, LogSystem, SharedLog};
use crate::harness::Result;

/// batpak's event store.
#[derive(Debug, Clone, Copy)]
pub struct Batpak;

struct BatpakLog {
    store: Option<Arc<Store>>,
    coord: Coordinate,
    kind: EventKind,
}

/// A payload that serialises as msgpack `bin`, so batpak stores the bytes as they are.
struct RawBytes<'a>(&'a [u8]);

impl serde::Serialize for RawBytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// `payload` encoded as a msgpack `bin 8/16/32` value.
#[expect(clippy::big_endian_bytes, reason = "msgpack lengths are big-endian by its spec")]
fn msgpack_bin(payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = Vec::with_capacity(len + 5);
    if let Ok(n) = u8::try_from(len) {
        out.push(0xc4);
        out.push(n);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(0xc5);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

fn err(what: &str, e: impl std::fmt::Display) -> crate::harness::Error {
    format!("batpak {what}: {e}").into()
}

fn all_events() -> Region {
    Region::all().with_fact(KindFilter::Any)
}

impl LogSystem for Batpak {
    fn name(&self) -> &'static str {
        "batpak"
    }

    fn supports(&self, capability: Capability) -> std::result::Result<(), String> {
        match capability {
            Capability::HeapLog => Err("no heap-only mode".into()),
            Capability::RetentionEvents => Err("no count retention (compaction only)".into()),
            Capability::FsyncPolicy(FsyncArg::IntervalMs(_)) => {
                Err("no timed fsync policy (every-n only)".into())
            }
            Capability::AppendBackend(_) => Err("no selectable append backend".into()),
            Capability::ReadBorrowed => Err("no borrowed read (reads return owned events)".into()),
            Capability::FrozenSegments => Err("no mmap warm tier".into()),
            Capability::CortexModels => Err("no fold layer (an event store only)".into()),
            _ => Ok(()),
        }
    }

    fn open(&self, spec: &LogSpec, _channel: &str, dir: Option<&Path>) -> Result<Box<dyn Log>> {
        let (true, Some(dir)) = (spec.persistent, dir) else {
            return Err("batpak has no heap-only mode".into());
        };
        let every_n = match spec.fsync {
            FsyncArg::EveryN(n) => u32::try_from(n.max(1)).unwrap_or(u32::MAX),
            FsyncArg::Never | FsyncArg::IntervalMs(_) => u32::MAX,
        };
        let mut config = StoreConfig::new(dir).with_sync_every_n_events(every_n);
        if let Some(bytes) = spec.segment_bytes {
            config = config.with_segment_max_bytes(bytes);
        }
        let store = Store::open(config).map_err(|e| err("open", e))?;
        let coord =
            Coordinate::new("bench:entity", "bench:scope").map_err(|e| err("coordinate", e))?;
        Ok(Box::new(BatpakLog {
            store: Some(Arc::new(store)),
            coord,
            kind: EventKind::custom(0xF, 1),
        }))
    }
}

impl BatpakLog {
    fn store(&self) -> Result<&Store> {
        self.store.as_deref().ok_or_else(|| "batpak store already closed".into())
    }
}

impl Log for BatpakLog {
    fn append(&mut self, payload: &[u8]) -> Result<()> {
        let _receipt = self
            .store()?
            .append(&self.coord, self.kind, &RawBytes(payload))
            .map_err(|e| err("append", e))?;
        Ok(())
    }

    fn append_batch(&mut self, batch: &[Bytes]) -> Result<()> {
        let items = batch
            .iter()
            .map(|p| {
                BatchAppendItem::from_msgpack_bytes(
                    self.coord.clone(),
                    self.kind,
                    msgpack_bin(p),
                    AppendOptions::default(),
                    CausationRef::None,
                )
            })
            .collect();
        self.store()?.append_batch(items).map_err(|e| err("append_batch", e))?;
        Ok(())
    }

    fn scan(
        &mut self,
        chunk_events: Option<u64>,
        on_chunk: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let store = self.store()?;
        let region = all_events();
        let limit =
            chunk_events.map_or(usize::MAX, |c| usize::try_from(c.max(1)).unwrap_or(usize::MAX));
        let mut after = None;
        loop {
            let page = store.query_entries_after(&region, after, limit);
            let Some(last) = page.last() else { break };
            after = Some(last.global_sequence());
            let (mut events, mut bytes) = (0u64, 0u64);
            // The store adds a few system events of its own (reserved kinds); skip them.
            for entry in page.iter().filter(|e| e.event_kind() == self.kind) {
                let event = store.read_raw(entry.event_id()).map_err(|e| err("read_raw", e))?;
                bytes += event.event.payload.len() as u64;
                events += 1;
            }
            on_chunk(events, bytes);
            if page.len() < limit {
                break;
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.store()?.sync().map_err(|e| err("sync", e))
    }

    fn shared(&self) -> Result<Arc<dyn SharedLog>> {
        let store = self.store.clone().ok_or("batpak store already closed")?;
        Ok(Arc::new(SharedStore { store, coord: self.coord.clone(), kind: self.kind }))
    }

    /// Counted with one index query (of the bench kind only, not the store's own system
    /// events): not for timed code.
    fn retained_events(&self) -> u64 {
        let ours = Region::all().with_fact(KindFilter::Exact(self.kind));
        self.store.as_ref().map_or(0, |s| s.query(&ours).len() as u64)
    }

    fn next_seq(&self) -> u64 {
        self.retained_events()
    }

    /// Closes the store once every shared handle is gone (dropping the last one closes it
    /// otherwise, through batpak's `Drop`).
    fn close(mut self: Box<Self>) -> Result<()> {
        if let Some(store) = self.store.take().and_then(|s| Arc::try_unwrap(s).ok()) {
            store.close().map_err(|e| err("close", e))?;
        }
        Ok(())
    }
}

/// The store shared between appender threads (a batpak `Store` is `Send + Sync`). It has no
/// per-call durable append, so each call is `append` then `sync()`.
struct SharedStore {
    store: Arc<Store>,
    coord: Coordinate,
    kind: EventKind,
}

impl SharedLog for SharedStore {
    fn durable_op(&self) -> &'static str {
        "append+sync"
    }

    fn append_durable(&self, payload: &[u8]) -> Result<()> {
        let _receipt = self
            .store
            .append(&self.coord, self.kind, &RawBytes(payload))
            .map_err(|e| err("append", e))?;
        self.store.sync().map_err(|e| err("sync", e))
    }
}
