//! The sans-IO core as specifications: given events, when a command is decided, then
//! these events (or this refusal); and `apply` voiding the loser of a race the same way
//! on every replica. No files, no clock, no HTTP.

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use ledger::domain::decide::{NewChangeRequest, NewRequest};
use ledger::domain::events::*;
use ledger::domain::ids::*;
use ledger::domain::model::{digest, MemKv, ReadModel};
use ledger::domain::pdp::{evaluate, PartyRef, Query, Verdict};
use ledger::domain::{apply, decide, Authority, Code, Command, Context};

const VENDOR: &str = "310000019";
const FACILITATOR: &str = "310000027";
const CLIENT: &str = "310000035";

fn org(s: &str) -> OrgNo {
    OrgNo::parse(s).unwrap()
}
fn urn(s: &str) -> PackageUrn {
    PackageUrn::parse(&format!("urn:altinn:accesspackage:{s}")).unwrap()
}
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

/// A replica's read model and the log it was folded from.
struct World {
    model: MemKv,
    log: Vec<Event>,
    next_id: u128,
}

impl World {
    /// Given: a vendor, a facilitator, a client, the revisor package, a policy and
    /// Maestro's agent system.
    fn new() -> World {
        let mut w = World { model: MemKv::default(), log: Vec::new(), next_id: 1 };
        for (o, pid) in [(VENDOR, 1), (FACILITATOR, 2), (CLIENT, 3)] {
            w.given(
                Authority::Register,
                Command::RegisterParty(PartyRegistered {
                    org_no: org(o),
                    party_id: pid,
                    party_uuid: Uuid::from_u128(1000 + pid as u128),
                    name: o.to_owned(),
                }),
            );
        }
        w.given(
            Authority::Register,
            Command::DefineAccessPackage(AccessPackageDefined {
                urn: urn("revisormedarbeider"),
                assignable: false,
                delegable: true,
            }),
        );
        w.given(
            Authority::Organisation(org("310000124")),
            Command::PublishPolicy(ResourcePolicyPublished {
                resource_id: ResourceId::parse("ske-aksjonaerregister").unwrap(),
                title: Default::default(),
                rules: vec![PolicyRule {
                    access_package: Some(urn("revisormedarbeider")),
                    right: false,
                    actions: vec![Action::parse("write").unwrap()],
                }],
                minimum_authentication_level: None,
            }),
        );
        w.given(
            Authority::Organisation(org(VENDOR)),
            Command::RegisterSystem(SystemDefinition {
                system_id: SystemId::parse("310000019_maestro").unwrap(),
                vendor_org_no: org(VENDOR),
                name: [("nb".to_owned(), "Maestro".to_owned())].into(),
                description: Default::default(),
                rights: vec![],
                access_packages: vec![urn("revisormedarbeider")],
                client_ids: vec![],
                allowed_redirect_urls: vec![],
                is_visible: false,
            }),
        );
        w
    }

    fn when(&mut self, authority: Authority, command: Command) -> Result<Vec<Event>, ledger::domain::Rejection> {
        let mut counter = self.next_id;
        let mut new_id = || {
            counter += 1;
            Uuid::from_u128(counter)
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
                id: "someone".to_owned(),
            },
            authority,
            now: t0() + Duration::minutes(self.log.len() as i64),
            correlation_id: None,
            request_ttl: Duration::days(180),
            new_id: &mut new_id,
        };
        let result = decide(&command, &self.model, &mut ctx);
        self.next_id = counter;
        result
    }

    /// Appends events to the log and applies them; returns each one's void code.
    fn append(&mut self, events: Vec<Event>) -> Vec<Option<Code>> {
        events
            .into_iter()
            .map(|e| {
                let position = self.log.len() as u64;
                let verdict = apply(&mut self.model, position, &e);
                self.log.push(e);
                verdict.err().map(|r| r.code)
            })
            .collect()
    }

    fn given(&mut self, authority: Authority, command: Command) -> Vec<Event> {
        let events = self.when(authority, command).expect("given commands are valid");
        let verdicts = self.append(events.clone());
        assert!(verdicts.iter().all(Option::is_none), "given events apply");
        events
    }

    fn agent(&mut self, external_ref: &str) -> Uuid {
        let created = self.given(Authority::Organisation(org(VENDOR)), agent_request(Some(external_ref)));
        let EventData::RequestCreated(r) = &created[0].data else { panic!("a request") };
        let id = r.request_id;
        self.given(
            Authority::Organisation(org(FACILITATOR)),
            Command::ApproveRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Agent },
        );
        id
    }

    fn decision(&self, agent: Uuid, client: &str) -> Verdict {
        let q = Query {
            system_user: agent,
            action: Action::parse("write").unwrap(),
            resource: ResourceId::parse("ske-aksjonaerregister").unwrap(),
            party: PartyRef::OrgNo(org(client)),
        };
        evaluate(&self.model, &q).decision
    }

    fn digest(&self) -> String {
        digest(self.model.0.iter())
    }
}

/// Maestro asks Rett Revisjon for an agent system user carrying revisormedarbeider.
fn agent_request(external_ref: Option<&str>) -> Command {
    Command::CreateRequest(NewRequest {
        user_type: UserType::Agent,
        system_id: SystemId::parse("310000019_maestro").unwrap(),
        party_org_no: org(FACILITATOR),
        external_ref: external_ref.map(str::to_owned),
        rights: vec![],
        access_packages: vec![urn("revisormedarbeider")],
        redirect_url: None,
        integration_title: None,
    })
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.type_name()).collect()
}

fn revi(w: &mut World) {
    w.given(
        Authority::Register,
        Command::GrantRelationship(ClientRelationshipGranted {
            client_org_no: org(CLIENT),
            facilitator_org_no: org(FACILITATOR),
            role: Some(RegisterRole::Revi),
            access_packages: vec![],
            rights: vec![],
        }),
    );
}

fn facilitator() -> Authority {
    Authority::Organisation(org(FACILITATOR))
}

