//! The rules of the domain, each written once: what must hold for an event to take
//! effect, given the read model it meets and the authority it was given on.
//!
//! `decide` calls these before it plans a command's events; `apply` calls them again
//! ([`check`]) when it meets each event on the log, with the authority the event itself
//! records. So an event that breaks a rule — a racing writer's, an imported one, one
//! from a foreign writer on a shared topic — is void with the same reason on every
//! replica, whichever entry point it came through.
//!
//! Pure, like the rest of the core: the moment a rule is judged at comes in as `at`
//! (the command's clock in `decide`, the event's effective time in `apply`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::decide::Authority;
use super::events::*;
use super::ids::{truncate, OrgNo, SystemId, IDENTIFIER_BYTES_MAX};
use super::ids::{Action, PackageUrn, Right};
use super::model::{
    ChangeRequest, Grant, Kv, ReadModel, Relationship, Request, RequestStatus, RightGrant, System, SystemUser,
};
use super::rejection::{Code, Rejection};

/// Longest free text (names, descriptions, titles) we keep.
pub const TEXT_BYTES_MAX: usize = 4096;
/// Most rights, packages, urls or rules in one definition or request.
pub const LIST_ITEMS_MAX: usize = 500;
/// Highest minimum authentication level a policy may ask for.
pub const AUTHENTICATION_LEVEL_MAX: u8 = 4;

fn reject<T>(code: Code, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(code, message))
}

impl Authority {
    /// The authority an event was given on, as it records it: the register's and
    /// operators' own, or the organisation acted for.
    pub fn of(event: &Event) -> Option<Authority> {
        match (event.actor.kind, &event.on_behalf_of) {
            (ActorKind::Register, _) => Some(Authority::Register),
            (ActorKind::Operator, _) => Some(Authority::Operator),
            (_, Some(org)) => Some(Authority::Organisation(org.clone())),
            (_, None) => None,
        }
    }

    fn org(&self) -> Option<&OrgNo> {
        match self {
            Authority::Organisation(org) => Some(org),
            Authority::Register | Authority::Operator => None,
        }
    }
}

/// Every rule `event` must meet against `model` at `at`; `apply` voids it otherwise.
pub fn check<K: Kv + ?Sized>(model: &K, event: &Event, at: DateTime<Utc>) -> Result<(), Rejection> {
    use EventData::*;
    let Some(authority) = Authority::of(event) else {
        return reject(Code::NotEntitled, "the event names no organisation it acts for");
    };
    let authority = &authority;
    match &event.data {
        PartyRegistered(p) => party(model, authority, p),
        AccessPackageDefined(_) => register_only(authority),
        ResourcePolicyPublished(p) => policy(model, authority, p),
        SystemRegistered(d) => system(model, authority, d, SystemRules::V1, SystemWrite::Register),
        SystemRegisteredV2(d) => system(model, authority, d, SystemRules::V2, SystemWrite::Register),
        SystemUpdated(d) => system(model, authority, d, SystemRules::V1, SystemWrite::Update),
        SystemUpdatedV2(d) => system(model, authority, d, SystemRules::V2, SystemWrite::Update),
        SystemDeleted(d) => {
            vendor_of(authority, &d.system_id)?;
            live_system(model, &d.system_id).map(|_| ())
        }
        RequestCreated(r) => {
            request(model, authority, r, RequestRules::of(event)).and_then(|_| request_unique(model, r))
        }
        RequestApproved(d) => answerable(model, authority, &d.request_id, &d.party_org_no, at).map(|_| ()),
        RequestRejected(d) => answerable(model, authority, &d.request_id, &d.party_org_no, at).map(|_| ()),
        RequestWithdrawn(d) => withdrawable(model, authority, &d.request_id).map(|_| ()),
        RequestEscalated(d) => answerable(model, authority, &d.request_id, &d.party_org_no, at).map(|_| ()),
        ChangeRequestCreated(c) => change_request(model, authority, c),
        ChangeRequestApproved(d) | ChangeRequestRejected(d) => change_answerable(model, authority, d, at).map(|_| ()),
        ChangeRequestWithdrawn(d) => change_withdrawable(model, authority, d).map(|_| ()),
        SystemUserRightsChanged(r) => rights_changed(model, r),
        SystemUserCreatedByOwner(u) => user_created_by_owner(model, authority, u),
        SystemUserSelfDelegated(d) => self_delegation(model, authority, d).map(|_| ()),
        SystemUserSelfRevoked(d) => self_revocation(model, authority, d).map(|_| ()),
        SystemUserCreated(u) => user_created(model, u),
        SystemUserDeleted(d) => {
            let user = owned_live_user(model, authority, &d.system_user_id, Some(&d.owner_org_no))?;
            debug_assert_eq!(user.owner_org_no, d.owner_org_no);
            Ok(())
        }
        ClientRelationshipGranted(g) => grant(model, authority, g).map(|_| ()),
        ClientRelationshipRevoked(r) => revoke(model, authority, r).map(|_| ()),
        ClientLinked(l) => linked(model, authority, l),
        ClientUnlinked(l) => unlinked(model, authority, l),
        LedgerSealed(s) => seal(model, authority, s),
    }
}

// ---- who may act --------------------------------------------------------------------

pub fn register_only(authority: &Authority) -> Result<(), Rejection> {
    match authority {
        Authority::Register => Ok(()),
        _ => reject(Code::NotEntitled, "only the register synchronisation may record this"),
    }
}

