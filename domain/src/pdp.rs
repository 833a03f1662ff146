//! Policy decision: "may system user S do action A on resource R for party P?",
//! evaluated over a read-only model, with its proof.
//!
//! Pure and allocation-light: a decision is a handful of reads of [`Facts`], answered by
//! any read model (now or as of a position) or by the in-memory `index` of the current
//! decision facts. It knows nothing of XACML (see `xacml`) or HTTP.

use serde::Serialize;
use uuid::Uuid;

use super::events::{Subset, UserType};
use super::ids::{Action, OrgNo, PackageUrn, RegisterRole, ResourceId, Right, SystemId};
use super::model::{keys, Kv, Link, Party, Policy, ReadModel, Relationship, System, SystemUser};
use std::sync::Arc;

/// How a request names the party acted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartyRef {
    OrgNo(OrgNo),
    PartyId(i64),
    PartyUuid(Uuid),
}

/// "As of": a moment in the ledger's history, by effective time or by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Time(chrono::DateTime<chrono::Utc>),
    Position(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub system_user: Uuid,
    pub action: Action,
    pub resource: ResourceId,
    pub party: PartyRef,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Permit,
    NotApplicable,
}

/// One fact a Permit rests on: the event that established it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ground {
    pub event_id: Uuid,
    pub fact: Fact,
}

/// What a [`Ground`] establishes, typed, and written as a sentence only where someone
/// reads it (the native endpoint's proof, who-could-act), never while deciding: the
/// four sentences of a Permit took a fifth of a decision's time in a profile, and
/// XACML's callers never read them. Equal facts read the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The system user was created for its owner.
    UserCreated { user: Uuid, owner: OrgNo },
    /// The resource's policy was published.
    PolicyPublished(ResourceId),
    /// A standard system user holds a right on the resource.
    HoldsRight(ResourceId),
    /// A standard system user holds the access package.
    HoldsPackage(PackageUrn),
    /// The owner delegated the package to its own agent.
    OwnAgentDelegated { owner: OrgNo, package: PackageUrn },
    /// The client is linked to the agent, for everything or only `subset`.
    Linked { client: OrgNo, subset: Option<Arc<Subset>> },
    /// The client's relationship gives the owner the package, by a register role
    /// (`via` names it) or a client delegation.
    Gives { client: OrgNo, owner: OrgNo, package: PackageUrn, via: &'static str },
    /// The client delegated the single right to the owner.
    DelegatesRight { client: OrgNo, owner: OrgNo, right: Right },
    /// The client gives the owner a package whose policy rule gets the right.
    GivesForRight { client: OrgNo, owner: OrgNo, package: PackageUrn, via: &'static str, right: Right },
}

impl std::fmt::Display for Fact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fact::UserCreated { user, owner } => write!(f, "system user {user} created for {owner}"),
            Fact::PolicyPublished(resource) => write!(f, "policy of {resource} published"),
            Fact::HoldsRight(resource) => write!(f, "holds a right on {resource}"),
            Fact::HoldsPackage(package) => write!(f, "holds {package}"),
            Fact::OwnAgentDelegated { owner, package } => write!(f, "{owner} delegated {package} to its own agent"),
            Fact::Linked { client, subset: None } => write!(f, "client {client} linked"),
            Fact::Linked { client, subset: Some(s) } => {
                write!(f, "client {client} linked for ")?;
                let parts = s.access_packages.iter().map(|p| p as &dyn std::fmt::Display);
                for (i, part) in parts.chain(s.rights.iter().map(|r| r as &dyn std::fmt::Display)).enumerate() {
                    write!(f, "{}{part}", if i == 0 { "" } else { ", " })?;
                }
                f.write_str(" only")
            }
            Fact::Gives { client, owner, package, via } => write!(f, "{client} gives {owner} {package} ({via})"),
            Fact::DelegatesRight { client, owner, right } => {
                write!(f, "{client} delegates {right} to {owner} (client delegation)")
            }
            Fact::GivesForRight { client, owner, package, via, right } => {
                write!(f, "{client} gives {owner} {package} ({via}), which gets {right}")
            }
        }
    }
}