#[test]
fn approving_an_agent_request_creates_a_system_user_with_the_requests_id() {
    let mut w = World::new();
    let id = w.agent("x");
    let user = w.model.system_user(&id).expect("created");
    assert_eq!(user.user_type, UserType::Agent);
    assert_eq!(user.owner_org_no, org(FACILITATOR));
    // Then approving again is refused.
    let again = w.when(
        facilitator(),
        Command::ApproveRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Agent },
    );
    assert_eq!(again.unwrap_err().code, Code::RequestNotNew);
}

/// Given a pending agent request, when the facilitator's person escalates it, then one
/// `escalated` event; escalating again adds none; another organisation is refused; and
/// once the request is answered it can no longer be escalated.
#[test]
fn a_request_is_escalated_once_by_its_customer_while_it_is_new() {
    let mut w = World::new();
    let created = w.given(Authority::Organisation(org(VENDOR)), agent_request(Some("esc")));
    let EventData::RequestCreated(r) = &created[0].data else { panic!() };
    let id = r.request_id;
    let escalate =
        |party: &str| Command::EscalateRequest { request_id: id, party: org(party), user_type: UserType::Agent };
    let escalated = w.given(facilitator(), escalate(FACILITATOR));
    assert_eq!(types(&escalated), ["ledger.systemuserrequest.escalated.v1"]);
    assert!(w.model.request(&id).unwrap().escalated.is_some());
    assert!(w.when(facilitator(), escalate(FACILITATOR)).unwrap().is_empty(), "once is enough");
    let foreign = w.when(Authority::Organisation(org(VENDOR)), escalate(VENDOR));
    assert_eq!(foreign.unwrap_err().code, Code::NotRequestParty);
    w.given(
        facilitator(),
        Command::RejectRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Agent },
    );
    assert_eq!(w.when(facilitator(), escalate(FACILITATOR)).unwrap_err().code, Code::RequestNotNew);
}

#[test]
fn a_second_request_for_the_same_key_returns_the_pending_one() {
    let mut w = World::new();
    let cmd = agent_request(None);
    let first = w.given(Authority::Organisation(org(VENDOR)), cmd.clone());
    assert_eq!(types(&first), ["ledger.systemuserrequest.created.v2"]);
    let second = w.when(Authority::Organisation(org(VENDOR)), cmd).unwrap();
    assert!(second.is_empty(), "no duplicate: the pending request is the answer");
}

#[test]
fn deleting_an_agent_unlinks_every_client_with_the_deletion_as_cause() {
    let mut w = World::new();
    revi(&mut w);
    let agent = w.agent("x");
    w.given(facilitator(), Command::LinkClient { agent, client: org(CLIENT), subset: None });
    assert_eq!(w.decision(agent, CLIENT), Verdict::Permit);
    let events = w.given(
        facilitator(),
        Command::DeleteSystemUser { system_user_id: agent, party: org(FACILITATOR), user_type: UserType::Agent },
    );
    assert_eq!(types(&events), ["ledger.systemuser.deleted.v1", "ledger.client.unlinked.v1"]);
    let EventData::ClientUnlinked(u) = &events[1].data else { panic!() };
    assert_eq!(u.reason, UnlinkReason::SystemUserDeleted);
    assert_eq!(u.cause_event_id, Some(events[0].id));
    assert!(w.model.links_of(&agent).is_empty());
    assert_eq!(w.decision(agent, CLIENT), Verdict::NotApplicable);
}

#[test]
fn revoking_a_relationship_unlinks_the_agents_it_no_longer_supports() {
    let mut w = World::new();
    revi(&mut w);
    let agent = w.agent("x");
    w.given(facilitator(), Command::LinkClient { agent, client: org(CLIENT), subset: None });
    let events = w.given(
        Authority::Register,
        Command::RevokeRelationship(ClientRelationshipRevoked {
            client_org_no: org(CLIENT),
            facilitator_org_no: org(FACILITATOR),
            role: Some(RegisterRole::Revi),
            access_package: None,
            right: None,
        }),
    );
    assert_eq!(types(&events), ["ledger.clientrelationship.revoked.v2", "ledger.client.unlinked.v1"]);
    let EventData::ClientUnlinked(u) = &events[1].data else { panic!() };
    assert_eq!((u.reason, u.cause_event_id), (UnlinkReason::RelationshipRevoked, Some(events[0].id)));
    assert_eq!(w.decision(agent, CLIENT), Verdict::NotApplicable);
}

#[test]
fn approve_and_reject_decided_at_once_the_later_one_is_void() {
    let mut w = World::new();
    let created = w.given(Authority::Organisation(org(VENDOR)), agent_request(None));
    let EventData::RequestCreated(r) = &created[0].data else { panic!() };
    let id = r.request_id;
    // Two replicas decide against the same state…
    let approve = w
        .when(
            facilitator(),
            Command::ApproveRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Agent },
        )
        .unwrap();
    let reject = w
        .when(
            facilitator(),
            Command::RejectRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Agent },
        )
        .unwrap();
    // …and the log orders them: the first takes effect, the second is void.
    assert_eq!(w.append(approve), vec![None, None]);
    assert_eq!(w.append(reject), vec![Some(Code::VersionConflict)]);
    assert!(w.model.system_user(&id).is_some());
    let last = w.model.outcome(w.log.len() as u64 - 1).unwrap();
    assert_eq!(last.void.unwrap().code, "version_conflict");
}

#[test]
fn a_link_racing_the_agents_deletion_is_void() {
    let mut w = World::new();
    revi(&mut w);
    let agent = w.agent("x");
    let link = w.when(facilitator(), Command::LinkClient { agent, client: org(CLIENT), subset: None }).unwrap();
    let delete = w
        .when(
            facilitator(),
            Command::DeleteSystemUser { system_user_id: agent, party: org(FACILITATOR), user_type: UserType::Agent },
        )
        .unwrap();
    assert_eq!(w.append(delete), vec![None]);
    assert_eq!(w.append(link), vec![Some(Code::VersionConflict)]);
    assert!(w.model.links_of(&agent).is_empty(), "a deleted agent keeps no client");
}

