//! What the benchmark needs to know about a ledger to ask it sensible questions and to
//! give the same data to the comparison engines: a plain fold of the events into maps.
//!
//! This fold is deliberately independent of the ledger's read model (it knows nothing of
//! sled, keys or versions), so when Cedar or the naive baseline agree with the PDP, two
//! separate readings of the same log agree.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use ledger::bench::Lcg;
use ledger::domain::events::{Event, EventData, PolicyRule, UserType};
use ledger::domain::ids::{Action, OrgNo, PackageUrn, ResourceId, SystemId};
use ledger::domain::pdp::{PartyRef, Query};

pub struct User {
    pub standard: bool,
    pub owner: OrgNo,
    pub system: SystemId,
    pub packages: Vec<PackageUrn>,
    pub rights: Vec<ResourceId>,
    pub deleted: bool,
    /// Position of its creation.
    pub since: u64,
}

#[derive(Default)]
pub struct Facts {
    pub users: HashMap<Uuid, User>,
    pub systems: HashMap<SystemId, bool>,
    pub parties: HashSet<OrgNo>,
    /// Current links, agent → clients.
    pub links: HashMap<Uuid, BTreeSet<OrgNo>>,
    /// Every link ever made: (agent, client, position made).
    pub ever_linked: Vec<(Uuid, OrgNo, u64)>,
    /// Current relationships, (client, facilitator) → packages carried.
    pub relationships: HashMap<(OrgNo, OrgNo), BTreeSet<PackageUrn>>,
    pub policies: HashMap<ResourceId, Vec<PolicyRule>>,
    pub events: u64,
}

impl Facts {
    pub fn fold(&mut self, event: &Event) {
        use EventData::*;
        let position = self.events;
        self.events += 1;
        if let Some(s) = event.data.system_definition() {
            self.systems.insert(s.system_id.clone(), true);
            return;
        }
        match &event.data {
            PartyRegistered(p) => {
                self.parties.insert(p.org_no.clone());
            }
            ResourcePolicyPublished(p) => {
                self.policies.insert(p.resource_id.clone(), p.rules.clone());
            }
            SystemDeleted(s) => {
                self.systems.insert(s.system_id.clone(), false);
            }
            SystemUserCreated(u) => {
                let user = User {
                    standard: u.user_type == UserType::Standard,
                    owner: u.owner_org_no.clone(),
                    system: u.system_id.clone(),
                    packages: u.access_packages.clone(),
                    rights: u.rights.iter().filter(|r| r.action.is_none()).map(|r| r.resource.clone()).collect(),
                    deleted: false,
                    since: position,
                };
                self.users.insert(u.system_user_id, user);
            }
            SystemUserDeleted(u) => {
                if let Some(user) = self.users.get_mut(&u.system_user_id) {
                    user.deleted = true;
                }
            }
            ClientRelationshipGranted(g) => {
                let key = (g.client_org_no.clone(), g.facilitator_org_no.clone());
                self.relationships.entry(key).or_default().extend(g.access_packages.iter().cloned());
            }
            ClientRelationshipRevoked(r) => {
                let key = (r.client_org_no.clone(), r.facilitator_org_no.clone());
                match (&r.role, &r.access_package) {
                    (None, None) => {
                        self.relationships.remove(&key);
                    }
                    (_, Some(package)) => {
                        if let Some(packages) = self.relationships.get_mut(&key) {
                            packages.remove(package);
                        }
                    }
                    // Roles carry no packages in generated ledgers.
                    (Some(_), None) => {}
                }
            }
            ClientLinked(l) => {
                self.links.entry(l.system_user_id).or_default().insert(l.client_org_no.clone());
                self.ever_linked.push((l.system_user_id, l.client_org_no.clone(), position));
            }
            ClientUnlinked(l) => {
                if let Some(clients) = self.links.get_mut(&l.system_user_id) {
                    clients.remove(&l.client_org_no);
                }
            }
            _ => {}
        }
    }

    /// Resources whose policy lets `package` holders do something, with that action.
    fn opened_by(&self) -> HashMap<PackageUrn, Vec<(ResourceId, Action)>> {
        let mut out: HashMap<PackageUrn, Vec<(ResourceId, Action)>> = HashMap::new();
        let mut resources: Vec<&ResourceId> = self.policies.keys().collect();
        resources.sort();
        for resource in resources {
            for rule in &self.policies[resource] {
                if let Some(package) = &rule.access_package {
                    for action in &rule.actions {
                        out.entry(package.clone()).or_default().push((resource.clone(), action.clone()));
                    }
                }
            }
        }
        out
    }

    /// `n` questions, half about agents acting for a client they were linked to at some
    /// point up to `before`, half about standard system users acting for their owner;
    /// mostly about a resource one of their packages or rights opens (so most could be
    /// permitted), some about any resource.
    pub fn queries(&self, n: usize, before: u64, seed: u64) -> Vec<Query> {
        let mut rng = Lcg::new(seed);
        let opened = self.opened_by();
        let mut resources: Vec<&ResourceId> = self.policies.keys().collect();
        resources.sort();
        let linked: Vec<&(Uuid, OrgNo, u64)> = self.ever_linked.iter().filter(|l| l.2 < before).collect();
        let mut standard: Vec<(&Uuid, &User)> =
            self.users.iter().filter(|(_, u)| u.standard && u.since < before).collect();
        standard.sort_by_key(|(id, _)| **id);
        let read = Action::parse("read").expect("action");
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (id, party) = if i % 2 == 0 && !linked.is_empty() {
                let (agent, client, _) = linked[rng.below(linked.len())];
                (*agent, client.clone())
            } else if !standard.is_empty() {
                let (id, user) = standard[rng.below(standard.len())];
                (*id, user.owner.clone())
            } else {
                continue;
            };
            let user = &self.users[&id];
            let (resource, action) = match rng.below(10) {
                0 => (resources[rng.below(resources.len())].clone(), read.clone()),
                1 if !user.rights.is_empty() => (user.rights[rng.below(user.rights.len())].clone(), read.clone()),
                _ => {
                    let package = &user.packages[rng.below(user.packages.len())];
                    match opened.get(package) {
                        Some(choices) => choices[rng.below(choices.len())].clone(),
                        None => (resources[rng.below(resources.len())].clone(), read.clone()),
                    }
                }
            };
            out.push(Query { system_user: id, action, resource, party: PartyRef::OrgNo(party) });
        }
        out
    }
}
