//! The ledger on Kafka, against the real Kafka-protocol broker the test command starts:
//! replicas that agree, read-your-writes across replicas, races settled by void events,
//! safe-topic checks, moving a ledger from the embedded log, and broker outages.

mod common;

use chrono::Utc;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Barrier};

use common::kafka::*;
use common::*;
use ledger::auth::{DevKey, Role};
use ledger::domain::decide::NewRequest;
use ledger::domain::events::{ActorKind, ClientRelationshipGranted, EventData, SystemDefinition, UserType};
use ledger::domain::ids::{OrgNo, PackageUrn, RegisterRole, SystemId};
use ledger::domain::model::ReadModel;
use ledger::domain::{Authority, Command};
use ledger::ledger::{Caller, Ledger, WriteError};

struct Tokens(DevKey);

impl Tokens {
    fn new(keys: &Path) -> Tokens {
        Tokens(DevKey::load(keys).expect("the first replica created the dev key"))
    }
    fn mint(&self, role: Role, org: Option<&str>) -> String {
        let org = org.map(|o| OrgNo::parse(o).unwrap());
        let person = org.as_ref().map(|o| format!("person-{}-{o}", role.as_str()));
        self.0.mint(role, org.as_ref(), person.as_deref(), Utc::now().timestamp(), 600)
    }
}