#[test]
fn two_requests_for_one_key_decided_at_once_the_later_one_is_void() {
    let mut w = World::new();
    let cmd = agent_request(Some("same"));
    let a = w.when(Authority::Organisation(org(VENDOR)), cmd.clone()).unwrap();
    let b = w.when(Authority::Organisation(org(VENDOR)), cmd).unwrap();
    assert_ne!(a[0].subject, b[0].subject, "different request ids: no version can catch this");
    assert_eq!(w.append(a), vec![None]);
    assert_eq!(w.append(b), vec![Some(Code::RequestNotNew)], "the uniqueness invariant is re-checked on apply");
}

#[test]
fn a_replayed_event_changes_nothing() {
    let mut w = World::new();
    let replay = w.log[0].clone();
    // Records are kept as their versions (`H` keys): a replay must add none.
    let versions = |w: &World| -> Vec<_> {
        w.model.0.iter().filter(|(k, _)| k[0] == b'H').map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let before = versions(&w);
    assert!(!ledger::domain::model::Kv::scan_prefix(&w.model, b"P").is_empty(), "the replayed party is registered");
    assert_eq!(w.append(vec![replay]), vec![Some(Code::DuplicateEvent)]);
    assert_eq!(before, versions(&w));
}

#[test]
fn refolding_the_log_reproduces_the_read_model_exactly() {
    let mut w = World::new();
    revi(&mut w);
    let a = w.agent("a");
    let b = w.agent("b");
    w.given(facilitator(), Command::LinkClient { agent: a, client: org(CLIENT), subset: None });
    w.given(facilitator(), Command::LinkClient { agent: b, client: org(CLIENT), subset: None });
    let stale = w.when(facilitator(), Command::UnlinkClient { agent: a, client: org(CLIENT) }).unwrap();
    w.given(
        facilitator(),
        Command::DeleteSystemUser { system_user_id: a, party: org(FACILITATOR), user_type: UserType::Agent },
    );
    w.append(stale);
    let mut rebuilt = MemKv::default();
    for (i, e) in w.log.iter().enumerate() {
        let _ = apply(&mut rebuilt, i as u64, e);
    }
    assert_eq!(digest(rebuilt.0.iter()), w.digest());
    assert_eq!(rebuilt.position(), w.log.len() as u64);
}

#[test]
fn effective_time_never_goes_backwards() {
    let mut w = World::new();
    let mut events = w
        .when(
            Authority::Register,
            Command::DefineAccessPackage(AccessPackageDefined {
                urn: urn("skattegrunnlag"),
                assignable: true,
                delegable: true,
            }),
        )
        .unwrap();
    events[0].time = t0() - Duration::days(30);
    let before = w.model.effective_time().unwrap();
    w.append(events);
    assert_eq!(w.model.effective_time().unwrap(), before, "a late clock does not move time back");
}

#[test]
fn the_ledger_as_of_a_time_is_just_after_the_last_event_at_or_before_it() {
    use ledger::domain::model::history::position_at;
    // Given the six events of `World::new`, one a minute from t0, replayed with a record
    // that is no event (quarantined) between the third and the fourth.
    let w = World::new();
    let mut model = MemKv::default();
    for (i, event) in w.log.iter().enumerate() {
        if i == 3 {
            ledger::domain::quarantine(&mut model, 3, b"not an event", "does not decode");
        }
        let position = model.position();
        apply(&mut model, position, event).unwrap();
    }
    assert_eq!(model.position(), 7);
    let at = |minutes: i64, seconds: i64| {
        position_at(&model, t0() + Duration::minutes(minutes) + Duration::seconds(seconds))
    };
    // Then: before the first event nothing; at an event's time, just after it.
    assert_eq!(position_at(&model, t0() - Duration::seconds(1)), 0);
    assert_eq!(at(0, 0), 1);
    assert_eq!(at(2, 0), 3);
    // Between the third event and the fourth, the ledger is after the third: the
    // quarantined record behind it is not an event and does not count as one.
    assert_eq!(at(2, 30), 3);
    assert_eq!(at(3, 0), 5, "the fourth event sits at index 4, behind the quarantined record");
    assert_eq!(at(5, 0), 7);
    assert_eq!(at(600, 0), 7);
}

#[test]
fn a_request_cannot_be_approved_after_its_time_to_live_even_if_decided_before() {
    let mut w = World::new();
    let created = w.given(Authority::Organisation(org(VENDOR)), agent_request(None));
    let EventData::RequestCreated(r) = &created[0].data else { panic!() };
    let mut approve = w
        .when(
            facilitator(),
            Command::ApproveRequest { request_id: r.request_id, party: org(FACILITATOR), user_type: UserType::Agent },
        )
        .unwrap();
    // The approval reaches the log only after the request expired.
    for e in &mut approve {
        e.time = r.expires + Duration::seconds(1);
    }
    assert_eq!(w.append(approve)[0], Some(Code::RequestExpired));
}

#[test]
fn the_read_model_as_of_every_position_equals_a_refold_of_that_prefix() {
    use ledger::domain::model::history::{is_versioned, AsOf};
    use ledger::domain::model::Kv;
    let mut w = World::new();
    revi(&mut w);
    let a = w.agent("a");
    w.given(facilitator(), Command::LinkClient { agent: a, client: org(CLIENT), subset: None });
    w.given(
        Authority::Register,
        Command::RevokeRelationship(ClientRelationshipRevoked {
            client_org_no: org(CLIENT),
            facilitator_org_no: org(FACILITATOR),
            role: None,
            access_package: None,
            right: None,
        }),
    );
    revi(&mut w);
    w.given(facilitator(), Command::LinkClient { agent: a, client: org(CLIENT), subset: None });
    w.given(
        facilitator(),
        Command::DeleteSystemUser { system_user_id: a, party: org(FACILITATOR), user_type: UserType::Agent },
    );
    const VERSIONED: [u8; 17] =
        [b'P', b'p', b'u', b'A', b'R', b'S', b'Q', b'K', b'U', b'k', b'O', b'Y', b'q', b'C', b'F', b'L', b'l'];
    assert!(VERSIONED.iter().all(|kind| is_versioned(&[*kind])));
    let every_record = |model: &dyn Fn(u8) -> Vec<(Vec<u8>, Vec<u8>)>| -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all: Vec<_> = VERSIONED.iter().flat_map(|kind| model(*kind)).collect();
        all.sort();
        all
    };
    for position in 0..=w.log.len() as u64 {
        let mut prefix = MemKv::default();
        for (i, e) in w.log.iter().take(position as usize).enumerate() {
            let _ = apply(&mut prefix, i as u64, e);
        }
        let past = AsOf { base: &w.model, position };
        let expected = every_record(&|kind| prefix.scan_prefix(&[kind]));
        let seen = every_record(&|kind| past.scan_prefix(&[kind]));
        if position == w.log.len() as u64 {
            assert!(expected.len() > 10, "the scenario leaves records behind");
        }
        assert_eq!(seen, expected, "as of position {position}");
        for (k, v) in &expected {
            assert_eq!(past.get(k).as_ref(), Some(v), "point read as of {position}");
        }
    }
}

