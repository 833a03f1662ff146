//! `decide`: command + read model + context → events, or a [`Rejection`] with a stable
//! code. Every rule of the domain is checked before anything is written.
//!
//! The rules themselves live in [`super::rules`], written once: `decide` calls the one
//! it needs to plan a command (and to tell an idempotent repeat from an error), and
//! then holds every event it planned to [`rules::check`] in order, by applying them to
//! an overlay with the same `apply` the log goes through. So what `decide` accepts,
//! `apply` accepts — unless a concurrent writer got there first, which the aggregate
//! version each event carries lets `apply` detect.
//!
//! Pure: the time, the acting party and fresh ids come in through [`Context`]; the read
//! model is any [`Kv`].

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::events::*;
use super::ids::{OrgNo, PackageUrn, Right, SystemId};
use super::model::{Kv, Overlay, ReadModel};
use super::rejection::{Code, Rejection};
use super::rules;

/// Default time-to-live of a system-user request (Altinn's 180 days).
pub const REQUEST_TTL_DAYS_DEFAULT: i64 = 180;

/// On whose authority a command is given. The HTTP layer derives it from the verified
/// token; the domain checks that it matches what the command touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    /// Upstream register synchronisation: parties, packages, register roles.
    Register,
    /// Someone acting for this organisation (vendor, admin, client admin, service owner).
    Organisation(OrgNo),
    /// An operator of the ledger itself (seals).
    Operator,
}

pub struct Context<'a> {
    pub actor: Actor,
    pub authority: Authority,
    pub now: DateTime<Utc>,
    pub correlation_id: Option<String>,
    pub request_ttl: Duration,
    /// Source of fresh event and request ids (UUID v7 in production, a counter in tests).
    pub new_id: &'a mut dyn FnMut() -> Uuid,
}

impl Context<'_> {
    fn org(&self) -> Option<&OrgNo> {
        match &self.authority {
            Authority::Organisation(org) => Some(org),
            Authority::Register | Authority::Operator => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewRequest {
    pub user_type: UserType,
    pub system_id: SystemId,
    pub party_org_no: OrgNo,
    pub external_ref: Option<String>,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    pub redirect_url: Option<String>,
    pub integration_title: Option<String>,
}

/// A vendor's change request as it asks it; the system and party come from the system
/// user, and the lists are kept sorted and once each.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChangeRequest {
    /// The vendor's correlation id: the change request's id.
    pub change_request_id: Uuid,
    pub system_user_id: Uuid,
    pub required_rights: Vec<Right>,
    pub unwanted_rights: Vec<Right>,
    pub required_access_packages: Vec<PackageUrn>,
    pub unwanted_access_packages: Vec<PackageUrn>,
    pub redirect_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    RegisterParty(PartyRegistered),
    DefineAccessPackage(AccessPackageDefined),
    PublishPolicy(ResourcePolicyPublished),
    RegisterSystem(SystemDefinition),
    UpdateSystem(SystemDefinition),
    DeleteSystem(SystemId),
    CreateRequest(NewRequest),
    ApproveRequest {
        request_id: Uuid,
        party: OrgNo,
        user_type: UserType,
    },
    RejectRequest {
        request_id: Uuid,
        party: OrgNo,
        user_type: UserType,
    },
    WithdrawRequest {
        request_id: Uuid,
    },
    /// Passes a request on to the customer's access managers; once is enough.
    EscalateRequest {
        request_id: Uuid,
        party: OrgNo,
        user_type: UserType,
    },
    DeleteSystemUser {
        system_user_id: Uuid,
        party: OrgNo,
        user_type: UserType,
    },
    /// The owner makes a standard system user for a system itself, with everything the
    /// system gives, without a vendor's request.
    CreateSystemUserByOwner {
        party: OrgNo,
        system_id: SystemId,
        integration_title: Option<String>,
    },
    /// The owner's own agent acts for the owner too, with its packages; once is enough.
    DelegateToOwnAgent {
        system_user_id: Uuid,
        party: OrgNo,
    },
    /// The owner's own agent stops acting for it; when it does not, nothing happens.
    RevokeFromOwnAgent {
        system_user_id: Uuid,
        party: OrgNo,
    },
    /// The same id again, for the same system user, is the same change request: no event.
    CreateChangeRequest(NewChangeRequest),
    /// Approving changes the system user's rights and packages as the request says.
    ApproveChangeRequest {
        change_request_id: Uuid,
        party: OrgNo,
    },
    RejectChangeRequest {
        change_request_id: Uuid,
        party: OrgNo,
    },
    WithdrawChangeRequest {
        change_request_id: Uuid,
    },
    GrantRelationship(ClientRelationshipGranted),
    RevokeRelationship(ClientRelationshipRevoked),
    /// Links a client to everything the agent carries, or only to `subset`. The same
    /// link again is no event; a link there with another subset is a conflict (unlink
    /// it first: a link's scope is a fact of its event, never edited).
    LinkClient {
        agent: Uuid,
        client: OrgNo,
        subset: Option<Subset>,
    },
    UnlinkClient {
        agent: Uuid,
        client: OrgNo,
    },
    /// Record the hash chain over every record so far (an operator's checkpoint).
    Seal,
}

fn reject<T>(code: Code, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(code, message))
}

