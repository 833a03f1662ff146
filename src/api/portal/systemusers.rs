//! The organisation's system users: the overview (standard and agent system users, their
//! system and vendor, rights and packages, created when and approved by whom), and one
//! system user's page — for an agent its clients, each with the relationship that lets
//! it be linked, the clients that could be added, add and remove (scenario 10b), and
//! delete with confirmation; the history of each from the ledger.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};
use uuid::Uuid;

use super::i18n::{Lang, Msg};
use super::requests::{packages_list, party_name, right_name, rights_list, system_name, when};
use super::{
    context, form, form_is_genuine, layout, message_page, page, refused, see_other, signed_in, Ctx, PAGE_ROLES,
};
use crate::api::extract::PathParams;
use crate::api::AppState;
use crate::auth::Role;
use crate::domain::events::{Subset, UserType};
use crate::domain::ids::{Action, OrgNo, PackageUrn, ResourceId, Right};
use crate::domain::model::{keys, Link, Outcome, ReadModel, Relationship, SystemUser};
use crate::domain::Command;

pub(super) const OVERVIEW_PATH: &str = "/accessmanagement/ui/systemusers";
/// Most clients one form adds or removes: a whole list as the page shows it.
pub const CLIENTS_PER_FORM_MAX: usize = LIST_ROWS_MAX;
/// Most events a system user's page shows in its history (the auditor's view has all).
const HISTORY_ROWS_MAX: usize = 200;
/// Most rows one list of a page shows (system users, clients, addable clients): an
/// accountant may have thousands of clients; the search narrows the lists.
pub const LIST_ROWS_MAX: usize = 500;
/// Longest client search a page takes.
const SEARCH_CHARS_MAX: usize = 100;

fn user_path(id: &Uuid) -> String {
    format!("{OVERVIEW_PATH}/{id}")
}

#[derive(serde::Deserialize)]
struct PageQuery {
    lang: Option<String>,
    done: Option<Done>,
    /// Clients whose name or organisation number holds this (case-insensitive).
    q: Option<String>,
}

/// What a form just did (the redirect after it says, so the page can).
#[derive(Clone, Copy, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Done {
    Added,
    Removed,
    Deleted,
}

impl Done {
    fn msg(self) -> Msg {
        match self {
            Done::Added => Msg::ClientsAdded,
            Done::Removed => Msg::ClientsRemoved,
            Done::Deleted => Msg::Deleted,
        }
    }
}

fn query(uri: &Uri) -> Result<PageQuery, ()> {
    serde_urlencoded::from_str(uri.query().unwrap_or("")).map_err(|_| ())
}

/// The signed-in person's organisation, or the page that refuses them.
fn signed_org(ctx: &Ctx, title: &str) -> Result<OrgNo, Box<Response>> {
    let who = &ctx.who.as_ref().expect("called after the refusal check").principal;
    match (&who.org, PAGE_ROLES.contains(&who.role)) {
        (Some(org), true) => Ok(org.clone()),
        _ => Err(Box::new(message_page(ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::NotAnAdmin)))),
    }
}

#[utoipa::path(get, path = "/accessmanagement/ui/systemusers", operation_id = "page_system_users", tag = "Pages",
    summary = "The signed-in organisation's system users",
    params(("lang" = Option<String>, Query, description = "`nb` or `en` (remembered in a cookie)")),
    responses(
        (status = 200, description = "The overview", content_type = "text/html", body = String),
        (status = 400, description = "A query this page cannot read", content_type = "text/html", body = String),
        (status = 401, description = "Not signed in: the way to sign in", content_type = "text/html", body = String),
        (status = 403, description = "A role the pages do not serve", content_type = "text/html", body = String),
    ))]
