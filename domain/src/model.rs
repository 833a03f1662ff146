//! The read model's shape: the records `apply` keeps, their key layout, and typed
//! reads over any ordered key-value map ([`Kv`]).
//!
//! The domain owns the layout so that `decide`, `apply` and the PDP stay pure: they see
//! a [`Kv`], never sled. `store` implements [`Kv`] over one sled tree; tests use
//! [`MemKv`]. Because the whole read model is one ordered map, a digest of it is a
//! digest of its entries in key order, whoever holds them.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

use super::change::{Change, Commit};
use super::events::{Actor, PolicyRule, Subset, SystemDefinition, UserType};
use super::ids::{Action, OrgNo, PackageUrn, RegisterRole, ResourceId, Right, SystemId};
use super::rejection::Rejection;

/// An ordered key-value map holding the read model, and the model's reads over it.
///
/// Two layers. The `raw_*` methods see the map as stored. Versioned records (see
/// [`history`]) are stored only as their versions, so the model's reads — [`Kv::get`],
/// [`Kv::scan_prefix`], [`Kv::shared`], [`Kv::versions`] — answer a versioned key with
/// its latest version below [`Kv::horizon`], and every other key as stored. A live model
/// sees every version; [`history::AsOf`] lowers the horizon to look back in time.
///
/// Reads are infallible here: the sled implementation treats an I/O error on its own
/// files as fatal (the process restarts and resumes from the durable log), which keeps
/// storage failures out of every domain signature.
pub trait Kv {
    /// The value stored under exactly `key`.
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Every stored entry whose key starts with `prefix`, in key order.
    fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)>;
    /// The greatest stored entry with `floor <= key <= ceiling`. Both bounds must share
    /// the prefix that the default implementation scans; stores override it with one seek.
    fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        last_by_scan(self, floor, ceiling)
    }
    /// Versions written by the event at this index or later are not visible: the
    /// position the reads answer for (everything, for a live model).
    fn horizon(&self) -> u64 {
        u64::MAX
    }

    /// The record under `key` as the model stands at its horizon.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        if history::is_versioned(key) {
            history::latest(self, key, self.horizon())
        } else {
            self.raw_get(key)
        }
    }
    /// Every record whose key starts with `prefix`, in key order, as [`Kv::get`] sees them.
    fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        if history::is_versioned(prefix) {
            history::latest_under(self, prefix, self.horizon())
        } else {
            self.raw_scan_prefix(prefix)
        }
    }
    /// Up to `limit` entries under the unversioned `prefix` whose key is greater than
    /// `after` (or all under the prefix if `after` is `None`), in key order: one page of
    /// an index.
    fn page(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        debug_assert!(!history::is_versioned(prefix), "pages are read over indexes kept as written");
        self.raw_scan_prefix(prefix)
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .collect()
    }
    /// The record under `key`, decoded and shared. A store may answer from a cache of
    /// decoded records (as-of decisions and the read endpoints); by default every call
    /// reads and decodes.
    fn shared<T: Record>(&self, key: &[u8]) -> Option<Arc<T>> {
        if history::is_versioned(key) {
            history::valid_at(&self.versions::<T>(key), self.horizon())
        } else {
            self.raw_get(key).map(|bytes| Arc::new(decode(bytes)))
        }
    }
    /// Every version of the versioned record under `key` below the horizon, oldest
    /// first, decoded and shared; as [`Kv::shared`], a store may answer from a cache.
    fn versions<T: Record>(&self, key: &[u8]) -> Arc<Versions<T>> {
        let horizon = self.horizon();
        Arc::new(
            history::read_versions(self, key)
                .into_iter()
                .filter(|(i, _)| *i < horizon)
                .map(|(i, v)| (i, v.map(|b| Arc::new(decode(b)))))
                .collect(),
        )
    }
}

/// [`Kv::raw_last_between`] by scanning the bounds' common prefix.
fn last_by_scan<K: Kv + ?Sized>(model: &K, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let common = floor.iter().zip(ceiling).take_while(|(a, b)| a == b).count();
    model.raw_scan_prefix(&floor[..common]).into_iter().rfind(|(k, _)| k.as_slice() >= floor && k.as_slice() <= ceiling)
}

/// A record kind stored decoded behind one key, which a cache may hold.
pub trait Record: DeserializeOwned + Send + Sync + 'static {}
impl Record for Party {}
impl Record for Policy {}
impl Record for System {}
impl Record for SystemUser {}
impl Record for Relationship {}
impl Record for Link {}

/// The versions of one record: the index of the event that wrote each, and the record
/// it left (`None` where that event deleted it), oldest first.
pub type Versions<T> = Vec<(u64, Option<Arc<T>>)>;

/// A [`Kv`] that `apply` may change.
pub trait KvMut: Kv {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    fn delete(&mut self, key: Vec<u8>);
    /// Writes a decision fact: the only way `apply` writes one (see [`Change`]).
    fn change(&mut self, change: Change) {
        match change.value() {
            Some(value) => self.put(change.key(), value),
            None => self.delete(change.key()),
        }
    }
    /// Notes that the event at `index` made `change`, whose bytes were just written as
    /// a version. A model that commits to a store keeps the note for the decision
    /// index; others need none.
    fn note(&mut self, index: u64, change: Change) {
        let _ = (index, change);
    }
}

/// One change to the read model, as `apply` produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// An in-memory [`KvMut`]: the read model of tests and of the pure core's examples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemKv(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl Kv for MemKv {
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        self.0.range(floor.to_vec()..=ceiling.to_vec()).next_back().map(|(k, v)| (k.clone(), v.clone()))
    }
    fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.0
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
impl KvMut for MemKv {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        debug_assert!(!history::is_versioned(&key), "versioned records are written as versions");
        self.0.insert(key, value);
    }
    fn delete(&mut self, key: Vec<u8>) {
        self.0.remove(&key);
    }
}

/// Pending changes over a read-only base: `apply` runs on an overlay so that a batch of
/// events sees its own earlier effects, and the batch is committed in one atomic write.
pub struct Overlay<'a, K: Kv + ?Sized> {
    base: &'a K,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The typed changes to decision facts, in the order `apply` made them.
    changes: Vec<(u64, Change)>,
}

