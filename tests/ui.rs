//! The service's pages in a real browser: headless Chromium loads them from a running
//! ledger and runs their scripts against the API — the auditor's page (a system user's
//! history with actors and causes, an as-of decision), the page a request's
//! `confirmUrl` names and the sign-in page — and the customer's pages driven as a person
//! uses them (`browser`: clicks, typing, cookies, redirects), with axe-core's WCAG 2.1
//! AA checks in each page and a screenshot of each kept in `target/ui-screenshots/`.

mod browser;
mod common;

use common::kafka::Replica;
use std::path::PathBuf;
use std::process::Command;

/// Loads `url` in headless Chromium, lets its scripts and requests finish, returns the DOM.
fn rendered(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser::chromium())
        .args(browser::HEADLESS_ARGS)
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_audit_page_shows_a_history_with_actors_and_causes_and_an_as_of_decision() {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("replay/golden/scenario-10-history");
    let questions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden.join("questions.json")).unwrap()).unwrap();
    let skatt = questions["systemUserHistories"][1].as_str().unwrap().to_owned();
    let revisor = questions["systemUserHistories"][0].as_str().unwrap().to_owned();

    let data = tempfile::tempdir().unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data"])
        .arg(data.path())
        .arg(golden.join("events.jsonl"))
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let replica = Replica::serve(data.path(), &[]);
    let key = ledger::auth::DevKey::load(&data.path().join("keys")).unwrap();
    let token = key.mint(ledger::auth::Role::Auditor, None, Some("auditor-anne"), chrono::Utc::now().timestamp(), 600);

    // History of the system user that was deleted, cascading an unlink.
    let dom = rendered(&format!("{}/audit/#token={token}&systemUser={skatt}", replica.url));
    assert!(dom.contains(&format!("system user {skatt}: 6 change(s)")), "{dom}");
    for text in [
        "system user requested",
        "request approved",
        "client linked",
        "system user deleted",
        "client unlinked",
        "by person kari.nordmann for 310000027",
        "by person ola.nordmann",
    ] {
        assert!(dom.contains(text), "the timeline shows '{text}': {dom}");
    }
    assert!(
        dom.contains("because system user deleted by person kari.nordmann at"),
        "the cascade names its cause: {dom}"
    );

    // Now Kunde A is linked again: permitted, with the grants.
    let decide = |at: &str| {
        rendered(&format!(
            "{}/audit/#token={token}&decide=1&systemUser={revisor}&action=write&resource=ske-aksjonaerregister&party=310000035&at={at}",
            replica.url
        ))
    };
    let dom = decide("");
    assert!(dom.contains("decision-Permit"), "{dom}");
    assert!(dom.contains("Granted by:") && dom.contains("REVI"), "{dom}");
    // As of the moment the auditor relationship was revoked (record 48): not permitted.
    let revoked: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(golden.join("events.jsonl")).unwrap().lines().nth(48).unwrap())
            .unwrap();
    assert_eq!(revoked["type"], "ledger.clientrelationship.revoked.v1", "the golden log predates v2");
    let dom = decide(revoked["time"].as_str().unwrap());
    assert!(dom.contains("decision-NotApplicable"), "{dom}");
    assert!(dom.contains("as of position 50"), "{dom}");

    // A bad token is shown as an error, not a blank page.
    let dom = rendered(&format!("{}/audit/#token=not-a-token&client=310000035", replica.url));
    assert!(dom.contains("Could not load the history: unauthenticated"), "{dom}");
}