/// Builds the events of one decision, numbering expected versions per aggregate.
struct Emitter<'m, 'c, 'i, K: Kv + ?Sized> {
    model: &'m K,
    ctx: &'c mut Context<'i>,
    next_version: HashMap<String, u64>,
    events: Vec<Event>,
}

impl<K: Kv + ?Sized> Emitter<'_, '_, '_, K> {
    fn emit(&mut self, data: EventData) -> Uuid {
        let subject = data.subject();
        let version = *self.next_version.entry(subject.clone()).or_insert_with(|| self.model.version(&subject));
        self.next_version.insert(subject.clone(), version + 1);
        let id = (self.ctx.new_id)();
        self.events.push(Event {
            id,
            time: self.ctx.now,
            subject,
            actor: self.ctx.actor.clone(),
            on_behalf_of: self.ctx.org().cloned(),
            correlation_id: self.ctx.correlation_id.clone(),
            expected_version: Some(version),
            data,
            written_as: None,
        });
        id
    }
}

/// Decides a command against the read model. An empty list means the command is
/// already satisfied (idempotent repeats), which is success without a write.
pub fn decide<K: Kv + ?Sized>(command: &Command, model: &K, ctx: &mut Context<'_>) -> Result<Vec<Event>, Rejection> {
    let mut out = Emitter { model, ctx, next_version: HashMap::new(), events: Vec::new() };
    plan(command, &mut out)?;
    let events = out.events;
    // Every planned event meets every rule, in order, as `apply` will judge it.
    let mut overlay = Overlay::new(model);
    let start = model.position();
    for (i, event) in events.iter().enumerate() {
        super::apply::apply(&mut overlay, start + i as u64, event)?;
    }
    Ok(events)
}