fn import_fixture(brokers: &str, topic: &str) {
    let out = ledger_cli(&["import", "--kafka", brokers, "--topic", topic, "--create-topic", FIXTURE]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn xacml_decision(r: &Replica, token: &str, su: &str, party: &str, min_position: u64) -> String {
    let (status, body) = r.call(
        "POST",
        "/authorization/api/v1/decision",
        token,
        Some(&xacml_request(su, "write", "ske-aksjonaerregister", party)),
        Some(min_position),
    );
    assert_eq!(status, 200, "{body}");
    body["response"][0]["decision"].as_str().unwrap().to_owned()
}

#[test]
fn two_replicas_on_one_topic_decide_alike_after_scenario_10() {
    let brokers = brokers();
    let topic = new_topic();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    import_fixture(&brokers, &topic);
    let a = Replica::start(&brokers, &topic, &dir.path().join("a"), &keys, &[]);
    let b = Replica::start(&brokers, &topic, &dir.path().join("b"), &keys, &[]);
    let t = Tokens::new(&keys);
    let (register, pdp, operator) =
        (t.mint(Role::Register, None), t.mint(Role::Pdp, None), t.mint(Role::Operator, None));

    // Scenario 10, steps 1-5, all through replica A.
    for (client, role) in [(KUNDE_A, "REVI"), (KUNDE_B, "REGN")] {
        a.ok(
            "POST",
            "/v1/client-relationships",
            &register,
            Some(&json!({"client": client, "facilitator": RETT_REVISJON, "role": role})),
        );
    }
    a.ok(
        "POST",
        "/v1/client-relationships",
        &t.mint(Role::Admin, Some(KUNDE_C)),
        Some(&json!({"client": KUNDE_C, "facilitator": RETT_REVISJON, "accessPackages": [pkg("skattegrunnlag")]})),
    );
    let vendor = t.mint(Role::Vendor, Some(MAESTRO));
    let packages = ["revisormedarbeider", "skattegrunnlag", "regnskapsforer-med-signeringsrettighet"];
    a.ok(
        "POST",
        &format!("{AUTHN}/systemregister/vendor"),
        &vendor,
        Some(&json!({"id": "310000019_maestro", "vendor": {"ID": "0192:310000019"},
            "name": {"nb": "Maestro"}, "description": {"nb": "Maestro"}, "isVisible": false,
            "accessPackages": packages.iter().map(|p| json!({"urn": pkg(p)})).collect::<Vec<_>>()})),
    );
    let admin = t.mint(Role::Admin, Some(RETT_REVISJON));
    let client_admin = t.mint(Role::ClientAdmin, Some(RETT_REVISJON));
    let mut agents = Vec::new();
    for p in packages {
        let r = a.ok(
            "POST",
            &format!("{AUTHN}/systemuser/request/vendor/agent"),
            &vendor,
            Some(&json!({"systemId": "310000019_maestro", "partyOrgNo": RETT_REVISJON, "externalRef": p, "accessPackages": [{"urn": pkg(p)}]})),
        );
        let id = r["id"].as_str().unwrap().to_owned();
        let party = fixture_party_id(RETT_REVISJON);
        a.ok("POST", &format!("{AUTHN}/systemuser/request/agent/{party}/{id}/approve"), &admin, None);
        agents.push(id);
    }
    let mut last = 0;
    for (agent, client) in [(&agents[0], KUNDE_A), (&agents[1], KUNDE_C), (&agents[2], KUNDE_B)] {
        last = a.write(
            "POST",
            &format!("{AUTHN}/enduser/systemuser/clients?agent={agent}&client={}", u(client)),
            &client_admin,
            None,
        );
    }

    // Steps 6-10 on replica B, which reads its writes through Ledger-Min-Position.
    assert_eq!(xacml_decision(&b, &pdp, &agents[0], KUNDE_A, last), "Permit");
    assert_eq!(xacml_decision(&b, &pdp, &agents[1], KUNDE_C, last), "Permit");
    assert_eq!(xacml_decision(&b, &pdp, &agents[2], KUNDE_B, last), "Permit");
    assert_eq!(xacml_decision(&b, &pdp, &agents[0], KUNDE_B, last), "NotApplicable");

    // A write on B is seen on A.
    let party = fixture_party_id(RETT_REVISJON);
    last = b.write("DELETE", &format!("{AUTHN}/systemuser/agent/{party}/{}", agents[1]), &admin, None);
    assert_eq!(xacml_decision(&a, &pdp, &agents[1], KUNDE_C, last), "NotApplicable");

    let (sa, sb) = (a.status(&operator, last), b.status(&operator, last));
    assert_eq!(sa["projectedPosition"], sb["projectedPosition"]);
    assert_eq!(sa["readModelDigest"], sb["readModelDigest"], "replicas on one topic hold the same read model");
    assert_eq!(sa["log"], format!("kafka:{topic}"));

    let auditor = t.mint(Role::Auditor, None);
    // The deleted agent's history on replica A, what each event changed read back from
    // the broker (the read model keeps no copy): its client, and the deletion as the
    // cause of the unlink.
    let history = a.ok("GET", &format!("/v1/audit/system-users/{}/history", agents[1]), &auditor, None);
    let changes = history["data"].as_array().unwrap();
    let linked = changes.iter().find(|e| e["type"] == "ledger.client.linked.v2").expect("the link");
    assert_eq!(linked["changed"]["clientOrgNo"], KUNDE_C, "{history}");
    let unlinked = changes.iter().find(|e| e["type"] == "ledger.client.unlinked.v1").expect("the unlink");
    assert_eq!(unlinked["changed"]["reason"], "system-user-deleted", "{history}");
    assert_eq!(unlinked["cause"]["type"], "ledger.systemuser.deleted.v1", "{history}");

    // Both replicas recorded their decisions on the decision topic: an auditor asking
    // either one reads all five, and each reproduces at its position.
    // Each replica ships its decisions from its own disk to the topic a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let logged = loop {
        let logged = a.ok("GET", "/v1/audit/decisions", &auditor, None);
        if logged["data"].as_array().unwrap().len() >= 5 || std::time::Instant::now() > deadline {
            break logged;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // On the topic in the order the replicas shipped them; by their own time, as given.
    let mut entries = logged["data"].as_array().unwrap().clone();
    entries.sort_by_key(|e| e["time"].as_str().unwrap().to_owned());
    let decided: Vec<&str> = entries.iter().map(|e| e["decision"].as_str().unwrap()).collect();
    assert_eq!(decided, ["Permit", "Permit", "Permit", "NotApplicable", "NotApplicable"], "{logged}");
    for entry in logged["data"].as_array().unwrap() {
        let again = a.ok("GET", entry["reproduce"].as_str().unwrap(), &auditor, None);
        assert_eq!(again["same"], true, "{again}");
    }
    assert_eq!(b.ok("GET", "/v1/audit/decisions", &auditor, None)["data"], logged["data"]);

    // The decision topic keeps the retention it was made with: a replica started with
    // another one is refused, not run with a retention other than the one it states.
    let mut other = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["serve", "--listen", "127.0.0.1:0", "--kafka", &brokers, "--topic", &topic])
        .args(["--decision-retention-days", "7", "--data"])
        .arg(dir.path().join("c"))
        .arg("--keys")
        .arg(&keys)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let exited = loop {
        if let Some(status) = other.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "a replica with another retention must not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut refusal = String::new();
    std::io::Read::read_to_string(&mut other.stderr.take().unwrap(), &mut refusal).unwrap();
    assert!(!exited.success());
    assert!(refusal.contains("retention.ms") && refusal.contains(&format!("{topic}.decisions")), "{refusal}");
}

// ---- races, decided against the same state on two replicas -----------------------------

fn caller(kind: ActorKind, authority: Authority) -> Caller {
    Caller { actor: ledger::domain::events::Actor { kind, id: "test".to_owned() }, authority, correlation_id: None }
}
fn org(s: &str) -> OrgNo {
    OrgNo::parse(s).unwrap()
}
fn urn(s: &str) -> PackageUrn {
    PackageUrn::parse(&pkg(s)).unwrap()
}
fn vendor() -> Caller {
    caller(ActorKind::Vendor, Authority::Organisation(org(MAESTRO)))
}
fn facilitator() -> Caller {
    caller(ActorKind::Person, Authority::Organisation(org(RETT_REVISJON)))
}

/// Two replicas (separate read models) on one fresh topic holding the fixture, Maestro's
/// system, and Kunde A as Rett Revisjon's REVI client.
fn two_replicas() -> (tempfile::TempDir, Ledger, Ledger) {
    let topic = new_topic();
    import_fixture(&brokers(), &topic);
    let dir = tempfile::tempdir().unwrap();
    let a = Ledger::open_kafka(&dir.path().join("a"), &config(&topic)).unwrap();
    let b = Ledger::open_kafka(&dir.path().join("b"), &config(&topic)).unwrap();
    a.execute(
        &Command::RegisterSystem(SystemDefinition {
            system_id: SystemId::parse("310000019_maestro").unwrap(),
            vendor_org_no: org(MAESTRO),
            name: [("nb".to_owned(), "Maestro".to_owned())].into(),
            description: Default::default(),
            rights: vec![],
            access_packages: vec![urn("revisormedarbeider")],
            client_ids: vec![],
            allowed_redirect_urls: vec![],
            is_visible: false,
        }),
        &vendor(),
        Utc::now(),
    )
    .unwrap();
    a.execute(
        &Command::GrantRelationship(ClientRelationshipGranted {
            client_org_no: org(KUNDE_A),
            facilitator_org_no: org(RETT_REVISJON),
            role: Some(RegisterRole::Revi),
            access_packages: vec![],
            rights: vec![],
        }),
        &caller(ActorKind::Register, Authority::Register),
        Utc::now(),
    )
    .unwrap();
    (dir, a, b)
}

fn agent_request(external_ref: &str) -> Command {
    Command::CreateRequest(NewRequest {
        user_type: UserType::Agent,
        system_id: SystemId::parse("310000019_maestro").unwrap(),
        party_org_no: org(RETT_REVISJON),
        external_ref: Some(external_ref.to_owned()),
        rights: vec![],
        access_packages: vec![urn("revisormedarbeider")],
        redirect_url: None,
        integration_title: None,
    })
}

fn request_id(ledger: &Ledger, external_ref: &str) -> uuid::Uuid {
    let written = ledger.execute(&agent_request(external_ref), &vendor(), Utc::now()).unwrap();
    match &written.events[0].data {
        EventData::RequestCreated(r) => r.request_id,
        other => panic!("{other:?}"),
    }
}

/// Both replicas decide first, then both append: the log orders them, the later one is
/// void on both replicas, and its writer learns it as a conflict.
fn race(a: &Ledger, b: &Ledger, on_a: (Command, Caller), on_b: (Command, Caller)) -> String {
    let head = a.log().head().unwrap();
    while b.project().unwrap() < head {}
    let pa = a.prepare(&on_a.0, &on_a.1, Utc::now()).unwrap();
    let pb = b.prepare(&on_b.0, &on_b.1, Utc::now()).unwrap();
    assert_eq!(pa.seen, pb.seen, "both decided against the same state");
    a.commit(pa).expect("the first to reach the log takes effect");
    let lost = match b.commit(pb) {
        Err(WriteError::Conflict(void)) => void,
        other => panic!("the second must be a conflict, got {other:?}"),
    };
    let head = a.log().head().unwrap();
    while a.project().unwrap() < head || b.project().unwrap() < head {}
    let (sa, sb) = (a.status().unwrap(), b.status().unwrap());
    assert_eq!(sa.read_model_digest, sb.read_model_digest, "replicas agree on the outcome");
    // Both replicas recorded the loser as void, with the same reason.
    let voids_a = a.void_between(0, head);
    assert_eq!(voids_a, b.void_between(0, head));
    assert!(voids_a.iter().any(|(_, reason)| reason.starts_with(&lost.code)), "{voids_a:?}");
    lost.code
}

#[test]
fn approve_and_reject_at_once_on_two_replicas_one_wins() {
    let (_dir, a, b) = two_replicas();
    let id = request_id(&a, "x");
    let approve = Command::ApproveRequest { request_id: id, party: org(RETT_REVISJON), user_type: UserType::Agent };
    let reject = Command::RejectRequest { request_id: id, party: org(RETT_REVISJON), user_type: UserType::Agent };
    assert_eq!(race(&a, &b, (approve, facilitator()), (reject, facilitator())), "version_conflict");
    assert!(b.model().system_user(&id).is_some(), "the approval won on both replicas");
}

#[test]
fn two_requests_for_one_key_at_once_on_two_replicas_one_wins() {
    let (_dir, a, b) = two_replicas();
    assert_eq!(race(&a, &b, (agent_request("same"), vendor()), (agent_request("same"), vendor())), "request_not_new");
}

#[test]
fn a_link_racing_the_agents_deletion_on_two_replicas_one_wins() {
    let (_dir, a, b) = two_replicas();
    let id = request_id(&a, "x");
    a.execute(
        &Command::ApproveRequest { request_id: id, party: org(RETT_REVISJON), user_type: UserType::Agent },
        &facilitator(),
        Utc::now(),
    )
    .unwrap();
    let delete =
        Command::DeleteSystemUser { system_user_id: id, party: org(RETT_REVISJON), user_type: UserType::Agent };
    let link = Command::LinkClient { agent: id, client: org(KUNDE_A), subset: None };
    assert_eq!(race(&a, &b, (delete, facilitator()), (link, facilitator())), "version_conflict");
    assert!(b.model().links_of(&id).is_empty(), "a deleted agent keeps no client");
}

#[test]
fn approve_and_reject_sent_at_once_to_two_replica_processes_give_one_success_and_one_409() {
    let brokers = brokers();
    let topic = new_topic();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    import_fixture(&brokers, &topic);
    let a = Replica::start(&brokers, &topic, &dir.path().join("a"), &keys, &[]);
    let b = Replica::start(&brokers, &topic, &dir.path().join("b"), &keys, &[]);
    let t = Tokens::new(&keys);
    let vendor = t.mint(Role::Vendor, Some(MAESTRO));
    a.ok(
        "POST",
        &format!("{AUTHN}/systemregister/vendor"),
        &vendor,
        Some(&json!({"id": "310000019_maestro", "vendor": {"ID": "0192:310000019"},
            "name": {"nb": "Maestro"}, "description": {"nb": "Maestro"}, "isVisible": false,
            "accessPackages": [{"urn": pkg("revisormedarbeider")}]})),
    );
    let admin = t.mint(Role::Admin, Some(RETT_REVISJON));
    let operator = t.mint(Role::Operator, None);
    for round in 0..3 {
        let r = a.ok(
            "POST",
            &format!("{AUTHN}/systemuser/request/vendor/agent"),
            &vendor,
            Some(&json!({"systemId": "310000019_maestro", "partyOrgNo": RETT_REVISJON, "externalRef": format!("r{round}"), "accessPackages": [{"urn": pkg("revisormedarbeider")}]})),
        );
        let id = r["id"].as_str().unwrap().to_owned();
        // Altinn's body has no position; the head after the write stands for it.
        let created_at = a.status(&operator, 0)["headPosition"].as_u64().unwrap();
        b.status(&operator, created_at);
        let barrier = Arc::new(Barrier::new(2));
        let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = [(&a, "approve"), (&b, "reject")]
                .into_iter()
                .map(|(replica, verb)| {
                    let (barrier, admin, id) = (barrier.clone(), admin.clone(), id.clone());
                    s.spawn(move || {
                        barrier.wait();
                        replica.call(
                            "POST",
                            &format!(
                                "{AUTHN}/systemuser/request/agent/{}/{id}/{verb}",
                                fixture_party_id(RETT_REVISJON)
                            ),
                            &admin,
                            None,
                            None,
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "round {round}: {answers:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 1, "round {round}: {answers:?}");
        let head = a.status(&operator, 0)["headPosition"].as_u64().unwrap();
        let (sa, sb) = (a.status(&operator, head), b.status(&operator, head));
        assert_eq!(sa["readModelDigest"], sb["readModelDigest"], "round {round}");
    }
}

// ---- topics ------------------------------------------------------------------------------

fn serve_refuses(topic: &str, extra: &[&str], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let brokers = brokers();
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--kafka", &brokers, "--topic", topic];
    args.extend_from_slice(extra);
    let data = dir.path().to_str().unwrap().to_owned();
    args.extend_from_slice(&["--data", &data]);
    let out = ledger_cli(&args);
    assert!(!out.status.success(), "an unsafe topic must be refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(expect), "expected '{expect}' in: {stderr}");
}

fn create_topic(topic: &str, partitions: i32, configs: &[(&str, &str)]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let result = futures_executor::block_on(admin.create_topics([&new], &AdminOptions::new())).unwrap();
    assert!(result[0].is_ok(), "{result:?}");
}

#[test]
fn a_missing_topic_is_created_only_when_asked() {
    let topic = new_topic();
    serve_refuses(&topic, &[], "--create-topic");
    let created = Ledger::open_kafka(tempfile::tempdir().unwrap().path(), &config(&topic));
    assert!(created.is_ok(), "with --create-topic the topic is made safe: {:?}", created.err());
}

#[test]
fn unsafe_topics_are_refused_with_the_reason() {
    let many = new_topic();
    create_topic(&many, 3, &[("cleanup.policy", "delete"), ("retention.ms", "-1")]);
    serve_refuses(&many, &[], "has 3 partitions");
    let week = new_topic();
    create_topic(&week, 1, &[("cleanup.policy", "delete"), ("retention.ms", "604800000")]);
    serve_refuses(&week, &[], "retention.ms is 604800000");
    let compacted = new_topic();
    create_topic(&compacted, 1, &[("cleanup.policy", "compact"), ("retention.ms", "-1")]);
    serve_refuses(&compacted, &[], "cleanup.policy is compact");
    // Safe retention, but record timestamps a producer chooses: no bound on event time.
    let create_time = new_topic();
    create_topic(&create_time, 1, &[("cleanup.policy", "delete"), ("retention.ms", "-1")]);
    serve_refuses(&create_time, &[], "message.timestamp.type is unset (must be LogAppendTime");
}

// ---- moving to Kafka ---------------------------------------------------------------------

#[tokio::test]
async fn an_embedded_ledger_moves_to_kafka_with_ids_order_and_digest() {
    // An embedded ledger with some history.
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    let embedded = t.ledger.status().unwrap();
    let data = t.path().to_owned();
    t.ledger.close().unwrap();
    drop(t.app);
    drop(t.ledger);

    let exported = ledger_cli(&["export", "--data", data.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let file = data.join("events.jsonl");
    std::fs::write(&file, &exported.stdout).unwrap();
    let topic = new_topic();
    let brokers = brokers();
    let imported =
        ledger_cli(&["import", "--kafka", &brokers, "--topic", &topic, "--create-topic", file.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    let replica = Ledger::open_kafka(tempfile::tempdir().unwrap().path(), &config(&topic)).unwrap();
    let on_kafka = replica.status().unwrap();
    assert_eq!(on_kafka.head_position, embedded.head_position);
    assert_eq!(on_kafka.read_model_digest, embedded.read_model_digest, "the same events give the same read model");
    let back = ledger_cli(&["export", "--kafka", &brokers, "--topic", &topic]);
    assert!(back.stdout == exported.stdout, "ids, order and bytes are preserved");
}

#[test]
fn a_poison_record_on_the_topic_is_quarantined_and_both_replicas_go_on() {
    use ledger::log::kafka::KafkaLog;
    use ledger::log::{EventLog, NewRecord};
    let (_dir, a, b) = two_replicas();
    let topic_log = KafkaLog::open(&config(&a.status().unwrap().log["kafka:".len()..])).unwrap();
    let poison = NewRecord {
        key: "x".to_owned(),
        id: "x".to_owned(),
        kind: "x".to_owned(),
        bytes: b"{\"not\":\"an event\"}".to_vec(),
    };
    topic_log.append(&[poison]).unwrap();
    let id = request_id(&a, "after-poison");
    let head = a.log().head().unwrap();
    while b.project().unwrap() < head {}
    for replica in [&a, &b] {
        let status = replica.status().unwrap();
        assert_eq!(status.quarantined_records, 1);
        assert!(replica.model().request(&id).is_some(), "projection went on past the poison record");
    }
    assert_eq!(a.status().unwrap().read_model_digest, b.status().unwrap().read_model_digest);
}
