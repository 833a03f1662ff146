//! The decision facts, in memory, with their history: what [`pdp::evaluate`] reads for
//! a decision now or as of any earlier position, held compactly so that a decision
//! never waits for a disk read.
//!
//! At national scale the records a stream of decisions touches (about 100,000 system
//! users, a million client links, half a million relationships, 400,000 parties) do not
//! fit a bounded record cache, and every miss costs a random read from the store. This
//! index holds exactly the facts a decision needs — system users whole, systems' liveness,
//! policies, parties by org number, party id and party uuid, links as agent → (client,
//! event), relationships as (client, facilitator) → (package, role, event) — and nothing
//! else, so it fits in memory at that scale (see `ledger-bench`'s figures). Each fact
//! keeps every value it has had with the index of the event that wrote it, so
//! [`DecisionIndex::at`] answers "as of position N" from memory exactly as the versions
//! on disk would (most facts are written once, and one version is kept inline).
//!
//! It is a pure fold of the read model's own writes: [`DecisionIndex::apply`] takes the
//! version entries a commit writes, [`DecisionIndex::load`] the version entries a store
//! holds, in key order. Versions of one record arrive oldest first either way. It knows
//! the key layout, never the store.
//!
//! [`pdp::evaluate`]: super::pdp::evaluate

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use uuid::Uuid;

use super::events::Subset;
use super::ids::{OrgNo, PackageUrn, ResourceId, Right, SystemId};
use super::model::{decode_record, history, keys, Link, Party, Policy, Relationship, System, SystemUser, Write};
use super::pdp::{Carried, Facts, LinkFact, PartyRef};

/// An organisation number as the number its nine digits spell (they fit a `u32`).
type Org = u32;

fn org(o: &OrgNo) -> Org {
    o.as_str().parse().expect("an organisation number is nine digits")
}

fn org_no(o: Org) -> OrgNo {
    OrgNo::parse(&format!("{o:09}")).expect("an indexed organisation number was valid when indexed")
}

/// One grant of a relationship: the package (interned), the register role and event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CompactGrant {
    package: u16,
    carried: Carried,
}

/// A fact's values over the ledger's history, oldest first, each with the index of the
/// event that wrote it (`None` where that event removed the fact). A fact written once
/// — most of them — keeps its one version inline.
#[derive(Clone, Debug, PartialEq, Eq)]
enum History<V> {
    One(u64, Option<V>),
    Many(Vec<(u64, Option<V>)>),
}

impl<V> History<V> {
    /// Adds the version event `event` wrote. Versions come in log order; an event that
    /// wrote the fact twice leaves its last value, as the version key it rewrote does.
    fn record(&mut self, event: u64, value: Option<V>) {
        match self {
            History::One(last, v) if *last == event => *v = value,
            History::Many(versions) if versions.last().is_some_and(|(last, _)| *last == event) => {
                versions.last_mut().expect("a last version").1 = value
            }
            History::Many(versions) => {
                assert!(versions.last().is_none_or(|(last, _)| *last < event), "versions of a fact come in log order");
                versions.push((event, value));
            }
            History::One(last, _) => {
                assert!(*last < event, "versions of a fact come in log order");
                let History::One(last, first) = std::mem::replace(self, History::Many(Vec::with_capacity(2))) else {
                    unreachable!("matched One above")
                };
                *self = History::Many(vec![(last, first), (event, value)]);
            }
        }
    }

