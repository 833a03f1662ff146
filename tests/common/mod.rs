//! The test harness: a real ledger (embedded log and sled in a temporary directory) with
//! the scenario fixture imported, driven through the HTTP router in-process, with a
//! clock the test controls and tokens signed by the data directory's dev key.
#![allow(dead_code)]

pub mod kafka;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

use ledger::api::{router, Services};
use ledger::auth::{DevKey, Role, Verifier};
use ledger::domain::events::Event;
use ledger::domain::ids::OrgNo;
use ledger::ledger::{DataDir, Ledger};

pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/replay/fixtures/scenario-base.jsonl");

// Parties of the fixture.
pub const MAESTRO: &str = "310000019";
pub const RETT_REVISJON: &str = "310000027";
pub const KUNDE_A: &str = "310000035";
pub const KUNDE_B: &str = "310000043";
pub const KUNDE_C: &str = "310000051";
pub const BORETTSLAG: &str = "310000078";
pub const BYGGMESTER: &str = "310000086";
pub const MEGLER: &str = "310000094";
pub const EGENUTVIKLING: &str = "310000108";
pub const INDUSTRI: &str = "310000116";
pub const SKATTEETATEN: &str = "310000124";
pub const KUNDE_D: &str = "310000159";
pub const KUNDE_E: &str = "310000167";
pub const SYSTEMHUSET: &str = "310000175";
pub const SAP: &str = "310000183";

pub const AUTHN: &str = "/authentication/api/v1";

/// The fixture's packages an organisation may give a standard system user (the others
/// are meant for clients).
pub const ASSIGNABLE_PACKAGES: [&str; 2] = ["skattegrunnlag", "skatt-naering"];

pub fn pkg(name: &str) -> String {
    format!("urn:altinn:accesspackage:{name}")
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub position_header: Option<u64>,
    /// The ledger's reason where Altinn's answer is a bare value (`Ledger-Code`).
    pub ledger_code: Option<String>,
    pub body: Value,
    /// The body as sent (lossy UTF-8), for answers compared byte for byte.
    pub raw: String,
}

impl Reply {
    /// Asserts a problem document with this status and stable code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
    }
    /// An Altinn problem (`AUTH-000nn`, or `STD-00000` for validation) with the
    /// ledger's own code alongside as `ledgerCode`.
    pub fn assert_altinn_problem(&self, status: u16, code: &str, ledger_code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["type"], format!("urn:altinn:error:{code}"), "body: {}", self.body);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()), "body: {}", self.body);
        assert_eq!(self.body["ledgerCode"], ledger_code, "body: {}", self.body);
    }
    /// The position a write reached, from its `Ledger-Position` header.
    pub fn written_at(&self) -> u64 {
        self.assert_ok();
        self.position_header.expect("a write answers with its Ledger-Position")
    }
    pub fn assert_ok(&self) -> &Value {
        assert!(self.status.is_success(), "expected success, got {}: {}", self.status, self.body);
        &self.body
    }
}

pub struct TestLedger {
    pub app: Router,
    pub slots: ledger::api::Slots,
    pub ledger: Arc<Ledger>,
    pub key: DevKey,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    pub dir: tempfile::TempDir,
}

impl TestLedger {
    /// A ledger holding the scenario fixture (parties, access packages, policies).
    pub fn new() -> TestLedger {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open_embedded(dir.path()).expect("open ledger");
        ledger.import(&fixture_records(), chrono::Utc::now()).expect("import fixture");
        TestLedger::around(dir, ledger)
    }

    /// Reopens the data directory as a restarted process would.
    pub fn restart(self) -> TestLedger {
        let TestLedger { app, ledger, dir, now, .. } = self;
        ledger.close().expect("flush");
        drop(app);
        drop(ledger);
        let ledger = Ledger::open_embedded(dir.path()).expect("reopen ledger");
        let t = TestLedger::around(dir, ledger);
        *t.now.lock().unwrap() = *now.lock().unwrap();
        t
    }

