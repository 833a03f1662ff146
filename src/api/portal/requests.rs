//! The request pages a vendor's `confirmUrl` names (standard, agent and change
//! requests): what is asked, by which system and vendor, for which organisation, with
//! its status, expiry and history; and the customer's answer, approve or reject, after
//! which the person is sent back to the vendor's `redirectUrl` when the request named
//! one (as Altinn does), or sees the outcome here.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::i18n::{Lang, Msg};
use super::{
    context, form, form_is_genuine, layout, message_page, page, refused, see_other, signed_in, Ctx, PAGE_ROLES, UI,
};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::auth::Role;
use crate::domain::events::{Actor, UserType};
use crate::domain::ids::{OrgNo, PackageUrn, Right, SystemId};
use crate::domain::model::{Ended, ReadModel, RequestStatus};
use crate::domain::Command;

/// Which of Altinn's three request pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Request,
    AgentRequest,
    ChangeRequest,
}

impl Kind {
    fn segment(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::AgentRequest => "agentrequest",
            Kind::ChangeRequest => "changerequest",
        }
    }

    fn title(self) -> Msg {
        match self {
            Kind::Request => Msg::StandardRequestTitle,
            Kind::AgentRequest => Msg::AgentRequestTitle,
            Kind::ChangeRequest => Msg::ChangeRequestTitle,
        }
    }

    fn path(self) -> String {
        format!("{UI}/systemuser/{}", self.segment())
    }
}

/// A request of any kind, as the page shows it.
struct Shown {
    system_id: SystemId,
    party: OrgNo,
    status: RequestStatus,
    created: DateTime<Utc>,
    expires: DateTime<Utc>,
    redirect_url: Option<String>,
    decided: Option<Ended>,
    escalated: Option<Ended>,
    /// (label, rights) and (label, packages) rows, in order.
    rights: Vec<(Msg, Vec<Right>)>,
    packages: Vec<(Msg, Vec<PackageUrn>)>,
    external_ref: Option<String>,
    system_user: Option<Uuid>,
}

impl Shown {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::New && now > self.expires
    }
}

fn find<K: ReadModel + ?Sized>(model: &K, kind: Kind, id: &Uuid) -> Option<Shown> {
    if kind == Kind::ChangeRequest {
        let c = model.change_request(id)?;
        return Some(Shown {
            system_id: c.system_id,
            party: c.party_org_no,
            status: c.status,
            created: c.created,
            expires: c.expires,
            redirect_url: c.redirect_url,
            decided: c.decided,
            escalated: None,
            rights: vec![(Msg::RightsToAdd, c.required_rights), (Msg::RightsToRemove, c.unwanted_rights)],
            packages: vec![
                (Msg::PackagesToAdd, c.required_access_packages),
                (Msg::PackagesToRemove, c.unwanted_access_packages),
            ],
            external_ref: None,
            system_user: Some(c.system_user_id),
        });
    }
    let user_type = if kind == Kind::AgentRequest { UserType::Agent } else { UserType::Standard };
    let r = model.request(id).filter(|r| r.user_type == user_type)?;
    let rights = if kind == Kind::Request { vec![(Msg::Rights, r.rights)] } else { vec![] };
    Some(Shown {
        system_id: r.system_id,
        party: r.party_org_no,
        status: r.status,
        created: r.created,
        expires: r.expires,
        redirect_url: r.redirect_url,
        decided: r.decided,
        escalated: r.escalated,
        rights,
        packages: vec![(Msg::AccessPackages, r.access_packages)],
        external_ref: Some(r.external_ref).filter(|e| !e.is_empty()),
        system_user: None,
    })
}

#[derive(serde::Deserialize)]
struct PageQuery {
    id: Option<String>,
    lang: Option<String>,
    /// Set by the answer's redirect: which answer was just given.
    done: Option<Answer>,
    #[serde(rename = "DONTCHOOSEREPORTEE")]
    _dont_choose_reportee: Option<String>,
}