pub fn vendor_of(authority: &Authority, system: &SystemId) -> Result<(), Rejection> {
    match authority.org() {
        Some(org) if *org == system.vendor() => Ok(()),
        _ => reject(Code::NotSystemVendor, format!("only the vendor {} may act on system {system}", system.vendor())),
    }
}

pub fn operator_only(authority: &Authority) -> Result<(), Rejection> {
    match authority {
        Authority::Operator => Ok(()),
        _ => reject(Code::NotEntitled, "only an operator seals the ledger"),
    }
}

// ---- what exists ----------------------------------------------------------------------

pub fn live_system<K: Kv + ?Sized>(model: &K, id: &SystemId) -> Result<System, Rejection> {
    match model.system(id) {
        None => reject(Code::SystemNotFound, format!("system {id} is not registered")),
        Some(s) if s.deleted.is_some() => reject(Code::SystemDeleted, format!("system {id} is deleted")),
        Some(s) => Ok(s),
    }
}

pub fn registered_party<K: Kv + ?Sized>(model: &K, org: &OrgNo) -> Result<(), Rejection> {
    match model.party(org) {
        Some(_) => Ok(()),
        None => reject(Code::PartyNotFound, format!("organisation {org} is not in the party register")),
    }
}

/// A live system user owned by the organisation acting (and by `party`, if given).
/// A system user that exists and is not deleted, whoever owns it.
pub fn live_user<K: Kv + ?Sized>(model: &K, id: &Uuid) -> Result<SystemUser, Rejection> {
    match model.system_user(id) {
        None => reject(Code::SystemUserNotFound, format!("system user {id} does not exist")),
        Some(user) if user.deleted.is_some() => reject(Code::SystemUserDeleted, format!("system user {id} is deleted")),
        Some(user) => Ok(user),
    }
}

pub fn owned_live_user<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    id: &Uuid,
    party: Option<&OrgNo>,
) -> Result<SystemUser, Rejection> {
    let Some(user) = model.system_user(id) else {
        return reject(Code::SystemUserNotFound, format!("system user {id} does not exist"));
    };
    if authority.org() != Some(&user.owner_org_no) || party.is_some_and(|p| *p != user.owner_org_no) {
        return reject(Code::NotOwner, format!("system user {id} belongs to another organisation"));
    }
    if user.deleted.is_some() {
        return reject(Code::SystemUserDeleted, format!("system user {id} is deleted"));
    }
    Ok(user)
}

// ---- well-formed values -----------------------------------------------------------------

/// The languages of a resource's title, as in Altinn's resource registry.
pub const TITLE_LANGUAGES: [&str; 3] = ["nb", "nn", "en"];

pub fn text(field: &str, value: &str, max: usize) -> Result<(), Rejection> {
    if value.len() > max {
        return reject(Code::InvalidField, format!("{field} is longer than {max} bytes"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return reject(Code::InvalidField, format!("{field} holds control characters"));
    }
    Ok(())
}

pub fn list_len(field: &str, len: usize) -> Result<(), Rejection> {
    if len > LIST_ITEMS_MAX {
        return reject(Code::InvalidField, format!("{field} holds more than {LIST_ITEMS_MAX} items"));
    }
    Ok(())
}

pub fn https_url(url: &str) -> Result<(), Rejection> {
    let host = url.strip_prefix("https://").map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| !h.is_empty() && !h.contains('@'))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return reject(Code::InvalidRedirectUrl, format!("'{}' is not an https URL", truncate(url)));
    }
    Ok(())
}

// ---- registers ----------------------------------------------------------------------------

/// A party's registration: from the register, well formed, and its party id and uuid
/// not already another organisation's.
pub fn party<K: Kv + ?Sized>(model: &K, authority: &Authority, p: &PartyRegistered) -> Result<(), Rejection> {
    register_only(authority)?;
    if p.party_id <= 0 {
        return reject(Code::InvalidField, "partyId must be a positive integer");
    }
    if p.name.trim().is_empty() {
        return reject(Code::InvalidField, "name must not be empty");
    }
    text("name", &p.name, IDENTIFIER_BYTES_MAX)?;
    for other in [model.party_by_id(p.party_id), model.party_by_uuid(&p.party_uuid)].into_iter().flatten() {
        if other.org_no != p.org_no {
            return reject(Code::PartyIdInUse, format!("partyId/partyUuid already belong to {}", other.org_no));
        }
    }
    Ok(())
}

