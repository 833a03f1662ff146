//! The event contract: the Rust event types and the JSON Schemas in `schemas/` agree
//! both ways. Every type has a schema and every schema a type; every event serialises
//! to JSON its schema accepts; the schema's properties are exactly the fields Rust
//! writes, its required ones exactly those Rust always writes; and what a schema
//! refuses, the decoder refuses too. The decision log's entries, which are no events,
//! are held to their own schema (`schemas/decisions/`) the same way. Older types (v1 of
//! a type now at v2) keep their schemas; their records read as the current version, keep
//! their type, and are never written again.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use ledger::domain::events::*;
use ledger::domain::ids::*;

fn schema(name: &str) -> Value {
    let path = format!("{}/schemas/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).expect("schema compiles")
}

fn org(s: &str) -> OrgNo {
    OrgNo::parse(s).unwrap()
}
fn urn(s: &str) -> PackageUrn {
    PackageUrn::parse(&format!("urn:altinn:accesspackage:{s}")).unwrap()
}
fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// One example per type with every optional field present, and one with none.
fn examples() -> Vec<(EventData, EventData)> {
    let sys = SystemId::parse("310000019_maestro").unwrap();
    let right =
        Right { resource: ResourceId::parse("ske-mva").unwrap(), action: Some(Action::parse("write").unwrap()) };
    let def = SystemDefinition {
        system_id: sys.clone(),
        vendor_org_no: org("310000019"),
        name: BTreeMap::from([("nb".to_owned(), "Maestro".to_owned())]),
        description: BTreeMap::new(),
        rights: vec![right.clone()],
        access_packages: vec![urn("skattegrunnlag")],
        client_ids: vec!["c".to_owned()],
        allowed_redirect_urls: vec!["https://x.example/".to_owned()],
        is_visible: true,
    };
    let created = RequestCreated {
        request_id: id(1),
        user_type: UserType::Standard,
        system_id: sys.clone(),
        party_org_no: org("310000027"),
        external_ref: "ref".to_owned(),
        rights: vec![right.clone()],
        access_packages: vec![urn("skattegrunnlag")],
        redirect_url: Some("https://x.example/".to_owned()),
        integration_title: Some("title".to_owned()),
        expires: Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap(),
    };
    let user = SystemUserCreated {
        system_user_id: id(1),
        user_type: UserType::Agent,
        system_id: sys.clone(),
        owner_org_no: org("310000027"),
        external_ref: "ref".to_owned(),
        rights: vec![],
        access_packages: vec![urn("skattegrunnlag")],
        integration_title: Some("title".to_owned()),
    };
    let change = ChangeRequestCreated {
        change_request_id: id(3),
        system_user_id: id(1),
        system_id: sys.clone(),
        party_org_no: org("310000027"),
        required_rights: vec![Right { resource: ResourceId::parse("ske-mva").unwrap(), action: None }],
        unwanted_rights: vec![Right {
            resource: ResourceId::parse("old").unwrap(),
            action: Some(Action::parse("read").unwrap()),
        }],
        required_access_packages: vec![urn("skattegrunnlag")],
        unwanted_access_packages: vec![],
        redirect_url: Some("https://vendor.example/done".to_owned()),
        expires: Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap(),
    };
    let unlinked = ClientUnlinked {
        system_user_id: id(1),
        client_org_no: org("310000035"),
        facilitator_org_no: org("310000027"),
        reason: UnlinkReason::SystemUserDeleted,
        cause_event_id: Some(id(9)),
    };
    let both = |d: EventData| (d.clone(), d);
    vec![
        both(EventData::PartyRegistered(PartyRegistered {
            org_no: org("310000019"),
            party_id: 1,
            party_uuid: id(2),
            name: "M".to_owned(),
        })),
        both(EventData::AccessPackageDefined(AccessPackageDefined {
            urn: urn("skattegrunnlag"),
            assignable: true,
            delegable: true,
        })),
        (
            EventData::ResourcePolicyPublished(ResourcePolicyPublished {
                resource_id: ResourceId::parse("ske-mva").unwrap(),
                title: [("nb", "Merverdiavgift"), ("nn", "Meirverdiavgift"), ("en", "Value added tax")]
                    .map(|(l, t)| (l.to_owned(), t.to_owned()))
                    .into(),
                rules: vec![
                    PolicyRule {
                        access_package: Some(urn("skattegrunnlag")),
                        right: false,
                        actions: vec![Action::parse("read").unwrap()],
                    },
                    PolicyRule { access_package: None, right: true, actions: vec![Action::parse("write").unwrap()] },
                ],
                minimum_authentication_level: Some(3),
            }),
            EventData::ResourcePolicyPublished(ResourcePolicyPublished {
                resource_id: ResourceId::parse("r").unwrap(),
                title: Default::default(),
                rules: vec![],
                minimum_authentication_level: None,
            }),
        ),
        both(EventData::SystemRegistered(def.clone())),
        both(EventData::SystemUpdated(def.clone())),
        both(EventData::SystemRegisteredV2(def.clone())),
        both(EventData::SystemUpdatedV2(def)),
        both(EventData::SystemDeleted(SystemDeleted { system_id: sys.clone() })),
        (
            EventData::RequestCreated(created.clone()),
            EventData::RequestCreated(RequestCreated { redirect_url: None, integration_title: None, ..created }),
        ),
        both(EventData::RequestApproved(RequestDecided { request_id: id(1), party_org_no: org("310000027") })),
        both(EventData::RequestRejected(RequestDecided { request_id: id(1), party_org_no: org("310000027") })),
        both(EventData::RequestWithdrawn(RequestWithdrawn { request_id: id(1) })),
        both(EventData::RequestEscalated(RequestDecided { request_id: id(1), party_org_no: org("310000027") })),
        (
            EventData::SystemUserCreated(user.clone()),
            EventData::SystemUserCreated(SystemUserCreated { integration_title: None, ..user.clone() }),
        ),
        both(EventData::SystemUserDeleted(SystemUserDeleted { system_user_id: id(1), owner_org_no: org("310000027") })),
        (
            EventData::ChangeRequestCreated(change.clone()),
            EventData::ChangeRequestCreated(ChangeRequestCreated {
                redirect_url: None,
                unwanted_rights: vec![],
                required_access_packages: vec![],
                ..change
            }),
        ),
        both(EventData::ChangeRequestApproved(ChangeRequestDecided {
            change_request_id: id(3),
            system_user_id: id(1),
            party_org_no: org("310000027"),
        })),
        both(EventData::ChangeRequestRejected(ChangeRequestDecided {
            change_request_id: id(3),
            system_user_id: id(1),
            party_org_no: org("310000027"),
        })),
        both(EventData::ChangeRequestWithdrawn(ChangeRequestWithdrawn {
            change_request_id: id(3),
            system_user_id: id(1),
        })),
        (
            EventData::SystemUserCreatedByOwner(SystemUserCreated { user_type: UserType::Standard, ..user.clone() }),
            EventData::SystemUserCreatedByOwner(SystemUserCreated {
                user_type: UserType::Standard,
                integration_title: None,
                ..user.clone()
            }),
        ),
        both(EventData::SystemUserSelfDelegated(SystemUserSelfDelegated {
            system_user_id: id(1),
            owner_org_no: org("310000027"),
            access_packages: vec![urn("skattegrunnlag")],
        })),
        both(EventData::SystemUserSelfRevoked(SystemUserSelfRevoked {
            system_user_id: id(1),
            owner_org_no: org("310000027"),
        })),
        both(EventData::SystemUserRightsChanged(SystemUserRightsChanged {
            system_user_id: id(1),
            owner_org_no: org("310000027"),
            rights: vec![Right { resource: ResourceId::parse("ske-mva").unwrap(), action: None }],
            access_packages: vec![urn("skattegrunnlag")],
            change_request_id: id(3),
        })),
        (
            EventData::ClientRelationshipGranted(ClientRelationshipGranted {
                client_org_no: org("310000035"),
                facilitator_org_no: org("310000027"),
                role: Some(RegisterRole::Revi),
                access_packages: vec![urn("ansvarlig-revisor")],
                rights: vec![right.clone()],
            }),
            EventData::ClientRelationshipGranted(ClientRelationshipGranted {
                client_org_no: org("310000035"),
                facilitator_org_no: org("310000027"),
                role: None,
                access_packages: vec![],
                rights: vec![],
            }),
        ),
        (
            EventData::ClientRelationshipRevoked(ClientRelationshipRevoked {
                client_org_no: org("310000035"),
                facilitator_org_no: org("310000027"),
                role: Some(RegisterRole::Regn),
                access_package: Some(urn("skattegrunnlag")),
                right: Some(right.clone()),
            }),
            EventData::ClientRelationshipRevoked(ClientRelationshipRevoked {
                client_org_no: org("310000035"),
                facilitator_org_no: org("310000027"),
                role: None,
                access_package: None,
                right: None,
            }),
        ),
        (
            EventData::ClientLinked(ClientLinked {
                system_user_id: id(1),
                client_org_no: org("310000035"),
                facilitator_org_no: org("310000027"),
                access_packages: Some(vec![urn("skattegrunnlag")]),
                rights: Some(vec![right.clone()]),
            }),
            EventData::ClientLinked(ClientLinked {
                system_user_id: id(1),
                client_org_no: org("310000035"),
                facilitator_org_no: org("310000027"),
                access_packages: None,
                rights: None,
            }),
        ),
        (
            EventData::ClientUnlinked(unlinked.clone()),
            EventData::ClientUnlinked(ClientUnlinked { cause_event_id: None, ..unlinked }),
        ),
        both(EventData::LedgerSealed(LedgerSealed { position: 7, chain_hash: "ab".repeat(32) })),
    ]
}

fn event(data: EventData) -> Event {
    Event {
        id: id(42),
        time: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        subject: data.subject(),
        actor: Actor { kind: ActorKind::Person, id: "person-1".to_owned() },
        on_behalf_of: Some(org("310000027")),
        correlation_id: Some("c-1".to_owned()),
        expected_version: Some(3),
        data,
        written_as: None,
    }
}

#[test]
fn every_type_has_a_schema_and_every_schema_a_type() {
    let dir = format!("{}/schemas", env!("CARGO_MANIFEST_DIR"));
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        // Subdirectories hold schemas of records that are not ledger events
        // (`schemas/decisions/`: the decision log's entries).
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|f| f != "cloudevent.json")
        .map(|f| f.strip_suffix(".json").expect("only .json files in schemas/").to_owned())
        .collect();
    let current: BTreeSet<String> = EVENT_TYPES.iter().map(|t| t.to_string()).collect();
    let older: BTreeSet<String> = upcast_types().map(str::to_owned).collect();
    assert!(current.is_disjoint(&older), "a type is either current or upcast, never both");
    let types: BTreeSet<String> = current.union(&older).cloned().collect();
    assert_eq!(files, types, "schemas/ and the Rust catalogue (current and upcast types) differ");
    let examples: BTreeSet<String> = examples().iter().map(|(e, _)| e.type_name().to_owned()).collect();
    assert_eq!(examples, current, "the contract test must have an example of every type");
    let upcast: BTreeSet<String> = older_records().iter().map(|(ty, _, _)| ty.to_string()).collect();
    assert_eq!(upcast, older, "the contract test must have an older record of every upcast type");
    for t in types.iter().map(String::as_str) {
        assert_eq!(schema(t)["$id"], schema_uri(t), "{t}: $id must be the dataschema URI");
    }
}

