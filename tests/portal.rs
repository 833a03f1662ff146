//! The customer's pages, through the router as a browser uses them (form posts, cookies,
//! redirects): given a vendor's request, when the customer's administrator signs in and
//! answers it from the page its `confirmUrl` names, then the ledger holds that answer —
//! and a stranger, a client administrator, a forged form or bad input changes nothing.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use common::*;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

const ORIGIN: &str = "http://ledger.test";
const SIGNIN: &str = "/accessmanagement/ui/signin";
const ANSWER: &str = "/accessmanagement/ui/systemuser/answer";
const PERMIT: &str = "Permit";
const NA: &str = "NotApplicable";

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("the page has a form") + 19;
        self.body[at..at + 64].to_owned()
    }
}

async fn send(t: &TestLedger, method: Method, path: &str, headers: &[(&str, &str)], form: Option<&str>) -> Page {
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match form {
        Some(f) => req.header("content-type", "application/x-www-form-urlencoded").body(Body::from(f.to_owned())),
        None => req.body(Body::empty()),
    };
    let res = t.app.clone().oneshot(req.unwrap()).await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let body = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Page { status, headers, body }
}

/// Signs in through the dev sign-in page; the session cookie to send.
async fn sign_in(t: &TestLedger, role: &str, org: &str, person: &str) -> String {
    let form = format!("role={role}&org={org}&person={person}&next=%2Faccessmanagement%2Fui%2Fsignin");
    let page = send(t, Method::POST, SIGNIN, &[("origin", ORIGIN)], Some(&form)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let cookie = page.header("set-cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

/// Maestro's system, and its standard request to Kunde A with a way back to the vendor;
/// the request page's path (from `confirmUrl`).
async fn requested(t: &TestLedger) -> (String, String) {
    t.register_system("310000019_maestro", &["skattegrunnlag"], &["ske-mva-rapportering"]).await.assert_ok();
    let body = json!({"systemId": "310000019_maestro", "partyOrgNo": KUNDE_A, "externalRef": "kunde-a-1",
        "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}],
        "accessPackages": [{"urn": pkg("skattegrunnlag")}],
        "redirectUrl": "https://vendor.example/done"});
    let created =
        t.call(Method::POST, &format!("{AUTHN}/systemuser/request/vendor"), Some(&t.vendor(MAESTRO)), Some(body)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let confirm = created.body["confirmUrl"].as_str().unwrap();
    (id, confirm.strip_prefix(ORIGIN).expect("confirmUrl is on this service").to_owned())
}

fn answer_form(kind: &str, id: &str, answer: &str, csrf: &str) -> String {
    format!("kind={kind}&id={id}&answer={answer}&csrf={csrf}")
}

/// Posts a request page's answer form as the browser does.
async fn answer(t: &TestLedger, headers: &[(&str, &str)], kind: &str, id: &str, answer: &str, csrf: &str) -> Page {
    send(t, Method::POST, ANSWER, headers, Some(&answer_form(kind, id, answer, csrf))).await
}

async fn status_of(t: &TestLedger, id: &str) -> String {
    let reply =
        t.call(Method::GET, &format!("{AUTHN}/systemuser/request/vendor/{id}"), Some(&t.vendor(MAESTRO)), None).await;
    reply.body["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn scenario_1_the_customer_signs_in_from_the_confirm_url_and_approves() {
    let t = TestLedger::new();
    let (id, path) = requested(&t).await;

    // Not signed in: the page says so and shows the way to sign in, back to this page.
    let anonymous = send(&t, Method::GET, &path, &[], None).await;
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous.body.contains(
            "href=\"/accessmanagement/ui/signin?next=%2Faccessmanagement%2Fui%2Fsystemuser%2Frequest%3Fid%3D"
        ),
        "{}",
        anonymous.body
    );
    let form = send(&t, Method::GET, SIGNIN, &[], None).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("name=\"org\""));

    // Signed in as Kunde A's administrator: the request, in bokmål by default.
    let cookie = sign_in(&t, "admin", KUNDE_A, "kari.nordmann").await;
    let page = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "Forespørsel om systembruker",
        "310000019_maestro",
        "Skattegrunnlag",
        "urn:altinn:accesspackage:skattegrunnlag",
        // The right by its resource's title (the fixture's policy), with its id.
        "MVA-melding <small><code>ske-mva-rapportering</code></small>",
        "kunde-a-1",
        "venter på svar",
        "https://vendor.example/done",
        "Godkjenn",
        "Avvis",
        "Logget inn som kari.nordmann for 310000035",
    ] {
        assert!(page.body.contains(text), "the page shows '{text}': {}", page.body);
    }
    let policy = page.header("content-security-policy");
    assert!(
        policy.contains("form-action 'self' https://vendor.example;") && !policy.contains("script-src"),
        "{policy}"
    );
    assert_eq!(page.header("x-frame-options"), "DENY");

    // The same page in English, for a browser that asks for it.
    let english =
        send(&t, Method::GET, &path, &[("cookie", &cookie), ("accept-language", "en-GB,en;q=0.8")], None).await;
    assert!(
        english.body.contains("<html lang=\"en\">")
            && english.body.contains(">Approve</button>")
            && english.body.contains("VAT return <small>"),
        "{}",
        english.body
    );
    assert!(english.body.contains("lang=\"nb\">På norsk</a>"), "the switch offers bokmål, in bokmål");

    // Approve: back to the vendor, and the ledger holds it.
    let before = t.position();
    let answered =
        answer(&t, &[("cookie", &cookie), ("origin", ORIGIN)], "request", &id, "approve", &page.csrf()).await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    assert_eq!(answered.header("location"), "https://vendor.example/done");
    assert!(t.position() > before);
    assert_eq!(status_of(&t, &id).await, "Accepted");

    // The page now says it is answered, by whom, and offers no buttons.
    let after = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await;
    assert!(after.body.contains("den er godkjent"), "{}", after.body);
    assert!(after.body.contains("godkjent av kari.nordmann"), "{}", after.body);
    assert!(!after.body.contains(">Godkjenn</button>"));
}

#[tokio::test]
async fn a_rejection_from_the_agent_request_page_shows_its_outcome_there() {
    let t = TestLedger::new();
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let created = t.request_agent("310000019_maestro", RETT_REVISJON, Some("rr-1"), &["revisormedarbeider"]).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = created.body["confirmUrl"].as_str().unwrap().strip_prefix(ORIGIN).unwrap().to_owned();
    assert!(path.starts_with("/accessmanagement/ui/systemuser/agentrequest?id="), "{path}");

    let cookie = sign_in(&t, "admin", RETT_REVISJON, "ola").await;
    let page = send(&t, Method::GET, &format!("{path}&lang=en"), &[("cookie", &cookie)], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("An agent system user is requested") && page.body.contains("Assistant auditor"));
    assert!(page.header("set-cookie").starts_with("ledger_lang=en;"), "the choice is remembered");

    let answered = answer(&t, &[("cookie", &cookie)], "agentrequest", &id, "reject", &page.csrf()).await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    let back = answered.header("location").to_owned();
    assert!(
        back.starts_with("/accessmanagement/ui/systemuser/agentrequest?id=") && back.ends_with("&done=reject"),
        "{back}"
    );
    let outcome = send(&t, Method::GET, &back, &[("cookie", &cookie), ("cookie", "ledger_lang=en")], None).await;
    assert!(
        outcome.body.contains("The request is rejected.") && outcome.body.contains("rejected by ola"),
        "{}",
        outcome.body
    );
    let reply = t
        .call(Method::GET, &format!("{AUTHN}/systemuser/request/vendor/agent/{id}"), Some(&t.vendor(MAESTRO)), None)
        .await;
    assert_eq!(reply.body["status"], "Rejected");
}

#[tokio::test]
async fn another_organisation_sees_nothing_of_the_request_and_cannot_answer_it() {
    let t = TestLedger::new();
    let (id, path) = requested(&t).await;
    let cookie = sign_in(&t, "admin", KUNDE_B, "per").await;

    let page = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("Denne forespørselen gjelder 310000035"), "{}", page.body);
    for secret in ["310000019_maestro", "kunde-a-1", "vendor.example", "Godkjenn"] {
        assert!(!page.body.contains(secret), "a stranger is shown '{secret}'");
    }
    // Even a well-formed answer with the stranger's own CSRF token is refused.
    let before = t.position();
    let answered = answer(&t, &[("cookie", &cookie)], "request", &id, "approve", &page.csrf()).await;
    assert_eq!(answered.status, 403);
    assert_eq!(t.position(), before);
    assert_eq!(status_of(&t, &id).await, "New");
}

#[tokio::test]
async fn a_client_administrator_may_read_the_request_but_only_the_access_manager_answers() {
    let t = TestLedger::new();
    let (id, path) = requested(&t).await;
    let cookie = sign_in(&t, "client-admin", KUNDE_A, "lise").await;
    let page = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("bare virksomhetens tilgangsstyrer") && !page.body.contains(">Godkjenn</button>"));
    assert!(page.body.contains(">Send til tilgangsstyrerne</button>"), "{}", page.body);
    let before = t.position();
    let answered = answer(&t, &[("cookie", &cookie)], "request", &id, "approve", &page.csrf()).await;
    assert_eq!(answered.status, 403);
    assert_eq!(t.position(), before);

    // What a client administrator may do: pass it on to the access managers.
    let escalated = answer(&t, &[("cookie", &cookie)], "request", &id, "escalate", &page.csrf()).await;
    assert_eq!(escalated.status, 303, "{}", escalated.body);
    assert!(escalated.header("location").ends_with("&done=escalate"), "not yet back to the vendor");
    let back = send(&t, Method::GET, escalated.header("location"), &[("cookie", &cookie)], None).await;
    assert!(back.body.contains("sendt videre til virksomhetens tilgangsstyrere"), "{}", back.body);
    assert!(back.body.contains("sendt videre til tilgangsstyrerne av lise"), "{}", back.body);
    assert!(!back.body.contains("value=\"escalate\""), "once is enough");
    assert_eq!(status_of(&t, &id).await, "New");
}