/// A resource policy: published by its service owner (the first to publish it), with
/// well-formed rules over defined access packages.
pub fn policy<K: Kv + ?Sized>(model: &K, authority: &Authority, p: &ResourcePolicyPublished) -> Result<(), Rejection> {
    let Some(org) = authority.org() else {
        return reject(Code::NotEntitled, "resource policies are published by their service owner");
    };
    if let Some(owner) = model.policy(&p.resource_id).and_then(|old| old.owner) {
        if owner != *org {
            return reject(
                Code::NotPolicyOwner,
                format!("resource {} belongs to service owner {owner}", p.resource_id),
            );
        }
    }
    for (lang, title) in &p.title {
        if !TITLE_LANGUAGES.contains(&lang.as_str()) {
            return reject(Code::InvalidField, format!("title has language '{lang}'; it takes nb, nn and en"));
        }
        if title.trim().is_empty() {
            return reject(Code::InvalidField, format!("title.{lang} is empty; leave it out instead"));
        }
        text("title", title, TEXT_BYTES_MAX)?;
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
    if p.minimum_authentication_level.is_some_and(|l| l > AUTHENTICATION_LEVEL_MAX) {
        return reject(Code::InvalidField, "minimumAuthenticationLevel is between 0 and 4");
    }
    Ok(())
}

// ---- systems -------------------------------------------------------------------------------

/// A system definition as its vendor gives it: well formed, over published resources
/// and defined packages.
/// The rules a system definition is held to: those of the event version it was written
/// under. A rule added later applies from its version on, so a log replays as it was
/// answered when written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemRules {
    /// `ledger.system.registered/updated.v1`.
    V1,
    /// `.v2`: as V1, and Altinn's rules on duplicates, client ids and visibility
    /// (`AUTH.VLD-00004`, `00006`, `00007`, `00011`, `00018`).
    V2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemWrite {
    Register,
    Update,
}

/// A system as its vendor may register or change it; the first of its
/// [`system_problems`], then that it is new (registering) or live (updating).
pub fn system<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    d: &SystemDefinition,
    rules: SystemRules,
    write: SystemWrite,
) -> Result<(), Rejection> {
    match system_problems(model, authority, d, rules, write).into_iter().next() {
        Some(first) => Err(first),
        None => Ok(()),
    }
}

/// Every way `d` breaks the rules, in the order they are checked: the first is the
/// event's refusal; Altinn answers all of them at once. The vendor comes first and
/// alone (nobody else learns what is wrong with a system); that the system is new
/// (registering) or live (updating) comes last.
pub fn system_problems<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    d: &SystemDefinition,
    rules: SystemRules,
    write: SystemWrite,
) -> Vec<Rejection> {
    if let Err(r) = vendor_of(authority, &d.system_id) {
        return vec![r];
    }
    let mut out: Vec<Rejection> = Vec::new();
    if d.vendor_org_no != d.system_id.vendor() {
        out.push(Rejection::new(
            Code::NotSystemVendor,
            "the vendor must be the organisation that prefixes the system id",
        ));
    }
    if d.name.values().all(|n| n.trim().is_empty()) {
        out.push(Rejection::new(Code::InvalidField, "name needs at least one language"));
    }
    let texts = d.name.iter().chain(d.description.iter());
    out.extend(first_err(texts, |(lang, value)| {
        text("language code", lang, 8)?;
        text("name/description", value, TEXT_BYTES_MAX)
    }));
    out.extend(
        [
            list_len("rights", d.rights.len()),
            list_len("accessPackages", d.access_packages.len()),
            list_len("clientId", d.client_ids.len()),
            list_len("allowedRedirectUrls", d.allowed_redirect_urls.len()),
        ]
        .into_iter()
        .filter_map(Result::err),
    );
    out.extend(first_err(&d.rights, |right| match model.policy(&right.resource) {
        None => reject(Code::UnknownResource, format!("resource {} has no published policy", right.resource)),
        Some(_) => Ok(()),
    }));
    out.extend(first_err(&d.access_packages, |pkg| match model.package(pkg) {
        None => reject(Code::UnknownAccessPackage, format!("access package {pkg} is not defined")),
        Some(_) => Ok(()),
    }));
    out.extend(first_err(&d.client_ids, |client_id| {
        if client_id.is_empty() {
            return reject(Code::InvalidField, "clientId entries must not be empty");
        }
        text("clientId", client_id, IDENTIFIER_BYTES_MAX)
    }));
    out.extend(first_err(&d.allowed_redirect_urls, |url| https_url(url)));
    if rules == SystemRules::V2 {
        out.extend(altinn_register_problems(model, d, write));
    }
    match write {
        SystemWrite::Register if model.system(&d.system_id).is_some() => {
            out.push(Rejection::new(Code::SystemExists, format!("system {} is already registered", d.system_id)));
        }
        SystemWrite::Register => {}
        SystemWrite::Update => out.extend(live_system(model, &d.system_id).err()),
    }
    out
}

/// The first failure of `check` over `items`, if any.
fn first_err<T>(items: impl IntoIterator<Item = T>, check: impl Fn(T) -> Result<(), Rejection>) -> Option<Rejection> {
    items.into_iter().find_map(|item| check(item).err())
}

/// Altinn's rules on a system definition that version 2 adds: no right, package or
/// client id twice (client ids without regard to case, as Altinn compares them), no
/// client id another live system has, and no package meant for clients on a system
/// the portal lists (a visible system is for standard system users).
fn altinn_register_problems<K: Kv + ?Sized>(model: &K, d: &SystemDefinition, write: SystemWrite) -> Vec<Rejection> {
    let mut out = Vec::new();
    let twice = |keys: Vec<String>| {
        let mut seen = std::collections::HashSet::new();
        keys.into_iter().find(|k| !seen.insert(k.clone()))
    };
    if let Some(r) = twice(d.rights.iter().map(|r| format!("{}|{:?}", r.resource, r.action)).collect()) {
        let resource = r.split('|').next().unwrap_or_default().to_owned();
        out.push(Rejection::new(Code::DuplicateRight, format!("the right on {resource} is given twice")));
    }
    if let Some(p) = twice(d.access_packages.iter().map(|p| p.to_string()).collect()) {
        out.push(Rejection::new(Code::DuplicateAccessPackage, format!("access package {p} is given twice")));
    }
    if let Some(c) = twice(d.client_ids.iter().map(|c| c.to_lowercase()).collect()) {
        out.push(Rejection::new(Code::DuplicateClientId, format!("client id {} is given twice", truncate(&c))));
    }
    let others = model.systems();
    let in_use = d.client_ids.iter().find(|c| {
        others.iter().any(|s| {
            let other = write == SystemWrite::Register || s.definition.system_id != d.system_id;
            other && s.deleted.is_none() && s.definition.client_ids.iter().any(|o| o.to_lowercase() == c.to_lowercase())
        })
    });
    if let Some(c) = in_use {
        out.push(Rejection::new(Code::ClientIdInUse, format!("client id {} belongs to another system", truncate(c))));
    }
    let for_clients = d.access_packages.iter().find(|p| model.package(p).is_some_and(|def| !def.assignable));
    if let (true, Some(p)) = (d.is_visible, for_clients) {
        out.push(Rejection::new(
            Code::ClientPackageOnVisibleSystem,
            format!("access package {p} is meant for clients, so the system cannot be visible"),
        ));
    }
    out
}