impl<'a, K: Kv + ?Sized> Overlay<'a, K> {
    pub fn new(base: &'a K) -> Self {
        Overlay { base, pending: BTreeMap::new(), changes: Vec::new() }
    }
    /// The pending writes in key order, and the typed changes in log order.
    pub fn into_commit(self) -> Commit {
        let writes = self
            .pending
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => Write::Put(k, v),
                None => Write::Delete(k),
            })
            .collect();
        Commit { writes, changes: self.changes }
    }
}

impl<K: Kv + ?Sized> Kv for Overlay<'_, K> {
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.pending.get(key) {
            Some(v) => v.clone(),
            None => self.base.raw_get(key),
        }
    }
    fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self.base.raw_scan_prefix(prefix).into_iter().collect();
        for (k, v) in self.pending.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix)) {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        merged.into_iter().collect()
    }
    // `apply` reads every versioned record through here: one seek in the base, not a scan.
    fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let from_base = self.base.raw_last_between(floor, ceiling);
        if let Some((k, _)) = &from_base {
            if matches!(self.pending.get(k), Some(None)) {
                // The base's answer is deleted here; what lies below it needs a scan.
                return last_by_scan(self, floor, ceiling);
            }
        }
        let from_pending = self
            .pending
            .range(floor.to_vec()..=ceiling.to_vec())
            .rev()
            .find_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())));
        match (from_base, from_pending) {
            (Some(b), Some(p)) => Some(if b.0 > p.0 { b } else { p }),
            (b, p) => p.or(b),
        }
    }
}
impl<K: Kv + ?Sized> KvMut for Overlay<'_, K> {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        debug_assert!(!history::is_versioned(&key), "versioned records are written as versions");
        self.pending.insert(key, Some(value));
    }
    fn delete(&mut self, key: Vec<u8>) {
        self.pending.insert(key, None);
    }
    fn note(&mut self, index: u64, change: Change) {
        debug_assert!(self.changes.last().is_none_or(|(last, _)| *last <= index), "changes come in log order");
        self.changes.push((index, change));
    }
}