/// The page a request's `confirmUrl` names, in a real browser: it is there (no 404),
/// renders under its strict policy, and shows a person who is not signed in the way to
/// sign in; the sign-in page renders too. (The answering itself, with cookies and forms,
/// is `tests/portal.rs`.)
#[test]
fn the_confirm_url_is_a_page_that_shows_the_way_to_sign_in() {
    use common::{pkg, KUNDE_A, MAESTRO};
    use ledger::auth::Role;
    use serde_json::json;

    let l = customer_pages::Ledger::start();
    l.system(&["skattegrunnlag"]);
    let request = l.ok(
        "POST",
        "/authentication/api/v1/systemuser/request/vendor",
        Role::Vendor,
        Some(MAESTRO),
        Some(json!({
        "systemId": "310000019_maestro", "partyOrgNo": KUNDE_A, "accessPackages": [{"urn": pkg("skattegrunnlag")}]})),
    );
    let replica = &l.replica;
    let (id, confirm) = (request["id"].as_str().unwrap(), request["confirmUrl"].as_str().unwrap());
    assert!(confirm.starts_with(&format!("{}/accessmanagement/ui/systemuser/request?id={id}", replica.url)));

    let dom = rendered(&format!("{confirm}&lang=en"));
    assert!(dom.contains("<html lang=\"en\">") && dom.contains("Sign in to see this page."), "{dom}");
    assert!(dom.contains("href=\"/accessmanagement/ui/signin?next="), "{dom}");
    let dom = rendered(&format!("{}/accessmanagement/ui/signin?lang=nb", replica.url));
    assert!(dom.contains("Logg inn (lokal utvikling)") && dom.contains("name=\"org\""), "{dom}");
    assert!(dom.contains("lang=\"en\">In English</a>"), "the switch offers English, in English: {dom}");
}

/// The API reference page, in a real browser: it renders `/openapi.json` (same origin,
/// under the pages' strict policy) as every operation, grouped by tag, with who may
/// call it.
#[test]
fn the_api_page_lists_every_documented_operation_with_its_roles() {
    let data = tempfile::tempdir().unwrap();
    let replica = Replica::serve(data.path(), &[]);
    // (The document needs no token; the harness sends one anyway.)
    let (status, document) = replica.call("GET", "/openapi.json", "unused", None, None);
    assert_eq!(status, 200);
    let dom = rendered(&format!("{}/api/", replica.url));
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let shown = format!("{} {path}", method.to_uppercase());
            assert!(dom.contains(&shown), "the page lists {shown}");
            operations += 1;
        }
    }
    assert!(operations >= 95, "{operations} operations");
    assert!(dom.contains("Client delegation (") && dom.contains("Who: bearer: client-admin"), "{dom}");
    assert!(dom.contains("maskinporten: altinn:authentication/systemuser.request.write"), "scopes are shown");
}

mod customer_pages {
    //! The customer's pages in a real browser, as a person uses them.
    use super::browser::Browser;
    use super::common::kafka::Replica;
    use super::common::{
        fixture_party_id, pkg, right, A06, A07, FIXTURE, INNTEKTSMELDING, KUNDE_A, KUNDE_B, KUNDE_C, KUNDE_E, LONN,
        MAESTRO, NAV, RETT_REVISJON, SUPERAVSTEMMING, SYSTEMHUSET,
    };
    use ledger::auth::{DevKey, Role};
    use serde_json::{json, Value};
    use std::process::Command;

    const A: &str = "/authentication/api/v1";

    pub(super) struct Ledger {
        pub(super) replica: Replica,
        key: DevKey,
        _data: tempfile::TempDir,
    }

    impl Ledger {
        /// `ledger serve` on the scenario fixture.
        pub(super) fn start() -> Ledger {
            let data = tempfile::tempdir().unwrap();
            let import = Command::new(env!("CARGO_BIN_EXE_ledger"))
                .args(["import", "--data"])
                .arg(data.path())
                .arg(FIXTURE)
                .output()
                .unwrap();
            assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
            let replica = Replica::serve(data.path(), &[]);
            let key = DevKey::load(&data.path().join("keys")).unwrap();
            Ledger { replica, key, _data: data }
        }

        fn token(&self, role: Role, org: Option<&str>) -> String {
            let org = org.map(|o| ledger::domain::ids::OrgNo::parse(o).unwrap());
            self.key.mint(role, org.as_ref(), Some("setup"), chrono::Utc::now().timestamp(), 600)
        }

        pub(super) fn ok(&self, method: &str, path: &str, role: Role, org: Option<&str>, body: Option<Value>) -> Value {
            self.replica.ok(method, path, &self.token(role, org), body.as_ref())
        }