#[test]
fn an_approval_voided_by_a_racing_withdrawal_creates_no_system_user() {
    let mut w = World::new();
    let created = w.given(Authority::Organisation(org(VENDOR)), agent_request(Some("race")));
    let EventData::RequestCreated(r) = &created[0].data else { panic!() };
    let id = r.request_id;
    let approve = w
        .when(
            facilitator(),
            Command::ApproveRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Agent },
        )
        .unwrap();
    let withdraw = w.when(Authority::Organisation(org(VENDOR)), Command::WithdrawRequest { request_id: id }).unwrap();
    assert_eq!(w.append(withdraw), vec![None]);
    // The approval is void; the system user event after it must be void too, although
    // the withdrawal moved the aggregate's version to exactly what it expected.
    assert_eq!(w.append(approve), vec![Some(Code::VersionConflict), Some(Code::VersionConflict)]);
    assert!(w.model.system_user(&id).is_none());
}

/// Given a ledger whose log stamps each record with the time it took it, when an event
/// dated 9999 arrives (imported, or from a writer with a broken clock), then it is void
/// `time_out_of_range`, time stays where it was, and later events, an approval among
/// them, apply at their own time as if it had never come.
#[test]
fn an_event_dated_far_after_its_log_took_it_is_void_and_does_not_move_time() {
    use ledger::domain::{apply_appended, EVENT_TIME_AHEAD_MS_MAX};
    let mut w = World::new();
    let created = w.given(Authority::Organisation(org(VENDOR)), agent_request(Some("late")));
    let EventData::RequestCreated(r) = &created[0].data else { panic!() };
    let before = w.model.effective_time().unwrap();
    let taken = before + Duration::minutes(1);

    let mut poison = w
        .when(
            Authority::Register,
            Command::DefineAccessPackage(AccessPackageDefined {
                urn: urn("skattegrunnlag"),
                assignable: true,
                delegable: true,
            }),
        )
        .unwrap()
        .remove(0);
    poison.time = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
    let position = w.log.len() as u64;
    let verdict = apply_appended(&mut w.model, position, &poison, Some(taken));
    w.log.push(poison);
    assert_eq!(verdict.unwrap_err().code, Code::TimeOutOfRange);
    assert_eq!(w.model.effective_time().unwrap(), before, "the void event keeps the previous time");
    assert!(w.model.package(&urn("skattegrunnlag")).is_none(), "and changes nothing");

    // Within the allowed skew an event keeps its own time.
    let mut near = w
        .when(
            Authority::Organisation(org(FACILITATOR)),
            Command::ApproveRequest { request_id: r.request_id, party: org(FACILITATOR), user_type: UserType::Agent },
        )
        .unwrap();
    for e in &mut near {
        e.time = taken + Duration::milliseconds(EVENT_TIME_AHEAD_MS_MAX);
    }
    for e in near {
        let position = w.log.len() as u64;
        assert_eq!(apply_appended(&mut w.model, position, &e, Some(taken)), Ok(()), "the approval applies");
        w.log.push(e);
    }
    assert!(w.model.system_user(&r.request_id).is_some());
    assert_eq!(w.model.effective_time().unwrap(), taken + Duration::milliseconds(EVENT_TIME_AHEAD_MS_MAX));
}

/// An event as a foreign writer or an import would bring it: no decide behind it.
fn forged(authority: Authority, data: EventData) -> Event {
    let (kind, on_behalf_of) = match authority {
        Authority::Register => (ActorKind::Register, None),
        Authority::Operator => (ActorKind::Operator, None),
        Authority::Organisation(org) => (ActorKind::Person, Some(org)),
    };
    Event {
        id: Uuid::now_v7(),
        time: t0() + Duration::hours(1),
        subject: data.subject(),
        actor: Actor { kind, id: "forger".to_owned() },
        on_behalf_of,
        correlation_id: None,
        expected_version: None,
        data,
        written_as: None,
    }
}