// ---- requests ------------------------------------------------------------------------------

/// The rules a request is held to: those of the version its record was written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestRules {
    /// An agent request carries access packages only.
    V1,
    /// An agent request may also ask for single rights of its system (NAV's limited
    /// agent: "A06/A07 only"), with or without packages.
    V2,
}

impl RequestRules {
    pub fn of(event: &Event) -> RequestRules {
        match event.written_as {
            Some("ledger.systemuserrequest.created.v1") => RequestRules::V1,
            _ => RequestRules::V2,
        }
    }
}

/// A request as its system's vendor may make it: for a registered party, within the
/// system's rights and packages, packages of the right kind for the user type, and a
/// redirect the system allows. Uniqueness is [`request_unique`].
pub fn request<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    r: &RequestCreated,
    version: RequestRules,
) -> Result<(), Rejection> {
    let Some(system) = model.system(&r.system_id) else {
        return reject(Code::SystemNotFound, format!("system {} is not registered", r.system_id));
    };
    vendor_of(authority, &r.system_id)?;
    if system.deleted.is_some() {
        return reject(Code::SystemDeleted, format!("system {} is deleted", r.system_id));
    }
    registered_party(model, &r.party_org_no)?;
    if r.external_ref.is_empty() {
        return reject(Code::InvalidField, "externalRef must not be empty");
    }
    text("externalRef", &r.external_ref, IDENTIFIER_BYTES_MAX)?;
    if let Some(title) = &r.integration_title {
        text("integrationTitle", title, IDENTIFIER_BYTES_MAX)?;
    }
    list_len("rights", r.rights.len())?;
    list_len("accessPackages", r.access_packages.len())?;
    match r.user_type {
        UserType::Standard if r.rights.is_empty() && r.access_packages.is_empty() => {
            return reject(Code::EmptyRequest, "a standard request asks for at least one right or access package")
        }
        UserType::Agent if version == RequestRules::V1 && !r.rights.is_empty() => {
            return reject(Code::RightsNotAllowedForAgent, "an agent request carries access packages only")
        }
        UserType::Agent if r.access_packages.is_empty() && r.rights.is_empty() => {
            return reject(Code::EmptyRequest, "an agent request asks for at least one access package or right")
        }
        _ => {}
    }
    grants_of_system(model, &system, r.user_type, &r.rights, &r.access_packages)?;
    redirect_of_system(&system, r.redirect_url.as_deref())
}

