//! `decide`: command + read model + context → events, or a [`Rejection`] with a stable
//! code. Every rule of the domain is checked here before anything is written.
//!
//! Pure: the time, the acting party and fresh ids come in through [`Context`]; the read
//! model is any [`Kv`]. Each event carries the version of its aggregate that this
//! decision saw, so `apply` can void it if a concurrent writer got there first.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::events::*;
use super::ids::{truncate, OrgNo, PackageUrn, Right, SystemId, IDENTIFIER_BYTES_MAX};
use super::model::{Kv, ReadModel, RequestStatus, SystemUser};
use super::rejection::{Code, Rejection};

/// Default time-to-live of a system-user request (Altinn's 180 days).
pub const REQUEST_TTL_DAYS_DEFAULT: i64 = 180;
/// Longest free text (names, descriptions, titles) we keep.
pub const TEXT_BYTES_MAX: usize = 4096;
/// Most rights, packages, urls or rules in one definition or request.
pub const LIST_ITEMS_MAX: usize = 500;

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
    DeleteSystemUser {
        system_user_id: Uuid,
        party: OrgNo,
        user_type: UserType,
    },
    GrantRelationship(ClientRelationshipGranted),
    RevokeRelationship(ClientRelationshipRevoked),
    LinkClient {
        agent: Uuid,
        client: OrgNo,
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
        });
        id
    }
}