#[tokio::test]
async fn a_forged_form_writes_nothing() {
    let t = TestLedger::new();
    let (id, path) = requested(&t).await;
    let cookie = sign_in(&t, "admin", KUNDE_A, "kari").await;
    let csrf = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await.csrf();
    let before = t.position();

    // Another site's form: the browser names its origin.
    let cross_site =
        answer(&t, &[("cookie", &cookie), ("origin", "https://evil.example")], "request", &id, "approve", &csrf).await;
    assert_eq!(cross_site.status, 403);
    // A CSRF token that is not this session's (another sign-in's, or none).
    let other = sign_in(&t, "admin", KUNDE_A, "kari").await;
    let stale = send(&t, Method::GET, &path, &[("cookie", &other)], None).await.csrf();
    let wrong_token = if stale == csrf { "0".repeat(64) } else { stale };
    for bad in [answer_form("request", &id, "approve", &wrong_token), format!("kind=request&id={id}&answer=approve")] {
        let page = send(&t, Method::POST, ANSWER, &[("cookie", &cookie)], Some(&bad)).await;
        assert!(matches!(page.status, 400 | 403), "{}: {}", page.status, page.body);
    }
    assert_eq!(t.position(), before);
    assert_eq!(status_of(&t, &id).await, "New");
}

