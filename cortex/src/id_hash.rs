//! A fast, seeded hasher for `u64` ids, used by the primary maps of the models.
//!
//! `find_unique` is a single hash lookup, so the hash function is most of its cost. SipHash
//! (std's default) spends tens of nanoseconds on a `u64`; this one spends a multiply and a few
//! shifts. It is keyed per map with a random seed from std's `RandomState`, so ids chosen by
//! an outsider cannot be precomputed to collide on every machine.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Builds [`IdHasher`]s with one random seed per map.
#[derive(Debug, Clone)]
pub(crate) struct IdHashBuilder {
    seed: u64,
}

impl Default for IdHashBuilder {
    fn default() -> Self {
        IdHashBuilder { seed: RandomState::new().hash_one(0x5eed_u64) | 1 }
    }
}

impl BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher { state: self.seed }
    }
}

/// Multiply-xorshift hasher; meant for `u64` keys (other writes, such as the bytes of a short
/// string key, are folded in eight bytes at a time).
#[derive(Debug, Clone)]
pub(crate) struct IdHasher {
    state: u64,
}

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes per round, the length first so that zero padding cannot collide.
        self.write_u64(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Assembled in a register: a byte copy into a stack word and an 8-byte load back
            // would stall on store forwarding.
            let word = rest.iter().rev().fold(0u64, |w, &b| (w << 8) | u64::from(b));
            self.write_u64(word);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = (self.state ^ n).wrapping_mul(MULTIPLIER);
        self.state = x ^ (x >> 32);
    }

    fn finish(&self) -> u64 {
        // hashbrown takes buckets from the low bits and tags from the top seven: mix both.
        let x = self.state.wrapping_mul(MULTIPLIER);
        x ^ (x >> 29)
    }
}

/// A map from id to row with the fast hasher.
pub(crate) type IdMap<V> = std::collections::HashMap<u64, V, IdHashBuilder>;

/// A map keyed by short strings (tags, sources) with the fast hasher.
pub(crate) type StrMap<K, V> = std::collections::HashMap<K, V, IdHashBuilder>;