/// SHA-256 over every entry in key order (length-prefixed, so entries cannot run into
/// each other). Two read models with the same digest hold the same bytes.
pub fn digest<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: impl Iterator<Item = (K, V)>) -> String {
    let mut h = Sha256::new();
    for (k, v) in entries {
        let (k, v) = (k.as_ref(), v.as_ref());
        h.update((k.len() as u64).to_be_bytes());
        h.update(k);
        h.update((v.len() as u64).to_be_bytes());
        h.update(v);
    }
    hex(&h.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

// ---- key layout -----------------------------------------------------------------------
//
// One ordered map; the first byte names the record kind. Org numbers are fixed-width
// (nine ASCII digits) and uuids are 16 bytes, so composite keys need no separators
// except after a system id, whose slug can never hold `\0`.

pub mod keys {
    use super::*;

    /// The layout's number, kept beside a stored read model: bump it whenever a key or
    /// an encoding below changes, so a store an older build wrote is rebuilt, not misread.
    pub const LAYOUT: u32 = 8;

    /// The kind of record a key holds, named by its first byte: the one place a key's
    /// byte is read as a kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        Meta,
        Party,
        AccessPackage,
        Policy,
        System,
        Request,
        ChangeRequest,
        SystemUser,
        ClientRelationship,
        ClientLink,
        AggregateVersion,
        Outcome,
        EventIndex,
        History,
        AuditIndex,
        SystemUserStream,
        Quarantine,
    }

    impl Kind {
        pub fn of(key: &[u8]) -> Option<Kind> {
            Some(match key.first()? {
                0 => Kind::Meta,
                b'P' | b'p' | b'u' => Kind::Party,
                b'A' => Kind::AccessPackage,
                b'R' => Kind::Policy,
                b'S' => Kind::System,
                b'Q' | b'K' | b'q' | b'N' => Kind::Request,
                b'G' | b'g' => Kind::ChangeRequest,
                b'U' | b'k' | b'O' | b'Y' => Kind::SystemUser,
                b'C' | b'F' => Kind::ClientRelationship,
                b'L' | b'l' => Kind::ClientLink,
                b'V' => Kind::AggregateVersion,
                b'E' => Kind::Outcome,
                b'I' => Kind::EventIndex,
                b'H' => Kind::History,
                b'X' => Kind::AuditIndex,
                b'J' | b'j' => Kind::SystemUserStream,
                b'!' => Kind::Quarantine,
                _ => return None,
            })
        }

        /// The facts decisions and reads consult: kept as versions, so as-of reads work.
        pub fn is_versioned(self) -> bool {
            matches!(
                self,
                Kind::Party
                    | Kind::AccessPackage
                    | Kind::Policy
                    | Kind::System
                    | Kind::Request
                    | Kind::ChangeRequest
                    | Kind::SystemUser
                    | Kind::ClientRelationship
                    | Kind::ClientLink
            )
        }

        pub fn name(self) -> &'static str {
            match self {
                Kind::Meta => "meta",
                Kind::Party => "party",
                Kind::AccessPackage => "access-package",
                Kind::Policy => "policy",
                Kind::System => "system",
                Kind::Request => "request",
                Kind::ChangeRequest => "change-request",
                Kind::SystemUser => "system-user",
                Kind::ClientRelationship => "client-relationship",
                Kind::ClientLink => "client-link",
                Kind::AggregateVersion => "aggregate-version",
                Kind::Outcome => "outcome",
                Kind::EventIndex => "event-index",
                Kind::History => "history",
                Kind::AuditIndex => "audit-index",
                Kind::SystemUserStream => "system-user-stream",
                Kind::Quarantine => "quarantine",
            }
        }
    }

    pub const META_POSITION: &[u8] = b"\x00position";
    pub const META_EFFECTIVE_TIME: &[u8] = b"\x00effective_time";
    /// The hash chain over every record applied so far (32 bytes).
    pub const META_CHAIN: &[u8] = b"\x00chain";

    pub fn party(org: &OrgNo) -> Vec<u8> {
        cat(b'P', &[org.as_str().as_bytes()])
    }
    pub fn party_by_id(party_id: i64) -> Vec<u8> {
        cat(b'p', &[&party_id.to_be_bytes()])
    }
    pub fn party_by_uuid(uuid: &Uuid) -> Vec<u8> {
        cat(b'u', &[uuid.as_bytes()])
    }
    pub fn package(urn: &PackageUrn) -> Vec<u8> {
        cat(b'A', &[urn.as_str().as_bytes()])
    }
    pub fn policy(resource: &ResourceId) -> Vec<u8> {
        cat(b'R', &[resource.as_str().as_bytes()])
    }
    pub fn system(id: &SystemId) -> Vec<u8> {
        cat(b'S', &[id.as_str().as_bytes()])
    }
    pub fn request(id: &Uuid) -> Vec<u8> {
        cat(b'Q', &[id.as_bytes()])
    }
    /// (system, customer, external ref) of a pending request.
    pub fn pending_request(system: &SystemId, org: &OrgNo, external_ref: &str) -> Vec<u8> {
        cat(b'K', &[system.as_str().as_bytes(), b"\0", org.as_str().as_bytes(), external_ref.as_bytes()])
    }
    pub fn system_user(id: &Uuid) -> Vec<u8> {
        cat(b'U', &[id.as_bytes()])
    }
    /// (system, owner, external ref) of a live system user: the uniqueness invariant.
    pub fn live_system_user(system: &SystemId, org: &OrgNo, external_ref: &str) -> Vec<u8> {
        cat(b'k', &[system.as_str().as_bytes(), b"\0", org.as_str().as_bytes(), external_ref.as_bytes()])
    }
    pub fn users_by_owner(org: &OrgNo) -> Vec<u8> {
        cat(b'O', &[org.as_str().as_bytes()])
    }
    pub fn user_by_owner(org: &OrgNo, id: &Uuid) -> Vec<u8> {
        cat(b'O', &[org.as_str().as_bytes(), id.as_bytes()])
    }
    pub fn users_by_system(system: &SystemId) -> Vec<u8> {
        cat(b'Y', &[system.as_str().as_bytes(), b"\0"])
    }
    pub fn user_by_system(system: &SystemId, id: &Uuid) -> Vec<u8> {
        cat(b'Y', &[system.as_str().as_bytes(), b"\0", id.as_bytes()])
    }
    pub fn requests_by_system(system: &SystemId) -> Vec<u8> {
        cat(b'q', &[system.as_str().as_bytes(), b"\0"])
    }
    pub fn request_by_system(system: &SystemId, id: &Uuid) -> Vec<u8> {
        cat(b'q', &[system.as_str().as_bytes(), b"\0", id.as_bytes()])
    }
    pub fn change_request(id: &Uuid) -> Vec<u8> {
        cat(b'G', &[id.as_bytes()])
    }
    pub fn change_requests_by_system(system: &SystemId) -> Vec<u8> {
        cat(b'g', &[system.as_str().as_bytes(), b"\0"])
    }
    pub fn change_request_by_system(system: &SystemId, id: &Uuid) -> Vec<u8> {
        cat(b'g', &[system.as_str().as_bytes(), b"\0", id.as_bytes()])
    }
    /// Every request to a customer, whatever became of it (the customer's pending lists).
    pub fn requests_by_party(org: &OrgNo) -> Vec<u8> {
        cat(b'N', &[org.as_str().as_bytes()])
    }
    pub fn request_by_party(org: &OrgNo, id: &Uuid) -> Vec<u8> {
        cat(b'N', &[org.as_str().as_bytes(), id.as_bytes()])
    }
    pub fn relationship(client: &OrgNo, facilitator: &OrgNo) -> Vec<u8> {
        cat(b'C', &[client.as_str().as_bytes(), facilitator.as_str().as_bytes()])
    }
    pub fn clients_of(facilitator: &OrgNo) -> Vec<u8> {
        cat(b'F', &[facilitator.as_str().as_bytes()])
    }
    pub fn client_of(facilitator: &OrgNo, client: &OrgNo) -> Vec<u8> {
        cat(b'F', &[facilitator.as_str().as_bytes(), client.as_str().as_bytes()])
    }
    pub fn links_of(agent: &Uuid) -> Vec<u8> {
        cat(b'L', &[agent.as_bytes()])
    }
    pub fn link(agent: &Uuid, client: &OrgNo) -> Vec<u8> {
        cat(b'L', &[agent.as_bytes(), client.as_str().as_bytes()])
    }
    pub fn agents_of_client(client: &OrgNo) -> Vec<u8> {
        cat(b'l', &[client.as_str().as_bytes()])
    }
    pub fn agent_of_client(client: &OrgNo, agent: &Uuid) -> Vec<u8> {
        cat(b'l', &[client.as_str().as_bytes(), agent.as_bytes()])
    }
    /// Event id → the index of the record that first carried it.
    pub fn event(id: &Uuid) -> Vec<u8> {
        cat(b'I', &[id.as_bytes()])
    }
    /// Audit indexes: aggregate, client and actor, then a log index. An aggregate's
    /// entries hold its version after that event (8 bytes); the others hold nothing.
    pub fn by_subject(subject: &str) -> Vec<u8> {
        let mut k = vec![b'X', b's'];
        super::history::escape_into(&mut k, subject.as_bytes());
        k.extend_from_slice(&[0, 0]);
        k
    }
    pub fn by_client(client: &OrgNo) -> Vec<u8> {
        cat(b'X', &[b"c", client.as_str().as_bytes()])
    }
    pub fn by_actor(actor_id: &str) -> Vec<u8> {
        let mut k = vec![b'X', b'a'];
        super::history::escape_into(&mut k, actor_id.as_bytes());
        k.extend_from_slice(&[0, 0]);
        k
    }
    /// An index prefix and a log index: one entry of an audit index.
    pub fn indexed(prefix: &[u8], index: u64) -> Vec<u8> {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&index.to_be_bytes());
        k
    }

    /// The log index (or position) a key ends in, for the kinds whose keys do:
    /// quarantine entries, audit postings, versions and the system-user stream. The one
    /// place such a key is read back; `None` for any other key (an outcome block's key
    /// names a block, not an event).
    pub fn index_in(key: &[u8]) -> Option<u64> {
        match Kind::of(key)? {
            Kind::Quarantine | Kind::AuditIndex | Kind::History | Kind::SystemUserStream if key.len() >= 9 => {
                Some(u64::from_be_bytes(key[key.len() - 8..].try_into().ok()?))
            }
            _ => None,
        }
    }

    /// The party id a `party_by_id` key holds.
    pub fn party_id_in(key: &[u8]) -> Option<i64> {
        match key {
            [b'p', id @ ..] => Some(i64::from_be_bytes(id.try_into().ok()?)),
            _ => None,
        }
    }
    /// Each system user once, under the position of its latest change (Altinn's internal
    /// stream for Register), and that position by system user.
    pub const SYSTEM_USER_STREAM: &[u8] = b"J";
    pub fn system_user_stream_at(position: u64) -> Vec<u8> {
        cat(b'J', &[&position.to_be_bytes()])
    }
    pub fn system_user_sequence(id: &Uuid) -> Vec<u8> {
        cat(b'j', &[id.as_bytes()])
    }
    /// A record that did not decode, kept with its reason.
    pub fn quarantined(index: u64) -> Vec<u8> {
        cat(b'!', &[&index.to_be_bytes()])
    }
    /// The block of outcomes that holds `position`'s (see [`super::outcomes`]): keyed by
    /// the block's first position.
    pub fn outcome_block(position: u64) -> Vec<u8> {
        let first = position - position % super::outcomes::BLOCK_POSITIONS;
        cat(b'E', &[&first.to_be_bytes()])
    }
    /// Every outcome block's key starts so.
    pub fn outcome_prefix() -> Vec<u8> {
        cat(b'E', &[])
    }

    fn cat(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
        k.push(kind);
        for p in parts {
            k.extend_from_slice(p);
        }
        k
    }

    /// The uuid at the end of an index key.
    pub fn trailing_uuid(key: &[u8]) -> Uuid {
        let tail: [u8; 16] = key[key.len() - 16..].try_into().expect("index keys end in a uuid");
        Uuid::from_bytes(tail)
    }
    /// The org number at the end of an index key.
    pub fn trailing_org(key: &[u8]) -> OrgNo {
        let tail = std::str::from_utf8(&key[key.len() - 9..]).expect("org numbers are ASCII");
        OrgNo::parse(tail).expect("index keys hold valid org numbers")
    }
}