/// The events a command means, after the rules that decide whether it is already
/// satisfied; [`decide`] then holds each to every rule.
fn plan<K: Kv + ?Sized>(command: &Command, out: &mut Emitter<'_, '_, '_, K>) -> Result<(), Rejection> {
    let model = out.model;
    let authority = out.ctx.authority.clone();
    match command {
        Command::RegisterParty(p) => {
            rules::party(model, &authority, p)?;
            let unchanged = model
                .party(&p.org_no)
                .is_some_and(|old| old.party_id == p.party_id && old.party_uuid == p.party_uuid && old.name == p.name);
            if !unchanged {
                out.emit(EventData::PartyRegistered(p.clone()));
            }
        }
        Command::DefineAccessPackage(p) => {
            rules::register_only(&authority)?;
            let unchanged =
                model.package(&p.urn).is_some_and(|old| old.assignable == p.assignable && old.delegable == p.delegable);
            if !unchanged {
                out.emit(EventData::AccessPackageDefined(p.clone()));
            }
        }
        Command::PublishPolicy(p) => {
            out.emit(EventData::ResourcePolicyPublished(p.clone()));
        }
        // Written under the newest rules (version 2); version 1 stays readable.
        Command::RegisterSystem(d) => {
            out.emit(EventData::SystemRegisteredV2(d.clone()));
        }
        Command::UpdateSystem(d) => {
            out.emit(EventData::SystemUpdatedV2(d.clone()));
        }
        Command::DeleteSystem(id) => {
            out.emit(EventData::SystemDeleted(SystemDeleted { system_id: id.clone() }));
        }
        Command::CreateRequest(r) => create_request(out, &authority, r)?,
        Command::ApproveRequest { request_id, party, user_type } => {
            let request = rules::answerable(model, &authority, request_id, party, out.ctx.now)?;
            same_type(request.user_type, *user_type, "request", request_id)?;
            let decided = RequestDecided { request_id: *request_id, party_org_no: party.clone() };
            out.emit(EventData::RequestApproved(decided));
            out.emit(EventData::SystemUserCreated(SystemUserCreated {
                system_user_id: request.id,
                user_type: request.user_type,
                system_id: request.system_id,
                owner_org_no: request.party_org_no,
                external_ref: request.external_ref,
                rights: request.rights,
                access_packages: request.access_packages,
                integration_title: request.integration_title,
            }));
        }
        Command::RejectRequest { request_id, party, user_type } => {
            let request = rules::answerable(model, &authority, request_id, party, out.ctx.now)?;
            same_type(request.user_type, *user_type, "request", request_id)?;
            let decided = RequestDecided { request_id: *request_id, party_org_no: party.clone() };
            out.emit(EventData::RequestRejected(decided));
        }
        Command::WithdrawRequest { request_id } => {
            out.emit(EventData::RequestWithdrawn(RequestWithdrawn { request_id: *request_id }));
        }
        Command::EscalateRequest { request_id, party, user_type } => {
            let request = rules::answerable(model, &authority, request_id, party, out.ctx.now)?;
            same_type(request.user_type, *user_type, "request", request_id)?;
            if request.escalated.is_none() {
                let escalated = RequestDecided { request_id: *request_id, party_org_no: party.clone() };
                out.emit(EventData::RequestEscalated(escalated));
            }
        }
        Command::DeleteSystemUser { system_user_id, party, user_type } => {
            let user = rules::owned_live_user(model, &authority, system_user_id, Some(party))?;
            same_type(user.user_type, *user_type, "system user", system_user_id)?;
            let deleted = out.emit(EventData::SystemUserDeleted(SystemUserDeleted {
                system_user_id: user.id,
                owner_org_no: user.owner_org_no.clone(),
            }));
            for link in model.links_of(&user.id) {
                out.emit(EventData::ClientUnlinked(ClientUnlinked {
                    system_user_id: user.id,
                    client_org_no: link.client_org_no,
                    facilitator_org_no: user.owner_org_no.clone(),
                    reason: UnlinkReason::SystemUserDeleted,
                    cause_event_id: Some(deleted),
                }));
            }
        }
        Command::CreateChangeRequest(c) => create_change_request(out, c)?,
        Command::CreateSystemUserByOwner { party, system_id, integration_title } => {
            let system = rules::live_system(model, system_id)?;
            let def = &system.definition;
            let system_user_id = (out.ctx.new_id)();
            out.emit(EventData::SystemUserCreatedByOwner(SystemUserCreated {
                system_user_id,
                user_type: UserType::Standard,
                system_id: system_id.clone(),
                owner_org_no: party.clone(),
                external_ref: party.to_string(),
                rights: sorted_once(def.rights.clone()),
                access_packages: sorted_once(def.access_packages.clone()),
                integration_title: integration_title.clone(),
            }));
        }
        Command::DelegateToOwnAgent { system_user_id, party } => {
            let user = rules::owned_live_user(model, &authority, system_user_id, Some(party))?;
            same_type(user.user_type, UserType::Agent, "system user", system_user_id)?;
            if user.acts_for_owner.is_none() {
                out.emit(EventData::SystemUserSelfDelegated(SystemUserSelfDelegated {
                    system_user_id: user.id,
                    owner_org_no: user.owner_org_no,
                    access_packages: user.access_packages,
                }));
            }
        }
        Command::RevokeFromOwnAgent { system_user_id, party } => {
            let user = rules::owned_live_user(model, &authority, system_user_id, Some(party))?;
            same_type(user.user_type, UserType::Agent, "system user", system_user_id)?;
            if user.acts_for_owner.is_some() {
                let revoked = SystemUserSelfRevoked { system_user_id: user.id, owner_org_no: user.owner_org_no };
                out.emit(EventData::SystemUserSelfRevoked(revoked));
            }
        }
        Command::ApproveChangeRequest { change_request_id, party } => {
            let decided = change_decided(model, change_request_id, party)?;
            let change = rules::change_answerable(model, &authority, &decided, out.ctx.now)?;
            let user = rules::live_user(model, &change.system_user_id)?;
            out.emit(EventData::ChangeRequestApproved(decided));
            let (rights, access_packages) = change.applied_to(&user);
            if (&rights, &access_packages) != (&user.rights, &user.access_packages) {
                out.emit(EventData::SystemUserRightsChanged(SystemUserRightsChanged {
                    system_user_id: user.id,
                    owner_org_no: user.owner_org_no,
                    rights,
                    access_packages,
                    change_request_id: change.id,
                }));
            }
        }
        Command::RejectChangeRequest { change_request_id, party } => {
            let decided = change_decided(model, change_request_id, party)?;
            out.emit(EventData::ChangeRequestRejected(decided));
        }
        Command::WithdrawChangeRequest { change_request_id } => {
            let Some(change) = model.change_request(change_request_id) else {
                return reject(
                    Code::ChangeRequestNotFound,
                    format!("change request {change_request_id} does not exist"),
                );
            };
            let withdrawn =
                ChangeRequestWithdrawn { change_request_id: change.id, system_user_id: change.system_user_id };
            out.emit(EventData::ChangeRequestWithdrawn(withdrawn));
        }
        Command::GrantRelationship(g) => {
            // A command names a role or packages; the event records a role with the
            // packages it brings.
            if g.role.is_some() && !g.access_packages.is_empty() {
                let why = "give either a register role or the access packages the client delegates";
                return reject(Code::InvalidField, why);
            }
            let packages = rules::grant(model, &authority, g)?;
            let rel = model.relationship(&g.client_org_no, &g.facilitator_org_no);
            let held = |p: &PackageUrn| {
                rel.as_ref().is_some_and(|r| r.grants.iter().any(|x| x.role == g.role && &x.access_package == p))
            };
            let new: Vec<PackageUrn> = packages.into_iter().filter(|p| !held(p)).collect();
            let mut rights: Vec<Right> = g
                .rights
                .iter()
                .filter(|r| !rel.as_ref().is_some_and(|x| x.rights.iter().any(|h| &h.right == *r)))
                .cloned()
                .collect();
            rights.sort();
            rights.dedup();
            if !new.is_empty() || !rights.is_empty() {
                out.emit(EventData::ClientRelationshipGranted(ClientRelationshipGranted {
                    access_packages: new,
                    rights,
                    ..g.clone()
                }));
            }
        }
        Command::RevokeRelationship(r) => revoke_relationship(out, &authority, r)?,
        Command::LinkClient { agent, client, subset } => {
            let user = rules::linkable(model, &authority, agent, client, subset.as_ref())?;
            match model.link(agent, client) {
                None => {
                    let (access_packages, rights) = match subset {
                        Some(s) => (Some(s.access_packages.clone()), Some(s.rights.clone())),
                        None => (None, None),
                    };
                    out.emit(EventData::ClientLinked(ClientLinked {
                        system_user_id: *agent,
                        client_org_no: client.clone(),
                        facilitator_org_no: user.owner_org_no,
                        access_packages,
                        rights,
                    }));
                }
                Some(link) if link.subset == *subset => {}
                Some(_) => {
                    let why = format!("{client} is linked with another scope; remove the link first");
                    return reject(Code::VersionConflict, why);
                }
            }
        }
        Command::UnlinkClient { agent, client } => {
            let user = rules::owned_live_user(model, &authority, agent, None)?;
            out.emit(EventData::ClientUnlinked(ClientUnlinked {
                system_user_id: *agent,
                client_org_no: client.clone(),
                facilitator_org_no: user.owner_org_no,
                reason: UnlinkReason::Requested,
                cause_event_id: None,
            }));
        }
        Command::Seal => {
            rules::operator_only(&authority)?;
            let seal = LedgerSealed { position: model.position(), chain_hash: super::model::hex(&model.chain()) };
            out.emit(EventData::LedgerSealed(seal));
        }
    }
    Ok(())
}