pub async fn overview(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let q = query(&uri);
    let lang = q.as_ref().ok().and_then(|q| q.lang.clone());
    let (ctx, refusal) = context(&state, &headers, lang.as_deref(), OVERVIEW_PATH.to_owned());
    let title = ctx.lang.t(Msg::SystemUsersTitle);
    let Ok(q) = q else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::FormUnreadable));
    };
    if let Some(refusal) = refusal {
        return refused(&ctx, refusal);
    }
    let org = match signed_org(&ctx, title) {
        Ok(org) => org,
        Err(page) => return *page,
    };
    let model = state.ledger.model();
    let mut users: Vec<SystemUser> = model.system_users_of(&org).into_iter().filter(|u| u.deleted.is_none()).collect();
    users.sort_by_key(|u| (u.user_type == UserType::Agent, u.created));
    let total = users.len();
    users.truncate(LIST_ROWS_MAX);
    let lang = ctx.lang;
    let t = |m| lang.t(m);
    let body = html! {
        @if q.done == Some(Done::Deleted) { p.outcome role="status" { (t(Msg::Deleted)) } }
        p.lead { (lang.fill(Msg::SystemUsersIntro, &[&party_name(model, &org)])) }
        @if users.is_empty() { p { (t(Msg::NoSystemUsers)) } }
        @if total > users.len() { p role="status" { (lang.fill(Msg::ShowingFirst, &[&users.len().to_string(), &total.to_string()])) } }
        @for user in &users {
            @let name = user.integration_title.clone().unwrap_or_else(|| system_name(model, lang, &user.system_id));
            section.card aria-labelledby=(format!("u-{}", user.id)) {
                h2 id=(format!("u-{}", user.id)) { a href=(user_path(&user.id)) { (name) } }
                (summary(lang, model, user))
            }
        }
    };
    page(&ctx, StatusCode::OK, layout(&ctx, title, body), &[])
}

/// A system user's facts: system, vendor, kind, rights and packages, created and approved.
fn summary<K: ReadModel + ?Sized>(lang: Lang, model: &K, user: &SystemUser) -> Markup {
    let t = |m| lang.t(m);
    let vendor = model.system(&user.system_id).map(|s| party_name(model, &s.definition.vendor_org_no));
    let approved = model.request(&user.id).and_then(|r| r.decided).map(|d| d.actor.id);
    html! {
        dl {
            dt { (t(Msg::System)) } dd { (system_name(model, lang, &user.system_id)) " (" code { (user.system_id.to_string()) } ")" }
            dt { (t(Msg::Vendor)) } dd { (vendor.unwrap_or_else(|| "—".to_owned())) }
            dt { (t(Msg::Kind)) } dd { (t(if user.user_type == UserType::Agent { Msg::AgentUser } else { Msg::StandardUser })) }
            // A limited agent (NAV's scenarios) carries single rights too.
            @if user.user_type == UserType::Standard || !user.rights.is_empty() {
                dt { (t(Msg::Rights)) } dd { (rights_list(model, lang, &user.rights)) }
            }
            dt { (t(Msg::AccessPackages)) } dd { (packages_list(lang, &user.access_packages)) }
            dt { (t(Msg::Created)) } dd { (when(user.created)) }
            @if let Some(actor) = approved {
                dt { (t(Msg::ApprovedBy)) } dd { (actor) }
            }
        }
    }
}

#[utoipa::path(get, path = "/accessmanagement/ui/systemusers/{id}", operation_id = "page_system_user", tag = "Pages",
    summary = "One system user of the signed-in organisation: for an agent, its clients and those that could be added",
    params(
        ("id" = String, Path, description = "The system user's id"),
        ("lang" = Option<String>, Query, description = "`nb` or `en` (remembered in a cookie)"),
        ("q" = Option<String>, Query, max_length = 100, description = "Only clients whose name or organisation number holds this"),
    ),
    responses(
        (status = 200, description = "The system user's page", content_type = "text/html", body = String),
        (status = 400, description = "An id that is no UUID, or a query this page cannot read", content_type = "text/html", body = String),
        (status = 401, description = "Not signed in: the way to sign in", content_type = "text/html", body = String),
        (status = 403, description = "A role the pages do not serve, or another organisation's system user", content_type = "text/html", body = String),
        (status = 404, description = "No such system user", content_type = "text/html", body = String),
    ))]