    /// The value after the first `horizon` events: the last version an earlier event
    /// wrote, if any.
    fn at(&self, horizon: u64) -> Option<&V> {
        match self {
            History::One(event, value) => value.as_ref().filter(|_| *event < horizon),
            History::Many(versions) => {
                let before = versions.partition_point(|(event, _)| *event < horizon);
                versions[..before].last().and_then(|(_, value)| value.as_ref())
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            History::One(..) => 1,
            History::Many(versions) => versions.len(),
        }
    }
}

fn record_in<K: Hash + Eq, V>(map: &mut HashMap<K, History<V>>, key: K, event: u64, value: Option<V>) {
    match map.entry(key) {
        Entry::Occupied(mut found) => found.get_mut().record(event, value),
        Entry::Vacant(new) => {
            new.insert(History::One(event, value));
        }
    }
}

/// One version of a client link: the client, the event that wrote it, and the event
/// that made the link (`None` where the writing event ended it) with what the link is
/// restricted to (`None` for the usual link to everything the agent carries: no cost).
#[derive(Clone, Debug, PartialEq, Eq)]
struct LinkVersion {
    client: Org,
    event: u64,
    link: Option<Uuid>,
    subset: Option<Arc<Subset>>,
}

/// The single rights a relationship holds, each with the event that delegated it.
type DelegatedRights = Arc<[(Right, Uuid)]>;

#[derive(Debug, Default)]
pub struct DecisionIndex {
    users: HashMap<Uuid, History<Arc<SystemUser>>>,
    /// Per system, whether it is live (registered and not deleted).
    systems: HashMap<SystemId, History<bool>>,
    policies: HashMap<ResourceId, History<Arc<Policy>>>,
    parties: HashMap<Org, History<()>>,
    party_ids: HashMap<i64, History<Org>>,
    party_uuids: HashMap<Uuid, History<Org>>,
    /// Per agent, the versions of its client links sorted by client, then by event.
    links: HashMap<Uuid, Vec<LinkVersion>>,
    relationships: HashMap<(Org, Org), History<Box<[CompactGrant]>>>,
    /// Single rights delegated in a relationship: only relationships that ever held
    /// one have an entry (most hold packages only).
    relationship_rights: HashMap<(Org, Org), History<DelegatedRights>>,
    /// Access package URNs by their number in `CompactGrant` (a few dozen in practice).
    packages: Vec<PackageUrn>,
    package_numbers: HashMap<PackageUrn, u16>,
    /// The ledger position the folded commits reach: a decision read under the same
    /// guard knows exactly which state it was made on (the decision log records it).
    position: u64,
}

/// The index as it stood after the first `horizon` events; what [`Facts`] reads.
#[derive(Clone, Copy)]
pub struct IndexAt<'a> {
    index: &'a DecisionIndex,
    horizon: u64,
}

/// The record kinds (first byte of a record key) the index holds.
const KINDS: [u8; 8] = [b'U', b'S', b'R', b'P', b'p', b'u', b'L', b'C'];

/// How many facts of each kind the index holds now, and how many versions in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: usize,
    pub live_systems: usize,
    pub policies: usize,
    pub parties: usize,
    pub links: usize,
    pub relationships: usize,
    /// Every version of every fact, the current ones included.
    pub versions: usize,
}

impl Counts {
    /// The facts a current decision can read.
    pub fn total(&self) -> usize {
        self.users + self.live_systems + self.policies + self.parties + self.links + self.relationships
    }
}

impl DecisionIndex {
    /// The prefixes of the version entries the index is folded from, for a store to
    /// scan at open (each yields its entries in key order).
    pub fn version_prefixes() -> impl Iterator<Item = Vec<u8>> {
        KINDS.iter().map(|kind| history::versions_prefix(&[*kind]))
    }

    /// The index of a read model, from its version entries under
    /// [`DecisionIndex::version_prefixes`] in key order.
    pub fn load(entries: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> DecisionIndex {
        let mut index = DecisionIndex::default();
        for (vkey, value) in entries {
            let (key, event) = history::parse_version_key(&vkey);
            index.record(&key, event, &value);
        }
        index
    }

    /// Folds in a commit's writes (the version entries among them; the rest are not
    /// decision facts). Within a commit, versions of one record come oldest first, as a
    /// projected batch writes them in key order.
    pub fn apply(&mut self, writes: &[Write]) {
        for write in writes {
            match write {
                Write::Put(vkey, value) if DecisionIndex::concerns(vkey) => {
                    let (key, event) = history::parse_version_key(vkey);
                    self.record(&key, event, value);
                }
                // Other kinds' versions and unversioned entries are not decision facts;
                // versions are only ever added, so a removed entry is never a version.
                Write::Put(..) | Write::Delete(_) => {
                    debug_assert!(!matches!(write, Write::Delete(k) if k.first() == Some(&b'H')))
                }
            }
        }
    }

    /// Whether a write to `key` can change the index (a store keeps only those).
    pub fn concerns(key: &[u8]) -> bool {
        key.first() == Some(&b'H') && key.get(1).is_some_and(|kind| KINDS.contains(kind))
    }

    /// The index as it stood after the first `horizon` events.
    pub fn at(&self, horizon: u64) -> IndexAt<'_> {
        IndexAt { index: self, horizon }
    }