macro_rules! request_pages {
    ($($(#[$meta:meta])* $name:ident: $kind:expr;)*) => {$(
        $(#[$meta])*
        pub async fn $name(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
            show(&state, &headers, &uri, $kind)
        }
    )*};
}

request_pages! {
    #[utoipa::path(get, path = "/accessmanagement/ui/systemuser/request", operation_id = "request_page", tag = "Pages",
        summary = "The page a standard request's confirmUrl names: the request, and approve or reject",
        params(
            ("id" = Option<String>, Query, description = "The request's id, as the `confirmUrl` gives it"),
            ("lang" = Option<String>, Query, description = "`nb` or `en` (remembered in a cookie)"),
        ),
        responses(
            (status = 200, description = "The request page", content_type = "text/html", body = String),
            (status = 400, description = "No request id, or one that is no UUID", content_type = "text/html", body = String),
            (status = 401, description = "Not signed in: the way to sign in", content_type = "text/html", body = String),
            (status = 403, description = "A role the pages do not serve, or a request to another organisation", content_type = "text/html", body = String),
            (status = 404, description = "No such request", content_type = "text/html", body = String),
        ))]
    standard_page: Kind::Request;
    #[utoipa::path(get, path = "/accessmanagement/ui/systemuser/agentrequest", operation_id = "agent_request_page", tag = "Pages",
        summary = "The page an agent request's confirmUrl names: the request, and approve or reject",
        params(
            ("id" = Option<String>, Query, description = "The request's id, as the `confirmUrl` gives it"),
            ("lang" = Option<String>, Query, description = "`nb` or `en` (remembered in a cookie)"),
        ),
        responses(
            (status = 200, description = "The agent request page", content_type = "text/html", body = String),
            (status = 400, description = "No request id, or one that is no UUID", content_type = "text/html", body = String),
            (status = 401, description = "Not signed in: the way to sign in", content_type = "text/html", body = String),
            (status = 403, description = "A role the pages do not serve, or a request to another organisation", content_type = "text/html", body = String),
            (status = 404, description = "No such request", content_type = "text/html", body = String),
        ))]
    agent_page: Kind::AgentRequest;
    #[utoipa::path(get, path = "/accessmanagement/ui/systemuser/changerequest", operation_id = "change_request_page", tag = "Pages",
        summary = "The page a change request's confirmUrl names: the change, and approve or reject",
        params(
            ("id" = Option<String>, Query, description = "The change request's id, as the `confirmUrl` gives it"),
            ("lang" = Option<String>, Query, description = "`nb` or `en` (remembered in a cookie)"),
        ),
        responses(
            (status = 200, description = "The change request page", content_type = "text/html", body = String),
            (status = 400, description = "No request id, or one that is no UUID", content_type = "text/html", body = String),
            (status = 401, description = "Not signed in: the way to sign in", content_type = "text/html", body = String),
            (status = 403, description = "A role the pages do not serve, or a request to another organisation", content_type = "text/html", body = String),
            (status = 404, description = "No such change request", content_type = "text/html", body = String),
        ))]
    change_page: Kind::ChangeRequest;
}