pub async fn details(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams(id): PathParams<String>,
) -> Response {
    let q = query(&uri);
    let lang = q.as_ref().ok().and_then(|q| q.lang.clone());
    let (ctx, refusal) = context(&state, &headers, lang.as_deref(), format!("{OVERVIEW_PATH}/{id}"));
    let title = ctx.lang.t(Msg::SystemUser);
    let (Ok(q), Ok(id)) = (q, Uuid::parse_str(&id)) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::NoSuchSystemUser));
    };
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > SEARCH_CHARS_MAX) {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::FormUnreadable));
    }
    if let Some(refusal) = refusal {
        return refused(&ctx, refusal);
    }
    let model = state.ledger.model();
    let user = match owned_user(&ctx, model, &id, title) {
        Ok(user) => user,
        Err(page) => return *page,
    };
    let lang = ctx.lang;
    let changes = match history_rows(&state, model, &user) {
        Ok(changes) => changes,
        Err(e) => return super::requests::refused_answer(&ctx, title, e),
    };
    let name = user.integration_title.clone().unwrap_or_else(|| system_name(model, lang, &user.system_id));
    let body = html! {
        p { a href=(OVERVIEW_PATH) { (lang.t(Msg::BackToOverview)) } }
        @if let Some(done) = q.done { p.outcome role="status" { (lang.t(done.msg())) } }
        h2 { (name) }
        (summary(lang, model, &user))
        @if user.user_type == UserType::Agent { (clients(&ctx, model, &user, search)) }
        (history(lang, model, &changes))
        @if user.deleted.is_none() { (delete_form(&ctx, &user)) }
    };
    page(&ctx, StatusCode::OK, layout(&ctx, title, body), &[])
}

/// The signed-in organisation's own system user, or the page that refuses.
fn owned_user<K: ReadModel + ?Sized>(
    ctx: &Ctx,
    model: &K,
    id: &Uuid,
    title: &str,
) -> Result<SystemUser, Box<Response>> {
    let org = signed_org(ctx, title)?;
    let Some(user) = model.system_user(id).filter(|u| u.deleted.is_none()) else {
        return Err(Box::new(message_page(ctx, StatusCode::NOT_FOUND, title, ctx.lang.t(Msg::NoSuchSystemUser))));
    };
    if user.owner_org_no != org {
        return Err(Box::new(message_page(ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::NotYourSystemUser))));
    }
    Ok(user)
}

/// What lets a client be linked: its register roles, and the packages it gave itself.
fn relationship_words<K: ReadModel + ?Sized>(model: &K, lang: Lang, rel: &Relationship) -> String {
    let mut roles: Vec<String> = rel.grants.iter().filter_map(|g| g.role.map(|r| r.as_str().to_owned())).collect();
    roles.dedup();
    let given =
        rel.grants.iter().filter(|g| g.role.is_none()).map(|g| {
            format!("{} ({})", super::packages::name(g.access_package.as_str(), lang), lang.t(Msg::ClientGave))
        });
    let rights =
        rel.rights.iter().map(|g| format!("{} ({})", right_name(model, lang, &g.right), lang.t(Msg::ClientGaveRight)));
    roles.into_iter().chain(given).chain(rights).collect::<Vec<_>>().join(", ")
}

/// A link's scope in words: `None` for a link to everything the agent carries.
fn scope_of<K: ReadModel + ?Sized>(model: &K, lang: Lang, link: &Link) -> Option<String> {
    let subset = link.subset.as_ref()?;
    let packages = subset.access_packages.iter().map(|p| super::packages::name(p.as_str(), lang));
    let rights = subset.rights.iter().map(|r| right_name(model, lang, r));
    Some(lang.fill(Msg::OnlyScope, &[&packages.chain(rights).collect::<Vec<_>>().join(", ")]))
}

/// Whether a client's relationship gives the agent anything at all: it may be added
/// for that part (the scope the client administrator chooses).
fn gives_any<K: ReadModel + ?Sized>(model: &K, rel: &Relationship, user: &SystemUser) -> bool {
    user.access_packages.iter().any(|p| rel.carrying(p).is_some())
        || user.rights.iter().any(|r| crate::domain::rules::relationship_gives_right(model, rel, r))
}

/// The scope a form value names: a package URN, or `right:<resource>[/<action>]`.
fn scope_item(value: &str) -> Option<Result<PackageUrn, Right>> {
    match value.strip_prefix("right:") {
        None => PackageUrn::parse(value).ok().map(Ok),
        Some(right) => {
            let (resource, action) = match right.split_once('/') {
                Some((resource, action)) => (resource, Some(action)),
                None => (right, None),
            };
            let resource = ResourceId::parse(resource).ok()?;
            let action = action.map(Action::parse).transpose().ok()?;
            Some(Err(Right { resource, action }))
        }
    }
}

/// The form value of one item of what an agent carries (read back by [`scope_item`]).
fn scope_value(item: Result<&PackageUrn, &Right>) -> String {
    match item {
        Ok(package) => package.to_string(),
        Err(right) => format!("right:{right}"),
    }
}

