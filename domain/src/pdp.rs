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
    pub fact: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub decision: Verdict,
    /// For a Permit: the events that grant it, from the system user to the policy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub granted_by: Vec<Ground>,
    /// For a NotApplicable: what would have been needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_authentication_level: Option<u8>,
}

impl Decision {
    pub fn not_applicable(missing: String) -> Decision {
        Decision {
            decision: Verdict::NotApplicable,
            granted_by: Vec::new(),
            missing: Some(missing),
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
    fn fact(&self, client: &OrgNo) -> String {
        match &self.subset {
            None => format!("client {client} linked"),
            Some(s) => {
                let parts: Vec<String> = s
                    .access_packages
                    .iter()
                    .map(ToString::to_string)
                    .chain(s.rights.iter().map(ToString::to_string))
                    .collect();
                format!("client {client} linked for {} only", parts.join(", "))
            }
        }
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
        return Decision::not_applicable(format!("system user {} does not exist", q.system_user));
    };
    if let Some(deleted) = &user.deleted {
        return Decision::not_applicable(format!(
            "system user was deleted at {} (event {})",
            deleted.at, deleted.event_id
        ));
    }
    if !facts.system_live(&user.system_id) {
        return Decision::not_applicable(format!("system {} is deleted", user.system_id));
    }
    let Some(policy) = facts.policy_fact(&q.resource) else {
        return Decision::not_applicable(format!("resource {} has no published policy", q.resource));
    };
    let Some(party) = facts.party_org(&q.party) else {
        return Decision::not_applicable("the party is not in the party register".to_owned());
    };
    let user_ground =
        Ground { event_id: user.event_id, fact: format!("system user {} created for {}", user.id, user.owner_org_no) };
    let policy_ground =
        Ground { event_id: policy.event_id, fact: format!("policy of {} published", policy.resource_id) };
    let permit = |granted_by: Vec<Ground>| Decision {
        decision: Verdict::Permit,
        granted_by,
        missing: None,
        minimum_authentication_level: policy.minimum_authentication_level,
    };

    match user.user_type {
        UserType::Standard => {
            if party != user.owner_org_no {
                return Decision::not_applicable(format!(
                    "a standard system user acts only for its owner {}, not {}",
                    user.owner_org_no, party
                ));
            }
            // What it holds was set when it was made, or by the last approved change.
            let granted_by = user.grants_event_id.unwrap_or(user.event_id);
            if let Some(right) = user.rights.iter().find(|r| policy.right_grants(r, &q.action)) {
                let fact = format!("holds a right on {}", right.resource);
                return permit(vec![user_ground, Ground { event_id: granted_by, fact }, policy_ground]);
            }
            if let Some(pkg) = user.access_packages.iter().find(|p| policy.package_grants(p, &q.action)) {
                let fact = format!("holds {pkg}");
                return permit(vec![user_ground, Ground { event_id: granted_by, fact }, policy_ground]);
            }
            Decision::not_applicable(format!(
                "none of the system user's rights or packages gets '{}' on {}",
                q.action.as_str(),
                q.resource
            ))
        }
        UserType::Agent => {
            // The owner's own agent acts for the owner with the packages it carries, once
            // the owner delegated them to it.
            if party == user.owner_org_no {
                let Some(delegated) = user.acts_for_owner else {
                    return Decision::not_applicable(format!(
                        "the agent acts for its owner {party} only once the owner delegates its packages to it"
                    ));
                };
                if let Some(pkg) = user.access_packages.iter().find(|p| policy.package_grants(p, &q.action)) {
                    let fact = format!("{party} delegated {pkg} to its own agent");
                    return permit(vec![user_ground, Ground { event_id: delegated, fact }, policy_ground]);
                }
                return Decision::not_applicable(format!(
                    "none of the agent's packages gets '{}' on {}",
                    q.action.as_str(),
                    q.resource
                ));
            }
            let Some(link) = facts.link_fact(&user.id, &party) else {
                return Decision::not_applicable(format!("{party} is not linked as a client of this system user"));
            };
            agent_for_client(facts, q, &user, &policy, &party, &link, |grant| {
                permit(vec![
                    user_ground,
                    Ground { event_id: link.event_id, fact: link.fact(&party) },
                    grant,
                    policy_ground,
                ])
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
        return Decision::not_applicable(format!("{party} has no client relationship with {owner}"));
    };
    if let Some((pkg, grant)) = carried {
        let via = grant.via();
        return permit(Ground { event_id: grant.event_id, fact: format!("{party} gives {owner} {pkg} ({via})") });
    }
    // Most agents carry packages only: no right to build or look for.
    let holds = |asked: &Right| user.rights.iter().any(|r| r.covers(asked) && policy.right_grants(r, &q.action));
    let asked =
        (!user.rights.is_empty()).then(|| Right { resource: q.resource.clone(), action: Some(q.action.clone()) });
    if let Some(asked) = asked.filter(|a| holds(a) && link.allows_right(a)) {
        if let Some(event_id) = facts.delegated_right(party, owner, &asked) {
            return permit(Ground {
                event_id,
                fact: format!("{party} delegates {asked} to {owner} (client delegation)"),
            });
        }
        // A package the client gave that gets the action gives the right too, as
        // `rules::relationship_gives_right` judges a link.
        let by_package =
            policy.rules.iter().filter(|r| r.actions.contains(&q.action)).filter_map(|r| r.access_package.as_ref());
        if let Some(Some((pkg, grant))) = facts.carried(party, owner, by_package) {
            let via = grant.via();
            let fact = format!("{party} gives {owner} {pkg} ({via}), which gets {asked}");
            return permit(Ground { event_id: grant.event_id, fact });
        }
    }
    Decision::not_applicable(format!(
        "nothing the agent carries that gets '{}' on {} is both given by the link and given by {party} to {owner}",
        q.action.as_str(),
        q.resource,
    ))
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