/// Rights and packages a system user of `user_type` may be given through `system`: the
/// system's own, and packages that kind of system user may carry.
fn grants_of_system<K: Kv + ?Sized>(
    model: &K,
    system: &System,
    user_type: UserType,
    rights: &[Right],
    packages: &[PackageUrn],
) -> Result<(), Rejection> {
    let def = &system.definition;
    for right in rights {
        if !def.rights.iter().any(|s| s.covers(right)) {
            let why = format!("right on {} is not among system {}'s rights", right.resource, def.system_id);
            return reject(Code::RightNotInSystem, why);
        }
    }
    for pkg in packages {
        if !def.access_packages.contains(pkg) {
            let why = format!("{pkg} is not among system {}'s access packages", def.system_id);
            return reject(Code::PackageNotInSystem, why);
        }
        let Some(defined) = model.package(pkg) else {
            return reject(Code::UnknownAccessPackage, format!("access package {pkg} is not defined"));
        };
        match user_type {
            UserType::Standard if !defined.assignable => {
                return reject(Code::PackageNotAssignable, format!("{pkg} cannot be given to a standard system user"))
            }
            UserType::Agent if !defined.delegable => {
                return reject(Code::PackageNotDelegable, format!("{pkg} cannot be carried by an agent system user"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where the customer is sent back to: an https URL the system allows (its query aside).
fn redirect_of_system(system: &System, url: Option<&str>) -> Result<(), Rejection> {
    let Some(url) = url else { return Ok(()) };
    https_url(url)?;
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    if !system.definition.allowed_redirect_urls.iter().any(|a| a == without_query) {
        return reject(Code::InvalidRedirectUrl, "redirectUrl is not one of the system's allowedRedirectUrls");
    }
    Ok(())
}

// ---- change requests ------------------------------------------------------------------

/// A vendor's change request: for a live standard system user of its own live system,
/// asking only for what the system can give, under an id not used before.
pub fn change_request<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    c: &ChangeRequestCreated,
) -> Result<(), Rejection> {
    let user = live_user(model, &c.system_user_id)?;
    if user.user_type != UserType::Standard {
        let why = format!("system user {} is an agent; only a standard system user's rights change", user.id);
        return reject(Code::UserTypeMismatch, why);
    }
    vendor_of(authority, &user.system_id)?;
    let system = live_system(model, &user.system_id)?;
    if c.system_id != user.system_id || c.party_org_no != user.owner_org_no {
        return reject(Code::InvalidField, "the change request names another system or party than its system user");
    }
    for (name, len) in [
        ("requiredRights", c.required_rights.len()),
        ("unwantedRights", c.unwanted_rights.len()),
        ("requiredAccessPackages", c.required_access_packages.len()),
        ("unwantedAccessPackages", c.unwanted_access_packages.len()),
    ] {
        list_len(name, len)?;
    }
    if c.required_rights.is_empty()
        && c.unwanted_rights.is_empty()
        && c.required_access_packages.is_empty()
        && c.unwanted_access_packages.is_empty()
    {
        return reject(Code::EmptyRequest, "a change request asks for at least one change");
    }
    grants_of_system(model, &system, UserType::Standard, &c.required_rights, &c.required_access_packages)?;
    redirect_of_system(&system, c.redirect_url.as_deref())?;
    if model.change_request(&c.change_request_id).is_some() {
        return reject(
            Code::ChangeRequestIdInUse,
            format!("change request id {} is already used", c.change_request_id),
        );
    }
    Ok(())
}

fn change_request_of<K: Kv + ?Sized>(model: &K, id: &Uuid, user: &Uuid) -> Result<ChangeRequest, Rejection> {
    match model.change_request(id) {
        Some(c) if c.system_user_id == *user => Ok(c),
        _ => reject(Code::ChangeRequestNotFound, format!("change request {id} does not exist")),
    }
}

/// A `New`, unexpired change request its system user's owner answers, while that system
/// user lives.
pub fn change_answerable<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    d: &ChangeRequestDecided,
    at: DateTime<Utc>,
) -> Result<ChangeRequest, Rejection> {
    let c = change_request_of(model, &d.change_request_id, &d.system_user_id)?;
    if authority.org() != Some(&d.party_org_no) || c.party_org_no != d.party_org_no {
        return reject(Code::NotRequestParty, "only the system user's owner may answer its change request");
    }
    if c.status != RequestStatus::New {
        let why = format!("change request {} is {:?}; only New ones can be answered", c.id, c.status);
        return reject(Code::RequestNotNew, why);
    }
    if c.is_expired(at) {
        return reject(Code::RequestExpired, format!("change request {} timed out at {}", c.id, c.expires));
    }
    live_user(model, &c.system_user_id)?;
    Ok(c)
}

/// A `New` change request its system's vendor withdraws.
pub fn change_withdrawable<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    d: &ChangeRequestWithdrawn,
) -> Result<ChangeRequest, Rejection> {
    let c = change_request_of(model, &d.change_request_id, &d.system_user_id)?;
    vendor_of(authority, &c.system_id)?;
    if c.status != RequestStatus::New {
        let why = format!("change request is {:?}; only New ones can be withdrawn", c.status);
        return reject(Code::RequestNotNew, why);
    }
    Ok(c)
}

/// A system user's rights change only as the change request approved just before says.
pub fn rights_changed<K: Kv + ?Sized>(model: &K, r: &SystemUserRightsChanged) -> Result<(), Rejection> {
    let approved = model.change_request(&r.change_request_id).filter(|c| c.status == RequestStatus::Accepted);
    let Some(c) = approved.filter(|c| c.system_user_id == r.system_user_id) else {
        return reject(Code::VersionConflict, "the change request was not approved; the approval did not take effect");
    };
    let user = live_user(model, &r.system_user_id)?;
    if user.owner_org_no != r.owner_org_no || c.applied_to(&user) != (r.rights.clone(), r.access_packages.clone()) {
        return reject(Code::InvalidField, "the rights do not follow from the system user and its change request");
    }
    Ok(())
}

/// `(system, party, external ref)` names at most one pending request and one live
/// system user, and a request's id is new.
pub fn request_unique<K: Kv + ?Sized>(model: &K, r: &RequestCreated) -> Result<(), Rejection> {
    if model.request(&r.request_id).is_some() || model.system_user(&r.request_id).is_some() {
        return reject(Code::VersionConflict, format!("id {} is already used", r.request_id));
    }
    if model.pending_request(&r.system_id, &r.party_org_no, &r.external_ref).is_some() {
        return reject(Code::RequestNotNew, "a pending request for this system, party and external ref exists");
    }
    if model.live_system_user(&r.system_id, &r.party_org_no, &r.external_ref).is_some() {
        return reject(Code::SystemUserExists, "a system user for this system, party and external ref already exists");
    }
    Ok(())
}

/// A request its customer may answer at `at`: it exists, the organisation acting is
/// the one the request names, and it is `New` and within its time-to-live.
pub fn answerable<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    id: &Uuid,
    party: &OrgNo,
    at: DateTime<Utc>,
) -> Result<Request, Rejection> {
    let Some(request) = model.request(id) else {
        return reject(Code::RequestNotFound, format!("request {id} does not exist"));
    };
    if authority.org() != Some(party) || request.party_org_no != *party {
        return reject(Code::NotRequestParty, "only the customer organisation named in the request may answer it");
    }
    if request.status != RequestStatus::New {
        let why = format!("request {id} is {:?}; only New requests can be answered", request.status);
        return reject(Code::RequestNotNew, why);
    }
    if request.is_expired(at) {
        return reject(Code::RequestExpired, format!("request {id} timed out at {}", request.expires));
    }
    Ok(request)
}

/// A `New` request its system's vendor withdraws.
pub fn withdrawable<K: Kv + ?Sized>(model: &K, authority: &Authority, id: &Uuid) -> Result<Request, Rejection> {
    let Some(request) = model.request(id) else {
        return reject(Code::RequestNotFound, format!("request {id} does not exist"));
    };
    vendor_of(authority, &request.system_id)?;
    if request.status != RequestStatus::New {
        let why = format!("request is {:?}; only New requests can be withdrawn", request.status);
        return reject(Code::RequestNotNew, why);
    }
    Ok(request)
}

/// A system user is made from its approved request, exactly as the request asked, for
/// a live system, once, and never beside another live one for the same key.
pub fn user_created<K: Kv + ?Sized>(model: &K, u: &SystemUserCreated) -> Result<(), Rejection> {
    // The approval this follows must have taken effect: a version check alone is not
    // enough, since another event may have moved the version just as far.
    let Some(request) = model.request(&u.system_user_id).filter(|r| r.status == RequestStatus::Accepted) else {
        return reject(Code::VersionConflict, "the request was not approved; the approval did not take effect");
    };
    let same = request.user_type == u.user_type
        && request.system_id == u.system_id
        && request.party_org_no == u.owner_org_no
        && request.external_ref == u.external_ref
        && request.rights == u.rights
        && request.access_packages == u.access_packages
        && request.integration_title == u.integration_title;
    if !same {
        return reject(Code::InvalidField, "the system user differs from the request it is made from");
    }
    live_system(model, &u.system_id)?;
    new_system_user(model, u)
}

/// A new system user's id is unused, and no live one has its system, owner and
/// external ref.
fn new_system_user<K: Kv + ?Sized>(model: &K, u: &SystemUserCreated) -> Result<(), Rejection> {
    if model.system_user(&u.system_user_id).is_some() {
        return reject(Code::SystemUserExists, format!("system user {} exists", u.system_user_id));
    }
    if model.live_system_user(&u.system_id, &u.owner_org_no, &u.external_ref).is_some() {
        return reject(Code::SystemUserExists, "a system user for this system, party and external ref exists");
    }
    Ok(())
}

/// A standard system user its owner makes itself (Altinn's portal), without a
/// vendor's request: for a live system, with what that system can give a standard
/// system user, under the owner's organisation number as external ref.
pub fn user_created_by_owner<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    u: &SystemUserCreated,
) -> Result<(), Rejection> {
    if authority.org() != Some(&u.owner_org_no) {
        return reject(Code::NotOwner, "only the organisation itself makes its system user without a request");
    }
    if u.user_type != UserType::Standard || u.external_ref != u.owner_org_no.as_str() {
        return reject(Code::InvalidField, "an owner makes a standard system user under its own org number");
    }
    if model.request(&u.system_user_id).is_some() {
        return reject(Code::VersionConflict, format!("id {} is already used", u.system_user_id));
    }
    if let Some(title) = &u.integration_title {
        text("integrationTitle", title, IDENTIFIER_BYTES_MAX)?;
    }
    registered_party(model, &u.owner_org_no)?;
    let system = live_system(model, &u.system_id)?;
    if u.rights.is_empty() && u.access_packages.is_empty() {
        return reject(Code::EmptyRequest, format!("system {} gives a system user nothing", u.system_id));
    }
    grants_of_system(model, &system, UserType::Standard, &u.rights, &u.access_packages)?;
    new_system_user(model, u)
}

/// The owner's own agent, to act for it with the packages it carries: each one a
/// standard system user could be given (Altinn validates them as standard).
pub fn self_delegation<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    d: &SystemUserSelfDelegated,
) -> Result<SystemUser, Rejection> {
    let user = owned_live_user(model, authority, &d.system_user_id, Some(&d.owner_org_no))?;
    if user.user_type != UserType::Agent {
        return reject(Code::UserTypeMismatch, format!("system user {} is not an agent", user.id));
    }
    if d.access_packages != user.access_packages {
        return reject(Code::InvalidField, "an agent acts for its owner with exactly the packages it carries");
    }
    if user.acts_for_owner.is_some() {
        return reject(Code::InvalidField, format!("system user {} already acts for its owner", user.id));
    }
    let system = live_system(model, &user.system_id)?;
    grants_of_system(model, &system, UserType::Standard, &[], &d.access_packages)?;
    Ok(user)
}