/// A fact is written as its sentence.
impl Serialize for Fact {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What a NotApplicable lacked, typed like [`Fact`] and written as a sentence only
/// where someone reads it (the native endpoint, the decision log's `reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    NoSystemUser(Uuid),
    UserDeleted {
        at: chrono::DateTime<chrono::Utc>,
        event_id: Uuid,
    },
    SystemDeleted(SystemId),
    NoPolicy(ResourceId),
    PartyUnregistered,
    /// A standard system user asked for a party other than its owner.
    NotOwner {
        owner: OrgNo,
        party: OrgNo,
    },
    /// Nothing a standard system user holds gets the action.
    NothingHeldGets {
        action: Action,
        resource: ResourceId,
    },
    /// An agent asked for its owner before the owner delegated its packages to it.
    OwnerUndelegated(OrgNo),
    /// Nothing an agent carries gets the action for its owner.
    NothingCarriedGets {
        action: Action,
        resource: ResourceId,
    },
    NotLinked(OrgNo),
    NoRelationship {
        client: OrgNo,
        owner: OrgNo,
    },
    /// Nothing the agent carries is given by the link and by the client, and gets the action.
    NothingGiven {
        action: Action,
        resource: ResourceId,
        client: OrgNo,
        owner: OrgNo,
    },
    /// The request named no action.
    NoAction,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::NoSystemUser(id) => write!(f, "system user {id} does not exist"),
            Missing::UserDeleted { at, event_id } => write!(f, "system user was deleted at {at} (event {event_id})"),
            Missing::SystemDeleted(system) => write!(f, "system {system} is deleted"),
            Missing::NoPolicy(resource) => write!(f, "resource {resource} has no published policy"),
            Missing::PartyUnregistered => f.write_str("the party is not in the party register"),
            Missing::NotOwner { owner, party } => {
                write!(f, "a standard system user acts only for its owner {owner}, not {party}")
            }
            Missing::NothingHeldGets { action, resource } => {
                write!(f, "none of the system user's rights or packages gets '{}' on {resource}", action.as_str())
            }
            Missing::OwnerUndelegated(owner) => {
                write!(f, "the agent acts for its owner {owner} only once the owner delegates its packages to it")
            }
            Missing::NothingCarriedGets { action, resource } => {
                write!(f, "none of the agent's packages gets '{}' on {resource}", action.as_str())
            }
            Missing::NotLinked(client) => write!(f, "{client} is not linked as a client of this system user"),
            Missing::NoRelationship { client, owner } => write!(f, "{client} has no client relationship with {owner}"),
            Missing::NothingGiven { action, resource, client, owner } => write!(
                f,
                "nothing the agent carries that gets '{}' on {resource} is both given by the link and given by \
                 {client} to {owner}",
                action.as_str()
            ),
            Missing::NoAction => f.write_str("the request names no action"),
        }
    }
}

/// What is missing is written as its sentence.
impl Serialize for Missing {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub decision: Verdict,
    /// For a Permit: the events that grant it, from the system user to the policy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub granted_by: Vec<Ground>,
    /// For a NotApplicable: what would have been needed (boxed: the largest lack names
    /// four things, and a Permit carries none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Box<Missing>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_authentication_level: Option<u8>,
}

impl Decision {
    pub fn not_applicable(missing: Missing) -> Decision {
        Decision {
            decision: Verdict::NotApplicable,
            granted_by: Vec::new(),
            missing: Some(Box::new(missing)),
            minimum_authentication_level: None,
        }
    }
}

/// The grant by which a relationship carries one package: the register role that
/// brought it (`None` for a client delegation) and the event that granted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carried {
    pub role: Option<RegisterRole>,
    pub event_id: Uuid,
}

impl Carried {
    /// How the proof names the grant: its register role, or the client's delegation.
    fn via(&self) -> &'static str {
        self.role.map(RegisterRole::as_str).unwrap_or("client delegation")
    }
}

/// A client link as a decision reads it: the event that made it, and what it is
/// restricted to (`None`: everything the agent carries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkFact {
    pub event_id: Uuid,
    pub subset: Option<Arc<Subset>>,
}

impl LinkFact {
    fn allows_package(&self, package: &PackageUrn) -> bool {
        self.subset.as_ref().is_none_or(|s| s.access_packages.contains(package))
    }
    fn allows_right(&self, asked: &Right) -> bool {
        self.subset.as_ref().is_none_or(|s| s.rights.iter().any(|r| r.covers(asked)))
    }
    /// The link as its proof names it, with its restriction.
    fn fact(&self, client: &OrgNo) -> Fact {
        Fact::Linked { client: client.clone(), subset: self.subset.clone() }
    }
}