    /// The ledger position of the last commit folded (or loaded).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Marks the index as reaching `position` (after folding that commit's writes).
    pub fn reach(&mut self, position: u64) {
        debug_assert!(position >= self.position, "positions only grow");
        self.position = position;
    }

    /// The index now: after every event it has folded.
    pub fn now(&self) -> IndexAt<'_> {
        self.at(u64::MAX)
    }

    /// Adds the version of `key`'s record that event `event` wrote (a record, or a
    /// deletion).
    fn record(&mut self, key: &[u8], event: u64, version: &[u8]) {
        let record = history::version_value(version);
        match key.first() {
            Some(b'U') => {
                let user = record.map(|bytes| Arc::new(decode_record::<SystemUser>(bytes)));
                record_in(&mut self.users, keys::trailing_uuid(key), event, user);
            }
            Some(b'S') => {
                let system = record.map(decode_record::<System>);
                // Systems are marked deleted, never removed; a removal is kept all the same.
                let id = match &system {
                    Some(system) => Some(system.definition.system_id.clone()),
                    None => self.systems.keys().find(|id| keys::system(id) == key).cloned(),
                };
                if let Some(id) = id {
                    record_in(&mut self.systems, id, event, system.map(|s| s.deleted.is_none()));
                }
            }
            Some(b'R') => {
                let policy = record.map(decode_record::<Policy>);
                let resource = match &policy {
                    Some(policy) => Some(policy.resource_id.clone()),
                    None => self.policies.keys().find(|r| keys::policy(r) == key).cloned(),
                };
                if let Some(resource) = resource {
                    record_in(&mut self.policies, resource, event, policy.map(Arc::new));
                }
            }
            Some(b'P') => {
                let party = org(&keys::trailing_org(key));
                debug_assert!(record.is_none_or(|bytes| org(&decode_record::<Party>(bytes).org_no) == party));
                record_in(&mut self.parties, party, event, record.map(|_| ()));
            }
            Some(b'p') => {
                let id = keys::party_id_in(key).expect("a party id key holds 8 bytes");
                record_in(&mut self.party_ids, id, event, record.map(|bytes| org(&org_of(bytes))));
            }
            Some(b'u') => {
                let uuid = keys::trailing_uuid(key);
                record_in(&mut self.party_uuids, uuid, event, record.map(|bytes| org(&org_of(bytes))));
            }
            Some(b'L') => {
                let agent = Uuid::from_slice(&key[1..17]).expect("a link key starts with the agent's uuid");
                let client = org(&keys::trailing_org(key));
                let link = record.map(decode_record::<Link>);
                let subset = link.as_ref().and_then(|l| l.subset.clone()).map(Arc::new);
                let link = link.map(|l| l.event_id);
                let versions = self.links.entry(agent).or_default();
                let at = versions.partition_point(|v| (v.client, v.event) < (client, event));
                match versions.get_mut(at) {
                    Some(same) if (same.client, same.event) == (client, event) => {
                        same.link = link;
                        same.subset = subset;
                    }
                    later => {
                        assert!(later.is_none_or(|v| v.client != client), "versions of a link come in log order");
                        versions.insert(at, LinkVersion { client, event, link, subset });
                    }
                }
            }
            Some(b'C') => {
                let client = org(&keys::trailing_org(&key[..10]));
                let facilitator = org(&keys::trailing_org(key));
                let rel = record.map(decode_record::<Relationship>);
                let grants = rel.as_ref().map(|rel| {
                    rel.grants
                        .iter()
                        .map(|g| CompactGrant {
                            package: self.package_number(&g.access_package),
                            carried: Carried { role: g.role, event_id: g.event_id },
                        })
                        .collect()
                });
                record_in(&mut self.relationships, (client, facilitator), event, grants);
                let rights: Option<DelegatedRights> = rel
                    .filter(|rel| !rel.rights.is_empty())
                    .map(|rel| rel.rights.iter().map(|g| (g.right.clone(), g.event_id)).collect());
                if rights.is_some() || self.relationship_rights.contains_key(&(client, facilitator)) {
                    record_in(&mut self.relationship_rights, (client, facilitator), event, rights);
                }
            }
            _ => {}
        }
    }

    fn package_number(&mut self, urn: &PackageUrn) -> u16 {
        if let Some(n) = self.package_numbers.get(urn) {
            return *n;
        }
        let n = u16::try_from(self.packages.len()).expect("fewer than 65,536 access packages");
        self.packages.push(urn.clone());
        self.package_numbers.insert(urn.clone(), n);
        n
    }

    pub fn counts(&self) -> Counts {
        fn now<K, V>(map: &HashMap<K, History<V>>) -> usize {
            map.values().filter(|h| h.at(u64::MAX).is_some()).count()
        }
        fn versions<K, V>(map: &HashMap<K, History<V>>) -> usize {
            map.values().map(History::len).sum()
        }
        // A link is current where it is the last version for its client and not an end.
        let current_links = |versions: &Vec<LinkVersion>| {
            let last_of_client = |i: usize| versions.get(i + 1).is_none_or(|next| next.client != versions[i].client);
            (0..versions.len()).filter(|i| versions[*i].link.is_some() && last_of_client(*i)).count()
        };
        Counts {
            users: now(&self.users),
            live_systems: self.systems.values().filter(|h| h.at(u64::MAX) == Some(&true)).count(),
            policies: now(&self.policies),
            parties: now(&self.parties) + now(&self.party_ids) + now(&self.party_uuids),
            links: self.links.values().map(current_links).sum(),
            relationships: now(&self.relationships),
            versions: versions(&self.users)
                + versions(&self.systems)
                + versions(&self.policies)
                + versions(&self.parties)
                + versions(&self.party_ids)
                + versions(&self.party_uuids)
                + versions(&self.relationships)
                + versions(&self.relationship_rights)
                + self.links.values().map(Vec::len).sum::<usize>(),
        }
    }
}