/// The owner's own agent stops acting for it.
pub fn self_revocation<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    d: &SystemUserSelfRevoked,
) -> Result<SystemUser, Rejection> {
    let user = owned_live_user(model, authority, &d.system_user_id, Some(&d.owner_org_no))?;
    if user.user_type != UserType::Agent {
        return reject(Code::UserTypeMismatch, format!("system user {} is not an agent", user.id));
    }
    if user.acts_for_owner.is_none() {
        return reject(Code::InvalidField, format!("system user {} does not act for its owner", user.id));
    }
    Ok(user)
}

// ---- client relationships and links -------------------------------------------------------

/// A client relationship as the register (a role) or the client itself (packages it
/// delegates) grants it, between two registered parties. Returns the packages granted.
pub fn grant<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    g: &ClientRelationshipGranted,
) -> Result<Vec<super::ids::PackageUrn>, Rejection> {
    if g.client_org_no == g.facilitator_org_no {
        return reject(Code::InvalidField, "an organisation cannot be its own client");
    }
    registered_party(model, &g.client_org_no)?;
    registered_party(model, &g.facilitator_org_no)?;
    if g.role.is_some() && !g.rights.is_empty() {
        return reject(Code::InvalidField, "single rights are delegated by the client, never brought by a role");
    }
    let packages = match (&g.role, g.access_packages.is_empty()) {
        // As a command names it: the role, which brings its packages.
        (Some(role), true) => role.packages(),
        // As the event records it: the role and the packages it newly brings.
        (Some(role), false) => {
            let brought = role.packages();
            if let Some(p) = g.access_packages.iter().find(|p| !brought.contains(p)) {
                return reject(Code::InvalidField, format!("the role {role:?} does not bring {p}"));
            }
            g.access_packages.clone()
        }
        (None, _) if !g.rights.is_empty() || !g.access_packages.is_empty() => {
            list_len("accessPackages", g.access_packages.len())?;
            delegable_rights(model, &g.rights)?;
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
        (None, _) => {
            let why = "give either a register role, or the access packages or single rights the client delegates";
            return reject(Code::InvalidField, why);
        }
    };
    match (authority, &g.role) {
        (Authority::Register, _) => Ok(packages),
        (Authority::Organisation(org), None) if *org == g.client_org_no => Ok(packages),
        _ => {
            let why = "register roles come from the register; packages are delegated by the client itself";
            reject(Code::NotEntitled, why)
        }
    }
}

/// Whether a revocation ends a grant: all of them, those of its role, or the one
/// package a client delegated.
fn revokes(r: &ClientRelationshipRevoked, g: &Grant) -> bool {
    match (&r.role, &r.access_package, &r.right) {
        (None, None, None) => true,
        (Some(role), _, _) => g.role == Some(*role),
        (None, Some(p), _) => g.role.is_none() && &g.access_package == p,
        (None, None, Some(_)) => false,
    }
}

/// Whether a revocation ends a delegated right: all of them, or that one.
fn revokes_right(r: &ClientRelationshipRevoked, g: &RightGrant) -> bool {
    match (&r.role, &r.access_package, &r.right) {
        (None, None, None) => true,
        (None, None, Some(right)) => &g.right == right,
        _ => false,
    }
}

/// The relationship as a revocation leaves it (`apply` stores it; `decide` judges
/// which links it still supports).
pub fn revoke_from(rel: &mut super::model::Relationship, r: &ClientRelationshipRevoked) {
    rel.grants.retain(|g| !revokes(r, g));
    rel.rights.retain(|g| !revokes_right(r, g));
}

/// Single rights a client may delegate: on resources with a published policy that
/// gives single-right holders something (otherwise the right would give nothing).
fn delegable_rights<K: Kv + ?Sized>(model: &K, rights: &[Right]) -> Result<(), Rejection> {
    list_len("rights", rights.len())?;
    for right in rights {
        let Some(policy) = model.policy(&right.resource) else {
            return reject(Code::UnknownResource, format!("resource {} has no published policy", right.resource));
        };
        if !policy.rules.iter().any(|rule| rule.right) {
            let why = format!("the policy of {} gives nothing to holders of a single right", right.resource);
            return reject(Code::InvalidField, why);
        }
    }
    Ok(())
}

/// A revocation by the register, or by the client of a package it delegated, of
/// something the relationship holds. Returns the relationship as it stands before.
pub fn revoke<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    r: &ClientRelationshipRevoked,
) -> Result<super::model::Relationship, Rejection> {
    let named = [r.role.is_some(), r.access_package.is_some(), r.right.is_some()];
    if named.iter().filter(|n| **n).count() > 1 {
        return reject(Code::InvalidField, "revoke by role, by access package or by right: one of them");
    }
    match (authority, &r.role) {
        (Authority::Register, _) => {}
        (Authority::Organisation(org), None) if *org == r.client_org_no && (named[1] || named[2]) => {}
        _ => {
            let why = "a client may revoke only packages or rights it delegated; roles end in the register";
            return reject(Code::NotEntitled, why);
        }
    }
    let Some(rel) = model.relationship(&r.client_org_no, &r.facilitator_org_no) else {
        let why = format!("{} is not a client of {}", r.client_org_no, r.facilitator_org_no);
        return reject(Code::RelationshipNotFound, why);
    };
    if !rel.grants.iter().any(|g| revokes(r, g)) && !rel.rights.iter().any(|g| revokes_right(r, g)) {
        return reject(Code::RelationshipNotFound, "the relationship holds nothing that matches");
    }
    Ok(rel)
}