fn show(state: &AppState, headers: &HeaderMap, uri: &Uri, kind: Kind) -> Response {
    let query: Result<PageQuery, _> = serde_urlencoded::from_str(uri.query().unwrap_or(""));
    let (lang, id, done) = match &query {
        Ok(q) => (q.lang.as_deref(), q.id.clone(), q.done),
        Err(_) => (None, None, None),
    };
    let here = match &id {
        Some(id) => format!("{}?{}", kind.path(), serde_urlencoded::to_string([("id", id)]).unwrap_or_default()),
        None => kind.path(),
    };
    let (ctx, refusal) = context(state, headers, lang, here);
    let title = ctx.lang.t(kind.title());
    if query.is_err() {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::NoRequestNamed));
    }
    if let Some(refusal) = refusal {
        return refused(&ctx, refusal);
    }
    let id = match id.as_deref().map(Uuid::parse_str) {
        None => return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::NoRequestNamed)),
        Some(Err(_)) => return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::NoSuchRequest)),
        Some(Ok(id)) => id,
    };
    let who = &ctx.who.as_ref().expect("no refusal: someone is signed in").principal;
    if !PAGE_ROLES.contains(&who.role) {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::NotAnAdmin));
    }
    let model = state.ledger.model();
    let Some(shown) = find(model, kind, &id) else {
        return message_page(&ctx, StatusCode::NOT_FOUND, title, ctx.lang.t(Msg::NoSuchRequest));
    };
    if who.org.as_ref() != Some(&shown.party) {
        // Another organisation's request: only that it is not theirs, nothing of it.
        let yours = who.org.as_ref().map(|o| o.to_string()).unwrap_or_default();
        let theirs = shown.party.to_string();
        let text = ctx.lang.fill(Msg::NotYourOrganisation, &[&theirs, &yours, &theirs]);
        return message_page(&ctx, StatusCode::FORBIDDEN, title, &text);
    }
    let now = state.now();
    let targets: Vec<String> = shown.redirect_url.as_deref().and_then(origin_of).into_iter().collect();
    let body = layout(&ctx, title, request_body(&ctx, model, kind, id, &shown, now, done));
    page(&ctx, StatusCode::OK, body, &targets)
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (host_end > 0).then(|| url[..scheme_end + 3 + host_end].to_owned())
}

fn request_body<K: ReadModel + ?Sized>(
    ctx: &Ctx,
    model: &K,
    kind: Kind,
    id: Uuid,
    shown: &Shown,
    now: DateTime<Utc>,
    done: Option<Answer>,
) -> Markup {
    let lang = ctx.lang;
    let t = |m| lang.t(m);
    let system = model.system(&shown.system_id);
    let system_name = system_name(model, lang, &shown.system_id);
    let vendor = system.as_ref().map(|s| party_name(model, &s.definition.vendor_org_no));
    let vendor = vendor.unwrap_or_else(|| "—".to_owned());
    let party = party_name(model, &shown.party);
    let asks = if kind == Kind::ChangeRequest { Msg::AsksChange } else { Msg::Asks };
    let expired = shown.expired(now);
    let admin = ctx.who.as_ref().is_some_and(|w| w.principal.role == Role::Admin);
    html! {
        @if let Some(done) = done {
            @if done.matches(shown) {
                p.outcome role="status" { (t(done.outcome())) }
            }
        }
        p.lead { (lang.fill(asks, &[&system_name, &vendor, &party])) }
        dl {
            dt { (t(Msg::System)) } dd { (system_name) " (" code { (shown.system_id.to_string()) } ")" }
            dt { (t(Msg::Vendor)) } dd { (vendor) }
            dt { (t(Msg::ForOrganisation)) } dd { (party) }
            @if let Some(user) = shown.system_user {
                dt { (t(Msg::SystemUser)) } dd { code { (user.to_string()) } }
            }
            @for (label, rights) in &shown.rights {
                dt { (t(*label)) } dd { (rights_list(model, lang, rights)) }
            }
            @for (label, packages) in &shown.packages {
                dt { (t(*label)) } dd { (packages_list(lang, packages)) }
            }
            @if let Some(external) = &shown.external_ref {
                dt { (t(Msg::ExternalRef)) } dd { (external) }
            }
            dt { (t(Msg::Status)) } dd { (status_name(lang, shown, now)) }
            dt { (t(Msg::Created)) } dd { (when(shown.created)) }
            dt { (t(Msg::Expires)) } dd { (when(shown.expires)) }
            @if let Some(url) = &shown.redirect_url {
                dt { (t(Msg::SentBackTo)) } dd { code { (url) } }
            }
        }
        @if shown.status != RequestStatus::New {
            p role="status" { (lang.fill(Msg::NoLongerNew, &[&status_name(lang, shown, now)])) }
        } @else if expired {
            p role="status" { (lang.fill(Msg::Expired, &[&when(shown.expires)])) }
        } @else if !admin {
            p role="status" { (t(Msg::NotAnAdmin)) }
            @if kind == Kind::ChangeRequest {
            } @else if shown.escalated.is_some() {
                p { (t(Msg::AlreadyEscalated)) }
            } @else if let Some(who) = &ctx.who {
                p { (t(Msg::EscalateHint)) }
                form.answer method="post" action=(format!("{UI}/systemuser/answer")) {
                    input type="hidden" name="kind" value=(kind.segment());
                    input type="hidden" name="id" value=(id.to_string());
                    input type="hidden" name="csrf" value=(who.csrf());
                    button.primary type="submit" name="answer" value="escalate" { (t(Msg::Escalate)) }
                }
            }
        } @else if let Some(who) = &ctx.who {
            p { (t(Msg::AnswerHint)) }
            form.answer method="post" action=(format!("{UI}/systemuser/answer")) {
                input type="hidden" name="kind" value=(kind.segment());
                input type="hidden" name="id" value=(id.to_string());
                input type="hidden" name="csrf" value=(who.csrf());
                button.primary type="submit" name="answer" value="approve" { (t(Msg::Approve)) }
                button type="submit" name="answer" value="reject" { (t(Msg::Reject)) }
            }
        }
        (history(lang, shown, &vendor))
    }
}