/// What a decision reads, and nothing more. Every [`Kv`] answers it from its records
/// (now, or as of a position through `AsOf`); `index::DecisionIndex` answers it from
/// memory for the current state. [`evaluate`] is the one implementation of the rules
/// over either, so the two can only differ in what they hold, which the property
/// tests compare.
pub trait Facts {
    /// The system user, deleted or not.
    fn user_fact(&self, id: &Uuid) -> Option<Arc<SystemUser>>;
    /// Is the system registered and not deleted?
    fn system_live(&self, id: &SystemId) -> bool;
    fn policy_fact(&self, resource: &ResourceId) -> Option<Arc<Policy>>;
    /// The organisation number of the registered party the request names.
    fn party_org(&self, party: &PartyRef) -> Option<OrgNo>;
    /// The link of `client` to the agent system user `user`, if linked.
    fn link_fact(&self, user: &Uuid, client: &OrgNo) -> Option<LinkFact>;
    /// The event by which `client` delegated to `facilitator` a single right covering
    /// `wanted`, if it did.
    fn delegated_right(&self, client: &OrgNo, facilitator: &OrgNo, wanted: &Right) -> Option<Uuid>;
    /// `None` if `client` has no client relationship with `facilitator`; otherwise the
    /// first of `wanted` that the relationship carries, with its grant.
    fn carried<'p>(
        &self,
        client: &OrgNo,
        facilitator: &OrgNo,
        wanted: impl Iterator<Item = &'p PackageUrn>,
    ) -> Option<Option<(&'p PackageUrn, Carried)>>;
}

impl<K: Kv + ?Sized> Facts for K {
    // Shared reads: a store with a record cache answers these without sled or decoding.
    fn user_fact(&self, id: &Uuid) -> Option<Arc<SystemUser>> {
        self.shared(&keys::system_user(id))
    }
    fn system_live(&self, id: &SystemId) -> bool {
        self.shared::<System>(&keys::system(id)).is_some_and(|s| s.deleted.is_none())
    }
    fn policy_fact(&self, resource: &ResourceId) -> Option<Arc<Policy>> {
        self.shared(&keys::policy(resource))
    }
    fn party_org(&self, party: &PartyRef) -> Option<OrgNo> {
        let org = match party {
            PartyRef::OrgNo(org) => return self.shared::<Party>(&keys::party(org)).map(|p| p.org_no.clone()),
            PartyRef::PartyId(id) => self.get(&keys::party_by_id(*id))?,
            PartyRef::PartyUuid(uuid) => self.get(&keys::party_by_uuid(uuid))?,
        };
        let org = OrgNo::parse(std::str::from_utf8(&org).ok()?).ok()?;
        self.shared::<Party>(&keys::party(&org)).map(|p| p.org_no.clone())
    }
    fn link_fact(&self, user: &Uuid, client: &OrgNo) -> Option<LinkFact> {
        self.shared::<Link>(&keys::link(user, client))
            .map(|l| LinkFact { event_id: l.event_id, subset: l.subset.clone().map(Arc::new) })
    }
    fn delegated_right(&self, client: &OrgNo, facilitator: &OrgNo, wanted: &Right) -> Option<Uuid> {
        let rel = self.shared::<Relationship>(&keys::relationship(client, facilitator))?;
        rel.covering(wanted).map(|g| g.event_id)
    }
    fn carried<'p>(
        &self,
        client: &OrgNo,
        facilitator: &OrgNo,
        mut wanted: impl Iterator<Item = &'p PackageUrn>,
    ) -> Option<Option<(&'p PackageUrn, Carried)>> {
        let rel = self.shared::<Relationship>(&keys::relationship(client, facilitator))?;
        Some(wanted.find_map(|p| rel.carrying(p).map(|g| (p, Carried { role: g.role, event_id: g.event_id }))))
    }
}

