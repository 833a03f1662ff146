//! The current decision facts, in memory: what [`pdp::evaluate`] reads for a decision
//! now, held compactly so that a decision never waits for a disk read.
//!
//! At national scale the records a stream of decisions touches (about 100,000 system
//! users, a million client links, half a million relationships, 400,000 parties) do not
//! fit a bounded record cache, and every miss costs a random read from the store. This
//! index holds exactly the facts a current decision needs — system users whole, live
//! systems, policies, parties by org number, party id and party uuid, links as agent →
//! (client, event), relationships as (client, facilitator) → (package, role, event) — and
//! nothing else, so it fits in memory at that scale (see `ledger-bench`'s figures).
//!
//! It is a pure fold of the read model's own writes: [`DecisionIndex::apply`] takes the
//! version entries a commit writes, [`DecisionIndex::load`] the version entries a store
//! holds, in key order. Versions of one record arrive oldest first either way, so the
//! last one seen is the current record. It knows the key layout, never the store.
//! Decisions "as of" a past position do not come here: they read the versions.
//!
//! [`pdp::evaluate`]: super::pdp::evaluate

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;

use super::ids::{OrgNo, PackageUrn, ResourceId, SystemId};
use super::model::{decode_record, history, keys, Link, Party, Policy, Relationship, System, SystemUser, Write};
use super::pdp::{Carried, Facts, PartyRef};

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

#[derive(Debug, Default)]
pub struct DecisionIndex {
    users: HashMap<Uuid, Arc<SystemUser>>,
    live_systems: HashSet<SystemId>,
    policies: HashMap<ResourceId, Arc<Policy>>,
    parties: HashSet<Org>,
    party_ids: HashMap<i64, Org>,
    party_uuids: HashMap<Uuid, Org>,
    /// Per agent, its linked clients sorted by org number, with the linking event.
    links: HashMap<Uuid, Vec<(Org, Uuid)>>,
    relationships: HashMap<(Org, Org), Box<[CompactGrant]>>,
    /// Access package URNs by their number in `CompactGrant` (a few dozen in practice).
    packages: Vec<PackageUrn>,
    package_numbers: HashMap<PackageUrn, u16>,
}

/// The record kinds (first byte of a record key) the index holds.
const KINDS: [u8; 8] = [b'U', b'S', b'R', b'P', b'p', b'u', b'L', b'C'];

/// How many entries of each kind the index holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: usize,
    pub live_systems: usize,
    pub policies: usize,
    pub parties: usize,
    pub links: usize,
    pub relationships: usize,
}