/// Two indexes are equal when they hold the same facts with the same histories, however
/// each numbered the packages (a loaded index meets them in key order, a maintained one
/// in log order).
impl PartialEq for DecisionIndex {
    fn eq(&self, other: &DecisionIndex) -> bool {
        type Grants = Option<Vec<(PackageUrn, Carried)>>;
        let grants = |index: &DecisionIndex| -> HashMap<(Org, Org), Vec<(u64, Grants)>> {
            let urns = |gs: &[CompactGrant]| {
                gs.iter().map(|g| (index.packages[usize::from(g.package)].clone(), g.carried)).collect()
            };
            let versions = |h: &History<Box<[CompactGrant]>>| match h {
                History::One(event, gs) => vec![(*event, gs.as_deref().map(urns))],
                History::Many(vs) => vs.iter().map(|(event, gs)| (*event, gs.as_deref().map(urns))).collect(),
            };
            index.relationships.iter().map(|(k, h)| (*k, versions(h))).collect()
        };
        self.users == other.users
            && self.systems == other.systems
            && self.policies == other.policies
            && self.parties == other.parties
            && self.party_ids == other.party_ids
            && self.party_uuids == other.party_uuids
            && self.links == other.links
            && self.relationship_rights == other.relationship_rights
            && grants(self) == grants(other)
    }
}