/// Permit when the system user is live, its system is not deleted, and either
/// (a) it is a standard system user, the party is its owner, and one of its rights or
///     packages gets the action from the resource's policy; or
/// (b) it is an agent, the party is a linked client, the owner's relationship with the
///     client still carries a package of the agent, and the policy gives that package
///     the action.
pub fn evaluate<F: Facts + ?Sized>(facts: &F, q: &Query) -> Decision {
    let Some(user) = facts.user_fact(&q.system_user) else {
        return Decision::not_applicable(Missing::NoSystemUser(q.system_user));
    };
    if let Some(deleted) = &user.deleted {
        return Decision::not_applicable(Missing::UserDeleted { at: deleted.at, event_id: deleted.event_id });
    }
    if !facts.system_live(&user.system_id) {
        return Decision::not_applicable(Missing::SystemDeleted(user.system_id.clone()));
    }
    let Some(policy) = facts.policy_fact(&q.resource) else {
        return Decision::not_applicable(Missing::NoPolicy(q.resource.clone()));
    };
    let Some(party) = facts.party_org(&q.party) else {
        return Decision::not_applicable(Missing::PartyUnregistered);
    };
    // A Permit's proof runs from the system user, through the link where an agent acts
    // for a client and what gave the action, to the policy.
    let permit = |link: Option<Ground>, grant: Ground| {
        let user_ground = Ground {
            event_id: user.event_id,
            fact: Fact::UserCreated { user: user.id, owner: user.owner_org_no.clone() },
        };
        let policy_ground =
            Ground { event_id: policy.event_id, fact: Fact::PolicyPublished(policy.resource_id.clone()) };
        let mut granted_by = Vec::with_capacity(4);
        granted_by.push(user_ground);
        granted_by.extend(link);
        granted_by.extend([grant, policy_ground]);
        Decision {
            decision: Verdict::Permit,
            granted_by,
            missing: None,
            minimum_authentication_level: policy.minimum_authentication_level,
        }
    };
    let nothing = |missing: fn(Action, ResourceId) -> Missing| {
        Decision::not_applicable(missing(q.action.clone(), q.resource.clone()))
    };

    match user.user_type {
        UserType::Standard => {
            if party != user.owner_org_no {
                return Decision::not_applicable(Missing::NotOwner { owner: user.owner_org_no.clone(), party });
            }
            // What it holds was set when it was made, or by the last approved change.
            let event_id = user.grants_event_id.unwrap_or(user.event_id);
            if let Some(right) = user.rights.iter().find(|r| policy.right_grants(r, &q.action)) {
                return permit(None, Ground { event_id, fact: Fact::HoldsRight(right.resource.clone()) });
            }
            if let Some(pkg) = user.access_packages.iter().find(|p| policy.package_grants(p, &q.action)) {
                return permit(None, Ground { event_id, fact: Fact::HoldsPackage(pkg.clone()) });
            }
            nothing(|action, resource| Missing::NothingHeldGets { action, resource })
        }
        UserType::Agent => {
            // The owner's own agent acts for the owner with the packages it carries, once
            // the owner delegated them to it.
            if party == user.owner_org_no {
                let Some(event_id) = user.acts_for_owner else {
                    return Decision::not_applicable(Missing::OwnerUndelegated(party));
                };
                if let Some(pkg) = user.access_packages.iter().find(|p| policy.package_grants(p, &q.action)) {
                    let fact = Fact::OwnAgentDelegated { owner: party, package: pkg.clone() };
                    return permit(None, Ground { event_id, fact });
                }
                return nothing(|action, resource| Missing::NothingCarriedGets { action, resource });
            }
            let Some(link) = facts.link_fact(&user.id, &party) else {
                return Decision::not_applicable(Missing::NotLinked(party));
            };
            agent_for_client(facts, q, &user, &policy, &party, &link, |grant| {
                permit(Some(Ground { event_id: link.event_id, fact: link.fact(&party) }), grant)
            })
        }
    }
}

/// An agent acting for a linked client: one of the agent's packages or rights that the
/// link gives, the client gave the facilitator, and the policy gives the action.
fn agent_for_client<F: Facts + ?Sized>(
    facts: &F,
    q: &Query,
    user: &SystemUser,
    policy: &Policy,
    party: &OrgNo,
    link: &LinkFact,
    permit: impl FnOnce(Ground) -> Decision,
) -> Decision {
    let owner = &user.owner_org_no;
    let wanted = user.access_packages.iter().filter(|p| link.allows_package(p) && policy.package_grants(p, &q.action));
    let Some(carried) = facts.carried(party, owner, wanted) else {
        return Decision::not_applicable(Missing::NoRelationship { client: party.clone(), owner: owner.clone() });
    };
    if let Some((pkg, grant)) = carried {
        let fact = Fact::Gives { client: party.clone(), owner: owner.clone(), package: pkg.clone(), via: grant.via() };
        return permit(Ground { event_id: grant.event_id, fact });
    }
    // Most agents carry packages only: no right to build or look for.
    let holds = |asked: &Right| user.rights.iter().any(|r| r.covers(asked) && policy.right_grants(r, &q.action));
    let asked =
        (!user.rights.is_empty()).then(|| Right { resource: q.resource.clone(), action: Some(q.action.clone()) });
    if let Some(asked) = asked.filter(|a| holds(a) && link.allows_right(a)) {
        if let Some(event_id) = facts.delegated_right(party, owner, &asked) {
            let fact = Fact::DelegatesRight { client: party.clone(), owner: owner.clone(), right: asked };
            return permit(Ground { event_id, fact });
        }
        // A package the client gave that gets the action gives the right too, as
        // `rules::relationship_gives_right` judges a link.
        let by_package =
            policy.rules.iter().filter(|r| r.actions.contains(&q.action)).filter_map(|r| r.access_package.as_ref());
        if let Some(Some((pkg, grant))) = facts.carried(party, owner, by_package) {
            let (package, via) = (pkg.clone(), grant.via());
            let fact = Fact::GivesForRight { client: party.clone(), owner: owner.clone(), package, via, right: asked };
            return permit(Ground { event_id: grant.event_id, fact });
        }
    }
    Decision::not_applicable(Missing::NothingGiven {
        action: q.action.clone(),
        resource: q.resource.clone(),
        client: party.clone(),
        owner: owner.clone(),
    })
}

