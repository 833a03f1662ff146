//! A bounded cache of decoded read-model records, in front of the store.
//!
//! Decisions evaluated over the records rather than the store's decision index — the
//! audit query "who could act", which evaluates each candidate at every position where
//! a record its decision reads changed — read the same few record kinds and their
//! versions again and again; a sled point read and a JSON decode cost several
//! microseconds each, a hit here a hash lookup. (The PDP's decisions, now and as of a
//! position, read the decision index.) Entries are
//! values shared behind `Arc`, typed by the caller (the key's prefix fixes the kind),
//! and weighed by their encoded size so the cache's memory has a named bound.
//!
//! Invariant: the cache never answers with a value older than the store's after a
//! commit has returned. `Store::commit` invalidates every key it wrote once sled has
//! applied the batch; a load that read the store before that commit must not insert
//! its (stale) value afterwards, which the generation counter prevents (see
//! [`RecordCache::load`]). The cache knows nothing of sled or of the key layout.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Decoded records the store keeps in memory, by weight (about the encoded bytes).
pub const RECORD_CACHE_BYTES_MAX: u64 = 128 * 1024 * 1024;
/// What one entry costs beyond its key and encoded value: the map slot, the `Arc`s and
/// the decoded form's headers.
const ENTRY_OVERHEAD_BYTES: u64 = 96;

type Shared = Arc<dyn Any + Send + Sync>;

#[derive(Clone)]
struct Weigher;

impl quick_cache::Weighter<Vec<u8>, (Shared, u64)> for Weigher {
    fn weight(&self, key: &Vec<u8>, value: &(Shared, u64)) -> u64 {
        key.len() as u64 + value.1 + ENTRY_OVERHEAD_BYTES
    }
}

pub struct RecordCache {
    entries: quick_cache::sync::Cache<Vec<u8>, (Shared, u64), Weigher>,
    /// Bumped by every invalidation, under the write half of `invalidating`.
    generation: AtomicU64,
    /// Orders a load's insert against an invalidation (read half: insert; write half:
    /// remove and bump the generation).
    invalidating: RwLock<()>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl RecordCache {
    pub fn new(bytes_max: u64) -> RecordCache {
        let estimated_entries = (bytes_max / 512).max(16) as usize;
        RecordCache {
            entries: quick_cache::sync::Cache::with_weighter(estimated_entries, bytes_max, Weigher),
            generation: AtomicU64::new(0),
            invalidating: RwLock::new(()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value cached under `key`, or the one `read` returns (with its encoded size),
    /// which is then cached unless a commit invalidated keys while `read` ran.
    pub fn load<V: Clone + Send + Sync + 'static>(&self, key: &[u8], read: impl FnOnce() -> (V, u64)) -> V {
        if let Some((shared, _)) = self.entries.get(key) {
            if let Some(value) = shared.downcast_ref::<V>() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return value.clone();
            }
            // A key cached as another type is a caller's mistake; answer from the store.
            debug_assert!(false, "a cache key was read as two different types");
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation.load(Ordering::Acquire);
        let (value, bytes) = read();
        let _inserting = self.invalidating.read().unwrap_or_else(|p| p.into_inner());
        // If a commit invalidated anything since `read` began, what it read may predate
        // that commit: answer with it (as a read just before the commit would) but keep
        // it out of the cache.
        if self.generation.load(Ordering::Acquire) == generation {
            self.entries.insert(key.to_vec(), (Arc::new(value.clone()), bytes));
        }
        value
    }

    /// Forgets `keys`; called after the store has applied a batch writing them.
    pub fn invalidate<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) {
        let _removing = self.invalidating.write().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            self.entries.remove(key);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// (hits, misses) since the store opened.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// The weight held now, in bytes.
    pub fn weight_bytes(&self) -> u64 {
        self.entries.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_value_is_answered_again_without_reading() {
        let cache = RecordCache::new(1 << 20);
        assert_eq!(cache.load(b"k", || (Some(1u32), 4)), Some(1));
        assert_eq!(cache.load(b"k", || -> (Option<u32>, u64) { panic!("read again") }), Some(1));
        assert_eq!(cache.counts(), (1, 1));
    }

    #[test]
    fn an_invalidated_key_is_read_again() {
        let cache = RecordCache::new(1 << 20);
        cache.load(b"k", || (1u32, 4));
        cache.invalidate([b"k".as_slice()].into_iter());
        assert_eq!(cache.load(b"k", || (2u32, 4)), 2);
    }

    #[test]
    fn a_read_overtaken_by_an_invalidation_is_answered_but_not_kept() {
        let cache = RecordCache::new(1 << 20);
        let stale = cache.load(b"k", || {
            // A commit lands while this read is in flight.
            cache.invalidate([b"k".as_slice()].into_iter());
            (1u32, 4)
        });
        assert_eq!(stale, 1);
        assert_eq!(cache.load(b"k", || (2u32, 4)), 2, "the stale value was not cached");
    }

    #[test]
    fn the_weight_stays_within_its_bound() {
        let cache = RecordCache::new(64 * 1024);
        for i in 0..10_000u32 {
            cache.load(&i.to_be_bytes(), || (i, 200));
        }
        assert!(cache.weight_bytes() <= 64 * 1024, "weight {}", cache.weight_bytes());
    }
}
