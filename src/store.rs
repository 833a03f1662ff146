//! The read model on disk: the one module that knows sled.
//!
//! All records live in one sled tree (the domain's key layout prefixes each kind), so a
//! projected batch — its records, outcomes and the log position it reached — is one
//! atomic `apply_batch`. After a crash sled recovers a prefix of batches, and since the
//! position travels with its state, the projector resumes exactly where the state is.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use crate::cache::{RecordCache, RECORD_CACHE_BYTES_MAX};
use crate::domain::change::{Change, Commit};
use crate::domain::index::DecisionIndex;
use crate::domain::model::{decode_record, digest, history, keys, Kv, Record, Versions, Write};

const TREE: &str = "read-model";
/// Facts about the store itself, outside the read model and its digest.
const STORE_META_TREE: &str = "store-meta";
const LOG_IDENTITY_KEY: &[u8] = b"log";
const LAYOUT_KEY: &[u8] = b"layout";
/// sled's page cache; bounded so the resident set stays predictable.
pub const CACHE_BYTES_MAX: u64 = 32 * 1024 * 1024;

/// Garbage bags of crossbeam-epoch's collector one commit offers for collection per
/// key it wrote (a bag holds up to 64 deferred frees, and one flush collects a few bags).
const EPOCH_FLUSHES_PER_KEY: f64 = 1.0 / 64.0;
/// Most flushes one commit makes, whatever its size.
const EPOCH_FLUSHES_MAX: usize = 1024;

/// How long `open` waits for a read model's file lock, and how often it tries.
const OPEN_LOCK_WAIT_MS_MAX: u64 = 2_000;
const OPEN_LOCK_RETRY_MS: u64 = 20;
/// Scans of the whole read model one digest request may make while commits keep
/// landing during them (each such scan mixes two states and is thrown away).
pub const DIGEST_SCANS_MAX: u32 = 3;

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    meta: sled::Tree,
    /// Decoded records for the PDP's reads; every commit invalidates what it wrote.
    cache: Arc<RecordCache>,
    /// The current decision facts, folded from the tree at open and kept in step by
    /// every commit.
    index: Arc<RwLock<DecisionIndex>>,
    /// Keys put or removed by every commit so far: the benchmark's keys-per-event figure.
    keys_written: Arc<AtomicU64>,
    /// The last consistent digest and its position; the lock also makes one caller at
    /// a time scan (a scan of a national-scale read model takes minutes).
    digest_memo: Arc<Mutex<Option<(u64, String)>>>,
    /// Whole-read-model scans made for digests (tests check the memo with it).
    digest_scans: Arc<AtomicU64>,
    /// The first I/O failure sled reported. sled takes nothing more after one (its
    /// error is sticky until it is reopened), so the ledger stops writing and says why.
    failure: Arc<Mutex<Option<String>>>,
}