/// Whether a client matches a search: its organisation number or name holds it.
fn matches<K: ReadModel + ?Sized>(model: &K, client: &OrgNo, search: Option<&str>) -> bool {
    let Some(search) = search else { return true };
    let wanted = search.to_lowercase();
    client.as_str().contains(&wanted) || model.party(client).is_some_and(|p| p.name.to_lowercase().contains(&wanted))
}

fn clients<K: ReadModel + ?Sized>(ctx: &Ctx, model: &K, user: &SystemUser, search: Option<&str>) -> Markup {
    let lang = ctx.lang;
    let t = |m| lang.t(m);
    let all_links = model.links_of(&user.id);
    let mut links: Vec<_> = all_links.iter().filter(|l| matches(model, &l.client_org_no, search)).collect();
    let mut addable: Vec<Relationship> = model
        .relationships_of(&user.owner_org_no)
        .into_iter()
        .filter(|rel| gives_any(model, rel, user))
        .filter(|rel| !all_links.iter().any(|l| l.client_org_no == rel.client_org_no))
        .filter(|rel| matches(model, &rel.client_org_no, search))
        .collect();
    let (links_total, addable_total) = (links.len(), addable.len());
    links.truncate(LIST_ROWS_MAX);
    addable.truncate(LIST_ROWS_MAX);
    let showing = |shown: usize, total: usize| lang.fill(Msg::ShowingFirst, &[&shown.to_string(), &total.to_string()]);
    let may_change = ctx.who.as_ref().is_some_and(|w| w.principal.role == Role::ClientAdmin);
    let csrf = ctx.who.as_ref().map(|w| w.csrf()).unwrap_or_default();
    let action = format!("{}/clients", user_path(&user.id));
    html! {
        section aria-labelledby="clients" {
            h2 id="clients" { (t(Msg::Clients)) }
            p { (t(Msg::ClientsIntro)) }
            form.search method="get" action=(user_path(&user.id)) role="search" {
                label for="q" { (t(Msg::SearchClients)) }
                input id="q" name="q" type="search" maxlength=(SEARCH_CHARS_MAX) value=(search.unwrap_or(""));
                button type="submit" { (t(Msg::Search)) }
            }
            @if links_total > links.len() { p role="status" { (showing(links.len(), links_total)) } }
            @if links.is_empty() { p { (t(Msg::NoClients)) } } @else {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="change" value="remove";
                    fieldset {
                        legend { (t(Msg::Clients)) }
                        @for link in links.iter().copied() {
                            @let rel = model.relationship(&link.client_org_no, &user.owner_org_no);
                            @let words = rel.as_ref().map(|r| relationship_words(model, lang, r)).unwrap_or_default();
                            label {
                                @if may_change { input type="checkbox" name="client" value=(link.client_org_no.to_string()); " " }
                                (party_name(model, &link.client_org_no)) " — " (t(Msg::Relationship)) ": " (words)
                                @if let Some(scope) = scope_of(model, lang, link) { " — " strong { (scope) } }
                                " — " (t(Msg::LinkedSince)) " " (when(link.since)) " (" (link.actor.id) ")"
                            }
                        }
                    }
                    @if may_change { button type="submit" { (t(Msg::RemoveClients)) } }
                }
            }
            h2 id="addable" { (t(Msg::AddableClients)) }
            @if addable_total > addable.len() { p role="status" { (showing(addable.len(), addable_total)) } }
            @if addable.is_empty() { p { (t(Msg::NoAddableClients)) } } @else {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="change" value="add";
                    fieldset {
                        legend { (t(Msg::AddableClients)) }
                        @for rel in &addable {
                            label {
                                @if may_change { input type="checkbox" name="client" value=(rel.client_org_no.to_string()); " " }
                                (party_name(model, &rel.client_org_no)) " — " (t(Msg::Relationship)) ": " (relationship_words(model, lang, rel))
                            }
                        }
                    }
                    @if may_change && user.access_packages.len() + user.rights.len() > 1 {
                        input type="hidden" name="scoped" value="1";
                        fieldset {
                            legend { (t(Msg::ScopeLegend)) }
                            p.hint { (t(Msg::ScopeHint)) }
                            @for p in &user.access_packages {
                                label { input type="checkbox" name="scope" value=(scope_value(Ok(p))) checked; " " (super::packages::name(p.as_str(), lang)) }
                            }
                            @for r in &user.rights {
                                label { input type="checkbox" name="scope" value=(scope_value(Err(r))) checked; " " (right_name(model, lang, r)) }
                            }
                        }
                    }
                    @if may_change { button.primary type="submit" { (t(Msg::AddClients)) } }
                }
            }
        }
    }
}