/// A system's name in `lang` (else bokmål, else any), else its id.
/// A text kept by language code, in the page's language, else bokmål, else any.
fn in_language(texts: &BTreeMap<String, String>, lang: Lang) -> Option<&String> {
    texts.get(lang.code()).or_else(|| texts.get("nb")).or_else(|| texts.values().next())
}

pub(super) fn system_name<K: ReadModel + ?Sized>(model: &K, lang: Lang, id: &SystemId) -> String {
    model.system(id).and_then(|s| in_language(&s.definition.name, lang).cloned()).unwrap_or_else(|| id.to_string())
}

pub(super) fn party_name<K: ReadModel + ?Sized>(model: &K, org: &OrgNo) -> String {
    match model.party(org) {
        Some(p) => format!("{} ({org})", p.name),
        None => org.to_string(),
    }
}

pub(super) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A right in a sentence: its resource's title (else its id), and its action.
pub(super) fn right_name<K: ReadModel + ?Sized>(model: &K, lang: Lang, right: &Right) -> String {
    let title = model.policy(&right.resource).and_then(|p| in_language(&p.title, lang).cloned());
    let title = title.unwrap_or_else(|| right.resource.to_string());
    match &right.action {
        Some(action) => format!("{title} ({})", action.as_str()),
        None => title,
    }
}

/// Rights by their resource's title (from its published policy), each with its id and
/// action; a resource published without a title shows its id alone.
pub(super) fn rights_list<K: ReadModel + ?Sized>(model: &K, lang: Lang, rights: &[Right]) -> Markup {
    html! {
        @if rights.is_empty() { (lang.t(Msg::None)) } @else {
            ul { @for r in rights {
                @let title = model.policy(&r.resource).and_then(|p| in_language(&p.title, lang).cloned());
                li {
                    @if let Some(title) = title { (title) " " small { code { (r.resource.as_str()) } } }
                    @else { code { (r.resource.as_str()) } }
                    @if let Some(a) = &r.action { " (" (a.as_str()) ")" }
                }
            } }
        }
    }
}

/// Packages by name (Altinn's, where known), each with its URN.
pub(super) fn packages_list(lang: Lang, packages: &[PackageUrn]) -> Markup {
    html! {
        @if packages.is_empty() { (lang.t(Msg::None)) } @else {
            ul { @for p in packages {
                li { (super::packages::name(p.as_str(), lang)) " " small { code { (p.as_str()) } } }
            } }
        }
    }
}