/// One kind's share of the read model ([`Store::census`]).
#[derive(Debug, Clone, Copy)]
pub struct Census {
    pub kind: keys::Kind,
    /// For history entries, the kind of record they are versions of.
    pub versioned: Option<keys::Kind>,
    pub entries: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "read model: {}", self.0)
    }
}
impl std::error::Error for StoreError {}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let is_locked = |e: &sled::Error| matches!(e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock"));
        // sled's background flusher keeps a dropped database's file lock for a moment, so
        // a store reopened right after it was closed (a restart, `rebuild` then `serve`)
        // waits a bounded time for the lock before calling the directory in use.
        let started = std::time::Instant::now();
        let db = loop {
            match sled::Config::new().path(dir).cache_capacity(CACHE_BYTES_MAX).open() {
                Err(e) if is_locked(&e) && started.elapsed().as_millis() < u128::from(OPEN_LOCK_WAIT_MS_MAX) => {
                    std::thread::sleep(std::time::Duration::from_millis(OPEN_LOCK_RETRY_MS));
                }
                Err(e) if is_locked(&e) => {
                    return Err(StoreError(format!(
                        "{} is in use by another ledger process (stop it first): {e}",
                        dir.display()
                    )))
                }
                Err(other) => return Err(StoreError(other.to_string())),
                Ok(db) => break db,
            }
        };
        let tree = db.open_tree(TREE)?;
        let meta = db.open_tree(STORE_META_TREE)?;
        Ok(Store::assemble(db, tree, meta))
    }

    fn assemble(db: sled::Db, tree: sled::Tree, meta: sled::Tree) -> Store {
        let cache = Arc::new(RecordCache::new(RECORD_CACHE_BYTES_MAX));
        // Nothing commits before `assemble` returns, so the scans see one state.
        let index = load_index(&tree);
        Store {
            db,
            tree,
            meta,
            cache,
            index: Arc::new(RwLock::new(index)),
            keys_written: Arc::new(AtomicU64::new(0)),
            digest_memo: Arc::new(Mutex::new(None)),
            digest_scans: Arc::new(AtomicU64::new(0)),
            failure: Arc::new(Mutex::new(None)),
        }
    }

    /// Records which log this read model follows and the layout it is written in, or
    /// refuses: positions of one log mean nothing on a different one, and a read model
    /// an older build wrote in another layout would be misread, not just slow.
    pub fn bind_log(&self, identity: &str) -> Result<(), StoreError> {
        let layout = self.meta.get(LAYOUT_KEY)?.map(|v| String::from_utf8_lossy(&v).into_owned());
        let current = keys::LAYOUT.to_string();
        match layout {
            Some(l) if l == current => {}
            // A store written before layouts were recorded holds entries but no layout.
            found if found.is_some() || self.tree.first()?.is_some() => {
                return Err(StoreError(format!(
                    "this read model is in layout {}, this build reads layout {current}: stop the ledger and \
                     run `ledger rebuild` on this data directory (the log is untouched)",
                    found.unwrap_or_else(|| "1".to_owned())
                )))
            }
            _ => {
                self.meta.insert(LAYOUT_KEY, current.as_bytes())?;
            }
        }
        match self.meta.get(LOG_IDENTITY_KEY)? {
            Some(bound) if bound.as_ref() != identity.as_bytes() => Err(StoreError(format!(
                "this read model follows log '{}', not '{identity}'; use a new data directory for another log",
                String::from_utf8_lossy(&bound)
            ))),
            Some(_) => Ok(()),
            None => {
                self.meta.insert(LOG_IDENTITY_KEY, identity.as_bytes())?;
                self.db.flush()?;
                Ok(())
            }
        }
    }

    /// A store that lives in memory and disappears on drop (tests, `verify`).
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        let tree = db.open_tree(TREE)?;
        let meta = db.open_tree(STORE_META_TREE)?;
        Ok(Store::assemble(db, tree, meta))
    }

    /// Writes one projected batch atomically.
    pub fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let Commit { writes, changes } = commit;
        let mut batch = sled::Batch::default();
        let mut written = Vec::with_capacity(writes.len());
        let reached = writes.iter().rev().find_map(|w| match w {
            Write::Put(k, v) if k.as_slice() == keys::META_POSITION => {
                Some(u64::from_be_bytes(v.as_slice().try_into().expect("a position is 8 bytes")))
            }
            _ => None,
        });
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    written.push(k.clone());
                    batch.insert(k, v)
                }
                Write::Delete(k) => {
                    written.push(k.clone());
                    batch.remove(k)
                }
            }
        }
        self.tree.apply_batch(batch).map_err(|e| self.failed(e))?;
        self.keys_written.fetch_add(written.len() as u64, Ordering::Relaxed);
        release_replaced_nodes(written.len());
        // After sled holds the batch, as for the cache below; under the write lock, so
        // a decision reads the facts of one commit boundary, never half a commit.
        {
            let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
            index.fold(&changes);
            if let Some(position) = reached {
                index.reach(position);
            }
        }
        // Only after sled holds the batch: a read between the two answers the state
        // before this commit, never a mix the cache then keeps.
        // A version key changes two cached entries: the record's versions, and the
        // record itself (cached under its own key, where reads look).
        let records: Vec<Vec<u8>> = written
            .iter()
            .filter(|k| history::versions_cache_key(k).is_some())
            .map(|k| history::parse_version_key(k).0)
            .collect();
        self.cache.invalidate(
            written
                .iter()
                .flat_map(|k| std::iter::once(k.as_slice()).chain(history::versions_cache_key(k)))
                .chain(records.iter().map(Vec::as_slice)),
        );
        Ok(())
    }

    /// Keys put or removed by the commits of this process (not persisted).
    pub fn keys_written(&self) -> u64 {
        self.keys_written.load(Ordering::Relaxed)
    }

    /// The decision facts, now and (through `DecisionIndex::at`) as of any position. A
    /// decision holds this guard while it reads (a microsecond or two), so it sees the
    /// state after one whole commit.
    pub fn decision_index(&self) -> RwLockReadGuard<'_, DecisionIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The decision index folded afresh from the versions on disk (what `open` builds;
    /// the tests compare it with the one commits maintained). Call it where
    /// nothing commits: the scans are not a snapshot.
    pub fn load_decision_index(&self) -> DecisionIndex {
        load_index(&self.tree)
    }

    /// (hits, misses) of the decoded-record cache since the store opened.
    pub fn cache_counts(&self) -> (u64, u64) {
        self.cache.counts()
    }

    /// Forces everything committed so far to disk (on shutdown; the log is the
    /// durability boundary, so this only shortens the catch-up after a restart).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// SHA-256 over every entry in key order. A commit landing during the scan mixes
    /// two states into it (sled's iterators are not snapshots): use it only where
    /// nothing commits, or use [`Store::digest_at_position`].
    pub fn digest(&self) -> String {
        self.digest_scans.fetch_add(1, Ordering::Relaxed);
        digest(self.tree.iter().map(|r| r.unwrap_or_else(|e| self.fatal(e))))
    }

    /// The digest of the read model at one position, and that position. Every commit
    /// moves the position, so an unchanged position across a scan proves no commit
    /// landed during it; a scan that saw one is made again, up to `DIGEST_SCANS_MAX`
    /// times. The answer is remembered until the position moves.
    pub fn digest_at_position(&self) -> Result<(u64, String), StoreError> {
        let mut memo = self.digest_memo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for _ in 0..DIGEST_SCANS_MAX {
            let before = self.stored_position();
            if let Some((position, digest)) = memo.as_ref().filter(|(position, _)| *position == before) {
                return Ok((*position, digest.clone()));
            }
            let digest = self.digest();
            if self.stored_position() == before {
                *memo = Some((before, digest.clone()));
                return Ok((before, digest));
            }
        }
        Err(StoreError(format!(
            "the read model changed during each of {DIGEST_SCANS_MAX} scans for its digest; ask again when writes pause"
        )))
    }

    /// The position as sled holds it now, past the record cache (whose invalidation
    /// follows a commit by a moment).
    fn stored_position(&self) -> u64 {
        self.raw_get(keys::META_POSITION).map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes"))).unwrap_or(0)
    }

    /// Scans of the whole read model made for digests since the store opened.
    pub fn digest_scans(&self) -> u64 {
        self.digest_scans.load(Ordering::Relaxed)
    }

    /// Every entry in key order, streamed.
    pub fn entries(&self) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
        self.tree.iter().map(|r| {
            let (k, v) = r.unwrap_or_else(|e| self.fatal(e));
            (k.to_vec(), v.to_vec())
        })
    }

    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Entries, key bytes and value bytes of each kind of record (versions counted by
    /// the kind they version), in key order of first appearance: what the read model
    /// spends its disk on. A scan of the whole tree; call it where nothing commits.
    pub fn census(&self) -> Vec<Census> {
        let mut rows: Vec<Census> = Vec::new();
        for (key, value) in self.tree.iter().map(|r| r.unwrap_or_else(|e| self.fatal(e))) {
            let kind = keys::Kind::of(&key).unwrap_or_else(|| panic!("a key of no kind in the read model: {key:?}"));
            let versioned =
                (kind == keys::Kind::History).then(|| keys::Kind::of(&history::parse_version_key(&key).0)).flatten();
            let row = match rows.iter_mut().position(|r| r.kind == kind && r.versioned == versioned) {
                Some(i) => &mut rows[i],
                None => {
                    rows.push(Census { kind, versioned, entries: 0, key_bytes: 0, value_bytes: 0 });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.entries += 1;
            row.key_bytes += key.len() as u64;
            row.value_bytes += value.len() as u64;
        }
        rows
    }
}

fn load_index(tree: &sled::Tree) -> DecisionIndex {
    let started = std::time::Instant::now();
    let index = DecisionIndex::load(Change::version_prefixes().flat_map(|prefix| {
        tree.scan_prefix(prefix).map(|r| {
            let (k, v) = r.expect(IO_FATAL);
            (k.to_vec(), v.to_vec())
        })
    }));
    let mut index = index;
    if let Some(position) = tree.get(keys::META_POSITION).expect(IO_FATAL) {
        index.reach(u64::from_be_bytes(position.as_ref().try_into().expect("a position is 8 bytes")));
    }
    let counts = index.counts();
    if counts.total() > 0 {
        // At national scale this scan is most of the time `ledger serve` takes to start.
        tracing::info!(
            facts = counts.total(),
            ?counts,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "decision index loaded"
        );
    }
    index
}

const IO_FATAL: &str = "read-model I/O failed; restart the ledger to recover from the log";

impl Store {
    /// Records sled's I/O failure (the first one), and returns it as an error.
    fn failed(&self, e: sled::Error) -> StoreError {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert_with(|| e.to_string());
        StoreError(e.to_string())
    }

    /// A read that sled could not make: recorded, then a panic, since a `Kv` read has
    /// no error to return and a wrong answer is worse than none. The HTTP layer turns
    /// the panic into 503 `storage_unavailable`.
    fn fatal(&self, e: sled::Error) -> ! {
        self.failed(e.clone());
        panic!("{IO_FATAL}: {e:?}")
    }

    /// sled's first I/O failure since the store opened, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Kv for Store {
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.tree.get(key).unwrap_or_else(|e| self.fatal(e)).map(|v| v.to_vec())
    }
    fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.tree
            .scan_prefix(prefix)
            .map(|r| {
                let (k, v) = r.unwrap_or_else(|e| self.fatal(e));
                (k.to_vec(), v.to_vec())
            })
            .collect()
    }
    fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        self.tree.range(floor..=ceiling).next_back().map(|r| {
            let (k, v) = r.unwrap_or_else(|e| self.fatal(e));
            (k.to_vec(), v.to_vec())
        })
    }
    // Cached under the record's own key (versioned or not): one lookup, no key to build.
    fn shared<T: Record>(&self, key: &[u8]) -> Option<Arc<T>> {
        self.cache.load(key, || match self.get(key) {
            Some(bytes) => (Some(Arc::new(decode_record(&bytes))), bytes.len() as u64),
            None => (None, 0),
        })
    }
    fn versions<T: Record>(&self, key: &[u8]) -> Arc<Versions<T>> {
        self.cache.load(&history::versions_key(key), || {
            let versions = history::read_versions(self, key);
            let bytes = versions.iter().map(|(_, v)| 8 + v.as_ref().map_or(0, Vec::len) as u64).sum();
            let decoded = versions.into_iter().map(|(i, v)| (i, v.map(|b| Arc::new(decode_record(&b)))));
            (Arc::new(decoded.collect()), bytes)
        })
    }
    fn page(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        debug_assert!(!history::is_versioned(prefix), "pages are read over indexes kept as written");
        let start = match after {
            Some(a) => std::ops::Bound::Excluded(a.to_vec()),
            None => std::ops::Bound::Included(prefix.to_vec()),
        };
        self.tree
            .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
            .map(|r| r.unwrap_or_else(|e| self.fatal(e)))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }
}

/// Lets crossbeam-epoch free the node copies sled replaced in a commit. sled 0.34 defers
/// each freed page to the epoch collector, which advances only when a thread pins and
/// flushes; a projection that only writes left it so far behind that a 3-million-key
/// load kept 19 GiB resident (issue 21's measurement), and sled's reads grew slower as
/// the garbage grew. A fresh pin per flush, so no guard of ours holds the epoch back.
fn release_replaced_nodes(keys_written: usize) {
    let flushes = ((keys_written as f64 * EPOCH_FLUSHES_PER_KEY).ceil() as usize).clamp(1, EPOCH_FLUSHES_MAX);
    for _ in 0..flushes {
        crossbeam_epoch::pin().flush();
    }
}