// ---- records --------------------------------------------------------------------------

/// When and by whom something ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    pub at: DateTime<Utc>,
    pub event_id: Uuid,
    pub actor: Actor,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub org_no: OrgNo,
    pub party_id: i64,
    pub party_uuid: Uuid,
    pub name: String,
    pub event_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPackage {
    pub urn: PackageUrn,
    pub assignable: bool,
    pub delegable: bool,
    pub event_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub resource_id: ResourceId,
    /// By language code; a policy published without one (every v1 policy) has none,
    /// and then its record is byte for byte what it was before titles existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub title: BTreeMap<String, String>,
    pub rules: Vec<PolicyRule>,
    pub minimum_authentication_level: Option<u8>,
    /// The service owner that first published it; only it may publish again.
    pub owner: Option<OrgNo>,
    pub event_id: Uuid,
}

impl Policy {
    /// Does holding `package` give `action`?
    pub fn package_grants(&self, package: &PackageUrn, action: &Action) -> bool {
        self.rules.iter().any(|r| r.access_package.as_ref() == Some(package) && r.actions.contains(action))
    }
    /// Does a single right on this resource (optionally limited to one action) give `action`?
    pub fn right_grants(&self, right: &Right, action: &Action) -> bool {
        right.resource == self.resource_id
            && right.action.as_ref().is_none_or(|a| a == action)
            && self.rules.iter().any(|r| r.right && r.actions.contains(action))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct System {
    pub definition: SystemDefinition,
    pub registered: DateTime<Utc>,
    pub event_id: Uuid,
    pub deleted: Option<Ended>,
}

/// A vendor's ask to change a standard system user's rights and packages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    pub id: Uuid,
    pub system_user_id: Uuid,
    pub system_id: SystemId,
    pub party_org_no: OrgNo,
    pub required_rights: Vec<Right>,
    pub unwanted_rights: Vec<Right>,
    pub required_access_packages: Vec<PackageUrn>,
    pub unwanted_access_packages: Vec<PackageUrn>,
    pub redirect_url: Option<String>,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub status: RequestStatus,
    pub event_id: Uuid,
    pub decided: Option<Ended>,
}

impl ChangeRequest {
    /// A `New` change request past its time-to-live can no longer be approved.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::New && now > self.expires
    }