fn status_name(lang: Lang, shown: &Shown, now: DateTime<Utc>) -> String {
    let msg = match shown.status {
        RequestStatus::New if shown.expired(now) => Msg::StatusExpired,
        RequestStatus::New => Msg::StatusNew,
        RequestStatus::Accepted => Msg::StatusAccepted,
        RequestStatus::Rejected => Msg::StatusRejected,
        RequestStatus::Withdrawn => Msg::StatusWithdrawn,
    };
    lang.t(msg).to_owned()
}

fn actor_name(actor: &Actor) -> String {
    actor.id.clone()
}

/// What happened to the request, from the ledger: asked, passed on, answered.
fn history(lang: Lang, shown: &Shown, vendor: &str) -> Markup {
    let mut rows: Vec<(DateTime<Utc>, String)> = vec![(shown.created, lang.fill(Msg::HistoryRequested, &[vendor]))];
    if let Some(e) = &shown.escalated {
        rows.push((e.at, lang.fill(Msg::HistoryEscalated, &[&actor_name(&e.actor)])));
    }
    if let Some(e) = &shown.decided {
        let msg = match shown.status {
            RequestStatus::Accepted => Some(Msg::HistoryApproved),
            RequestStatus::Rejected => Some(Msg::HistoryRejected),
            _ => None,
        };
        if let Some(msg) = msg {
            rows.push((e.at, lang.fill(msg, &[&actor_name(&e.actor)])));
        }
    }
    rows.sort_by_key(|(at, _)| *at);
    html! {
        section aria-labelledby="history" {
            h2 id="history" { (lang.t(Msg::History)) }
            ol.history { @for (at, what) in &rows {
                li { time datetime=(at.to_rfc3339()) { (when(*at)) } " — " (what) }
            } }
        }
    }
}

/// The customer's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Approve,
    Reject,
    /// Pass the request on to the organisation's access managers (a person who may
    /// read it but not answer it; not for change requests, as on Altinn).
    Escalate,
}

impl Answer {
    fn outcome(self) -> Msg {
        match self {
            Answer::Approve => Msg::Approved,
            Answer::Reject => Msg::Rejected,
            Answer::Escalate => Msg::Escalated,
        }
    }

    /// Whether the request is as this answer left it (so the outcome may be shown).
    fn matches(self, shown: &Shown) -> bool {
        match self {
            Answer::Approve => shown.status == RequestStatus::Accepted,
            Answer::Reject => shown.status == RequestStatus::Rejected,
            Answer::Escalate => shown.escalated.is_some(),
        }
    }

    fn segment(self) -> &'static str {
        match self {
            Answer::Approve => "approve",
            Answer::Reject => "reject",
            Answer::Escalate => "escalate",
        }
    }
}

/// A request page's answer form.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerForm {
    kind: Kind,
    id: Uuid,
    answer: Answer,
    /// The page's CSRF token.
    csrf: String,
}

/// The customer's answer from a request page: the same command the API's approve and
/// reject run, with the signed-in person's own token and role.
#[utoipa::path(post, path = "/accessmanagement/ui/systemuser/answer", operation_id = "request_page_answer", tag = "Pages",
    summary = "Approve or reject a request from its page",
    request_body(content_type = "application/x-www-form-urlencoded", content = AnswerForm,
        description = "`kind` (`request`, `agentrequest` or `changerequest`), `id`, `answer` (`approve`, `reject`, or `escalate` for a request a client administrator passes on), `csrf` (the page's)"),
    responses(
        (status = 303, description = "Answered: to the vendor's `redirectUrl` when the request named one, else back to the request page"),
        (status = 400, description = "A form this page cannot take; nothing is written", content_type = "text/html", body = String),
        (status = 401, description = "Not signed in", content_type = "text/html", body = String),
        (status = 403, description = "Not the organisation's access manager (a client administrator may only escalate), or a form from another site; nothing is written", content_type = "text/html", body = String),
        (status = 404, description = "No such request", content_type = "text/html", body = String),
        (status = 409, description = "The request is no longer New, or has expired; nothing is written", content_type = "text/html", body = String),
    ))]