    /// The harness around a ledger opened elsewhere (on Kafka, say).
    pub fn around(dir: tempfile::TempDir, ledger: Ledger) -> TestLedger {
        TestLedger::around_trusting(dir, ledger, |v| v)
    }

    /// A ledger holding the fixture whose verifier trusts more than the dev key.
    pub fn trusting(more: impl FnOnce(Verifier) -> Verifier) -> TestLedger {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::open_embedded(dir.path()).expect("open ledger");
        ledger.import(&fixture_records(), chrono::Utc::now()).expect("import fixture");
        TestLedger::around_trusting(dir, ledger, more)
    }

    /// The harness around a Kafka replica whose decision log ships to `decisions`.
    pub fn around_kafka(
        dir: tempfile::TempDir,
        ledger: Ledger,
        decisions: &ledger::log::kafka::KafkaConfig,
    ) -> TestLedger {
        let log = ledger::decisions::DecisionLog::open_kafka(
            dir.path(),
            decisions,
            30,
            ledger::decisions::SyncMode::AfterAnswer,
        )
        .expect("the decision topic");
        TestLedger::around_with(dir, ledger, |v| v, log)
    }

    fn around_trusting(dir: tempfile::TempDir, ledger: Ledger, more: impl FnOnce(Verifier) -> Verifier) -> TestLedger {
        let log =
            ledger::decisions::DecisionLog::open_embedded(dir.path(), 30, ledger::decisions::SyncMode::AfterAnswer)
                .expect("open the decision log");
        TestLedger::around_with(dir, ledger, more, log)
    }