/// Given the same ledger, when events that break a rule reach the log without `decide`
/// (imported, or from a foreign writer on a shared topic), then `apply` voids each with
/// the code `decide` gives the command that would have made it (or, where no command
/// could make it, `invalid_field`), and nothing changes.
#[test]
fn forged_events_that_break_a_rule_are_void_with_the_code_decide_gives() {
    let mut w = World::new();
    revi(&mut w);
    let agent = w.agent("a");
    let created = w.given(Authority::Organisation(org(VENDOR)), agent_request(Some("pending")));
    let EventData::RequestCreated(pending) = created[0].data.clone() else { panic!() };
    let system = SystemId::parse("310000019_maestro").unwrap();
    let other = Authority::Organisation(org("310000043"));
    let cases: Vec<(&str, Event, Code)> = vec![
        (
            "a party reusing another organisation's party id",
            forged(
                Authority::Register,
                EventData::PartyRegistered(PartyRegistered {
                    org_no: org("310000051"),
                    party_id: 2,
                    party_uuid: Uuid::from_u128(99),
                    name: "Thief AS".to_owned(),
                }),
            ),
            Code::PartyIdInUse,
        ),
        (
            "a party registered by an organisation, not the register",
            forged(
                Authority::Organisation(org(VENDOR)),
                EventData::PartyRegistered(PartyRegistered {
                    org_no: org("310000051"),
                    party_id: 9,
                    party_uuid: Uuid::from_u128(98),
                    name: "Self AS".to_owned(),
                }),
            ),
            Code::NotEntitled,
        ),
        (
            "a system deleted by another organisation than its vendor",
            forged(other.clone(), EventData::SystemDeleted(SystemDeleted { system_id: system.clone() })),
            Code::NotSystemVendor,
        ),
        (
            "a request approved by another organisation than its customer",
            forged(
                other.clone(),
                EventData::RequestApproved(RequestDecided {
                    request_id: pending.request_id,
                    party_org_no: org("310000043"),
                }),
            ),
            Code::NotRequestParty,
        ),
        (
            "a system user carrying more than its request asked",
            forged(
                facilitator(),
                EventData::SystemUserCreated(SystemUserCreated {
                    system_user_id: agent,
                    user_type: UserType::Agent,
                    system_id: system.clone(),
                    owner_org_no: org(FACILITATOR),
                    external_ref: "a".to_owned(),
                    rights: vec![],
                    access_packages: vec![urn("revisormedarbeider"), urn("skattegrunnlag")],
                    integration_title: None,
                }),
            ),
            Code::InvalidField,
        ),
        (
            "a client linked by an organisation that does not own the agent",
            forged(
                other.clone(),
                EventData::ClientLinked(ClientLinked {
                    system_user_id: agent,
                    client_org_no: org(CLIENT),
                    facilitator_org_no: org(FACILITATOR),
                    access_packages: None,
                    rights: None,
                }),
            ),
            Code::NotOwner,
        ),
        (
            "a relationship granted by its facilitator, not the client",
            forged(
                facilitator(),
                EventData::ClientRelationshipGranted(ClientRelationshipGranted {
                    client_org_no: org(CLIENT),
                    facilitator_org_no: org(FACILITATOR),
                    role: None,
                    access_packages: vec![urn("revisormedarbeider")],
                    rights: vec![],
                }),
            ),
            Code::NotEntitled,
        ),
        (
            "a seal by someone who is no operator",
            forged(
                Authority::Register,
                EventData::LedgerSealed(LedgerSealed { position: 0, chain_hash: String::new() }),
            ),
            Code::NotEntitled,
        ),
    ];
    for (what, event, code) in cases {
        let before =
            (w.model.party_by_id(2).map(|p| p.org_no), w.model.system_user(&agent), w.model.link(&agent, &org(CLIENT)));
        assert_eq!(w.append(vec![event]), vec![Some(code)], "{what}");
        let after =
            (w.model.party_by_id(2).map(|p| p.org_no), w.model.system_user(&agent), w.model.link(&agent, &org(CLIENT)));
        assert_eq!(before, after, "{what} changed the read model");
    }
    // The organisation whose party id was reused still answers for it.
    assert_eq!(w.model.party_by_id(2).unwrap().org_no, org(FACILITATOR));
    // And decide refuses the commands that would make such events, with the same codes.
    let thief = PartyRegistered {
        org_no: org("310000051"),
        party_id: 2,
        party_uuid: Uuid::from_u128(99),
        name: "T".to_owned(),
    };
    assert_eq!(w.when(Authority::Register, Command::RegisterParty(thief)).unwrap_err().code, Code::PartyIdInUse);
    let link = Command::LinkClient { agent, client: org(CLIENT), subset: None };
    assert_eq!(w.when(other, link).unwrap_err().code, Code::NotOwner);
}

// ---- change requests ------------------------------------------------------------------

fn right(resource: &str) -> Right {
    Right { resource: ResourceId::parse(resource).unwrap(), action: None }
}

fn rights_decision(w: &World, user: Uuid, resource: &str) -> ledger::domain::pdp::Decision {
    let q = Query {
        system_user: user,
        action: Action::parse("write").unwrap(),
        resource: ResourceId::parse(resource).unwrap(),
        party: PartyRef::OrgNo(org(CLIENT)),
    };
    evaluate(&w.model, &q)
}

/// Given the world, Regnskap's system with rights on `r-one` and `r-two` (each a policy
/// that a right permits), and a standard system user of the client holding `r-one`.
fn standard_user(w: &mut World) -> Uuid {
    for resource in ["r-one", "r-two"] {
        w.given(
            Authority::Organisation(org("310000124")),
            Command::PublishPolicy(ResourcePolicyPublished {
                resource_id: ResourceId::parse(resource).unwrap(),
                title: Default::default(),
                rules: vec![PolicyRule {
                    access_package: None,
                    right: true,
                    actions: vec![Action::parse("write").unwrap()],
                }],
                minimum_authentication_level: None,
            }),
        );
    }
    w.given(
        Authority::Organisation(org(VENDOR)),
        Command::RegisterSystem(SystemDefinition {
            system_id: SystemId::parse("310000019_regnskap").unwrap(),
            vendor_org_no: org(VENDOR),
            name: [("nb".to_owned(), "Regnskap".to_owned())].into(),
            description: Default::default(),
            rights: vec![right("r-one"), right("r-two")],
            access_packages: vec![],
            client_ids: vec![],
            allowed_redirect_urls: vec![],
            is_visible: true,
        }),
    );
    let created = w.given(
        Authority::Organisation(org(VENDOR)),
        Command::CreateRequest(NewRequest {
            user_type: UserType::Standard,
            system_id: SystemId::parse("310000019_regnskap").unwrap(),
            party_org_no: org(CLIENT),
            external_ref: None,
            rights: vec![right("r-one")],
            access_packages: vec![],
            redirect_url: None,
            integration_title: None,
        }),
    );
    let EventData::RequestCreated(r) = &created[0].data else { panic!("a request") };
    let id = r.request_id;
    w.given(
        Authority::Organisation(org(CLIENT)),
        Command::ApproveRequest { request_id: id, party: org(CLIENT), user_type: UserType::Standard },
    );
    id
}