fn delete_form(ctx: &Ctx, user: &SystemUser) -> Markup {
    let t = |m| ctx.lang.t(m);
    let admin = ctx.who.as_ref().filter(|w| w.principal.role == Role::Admin);
    html! {
        @if let Some(who) = admin {
            section aria-labelledby="delete" {
                h2 id="delete" { (t(Msg::DeleteTitle)) }
                form method="post" action=(format!("{}/delete", user_path(&user.id))) {
                    input type="hidden" name="csrf" value=(who.csrf());
                    label { input type="checkbox" name="confirm" value="yes" required; " " (t(Msg::DeleteConfirm)) }
                    button type="submit" { (t(Msg::Delete)) }
                }
            }
        }
    }
}

/// The system user's changes, from the ledger's audit postings (as the auditor's view
/// reads them), newest last.
/// The system user's changes that took effect, from the ledger's audit postings (as the
/// auditor's view reads them), each with what it changed (read from the log).
fn history_rows(
    state: &AppState,
    model: &crate::store::Store,
    user: &SystemUser,
) -> Result<Vec<(Outcome, serde_json::Value)>, crate::api::ApiError> {
    let subject = crate::domain::events::subject::system_user(&user.id);
    let (indexes, outcomes): (Vec<u64>, Vec<Outcome>) = model
        .history_page(&keys::by_subject(&subject), None, HISTORY_ROWS_MAX)
        .into_iter()
        .filter(|(_, o)| o.void.is_none())
        .unzip();
    Ok(outcomes.into_iter().zip(state.changed(&indexes)?).collect())
}

/// The system user's changes, newest last.
fn history<K: ReadModel + ?Sized>(lang: Lang, model: &K, rows: &[(Outcome, serde_json::Value)]) -> Markup {
    html! {
        section aria-labelledby="history" {
            h2 id="history" { (lang.t(Msg::History)) }
            ol.history { @for (o, data) in rows {
                li { time datetime=(o.effective_time.to_rfc3339()) { (when(o.effective_time)) } " — " (history_line(model, lang, o, data)) }
            } }
        }
    }
}

fn history_line<K: ReadModel + ?Sized>(model: &K, lang: Lang, o: &Outcome, data: &serde_json::Value) -> String {
    let actor = o.actor.id.as_str();
    let client = data.get("clientOrgNo").and_then(|c| c.as_str()).unwrap_or("");
    match crate::domain::events::family(&o.type_name) {
        "ledger.systemuser.created" | "ledger.systemuser.createdbyowner" => lang.fill(Msg::HistoryCreated, &[actor]),
        "ledger.systemuserrequest.created" => lang.fill(Msg::HistoryRequested, &[actor]),
        "ledger.systemuserrequest.escalated" => lang.fill(Msg::HistoryEscalated, &[actor]),
        "ledger.systemuserrequest.approved" => lang.fill(Msg::HistoryApproved, &[actor]),
        "ledger.systemuserrequest.rejected" => lang.fill(Msg::HistoryRejected, &[actor]),
        "ledger.client.linked" => match scope_words(model, lang, data) {
            Some(scope) => lang.fill(Msg::HistoryLinkedOnly, &[client, &scope, actor]),
            None => lang.fill(Msg::HistoryLinked, &[client, actor]),
        },
        "ledger.client.unlinked" => lang.fill(Msg::HistoryUnlinked, &[client, actor]),
        "ledger.systemuser.deleted" => lang.fill(Msg::HistoryDeleted, &[actor]),
        "ledger.systemuser.rightschanged" => lang.fill(Msg::HistoryChanged, &[actor]),
        _ => lang.fill(Msg::HistoryOther, &[&o.type_name, actor]),
    }
}