    /// What `user` may do once this change is made: the required added (once each), the
    /// unwanted taken away (a right or package both required and unwanted ends up held).
    pub fn applied_to(&self, user: &SystemUser) -> (Vec<Right>, Vec<PackageUrn>) {
        fn change<T: Clone + Ord>(held: &[T], required: &[T], unwanted: &[T]) -> Vec<T> {
            let mut out: Vec<T> = held.iter().filter(|x| !unwanted.contains(x)).cloned().collect();
            out.extend(required.iter().cloned());
            out.sort();
            out.dedup();
            out
        }
        (
            change(&user.rights, &self.required_rights, &self.unwanted_rights),
            change(&user.access_packages, &self.required_access_packages, &self.unwanted_access_packages),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestStatus {
    New,
    Accepted,
    Rejected,
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: Uuid,
    pub user_type: UserType,
    pub system_id: SystemId,
    pub party_org_no: OrgNo,
    pub external_ref: String,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    pub redirect_url: Option<String>,
    pub integration_title: Option<String>,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub status: RequestStatus,
    pub event_id: Uuid,
    pub decided: Option<Ended>,
    /// Passed on to the customer's access managers by someone who may not approve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated: Option<Ended>,
}

impl Request {
    /// A `New` request past its time-to-live is shown as timed out; it can no longer
    /// be approved, whatever its stored status says.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::New && now > self.expires
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemUser {
    pub id: Uuid,
    pub user_type: UserType,
    pub system_id: SystemId,
    pub owner_org_no: OrgNo,
    pub external_ref: String,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    pub integration_title: Option<String>,
    pub created: DateTime<Utc>,
    pub event_id: Uuid,
    pub deleted: Option<Ended>,
    /// The event that last set its rights and packages, where a change request did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants_event_id: Option<Uuid>,
    /// An agent that also acts for its owner: the event that delegated the owner's own
    /// packages to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acts_for_owner: Option<Uuid>,
}

impl SystemUser {
    /// Everything it carries, as the subset an unrestricted client link gives.
    pub fn carries(&self) -> Subset {
        Subset { access_packages: self.access_packages.clone(), rights: self.rights.clone() }
    }
}

/// One source of packages in a client relationship: a register role or the client's
/// own delegation of one package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub role: Option<RegisterRole>,
    pub access_package: PackageUrn,
    pub since: DateTime<Utc>,
    pub event_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    pub client_org_no: OrgNo,
    pub facilitator_org_no: OrgNo,
    pub grants: Vec<Grant>,
    /// Single rights the client delegated (none in a relationship of packages only,
    /// whose record is then what it was before rights existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rights: Vec<RightGrant>,
}

/// One single right a client delegated to a facilitator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RightGrant {
    pub right: Right,
    pub since: DateTime<Utc>,
    pub event_id: Uuid,
}

impl Relationship {
    /// The delegated right that covers `wanted`, if any (the oldest, for a stable proof).
    pub fn covering(&self, wanted: &Right) -> Option<&RightGrant> {
        self.rights.iter().find(|g| g.right.covers(wanted))
    }
    /// The grant that carries `package`, if any (the oldest, for a stable proof).
    pub fn carrying(&self, package: &PackageUrn) -> Option<&Grant> {
        self.grants.iter().find(|g| &g.access_package == package)
    }
    pub fn packages(&self) -> Vec<PackageUrn> {
        let mut ps: Vec<PackageUrn> = self.grants.iter().map(|g| g.access_package.clone()).collect();
        ps.sort();
        ps.dedup();
        ps
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub system_user_id: Uuid,
    pub client_org_no: OrgNo,
    pub facilitator_org_no: OrgNo,
    pub since: DateTime<Utc>,
    pub event_id: Uuid,
    pub actor: Actor,
    /// What the link is restricted to; `None` (every link before v2) gives everything
    /// the agent carries, and its record is then what it was before subsets existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<Subset>,
}

impl Link {
    /// What this link gives of what `agent` carries.
    pub fn gives(&self, agent: &SystemUser) -> Subset {
        self.subset.clone().unwrap_or_else(|| agent.carries())
    }
}

/// What became of the event at a position: the writer reads this to learn whether its
/// command took effect or lost a race (void).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub type_name: String,
    pub effective_time: DateTime<Utc>,
    pub void: Option<VoidReason>,
    /// The time the writer recorded (effective time is never earlier).
    pub recorded_time: DateTime<Utc>,
    pub actor: Actor,
    pub on_behalf_of: Option<OrgNo>,
    pub subject: String,
    // What the event says changed (its CloudEvent `data`) is not copied here: the log
    // keeps it at this position, and the audit reads it there.
    /// The hash chain after the event's record (hex): `verify` finds the first record
    /// whose chain no longer matches. Absent only where an event was applied without
    /// its record's bytes (`apply`, as `decide` checks a plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

/// A record on the log that is not an event this build can apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantined {
    pub index: u64,
    pub reason: String,
    pub bytes: u64,
    pub sha256: String,
    /// The start of the record, for people (lossy UTF-8).
    pub preview: String,
    /// The hash chain after this record (hex): it covers the record's bytes as it
    /// covers an event's.
    pub chain: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidReason {
    pub code: String,
    pub message: String,
}

impl From<&Rejection> for VoidReason {
    fn from(r: &Rejection) -> Self {
        VoidReason { code: r.code.as_str().to_owned(), message: r.message.clone() }
    }
}

// ---- history: validity intervals for "as of" ---------------------------------------------
//
// Every change `apply` makes to a record that decisions or reads depend on is kept as a
// version, and only as a version: `H | escaped key | 00 00 | index` → `1 value` (or `0`
// for a deletion), where `index` is the log index of the event that made it. A version is
// valid from position `index + 1` until the next version of the same key, so the record
// now is the last version, and the record as of a position is the last version below it:
// one backwards seek either way, and each change costs sled one key, not two. Effective
// times never run backwards in log order, so "as of T" is "as of the position after the
// last event whose effective time is at most T", found by a binary search over outcomes.

/// Outcomes in blocks: what is per position is written in order, so the outcomes of
/// [`BLOCK_POSITIONS`](outcomes::BLOCK_POSITIONS) consecutive positions share one key
/// (one sled entry instead of one per event). A block is its outcomes back to back,
/// each as `position (8 bytes) | length (4 bytes) | the outcome's JSON`, in log order;
/// a quarantined record's position has none.
pub mod outcomes {
    /// Positions per block: a block of outcomes is a few KiB, rewritten whole by each
    /// projected batch that adds to it.
    pub const BLOCK_POSITIONS: u64 = 16;
    const HEADER_BYTES: usize = 12;

    /// Adds the outcome at `position` (encoded) to the end of its block.
    pub fn append(block: &mut Vec<u8>, position: u64, outcome: &[u8]) {
        debug_assert!(entries(block).last().is_none_or(|(last, _)| last < position), "outcomes come in log order");
        let length = u32::try_from(outcome.len()).expect("an outcome is far below 4 GiB");
        block.extend_from_slice(&position.to_be_bytes());
        block.extend_from_slice(&length.to_be_bytes());
        block.extend_from_slice(outcome);
    }

    /// The outcomes in a block, in log order, each with its position.
    ///
    /// # Panics
    /// On a block `append` did not write: a read model damaged outside the ledger (as
    /// [`super::decode_record`]).
    pub fn entries(block: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
        let mut rest = block;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            const DAMAGED: &str = "read-model outcome block written by apply decodes";
            let header = rest.get(..HEADER_BYTES).expect(DAMAGED);
            let position = u64::from_be_bytes(header[..8].try_into().expect("8 bytes"));
            let length = u32::from_be_bytes(header[8..].try_into().expect("4 bytes")) as usize;
            let outcome = rest.get(HEADER_BYTES..HEADER_BYTES + length).expect(DAMAGED);
            rest = &rest[HEADER_BYTES + length..];
            Some((position, outcome))
        })
    }
}

pub mod history {
    use super::*;

    /// Record kinds whose versions are kept (the facts decisions and reads consult).
    pub fn is_versioned(key: &[u8]) -> bool {
        keys::Kind::of(key).is_some_and(keys::Kind::is_versioned)
    }

    /// Order-preserving escape: `00` becomes `00 FF`, so `00 00` can end a key.
    pub fn escape_into(out: &mut Vec<u8>, key: &[u8]) {
        for &b in key {
            out.push(b);
            if b == 0 {
                out.push(0xFF);
            }
        }
    }

    /// The start of every version key of every record whose key starts with `key_prefix`.
    pub fn versions_prefix(key_prefix: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(key_prefix.len() + 12);
        k.push(b'H');
        escape_into(&mut k, key_prefix);
        k
    }

    pub fn version_key(key: &[u8], index: u64) -> Vec<u8> {
        let mut k = versions_prefix(key);
        k.extend_from_slice(&[0, 0]);
        k.extend_from_slice(&index.to_be_bytes());
        k
    }