/// The route a command came by names the user type; the request or user must have it.
fn same_type(found: UserType, wanted: UserType, what: &str, id: &Uuid) -> Result<(), Rejection> {
    if found != wanted {
        return reject(Code::UserTypeMismatch, format!("{what} {id} is a {found:?} {what}, not {wanted:?}"));
    }
    Ok(())
}

/// Lists on the log are sorted and hold each item once, however they were asked.
fn sorted_once<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items.dedup();
    items
}

/// The answer to a change request, naming the system user it belongs to.
fn change_decided<K: Kv + ?Sized>(model: &K, id: &Uuid, party: &OrgNo) -> Result<ChangeRequestDecided, Rejection> {
    match model.change_request(id) {
        Some(c) => Ok(ChangeRequestDecided {
            change_request_id: c.id,
            system_user_id: c.system_user_id,
            party_org_no: party.clone(),
        }),
        None => reject(Code::ChangeRequestNotFound, format!("change request {id} does not exist")),
    }
}

fn create_change_request<K: Kv + ?Sized>(
    out: &mut Emitter<'_, '_, '_, K>,
    c: &NewChangeRequest,
) -> Result<(), Rejection> {
    if let Some(existing) = out.model.change_request(&c.change_request_id) {
        if existing.system_user_id == c.system_user_id {
            // The same correlation id again: the change request made then is the answer.
            return Ok(());
        }
    }
    let user = rules::live_user(out.model, &c.system_user_id)?;
    let created = ChangeRequestCreated {
        change_request_id: c.change_request_id,
        system_user_id: user.id,
        system_id: user.system_id,
        party_org_no: user.owner_org_no,
        required_rights: sorted_once(c.required_rights.clone()),
        unwanted_rights: sorted_once(c.unwanted_rights.clone()),
        required_access_packages: sorted_once(c.required_access_packages.clone()),
        unwanted_access_packages: sorted_once(c.unwanted_access_packages.clone()),
        redirect_url: c.redirect_url.clone(),
        expires: out.ctx.now + out.ctx.request_ttl,
    };
    out.emit(EventData::ChangeRequestCreated(created));
    Ok(())
}