fn change(id: u128, user: Uuid, required: &[&str], unwanted: &[&str]) -> Command {
    Command::CreateChangeRequest(NewChangeRequest {
        change_request_id: Uuid::from_u128(id),
        system_user_id: user,
        required_rights: required.iter().map(|r| right(r)).collect(),
        unwanted_rights: unwanted.iter().map(|r| right(r)).collect(),
        required_access_packages: vec![],
        unwanted_access_packages: vec![],
        redirect_url: None,
    })
}

fn client() -> Authority {
    Authority::Organisation(org(CLIENT))
}

/// Given a standard system user holding `r-one`, when its vendor asks to add `r-two` and
/// take `r-one` away and the client approves, then the approval and the new rights are
/// on the log, decisions follow them (with the change as their proof), and the same
/// correlation id again adds nothing.
#[test]
fn an_approved_change_request_changes_what_the_system_user_may_do() {
    let mut w = World::new();
    let user = standard_user(&mut w);
    assert_eq!(rights_decision(&w, user, "r-one").decision, Verdict::Permit);
    assert_eq!(rights_decision(&w, user, "r-two").decision, Verdict::NotApplicable);

    let created = w.given(Authority::Organisation(org(VENDOR)), change(7001, user, &["r-two"], &["r-one"]));
    assert_eq!(types(&created), ["ledger.systemuserchangerequest.created.v1"]);
    assert_eq!(created[0].subject, format!("systemuser/{user}"), "one lifecycle with its system user");
    let again = w.when(Authority::Organisation(org(VENDOR)), change(7001, user, &["r-two"], &["r-one"])).unwrap();
    assert!(again.is_empty(), "the same correlation id is the same change request");
    assert_eq!(rights_decision(&w, user, "r-two").decision, Verdict::NotApplicable, "asked is not given");

    let approve = Command::ApproveChangeRequest { change_request_id: Uuid::from_u128(7001), party: org(CLIENT) };
    let approved = w.given(client(), approve.clone());
    assert_eq!(types(&approved), ["ledger.systemuserchangerequest.approved.v1", "ledger.systemuser.rightschanged.v1"]);
    let EventData::SystemUserRightsChanged(changed) = &approved[1].data else { panic!() };
    assert_eq!(changed.rights, vec![right("r-two")]);
    assert_eq!(rights_decision(&w, user, "r-one").decision, Verdict::NotApplicable);
    let now = rights_decision(&w, user, "r-two");
    assert_eq!(now.decision, Verdict::Permit);
    assert!(now.granted_by.iter().any(|g| g.event_id == approved[1].id), "the change is the proof");
    assert_eq!(w.when(client(), approve).unwrap_err().code, Code::RequestNotNew);
}

/// Refusals, each with the code a caller can act on, and nothing emitted.
#[test]
fn change_requests_are_refused_where_the_rules_say() {
    let mut w = World::new();
    let user = standard_user(&mut w);
    let agent = w.agent("a");
    let vendor = Authority::Organisation(org(VENDOR));
    let cases: Vec<(&str, Authority, Command, Code)> = vec![
        ("an agent's rights", vendor.clone(), change(1, agent, &[], &["r-one"]), Code::UserTypeMismatch),
        (
            "another vendor",
            Authority::Organisation(org("310000043")),
            change(2, user, &["r-two"], &[]),
            Code::NotSystemVendor,
        ),
        (
            "a right the system cannot give",
            vendor.clone(),
            change(3, user, &["ske-aksjonaerregister"], &[]),
            Code::RightNotInSystem,
        ),
        ("nothing asked", vendor.clone(), change(4, user, &[], &[]), Code::EmptyRequest),
        (
            "an unknown system user",
            vendor.clone(),
            change(5, Uuid::from_u128(404), &["r-two"], &[]),
            Code::SystemUserNotFound,
        ),
    ];
    for (what, authority, command, code) in cases {
        assert_eq!(w.when(authority, command).unwrap_err().code, code, "{what}");
    }
    // The correlation id is the change request's: used for one system user, it is not
    // free for another.
    w.given(vendor.clone(), change(6, user, &["r-two"], &[]));
    let second = standard_user_of_vendor_again(&mut w);
    assert_eq!(
        w.when(vendor.clone(), change(6, second, &["r-two"], &[])).unwrap_err().code,
        Code::ChangeRequestIdInUse
    );
    // Only the owner answers; a withdrawn request is no longer answered.
    let approve = Command::ApproveChangeRequest { change_request_id: Uuid::from_u128(6), party: org(FACILITATOR) };
    assert_eq!(w.when(facilitator(), approve).unwrap_err().code, Code::NotRequestParty);
    w.given(vendor, Command::WithdrawChangeRequest { change_request_id: Uuid::from_u128(6) });
    let approve = Command::ApproveChangeRequest { change_request_id: Uuid::from_u128(6), party: org(CLIENT) };
    assert_eq!(w.when(client(), approve).unwrap_err().code, Code::RequestNotNew);
}

/// A second standard system user of the same system, for the facilitator.
fn standard_user_of_vendor_again(w: &mut World) -> Uuid {
    let created = w.given(
        Authority::Organisation(org(VENDOR)),
        Command::CreateRequest(NewRequest {
            user_type: UserType::Standard,
            system_id: SystemId::parse("310000019_regnskap").unwrap(),
            party_org_no: org(FACILITATOR),
            external_ref: None,
            rights: vec![right("r-one")],
            access_packages: vec![],
            redirect_url: None,
            integration_title: None,
        }),
    );
    let EventData::RequestCreated(r) = &created[0].data else { panic!("a request") };
    let id = r.request_id;
    w.given(
        facilitator(),
        Command::ApproveRequest { request_id: id, party: org(FACILITATOR), user_type: UserType::Standard },
    );
    id
}