/// The organisation number a party-id or party-uuid entry points to.
fn org_of(bytes: &[u8]) -> OrgNo {
    OrgNo::parse(std::str::from_utf8(bytes).expect("an org number is ASCII")).expect("a stored org number is valid")
}

impl Facts for IndexAt<'_> {
    fn user_fact(&self, id: &Uuid) -> Option<Arc<SystemUser>> {
        self.index.users.get(id)?.at(self.horizon).cloned()
    }
    fn system_live(&self, id: &SystemId) -> bool {
        self.index.systems.get(id).and_then(|h| h.at(self.horizon)) == Some(&true)
    }
    fn policy_fact(&self, resource: &ResourceId) -> Option<Arc<Policy>> {
        self.index.policies.get(resource)?.at(self.horizon).cloned()
    }
    fn party_org(&self, party: &PartyRef) -> Option<OrgNo> {
        let found = match party {
            PartyRef::OrgNo(o) => org(o),
            PartyRef::PartyId(id) => *self.index.party_ids.get(id)?.at(self.horizon)?,
            PartyRef::PartyUuid(uuid) => *self.index.party_uuids.get(uuid)?.at(self.horizon)?,
        };
        self.index.parties.get(&found)?.at(self.horizon)?;
        Some(match party {
            PartyRef::OrgNo(o) => o.clone(),
            _ => org_no(found),
        })
    }
    fn link_fact(&self, user: &Uuid, client: &OrgNo) -> Option<LinkFact> {
        let versions = self.index.links.get(user)?;
        let client = org(client);
        let before = versions.partition_point(|v| (v.client, v.event) < (client, self.horizon));
        let version = versions[..before].last().filter(|v| v.client == client)?;
        Some(LinkFact { event_id: version.link?, subset: version.subset.clone() })
    }
    fn delegated_right(&self, client: &OrgNo, facilitator: &OrgNo, wanted: &Right) -> Option<Uuid> {
        let rights = self.index.relationship_rights.get(&(org(client), org(facilitator)))?.at(self.horizon)?;
        rights.iter().find(|(right, _)| right.covers(wanted)).map(|(_, event)| *event)
    }
    fn carried<'p>(
        &self,
        client: &OrgNo,
        facilitator: &OrgNo,
        mut wanted: impl Iterator<Item = &'p PackageUrn>,
    ) -> Option<Option<(&'p PackageUrn, Carried)>> {
        let grants = self.index.relationships.get(&(org(client), org(facilitator)))?.at(self.horizon)?;
        Some(wanted.find_map(|p| {
            let number = *self.index.package_numbers.get(p)?;
            grants.iter().find(|g| g.package == number).map(|g| (p, g.carried))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_answers_with_the_last_version_an_earlier_event_wrote() {
        // Given a fact written by event 3, rewritten by event 7 and removed by event 9,
        let mut fact = History::One(3, Some("first"));
        fact.record(7, Some("second"));
        fact.record(9, None);
        // then it is absent before event 3 applied, and each version holds from the
        // position after the event that wrote it.
        let at = |horizon| fact.at(horizon).copied();
        assert_eq!(
            [at(0), at(3), at(4), at(7), at(8), at(9), at(10), at(u64::MAX)],
            [None, None, Some("first"), Some("first"), Some("second"), Some("second"), None, None]
        );
        assert_eq!(fact.len(), 3);
    }

    #[test]
    fn an_event_that_writes_a_fact_twice_leaves_its_last_value() {
        let mut once = History::One(5, Some(1));
        once.record(5, Some(2));
        assert_eq!(once, History::One(5, Some(2)));
        let mut many = History::One(1, Some(1));
        many.record(5, Some(2));
        many.record(5, None);
        assert_eq!(many, History::Many(vec![(1, Some(1)), (5, None)]));
    }

    #[test]
    #[should_panic(expected = "versions of a fact come in log order")]
    fn a_version_older_than_the_last_is_refused() {
        let mut fact = History::One(5, Some(()));
        fact.record(4, None);
    }
}
