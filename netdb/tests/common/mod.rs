//! Shared by the integration tests: a small custom model (a key-value map) and workloads
//! that touch every kind of event of every model.
#![allow(dead_code, reason = "each test file uses a different part of the helpers")]
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on any error")]

use std::collections::BTreeMap;

use cortex::{CortexAdapter, FoldError, FoldEvent, RedexFold};
use netdb::{NetDb, NetDbConfig};
use redex::{FsyncPolicy, RedexFileConfig};
use serde::{Deserialize, Serialize};

/// Name (and channel) of the custom model.
pub const KV: &str = "test/kv";
/// Dispatch byte of a put: body `(u64, String)`.
pub const KV_PUT: u8 = 1;
/// Dispatch byte of a delete: body `u64`.
pub const KV_DELETE: u8 = 2;

/// The custom model's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvState {
    pub entries: BTreeMap<u64, String>,
    pub writes: u64,
}

/// The custom model's fold.
#[derive(Debug)]
pub struct KvFold;

impl RedexFold<KvState> for KvFold {
    fn apply(&self, state: &mut KvState, event: &FoldEvent) -> Result<(), FoldError> {
        match event.meta.dispatch {
            KV_PUT => {
                let (k, v): (u64, String) =
                    postcard::from_bytes(&event.payload).map_err(FoldError::invalid_payload)?;
                state.entries.insert(k, v);
            }
            KV_DELETE => {
                let k: u64 =
                    postcard::from_bytes(&event.payload).map_err(FoldError::invalid_payload)?;
                state.entries.remove(&k);
            }
            other => return Err(FoldError::unknown_dispatch(other)),
        }
        state.writes += 1;
        Ok(())
    }
}

pub fn kv_put(kv: &CortexAdapter<KvState>, key: u64, value: &str, now: u64) -> u64 {
    kv.append(KV_PUT, now, &postcard::to_allocvec(&(key, value)).unwrap()).unwrap()
}

pub fn kv_delete(kv: &CortexAdapter<KvState>, key: u64, now: u64) -> u64 {
    kv.append(KV_DELETE, now, &postcard::to_allocvec(&key).unwrap()).unwrap()
}

/// Heap-only configuration with all three models.
pub fn all_models() -> NetDbConfig {
    NetDbConfig::default().origin(0x5eed).with_tasks().with_memories().with_custom(KV, KvFold)
}

/// Persistent configuration with all three models and small segments, so history rolls into
/// frozen segments.
pub fn all_models_persistent() -> NetDbConfig {
    all_models()
        .file_config(RedexFileConfig::default().with_segment_bytes_max(4096))
        .persistent(true)
        .fsync_policy(FsyncPolicy::EveryN(16))
}

/// Writes `range` steps of a deterministic workload to every model; returns the last seq of
/// each (tasks, memories, kv).
pub fn write_all(db: &NetDb, range: std::ops::Range<u64>) -> (u64, u64, u64) {
    let kv = db.custom::<KvState>(KV).unwrap();
    let (mut t, mut m, mut k) = (0, 0, 0);
    for i in range {
        let id = i % 50;
        t = match i % 5 {
            0 | 1 => db.tasks().create(id, &format!("task {i}"), i),
            2 => db.tasks().complete(id, i),
            3 => db.tasks().rename(id, &format!("renamed {i}"), i),
            _ => db.tasks().delete(id / 2, i),
        }
        .unwrap();
        let tags: &[&str] = if i % 2 == 0 { &["even", "all"] } else { &["odd", "all"] };
        m = match i % 4 {
            0 | 1 => db.memories().store(id, &format!("memory {i}"), tags, "test", i),
            2 => db.memories().pin(id, i),
            _ => db.memories().retag(id, &["retagged"], i),
        }
        .unwrap();
        k = if i % 6 == 5 { kv_delete(kv, id, i) } else { kv_put(kv, id, &format!("v{i}"), i) };
    }
    (t, m, k)
}

/// Waits until every model folded its seq.
pub async fn wait_all(db: &NetDb, (t, m, k): (u64, u64, u64)) {
    db.tasks().wait_for_seq(t).await.unwrap();
    db.memories().wait_for_seq(m).await.unwrap();
    db.custom::<KvState>(KV).unwrap().wait_for_seq(k).await.unwrap();
}

/// Every model's state, for comparison.
pub fn states(db: &NetDb) -> (cortex::tasks::TasksState, cortex::memories::MemoriesState, KvState) {
    (
        db.tasks().state().read().clone(),
        db.memories().state().read().clone(),
        db.custom::<KvState>(KV).unwrap().state().read().clone(),
    )
}
