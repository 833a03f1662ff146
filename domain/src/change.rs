//! Typed changes to the decision facts: what `apply` did to a record the PDP reads,
//! handed on as the record itself rather than as the bytes it was written as.
//!
//! `apply` writes a decision fact through [`KvMut::change`](super::model::KvMut::change):
//! the model stores its bytes (as a version, see [`history`]) and a projecting overlay
//! also notes the typed change with the event that made it. A commit then carries both
//! ([`Commit`]): the store writes the bytes, the decision index folds the changes —
//! nobody decodes what `apply` just encoded. At open a store has only bytes, so
//! [`Change::read`] is the one parser from a stored record back to a change; the index
//! has one fold for both.
//!
//! This module knows the records and their keys; it knows nothing of the index or of a
//! store.

use std::sync::Arc;

use uuid::Uuid;

use super::ids::OrgNo;
use super::model::{
    decode_record, encode, history, keys, Link, Party, Policy, Relationship, System, SystemUser, Write,
};

/// One change an event made to one decision fact. Records `apply` only ever replaces
/// (a system is marked deleted, never removed) carry the record; the others say `None`
/// where the event removed them.
#[derive(Clone, Debug)]
pub enum Change {
    Party(Arc<Party>),
    /// A party id's organisation number.
    PartyId(i64, Option<OrgNo>),
    /// A party uuid's organisation number.
    PartyUuid(Uuid, Option<OrgNo>),
    Policy(Arc<Policy>),
    System(Arc<System>),
    SystemUser(Arc<SystemUser>),
    Relationship {
        client: OrgNo,
        facilitator: OrgNo,
        relationship: Option<Arc<Relationship>>,
    },
    Link {
        agent: Uuid,
        client: OrgNo,
        link: Option<Arc<Link>>,
    },
}

/// The first key bytes of the decision facts' records.
pub const KINDS: [u8; 8] = [b'U', b'S', b'R', b'P', b'p', b'u', b'L', b'C'];

impl Change {
    /// Whether `key` is a decision fact's record key (what is written only as a change).
    pub fn concerns(key: &[u8]) -> bool {
        key.first().is_some_and(|kind| KINDS.contains(kind))
    }

    /// The prefixes of the decision facts' version entries, for a store to scan at open
    /// (each yields its entries in key order).
    pub fn version_prefixes() -> impl Iterator<Item = Vec<u8>> {
        KINDS.iter().map(|kind| history::versions_prefix(&[*kind]))
    }

    /// The record's key.
    pub fn key(&self) -> Vec<u8> {
        match self {
            Change::Party(party) => keys::party(&party.org_no),
            Change::PartyId(id, _) => keys::party_by_id(*id),
            Change::PartyUuid(uuid, _) => keys::party_by_uuid(uuid),
            Change::Policy(policy) => keys::policy(&policy.resource_id),
            Change::System(system) => keys::system(&system.definition.system_id),
            Change::SystemUser(user) => keys::system_user(&user.id),
            Change::Relationship { client, facilitator, .. } => keys::relationship(client, facilitator),
            Change::Link { agent, client, .. } => keys::link(agent, client),
        }
    }

    /// The record's bytes, `None` where the change removes it.
    pub fn value(&self) -> Option<Vec<u8>> {
        match self {
            Change::Party(party) => Some(encode(&**party)),
            Change::PartyId(_, org) | Change::PartyUuid(_, org) => org.as_ref().map(|o| o.as_str().as_bytes().to_vec()),
            Change::Policy(policy) => Some(encode(&**policy)),
            Change::System(system) => Some(encode(&**system)),
            Change::SystemUser(user) => Some(encode(&**user)),
            Change::Relationship { relationship, .. } => relationship.as_ref().map(|r| encode(&**r)),
            Change::Link { link, .. } => link.as_ref().map(|l| encode(&**l)),
        }
    }

    /// The change that leaves `value` (`None`: nothing) under the decision fact `key`;
    /// `None` for a key that is no decision fact. The one way back from stored bytes.
    ///
    /// # Panics
    /// On a removal of a record `apply` never removes, or bytes `apply` did not write:
    /// a read model damaged outside the ledger (see [`decode_record`]).
    pub fn read(key: &[u8], value: Option<&[u8]>) -> Option<Change> {
        const NEVER_REMOVED: &str = "apply replaces this kind of record, never removes it";
        let org = |bytes: &[u8]| {
            OrgNo::parse(std::str::from_utf8(bytes).expect("org numbers are ASCII")).expect("a stored org number")
        };
        Some(match *key.first()? {
            b'P' => Change::Party(Arc::new(decode_record(value.expect(NEVER_REMOVED)))),
            b'p' => Change::PartyId(keys::party_id_in(key).expect("a party id key"), value.map(org)),
            b'u' => Change::PartyUuid(keys::trailing_uuid(key), value.map(org)),
            b'R' => Change::Policy(Arc::new(decode_record(value.expect(NEVER_REMOVED)))),
            b'S' => Change::System(Arc::new(decode_record(value.expect(NEVER_REMOVED)))),
            b'U' => Change::SystemUser(Arc::new(decode_record(value.expect(NEVER_REMOVED)))),
            b'C' => Change::Relationship {
                client: keys::trailing_org(&key[..10]),
                facilitator: keys::trailing_org(key),
                relationship: value.map(|v| Arc::new(decode_record(v))),
            },
            b'L' => Change::Link {
                agent: Uuid::from_slice(&key[1..17]).expect("a link key starts with the agent's uuid"),
                client: keys::trailing_org(key),
                link: value.map(|v| Arc::new(decode_record(v))),
            },
            _ => return None,
        })
    }

    /// The change a stored version entry records, with the index of the event that
    /// wrote it; `None` for versions of records that are no decision fact.
    pub fn read_version(vkey: &[u8], stored: &[u8]) -> Option<(u64, Change)> {
        let (key, event) = history::parse_version_key(vkey);
        Change::read(&key, history::version_value(stored)).map(|change| (event, change))
    }
}

/// One projected batch, ready to commit: the bytes for the store, in key order, and the
/// typed changes to decision facts for the decision index, in log order (so versions of
/// one fact come oldest first).
#[derive(Debug, Default)]
pub struct Commit {
    pub writes: Vec<Write>,
    pub changes: Vec<(u64, Change)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::history;

    fn org(s: &str) -> OrgNo {
        OrgNo::parse(s).unwrap()
    }

    /// A change and the version a store keeps of it are one fact: reading the stored
    /// version gives back the key, the bytes and the event.
    #[test]
    fn a_change_reads_back_from_the_version_a_store_keeps_of_it() {
        let agent = Uuid::from_u128(7);
        let removals = [
            Change::PartyId(42, None),
            Change::PartyUuid(agent, None),
            Change::Relationship { client: org("310000019"), facilitator: org("310000027"), relationship: None },
            Change::Link { agent, client: org("310000019"), link: None },
            Change::PartyId(42, Some(org("310000019"))),
        ];
        for change in removals {
            let vkey = history::version_key(&change.key(), 9);
            let stored = history::encode_version(change.value().as_deref());
            let (event, read) = Change::read_version(&vkey, &stored).expect("a decision fact");
            assert_eq!((event, read.key(), read.value()), (9, change.key(), change.value()));
        }
        assert!(Change::read(&keys::request(&agent), Some(b"{}")).is_none(), "a request is no decision fact");
        assert!(Change::concerns(&keys::link(&agent, &org("310000019"))));
        assert!(!Change::concerns(&keys::agent_of_client(&org("310000019"), &agent)));
    }
}
