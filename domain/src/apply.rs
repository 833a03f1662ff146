//! `apply`: event + read model → read model. The only code that changes the read model,
//! used alike by live projection, rebuild and (later) "as of" replay, so a rebuild
//! reproduces the live model byte for byte.
//!
//! Pure: no clock (time comes from the event; effective time is the running maximum
//! kept in the model), no I/O beyond the [`KvMut`] it is handed.
//!
//! An event whose precondition no longer holds when it is applied — its writer saw an
//! older aggregate version, or a concurrent writer already made it impossible — is
//! *void*: it stays on the log as the fact that someone attempted it, its outcome
//! records why, and it changes nothing else. Every replica reaches the same verdict
//! because the verdict depends only on the log prefix.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::change::Change;
use super::events::{Event, EventData};
use super::model::{
    encode, history, keys, AccessPackage, ChangeRequest, Ended, Grant, Kv, KvMut, Link, Outcome, Party, Policy,
    Quarantined, ReadModel, Relationship, Request, RequestStatus, RightGrant, System, SystemUser, VoidReason,
};
use super::rejection::{Code, Rejection};

/// How far an event's own time may run ahead of the moment its log took it: clocks of
/// writers and brokers differ by seconds, never by this much.
pub const EVENT_TIME_AHEAD_MS_MAX: i64 = 5 * 60 * 1000;

/// Applies a record as it lies on the log: its event (see [`apply_appended`]), then
/// extends the hash chain over the exact bytes, `chain = SHA-256(previous chain ‖ index
/// ‖ bytes)`. Live projection and rebuild both go through here, so the chain is part of
/// the read model and of its digest. `appended` is when the log took the record, by the
/// log's own clock (the same for every reader), if the log keeps it.
pub fn apply_record<K: KvMut>(
    model: &mut K,
    index: u64,
    bytes: &[u8],
    event: &Event,
    appended: Option<DateTime<Utc>>,
) -> Result<(), Rejection> {
    let chain = next_chain(model, index, bytes);
    // Rules (a seal's) read the chain *before* this record, so it moves after `apply`.
    let verdict = apply_at(model, index, event, appended, Some(&chain));
    model.put(keys::META_CHAIN.to_vec(), chain.to_vec());
    verdict
}

/// Takes in a record that does not decode as an event (corrupt, schema-invalid, or of a
/// type or version this build does not know): it changes nothing, but it is not skipped
/// silently either. It is kept with its position and the reason, the position advances
/// past it, and the hash chain covers its bytes like any other record's.
pub fn quarantine<K: KvMut>(model: &mut K, index: u64, bytes: &[u8], reason: &str) {
    use sha2::{Digest, Sha256};
    assert_eq!(model.position(), index, "records are taken in log order, each exactly once");
    const PREVIEW_CHARS_MAX: usize = 200;
    let chain = next_chain(model, index, bytes);
    let entry = Quarantined {
        index,
        reason: reason.to_owned(),
        bytes: bytes.len() as u64,
        sha256: super::model::hex(&Sha256::digest(bytes)),
        preview: String::from_utf8_lossy(bytes).chars().take(PREVIEW_CHARS_MAX).collect(),
        chain: super::model::hex(&chain),
    };
    model.put(keys::quarantined(index), encode(&entry));
    model.put(keys::META_POSITION.to_vec(), (index + 1).to_be_bytes().to_vec());
    model.put(keys::META_CHAIN.to_vec(), chain.to_vec());
}

/// The hash chain after the record at `index`: SHA-256(chain before ‖ index ‖ bytes).
fn next_chain<K: KvMut>(model: &K, index: u64, bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(model.chain());
    h.update(index.to_be_bytes());
    h.update(bytes);
    h.finalize().into()
}

/// Applies the event at `position` (0-based) of a log that keeps no append times (and
/// so puts no bound on the event's own time); see [`apply_appended`].
pub fn apply<K: KvMut>(model: &mut K, position: u64, event: &Event) -> Result<(), Rejection> {
    apply_appended(model, position, event, None)
}