/// Given a change request, when its approval and the system user's deletion are decided
/// against the same state and the deletion reaches the log first, then the approval and
/// its rights change are void, on every replica alike.
#[test]
fn an_approval_racing_the_system_users_deletion_is_void() {
    let mut w = World::new();
    let user = standard_user(&mut w);
    w.given(Authority::Organisation(org(VENDOR)), change(9, user, &["r-two"], &[]));
    let approve = w
        .when(client(), Command::ApproveChangeRequest { change_request_id: Uuid::from_u128(9), party: org(CLIENT) })
        .unwrap();
    let delete = w
        .when(
            client(),
            Command::DeleteSystemUser { system_user_id: user, party: org(CLIENT), user_type: UserType::Standard },
        )
        .unwrap();
    assert_eq!(w.append(delete), vec![None]);
    assert_eq!(w.append(approve), vec![Some(Code::VersionConflict), Some(Code::VersionConflict)]);
    assert_eq!(w.model.system_user(&user).unwrap().rights, vec![right("r-one")]);
}

/// A rights change no approved change request explains is void, whoever writes it.
#[test]
fn a_rights_change_without_its_approval_is_void() {
    let mut w = World::new();
    let user = standard_user(&mut w);
    w.given(Authority::Organisation(org(VENDOR)), change(11, user, &["r-two"], &[]));
    let forged_change = forged(
        client(),
        EventData::SystemUserRightsChanged(SystemUserRightsChanged {
            system_user_id: user,
            owner_org_no: org(CLIENT),
            rights: vec![right("r-one"), right("r-two")],
            access_packages: vec![],
            change_request_id: Uuid::from_u128(11),
        }),
    );
    assert_eq!(w.append(vec![forged_change]), vec![Some(Code::VersionConflict)]);
    assert_eq!(rights_decision(&w, user, "r-two").decision, Verdict::NotApplicable);
}

// ---- what an owner does without a vendor's request ---------------------------------------

/// Given Regnskap's system, when the client makes a system user for it itself, then one
/// `createdbyowner` event with everything the system gives, under its org number; the
/// same again is refused, as is another organisation making it for the client.
#[test]
fn an_owner_makes_a_standard_system_user_without_a_request() {
    let mut w = World::new();
    standard_user(&mut w); // publishes the policies and registers Regnskap's system
    let make = |party: &str| Command::CreateSystemUserByOwner {
        party: org(party),
        system_id: SystemId::parse("310000019_regnskap").unwrap(),
        integration_title: Some("Vår regnskap".to_owned()),
    };
    let made = w.given(Authority::Organisation(org(FACILITATOR)), make(FACILITATOR));
    assert_eq!(types(&made), ["ledger.systemuser.createdbyowner.v1"]);
    let EventData::SystemUserCreatedByOwner(u) = &made[0].data else { panic!() };
    assert_eq!((u.rights.clone(), u.external_ref.as_str()), (vec![right("r-one"), right("r-two")], FACILITATOR));
    let user = w.model.system_user(&u.system_user_id).expect("made");
    assert_eq!(user.user_type, UserType::Standard);
    let again = w.when(Authority::Organisation(org(FACILITATOR)), make(FACILITATOR));
    assert_eq!(again.unwrap_err().code, Code::SystemUserExists);
    let for_another = w.when(Authority::Organisation(org(VENDOR)), make(FACILITATOR));
    assert_eq!(for_another.unwrap_err().code, Code::NotOwner);
}

/// Given an agent of the facilitator carrying a package a standard system user may also
/// hold, when the facilitator delegates its own packages to it, then the agent acts for
/// the facilitator (the delegation is the proof) until the facilitator revokes it.
#[test]
fn an_owner_lets_its_own_agent_act_for_it() {
    let mut w = World::new();
    w.given(
        Authority::Register,
        Command::DefineAccessPackage(AccessPackageDefined { urn: urn("skatt"), assignable: true, delegable: true }),
    );
    w.given(
        Authority::Organisation(org("310000124")),
        Command::PublishPolicy(ResourcePolicyPublished {
            resource_id: ResourceId::parse("r-skatt").unwrap(),
            title: Default::default(),
            rules: vec![PolicyRule {
                access_package: Some(urn("skatt")),
                right: false,
                actions: vec![Action::parse("write").unwrap()],
            }],
            minimum_authentication_level: None,
        }),
    );
    w.given(
        Authority::Organisation(org(VENDOR)),
        Command::UpdateSystem(SystemDefinition {
            system_id: SystemId::parse("310000019_maestro").unwrap(),
            vendor_org_no: org(VENDOR),
            name: [("nb".to_owned(), "Maestro".to_owned())].into(),
            description: Default::default(),
            rights: vec![],
            access_packages: vec![urn("revisormedarbeider"), urn("skatt")],
            client_ids: vec![],
            allowed_redirect_urls: vec![],
            is_visible: false,
        }),
    );
    let revisor = w.agent("revisor");
    let created = w.given(
        Authority::Organisation(org(VENDOR)),
        Command::CreateRequest(NewRequest {
            user_type: UserType::Agent,
            system_id: SystemId::parse("310000019_maestro").unwrap(),
            party_org_no: org(FACILITATOR),
            external_ref: Some("skatt".to_owned()),
            rights: vec![],
            access_packages: vec![urn("skatt")],
            redirect_url: None,
            integration_title: None,
        }),
    );
    let EventData::RequestCreated(r) = &created[0].data else { panic!() };
    let skatt = r.request_id;
    w.given(
        facilitator(),
        Command::ApproveRequest { request_id: skatt, party: org(FACILITATOR), user_type: UserType::Agent },
    );
    let decide = |w: &World| {
        let q = Query {
            system_user: skatt,
            action: Action::parse("write").unwrap(),
            resource: ResourceId::parse("r-skatt").unwrap(),
            party: PartyRef::OrgNo(org(FACILITATOR)),
        };
        evaluate(&w.model, &q)
    };
    assert_eq!(decide(&w).decision, Verdict::NotApplicable, "not before the owner delegates");

    let delegate = |id: Uuid| Command::DelegateToOwnAgent { system_user_id: id, party: org(FACILITATOR) };
    let delegated = w.given(facilitator(), delegate(skatt));
    assert_eq!(types(&delegated), ["ledger.systemuser.selfdelegated.v1"]);
    let now = decide(&w);
    assert_eq!(now.decision, Verdict::Permit);
    assert!(now.granted_by.iter().any(|g| g.event_id == delegated[0].id), "the delegation is the proof");
    assert!(w.when(facilitator(), delegate(skatt)).unwrap().is_empty(), "once is enough");
    // An agent carrying a package no standard system user may hold cannot act for its owner.
    assert_eq!(w.when(facilitator(), delegate(revisor)).unwrap_err().code, Code::PackageNotAssignable);

    let revoked =
        w.given(facilitator(), Command::RevokeFromOwnAgent { system_user_id: skatt, party: org(FACILITATOR) });
    assert_eq!(types(&revoked), ["ledger.systemuser.selfrevoked.v1"]);
    assert_eq!(decide(&w).decision, Verdict::NotApplicable);
}

