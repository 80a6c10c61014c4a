//! Goal: the `netdb_bundle` fuzz target's checked-in corpus (`fuzz/corpus/netdb_bundle/`,
//! including every input a campaign found failing) replays clean on stable Rust, without
//! cargo-fuzz: a whole-database snapshot bundle decodes to `Ok` or a clear error, never a panic
//! or an allocation larger than the input justifies, and what decodes round-trips. The logic is
//! the fuzz crate's own, included by path.

#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/alloc_guard.rs"]
mod alloc_guard;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/corpus.rs"]
mod corpus;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/input.rs"]
mod input;
#[allow(dead_code, reason = "shared with the fuzz crate, which uses all of it")]
#[path = "../../fuzz/src/netdb_decoders.rs"]
mod netdb_decoders;

#[global_allocator]
static ALLOC: alloc_guard::TrackingAlloc = alloc_guard::TrackingAlloc;

#[test]
fn netdb_bundle_corpus_replays_clean() {
    corpus::replay("netdb_bundle", netdb_decoders::netdb_bundle);
}