    fn around_with(
        dir: tempfile::TempDir,
        ledger: Ledger,
        more: impl FnOnce(Verifier) -> Verifier,
        decisions: ledger::decisions::DecisionLog,
    ) -> TestLedger {
        let key = DevKey::load_or_create(&DataDir(dir.path().to_owned()).keys()).expect("dev key");
        let now = Arc::new(Mutex::new(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()));
        let clock_now = now.clone();
        let ledger = Arc::new(ledger);
        let slots = ledger::api::Slots::default();
        let state = Arc::new(Services {
            ledger: ledger.clone(),
            verifier: Arc::new(more(key.verifier())),
            clock: Arc::new(move || *clock_now.lock().unwrap()),
            public_url: "http://ledger.test".into(),
            min_position_wait: std::time::Duration::from_millis(200),
            ready_lag_records: 0,
            metrics: Default::default(),
            decisions: Some(Arc::new(decisions)),
            slots: slots.clone(),
            dev_key: Some(Arc::new(DevKey::load(&DataDir(dir.path().to_owned()).keys()).expect("dev key"))),
        });
        TestLedger { app: router(state), slots, ledger, key, now, dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
    }

    pub fn token(&self, role: Role, org: Option<&str>) -> String {
        let org = org.map(|o| OrgNo::parse(o).unwrap());
        let person = match role {
            Role::Admin | Role::ClientAdmin => Some(format!("person-{}-{}", role.as_str(), org.as_ref().unwrap())),
            _ => None,
        };
        self.key.mint(role, org.as_ref(), person.as_deref(), Utc::now().timestamp(), 600)
    }

    pub fn vendor(&self, org: &str) -> String {
        self.token(Role::Vendor, Some(org))
    }
    pub fn admin(&self, org: &str) -> String {
        self.token(Role::Admin, Some(org))
    }
    pub fn client_admin(&self, org: &str) -> String {
        self.token(Role::ClientAdmin, Some(org))
    }
    pub fn register(&self) -> String {
        self.token(Role::Register, None)
    }
    pub fn pdp(&self) -> String {
        self.token(Role::Pdp, None)
    }
    pub fn operator(&self) -> String {
        self.token(Role::Operator, None)
    }

    /// Sends a request with a JSON body (or none) and reads the answer.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let raw = body.map(|b| b.to_string());
        self.call_raw(method, path, token, raw.as_deref(), "application/json").await
    }

    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: &str,
    ) -> Reply {
        self.call_with_headers(method, path, token, body, content_type, &[]).await
    }

    /// [`TestLedger::call_raw`] with more request headers.
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header("content-type", content_type).body(Body::from(b.to_owned())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.app.clone().oneshot(req).await.expect("router answers");
        let status = res.status();
        let content_type =
            res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let position_header = res.headers().get("ledger-position").map(|v| v.to_str().unwrap().parse().unwrap());
        let ledger_code = res.headers().get("ledger-code").map(|v| v.to_str().unwrap().to_owned());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(raw.clone()))
        };
        Reply { status, content_type, position_header, ledger_code, body, raw }
    }

    pub fn position(&self) -> u64 {
        self.ledger.status().unwrap().head_position
    }

    pub fn digest(&self) -> String {
        self.ledger.status().unwrap().read_model_digest
    }

    // ---- scenario steps ---------------------------------------------------------------

    /// The register records a client relationship by role (REGN, REVI, FFOR).
    pub async fn grant_role(&self, client: &str, facilitator: &str, role: &str) {
        self.grant_role_reply(client, facilitator, role).await.assert_ok();
    }

    pub async fn grant_role_reply(&self, client: &str, facilitator: &str, role: &str) -> Reply {
        let body = json!({"client": client, "facilitator": facilitator, "role": role});
        self.call(Method::POST, "/v1/client-relationships", Some(&self.register()), Some(body)).await
    }

    /// The client organisation's own administrator delegates packages to the facilitator.
    pub async fn delegate(&self, client: &str, facilitator: &str, packages: &[&str]) {
        let packages: Vec<String> = packages.iter().map(|p| pkg(p)).collect();
        self.call(
            Method::POST,
            "/v1/client-relationships",
            Some(&self.admin(client)),
            Some(json!({"client": client, "facilitator": facilitator, "accessPackages": packages})),
        )
        .await
        .assert_ok();
    }

    /// A vendor registers a system with these packages and rights (resource ids).
    pub async fn register_system(&self, system_id: &str, packages: &[&str], rights: &[&str]) -> Reply {
        let vendor = &system_id[..9];
        let body = json!({
            "id": system_id,
            "vendor": {"ID": format!("0192:{vendor}")},
            "name": {"nb": system_id, "en": system_id},
            "description": {"nb": "test system"},
            "rights": rights.iter().map(|r| json!({"resource": [{"id": "urn:altinn:resource", "value": r}]})).collect::<Vec<_>>(),
            "accessPackages": packages.iter().map(|p| json!({"urn": pkg(p)})).collect::<Vec<_>>(),
            "clientId": [format!("client-{system_id}")],
            "allowedRedirectUrls": ["https://vendor.example/done"],
            // As Altinn insists: a system with packages meant for clients is not listed.
            "isVisible": packages.iter().all(|p| ASSIGNABLE_PACKAGES.contains(p)),
        });
        self.call(Method::POST, &format!("{AUTHN}/systemregister/vendor"), Some(&self.vendor(vendor)), Some(body)).await
    }

    pub async fn request_standard(
        &self,
        system_id: &str,
        party: &str,
        external_ref: Option<&str>,
        packages: &[&str],
        rights: &[&str],
    ) -> Reply {
        let mut body = json!({
            "systemId": system_id,
            "partyOrgNo": party,
            "rights": rights.iter().map(|r| json!({"resource": [{"id": "urn:altinn:resource", "value": r}]})).collect::<Vec<_>>(),
            "accessPackages": packages.iter().map(|p| json!({"urn": pkg(p)})).collect::<Vec<_>>(),
        });
        if let Some(x) = external_ref {
            body["externalRef"] = json!(x);
        }
        self.call(
            Method::POST,
            &format!("{AUTHN}/systemuser/request/vendor"),
            Some(&self.vendor(&system_id[..9])),
            Some(body),
        )
        .await
    }

    pub async fn request_agent(
        &self,
        system_id: &str,
        party: &str,
        external_ref: Option<&str>,
        packages: &[&str],
    ) -> Reply {
        let mut body = json!({
            "systemId": system_id,
            "partyOrgNo": party,
            "accessPackages": packages.iter().map(|p| json!({"urn": pkg(p)})).collect::<Vec<_>>(),
        });
        if let Some(x) = external_ref {
            body["externalRef"] = json!(x);
        }
        self.call(
            Method::POST,
            &format!("{AUTHN}/systemuser/request/vendor/agent"),
            Some(&self.vendor(&system_id[..9])),
            Some(body),
        )
        .await
    }

    /// The party id the fixture gave an organisation (Altinn's `{party}` in paths).
    pub fn party_id(&self, org: &str) -> i64 {
        use ledger::domain::model::ReadModel;
        self.ledger.model().party(&OrgNo::parse(org).unwrap()).expect("a party of the fixture").party_id
    }

    pub async fn approve(&self, party: &str, request_id: &str, agent: bool) -> Reply {
        let kind = if agent { "agent/" } else { "" };
        let party_id = self.party_id(party);
        self.call(
            Method::POST,
            &format!("{AUTHN}/systemuser/request/{kind}{party_id}/{request_id}/approve"),
            Some(&self.admin(party)),
            None,
        )
        .await
    }

    /// Creates and approves a standard system user; returns its id.
    pub async fn standard_user(
        &self,
        system_id: &str,
        party: &str,
        external_ref: Option<&str>,
        packages: &[&str],
        rights: &[&str],
    ) -> String {
        let r = self.request_standard(system_id, party, external_ref, packages, rights).await;
        let id = r.assert_ok()["id"].as_str().unwrap().to_owned();
        self.approve(party, &id, false).await.assert_ok();
        id
    }

    /// Creates and approves an agent system user; returns its id.
    pub async fn agent_user(
        &self,
        system_id: &str,
        party: &str,
        external_ref: Option<&str>,
        packages: &[&str],
    ) -> String {
        let r = self.request_agent(system_id, party, external_ref, packages).await;
        let id = r.assert_ok()["id"].as_str().unwrap().to_owned();
        self.approve(party, &id, true).await.assert_ok();
        id
    }

    /// The party UUID of an organisation (Altinn's `client` in client delegation).
    pub fn party_uuid(&self, org: &str) -> uuid::Uuid {
        use ledger::domain::model::ReadModel;
        self.ledger.model().party(&OrgNo::parse(org).unwrap()).expect("a party of the fixture").party_uuid
    }

    /// Links the client organisation `client` (by its party UUID, as Altinn names it).
    pub async fn link(&self, facilitator: &str, agent: &str, client: &str) -> Reply {
        let client = self.party_uuid(client);
        self.call(
            Method::POST,
            &format!("{AUTHN}/enduser/systemuser/clients?agent={agent}&client={client}"),
            Some(&self.client_admin(facilitator)),
            None,
        )
        .await
    }

    pub async fn unlink(&self, facilitator: &str, agent: &str, client: &str) -> Reply {
        let client = self.party_uuid(client);
        self.call(
            Method::DELETE,
            &format!("{AUTHN}/enduser/systemuser/clients?agent={agent}&client={client}"),
            Some(&self.client_admin(facilitator)),
            None,
        )
        .await
    }

    /// Asks the XACML PDP, as a service API would; returns the decision string. The
    /// answer comes from the in-memory decision index; every call also holds the index
    /// to the records (see [`TestLedger::assert_index_agrees`]).
    pub async fn decision(&self, system_user: &str, action: &str, resource: &str, party: &str) -> String {
        let r = self.xacml(&xacml_request(system_user, action, resource, party)).await;
        self.assert_index_agrees(system_user, action, resource, party);
        r.body["response"][0]["decision"].as_str().unwrap().to_owned()
    }

    /// The decision index decides as the stored records do — proof and all, by org
    /// number, party id and party uuid, now and as of every earlier position — and
    /// equals a fresh fold of the store.
    pub fn assert_index_agrees(&self, system_user: &str, action: &str, resource: &str, party: &str) {
        use ledger::domain::ids::{Action, ResourceId};
        use ledger::domain::model::{history::AsOf, ReadModel};
        use ledger::domain::pdp::{evaluate, PartyRef, Query};
        let (Ok(id), Ok(action), Ok(resource), Ok(org)) = (
            uuid::Uuid::parse_str(system_user),
            Action::parse(action),
            ResourceId::parse(resource),
            OrgNo::parse(party),
        ) else {
            return; // A malformed question never reaches either.
        };
        let store = self.ledger.model();
        let index = store.decision_index();
        assert!(*index == store.load_decision_index(), "the maintained decision index is the fold of the store");
        let mut parties = vec![PartyRef::OrgNo(org.clone())];
        if let Some(p) = store.party(&org) {
            parties.extend([PartyRef::PartyId(p.party_id), PartyRef::PartyUuid(p.party_uuid)]);
        }
        for party in parties {
            let q = Query { system_user: id, action: action.clone(), resource: resource.clone(), party };
            assert_eq!(evaluate(&index.now(), &q), evaluate(store, &q), "the index and the records differ on {q:?}");
            // And as of every earlier position, from the index's history and the versions.
            for position in 0..store.position() {
                let past = AsOf { base: store, position };
                assert_eq!(
                    evaluate(&index.at(position), &q),
                    evaluate(&past, &q),
                    "the index and the records differ as of {position} on {q:?}"
                );
            }
        }
    }

    pub async fn xacml(&self, body: &Value) -> Reply {
        let r = self.call(Method::POST, "/authorization/api/v1/decision", Some(&self.pdp()), Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r
    }

    /// Asks the XACML endpoint with `Ledger-Explain: reasons`: each Indeterminate
    /// result's `statusMessage` then holds the ledger's reason.
    pub async fn xacml_explained(&self, body: &str) -> Reply {
        let (path, pdp) = ("/authorization/api/v1/decision", self.pdp());
        let explain = [("ledger-explain", "reasons")];
        let r = self.call_with_headers(Method::POST, path, Some(&pdp), Some(body), "application/json", &explain).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r
    }

    /// Asks the native PDP for a decision with its proof (and holds the index to the
    /// records, as [`TestLedger::decision`] does).
    pub async fn proof(&self, system_user: &str, action: &str, resource: &str, party: &str) -> Value {
        self.assert_index_agrees(system_user, action, resource, party);
        let body = json!({"systemUser": system_user, "action": action, "resource": resource, "party": party});
        self.call(Method::POST, "/v1/decisions", Some(&self.pdp()), Some(body)).await.assert_ok().clone()
    }
}