/// A restricted link's scope as a person reads it (`None` for a link to everything).
fn scope_words<K: ReadModel + ?Sized>(model: &K, lang: Lang, data: &serde_json::Value) -> Option<String> {
    let packages = data.get("accessPackages").and_then(|p| p.as_array());
    let rights = data.get("rights").and_then(|r| r.as_array());
    if packages.is_none() && rights.is_none() {
        return None;
    }
    let packages = packages.into_iter().flatten().filter_map(|p| p.as_str()).map(|p| super::packages::name(p, lang));
    let rights = rights.into_iter().flatten().filter_map(|r| {
        let right: Right = serde_json::from_value(r.clone()).ok()?;
        Some(right_name(model, lang, &right))
    });
    Some(packages.chain(rights).collect::<Vec<_>>().join(", "))
}

/// What the ticked boxes give: `None` when everything the agent carries is ticked (a link
/// like any other), the part ticked otherwise; nothing ticked is no choice at all.
fn chosen_subset(user: &SystemUser, scope: Vec<Result<PackageUrn, Right>>) -> Result<Option<Subset>, ()> {
    let mut subset = Subset::default();
    for item in scope {
        match item {
            Ok(package) if !subset.access_packages.contains(&package) => subset.access_packages.push(package),
            Err(right) if !subset.rights.contains(&right) => subset.rights.push(right),
            _ => {}
        }
    }
    if subset.is_empty() {
        return Err(());
    }
    let everything = user.access_packages.iter().all(|p| subset.access_packages.contains(p))
        && user.rights.iter().all(|r| subset.rights.contains(r));
    Ok((!everything).then_some(subset))
}

/// The clients form as the OpenAPI document describes it (the handler reads the pairs
/// itself: `client` comes once per chosen client).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct ClientsForm {
    change: ClientChange,
    /// Organisation numbers, once per chosen client.
    #[schema(max_items = 500, pattern = "^[0-9]{9}$")]
    client: Vec<String>,
    /// `1` when the form offers the scope (an agent carrying more than one thing).
    #[schema(nullable = false)]
    scoped: Option<String>,
    /// With `scoped`: what the added clients give, once per ticked item (a package URN,
    /// or `right:<resource>[/<action>]`); every item ticked is a link to everything.
    #[schema(nullable = false)]
    scope: Option<Vec<String>>,
    /// The page's CSRF token.
    csrf: String,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only
pub enum ClientChange {
    Add,
    Remove,
}

/// Add or remove clients: the same `LinkClient`/`UnlinkClient` the API runs, one per
/// chosen client, with the client administrator's own token.
#[utoipa::path(post, path = "/accessmanagement/ui/systemusers/{id}/clients", operation_id = "page_system_user_clients", tag = "Pages",
    summary = "Add or remove an agent system user's clients",
    params(("id" = String, Path, description = "The agent system user's id")),
    request_body(content_type = "application/x-www-form-urlencoded", content = ClientsForm,
        description = "`change` (`add` or `remove`), `client` (an organisation number; once per client, at most 500), `csrf` (the page's); adding, `scoped` and `scope` (once per ticked package or right) choose what the clients give"),
    responses(
        (status = 303, description = "Done: back to the system user's page"),
        (status = 400, description = "A form this page cannot take; nothing is written", content_type = "text/html", body = String),
        (status = 401, description = "Not signed in", content_type = "text/html", body = String),
        (status = 403, description = "Not a client administrator of the owner, or a form from another site; nothing is written", content_type = "text/html", body = String),
        (status = 404, description = "No such system user", content_type = "text/html", body = String),
        (status = 409, description = "A client that cannot be linked (it has not given what the agent needs); the clients before it are done", content_type = "text/html", body = String),
    ))]