    /// Splits a version key back into the record key and the index.
    pub fn parse_version_key(vkey: &[u8]) -> (Vec<u8>, u64) {
        let body = &vkey[1..vkey.len() - 8];
        let index = keys::index_in(vkey).expect("a version key ends in its index");
        let mut key = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            if body[i] == 0 {
                if body.get(i + 1) == Some(&0) {
                    break;
                }
                key.push(0);
                i += 2;
            } else {
                key.push(body[i]);
                i += 1;
            }
        }
        (key, index)
    }

    pub fn encode_version(value: Option<&[u8]>) -> Vec<u8> {
        match value {
            Some(v) => {
                let mut out = Vec::with_capacity(v.len() + 1);
                out.push(1);
                out.extend_from_slice(v);
                out
            }
            None => vec![0],
        }
    }

    fn decode_version(stored: Vec<u8>) -> Option<Vec<u8>> {
        version_value(&stored).map(<[u8]>::to_vec)
    }

    /// The record a stored version holds, or `None` where its event deleted the record.
    pub fn version_value(stored: &[u8]) -> Option<&[u8]> {
        match stored.first() {
            Some(1) => Some(&stored[1..]),
            _ => None,
        }
    }

    /// The position ("after the first N events") the ledger had reached at `time`: just
    /// after the last event whose effective time is at or before it. Effective time never
    /// runs backwards in log order, so this is a binary search over the outcomes (a
    /// record that is no event has none and is passed over), not an index of its own:
    /// about 2 × log2(position) reads, where a time index cost a key per event.
    pub fn position_at<K: Kv + ?Sized>(model: &K, time: DateTime<Utc>) -> u64 {
        // The first event at or after `index`, below `end`, with its effective time.
        let event_from =
            |index: u64, end: u64| (index..end).find_map(|i| model.outcome(i).map(|o| (i, o.effective_time)));
        // Invariant: every event below `low` is at or before `time`; none at or above `high` is.
        let (mut low, mut high) = (0, model.position());
        while low < high {
            let middle = low + (high - low) / 2;
            match event_from(middle, high) {
                Some((index, at)) if at <= time => low = index + 1,
                _ => high = middle,
            }
        }
        // `low` only ever moves to just after an event.
        debug_assert!(low == 0 || model.outcome(low - 1).is_some_and(|o| o.effective_time <= time));
        low
    }

    /// The effective time of the event at `index`, from the outcome `apply` recorded.
    pub fn time_of<K: Kv + ?Sized>(model: &K, index: u64) -> Option<DateTime<Utc>> {
        model.outcome(index).map(|o| o.effective_time)
    }

    /// The record under the versioned `key` as of `horizon`: its last version below it.
    pub fn latest<K: Kv + ?Sized>(model: &K, key: &[u8], horizon: u64) -> Option<Vec<u8>> {
        let last = horizon.checked_sub(1)?;
        model.raw_last_between(&version_key(key, 0), &version_key(key, last)).and_then(|(_, v)| decode_version(v))
    }

    /// Every versioned record under `prefix` as of `horizon`, in key order.
    pub fn latest_under<K: Kv + ?Sized>(model: &K, prefix: &[u8], horizon: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut latest: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for (vkey, value) in model.raw_scan_prefix(&versions_prefix(prefix)) {
            let (key, index) = parse_version_key(&vkey);
            if index < horizon {
                latest.insert(key, decode_version(value));
            }
        }
        latest.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect()
    }

    /// The record `versions` held as of `horizon`: the last version below it, if any.
    pub fn valid_at<T>(versions: &super::Versions<T>, horizon: u64) -> Option<Arc<T>> {
        let before = versions.partition_point(|(index, _)| *index < horizon);
        before.checked_sub(1).and_then(|i| versions[i].1.clone())
    }

    /// Every version of the record under `key`, oldest first: the index of the event
    /// that wrote it and the record's bytes (`None` where the event deleted it).
    pub fn read_versions<K: Kv + ?Sized>(model: &K, key: &[u8]) -> Vec<(u64, Option<Vec<u8>>)> {
        model
            .raw_scan_prefix(&versions_key(key))
            .into_iter()
            .map(|(k, v)| (keys::index_in(&k).expect("a version key ends in its index"), decode_version(v)))
            .collect()
    }

    /// For a written version key, the key under which a cache holds that record's
    /// versions (see [`super::Kv::versions`]); `None` for any other key.
    pub fn versions_cache_key(written: &[u8]) -> Option<&[u8]> {
        (written.first() == Some(&b'H') && written.len() > 9).then(|| &written[..written.len() - 8])
    }

    /// The prefix of every version of the record under `key` (also the key under which
    /// a cache holds them).
    pub fn versions_key(key: &[u8]) -> Vec<u8> {
        let mut prefix = versions_prefix(key);
        prefix.extend_from_slice(&[0, 0]);
        prefix
    }

    /// The change positions of one record: the index of each version, oldest first.
    pub fn change_indexes<K: Kv + ?Sized>(model: &K, key: &[u8]) -> Vec<u64> {
        model.raw_scan_prefix(&versions_key(key)).into_iter().map(|(k, _)| parse_version_key(&k).1).collect()
    }

    /// The read model as it stood at `position`: versioned records are read from their
    /// history; everything else (outcomes, the event index) reads through unchanged.
    pub struct AsOf<'a, K: Kv + ?Sized> {
        pub base: &'a K,
        pub position: u64,
    }

    impl<K: Kv + ?Sized> Kv for AsOf<'_, K> {
        fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
            if key == keys::META_POSITION {
                return Some(self.position.to_be_bytes().to_vec());
            }
            self.base.raw_get(key)
        }
        fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
            self.base.raw_scan_prefix(prefix)
        }
        fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
            self.base.raw_last_between(floor, ceiling)
        }
        fn horizon(&self) -> u64 {
            self.position.min(self.base.horizon())
        }
        // The base's versions (a store's cached list) cut at the horizon without a copy.
        fn shared<T: super::Record>(&self, key: &[u8]) -> Option<Arc<T>> {
            if !is_versioned(key) {
                return self.base.shared(key);
            }
            valid_at(&self.base.versions::<T>(key), self.horizon())
        }
        fn versions<T: super::Record>(&self, key: &[u8]) -> Arc<super::Versions<T>> {
            let all = self.base.versions::<T>(key);
            let horizon = self.horizon();
            let before = all.partition_point(|(index, _)| *index < horizon);
            if before == all.len() {
                all
            } else {
                Arc::new(all[..before].to_vec())
            }
        }
    }
}