#[test]
fn every_event_serialises_to_json_its_schemas_accept() {
    let envelope = validator(&schema("cloudevent"));
    for (full, minimal) in examples() {
        for data in [full, minimal] {
            let bytes = event(data).encode();
            let json: Value = serde_json::from_slice(&bytes).unwrap();
            let ty = json["type"].as_str().unwrap().to_owned();
            let errors: Vec<String> = envelope.iter_errors(&json).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{ty} envelope: {errors:?}");
            let data_validator = validator(&schema(&ty));
            let errors: Vec<String> = data_validator.iter_errors(&json["data"]).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{ty} data {}: {errors:?}", json["data"]);
            // And it reads back as the same event.
            assert_eq!(Event::decode(&bytes).unwrap().encode(), bytes);
        }
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn schemas_name_exactly_the_fields_rust_writes() {
    for (full, minimal) in examples() {
        let ty = full.type_name();
        let s = schema(ty);
        let full_json: Value = serde_json::from_slice(&event(full).encode()).unwrap();
        let minimal_json: Value = serde_json::from_slice(&event(minimal).encode()).unwrap();
        assert_eq!(keys(&s["properties"]), keys(&full_json["data"]), "{ty}: properties vs fields");
        let required: BTreeSet<String> =
            s["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
        assert_eq!(required, keys(&minimal_json["data"]), "{ty}: required vs always-written fields");
        assert_eq!(s["additionalProperties"], false, "{ty}: schemas are closed");
    }
}

#[test]
fn what_a_schema_refuses_the_decoder_refuses() {
    for (full, _) in examples() {
        let ty = full.type_name();
        let data_validator = validator(&schema(ty));
        let good: Value = serde_json::from_slice(&event(full).encode()).unwrap();
        let mut extra = good.clone();
        extra["data"]["unexpected"] = Value::from(1);
        let mut missing = good.clone();
        let first_required = schema(ty)["required"][0].as_str().unwrap().to_owned();
        missing["data"].as_object_mut().unwrap().remove(&first_required);
        for (what, bad) in [("an unknown field", extra), ("a missing required field", missing)] {
            assert!(!data_validator.is_valid(&bad["data"]), "{ty}: schema accepts {what}");
            let bytes = serde_json::to_vec(&bad).unwrap();
            assert!(Event::decode(&bytes).is_err(), "{ty}: decoder accepts {what}");
        }
    }
}

/// A record of each older type as a ledger of that time wrote it, and the event it
/// reads as today.
fn older_records() -> Vec<(&'static str, Value, EventData)> {
    let rules = json!([{"accessPackage": "urn:altinn:accesspackage:skattegrunnlag", "actions": ["read"]}]);
    let (client, facilitator) = (org("310000035"), org("310000027"));
    let created = json!({"requestId": id(1), "userType": "agent", "systemId": "310000019_maestro",
        "partyOrgNo": "310000027", "externalRef": "ref", "rights": [],
        "accessPackages": ["urn:altinn:accesspackage:skattegrunnlag"], "expires": "2026-03-02T09:00:00Z"});
    vec![
        (
            "ledger.systemuserrequest.created.v1",
            created.clone(),
            EventData::RequestCreated(serde_json::from_value(created).unwrap()),
        ),
        (
            "ledger.clientrelationship.granted.v1",
            json!({"clientOrgNo": "310000035", "facilitatorOrgNo": "310000027", "role": "REVI",
                "accessPackages": ["urn:altinn:accesspackage:ansvarlig-revisor"]}),
            EventData::ClientRelationshipGranted(ClientRelationshipGranted {
                client_org_no: client.clone(),
                facilitator_org_no: facilitator.clone(),
                role: Some(RegisterRole::Revi),
                access_packages: vec![urn("ansvarlig-revisor")],
                rights: vec![],
            }),
        ),
        (
            "ledger.clientrelationship.revoked.v1",
            json!({"clientOrgNo": "310000035", "facilitatorOrgNo": "310000027",
                "accessPackage": "urn:altinn:accesspackage:skattegrunnlag"}),
            EventData::ClientRelationshipRevoked(ClientRelationshipRevoked {
                client_org_no: client.clone(),
                facilitator_org_no: facilitator.clone(),
                role: None,
                access_package: Some(urn("skattegrunnlag")),
                right: None,
            }),
        ),
        (
            "ledger.client.linked.v1",
            json!({"systemUserId": id(1), "clientOrgNo": "310000035", "facilitatorOrgNo": "310000027"}),
            EventData::ClientLinked(ClientLinked {
                system_user_id: id(1),
                client_org_no: client,
                facilitator_org_no: facilitator,
                access_packages: None,
                rights: None,
            }),
        ),
        (
            "ledger.resourcepolicy.published.v1",
            json!({"resourceId": "ske-mva", "rules": rules, "minimumAuthenticationLevel": 3}),
            EventData::ResourcePolicyPublished(ResourcePolicyPublished {
                resource_id: ResourceId::parse("ske-mva").unwrap(),
                title: Default::default(),
                rules: serde_json::from_value(rules).unwrap(),
                minimum_authentication_level: Some(3),
            }),
        ),
    ]
}

fn older_record(ty: &str, data: &Value) -> Value {
    let current: Value = serde_json::from_slice(&event(examples()[0].0.clone()).encode()).unwrap();
    let mut record = current;
    record["type"] = Value::from(ty);
    record["dataschema"] = Value::from(schema_uri(ty));
    record["data"] = data.clone();
    record
}

#[test]
fn an_older_record_reads_as_its_current_version_and_keeps_its_type() {
    for (ty, data, expected) in older_records() {
        assert!(validator(&schema(ty)).is_valid(&data), "{ty}: the example is not a record of that time");
        let mut record = older_record(ty, &data);
        record["subject"] = Value::from(expected.subject());
        let event = Event::decode(&serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(event.data, expected, "{ty}: upcast payload");
        assert_eq!(event.type_name(), ty, "{ty}: an upcast event still says what its record is");
        assert_eq!(event.written_as, Some(ty));
        assert_ne!(event.data.type_name(), ty, "{ty}: reads as its current version");
        // What the current version writes of it is what the record says: a history's
        // `changed` shows an older record truthfully.
        assert_eq!(event.data.to_json(), data, "{ty}: the upcast payload renders as the record's data");
        // What the older schema refuses, its upcaster refuses: a member of a later
        // version in an older record is a forgery, not an upgrade (a v1 request has no
        // later member: its v2 changed a rule, not the shape).
        let later = ["title", "rights", "right", "accessPackages"].into_iter().find(|m| {
            let newer = schema(expected.type_name());
            newer["properties"].get(*m).is_some() && schema(ty)["properties"].get(*m).is_none()
        });
        for extra in ["unexpected"].into_iter().chain(later) {
            let mut bad = record.clone();
            bad["data"][extra] = json!({"nb": "x"});
            assert!(!validator(&schema(ty)).is_valid(&bad["data"]), "{ty}: schema accepts {extra}");
            assert!(Event::decode(&serde_json::to_vec(&bad).unwrap()).is_err(), "{ty}: upcaster accepts {extra}");
        }
    }
}

#[test]
#[should_panic(expected = "never encoded again")]
fn an_upcast_event_is_never_written_again() {
    let (ty, data, expected) = older_records().remove(0);
    let mut record = older_record(ty, &data);
    record["subject"] = Value::from(expected.subject());
    Event::decode(&serde_json::to_vec(&record).unwrap()).unwrap().encode();
}

#[test]
fn unknown_types_and_foreign_envelopes_do_not_decode() {
    let good: Value = serde_json::from_slice(&event(examples()[0].0.clone()).encode()).unwrap();
    let mut unknown = good.clone();
    unknown["type"] = Value::from("ledger.party.registered.v9");
    unknown["dataschema"] = Value::from(schema_uri("ledger.party.registered.v9"));
    assert!(matches!(Event::decode(&serde_json::to_vec(&unknown).unwrap()), Err(DecodeError::UnknownType(_))));
    let mut wrong_subject = good.clone();
    wrong_subject["subject"] = Value::from("party/310000027");
    assert!(Event::decode(&serde_json::to_vec(&wrong_subject).unwrap()).is_err());
    let mut bad_org = good;
    bad_org["data"]["orgNo"] = Value::from("310000018");
    assert!(Event::decode(&serde_json::to_vec(&bad_org).unwrap()).is_err(), "check digits are checked on decode");
    assert!(Event::decode(b"not json").is_err());
}

mod decision_entries {
    //! The decision log's record body and `schemas/decisions/ledger.decision.v1.json`.
    use super::*;
    use ledger::decisions::{Answer, Caller, Endpoint, Entry, Party, ENTRY_TYPE};

    fn entry_schema() -> Value {
        schema(&format!("decisions/{ENTRY_TYPE}"))
    }

    fn caller(org: Option<&str>) -> Caller {
        Caller { role: "pdp".to_owned(), subject: "skatteetaten-pep".to_owned(), org: org.map(str::to_owned) }
    }

    /// Every shape an entry takes: each endpoint, answer and party form; with and
    /// without a question, a reason and as-of.
    fn entries() -> Vec<Entry> {
        let time = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap();
        let whole = |party: Party, decision: Answer, reason: Option<&str>, as_of: bool| Entry {
            id: id(1),
            time,
            endpoint: Endpoint::Xacml,
            caller: caller(Some("974761076")),
            system_user: Some(id(2)),
            action: Some("write".to_owned()),
            resource: Some("ske-mva-rapportering".to_owned()),
            party: Some(party),
            decision,
            reason: reason.map(str::to_owned),
            position: 41,
            as_of,
        };
        let unreadable = Entry {
            id: id(3),
            time,
            endpoint: Endpoint::Authorize,
            caller: caller(None),
            system_user: None,
            action: None,
            resource: None,
            party: None,
            decision: Answer::Indeterminate,
            reason: Some("no subject".to_owned()),
            position: 0,
            as_of: false,
        };
        vec![
            whole(Party::OrgNo("310000043".to_owned()), Answer::Permit, None, false),
            whole(Party::PartyId(50002), Answer::NotApplicable, Some("the right"), true),
            Entry { endpoint: Endpoint::Native, ..whole(Party::PartyUuid(id(4)), Answer::Permit, None, false) },
            unreadable,
        ]
    }

    fn as_written(entry: &Entry) -> Value {
        serde_json::to_value(entry).unwrap()
    }

    #[test]
    fn every_entry_serialises_to_json_its_schema_accepts_and_reads_back() {
        let validator = validator(&entry_schema());
        for entry in entries() {
            let json = as_written(&entry);
            let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{json}: {errors:?}");
            assert_eq!(serde_json::from_value::<Entry>(json).unwrap(), entry);
        }
    }

    #[test]
    fn the_schema_names_exactly_the_members_an_entry_writes() {
        let s = entry_schema();
        let written: BTreeSet<String> = entries().iter().flat_map(|e| keys(&as_written(e))).collect();
        assert_eq!(keys(&s["properties"]), written, "properties vs members written");
        let always: BTreeSet<String> = entries()
            .iter()
            .map(|e| keys(&as_written(e)))
            .reduce(|a, b| a.intersection(&b).cloned().collect())
            .unwrap();
        let required: BTreeSet<String> =
            s["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
        assert_eq!(required, always, "required vs members always written");
        assert_eq!(s["$id"], format!("urn:delegation-ledger:schema:{ENTRY_TYPE}"));
    }

    #[test]
    fn what_the_schema_refuses_the_entry_decoder_refuses() {
        let validator = validator(&entry_schema());
        let good = as_written(&entries()[0]);
        let mut unknown = good.clone();
        unknown["extra"] = Value::from(1);
        let mut no_position = good.clone();
        no_position.as_object_mut().unwrap().remove("position");
        let mut bad_answer = good.clone();
        bad_answer["decision"] = Value::from("Deny");
        let mut two_parties = good.clone();
        two_parties["party"]["partyId"] = Value::from(50002);
        for bad in [unknown, no_position, bad_answer, two_parties] {
            assert!(!validator.is_valid(&bad), "the schema accepts {bad}");
            assert!(serde_json::from_value::<Entry>(bad.clone()).is_err(), "the decoder reads {bad}");
        }
    }
}

#[test]
fn a_type_family_is_its_name_without_the_version() {
    assert_eq!(family("ledger.client.linked.v2"), "ledger.client.linked");
    assert_eq!(family("ledger.client.linked.v12"), "ledger.client.linked");
    for unversioned in ["ledger.client.linked", "ledger.client.linked.v", "ledger.client.linked.vx"] {
        assert_eq!(family(unversioned), unversioned);
    }
}