fn create_request<K: Kv + ?Sized>(
    out: &mut Emitter<'_, '_, '_, K>,
    authority: &Authority,
    r: &NewRequest,
) -> Result<(), Rejection> {
    let (rights, access_packages) = (sorted_once(r.rights.clone()), sorted_once(r.access_packages.clone()));
    let created = RequestCreated {
        request_id: Uuid::nil(),
        user_type: r.user_type,
        system_id: r.system_id.clone(),
        party_org_no: r.party_org_no.clone(),
        external_ref: r.external_ref.clone().unwrap_or_else(|| r.party_org_no.to_string()),
        rights,
        access_packages,
        redirect_url: r.redirect_url.clone(),
        integration_title: r.integration_title.clone(),
        expires: out.ctx.now + out.ctx.request_ttl,
    };
    rules::request(out.model, authority, &created, rules::RequestRules::V2)?;
    if out.model.pending_request(&created.system_id, &created.party_org_no, &created.external_ref).is_some() {
        // The pending request is the answer; the caller reads it back. No new event.
        return Ok(());
    }
    let request_id = (out.ctx.new_id)();
    out.emit(EventData::RequestCreated(RequestCreated { request_id, ..created }));
    Ok(())
}

fn revoke_relationship<K: Kv + ?Sized>(
    out: &mut Emitter<'_, '_, '_, K>,
    authority: &Authority,
    r: &ClientRelationshipRevoked,
) -> Result<(), Rejection> {
    let model = out.model;
    let mut rel = rules::revoke(model, authority, r)?;
    rules::revoke_from(&mut rel, r);
    let revoked = out.emit(EventData::ClientRelationshipRevoked(r.clone()));
    // Links that the relationship no longer supports end now, each recorded with its
    // cause: exactly those that gave something the revocation took.
    for agent in model.agents_of_client(&r.client_org_no) {
        let (Some(user), Some(link)) = (model.system_user(&agent), model.link(&agent, &r.client_org_no)) else {
            continue;
        };
        let gives = link.gives(&user);
        let supported = rules::link_supported(model, Some(&rel), &r.facilitator_org_no, &r.client_org_no, &gives);
        if user.owner_org_no == r.facilitator_org_no && supported.is_err() {
            out.emit(EventData::ClientUnlinked(ClientUnlinked {
                system_user_id: agent,
                client_org_no: r.client_org_no.clone(),
                facilitator_org_no: r.facilitator_org_no.clone(),
                reason: UnlinkReason::RelationshipRevoked,
                cause_event_id: Some(revoked),
            }));
        }
    }
    Ok(())
}
