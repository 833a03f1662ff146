//! The generator: a seeded, realistic ledger at national scale (or a fraction of it).
//!
//! Every event is made the way the service makes it — a command decided against the
//! state so far, then applied — so the output is a ledger the service itself could have
//! written: no event is void, every precondition held when it was recorded.
//!
//! The shape at scale 1: 300 vendors with 1,000 systems; 100,000 system users, a fifth of
//! them agents (5 per facilitator, 4,000 facilitators); 1,000,000 client links over
//! about 500,000 client relationships; 200 resource policies over 12 access packages;
//! then churn: links ended and re-made, relationships revoked (their links end with
//! them) and granted again, requests rejected and withdrawn, systems updated, system
//! users deleted. About 2.9 million events.

use std::io::Write;

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use ledger::bench::{org_numbers, Lcg};
use ledger::domain::decide::NewRequest;
use ledger::domain::events::{
    AccessPackageDefined, Actor, ActorKind, ClientRelationshipGranted, ClientRelationshipRevoked, Event, EventData,
    PartyRegistered, PolicyRule, ResourcePolicyPublished, SystemDefinition, UserType,
};
use ledger::domain::ids::{Action, OrgNo, PackageUrn, ResourceId, Right, SystemId};
use ledger::domain::model::{MemKv, ReadModel};
use ledger::domain::{apply, decide, Authority, Command, Context};

/// Counts of each kind of thing at a given scale.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub vendors: usize,
    pub systems: usize,
    pub facilitators: usize,
    pub agents_per_facilitator: usize,
    pub clients_per_facilitator: usize,
    pub links_per_agent: usize,
    pub standard_users: usize,
    pub client_pool: usize,
    pub customers: usize,
    pub policies: usize,
    pub packages: usize,
    pub seed: u64,
}

impl Shape {
    /// Scale 1 is the national shape; smaller scales shrink every population alike
    /// (never below a handful, so even the smallest run exercises every path).
    pub fn at(scale: f64, seed: u64) -> Shape {
        let n = |full: usize, least: usize| ((full as f64 * scale).round() as usize).max(least);
        Shape {
            vendors: n(300, 3),
            systems: n(1_000, 5),
            facilitators: n(4_000, 4),
            agents_per_facilitator: 5,
            clients_per_facilitator: 125,
            links_per_agent: 50,
            standard_users: n(80_000, 20),
            client_pool: n(300_000, 200),
            customers: n(80_000, 20),
            policies: n(200, 5),
            packages: 12,
            seed,
        }
    }
}

/// Writes the ledger as JSON lines (the format of `ledger export` and `ledger import`)
/// and returns how many events it wrote.
pub fn generate(shape: Shape, out: &mut dyn Write, progress: &mut dyn FnMut(usize)) -> Result<usize, String> {
    let mut g = Generator {
        model: MemKv::default(),
        rng: Lcg::new(shape.seed),
        t0: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        events: 0,
        ids: 0,
        out,
        progress,
    };
    g.run(shape)?;
    g.out.flush().map_err(|e| e.to_string())?;
    Ok(g.events)
}

struct Generator<'o> {
    model: MemKv,
    rng: Lcg,
    t0: DateTime<Utc>,
    events: usize,
    ids: u128,
    out: &'o mut dyn Write,
    progress: &'o mut dyn FnMut(usize),
}

fn package(i: usize) -> PackageUrn {
    PackageUrn::parse(&format!("urn:altinn:accesspackage:bench-{i}")).expect("a package urn")
}

fn resource(i: usize) -> ResourceId {
    ResourceId::parse(&format!("bench-resource-{i}")).expect("a resource id")
}