impl Counts {
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
    /// [`DecisionIndex::version_prefixes`] in key order. Only the last version of each
    /// record is decoded.
    pub fn load(entries: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> DecisionIndex {
        let mut index = DecisionIndex::default();
        let mut pending: Option<(Vec<u8>, Vec<u8>)> = None;
        for (vkey, value) in entries {
            let (key, _) = history::parse_version_key(&vkey);
            if let Some((last_key, last_value)) = pending.take() {
                if last_key != key {
                    index.set(&last_key, &last_value);
                }
            }
            pending = Some((key, value));
        }
        if let Some((key, value)) = pending {
            index.set(&key, &value);
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
                    let (key, _) = history::parse_version_key(vkey);
                    self.set(&key, value);
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

    /// Makes `key`'s record the stored version `version` (a record, or a deletion).
    fn set(&mut self, key: &[u8], version: &[u8]) {
        let record = history::version_value(version);
        match key.first() {
            Some(b'U') => {
                let id = keys::trailing_uuid(key);
                match record {
                    Some(bytes) => self.users.insert(id, Arc::new(decode_record::<SystemUser>(bytes))),
                    None => self.users.remove(&id),
                };
            }
            Some(b'S') => match record.map(decode_record::<System>) {
                Some(system) if system.deleted.is_none() => {
                    self.live_systems.insert(system.definition.system_id);
                }
                Some(system) => {
                    self.live_systems.remove(&system.definition.system_id);
                }
                None => {
                    self.live_systems.retain(|id| keys::system(id) != key);
                }
            },
            Some(b'R') => match record.map(decode_record::<Policy>) {
                Some(policy) => {
                    self.policies.insert(policy.resource_id.clone(), Arc::new(policy));
                }
                None => self.policies.retain(|resource, _| keys::policy(resource) != key),
            },
            Some(b'P') => {
                let party = org(&keys::trailing_org(key));
                match record {
                    Some(bytes) => {
                        debug_assert_eq!(org(&decode_record::<Party>(bytes).org_no), party);
                        self.parties.insert(party)
                    }
                    None => self.parties.remove(&party),
                };
            }
            Some(b'p') => {
                let id = i64::from_be_bytes(key[1..9].try_into().expect("a party id key holds 8 bytes"));
                match record {
                    Some(bytes) => self.party_ids.insert(id, org(&org_of(bytes))),
                    None => self.party_ids.remove(&id),
                };
            }
            Some(b'u') => {
                let uuid = keys::trailing_uuid(key);
                match record {
                    Some(bytes) => self.party_uuids.insert(uuid, org(&org_of(bytes))),
                    None => self.party_uuids.remove(&uuid),
                };
            }
            Some(b'L') => {
                let agent = Uuid::from_slice(&key[1..17]).expect("a link key starts with the agent's uuid");
                let client = org(&keys::trailing_org(key));
                let links = self.links.entry(agent).or_default();
                let at = links.binary_search_by_key(&client, |(c, _)| *c);
                match (record.map(decode_record::<Link>), at) {
                    (Some(link), Ok(i)) => links[i].1 = link.event_id,
                    (Some(link), Err(i)) => links.insert(i, (client, link.event_id)),
                    (None, Ok(i)) => {
                        links.remove(i);
                    }
                    (None, Err(_)) => {}
                }
                if links.is_empty() {
                    self.links.remove(&agent);
                }
            }
            Some(b'C') => {
                let client = org(&keys::trailing_org(&key[..10]));
                let facilitator = org(&keys::trailing_org(key));
                match record.map(decode_record::<Relationship>) {
                    Some(rel) => {
                        let grants = rel
                            .grants
                            .iter()
                            .map(|g| CompactGrant {
                                package: self.package_number(&g.access_package),
                                carried: Carried { role: g.role, event_id: g.event_id },
                            })
                            .collect();
                        self.relationships.insert((client, facilitator), grants);
                    }
                    None => {
                        self.relationships.remove(&(client, facilitator));
                    }
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
        Counts {
            users: self.users.len(),
            live_systems: self.live_systems.len(),
            policies: self.policies.len(),
            parties: self.parties.len() + self.party_ids.len() + self.party_uuids.len(),
            links: self.links.values().map(Vec::len).sum(),
            relationships: self.relationships.len(),
        }
    }
}

/// Two indexes are equal when they hold the same facts, however each numbered the
/// packages (a loaded index meets them in key order, a maintained one in log order).
impl PartialEq for DecisionIndex {
    fn eq(&self, other: &DecisionIndex) -> bool {
        let grants = |index: &DecisionIndex| -> HashMap<(Org, Org), Vec<(PackageUrn, Carried)>> {
            let urn = |g: &CompactGrant| index.packages[usize::from(g.package)].clone();
            index.relationships.iter().map(|(k, gs)| (*k, gs.iter().map(|g| (urn(g), g.carried)).collect())).collect()
        };
        self.users == other.users
            && self.live_systems == other.live_systems
            && self.policies == other.policies
            && self.parties == other.parties
            && self.party_ids == other.party_ids
            && self.party_uuids == other.party_uuids
            && self.links == other.links
            && grants(self) == grants(other)
    }
}

/// The organisation number a party-id or party-uuid entry points to.
fn org_of(bytes: &[u8]) -> OrgNo {
    OrgNo::parse(std::str::from_utf8(bytes).expect("an org number is ASCII")).expect("a stored org number is valid")
}

impl Facts for DecisionIndex {
    fn user_fact(&self, id: &Uuid) -> Option<Arc<SystemUser>> {
        self.users.get(id).cloned()
    }
    fn system_live(&self, id: &SystemId) -> bool {
        self.live_systems.contains(id)
    }
    fn policy_fact(&self, resource: &ResourceId) -> Option<Arc<Policy>> {
        self.policies.get(resource).cloned()
    }
    fn party_org(&self, party: &PartyRef) -> Option<OrgNo> {
        let found = match party {
            PartyRef::OrgNo(o) => return self.parties.contains(&org(o)).then(|| o.clone()),
            PartyRef::PartyId(id) => *self.party_ids.get(id)?,
            PartyRef::PartyUuid(uuid) => *self.party_uuids.get(uuid)?,
        };
        self.parties.contains(&found).then(|| org_no(found))
    }
    fn link_event(&self, user: &Uuid, client: &OrgNo) -> Option<Uuid> {
        let links = self.links.get(user)?;
        let client = org(client);
        links.binary_search_by_key(&client, |(c, _)| *c).ok().map(|i| links[i].1)
    }
    fn carried<'p>(
        &self,
        client: &OrgNo,
        facilitator: &OrgNo,
        mut wanted: impl Iterator<Item = &'p PackageUrn>,
    ) -> Option<Option<(&'p PackageUrn, Carried)>> {
        let grants = self.relationships.get(&(org(client), org(facilitator)))?;
        Some(wanted.find_map(|p| {
            let number = *self.package_numbers.get(p)?;
            grants.iter().find(|g| g.package == number).map(|g| (p, g.carried))
        }))
    }
}