pub fn xacml_request(system_user: &str, action: &str, resource: &str, party: &str) -> Value {
    json!({"Request": {"ReturnPolicyIdList": false,
        "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": system_user}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": action, "DataType": "http://www.w3.org/2001/XMLSchema#string"}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": resource},
                                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party}]}]}})
}

/// Copies a directory tree (a closed data directory, say).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The party id the fixture gives an organisation (Altinn's `{party}` in paths), read
/// from the fixture itself.
pub fn fixture_party_id(org: &str) -> i64 {
    use ledger::domain::events::EventData;
    fixture_events()
        .into_iter()
        .find_map(|e| match e.data {
            EventData::PartyRegistered(p) if p.org_no.as_str() == org => Some(p.party_id),
            _ => None,
        })
        .expect("a party of the fixture")
}

/// Shorthand for [`fixture_party_id`] in paths.
pub fn p(org: &str) -> i64 {
    fixture_party_id(org)
}

/// The party UUID the fixture gives an organisation (Altinn's `client`), read from the
/// fixture itself.
pub fn u(org: &str) -> uuid::Uuid {
    use ledger::domain::events::EventData;
    fixture_events()
        .into_iter()
        .find_map(|e| match e.data {
            EventData::PartyRegistered(p) if p.org_no.as_str() == org => Some(p.party_uuid),
            _ => None,
        })
        .expect("a party of the fixture")
}