pub async fn answer(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let ctx = match signed_in(&state, &headers, format!("{UI}/systemuser/answer")) {
        Ok(ctx) => ctx,
        Err(page) => return *page,
    };
    let t = |m| ctx.lang.t(m);
    let who = ctx.who.as_ref().expect("signed in");
    let Some(f) = form::<AnswerForm>(&body) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, t(Msg::Approve), t(Msg::FormUnreadable));
    };
    let title = t(f.kind.title());
    if !form_is_genuine(&state, &headers, who, &f.csrf) {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, t(Msg::FormForged));
    }
    let may = match f.answer {
        Answer::Approve | Answer::Reject => who.principal.role == Role::Admin,
        Answer::Escalate => PAGE_ROLES.contains(&who.principal.role),
    };
    if !may {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, t(Msg::NotAnAdmin));
    }
    if f.answer == Answer::Escalate && f.kind == Kind::ChangeRequest {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, t(Msg::FormUnreadable));
    }
    let Some(shown) = find(state.ledger.model(), f.kind, &f.id) else {
        return message_page(&ctx, StatusCode::NOT_FOUND, title, t(Msg::NoSuchRequest));
    };
    let Some(party) = who.principal.org.clone().filter(|o| *o == shown.party) else {
        let (yours, theirs) =
            (who.principal.org.as_ref().map(|o| o.to_string()).unwrap_or_default(), shown.party.to_string());
        let text = ctx.lang.fill(Msg::NotYourOrganisation, &[&theirs, &yours, &theirs]);
        return message_page(&ctx, StatusCode::FORBIDDEN, title, &text);
    };
    let command = command(f.kind, f.id, party, f.answer);
    match state.execute(&who.principal, None, command).await {
        // The vendor takes the person back only once the request is answered.
        Ok(_) => match shown.redirect_url.filter(|_| f.answer != Answer::Escalate) {
            Some(url) => see_other(&url),
            None => {
                let query =
                    serde_urlencoded::to_string([("id", f.id.to_string().as_str()), ("done", f.answer.segment())]);
                see_other(&format!("{}?{}", f.kind.path(), query.unwrap_or_default()))
            }
        },
        Err(e) => refused_answer(&ctx, title, e),
    }
}

fn command(kind: Kind, id: Uuid, party: OrgNo, answer: Answer) -> Command {
    let user_type = if kind == Kind::AgentRequest { UserType::Agent } else { UserType::Standard };
    if answer == Answer::Escalate {
        return Command::EscalateRequest { request_id: id, party, user_type };
    }
    let approve = answer == Answer::Approve;
    match kind {
        Kind::ChangeRequest if approve => Command::ApproveChangeRequest { change_request_id: id, party },
        Kind::ChangeRequest => Command::RejectChangeRequest { change_request_id: id, party },
        Kind::Request | Kind::AgentRequest => {
            if approve {
                Command::ApproveRequest { request_id: id, party, user_type }
            } else {
                Command::RejectRequest { request_id: id, party, user_type }
            }
        }
    }
}

/// An answer the ledger did not take: its reason where it is the person's to read,
/// a plain "try again" where the service is at fault (the detail is logged).
pub(super) fn refused_answer(ctx: &Ctx, title: &str, e: ApiError) -> Response {
    let (status, code, detail) = e.parts();
    if status.is_server_error() {
        tracing::error!(code, "a page's answer was not written: {detail}");
        return message_page(ctx, status, title, ctx.lang.t(Msg::Unavailable));
    }
    message_page(ctx, status, title, &ctx.lang.fill(Msg::Refused, &[&detail]))
}
