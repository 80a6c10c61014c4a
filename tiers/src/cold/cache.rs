//! [`ColdCache`]: a bounded, least-recently-used cache of bytes fetched from a cold store
//! (index sections and log blocks), so repeated reads of cold history do not refetch.
//!
//! The budget bounds the bytes the cache itself holds. A reader still holding a payload slice
//! keeps that block's memory alive after eviction, as with any `Bytes`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use super::ColdKey;

/// Which part of an object a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The header and index section.
    Index,
    /// Block `n` of the log section (`n * block_bytes` onwards).
    LogBlock(u64),
}

type Key = (ColdKey, Part);

/// Entries by object, then part, so a lookup borrows the key instead of cloning it.
#[derive(Debug, Default)]
struct Lru {
    entries: HashMap<ColdKey, HashMap<Part, (Bytes, u64)>>,
    by_age: BTreeMap<u64, Key>,
    used: u64,
    clock: u64,
}

impl Lru {
    fn remove(&mut self, key: &ColdKey, part: Part) -> Option<(Bytes, u64)> {
        let parts = self.entries.get_mut(key)?;
        let gone = parts.remove(&part);
        if parts.is_empty() {
            self.entries.remove(key);
        }
        if let Some((bytes, age)) = &gone {
            self.used -= bytes.len() as u64;
            self.by_age.remove(age);
        }
        gone
    }
}

/// Counters of a [`ColdCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to fetch.
    pub misses: u64,
    /// Entries evicted to stay within the budget.
    pub evictions: u64,
    /// Bytes held now.
    pub bytes: u64,
    /// The budget.
    pub budget: u64,
}

/// A byte-budgeted LRU cache of fetched object parts.
#[derive(Debug)]
pub struct ColdCache {
    budget: u64,
    lru: Mutex<Lru>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl ColdCache {
    /// A cache holding at most `budget` bytes.
    pub fn new(budget: u64) -> Self {
        ColdCache {
            budget,
            lru: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The cached bytes of `part` of `key`, marking them recently used.
    pub fn get(&self, key: &ColdKey, part: Part) -> Option<Bytes> {
        let mut lru = self.lru.lock();
        let lru = &mut *lru;
        lru.clock += 1;
        let now = lru.clock;
        let found =
            lru.entries.get_mut(key).and_then(|parts| parts.get_mut(&part)).map(|(bytes, age)| {
                let old = std::mem::replace(age, now);
                (bytes.clone(), old)
            });
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        let (bytes, old) = found?;
        if let Some(k) = lru.by_age.remove(&old) {
            lru.by_age.insert(now, k);
        }
        Some(bytes)
    }

    /// Whether `part` of `key` is cached (without counting a hit or miss or refreshing it).
    pub fn contains(&self, key: &ColdKey, part: Part) -> bool {
        self.lru.lock().entries.get(key).is_some_and(|parts| parts.contains_key(&part))
    }

    /// Caches `bytes` as `part` of `key`, evicting the least recently used entries to stay
    /// within the budget. Anything larger than the whole budget is not cached.
    pub fn insert(&self, key: &ColdKey, part: Part, bytes: Bytes) {
        let len = bytes.len() as u64;
        let mut lru = self.lru.lock();
        let lru = &mut *lru;
        lru.remove(key, part);
        if len > self.budget {
            return;
        }
        lru.clock += 1;
        let now = lru.clock;
        lru.entries.entry(key.clone()).or_default().insert(part, (bytes, now));
        lru.by_age.insert(now, (key.clone(), part));
        lru.used += len;
        while lru.used > self.budget {
            let Some((_, (victim, victim_part))) =
                lru.by_age.first_key_value().map(|(a, k)| (*a, k.clone()))
            else {
                break;
            };
            lru.remove(&victim, victim_part);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets every part of `key` (its object was deleted or found damaged).
    pub fn forget(&self, key: &ColdKey) {
        let mut lru = self.lru.lock();
        let parts: Vec<Part> =
            lru.entries.get(key).map(|parts| parts.keys().copied().collect()).unwrap_or_default();
        for part in parts {
            lru.remove(key, part);
        }
    }

    /// Its counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            bytes: self.lru.lock().used,
            budget: self.budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against a model: the cache never exceeds its budget, returns only what was inserted
        /// for that key, and keeps the most recently used entries that fit.
        #[test]
        fn stays_within_budget_and_returns_what_was_inserted(
            budget in 1u64..200,
            ops in proptest::collection::vec((0u64..6, 0usize..80, any::<bool>()), 1..200),
        ) {
            let cache = ColdCache::new(budget);
            let mut model: HashMap<u64, Bytes> = HashMap::new();
            for (i, (block, len, insert)) in ops.into_iter().enumerate() {
                let key = ColdKey::new("c", 0);
                if insert {
                    let bytes = Bytes::from(vec![i as u8; len]);
                    cache.insert(&key, Part::LogBlock(block), bytes.clone());
                    model.insert(block, bytes);
                } else if let Some(got) = cache.get(&key, Part::LogBlock(block)) {
                    prop_assert_eq!(Some(&got), model.get(&block));
                }
                let stats = cache.stats();
                prop_assert!(stats.bytes <= budget);
            }
        }
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let cache = ColdCache::new(30);
        let key = ColdKey::new("c", 0);
        for b in 0..3 {
            cache.insert(&key, Part::LogBlock(b), Bytes::from(vec![b as u8; 10]));
        }
        assert!(cache.get(&key, Part::LogBlock(0)).is_some());
        cache.insert(&key, Part::LogBlock(3), Bytes::from(vec![3; 10]));
        assert!(cache.get(&key, Part::LogBlock(1)).is_none(), "1 was least recently used");
        assert!(cache.get(&key, Part::LogBlock(0)).is_some());
        assert!(cache.get(&key, Part::LogBlock(2)).is_some());
        cache.forget(&key);
        assert_eq!(cache.stats().bytes, 0);
        cache.insert(&key, Part::Index, Bytes::from(vec![0; 31]));
        assert_eq!(cache.stats().bytes, 0, "larger than the budget: not cached");
    }
}