/// The fixture's records, byte for byte.
pub fn fixture_records() -> Vec<Vec<u8>> {
    std::fs::read_to_string(FIXTURE)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

pub fn fixture_events() -> Vec<Event> {
    std::fs::read_to_string(FIXTURE)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::decode(l.as_bytes()).expect("fixture event decodes"))
        .collect()
}

// ---- NAV's services and Superavstemming (NAV's scenarios A–C) ------------------------

/// NAV (Arbeids- og velferdsetaten), the service owner of the resources below.
pub const NAV: &str = "889640782";
pub const A06: &str = "nav-aordning-avstemming-a06";
pub const A07: &str = "nav-aordning-avstemming-a07";
/// A third NAV service a client may also have bought (scenario C).
pub const INNTEKTSMELDING: &str = "nav-inntektsmelding";
pub const SUPERAVSTEMMING: &str = "310000175_superavstemming";
/// A package an accountant holds through REGN, whose policy gets the NAV services too.
pub const LONN: &str = "regnskapsforer-lonn";

pub fn right(resource: &str) -> Value {
    json!({"resource": [{"id": "urn:altinn:resource", "value": resource}]})
}

/// NAV publishes its three services (the accountants' payroll package and holders of a
/// single right may read A06/A07; read and write the inntektsmelding), and Kontrollen AS
/// registers Superavstemming with single rights on all three and the payroll package.
pub async fn nav_services(t: &TestLedger) {
    let nav = t.token(ledger::auth::Role::ServiceOwner, Some(NAV));
    for (resource, actions, title) in [
        (A06, json!(["read"]), "Avstemming A06"),
        (A07, json!(["read"]), "Avstemming A07"),
        (INNTEKTSMELDING, json!(["read", "write"]), "Inntektsmelding"),
    ] {
        let policy = json!({"title": {"nb": title}, "rules": [
            {"accessPackage": pkg(LONN), "actions": actions}, {"right": true, "actions": actions}]});
        t.call(Method::PUT, &format!("/v1/resources/{resource}/policy"), Some(&nav), Some(policy)).await.assert_ok();
    }
    t.register_system(SUPERAVSTEMMING, &[LONN], &[A06, A07, INNTEKTSMELDING]).await.assert_ok();
}