/// Decides a command against the read model. An empty list means the command is
/// already satisfied (idempotent repeats), which is success without a write.
pub fn decide<K: Kv + ?Sized>(command: &Command, model: &K, ctx: &mut Context<'_>) -> Result<Vec<Event>, Rejection> {
    let mut out = Emitter { model, ctx, next_version: HashMap::new(), events: Vec::new() };
    match command {
        Command::RegisterParty(p) => register_party(&mut out, p)?,
        Command::DefineAccessPackage(p) => {
            require_register(out.ctx)?;
            let unchanged =
                model.package(&p.urn).is_some_and(|old| old.assignable == p.assignable && old.delegable == p.delegable);
            if !unchanged {
                out.emit(EventData::AccessPackageDefined(p.clone()));
            }
        }
        Command::PublishPolicy(p) => publish_policy(&mut out, p)?,
        Command::RegisterSystem(d) => {
            check_system(model, out.ctx, d)?;
            if model.system(&d.system_id).is_some() {
                return reject(Code::SystemExists, format!("system {} is already registered", d.system_id));
            }
            out.emit(EventData::SystemRegistered(d.clone()));
        }
        Command::UpdateSystem(d) => {
            check_system(model, out.ctx, d)?;
            live_system(model, &d.system_id)?;
            out.emit(EventData::SystemUpdated(d.clone()));
        }
        Command::DeleteSystem(id) => {
            vendor_of(out.ctx, id)?;
            live_system(model, id)?;
            out.emit(EventData::SystemDeleted(SystemDeleted { system_id: id.clone() }));
        }
        Command::CreateRequest(r) => create_request(&mut out, r)?,
        Command::ApproveRequest { request_id, party, user_type } => {
            let request = decidable_request(model, out.ctx, request_id, party, *user_type)?;
            live_system(model, &request.system_id)?;
            if model.live_system_user(&request.system_id, &request.party_org_no, &request.external_ref).is_some() {
                return reject(Code::SystemUserExists, "a system user for this system, party and external ref exists");
            }
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
            decidable_request(model, out.ctx, request_id, party, *user_type)?;
            let decided = RequestDecided { request_id: *request_id, party_org_no: party.clone() };
            out.emit(EventData::RequestRejected(decided));
        }
        Command::WithdrawRequest { request_id } => {
            let Some(request) = model.request(request_id) else {
                return reject(Code::RequestNotFound, format!("request {request_id} does not exist"));
            };
            vendor_of(out.ctx, &request.system_id)?;
            if request.status != RequestStatus::New {
                return reject(
                    Code::RequestNotNew,
                    format!("request is {:?}; only New requests can be withdrawn", request.status),
                );
            }
            out.emit(EventData::RequestWithdrawn(RequestWithdrawn { request_id: *request_id }));
        }
        Command::DeleteSystemUser { system_user_id, party, user_type } => {
            let user = owned_user(model, out.ctx, system_user_id, Some(party))?;
            if user.user_type != *user_type {
                return reject(
                    Code::UserTypeMismatch,
                    format!("system user {system_user_id} is not a {user_type:?} system user"),
                );
            }
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
        Command::GrantRelationship(g) => grant_relationship(&mut out, g)?,
        Command::RevokeRelationship(r) => revoke_relationship(&mut out, r)?,
        Command::LinkClient { agent, client } => {
            let user = owned_user(model, out.ctx, agent, None)?;
            if user.user_type != UserType::Agent {
                return reject(Code::NotAgent, "clients can only be linked to agent system users");
            }
            registered_party(model, client)?;
            if model.link(agent, client).is_none() {
                let rel = model.relationship(client, &user.owner_org_no);
                let lacking: Vec<&str> = user
                    .access_packages
                    .iter()
                    .filter(|p| rel.as_ref().and_then(|r| r.carrying(p)).is_none())
                    .map(|p| p.as_str())
                    .collect();
                if !lacking.is_empty() {
                    return reject(
                        Code::ClientLacksPackage,
                        format!(
                            "{client} has not given {} the access package(s) {}",
                            user.owner_org_no,
                            lacking.join(", ")
                        ),
                    );
                }
                out.emit(EventData::ClientLinked(ClientLinked {
                    system_user_id: *agent,
                    client_org_no: client.clone(),
                    facilitator_org_no: user.owner_org_no,
                }));
            }
        }
        Command::Seal => {
            if out.ctx.authority != Authority::Operator {
                return reject(Code::NotEntitled, "only an operator seals the ledger");
            }
            let seal = LedgerSealed { position: model.position(), chain_hash: super::model::hex(&model.chain()) };
            out.emit(EventData::LedgerSealed(seal));
        }
        Command::UnlinkClient { agent, client } => {
            let user = owned_user(model, out.ctx, agent, None)?;
            if model.link(agent, client).is_none() {
                return reject(Code::ClientNotLinked, format!("{client} is not linked to system user {agent}"));
            }
            out.emit(EventData::ClientUnlinked(ClientUnlinked {
                system_user_id: *agent,
                client_org_no: client.clone(),
                facilitator_org_no: user.owner_org_no,
                reason: UnlinkReason::Requested,
                cause_event_id: None,
            }));
        }
    }
    Ok(out.events)
}

// ---- shared checks ---------------------------------------------------------------------

fn require_register(ctx: &Context<'_>) -> Result<(), Rejection> {
    match ctx.authority {
        Authority::Register => Ok(()),
        _ => reject(Code::NotEntitled, "only the register synchronisation may record this"),
    }
}

fn vendor_of(ctx: &Context<'_>, system: &SystemId) -> Result<(), Rejection> {
    match ctx.org() {
        Some(org) if *org == system.vendor() => Ok(()),
        _ => reject(Code::NotSystemVendor, format!("only the vendor {} may act on system {system}", system.vendor())),
    }
}

fn live_system<K: Kv + ?Sized>(model: &K, id: &SystemId) -> Result<super::model::System, Rejection> {
    match model.system(id) {
        None => reject(Code::SystemNotFound, format!("system {id} is not registered")),
        Some(s) if s.deleted.is_some() => reject(Code::SystemDeleted, format!("system {id} is deleted")),
        Some(s) => Ok(s),
    }
}

fn registered_party<K: Kv + ?Sized>(model: &K, org: &OrgNo) -> Result<(), Rejection> {
    match model.party(org) {
        Some(_) => Ok(()),
        None => reject(Code::PartyNotFound, format!("organisation {org} is not in the party register")),
    }
}

fn text(field: &str, value: &str, max: usize) -> Result<(), Rejection> {
    if value.len() > max {
        return reject(Code::InvalidField, format!("{field} is longer than {max} bytes"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return reject(Code::InvalidField, format!("{field} holds control characters"));
    }
    Ok(())
}

fn list_len(field: &str, len: usize) -> Result<(), Rejection> {
    if len > LIST_ITEMS_MAX {
        return reject(Code::InvalidField, format!("{field} holds more than {LIST_ITEMS_MAX} items"));
    }
    Ok(())
}

/// A `New`, unexpired request of the right type whose customer is the caller.
fn decidable_request<K: Kv + ?Sized>(
    model: &K,
    ctx: &Context<'_>,
    id: &Uuid,
    party: &OrgNo,
    user_type: UserType,
) -> Result<super::model::Request, Rejection> {
    let Some(request) = model.request(id) else {
        return reject(Code::RequestNotFound, format!("request {id} does not exist"));
    };
    if ctx.org() != Some(party) || request.party_org_no != *party {
        return reject(Code::NotRequestParty, "only the customer organisation named in the request may answer it");
    }
    if request.user_type != user_type {
        return reject(Code::UserTypeMismatch, format!("request {id} is a {:?} request", request.user_type));
    }
    if request.status != RequestStatus::New {
        return reject(
            Code::RequestNotNew,
            format!("request {id} is {:?}; only New requests can be answered", request.status),
        );
    }
    if request.is_expired(ctx.now) {
        return reject(Code::RequestExpired, format!("request {id} timed out at {}", request.expires));
    }
    Ok(request)
}

/// A live system user owned by the caller's organisation (and by `party`, if given).
fn owned_user<K: Kv + ?Sized>(
    model: &K,
    ctx: &Context<'_>,
    id: &Uuid,
    party: Option<&OrgNo>,
) -> Result<SystemUser, Rejection> {
    let Some(user) = model.system_user(id) else {
        return reject(Code::SystemUserNotFound, format!("system user {id} does not exist"));
    };
    if ctx.org() != Some(&user.owner_org_no) || party.is_some_and(|p| *p != user.owner_org_no) {
        return reject(Code::NotOwner, format!("system user {id} belongs to another organisation"));
    }
    if user.deleted.is_some() {
        return reject(Code::SystemUserDeleted, format!("system user {id} is deleted"));
    }
    Ok(user)
}

// ---- commands ---------------------------------------------------------------------------

fn register_party<K: Kv + ?Sized>(out: &mut Emitter<'_, '_, '_, K>, p: &PartyRegistered) -> Result<(), Rejection> {
    require_register(out.ctx)?;
    if p.party_id <= 0 {
        return reject(Code::InvalidField, "partyId must be a positive integer");
    }
    if p.name.trim().is_empty() {
        return reject(Code::InvalidField, "name must not be empty");
    }
    text("name", &p.name, IDENTIFIER_BYTES_MAX)?;
    let model = out.model;
    for other in [model.party_by_id(p.party_id), model.party_by_uuid(&p.party_uuid)].into_iter().flatten() {
        if other.org_no != p.org_no {
            return reject(Code::PartyIdInUse, format!("partyId/partyUuid already belong to {}", other.org_no));
        }
    }
    let unchanged = model
        .party(&p.org_no)
        .is_some_and(|old| old.party_id == p.party_id && old.party_uuid == p.party_uuid && old.name == p.name);
    if !unchanged {
        out.emit(EventData::PartyRegistered(p.clone()));
    }
    Ok(())
}

fn publish_policy<K: Kv + ?Sized>(
    out: &mut Emitter<'_, '_, '_, K>,
    p: &ResourcePolicyPublished,
) -> Result<(), Rejection> {
    let model = out.model;
    let Some(org) = out.ctx.org().cloned() else {
        return reject(Code::NotEntitled, "resource policies are published by their service owner");
    };
    if let Some(owner) = model.policy(&p.resource_id).and_then(|old| old.owner) {
        if owner != org {
            return reject(
                Code::NotPolicyOwner,
                format!("resource {} belongs to service owner {owner}", p.resource_id),
            );
        }
    }
    if p.rules.is_empty() {
        return reject(Code::InvalidField, "a policy needs at least one rule");
    }
    list_len("rules", p.rules.len())?;
    for rule in &p.rules {
        match (&rule.access_package, rule.right) {
            (Some(_), true) | (None, false) => {
                return reject(Code::InvalidField, "each rule names either an accessPackage or \"right\": true")
            }
            (Some(pkg), false) if model.package(pkg).is_none() => {
                return reject(Code::UnknownAccessPackage, format!("access package {pkg} is not defined"))
            }
            _ => {}
        }
        if rule.actions.is_empty() {
            return reject(Code::InvalidField, "each rule grants at least one action");
        }
        list_len("actions", rule.actions.len())?;
    }
    if p.minimum_authentication_level.is_some_and(|l| l > 4) {
        return reject(Code::InvalidField, "minimumAuthenticationLevel is between 0 and 4");
    }
    out.emit(EventData::ResourcePolicyPublished(p.clone()));
    Ok(())
}

fn check_system<K: Kv + ?Sized>(model: &K, ctx: &Context<'_>, d: &SystemDefinition) -> Result<(), Rejection> {
    vendor_of(ctx, &d.system_id)?;
    if d.vendor_org_no != d.system_id.vendor() {
        return reject(Code::NotSystemVendor, "the vendor must be the organisation that prefixes the system id");
    }
    if d.name.values().all(|n| n.trim().is_empty()) {
        return reject(Code::InvalidField, "name needs at least one language");
    }
    for (lang, value) in d.name.iter().chain(d.description.iter()) {
        text("language code", lang, 8)?;
        text("name/description", value, TEXT_BYTES_MAX)?;
    }
    list_len("rights", d.rights.len())?;
    list_len("accessPackages", d.access_packages.len())?;
    list_len("clientId", d.client_ids.len())?;
    list_len("allowedRedirectUrls", d.allowed_redirect_urls.len())?;
    for right in &d.rights {
        if model.policy(&right.resource).is_none() {
            return reject(Code::UnknownResource, format!("resource {} has no published policy", right.resource));
        }
    }
    for pkg in &d.access_packages {
        if model.package(pkg).is_none() {
            return reject(Code::UnknownAccessPackage, format!("access package {pkg} is not defined"));
        }
    }
    for client_id in &d.client_ids {
        if client_id.is_empty() {
            return reject(Code::InvalidField, "clientId entries must not be empty");
        }
        text("clientId", client_id, IDENTIFIER_BYTES_MAX)?;
    }
    for url in &d.allowed_redirect_urls {
        check_https_url(url)?;
    }
    Ok(())
}

fn check_https_url(url: &str) -> Result<(), Rejection> {
    let host = url.strip_prefix("https://").map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| !h.is_empty() && !h.contains('@'))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return reject(Code::InvalidRedirectUrl, format!("'{}' is not an https URL", truncate(url)));
    }
    Ok(())
}

fn create_request<K: Kv + ?Sized>(out: &mut Emitter<'_, '_, '_, K>, r: &NewRequest) -> Result<(), Rejection> {
    let model = out.model;
    let Some(system) = model.system(&r.system_id) else {
        return reject(Code::SystemNotFound, format!("system {} is not registered", r.system_id));
    };
    vendor_of(out.ctx, &r.system_id)?;
    if system.deleted.is_some() {
        return reject(Code::SystemDeleted, format!("system {} is deleted", r.system_id));
    }
    registered_party(model, &r.party_org_no)?;
    let external_ref = r.external_ref.clone().unwrap_or_else(|| r.party_org_no.to_string());
    if external_ref.is_empty() {
        return reject(Code::InvalidField, "externalRef must not be empty");
    }
    text("externalRef", &external_ref, IDENTIFIER_BYTES_MAX)?;
    if let Some(title) = &r.integration_title {
        text("integrationTitle", title, IDENTIFIER_BYTES_MAX)?;
    }
    list_len("rights", r.rights.len())?;
    list_len("accessPackages", r.access_packages.len())?;
    match r.user_type {
        UserType::Standard if r.rights.is_empty() && r.access_packages.is_empty() => {
            return reject(Code::EmptyRequest, "a standard request asks for at least one right or access package")
        }
        UserType::Agent if !r.rights.is_empty() => {
            return reject(Code::RightsNotAllowedForAgent, "an agent request carries access packages only")
        }
        UserType::Agent if r.access_packages.is_empty() => {
            return reject(Code::EmptyRequest, "an agent request asks for at least one access package")
        }
        _ => {}
    }
    let def = &system.definition;
    for right in &r.rights {
        if !def.rights.iter().any(|s| s.covers(right)) {
            return reject(
                Code::RightNotInSystem,
                format!("right on {} is not among system {}'s rights", right.resource, r.system_id),
            );
        }
    }
    for pkg in &r.access_packages {
        if !def.access_packages.contains(pkg) {
            return reject(
                Code::PackageNotInSystem,
                format!("{pkg} is not among system {}'s access packages", r.system_id),
            );
        }
        let Some(defined) = model.package(pkg) else {
            return reject(Code::UnknownAccessPackage, format!("access package {pkg} is not defined"));
        };
        match r.user_type {
            UserType::Standard if !defined.assignable => {
                return reject(Code::PackageNotAssignable, format!("{pkg} cannot be given to a standard system user"))
            }
            UserType::Agent if !defined.delegable => {
                return reject(Code::PackageNotDelegable, format!("{pkg} cannot be carried by an agent system user"))
            }
            _ => {}
        }
    }
    if let Some(url) = &r.redirect_url {
        check_https_url(url)?;
        let without_query = url.split(['?', '#']).next().unwrap_or(url);
        if !def.allowed_redirect_urls.iter().any(|a| a == without_query) {
            return reject(Code::InvalidRedirectUrl, "redirectUrl is not one of the system's allowedRedirectUrls");
        }
    }
    if model.pending_request(&r.system_id, &r.party_org_no, &external_ref).is_some() {
        // The pending request is the answer; the caller reads it back. No new event.
        return Ok(());
    }
    if model.live_system_user(&r.system_id, &r.party_org_no, &external_ref).is_some() {
        return reject(Code::SystemUserExists, "a system user for this system, party and external ref already exists");
    }
    let request_id = (out.ctx.new_id)();
    let mut rights = r.rights.clone();
    rights.sort();
    rights.dedup();
    let mut access_packages = r.access_packages.clone();
    access_packages.sort();
    access_packages.dedup();
    out.emit(EventData::RequestCreated(RequestCreated {
        request_id,
        user_type: r.user_type,
        system_id: r.system_id.clone(),
        party_org_no: r.party_org_no.clone(),
        external_ref,
        rights,
        access_packages,
        redirect_url: r.redirect_url.clone(),
        integration_title: r.integration_title.clone(),
        expires: out.ctx.now + out.ctx.request_ttl,
    }));
    Ok(())
}

fn grant_relationship<K: Kv + ?Sized>(
    out: &mut Emitter<'_, '_, '_, K>,
    g: &ClientRelationshipGranted,
) -> Result<(), Rejection> {
    let model = out.model;
    if g.client_org_no == g.facilitator_org_no {
        return reject(Code::InvalidField, "an organisation cannot be its own client");
    }
    registered_party(model, &g.client_org_no)?;
    registered_party(model, &g.facilitator_org_no)?;
    let packages = match (&g.role, g.access_packages.is_empty()) {
        (Some(role), true) => role.packages(),
        (None, false) => {
            list_len("accessPackages", g.access_packages.len())?;
            for pkg in &g.access_packages {
                if model.package(pkg).is_none() {
                    return reject(Code::UnknownAccessPackage, format!("access package {pkg} is not defined"));
                }
            }
            let mut ps = g.access_packages.clone();
            ps.sort();
            ps.dedup();
            ps
        }
        _ => {
            return reject(
                Code::InvalidField,
                "give either a register role or the access packages the client delegates",
            )
        }
    };
    match (&out.ctx.authority, &g.role) {
        (Authority::Register, _) => {}
        (Authority::Organisation(org), None) if *org == g.client_org_no => {}
        _ => {
            return reject(
                Code::NotEntitled,
                "register roles come from the register; packages are delegated by the client itself",
            )
        }
    }
    let rel = model.relationship(&g.client_org_no, &g.facilitator_org_no);
    let new: Vec<PackageUrn> = packages
        .into_iter()
        .filter(|p| !rel.as_ref().is_some_and(|r| r.grants.iter().any(|x| x.role == g.role && &x.access_package == p)))
        .collect();
    if !new.is_empty() {
        out.emit(EventData::ClientRelationshipGranted(ClientRelationshipGranted {
            client_org_no: g.client_org_no.clone(),
            facilitator_org_no: g.facilitator_org_no.clone(),
            role: g.role,
            access_packages: new,
        }));
    }
    Ok(())
}

fn revoke_relationship<K: Kv + ?Sized>(
    out: &mut Emitter<'_, '_, '_, K>,
    r: &ClientRelationshipRevoked,
) -> Result<(), Rejection> {
    let model = out.model;
    match (&out.ctx.authority, &r.role, &r.access_package) {
        (Authority::Register, _, _) => {}
        (Authority::Organisation(org), None, Some(_)) if *org == r.client_org_no => {}
        _ => {
            return reject(
                Code::NotEntitled,
                "a client may revoke only packages it delegated; roles end in the register",
            )
        }
    }
    if r.role.is_some() && r.access_package.is_some() {
        return reject(Code::InvalidField, "revoke by role or by access package, not both");
    }
    let Some(mut rel) = model.relationship(&r.client_org_no, &r.facilitator_org_no) else {
        return reject(
            Code::RelationshipNotFound,
            format!("{} is not a client of {}", r.client_org_no, r.facilitator_org_no),
        );
    };
    let before = rel.grants.len();
    rel.grants.retain(|g| match (&r.role, &r.access_package) {
        (None, None) => false,
        (Some(role), _) => g.role != Some(*role),
        (None, Some(p)) => !(g.role.is_none() && &g.access_package == p),
    });
    if rel.grants.len() == before {
        return reject(Code::RelationshipNotFound, "the relationship holds nothing that matches");
    }
    let revoked = out.emit(EventData::ClientRelationshipRevoked(r.clone()));
    // Links that the relationship no longer supports end now, each recorded with its cause.
    for agent in model.agents_of_client(&r.client_org_no) {
        let Some(user) = model.system_user(&agent) else {
            continue;
        };
        if user.owner_org_no == r.facilitator_org_no && !rel.carries_all(&user.access_packages) {
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