        /// Maestro's system with `packages`, sending people back to the vendor.
        pub(super) fn system(&self, packages: &[&str]) -> String {
            let back = "https://vendor.example/done".to_owned();
            let urns: Vec<Value> = packages.iter().map(|p| json!({"urn": pkg(p)})).collect();
            self.ok("POST", &format!("{A}/systemregister/vendor"), Role::Vendor, Some(MAESTRO), Some(json!({
                "id": "310000019_maestro", "vendor": {"ID": "0192:310000019"}, "name": {"nb": "Maestro", "en": "Maestro"},
                "description": {"nb": "Regnskap"}, "accessPackages": urns, "isVisible": false,
                "allowedRedirectUrls": [back]})));
            back
        }

        fn decision(&self, system_user: &str, client: &str) -> String {
            let body = json!({"Request": {
                "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": system_user}]}],
                "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "write"}]}],
                "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": "ske-aksjonaerregister"},
                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": client}]}]}});
            let answer = self.ok("POST", "/authorization/api/v1/decision", Role::Pdp, None, Some(body));
            answer["response"][0]["decision"].as_str().unwrap().to_owned()
        }
    }

    fn assert_accessible(b: &mut Browser, page: &str) {
        let violations = b.serious_accessibility_violations();
        assert!(violations.is_empty(), "{page}: serious or critical WCAG 2.1 AA violations: {violations:?}");
    }

    /// Signs in on the dev sign-in page; lands on `next`.
    fn sign_in(b: &mut Browser, l: &Ledger, role: &str, org: &str, person: &str, next: &str) {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        b.goto(&format!("{}/accessmanagement/ui/signin?{query}", l.replica.url));
        b.fill(&format!("input[name=role][value={role}]"), "");
        b.fill("#org", org);
        b.fill("#person", person);
        b.click_and_wait("main form button[type=submit]");
    }

    #[test]
    fn scenario_1_the_customer_follows_the_confirm_url_signs_in_and_approves() {
        let l = Ledger::start();
        let back = l.system(&["skattegrunnlag"]);
        let request = l.ok(
            "POST",
            &format!("{A}/systemuser/request/vendor"),
            Role::Vendor,
            Some(MAESTRO),
            Some(json!({
            "systemId": "310000019_maestro", "partyOrgNo": KUNDE_A, "externalRef": "kunde-a-1",
            "accessPackages": [{"urn": pkg("skattegrunnlag")}], "redirectUrl": back})),
        );
        let (id, confirm) = (request["id"].as_str().unwrap(), request["confirmUrl"].as_str().unwrap());

        let mut b = Browser::launch();
        b.goto(confirm);
        assert!(b.text().contains("Du må logge inn for å se denne siden."), "{}", b.text());
        b.screenshot("01-confirm-url-not-signed-in");
        b.click_and_wait("main a[href^='/accessmanagement/ui/signin']");
        b.screenshot("02-sign-in");
        assert_accessible(&mut b, "the sign-in page");
        b.fill("#org", KUNDE_A);
        b.fill("#person", "kari.nordmann");
        b.click_and_wait("main form button[type=submit]");

        // Back on the request, signed in: what is asked, and the buttons.
        assert!(b.url().ends_with(&format!("/accessmanagement/ui/systemuser/request?id={id}")), "{}", b.url());
        let text = b.text();
        for shown in
            ["Forespørsel om systembruker", "Maestro fra", "Skattegrunnlag", "kunde-a-1", "venter på svar", "Godkjenn"]
        {
            assert!(text.contains(shown), "the page shows '{shown}': {text}");
        }
        b.screenshot("03-request");
        assert_accessible(&mut b, "the request page");
        // By keyboard alone: the skip link first, then the header, then the answers, in
        // reading order, each with a visible focus (the style sheet's outline).
        let mut order = Vec::new();
        for _ in 0..6 {
            order.push(b.tab());
            let outline = b.eval("getComputedStyle(document.activeElement).outlineStyle");
            assert_eq!(outline, json!("solid"), "the focus is visible on {:?}", order.last());
        }
        assert_eq!(
            order,
            [
                "a:Gå til hovedinnholdet",
                "a:In English",
                "a:Systembrukere",
                "button:Logg ut",
                "button:approve",
                "button:reject"
            ]
        );

        // Back to the vendor (whose site this closed network cannot reach: the tab's
        // history holds where it was sent).
        b.click_and_wait("button[value=approve]");
        assert_eq!(b.navigated_to(), back, "back to the vendor");
        let read = l.ok("GET", &format!("{A}/systemuser/request/vendor/{id}"), Role::Vendor, Some(MAESTRO), None);
        assert_eq!(read["status"], "Accepted");
        b.goto(confirm);
        assert!(b.text().contains("godkjent av kari.nordmann"), "{}", b.text());
        b.screenshot("04-request-approved");
    }

    #[test]
    fn scenario_10b_the_client_administrator_adds_the_new_customer() {
        let l = Ledger::start();
        let package = "regnskapsforer-med-signeringsrettighet";
        for client in [KUNDE_B, KUNDE_E] {
            l.ok(
                "POST",
                "/v1/client-relationships",
                Role::Register,
                None,
                Some(json!({"client": client, "facilitator": RETT_REVISJON, "role": "REGN"})),
            );
        }
        l.system(&[package]);
        let request = l.ok(
            "POST",
            &format!("{A}/systemuser/request/vendor/agent"),
            Role::Vendor,
            Some(MAESTRO),
            Some(json!({"systemId": "310000019_maestro", "partyOrgNo": RETT_REVISJON, "externalRef": "regnskap",
                "accessPackages": [{"urn": pkg(package)}]})),
        );
        let agent = request["id"].as_str().unwrap().to_owned();
        let party = fixture_party_id(RETT_REVISJON);
        l.ok(
            "POST",
            &format!("{A}/systemuser/request/agent/{party}/{agent}/approve"),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        );
        assert_eq!(l.decision(&agent, KUNDE_E), "NotApplicable");

        // "Go to system user admin. Identify the correct system user … Add the customer."
        let mut b = Browser::launch();
        sign_in(&mut b, &l, "client-admin", RETT_REVISJON, "ola", "/accessmanagement/ui/systemusers");
        assert!(b.text().contains("Klientsystembruker"), "{}", b.text());
        b.screenshot("05-system-users");
        assert_accessible(&mut b, "the system users");
        b.click_and_wait(&format!("a[href='/accessmanagement/ui/systemusers/{agent}']"));
        assert!(b.text().contains("Klienter som kan legges til"), "{}", b.text());
        b.screenshot("06-system-user");
        assert_accessible(&mut b, "a system user's page");
        b.fill(&format!("input[name=client][value='{KUNDE_E}']"), "");
        b.fill(&format!("input[name=client][value='{KUNDE_B}']"), "");
        b.click_and_wait("form:has(input[name=change][value=add]) button[type=submit]");
        assert!(b.text().contains("Klientene er lagt til."), "{}", b.text());
        assert!(b.text().contains(&format!("klient {KUNDE_E} lagt til av ola")), "{}", b.text());
        b.screenshot("07-clients-added");
        assert_eq!(l.decision(&agent, KUNDE_E), "Permit");
        assert_eq!(l.decision(&agent, KUNDE_B), "Permit");
    }

    /// NAV A in the browser: the client administrator adds a client to Superavstemming
    /// for A06/A07 only, unticking the payroll package the agent also carries.
    #[test]
    fn nav_a_the_client_administrator_adds_a_client_for_a06_a07_only() {
        let l = Ledger::start();
        for (resource, actions) in [(A06, json!(["read"])), (A07, json!(["read"])), (INNTEKTSMELDING, json!(["read"]))]
        {
            let title = format!("Avstemming {}", &resource[resource.len() - 3..].to_uppercase());
            let policy = json!({"title": {"nb": title}, "rules": [
                {"accessPackage": pkg(LONN), "actions": actions}, {"right": true, "actions": actions}]});
            l.ok("PUT", &format!("/v1/resources/{resource}/policy"), Role::ServiceOwner, Some(NAV), Some(policy));
        }
        let rights: Vec<Value> = [A06, A07].iter().map(|r| right(r)).collect();
        l.ok("POST", &format!("{A}/systemregister/vendor"), Role::Vendor, Some(SYSTEMHUSET), Some(json!({
            "id": SUPERAVSTEMMING, "vendor": {"ID": format!("0192:{SYSTEMHUSET}")}, "name": {"nb": "Superavstemming"},
            "description": {"nb": "Avstemming"}, "rights": rights, "accessPackages": [{"urn": pkg(LONN)}], "isVisible": false})));
        let request = l.ok(
            "POST",
            &format!("{A}/systemuser/request/vendor/agent"),
            Role::Vendor,
            Some(SYSTEMHUSET),
            Some(json!({
            "systemId": SUPERAVSTEMMING, "partyOrgNo": RETT_REVISJON, "agentRights": rights,
            "accessPackages": [{"urn": pkg(LONN)}]})),
        );
        let agent = request["id"].as_str().unwrap().to_owned();
        let party = fixture_party_id(RETT_REVISJON);
        l.ok(
            "POST",
            &format!("{A}/systemuser/request/agent/{party}/{agent}/approve"),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        );
        l.ok(
            "POST",
            "/v1/client-relationships",
            Role::Register,
            None,
            Some(json!({"client": KUNDE_C, "facilitator": RETT_REVISJON, "role": "REGN"})),
        );

        let mut b = Browser::launch();
        sign_in(&mut b, &l, "client-admin", RETT_REVISJON, "ola", &format!("/accessmanagement/ui/systemusers/{agent}"));
        assert!(b.text().contains("Hva systemet får for klientene du legger til"), "{}", b.text());
        assert_accessible(&mut b, "a system user's page with the scope to choose");
        b.fill(&format!("input[name=client][value='{KUNDE_C}']"), "");
        let untick = format!("document.querySelector(\"input[name=scope][value='{}']\").checked = false", pkg(LONN));
        b.eval(&untick);
        b.screenshot("10-client-scope-chosen");
        b.click_and_wait("form:has(input[name=change][value=add]) button[type=submit]");
        assert!(b.text().contains("kun Avstemming A06, Avstemming A07"), "{}", b.text());
        b.screenshot("11-client-added-for-a06-a07");
        let decide = |resource: &str| {
            let body = json!({"systemUser": agent, "action": "read", "resource": resource, "party": KUNDE_C});
            l.ok("POST", "/v1/decisions", Role::Pdp, None, Some(body))["decision"].as_str().unwrap().to_owned()
        };
        assert_eq!(decide(A06), "Permit");
        assert_eq!(decide(INNTEKTSMELDING), "NotApplicable", "the package was not given");
    }

    #[test]
    fn a_rejection_and_a_refusal_for_the_wrong_organisation() {
        let l = Ledger::start();
        l.system(&["revisormedarbeider"]);
        let request = l.ok(
            "POST",
            &format!("{A}/systemuser/request/vendor/agent"),
            Role::Vendor,
            Some(MAESTRO),
            Some(json!({"systemId": "310000019_maestro", "partyOrgNo": RETT_REVISJON,
                "accessPackages": [{"urn": pkg("revisormedarbeider")}]})),
        );
        let (id, confirm) = (request["id"].as_str().unwrap(), request["confirmUrl"].as_str().unwrap());
        let path = confirm.strip_prefix(&l.replica.url).unwrap();

        // Kunde B's administrator follows the link: not theirs, nothing of it shown.
        let mut stranger = Browser::launch();
        sign_in(&mut stranger, &l, "admin", KUNDE_B, "per", path);
        let text = stranger.text();
        assert!(text.contains("gjelder 310000027") && !text.contains("Maestro"), "{text}");
        stranger.screenshot("08-not-your-organisation");
        assert_accessible(&mut stranger, "a refusal");

        let mut b = Browser::launch();
        sign_in(&mut b, &l, "admin", RETT_REVISJON, "kari", path);
        b.click_and_wait("button[value=reject]");
        assert!(b.text().contains("Forespørselen er avvist."), "{}", b.text());
        b.screenshot("09-request-rejected");
        let read = l.ok("GET", &format!("{A}/systemuser/request/vendor/agent/{id}"), Role::Vendor, Some(MAESTRO), None);
        assert_eq!(read["status"], "Rejected");
    }
}