/// A stretch of positions during which one system user could perform the action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// The first position at which it could (the state after that many events).
    pub from_position: u64,
    /// The first position at which it no longer could; `None` if it still could at the
    /// end of the interval asked about.
    pub until_position: Option<u64>,
    /// The events that granted it during this window.
    pub granted_by: Vec<Ground>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    pub system_user: Uuid,
    pub windows: Vec<Window>,
}

/// Every system user that could have done `action` on `resource` for `party` at some
/// position in `from..=to`, with the windows and the events that granted each.
///
/// Candidates are the system users the party ever owned and the agents it was ever
/// linked to (from the versioned history); each is evaluated at `from` and again at
/// every position where one of the records its decision reads changed.
pub fn who_could_act<K: Kv + ?Sized>(
    model: &K,
    party: &OrgNo,
    resource: &ResourceId,
    action: &Action,
    from: u64,
    to: u64,
) -> Vec<Access> {
    use super::model::history::{change_indexes, versions_prefix, AsOf};
    use super::model::keys;
    use std::collections::BTreeSet;

    // Every record ever under `prefix`, deleted ones included: the versions remember them.
    let ever = |prefix: Vec<u8>| -> BTreeSet<Uuid> {
        model
            .scan_prefix(&versions_prefix(&prefix))
            .into_iter()
            .map(|(k, _)| super::model::history::parse_version_key(&k).0)
            .map(|key| keys::trailing_uuid(&key))
            .collect()
    };
    let mut candidates = ever(keys::users_by_owner(party));
    candidates.extend(ever(keys::agents_of_client(party)));

    let mut out = Vec::new();
    for id in candidates {
        let Some(user) = model.system_user(&id) else { continue };
        let watched = [
            keys::system_user(&id),
            keys::system(&user.system_id),
            keys::policy(resource),
            keys::party(party),
            keys::link(&id, party),
            keys::relationship(party, &user.owner_org_no),
        ];
        let mut points: BTreeSet<u64> = watched
            .iter()
            .flat_map(|k| change_indexes(model, k))
            .map(|index| index + 1)
            .filter(|p| *p > from && *p <= to)
            .collect();
        points.insert(from);
        let query = Query {
            system_user: id,
            action: action.clone(),
            resource: resource.clone(),
            party: PartyRef::OrgNo(party.clone()),
        };
        let mut windows: Vec<Window> = Vec::new();
        for position in points {
            let decision = evaluate(&AsOf { base: model, position }, &query);
            let open = windows.last().is_some_and(|w| w.until_position.is_none());
            match (decision.decision, open) {
                (Verdict::Permit, true) => {
                    let last = windows.last_mut().expect("open window");
                    if last.granted_by != decision.granted_by {
                        // Still permitted, on other grounds: a new window with its own proof.
                        last.until_position = Some(position);
                        windows.push(Window {
                            from_position: position,
                            until_position: None,
                            granted_by: decision.granted_by,
                        });
                    }
                }
                (Verdict::Permit, false) => windows.push(Window {
                    from_position: position,
                    until_position: None,
                    granted_by: decision.granted_by,
                }),
                (Verdict::NotApplicable, true) => {
                    windows.last_mut().expect("open window").until_position = Some(position)
                }
                (Verdict::NotApplicable, false) => {}
            }
        }
        if !windows.is_empty() {
            out.push(Access { system_user: id, windows });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Given every fact a proof and every lack an answer can name, when each is written,
    /// then it reads as the sentence the API has always given (callers and auditors read
    /// them), and serialises as that sentence.
    #[test]
    fn facts_and_lacks_are_written_as_the_sentences_callers_read() {
        let c = || OrgNo::parse("310000035").unwrap();
        let o = || OrgNo::parse("310000019").unwrap();
        let (r, a) = (|| ResourceId::parse("ttd-resource").unwrap(), || Action::parse("read").unwrap());
        let p = || PackageUrn::parse("urn:altinn:accesspackage:regnskapsforer-lonn").unwrap();
        let right = || Right { resource: r(), action: Some(a()) };
        let id = Uuid::from_u128(1);
        let subset = Some(Arc::new(Subset { access_packages: vec![p()], rights: vec![right()] }));
        let facts = [
            (
                Fact::UserCreated { user: id, owner: o() },
                "system user 00000000-0000-0000-0000-000000000001 created for 310000019",
            ),
            (Fact::PolicyPublished(r()), "policy of ttd-resource published"),
            (Fact::HoldsRight(r()), "holds a right on ttd-resource"),
            (Fact::HoldsPackage(p()), "holds urn:altinn:accesspackage:regnskapsforer-lonn"),
            (
                Fact::OwnAgentDelegated { owner: o(), package: p() },
                "310000019 delegated urn:altinn:accesspackage:regnskapsforer-lonn to its own agent",
            ),
            (Fact::Linked { client: c(), subset: None }, "client 310000035 linked"),
            (
                Fact::Linked { client: c(), subset },
                "client 310000035 linked for urn:altinn:accesspackage:regnskapsforer-lonn, ttd-resource/read only",
            ),
            (
                Fact::Gives { client: c(), owner: o(), package: p(), via: "REGN" },
                "310000035 gives 310000019 urn:altinn:accesspackage:regnskapsforer-lonn (REGN)",
            ),
            (
                Fact::DelegatesRight { client: c(), owner: o(), right: right() },
                "310000035 delegates ttd-resource/read to 310000019 (client delegation)",
            ),
            (
                Fact::GivesForRight { client: c(), owner: o(), package: p(), via: "REGN", right: right() },
                "310000035 gives 310000019 urn:altinn:accesspackage:regnskapsforer-lonn (REGN), which gets \
                 ttd-resource/read",
            ),
        ];
        for (fact, sentence) in facts {
            assert_eq!(fact.to_string(), sentence);
            assert_eq!(serde_json::to_value(&fact).unwrap(), serde_json::json!(sentence));
        }
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let lacks = [
            (Missing::NoSystemUser(id), "system user 00000000-0000-0000-0000-000000000001 does not exist"),
            (
                Missing::UserDeleted { at, event_id: id },
                "system user was deleted at 2026-12-01 10:00:00 UTC (event 00000000-0000-0000-0000-000000000001)",
            ),
            (Missing::SystemDeleted(SystemId::parse("310000019_sys").unwrap()), "system 310000019_sys is deleted"),
            (Missing::NoPolicy(r()), "resource ttd-resource has no published policy"),
            (Missing::PartyUnregistered, "the party is not in the party register"),
            (
                Missing::NotOwner { owner: o(), party: c() },
                "a standard system user acts only for its owner 310000019, not 310000035",
            ),
            (
                Missing::NothingHeldGets { action: a(), resource: r() },
                "none of the system user's rights or packages gets 'read' on ttd-resource",
            ),
            (
                Missing::OwnerUndelegated(o()),
                "the agent acts for its owner 310000019 only once the owner delegates its packages to it",
            ),
            (
                Missing::NothingCarriedGets { action: a(), resource: r() },
                "none of the agent's packages gets 'read' on ttd-resource",
            ),
            (Missing::NotLinked(c()), "310000035 is not linked as a client of this system user"),
            (
                Missing::NoRelationship { client: c(), owner: o() },
                "310000035 has no client relationship with 310000019",
            ),
            (
                Missing::NothingGiven { action: a(), resource: r(), client: c(), owner: o() },
                "nothing the agent carries that gets 'read' on ttd-resource is both given by the link and given by \
                 310000035 to 310000019",
            ),
            (Missing::NoAction, "the request names no action"),
        ];
        for (missing, sentence) in lacks {
            assert_eq!(missing.to_string(), sentence);
            assert_eq!(serde_json::to_value(&missing).unwrap(), serde_json::json!(sentence));
        }
    }
}
