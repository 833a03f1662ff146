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
//! It is a pure fold of typed changes ([`Change`]): [`DecisionIndex::fold`] takes the
//! changes `apply` made in a commit, as `apply` made them (nothing is decoded again),
//! and [`DecisionIndex::load`] the version entries a store holds, each read back into a
//! change by [`Change::read_version`]. Versions of one fact arrive oldest first either
//! way. It knows neither the key layout nor the store.
//!
//! [`pdp::evaluate`]: super::pdp::evaluate

use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::sync::Arc;

use uuid::Uuid;

use super::change::Change;
use super::events::Subset;
use super::ids::{OrgNo, PackageUrn, ResourceId, Right, SystemId};
use super::model::{Link, Policy, Relationship, SystemUser};
use super::pdp::{Carried, Facts, LinkFact, PartyRef};

/// The index's maps hash with foldhash, not std's SipHash: hashing the key was a tenth
/// of a decision's time in a profile of the benchmark at a tenth of national scale.
/// foldhash is seeded per process, and the keys are the ledger's own (uuids and numbers
/// its events wrote), so no caller can pick keys that collide.
type HashMap<K, V> = foldhash::HashMap<K, V>;

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

/// One version of a client link: the event that wrote it, and the event that made the
/// link (`None` where the writing event ended it) with what the link is restricted to
/// (`None` for the usual link to everything the agent carries: no cost).
#[derive(Clone, Debug, PartialEq, Eq)]
struct LinkVersion {
    event: u64,
    link: Option<Uuid>,
    subset: Option<Arc<Subset>>,
}

/// An agent's client links: every version, sorted by client and then by event, with the
/// clients alone in an array beside them. A lookup binary-searches the clients (four
/// bytes a version, a few cache lines for an agent with thousands of clients) and not
/// the versions themselves (forty bytes each), which took a fifth of a decision's time
/// in a profile of the benchmark at a tenth of national scale.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct AgentLinks {
    /// `clients[i]` is the client of `versions[i]`.
    clients: Vec<Org>,
    versions: Vec<LinkVersion>,
}

impl AgentLinks {
    /// Where the versions of `client`'s link are, oldest first.
    fn of(&self, client: Org) -> std::ops::Range<usize> {
        debug_assert_eq!(self.clients.len(), self.versions.len(), "a client for every version");
        let end = self.clients.partition_point(|c| *c <= client);
        let start = self.clients[..end].partition_point(|c| *c < client);
        start..end
    }

    /// How many links are current: a client's last version, where it is not an end.
    fn current(&self) -> usize {
        let last_of_client = |i: usize| self.clients.get(i + 1).is_none_or(|next| *next != self.clients[i]);
        (0..self.versions.len()).filter(|i| self.versions[*i].link.is_some() && last_of_client(*i)).count()
    }
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
    /// Per agent, the versions of its client links.
    links: HashMap<Uuid, AgentLinks>,
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
    /// The index of a read model, from its version entries under
    /// [`Change::version_prefixes`] in key order.
    pub fn load(entries: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> DecisionIndex {
        let mut index = DecisionIndex::default();
        for (vkey, stored) in entries {
            let (event, change) = Change::read_version(&vkey, &stored).expect("the prefixes hold decision facts");
            index.fold_one(event, &change);
        }
        index
    }

    /// Folds in a commit's typed changes, each with the index of the event that made
    /// it, in log order (versions of one fact oldest first).
    pub fn fold(&mut self, changes: &[(u64, Change)]) {
        for (event, change) in changes {
            self.fold_one(*event, change);
        }
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

    /// Adds the version of one fact that event `event` left.
    fn fold_one(&mut self, event: u64, change: &Change) {
        match change {
            Change::SystemUser(user) => record_in(&mut self.users, user.id, event, Some(user.clone())),
            Change::System(system) => {
                let live = system.deleted.is_none();
                record_in(&mut self.systems, system.definition.system_id.clone(), event, Some(live));
            }
            Change::Policy(policy) => {
                record_in(&mut self.policies, policy.resource_id.clone(), event, Some(policy.clone()))
            }
            Change::Party(party) => record_in(&mut self.parties, org(&party.org_no), event, Some(())),
            Change::PartyId(id, found) => record_in(&mut self.party_ids, *id, event, found.as_ref().map(org)),
            Change::PartyUuid(uuid, found) => record_in(&mut self.party_uuids, *uuid, event, found.as_ref().map(org)),
            Change::Link { agent, client, link } => self.fold_link(*agent, org(client), event, link.as_deref()),
            Change::Relationship { client, facilitator, relationship } => {
                self.fold_relationship((org(client), org(facilitator)), event, relationship.as_deref())
            }
        }
    }

    fn fold_link(&mut self, agent: Uuid, client: Org, event: u64, link: Option<&Link>) {
        let subset = link.and_then(|l| l.subset.clone()).map(Arc::new);
        let link = link.map(|l| l.event_id);
        let links = self.links.entry(agent).or_default();
        let of = links.of(client);
        match links.versions[of.clone()].last_mut() {
            Some(same) if same.event == event => {
                same.link = link;
                same.subset = subset;
            }
            last => {
                assert!(last.is_none_or(|v| v.event < event), "versions of a link come in log order");
                links.clients.insert(of.end, client);
                links.versions.insert(of.end, LinkVersion { event, link, subset });
            }
        }
    }

    fn fold_relationship(&mut self, pair: (Org, Org), event: u64, rel: Option<&Relationship>) {
        let grants = rel.map(|rel| {
            rel.grants
                .iter()
                .map(|g| CompactGrant {
                    package: self.package_number(&g.access_package),
                    carried: Carried { role: g.role, event_id: g.event_id },
                })
                .collect()
        });
        record_in(&mut self.relationships, pair, event, grants);
        let rights: Option<DelegatedRights> = rel
            .filter(|rel| !rel.rights.is_empty())
            .map(|rel| rel.rights.iter().map(|g| (g.right.clone(), g.event_id)).collect());
        if rights.is_some() || self.relationship_rights.contains_key(&pair) {
            record_in(&mut self.relationship_rights, pair, event, rights);
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
        Counts {
            users: now(&self.users),
            live_systems: self.systems.values().filter(|h| h.at(u64::MAX) == Some(&true)).count(),
            policies: now(&self.policies),
            parties: now(&self.parties) + now(&self.party_ids) + now(&self.party_uuids),
            links: self.links.values().map(AgentLinks::current).sum(),
            relationships: now(&self.relationships),
            versions: versions(&self.users)
                + versions(&self.systems)
                + versions(&self.policies)
                + versions(&self.parties)
                + versions(&self.party_ids)
                + versions(&self.party_uuids)
                + versions(&self.relationships)
                + versions(&self.relationship_rights)
                + self.links.values().map(|l| l.versions.len()).sum::<usize>(),
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
        let links = self.index.links.get(user)?;
        let versions = &links.versions[links.of(org(client))];
        let before = versions.partition_point(|v| v.event < self.horizon);
        let version = versions[..before].last()?;
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