/// Kontrollen AS asks the accountant for an agent with these single rights (the ledger's
/// `agentRights` extension of Altinn's agent request) and packages; the accountant
/// approves. Returns the agent's id.
pub async fn superavstemming_agent(t: &TestLedger, external_ref: &str, rights: &[&str], packages: &[&str]) -> String {
    let body = json!({
        "systemId": SUPERAVSTEMMING, "partyOrgNo": RETT_REVISJON, "externalRef": external_ref,
        "agentRights": rights.iter().map(|r| right(r)).collect::<Vec<_>>(),
        "accessPackages": packages.iter().map(|p| json!({"urn": pkg(p)})).collect::<Vec<_>>(),
    });
    let created = t
        .call(
            Method::POST,
            &format!("{AUTHN}/systemuser/request/vendor/agent"),
            Some(&t.vendor(SYSTEMHUSET)),
            Some(body),
        )
        .await;
    let request = created.assert_ok();
    assert_eq!(request["agentRights"].as_array().map(Vec::len), Some(rights.len()).filter(|n| *n > 0), "{request}");
    let id = request["id"].as_str().unwrap().to_owned();
    t.approve(RETT_REVISJON, &id, true).await.assert_ok();
    id
}

/// `count` parties as the register would record them (the fixture's first record with
/// other ids and org numbers), as log records.
pub fn parties(count: u64) -> Vec<Vec<u8>> {
    let template: Value = serde_json::from_slice(&fixture_records()[0]).unwrap();
    ledger::bench::org_numbers(80_000_000)
        .take(count as usize)
        .enumerate()
        .map(|(n, org)| {
            let mut e = template.clone();
            e["id"] = json!(uuid::Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0000 + n as u128));
            e["subject"] = json!(format!("party/{}", org.as_str()));
            e["data"]["orgNo"] = json!(org.as_str());
            e["data"]["partyId"] = json!(70_000_000 + n);
            e["data"]["partyUuid"] = json!(uuid::Uuid::from_u128(0xA0 << 120 | n as u128));
            e.to_string().into_bytes()
        })
        .collect()
}