impl Generator<'_> {
    /// Decides `command` as `authority` would, applies and writes what it emits; returns
    /// the events. A rejection is a bug in the generator, so it stops the run.
    fn run_command(&mut self, authority: Authority, command: Command) -> Result<Vec<Event>, String> {
        let now = self.t0 + chrono::Duration::seconds(self.events as i64);
        let mut ids = self.ids;
        let mut new_id = || {
            ids += 1;
            Uuid::from_u128((0x0190 << 112) | ids)
        };
        let mut ctx = Context {
            // The actor kind a token of this authority records (the register's, an
            // operator's, or a person acting for an organisation).
            actor: Actor {
                kind: match &authority {
                    Authority::Register => ActorKind::Register,
                    Authority::Operator => ActorKind::Operator,
                    Authority::Organisation(_) => ActorKind::Person,
                },
                id: format!("bench-{}", self.rng.below(1000)),
            },
            authority,
            now,
            correlation_id: None,
            request_ttl: chrono::Duration::days(3650),
            new_id: &mut new_id,
        };
        let events = decide(&command, &self.model, &mut ctx).map_err(|r| format!("{command:?} was rejected: {r}"))?;
        self.ids = ids;
        for e in &events {
            apply(&mut self.model, self.events as u64, e).map_err(|r| format!("{e:?} was void: {r}"))?;
            self.out.write_all(&e.encode()).and_then(|_| self.out.write_all(b"\n")).map_err(|e| e.to_string())?;
            self.events += 1;
            if self.events.is_multiple_of(10_000) {
                (self.progress)(self.events);
            }
        }
        Ok(events)
    }

    fn pick<T: Clone>(&mut self, from: &[T]) -> T {
        from[self.rng.below(from.len())].clone()
    }

    /// `n` distinct indexes below `len`.
    fn distinct(&mut self, n: usize, len: usize) -> Vec<usize> {
        let mut picked = std::collections::BTreeSet::new();
        while picked.len() < n.min(len) {
            picked.insert(self.rng.below(len));
        }
        picked.into_iter().collect()
    }

    fn run(&mut self, s: Shape) -> Result<(), String> {
        use Authority::{Organisation as Org, Register};
        let total_orgs = s.vendors + s.facilitators + s.client_pool + s.customers;
        let orgs: Vec<OrgNo> = org_numbers(30_000_000).take(total_orgs).collect();
        for (i, org) in orgs.iter().enumerate() {
            let party = PartyRegistered {
                org_no: org.clone(),
                party_id: 50_000_000 + i as i64,
                party_uuid: Uuid::from_u128((0xC0 << 120) + i as u128),
                name: format!("Organisation {i}"),
            };
            self.run_command(Register, Command::RegisterParty(party))?;
        }
        let (vendors, rest) = orgs.split_at(s.vendors);
        let (facilitators, rest) = rest.split_at(s.facilitators);
        let (clients, customers) = rest.split_at(s.client_pool);

        for i in 0..s.packages {
            let define = AccessPackageDefined { urn: package(i), assignable: true, delegable: true };
            self.run_command(Register, Command::DefineAccessPackage(define))?;
        }
        let (read, write) = (Action::parse("read").expect("action"), Action::parse("write").expect("action"));
        for i in 0..s.policies {
            // Each resource opens to one or two packages, and to holders of a right on it.
            let opened = 1 + self.rng.below(2);
            let mut rules: Vec<PolicyRule> = self
                .distinct(opened, s.packages)
                .into_iter()
                .map(|p| PolicyRule { access_package: Some(package(p)), right: false, actions: vec![read.clone()] })
                .collect();
            rules[0].actions.push(write.clone());
            rules.push(PolicyRule { access_package: None, right: true, actions: vec![read.clone(), write.clone()] });
            let owner = vendors[i % vendors.len()].clone();
            let policy = ResourcePolicyPublished {
                resource_id: resource(i),
                title: Default::default(),
                rules,
                minimum_authentication_level: Some(3),
            };
            self.run_command(Org(owner), Command::PublishPolicy(policy))?;
        }

        let mut systems: Vec<SystemDefinition> = Vec::with_capacity(s.systems);
        for i in 0..s.systems {
            let vendor = vendors[i % vendors.len()].clone();
            let system = SystemDefinition {
                system_id: SystemId::parse(&format!("{vendor}_system{i}")).expect("a system id"),
                vendor_org_no: vendor.clone(),
                name: [("nb".to_owned(), format!("System {i}"))].into(),
                description: Default::default(),
                rights: self
                    .distinct(2, s.policies)
                    .into_iter()
                    .map(|r| Right { resource: resource(r), action: None })
                    .collect(),
                access_packages: self.distinct(3, s.packages).into_iter().map(package).collect(),
                client_ids: vec![],
                allowed_redirect_urls: vec![],
                is_visible: false,
            };
            self.run_command(Org(vendor), Command::RegisterSystem(system.clone()))?;
            systems.push(system);
        }

        // Standard system users: a customer approves a vendor's request for some of the
        // system's rights and packages. Every tenth request is rejected or withdrawn first.
        let mut standard: Vec<(Uuid, OrgNo)> = Vec::with_capacity(s.standard_users);
        for i in 0..s.standard_users {
            let system = self.pick(&systems);
            let customer = customers[i % customers.len()].clone();
            let request = NewRequest {
                user_type: UserType::Standard,
                system_id: system.system_id.clone(),
                party_org_no: customer.clone(),
                external_ref: Some(format!("std-{i}")),
                rights: system.rights[..1].to_vec(),
                access_packages: system.access_packages[..1 + self.rng.below(2)].to_vec(),
                redirect_url: None,
                integration_title: None,
            };
            let vendor = Org(system.vendor_org_no.clone());
            if i % 10 == 0 {
                let id = self.request(vendor.clone(), request.clone())?;
                let party = customer.clone();
                let (authority, command) = if i % 20 == 0 {
                    (
                        Org(party.clone()),
                        Command::RejectRequest { request_id: id, party, user_type: UserType::Standard },
                    )
                } else {
                    (vendor.clone(), Command::WithdrawRequest { request_id: id })
                };
                self.run_command(authority, command)?;
            }
            let id = self.request(vendor, request)?;
            let approve =
                Command::ApproveRequest { request_id: id, party: customer.clone(), user_type: UserType::Standard };
            self.run_command(Org(customer.clone()), approve)?;
            standard.push((id, customer));
        }

        // Facilitators: five agent system users each (from different systems), a book of
        // clients who grant them packages, and links from each agent to part of the book.
        let mut links: Vec<(Uuid, OrgNo, OrgNo)> = Vec::new();
        let mut relationships: Vec<(OrgNo, OrgNo, Vec<PackageUrn>)> = Vec::new();
        let mut agents: Vec<(Uuid, OrgNo)> = Vec::new();
        for facilitator in facilitators {
            let book: Vec<OrgNo> = self
                .distinct(s.clients_per_facilitator, clients.len())
                .into_iter()
                .map(|c| clients[c].clone())
                .collect();
            let mut team: Vec<Uuid> = Vec::new();
            let mut carried: std::collections::BTreeSet<PackageUrn> = Default::default();
            for a in 0..s.agents_per_facilitator {
                let system = self.pick(&systems);
                let request = NewRequest {
                    user_type: UserType::Agent,
                    system_id: system.system_id.clone(),
                    party_org_no: facilitator.clone(),
                    external_ref: Some(format!("agent-{a}")),
                    rights: vec![],
                    access_packages: system.access_packages[..2].to_vec(),
                    redirect_url: None,
                    integration_title: None,
                };
                carried.extend(request.access_packages.iter().cloned());
                let id = self.request(Org(system.vendor_org_no.clone()), request)?;
                let party = facilitator.clone();
                let approve = Command::ApproveRequest { request_id: id, party, user_type: UserType::Agent };
                self.run_command(Org(facilitator.clone()), approve)?;
                agents.push((id, facilitator.clone()));
                team.push(id);
            }
            // A client gives the facilitator every package its agents carry, so any agent
            // may be linked to it.
            let carried: Vec<PackageUrn> = carried.into_iter().collect();
            for client in &book {
                let grant = ClientRelationshipGranted {
                    client_org_no: client.clone(),
                    facilitator_org_no: facilitator.clone(),
                    role: None,
                    access_packages: carried.clone(),
                    rights: vec![],
                };
                self.run_command(Register, Command::GrantRelationship(grant))?;
                relationships.push((client.clone(), facilitator.clone(), carried.clone()));
            }
            for id in team {
                for c in self.distinct(s.links_per_agent, book.len()) {
                    let client = book[c].clone();
                    let link = Command::LinkClient { agent: id, client: client.clone(), subset: None };
                    self.run_command(Org(facilitator.clone()), link)?;
                    links.push((id, client, facilitator.clone()));
                }
            }
        }

        // Churn. A third of the links end; four in five of those are made again.
        for i in 0..links.len() / 3 {
            let (agent, client, owner) = links[(i * 7919) % links.len()].clone();
            if self.model.link(&agent, &client).is_none() {
                continue;
            }
            let unlink = Command::UnlinkClient { agent, client: client.clone() };
            self.run_command(Org(owner.clone()), unlink)?;
            if i % 5 != 0 {
                self.run_command(Org(owner), Command::LinkClient { agent, client, subset: None })?;
            }
        }
        // One relationship in twenty is revoked (its links end with it); half come back.
        for i in 0..relationships.len() / 20 {
            let (client, facilitator, carried) = relationships[(i * 104_729) % relationships.len()].clone();
            if self.model.relationship(&client, &facilitator).is_none() {
                continue;
            }
            let revoke = ClientRelationshipRevoked {
                client_org_no: client.clone(),
                facilitator_org_no: facilitator.clone(),
                role: None,
                access_package: None,
                right: None,
            };
            self.run_command(Register, Command::RevokeRelationship(revoke))?;
            if i % 2 == 0 {
                let grant = ClientRelationshipGranted {
                    client_org_no: client,
                    facilitator_org_no: facilitator,
                    role: None,
                    access_packages: carried,
                    rights: vec![],
                };
                self.run_command(Register, Command::GrantRelationship(grant))?;
            }
        }
        // A tenth of the systems change; one system user in fifty is deleted.
        for i in (0..systems.len()).step_by(10) {
            let mut system = systems[i].clone();
            system.name.insert("en".to_owned(), format!("System {i} (updated)"));
            self.run_command(Org(system.vendor_org_no.clone()), Command::UpdateSystem(system))?;
        }
        for (i, (id, owner)) in standard.iter().chain(agents.iter()).enumerate() {
            if i % 50 == 49 {
                let user_type = self.model.system_user(id).expect("a system user").user_type;
                let delete = Command::DeleteSystemUser { system_user_id: *id, party: owner.clone(), user_type };
                self.run_command(Org(owner.clone()), delete)?;
            }
        }
        Ok(())
    }

    fn request(&mut self, vendor: Authority, request: NewRequest) -> Result<Uuid, String> {
        let events = self.run_command(vendor, Command::CreateRequest(request))?;
        match events.first().map(|e| &e.data) {
            Some(EventData::RequestCreated(r)) => Ok(r.request_id),
            other => Err(format!("a request made {other:?}")),
        }
    }
}