/// Applies the event at `position` (0-based) and advances the model to `position + 1`.
/// Returns the void reason if the event had no effect.
///
/// Effective time is `max(event time, previous effective time)`, so time never runs
/// backwards. An event whose own time is more than [`EVENT_TIME_AHEAD_MS_MAX`] after
/// `appended` (when its log took it) is void `time_out_of_range` and keeps the previous
/// effective time: no writer's clock, however wrong, can move the ledger's time.
pub fn apply_appended<K: KvMut>(
    model: &mut K,
    position: u64,
    event: &Event,
    appended: Option<DateTime<Utc>>,
) -> Result<(), Rejection> {
    apply_at(model, position, event, appended, None)
}

/// [`apply_appended`], recording `chain` (the hash chain after the event's record, when
/// the record's bytes are known) in the event's outcome.
fn apply_at<K: KvMut>(
    model: &mut K,
    position: u64,
    event: &Event,
    appended: Option<DateTime<Utc>>,
    chain: Option<&[u8; 32]>,
) -> Result<(), Rejection> {
    assert_eq!(model.position(), position, "events are applied in log order, each exactly once");
    let previous = model.effective_time();
    let ahead = appended.filter(|a| event.time > *a + chrono::Duration::milliseconds(EVENT_TIME_AHEAD_MS_MAX));
    let effective = match (ahead, previous) {
        (Some(appended), previous) => previous.unwrap_or(appended),
        (None, Some(previous)) if previous > event.time => previous,
        (None, _) => event.time,
    };
    debug_assert!(previous.is_none_or(|p| effective >= p), "effective time never runs backwards");
    let subject = event.data.subject();
    let version = model.version(&subject);

    let duplicate = model.event_index(&event.id);
    let verdict = match event.expected_version {
        // An event id names one fact; a replayed or re-imported copy changes nothing.
        _ if duplicate.is_some() => Err(Rejection::new(
            Code::DuplicateEvent,
            format!("event {} is already on the log at index {}", event.id, duplicate.unwrap_or_default()),
        )),
        _ if ahead.is_some() => Err(Rejection::new(
            Code::TimeOutOfRange,
            format!(
                "the event says {} but its log took it at {}: more than {} s ahead",
                event.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ahead.unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                EVENT_TIME_AHEAD_MS_MAX / 1000
            ),
        )),
        Some(expected) if expected != version => Err(Rejection::new(
            Code::VersionConflict,
            format!("{subject} is at version {version}, the writer expected {expected}"),
        )),
        // The rules, the same `decide` checked: a racing writer's or an imported event
        // that breaks one is void with the reason, identically on every replica.
        _ => super::rules::check(model, event, effective),
    };
    if duplicate.is_none() {
        model.put(keys::event(&event.id), position.to_be_bytes().to_vec());
    }
    if verdict.is_ok() {
        effect(&mut Versioned { inner: model, index: position }, event, effective);
        restream(model, position, event);
    }

    let outcome = Outcome {
        event_id: event.id,
        type_name: event.type_name().to_owned(),
        effective_time: effective,
        void: verdict.as_ref().err().map(VoidReason::from),
        recorded_time: event.time,
        actor: event.actor.clone(),
        on_behalf_of: event.on_behalf_of.clone(),
        subject: subject.clone(),
        chain: chain.map(|c| super::model::hex(c)),
    };
    let block = keys::outcome_block(position);
    let mut outcomes = model.get(&block).unwrap_or_default();
    super::model::outcomes::append(&mut outcomes, position, &encode(&outcome));
    model.put(block, outcomes);
    // Every event, void or not, is in the histories of its aggregate, client and actor.
    // The aggregate's entry also holds its version after this event: the version is
    // read from the last entry, so it costs no key of its own.
    let version_after = if verdict.is_ok() { version + 1 } else { version };
    model.put(keys::indexed(&keys::by_subject(&subject), position), version_after.to_be_bytes().to_vec());
    model.put(keys::indexed(&keys::by_actor(&event.actor.id), position), Vec::new());
    if let Some(client) = event.data.clients() {
        model.put(keys::indexed(&keys::by_client(client), position), Vec::new());
    }
    model.put(keys::META_POSITION.to_vec(), (position + 1).to_be_bytes().to_vec());
    model.put(keys::META_EFFECTIVE_TIME.to_vec(), encode(&effective));
    debug_assert_eq!(model.position(), position + 1);
    verdict
}

/// Passes writes through, writing a versioned record as its new version (see
/// [`history`]): the version is the record.
struct Versioned<'m, K: KvMut> {
    inner: &'m mut K,
    index: u64,
}