/// A client its facilitator may link to its agent system user: the user is the
/// organisation's own, live and an agent; the client is registered; what the link
/// gives (`subset`, or everything the agent carries) is part of what the agent carries
/// and has all been given to the facilitator by the client. Returns the user.
pub fn linkable<K: Kv + ?Sized>(
    model: &K,
    authority: &Authority,
    agent: &Uuid,
    client: &OrgNo,
    subset: Option<&Subset>,
) -> Result<SystemUser, Rejection> {
    let user = owned_live_user(model, authority, agent, None)?;
    if user.user_type != UserType::Agent {
        return reject(Code::NotAgent, "clients can only be linked to agent system users");
    }
    registered_party(model, client)?;
    if let Some(subset) = subset {
        within_agent(&user, subset)?;
    }
    let gives = subset.cloned().unwrap_or_else(|| user.carries());
    let rel = model.relationship(client, &user.owner_org_no);
    link_supported(model, rel.as_ref(), &user.owner_org_no, client, &gives)?;
    Ok(user)
}

/// A link's subset: not empty, and only what the agent carries.
fn within_agent(user: &SystemUser, subset: &Subset) -> Result<(), Rejection> {
    if subset.is_empty() {
        return reject(Code::InvalidField, "a restricted link gives at least one access package or right");
    }
    list_len("accessPackages", subset.access_packages.len())?;
    list_len("rights", subset.rights.len())?;
    if let Some(p) = subset.access_packages.iter().find(|p| !user.access_packages.contains(p)) {
        return reject(Code::InvalidField, format!("the agent does not carry {p}"));
    }
    if let Some(r) = subset.rights.iter().find(|r| !user.rights.iter().any(|held| held.covers(r))) {
        return reject(Code::InvalidField, format!("the agent holds no right covering {r}"));
    }
    Ok(())
}