// ---- typed reads ----------------------------------------------------------------------

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise")
}

fn decode<T: DeserializeOwned>(bytes: Vec<u8>) -> T {
    decode_record(&bytes)
}

/// A record as `apply` encoded it.
pub fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> T {
    // Records are written only by `apply`; one that does not decode means the read
    // model was damaged outside the ledger, which `verify`/`rebuild` repair.
    serde_json::from_slice(bytes).expect("read-model record written by apply decodes")
}

/// Typed reads of the read model, for every [`Kv`].
pub trait ReadModel: Kv {
    fn record<T: DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        self.get(key).map(decode)
    }
    /// The number of events applied so far: the position the model has reached.
    fn position(&self) -> u64 {
        self.get(keys::META_POSITION).map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes"))).unwrap_or(0)
    }
    /// The hash chain over all records applied so far (zeros before the first).
    fn chain(&self) -> [u8; 32] {
        self.get(keys::META_CHAIN).and_then(|c| c.try_into().ok()).unwrap_or([0; 32])
    }
    fn effective_time(&self) -> Option<DateTime<Utc>> {
        self.record(keys::META_EFFECTIVE_TIME)
    }
    /// The version of an aggregate: how many events on it took effect. Its last audit
    /// entry holds it.
    fn version(&self, subject: &str) -> u64 {
        let entries = keys::by_subject(subject);
        self.raw_last_between(&keys::indexed(&entries, 0), &keys::indexed(&entries, u64::MAX))
            .map(|(_, v)| u64::from_be_bytes(v.try_into().expect("subject entries hold 8-byte versions")))
            .unwrap_or(0)
    }
    /// The log index of the record that carried event `id`.
    fn event_index(&self, id: &Uuid) -> Option<u64> {
        self.get(&keys::event(id)).map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }
    fn outcome(&self, position: u64) -> Option<Outcome> {
        let block = self.get(&keys::outcome_block(position))?;
        let found = outcomes::entries(&block).find(|(at, _)| *at == position);
        found.map(|(_, bytes)| decode_record(bytes))
    }
    /// Up to `limit` events of an audit history (`keys::by_subject`, `by_client`, …),
    /// oldest first, after log index `after`: each with its log index and outcome.
    fn history_page(&self, prefix: &[u8], after: Option<u64>, limit: usize) -> Vec<(u64, Outcome)> {
        let after = after.map(|index| keys::indexed(prefix, index));
        self.page(prefix, after.as_deref(), limit)
            .into_iter()
            .filter_map(|(k, _)| {
                let index = keys::index_in(&k)?;
                self.outcome(index).map(|o| (index, o))
            })
            .collect()
    }
    /// Every seal on the log with its outcome, in log order (a scan of every outcome).
    fn seals(&self) -> Vec<(u64, Outcome)> {
        let blocks = self.scan_prefix(&keys::outcome_prefix());
        blocks
            .iter()
            .flat_map(|(_, block)| outcomes::entries(block))
            .map(|(position, bytes)| (position, decode_record::<Outcome>(bytes)))
            .filter(|(_, o)| super::events::family(&o.type_name) == "ledger.ledger.sealed")
            .collect()
    }
    /// Every quarantined record, in log order.
    fn quarantined(&self) -> Vec<Quarantined> {
        self.scan_prefix(b"!").into_iter().map(|(_, v)| decode(v)).collect()
    }
    fn party(&self, org: &OrgNo) -> Option<Party> {
        self.record(&keys::party(org))
    }
    fn party_by_id(&self, party_id: i64) -> Option<Party> {
        let org = self.get(&keys::party_by_id(party_id))?;
        self.party(&OrgNo::parse(std::str::from_utf8(&org).ok()?).ok()?)
    }
    fn party_by_uuid(&self, uuid: &Uuid) -> Option<Party> {
        let org = self.get(&keys::party_by_uuid(uuid))?;
        self.party(&OrgNo::parse(std::str::from_utf8(&org).ok()?).ok()?)
    }
    fn package(&self, urn: &PackageUrn) -> Option<AccessPackage> {
        self.record(&keys::package(urn))
    }
    fn policy(&self, resource: &ResourceId) -> Option<Policy> {
        self.record(&keys::policy(resource))
    }
    fn system(&self, id: &SystemId) -> Option<System> {
        self.record(&keys::system(id))
    }
    /// Every system ever registered (deleted ones too), in id order.
    fn systems(&self) -> Vec<System> {
        self.scan_prefix(b"S").into_iter().map(|(_, v)| decode(v)).collect()
    }
    /// Systems whose id starts with `<vendor>_`.
    fn scan_systems_of_vendor(&self, vendor: &OrgNo) -> Vec<System> {
        let mut prefix = vec![b'S'];
        prefix.extend_from_slice(vendor.as_str().as_bytes());
        prefix.push(b'_');
        self.scan_prefix(&prefix).into_iter().map(|(_, v)| decode(v)).collect()
    }
    fn request(&self, id: &Uuid) -> Option<Request> {
        self.record(&keys::request(id))
    }
    /// The position of the system user's latest change (its sequence number for Register).
    fn system_user_sequence(&self, id: &Uuid) -> Option<u64> {
        let bytes: [u8; 8] = self.get(&keys::system_user_sequence(id))?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }
    /// Up to `limit` system users whose latest change is after position `after`, in order.
    fn system_user_stream(&self, after: u64, limit: usize) -> Vec<(u64, Uuid)> {
        let after = keys::system_user_stream_at(after);
        self.page(keys::SYSTEM_USER_STREAM, Some(&after), limit)
            .into_iter()
            .filter_map(|(k, v)| Some((keys::index_in(&k)?, Uuid::from_slice(&v).ok()?)))
            .collect()
    }
    /// The latest position in the stream.
    fn system_user_stream_max(&self) -> Option<u64> {
        let (k, _) = self.raw_last_between(&keys::system_user_stream_at(0), &keys::system_user_stream_at(u64::MAX))?;
        keys::index_in(&k)
    }
    fn change_request(&self, id: &Uuid) -> Option<ChangeRequest> {
        self.record(&keys::change_request(id))
    }
    fn change_requests_of_system(&self, system: &SystemId) -> Vec<ChangeRequest> {
        self.scan_prefix(&keys::change_requests_by_system(system))
            .into_iter()
            .filter_map(|(k, _)| self.change_request(&keys::trailing_uuid(&k)))
            .collect()
    }
    fn pending_request(&self, system: &SystemId, org: &OrgNo, external_ref: &str) -> Option<Request> {
        let id = self.get(&keys::pending_request(system, org, external_ref))?;
        self.request(&Uuid::from_slice(&id).ok()?)
    }
    fn system_user(&self, id: &Uuid) -> Option<SystemUser> {
        self.record(&keys::system_user(id))
    }
    fn live_system_user(&self, system: &SystemId, org: &OrgNo, external_ref: &str) -> Option<SystemUser> {
        let id = self.get(&keys::live_system_user(system, org, external_ref))?;
        self.system_user(&Uuid::from_slice(&id).ok()?)
    }
    /// Live system users owned by `org`, in id (creation) order.
    fn system_users_of(&self, org: &OrgNo) -> Vec<SystemUser> {
        self.scan_prefix(&keys::users_by_owner(org))
            .into_iter()
            .filter_map(|(k, _)| self.system_user(&keys::trailing_uuid(&k)))
            .collect()
    }
    /// Live system users of `system`.
    fn system_users_of_system(&self, system: &SystemId) -> Vec<SystemUser> {
        self.scan_prefix(&keys::users_by_system(system))
            .into_iter()
            .filter_map(|(k, _)| self.system_user(&keys::trailing_uuid(&k)))
            .collect()
    }
    fn requests_of_system(&self, system: &SystemId) -> Vec<Request> {
        self.scan_prefix(&keys::requests_by_system(system))
            .into_iter()
            .filter_map(|(k, _)| self.request(&keys::trailing_uuid(&k)))
            .collect()
    }
    /// Requests to the customer `org`, in the order of their ids.
    fn requests_of_party(&self, org: &OrgNo) -> Vec<Request> {
        self.scan_prefix(&keys::requests_by_party(org))
            .into_iter()
            .filter_map(|(k, _)| self.request(&keys::trailing_uuid(&k)))
            .collect()
    }
    fn relationship(&self, client: &OrgNo, facilitator: &OrgNo) -> Option<Relationship> {
        self.record(&keys::relationship(client, facilitator))
    }
    /// Relationships in which `facilitator` serves clients.
    fn relationships_of(&self, facilitator: &OrgNo) -> Vec<Relationship> {
        self.scan_prefix(&keys::clients_of(facilitator))
            .into_iter()
            .filter_map(|(k, _)| self.relationship(&keys::trailing_org(&k), facilitator))
            .collect()
    }
    fn link(&self, agent: &Uuid, client: &OrgNo) -> Option<Link> {
        self.record(&keys::link(agent, client))
    }
    fn links_of(&self, agent: &Uuid) -> Vec<Link> {
        self.scan_prefix(&keys::links_of(agent)).into_iter().map(|(_, v)| decode(v)).collect()
    }
    /// Agents a client is linked to.
    fn agents_of_client(&self, client: &OrgNo) -> Vec<Uuid> {
        self.scan_prefix(&keys::agents_of_client(client)).into_iter().map(|(k, _)| keys::trailing_uuid(&k)).collect()
    }
}