pub async fn change_clients(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    body: axum::body::Bytes,
) -> Response {
    let ctx = match signed_in(&state, &headers, format!("{OVERVIEW_PATH}/{id}")) {
        Ok(ctx) => ctx,
        Err(page) => return *page,
    };
    let title = ctx.lang.t(Msg::Clients);
    let unreadable = || message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::FormUnreadable));
    let (Ok(id), Some(pairs)) = (Uuid::parse_str(&id), form::<Vec<(String, String)>>(&body)) else {
        return unreadable();
    };
    let value = |name: &str| {
        let mut values = pairs.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Some(v.as_str()),
            _ => None,
        }
    };
    let (Some(csrf), Some(change)) = (value("csrf"), value("change")) else { return unreadable() };
    let clients: Result<Vec<OrgNo>, _> =
        pairs.iter().filter(|(k, _)| k == "client").map(|(_, v)| OrgNo::parse(v)).collect();
    let known = pairs.iter().all(|(k, _)| matches!(k.as_str(), "csrf" | "change" | "client" | "scoped" | "scope"));
    let (Ok(clients), true, "add" | "remove") = (clients, known, change) else { return unreadable() };
    let scope: Option<Vec<_>> = pairs.iter().filter(|(k, _)| k == "scope").map(|(_, v)| scope_item(v)).collect();
    let Some(scope) = scope else { return unreadable() };
    let scoped = value("scoped") == Some("1");
    if clients.len() > CLIENTS_PER_FORM_MAX {
        return unreadable();
    }
    let who = ctx.who.as_ref().expect("signed in");
    if !form_is_genuine(&state, &headers, who, csrf) {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::FormForged));
    }
    if who.principal.role != Role::ClientAdmin {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::NotAnAdmin));
    }
    if let Err(page) = owned_user(&ctx, state.ledger.model(), &id, title) {
        return *page;
    }
    if clients.is_empty() {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::ChooseClients));
    }
    let add = change == "add";
    let subset = match (scoped, state.ledger.model().system_user(&id)) {
        (true, Some(user)) => match chosen_subset(&user, scope) {
            Ok(subset) => subset,
            Err(()) => return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::ChooseScope)),
        },
        _ => None,
    };
    for client in clients {
        let command = if add {
            Command::LinkClient { agent: id, client, subset: subset.clone() }
        } else {
            Command::UnlinkClient { agent: id, client }
        };
        if let Err(e) = state.execute(&who.principal, None, command).await {
            return super::requests::refused_answer(&ctx, title, e);
        }
    }
    let done = if add { "added" } else { "removed" };
    see_other(&format!("{}?done={done}", user_path(&id)))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteForm {
    /// Must be `yes`: the person ticked the confirmation.
    #[schema(pattern = "^yes$")]
    confirm: String,
    /// The page's CSRF token.
    csrf: String,
}

/// Delete the system user, as the API's delete does (its clients are unlinked with it).
#[utoipa::path(post, path = "/accessmanagement/ui/systemusers/{id}/delete", operation_id = "page_system_user_delete", tag = "Pages",
    summary = "Delete a system user (the organisation's access manager, after confirming)",
    params(("id" = String, Path, description = "The system user's id")),
    request_body(content_type = "application/x-www-form-urlencoded", content = DeleteForm,
        description = "`confirm` (`yes`), `csrf` (the page's)"),
    responses(
        (status = 303, description = "Deleted: to the overview"),
        (status = 400, description = "A form this page cannot take (no confirmation); nothing is written", content_type = "text/html", body = String),
        (status = 401, description = "Not signed in", content_type = "text/html", body = String),
        (status = 403, description = "Not the owner's access manager, or a form from another site; nothing is written", content_type = "text/html", body = String),
        (status = 404, description = "No such system user", content_type = "text/html", body = String),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    body: axum::body::Bytes,
) -> Response {
    let ctx = match signed_in(&state, &headers, format!("{OVERVIEW_PATH}/{id}")) {
        Ok(ctx) => ctx,
        Err(page) => return *page,
    };
    let title = ctx.lang.t(Msg::DeleteTitle);
    let (Ok(id), Some(f)) = (Uuid::parse_str(&id), form::<DeleteForm>(&body)) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::FormUnreadable));
    };
    if f.confirm != "yes" {
        return message_page(&ctx, StatusCode::BAD_REQUEST, title, ctx.lang.t(Msg::FormUnreadable));
    }
    let who = ctx.who.as_ref().expect("signed in");
    if !form_is_genuine(&state, &headers, who, &f.csrf) {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::FormForged));
    }
    if who.principal.role != Role::Admin {
        return message_page(&ctx, StatusCode::FORBIDDEN, title, ctx.lang.t(Msg::NotAnAdmin));
    }
    let user = match owned_user(&ctx, state.ledger.model(), &id, title) {
        Ok(user) => user,
        Err(page) => return *page,
    };
    let command = Command::DeleteSystemUser { system_user_id: id, party: user.owner_org_no, user_type: user.user_type };
    match state.execute(&who.principal, None, command).await {
        Ok(_) => see_other(&format!("{OVERVIEW_PATH}?done=deleted")),
        Err(e) => super::requests::refused_answer(&ctx, title, e),
    }
}