/// Whether the client's relationship with the facilitator gives everything a link
/// gives: the one precondition of a link, judged when it is made and again for every
/// link when the relationship shrinks (`decide`'s cascade).
pub fn link_supported<K: ReadModel + ?Sized>(
    model: &K,
    rel: Option<&Relationship>,
    facilitator: &OrgNo,
    client: &OrgNo,
    gives: &Subset,
) -> Result<(), Rejection> {
    let carried = |p: &PackageUrn| rel.is_some_and(|rel| rel.carrying(p).is_some());
    let packages = gives.access_packages.iter().filter(|p| !carried(p)).map(|p| p.to_string());
    let given = |r: &Right| rel.is_some_and(|rel| relationship_gives_right(model, rel, r));
    let rights = gives.rights.iter().filter(|r| !given(r)).map(Right::to_string);
    let lacking: Vec<String> = packages.chain(rights).collect();
    if lacking.is_empty() {
        return Ok(());
    }
    let why = format!("{client} has not given {facilitator} {}", lacking.join(", "));
    reject(Code::ClientLacksPackage, why)
}

/// Whether a client relationship gives a single right: every action the right names (a
/// right without an action names every action the resource's policy gives a single
/// right) is covered by a right the client delegated, or got by a package the
/// relationship carries, as the resource's policy says now. The PDP asks the same of
/// one action at a time.
pub fn relationship_gives_right<K: ReadModel + ?Sized>(model: &K, rel: &Relationship, right: &Right) -> bool {
    if rel.covering(right).is_some() {
        return true;
    }
    let Some(policy) = model.policy(&right.resource) else { return false };
    let actions: Vec<&Action> = match &right.action {
        Some(action) => vec![action],
        None => policy.rules.iter().filter(|rule| rule.right).flat_map(|rule| rule.actions.iter()).collect(),
    };
    let given = |action: &Action| {
        let one = Right { resource: right.resource.clone(), action: Some(action.clone()) };
        rel.covering(&one).is_some() || rel.grants.iter().any(|g| policy.package_grants(&g.access_package, action))
    };
    !actions.is_empty() && actions.into_iter().all(given)
}

fn linked<K: Kv + ?Sized>(model: &K, authority: &Authority, l: &ClientLinked) -> Result<(), Rejection> {
    if model.link(&l.system_user_id, &l.client_org_no).is_some() {
        return reject(Code::VersionConflict, "the client is already linked");
    }
    let user = linkable(model, authority, &l.system_user_id, &l.client_org_no, l.subset().as_ref())?;
    if user.owner_org_no != l.facilitator_org_no {
        return reject(Code::NotOwner, "the facilitator must own the agent system user");
    }
    Ok(())
}

/// An unlink asked for by the agent's owner, or a cascade whose cause took effect (a
/// deleted system user, a revoked relationship); either way of a link that exists.
fn unlinked<K: Kv + ?Sized>(model: &K, authority: &Authority, l: &ClientUnlinked) -> Result<(), Rejection> {
    match l.cause_event_id {
        Some(cause) => {
            let applied = model.event_index(&cause).and_then(|i| model.outcome(i)).is_some_and(|o| o.void.is_none());
            if !applied {
                return reject(Code::VersionConflict, format!("its cause, event {cause}, did not take effect"));
            }
        }
        None => {
            owned_live_user(model, authority, &l.system_user_id, Some(&l.facilitator_org_no))?;
        }
    }
    match model.link(&l.system_user_id, &l.client_org_no) {
        Some(link) if link.facilitator_org_no == l.facilitator_org_no => Ok(()),
        Some(_) => reject(Code::NotOwner, "the link belongs to another facilitator"),
        None => reject(Code::ClientNotLinked, format!("{} is not linked to {}", l.client_org_no, l.system_user_id)),
    }
}

/// A seal an operator makes of the chain over exactly the records before it.
fn seal<K: Kv + ?Sized>(model: &K, authority: &Authority, seal: &LedgerSealed) -> Result<(), Rejection> {
    operator_only(authority)?;
    let index = model.position();
    if seal.position != index {
        let why = format!("the seal covers {} records but stands at index {index}", seal.position);
        return reject(Code::SealMismatch, why);
    }
    let chain = super::model::hex(&model.chain());
    if seal.chain_hash != chain {
        let why = format!("the seal says {} but the records before it hash to {chain}", seal.chain_hash);
        return reject(Code::SealMismatch, why);
    }
    Ok(())
}