impl<K: Kv + ?Sized> ReadModel for K {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_reads_its_own_writes_and_hides_deletes() {
        let mut base = MemKv::default();
        base.put(b"a1".to_vec(), b"x".to_vec());
        base.put(b"a2".to_vec(), b"y".to_vec());
        base.put(b"b1".to_vec(), b"z".to_vec());
        let mut o = Overlay::new(&base);
        o.delete(b"a1".to_vec());
        o.put(b"a3".to_vec(), b"w".to_vec());
        assert_eq!(o.get(b"a1"), None);
        assert_eq!(o.get(b"b1"), Some(b"z".to_vec()));
        let keys: Vec<Vec<u8>> = o.scan_prefix(b"a").into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![b"a2".to_vec(), b"a3".to_vec()]);
        assert_eq!(
            o.into_commit().writes,
            vec![Write::Delete(b"a1".to_vec()), Write::Put(b"a3".to_vec(), b"w".to_vec())]
        );
    }

    /// Consecutive positions share a block; a block gives back each outcome with its
    /// position, in log order, and skips a position that has none (a quarantined record).
    #[test]
    fn outcomes_of_consecutive_positions_share_a_block_and_read_back_by_position() {
        let last = outcomes::BLOCK_POSITIONS - 1;
        assert_eq!(keys::outcome_block(0), keys::outcome_block(last));
        assert_ne!(keys::outcome_block(last), keys::outcome_block(last + 1));
        let mut block = Vec::new();
        outcomes::append(&mut block, 16, b"{\"a\":1}");
        outcomes::append(&mut block, 18, b"{}");
        let entries: Vec<(u64, &[u8])> = outcomes::entries(&block).collect();
        assert_eq!(entries, vec![(16, &b"{\"a\":1}"[..]), (18, &b"{}"[..])]);
    }

    #[test]
    fn keys_that_end_in_a_log_index_read_it_back_and_no_other_key_does() {
        let org = OrgNo::parse("310000019").unwrap();
        let user = Uuid::from_u128(7);
        assert_eq!(keys::index_in(&keys::outcome_block(5)), None);
        assert_eq!(keys::index_in(&keys::quarantined(6)), Some(6));
        assert_eq!(keys::index_in(&keys::indexed(&keys::by_subject("systemuser/x"), 7)), Some(7));
        assert_eq!(keys::index_in(&history::version_key(&keys::system_user(&user), 8)), Some(8));
        assert_eq!(keys::index_in(&keys::system_user_stream_at(9)), Some(9));
        assert_eq!(keys::index_in(&keys::party(&org)), None);
        assert_eq!(keys::index_in(&keys::system_user(&user)), None);
        assert_eq!(keys::index_in(keys::META_POSITION), None);
        assert_eq!(keys::party_id_in(&keys::party_by_id(-3)), Some(-3));
        assert_eq!(keys::party_id_in(&keys::party(&org)), None);
    }

    #[test]
    fn digest_depends_on_every_byte_and_on_boundaries() {
        let d = |e: &[(&[u8], &[u8])]| digest(e.iter().copied());
        assert_ne!(d(&[(b"ab", b"c")]), d(&[(b"a", b"bc")]));
        assert_ne!(d(&[(b"a", b"b")]), d(&[(b"a", b"c")]));
        assert_eq!(d(&[(b"a", b"b")]), d(&[(b"a", b"b")]));
    }
}