#[tokio::test]
async fn bad_input_is_answered_plainly_and_changes_nothing() {
    let t = TestLedger::new();
    let (id, _) = requested(&t).await;
    let cookie = sign_in(&t, "admin", KUNDE_A, "kari").await;
    let before = t.position();
    let with_cookie = [("cookie", cookie.as_str())];
    let get = |path: &'static str| send(&t, Method::GET, path, &with_cookie, None);
    assert_eq!(get("/accessmanagement/ui/systemuser/request").await.status, 400, "no id");
    assert_eq!(get("/accessmanagement/ui/systemuser/request?id=not-a-uuid").await.status, 400);
    assert_eq!(
        get("/accessmanagement/ui/systemuser/request?id=0190a3b4-1111-7000-8000-000000000001").await.status,
        404
    );
    let wrong_kind = format!("/accessmanagement/ui/systemuser/agentrequest?id={id}");
    assert_eq!(send(&t, Method::GET, &wrong_kind, &[("cookie", &cookie)], None).await.status, 404);
    let csrf = send(
        &t,
        Method::GET,
        &format!("/accessmanagement/ui/systemuser/request?id={id}"),
        &[("cookie", &cookie)],
        None,
    )
    .await
    .csrf();
    for bad in [
        "garbage".to_owned(),
        answer_form("request", &id, "maybe", &csrf),
        answer_form("nosuchpage", &id, "approve", &csrf),
        format!("{}&extra=1", answer_form("request", &id, "approve", &csrf)),
        "x".repeat(20_000),
    ] {
        let page = send(&t, Method::POST, ANSWER, &[("cookie", &cookie)], Some(&bad)).await;
        assert_eq!(page.status, 400, "{bad}: {}", page.body);
        assert!(page.body.contains("Skjemaet kunne ikke leses."));
    }
    // Two different tokens (a proxy's header and a cookie) are refused, not picked from.
    let page_path = format!("/accessmanagement/ui/systemuser/request?id={id}");
    let proxy = format!("Bearer {}", t.admin(KUNDE_A));
    let two = send(&t, Method::GET, &page_path, &[("cookie", &cookie), ("authorization", &proxy)], None).await;
    assert_eq!(two.status, 400);
    // The sign-in takes only the pages' roles, an organisation number and a plain name,
    // and sends people only to this service's own pages.
    for bad in
        ["role=operator&org=310000035&person=x", "role=admin&org=123&person=x", "role=admin&org=310000035&person=<b>"]
    {
        assert_eq!(send(&t, Method::POST, SIGNIN, &[], Some(bad)).await.status, 400, "{bad}");
    }
    let away =
        send(&t, Method::POST, SIGNIN, &[], Some("role=admin&org=310000035&person=x&next=%2F%2Fevil.example")).await;
    assert_eq!(away.header("location"), SIGNIN);
    assert_eq!(t.position(), before);
    assert_eq!(status_of(&t, &id).await, "New");
}

