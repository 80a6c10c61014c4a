//! Goal: the CortEX decoder fuzz targets' checked-in corpora (`fuzz/corpus/{cortex_event,
//! cortex_snapshot}/`, including every input a campaign found failing) replay clean on stable
//! Rust, without cargo-fuzz: envelopes, event bodies (through the tasks and memories folds) and
//! snapshots give `Ok` or a clear error, never a panic or an allocation larger than the input
//! justifies, and what decodes round-trips. The logic is the fuzz crate's own, included by path.

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/alloc_guard.rs"]
mod alloc_guard;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/corpus.rs"]
mod corpus;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/cortex_decoders.rs"]
mod cortex_decoders;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;

#[global_allocator]
static ALLOC: alloc_guard::TrackingAlloc = alloc_guard::TrackingAlloc;

#[test]
fn cortex_event_corpus_replays_clean() {
    corpus::replay("cortex_event", cortex_decoders::cortex_event);
}

#[test]
fn cortex_snapshot_corpus_replays_clean() {
    corpus::replay("cortex_snapshot", cortex_decoders::cortex_snapshot);
}