impl<K: KvMut> Kv for Versioned<'_, K> {
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.inner.raw_get(key)
    }
    fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.inner.raw_scan_prefix(prefix)
    }
    fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        self.inner.raw_last_between(floor, ceiling)
    }
}

impl<K: KvMut> KvMut for Versioned<'_, K> {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        debug_assert!(!Change::concerns(&key), "decision facts are written as typed changes");
        if history::is_versioned(&key) {
            self.inner.put(history::version_key(&key, self.index), history::encode_version(Some(&value)));
        } else {
            self.inner.put(key, value);
        }
    }
    fn delete(&mut self, key: Vec<u8>) {
        debug_assert!(!Change::concerns(&key), "decision facts are written as typed changes");
        if history::is_versioned(&key) {
            self.inner.put(history::version_key(&key, self.index), history::encode_version(None));
        } else {
            self.inner.delete(key);
        }
    }
    /// A decision fact is versioned like any record, and its typed change is noted.
    fn change(&mut self, change: Change) {
        let key = change.key();
        debug_assert!(history::is_versioned(&key), "decision facts are versioned");
        self.inner.put(history::version_key(&key, self.index), history::encode_version(change.value().as_deref()));
        self.inner.note(self.index, change);
    }
}

/// Moves a changed system user to the end of Register's stream: once, at `position`.
fn restream<K: KvMut>(model: &mut K, position: u64, event: &Event) {
    let Some(id) = event.data.system_user_changed() else { return };
    if let Some(previous) = model.system_user_sequence(&id) {
        debug_assert!(previous < position, "a system user's changes come in log order");
        model.delete(keys::system_user_stream_at(previous));
    }
    model.put(keys::system_user_stream_at(position), id.as_bytes().to_vec());
    model.put(keys::system_user_sequence(&id), position.to_be_bytes().to_vec());
}