#[tokio::test]
async fn a_proxys_bearer_token_signs_the_person_in_as_the_cookie_does() {
    let t = TestLedger::new();
    let (id, path) = requested(&t).await;
    let token = t.admin(KUNDE_A);
    let bearer = format!("Bearer {token}");
    let page = send(&t, Method::GET, &path, &[("authorization", &bearer)], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let answered = answer(&t, &[("authorization", &bearer)], "request", &id, "approve", &page.csrf()).await;
    assert_eq!(answered.status, 303);
    assert_eq!(status_of(&t, &id).await, "Accepted");
}

/// Scenario 10b through the pages: Rett Revisjon's client administrator finds the agent
/// system user for accounting among the organisation's system users, sees which clients
/// it acts for and which could be added (by their relationship), adds the new customer,
/// and removes it again; the PDP follows every step.
#[tokio::test]
async fn scenario_10b_a_client_administrator_adds_a_new_customer_in_the_pages() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.grant_role(KUNDE_E, RETT_REVISJON, "REGN").await;
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    let package = "regnskapsforer-med-signeringsrettighet";
    t.register_system("310000019_maestro", &[package], &[]).await.assert_ok();
    let created = t.request_agent("310000019_maestro", RETT_REVISJON, Some("regnskap"), &[package]).await;
    let agent = created.assert_ok()["id"].as_str().unwrap().to_owned();
    t.approve(RETT_REVISJON, &agent, true).await.assert_ok();
    t.link(RETT_REVISJON, &agent, KUNDE_B).await.assert_ok();
    let resource = "ske-aksjonaerregister";
    assert_eq!(t.decision(&agent, "write", resource, KUNDE_E).await, NA);

    // Step 1: system user administration lists the organisation's system users.
    let cookie = sign_in(&t, "client-admin", RETT_REVISJON, "ola").await;
    let overview =
        send(&t, Method::GET, "/accessmanagement/ui/systemusers?lang=en", &[("cookie", &cookie)], None).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let details_path = format!("/accessmanagement/ui/systemusers/{agent}");
    assert!(overview.body.contains(&format!("href=\"{details_path}\"")), "{}", overview.body);
    assert!(overview.body.contains("Agent (for clients)") && overview.body.contains("Accountant with signing rights"));
    assert!(overview.body.contains(&format!("person-admin-{RETT_REVISJON}")), "approved by whom: {}", overview.body);

    // Step 2: the system user's page: Kunde B is a client by REGN; Kunde E could be
    // added (REGN), Kunde A not (REVI gives another package).
    let page = send(&t, Method::GET, &details_path, &[("cookie", &cookie), ("cookie", "ledger_lang=en")], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (linked, addable) = page.body.split_at(page.body.find("id=\"addable\"").expect("the addable section"));
    assert!(linked.contains(KUNDE_B) && linked.contains("Relationship: REGN"), "{linked}");
    assert!(addable.contains(&format!("value=\"{KUNDE_E}\"")), "{addable}");
    assert!(!page.body.contains(&format!("value=\"{KUNDE_A}\"")), "Kunde A gave another package");

    // Step 3: add the customer.
    let form = format!("csrf={}&change=add&client={KUNDE_E}", page.csrf());
    let added = send(
        &t,
        Method::POST,
        &format!("{details_path}/clients"),
        &[("cookie", &cookie), ("origin", ORIGIN)],
        Some(&form),
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.header("location"), format!("{details_path}?done=added"));
    assert_eq!(t.decision(&agent, "write", resource, KUNDE_E).await, PERMIT);
    let after =
        send(&t, Method::GET, &format!("{details_path}?done=added&lang=en"), &[("cookie", &cookie)], None).await;
    assert!(after.body.contains("The clients are added."), "{}", after.body);
    assert!(after.body.contains(&format!("client {KUNDE_E} added by ola")), "the history says who: {}", after.body);

    // An accountant with many clients searches by name or organisation number.
    let search = send(&t, Method::GET, &format!("{details_path}?q=kunde+b"), &[("cookie", &cookie)], None).await;
    assert!(search.body.contains("Kunde B AS (310000043)") && !search.body.contains("Kunde E AS"), "{}", search.body);
    let search = send(&t, Method::GET, &format!("{details_path}?q={KUNDE_E}"), &[("cookie", &cookie)], None).await;
    assert!(search.body.contains("Kunde E AS (310000167)") && !search.body.contains("Kunde B AS"), "{}", search.body);
    let too_long = format!("{details_path}?q={}", "x".repeat(101));
    assert_eq!(send(&t, Method::GET, &too_long, &[("cookie", &cookie)], None).await.status, 400);

    // And remove it again (several at once would be one form with several `client`s).
    let form = format!("csrf={}&change=remove&client={KUNDE_E}", after.csrf());
    let removed = send(&t, Method::POST, &format!("{details_path}/clients"), &[("cookie", &cookie)], Some(&form)).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(t.decision(&agent, "write", resource, KUNDE_E).await, NA);
    assert_eq!(t.decision(&agent, "write", resource, KUNDE_B).await, PERMIT);

    // A client that has not given the package cannot be added: refused, nothing written.
    let before = t.position();
    let form = format!("csrf={}&change=add&client={KUNDE_A}", after.csrf());
    let refused = send(&t, Method::POST, &format!("{details_path}/clients"), &[("cookie", &cookie)], Some(&form)).await;
    assert!(matches!(refused.status, 400 | 403 | 409), "{}: {}", refused.status, refused.body);
    assert_eq!(t.position(), before);
}

#[tokio::test]
async fn the_access_manager_deletes_a_system_user_after_confirming_and_strangers_cannot() {
    let t = TestLedger::new();
    let (id, _) = requested(&t).await;
    t.approve(KUNDE_A, &id, false).await.assert_ok();
    let path = format!("/accessmanagement/ui/systemusers/{id}");

    // Another organisation's administrator: refused, nothing shown.
    let stranger = sign_in(&t, "admin", KUNDE_B, "per").await;
    let page = send(&t, Method::GET, &path, &[("cookie", &stranger)], None).await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains("310000019_maestro"));

    let cookie = sign_in(&t, "admin", KUNDE_A, "kari").await;
    let page = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Slett systembrukeren") && page.body.contains("required"), "{}", page.body);
    let before = t.position();
    // Without the confirmation: nothing.
    let unconfirmed = format!("csrf={}", page.csrf());
    let refused = send(&t, Method::POST, &format!("{path}/delete"), &[("cookie", &cookie)], Some(&unconfirmed)).await;
    assert_eq!(refused.status, 400);
    // A stranger's genuine form for their own session: refused.
    let theirs = send(&t, Method::GET, "/accessmanagement/ui/systemusers", &[("cookie", &stranger)], None).await;
    let form = format!("confirm=yes&csrf={}", theirs.csrf());
    let refused = send(&t, Method::POST, &format!("{path}/delete"), &[("cookie", &stranger)], Some(&form)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(t.position(), before);

    let form = format!("confirm=yes&csrf={}", page.csrf());
    let deleted =
        send(&t, Method::POST, &format!("{path}/delete"), &[("cookie", &cookie), ("origin", ORIGIN)], Some(&form))
            .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    let overview = send(&t, Method::GET, deleted.header("location"), &[("cookie", &cookie)], None).await;
    assert!(
        overview.body.contains("Systembrukeren er slettet.") && !overview.body.contains(&path),
        "{}",
        overview.body
    );
    let gone = send(&t, Method::GET, &path, &[("cookie", &cookie)], None).await;
    assert_eq!(gone.status, 404);
}

/// NAV A through the pages: an accountant's client administrator adds a client to
/// Superavstemming for A06/A07 only, unticking the payroll package; the PDP and the
/// page follow, and a form that ticks nothing is refused.
#[tokio::test]
async fn nav_a_a_client_is_added_for_a06_a07_only_in_the_pages() {
    let t = TestLedger::new();
    nav_services(&t).await;
    t.grant_role(KUNDE_C, RETT_REVISJON, "REGN").await;
    let agent = superavstemming_agent(&t, "full", &[A06, A07], &[LONN]).await;
    let cookie = sign_in(&t, "client-admin", RETT_REVISJON, "ola").await;
    let details_path = format!("/accessmanagement/ui/systemusers/{agent}");
    let page = send(&t, Method::GET, &details_path, &[("cookie", &cookie)], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // Everything is ticked: the package by Altinn's name, the rights by NAV's titles.
    for text in [
        "Hva systemet får for klientene du legger til",
        &format!("value=\"{}\" checked", pkg(LONN)),
        &format!("value=\"right:{A06}\" checked> Avstemming A06"),
        &format!("value=\"right:{A07}\" checked> Avstemming A07"),
    ] {
        assert!(page.body.contains(text), "the page offers '{text}': {}", page.body);
    }

    // Nothing ticked is no choice: refused, nothing written.
    let before = t.position();
    let form = format!("csrf={}&change=add&client={KUNDE_C}&scoped=1", page.csrf());
    let refused = send(&t, Method::POST, &format!("{details_path}/clients"), &[("cookie", &cookie)], Some(&form)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Velg minst én tilgang"), "{}", refused.body);
    assert_eq!(t.position(), before);

    // A06 and A07 ticked, the package not.
    let form =
        format!("csrf={}&change=add&client={KUNDE_C}&scoped=1&scope=right%3A{A06}&scope=right%3A{A07}", page.csrf());
    let added = send(&t, Method::POST, &format!("{details_path}/clients"), &[("cookie", &cookie)], Some(&form)).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(t.decision(&agent, "read", A06, KUNDE_C).await, PERMIT);
    assert_eq!(t.decision(&agent, "read", INNTEKTSMELDING, KUNDE_C).await, NA, "the package was not given");
    let after = send(&t, Method::GET, &details_path, &[("cookie", &cookie)], None).await;
    assert!(after.body.contains("<strong>kun Avstemming A06, Avstemming A07</strong>"), "{}", after.body);
    assert!(
        after.body.contains(&format!("klient {KUNDE_C} lagt til for kun Avstemming A06, Avstemming A07 av ola")),
        "the history says what for: {}",
        after.body
    );
}