#[test]
fn a_rule_added_in_a_later_event_version_leaves_older_events_as_they_were_answered() {
    let mut w = World::new();
    let vendor = Authority::Organisation(org(VENDOR));
    let def = |client_ids: &[&str], is_visible: bool| SystemDefinition {
        system_id: SystemId::parse("310000019_old").unwrap(),
        vendor_org_no: org(VENDOR),
        name: [("nb".to_owned(), "Old".to_owned())].into(),
        description: Default::default(),
        rights: vec![],
        access_packages: vec![urn("revisormedarbeider")],
        client_ids: client_ids.iter().map(|c| c.to_string()).collect(),
        allowed_redirect_urls: vec![],
        is_visible,
    };
    // Given Altinn's rules (version 2): a client id twice, a package meant for clients on
    // a visible system, are refused.
    let refused = w.when(vendor.clone(), Command::RegisterSystem(def(&["c", "C"], true)));
    assert_eq!(refused.unwrap_err().code, Code::DuplicateClientId);
    let written = w.when(vendor, Command::RegisterSystem(def(&["c"], false))).unwrap();
    assert_eq!(types(&written), ["ledger.system.registered.v2"]);

    // When the same definition comes as a version-1 event, as logs written before hold
    // it, then it applies as it did then; as version 2 it is void.
    let mut old = written[0].clone();
    old.data = EventData::SystemRegistered(def(&["c", "C"], true));
    let mut new = old.clone();
    new.id = Uuid::from_u128(0xbad);
    new.data = EventData::SystemRegisteredV2(def(&["c", "C"], true));
    assert_eq!(w.append(vec![new]), [Some(Code::DuplicateClientId)]);
    assert_eq!(w.append(vec![old]), [None]);
}

/// Given a published policy, when its service owner publishes it again with a title,
/// then the title is kept in Altinn's three languages only: another language or a blank
/// text is refused and nothing is written.
#[test]
fn a_policy_title_takes_nb_nn_and_en() {
    let mut w = World::new();
    let owner = Authority::Organisation(org("310000124"));
    let resource = ResourceId::parse("ske-aksjonaerregister").unwrap();
    let publish = |title: &[(&str, &str)]| {
        Command::PublishPolicy(ResourcePolicyPublished {
            resource_id: resource.clone(),
            title: title.iter().map(|(l, t)| (l.to_string(), t.to_string())).collect(),
            rules: vec![PolicyRule {
                access_package: Some(urn("revisormedarbeider")),
                right: false,
                actions: vec![Action::parse("write").unwrap()],
            }],
            minimum_authentication_level: None,
        })
    };
    for bad in [&[("se", "Aksjonærregisteret")][..], &[("nb", "  ")][..], &[("en", "a\u{7}b")][..]] {
        let refused = w.when(owner.clone(), publish(bad)).unwrap_err();
        assert_eq!(refused.code, Code::InvalidField, "{bad:?}");
    }
    assert!(w.model.policy(&resource).unwrap().title.is_empty(), "nothing written by a refusal");
    w.given(owner, publish(&[("nb", "Aksjonærregisteret"), ("en", "Shareholder register")]));
    let title = w.model.policy(&resource).unwrap().title;
    assert_eq!(title.get("nb").map(String::as_str), Some("Aksjonærregisteret"));
    assert_eq!(title.get("en").map(String::as_str), Some("Shareholder register"));
}

/// Given a system with a single right, when a vendor asks for an agent with that right,
/// then today's request (v2) is taken — a limited agent — while the same request as a
/// v1 record (a log written before v2) is void as v1 answered it: agents carried
/// packages only. An older log replays as it was answered.
#[test]
fn an_agent_request_with_rights_is_held_to_the_rules_of_its_version() {
    let mut w = World::new();
    let right = Right { resource: ResourceId::parse("ske-aksjonaerregister").unwrap(), action: None };
    w.given(
        Authority::Organisation(org(VENDOR)),
        Command::UpdateSystem(SystemDefinition {
            system_id: SystemId::parse("310000019_maestro").unwrap(),
            vendor_org_no: org(VENDOR),
            name: [("nb".to_owned(), "Maestro".to_owned())].into(),
            description: Default::default(),
            rights: vec![right.clone()],
            access_packages: vec![urn("revisormedarbeider")],
            client_ids: vec![],
            allowed_redirect_urls: vec![],
            is_visible: false,
        }),
    );
    let limited = Command::CreateRequest(NewRequest {
        rights: vec![right],
        access_packages: vec![],
        ..match agent_request(Some("limited")) {
            Command::CreateRequest(r) => r,
            _ => unreachable!(),
        }
    });
    let events = w.when(Authority::Organisation(org(VENDOR)), limited).expect("a limited agent may be asked for");
    assert_eq!(types(&events), ["ledger.systemuserrequest.created.v2"]);
    // The same record as a ledger before v2 wrote it.
    let mut record: serde_json::Value = serde_json::from_slice(&events[0].encode()).unwrap();
    record["type"] = "ledger.systemuserrequest.created.v1".into();
    record["dataschema"] = schema_uri("ledger.systemuserrequest.created.v1").into();
    let v1 = Event::decode(&serde_json::to_vec(&record).unwrap()).unwrap();
    assert_eq!(v1.data, events[0].data, "one payload, two versions");

    let mut older = World::new();
    older.model = w.model.clone();
    older.log = w.log.clone();
    assert_eq!(older.append(vec![v1]), [Some(Code::RightsNotAllowedForAgent)], "void under v1's rule");
    assert_eq!(w.append(events), [None], "applied under v2's");
}