/// The changes of an event whose preconditions hold.
fn effect<K: KvMut>(model: &mut K, event: &Event, at: DateTime<Utc>) {
    use EventData::*;
    let ended = || Ended { at, event_id: event.id, actor: event.actor.clone() };
    match &event.data {
        PartyRegistered(p) => {
            if let Some(old) = model.party(&p.org_no) {
                model.change(Change::PartyId(old.party_id, None));
                model.change(Change::PartyUuid(old.party_uuid, None));
            }
            let party = Party {
                org_no: p.org_no.clone(),
                party_id: p.party_id,
                party_uuid: p.party_uuid,
                name: p.name.clone(),
                event_id: event.id,
            };
            model.change(Change::PartyId(p.party_id, Some(p.org_no.clone())));
            model.change(Change::PartyUuid(p.party_uuid, Some(p.org_no.clone())));
            model.change(Change::Party(Arc::new(party)));
        }
        AccessPackageDefined(p) => {
            let pkg = AccessPackage {
                urn: p.urn.clone(),
                assignable: p.assignable,
                delegable: p.delegable,
                event_id: event.id,
            };
            model.put(keys::package(&p.urn), encode(&pkg));
        }
        ResourcePolicyPublished(p) => {
            let owner = model.policy(&p.resource_id).and_then(|old| old.owner).or_else(|| event.on_behalf_of.clone());
            let policy = Policy {
                resource_id: p.resource_id.clone(),
                title: p.title.clone(),
                rules: p.rules.clone(),
                minimum_authentication_level: p.minimum_authentication_level,
                owner,
                event_id: event.id,
            };
            model.change(Change::Policy(Arc::new(policy)));
        }
        SystemRegistered(d) | SystemRegisteredV2(d) => {
            let system = System { definition: d.clone(), registered: at, event_id: event.id, deleted: None };
            model.change(Change::System(Arc::new(system)));
        }
        SystemUpdated(d) | SystemUpdatedV2(d) => {
            let mut system: System = model.system(&d.system_id).expect("checked");
            system.definition = d.clone();
            system.event_id = event.id;
            model.change(Change::System(Arc::new(system)));
        }
        SystemDeleted(d) => {
            let mut system: System = model.system(&d.system_id).expect("checked");
            system.deleted = Some(ended());
            model.change(Change::System(Arc::new(system)));
        }
        RequestCreated(r) => {
            let request = Request {
                id: r.request_id,
                user_type: r.user_type,
                system_id: r.system_id.clone(),
                party_org_no: r.party_org_no.clone(),
                external_ref: r.external_ref.clone(),
                rights: r.rights.clone(),
                access_packages: r.access_packages.clone(),
                redirect_url: r.redirect_url.clone(),
                integration_title: r.integration_title.clone(),
                created: at,
                expires: r.expires,
                status: RequestStatus::New,
                event_id: event.id,
                decided: None,
                escalated: None,
            };
            model.put(keys::request(&r.request_id), encode(&request));
            model.put(keys::request_by_system(&r.system_id, &r.request_id), Vec::new());
            model.put(keys::request_by_party(&r.party_org_no, &r.request_id), Vec::new());
            model.put(
                keys::pending_request(&r.system_id, &r.party_org_no, &r.external_ref),
                r.request_id.as_bytes().to_vec(),
            );
        }
        RequestApproved(d) | RequestRejected(d) => {
            let status = if matches!(event.data, RequestApproved(_)) {
                RequestStatus::Accepted
            } else {
                RequestStatus::Rejected
            };
            decide_request(model, &d.request_id, status, ended());
        }
        RequestWithdrawn(d) => decide_request(model, &d.request_id, RequestStatus::Withdrawn, ended()),
        RequestEscalated(d) => {
            let mut request: Request = model.request(&d.request_id).expect("checked");
            request.escalated = Some(ended());
            model.put(keys::request(&d.request_id), encode(&request));
        }
        ChangeRequestCreated(c) => {
            let change = ChangeRequest {
                id: c.change_request_id,
                system_user_id: c.system_user_id,
                system_id: c.system_id.clone(),
                party_org_no: c.party_org_no.clone(),
                required_rights: c.required_rights.clone(),
                unwanted_rights: c.unwanted_rights.clone(),
                required_access_packages: c.required_access_packages.clone(),
                unwanted_access_packages: c.unwanted_access_packages.clone(),
                redirect_url: c.redirect_url.clone(),
                created: at,
                expires: c.expires,
                status: RequestStatus::New,
                event_id: event.id,
                decided: None,
            };
            model.put(keys::change_request(&c.change_request_id), encode(&change));
            model.put(keys::change_request_by_system(&c.system_id, &c.change_request_id), Vec::new());
        }
        ChangeRequestApproved(d) | ChangeRequestRejected(d) => {
            let status = if matches!(event.data, ChangeRequestApproved(_)) {
                RequestStatus::Accepted
            } else {
                RequestStatus::Rejected
            };
            decide_change_request(model, &d.change_request_id, status, ended());
        }
        ChangeRequestWithdrawn(d) => {
            decide_change_request(model, &d.change_request_id, RequestStatus::Withdrawn, ended())
        }
        SystemUserSelfDelegated(d) => {
            let mut user: SystemUser = model.system_user(&d.system_user_id).expect("checked");
            user.acts_for_owner = Some(event.id);
            model.change(Change::SystemUser(Arc::new(user)));
        }
        SystemUserSelfRevoked(d) => {
            let mut user: SystemUser = model.system_user(&d.system_user_id).expect("checked");
            user.acts_for_owner = None;
            model.change(Change::SystemUser(Arc::new(user)));
        }
        SystemUserRightsChanged(r) => {
            let mut user: SystemUser = model.system_user(&r.system_user_id).expect("checked");
            user.rights = r.rights.clone();
            user.access_packages = r.access_packages.clone();
            user.grants_event_id = Some(event.id);
            model.change(Change::SystemUser(Arc::new(user)));
        }
        SystemUserCreated(u) | SystemUserCreatedByOwner(u) => {
            let user = SystemUser {
                id: u.system_user_id,
                user_type: u.user_type,
                system_id: u.system_id.clone(),
                owner_org_no: u.owner_org_no.clone(),
                external_ref: u.external_ref.clone(),
                rights: u.rights.clone(),
                access_packages: u.access_packages.clone(),
                integration_title: u.integration_title.clone(),
                created: at,
                event_id: event.id,
                deleted: None,
                grants_event_id: None,
                acts_for_owner: None,
            };
            model.change(Change::SystemUser(Arc::new(user)));
            model.put(
                keys::live_system_user(&u.system_id, &u.owner_org_no, &u.external_ref),
                u.system_user_id.as_bytes().to_vec(),
            );
            model.put(keys::user_by_owner(&u.owner_org_no, &u.system_user_id), Vec::new());
            model.put(keys::user_by_system(&u.system_id, &u.system_user_id), Vec::new());
        }
        SystemUserDeleted(d) => {
            let mut user: SystemUser = model.system_user(&d.system_user_id).expect("checked");
            user.deleted = Some(ended());
            model.delete(keys::live_system_user(&user.system_id, &user.owner_org_no, &user.external_ref));
            model.delete(keys::user_by_owner(&user.owner_org_no, &user.id));
            model.delete(keys::user_by_system(&user.system_id, &user.id));
            // Its client links end through the explicit `ClientUnlinked` events that follow
            // this one in the same command, so each ended link has its own history entry.
            model.change(Change::SystemUser(Arc::new(user)));
        }
        ClientRelationshipGranted(g) => {
            let key = keys::relationship(&g.client_org_no, &g.facilitator_org_no);
            let mut rel: Relationship = model.record(&key).unwrap_or_else(|| Relationship {
                client_org_no: g.client_org_no.clone(),
                facilitator_org_no: g.facilitator_org_no.clone(),
                grants: Vec::new(),
                rights: Vec::new(),
            });
            for right in &g.rights {
                if !rel.rights.iter().any(|x| &x.right == right) {
                    rel.rights.push(RightGrant { right: right.clone(), since: at, event_id: event.id });
                }
            }
            for package in &g.access_packages {
                let already = rel.grants.iter().any(|x| x.role == g.role && &x.access_package == package);
                if !already {
                    rel.grants.push(Grant {
                        role: g.role,
                        access_package: package.clone(),
                        since: at,
                        event_id: event.id,
                    });
                }
            }
            model.put(keys::client_of(&g.facilitator_org_no, &g.client_org_no), Vec::new());
            model.change(Change::Relationship {
                client: g.client_org_no.clone(),
                facilitator: g.facilitator_org_no.clone(),
                relationship: Some(Arc::new(rel)),
            });
        }
        ClientRelationshipRevoked(r) => {
            let key = keys::relationship(&r.client_org_no, &r.facilitator_org_no);
            let mut rel: Relationship = model.record(&key).expect("checked");
            super::rules::revoke_from(&mut rel, r);
            let ended = rel.grants.is_empty() && rel.rights.is_empty();
            if ended {
                model.delete(keys::client_of(&r.facilitator_org_no, &r.client_org_no));
            }
            model.change(Change::Relationship {
                client: r.client_org_no.clone(),
                facilitator: r.facilitator_org_no.clone(),
                relationship: (!ended).then(|| Arc::new(rel)),
            });
        }
        ClientLinked(l) => {
            let link = Link {
                system_user_id: l.system_user_id,
                client_org_no: l.client_org_no.clone(),
                facilitator_org_no: l.facilitator_org_no.clone(),
                since: at,
                event_id: event.id,
                actor: event.actor.clone(),
                subset: l.subset(),
            };
            model.change(Change::Link {
                agent: l.system_user_id,
                client: l.client_org_no.clone(),
                link: Some(Arc::new(link)),
            });
            model.put(keys::agent_of_client(&l.client_org_no, &l.system_user_id), Vec::new());
        }
        ClientUnlinked(l) => {
            model.change(Change::Link { agent: l.system_user_id, client: l.client_org_no.clone(), link: None });
            model.delete(keys::agent_of_client(&l.client_org_no, &l.system_user_id));
        }
        // A seal changes no record; its outcome (applied or void) is the evidence.
        LedgerSealed(_) => {}
    }
}

fn decide_change_request<K: KvMut>(model: &mut K, id: &uuid::Uuid, status: RequestStatus, ended: Ended) {
    let mut change: ChangeRequest = model.change_request(id).expect("checked");
    change.status = status;
    change.decided = Some(ended);
    model.put(keys::change_request(id), encode(&change));
}

fn decide_request<K: KvMut>(model: &mut K, id: &uuid::Uuid, status: RequestStatus, ended: Ended) {
    let mut request: Request = model.request(id).expect("checked");
    request.status = status;
    request.decided = Some(ended);
    model.delete(keys::pending_request(&request.system_id, &request.party_org_no, &request.external_ref));
    model.put(keys::request(id), encode(&request));
}
