//! The customer's pages: server-rendered HTML for the people of a customer organisation,
//! in bokmål and English — the request a vendor's `confirmUrl` names, answered with a
//! button — and the dev sign-in that lets a person try them locally.
//!
//! The pages act with the caller's own bearer token and role, exactly as the API does,
//! never with more: they run the same domain commands through the same
//! [`Services::execute`](super::Services). The token comes from the `Authorization`
//! header (an identity-aware proxy in front forwards it) or the session cookie the dev
//! sign-in sets ([`session`]). Every write is a form POST carrying a CSRF token bound to
//! that token, from this service's own origin. The pages hold no rule of their own
//! beyond which roles may use them, and no script: a strict policy lets them load only
//! this service's style sheet and post forms only to this service (and to the vendor's
//! `redirectUrl` a request names, where an answer sends the person back).

mod i18n;
mod packages;
mod requests;
mod session;
mod systemusers;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::auth::{Principal, Role};
use i18n::{Lang, Msg};

/// Where the pages live (Altinn's own prefix for the request pages).
pub const UI: &str = "/accessmanagement/ui";
const STYLE_PATH: &str = "/accessmanagement/ui/portal.css";
const SIGNIN_PATH: &str = "/accessmanagement/ui/signin";
const SIGNOUT_PATH: &str = "/accessmanagement/ui/signout";
const STYLE: &str = include_str!("portal.css");
/// Most bytes of a page's form body: a few short fields, or a whole list of ticked
/// clients (`client=<nine digits>&` is 17 bytes; 500 of them and the token fit).
pub const FORM_BODY_BYTES_MAX: usize = 16 * 1024;
/// Longest `next` address the sign-in returns to.
const NEXT_PATH_BYTES_MAX: usize = 2048;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(requests::standard_page))
        .routes(routes!(requests::agent_page))
        .routes(routes!(requests::change_page))
        .routes(routes!(requests::answer))
        .routes(routes!(systemusers::overview))
        .routes(routes!(systemusers::details))
        .routes(routes!(systemusers::change_clients))
        .routes(routes!(systemusers::delete))
        .routes(routes!(signin_page, signin))
        .routes(routes!(signout))
        .routes(routes!(style))
}

/// What every page knows of its request: the language and who is signed in.
pub struct Ctx {
    pub lang: Lang,
    /// Set when `?lang=` chose the language, so the choice is remembered.
    pub chose_lang: bool,
    pub who: Option<Signed>,
    /// The page's own address without `lang` (for the language switch and sign-in).
    pub here: String,
    /// Whether this service signs people in itself (its generated dev key).
    pub dev_signin: bool,
}

/// A signed-in person: the verified principal, and the token (for CSRF tokens).
pub struct Signed {
    pub principal: Principal,
    pub token: String,
}

impl Signed {
    fn csrf(&self) -> String {
        session::csrf_token(&self.token)
    }
}

/// Why a page cannot be shown to this caller.
pub enum Refusal {
    /// No token, or one that is not valid.
    SignIn,
    /// Two tokens, or a header that is no bearer token.
    Ambiguous,
}

/// The language and the signed-in person of a page request.
pub fn context(state: &AppState, headers: &HeaderMap, lang: Option<&str>, here: String) -> (Ctx, Option<Refusal>) {
    let chosen = lang.and_then(Lang::parse);
    let mut ctx = Ctx {
        lang: session::language(headers, lang),
        chose_lang: chosen.is_some(),
        who: None,
        here,
        dev_signin: state.dev_key.is_some(),
    };
    let refusal = match session::bearer_token(headers) {
        Err(_) => Some(Refusal::Ambiguous),
        Ok(None) => Some(Refusal::SignIn),
        Ok(Some(token)) => match state.verifier.verify(Some(&format!("Bearer {token}"))) {
            Ok(principal) => {
                ctx.who = Some(Signed { principal, token });
                None
            }
            Err(_) => Some(Refusal::SignIn),
        },
    };
    (ctx, refusal)
}

/// The context of a form post, which only a signed-in person may make; else the page
/// that says to sign in (or that two tokens disagree).
pub fn signed_in(state: &AppState, headers: &HeaderMap, here: String) -> Result<Ctx, Box<Response>> {
    match context(state, headers, None, here) {
        (ctx, None) => Ok(ctx),
        (ctx, Some(refusal)) => Err(Box::new(refused(&ctx, refusal))),
    }
}

/// The roles the pages serve: a customer organisation's people.
pub const PAGE_ROLES: [Role; 2] = [Role::Admin, Role::ClientAdmin];

/// A whole page: the skip link, the header with the language switch and who is signed
/// in, and `main` under the title.
pub fn layout(ctx: &Ctx, title: &str, main: Markup) -> Markup {
    let t = |m| ctx.lang.t(m);
    let other = ctx.lang.other();
    let sep = if ctx.here.contains('?') { '&' } else { '?' };
    let switch = format!("{}{sep}lang={}", ctx.here, other.code());
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (t(Msg::ServiceName)) }
                link rel="stylesheet" href=(STYLE_PATH);
            }
            body {
                a.skip href="#main" { (t(Msg::SkipToContent)) }
                header {
                    p.service { (t(Msg::ServiceName)) }
                    nav aria-label=(t(Msg::ServiceName)) {
                        // Written in the language it offers ("In English" on a page in bokmål).
                        a href=(switch) hreflang=(other.code()) lang=(other.code()) { (t(Msg::SwitchLanguage)) }
                        @if let Some(who) = &ctx.who {
                            a href=(systemusers::OVERVIEW_PATH) { (t(Msg::SystemUsersTitle)) }
                            span.who { (signed_in_as(ctx.lang, &who.principal)) }
                            form method="post" action=(SIGNOUT_PATH) {
                                input type="hidden" name="csrf" value=(who.csrf());
                                button type="submit" { (t(Msg::SignOut)) }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (main)
                }
            }
        }
    }
}

fn signed_in_as(lang: Lang, p: &Principal) -> String {
    let who = p.person.as_deref().unwrap_or(&p.subject);
    let org = p.org.as_ref().map(|o| o.to_string()).unwrap_or_else(|| "—".to_owned());
    lang.fill(Msg::SignedInAs, &[who, &org])
}

/// A page answer with the pages' policy: only this service's style sheet, forms only to
/// this service and to `form_targets` (origins a form's answer may redirect to), never
/// framed, no referrer to other sites (a request's address carries its id).
pub fn page(ctx: &Ctx, status: StatusCode, body: Markup, form_targets: &[String]) -> Response {
    let mut response = (status, body.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    let targets: String = form_targets.iter().map(|t| format!(" {t}")).collect();
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'{targets}; base-uri 'none'; \
         frame-ancestors 'none'"
    );
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert("content-security-policy", policy);
    }
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null`
    // with the pages' own forms, which the same-origin check must refuse. Other sites
    // (the vendor a person is sent back to) still get no referrer.
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if ctx.chose_lang {
        let cookie = session::set_cookie(session::LANG_COOKIE, ctx.lang.code(), session::LANG_COOKIE_MAX_AGE_S, "");
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// A page that only says something (a refusal, an error), with the way on where there is
/// one.
pub fn message_page(ctx: &Ctx, status: StatusCode, title: &str, text: &str) -> Response {
    let signin = (status == StatusCode::UNAUTHORIZED).then(|| signin_link(ctx));
    let body = layout(
        ctx,
        title,
        html! {
            p role="alert" { (text) }
            @if let Some(link) = signin { (link) }
        },
    );
    page(ctx, status, body, &[])
}

/// The way to sign in: the dev sign-in here, or a word that the proxy signs people in.
fn signin_link(ctx: &Ctx) -> Markup {
    let next = serde_urlencoded::to_string([("next", ctx.here.as_str())]).unwrap_or_default();
    html! {
        @if ctx.dev_signin {
            p { a href=(format!("{SIGNIN_PATH}?{next}")) { (ctx.lang.t(Msg::SignIn)) } }
        } @else {
            p { (ctx.lang.t(Msg::SignInNotHere)) }
        }
    }
}

/// The answer to a page request that cannot be shown to this caller.
pub fn refused(ctx: &Ctx, refusal: Refusal) -> Response {
    match refusal {
        Refusal::SignIn => {
            message_page(ctx, StatusCode::UNAUTHORIZED, ctx.lang.t(Msg::SignIn), ctx.lang.t(Msg::NotSignedIn))
        }
        Refusal::Ambiguous => {
            message_page(ctx, StatusCode::BAD_REQUEST, ctx.lang.t(Msg::SignIn), ctx.lang.t(Msg::FormForged))
        }
    }
}

/// A form body read as `T`, or why not: 400 and nothing done.
pub fn form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    if body.len() > FORM_BODY_BYTES_MAX {
        return None;
    }
    serde_urlencoded::from_bytes(body).ok()
}

/// Whether a write from a page may go ahead: same origin, and the CSRF token of the
/// signed-in person's token.
pub fn form_is_genuine(state: &AppState, headers: &HeaderMap, who: &Signed, csrf: &str) -> bool {
    session::same_origin(headers, &state.public_url) && session::csrf_matches(&who.token, csrf)
}

#[derive(serde::Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
    next: Option<String>,
}

/// A `next` address the sign-in may send a person to: a path on this service.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= NEXT_PATH_BYTES_MAX
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n.to_owned()
        }
        _ => SIGNIN_PATH.to_owned(),
    }
}

/// The dev sign-in: a person of an organisation, in a role the pages serve.
#[utoipa::path(get, path = "/accessmanagement/ui/signin", operation_id = "page_signin", tag = "Pages",
    summary = "Sign in to the pages (only while the service uses its generated dev key)",
    params(
        ("lang" = Option<String>, Query, description = "`nb` or `en`"),
        ("next" = Option<String>, Query, description = "The page (a path on this service) to go to once signed in"),
    ),
    responses(
        (status = 200, description = "The sign-in form", content_type = "text/html", body = String),
        (status = 400, description = "A query this page cannot read", content_type = "text/html", body = String),
        (status = 404, description = "This service does not sign people in (it trusts an identity provider's tokens)", content_type = "text/html", body = String),
    ))]
pub async fn signin_page(State(state): State<AppState>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let query: Option<LangQuery> = serde_urlencoded::from_str(uri.query().unwrap_or("")).ok();
    let (lang, next) = query.map_or((None, None), |q| (q.lang, q.next));
    let (ctx, _) = context(&state, &headers, lang.as_deref(), signin_here(next.as_deref()));
    let t = |m| ctx.lang.t(m);
    if state.dev_key.is_none() {
        return message_page(&ctx, StatusCode::NOT_FOUND, t(Msg::SignIn), t(Msg::SignInNotHere));
    }
    let next = local_path(next.as_deref());
    let body = layout(
        &ctx,
        t(Msg::SignInTitle),
        html! {
            p { (t(Msg::SignInIntro)) }
            form method="post" action=(SIGNIN_PATH) {
                input type="hidden" name="next" value=(next);
                fieldset {
                    legend { (t(Msg::Role)) }
                    label { input type="radio" name="role" value="admin" checked; " " (t(Msg::SignInAsAdmin)) }
                    label { input type="radio" name="role" value="client-admin"; " " (t(Msg::SignInAsClientAdmin)) }
                }
                label for="org" { (t(Msg::OrgNo)) }
                input id="org" name="org" required inputmode="numeric" pattern="[0-9]{9}" autocomplete="organization";
                label for="person" { (t(Msg::Person)) }
                input id="person" name="person" required pattern="[A-Za-z0-9._\\-]{1,64}" autocomplete="username";
                button type="submit" { (t(Msg::SignIn)) }
            }
        },
    );
    page(&ctx, StatusCode::OK, body, &[])
}

fn signin_here(next: Option<&str>) -> String {
    match next {
        Some(n) => format!("{SIGNIN_PATH}?{}", serde_urlencoded::to_string([("next", n)]).unwrap_or_default()),
        None => SIGNIN_PATH.to_owned(),
    }
}

/// The dev sign-in's form.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInForm {
    role: PageRole,
    #[schema(pattern = "^[0-9]{9}$")]
    org: String,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    person: String,
    /// The page (a path on this service) to go to once signed in.
    next: Option<String>,
}

/// The roles one signs in to the pages as.
#[derive(Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PageRole {
    Admin,
    ClientAdmin,
}

/// Most characters of a dev sign-in's person name.
const PERSON_CHARS_MAX: usize = 64;

#[utoipa::path(post, path = "/accessmanagement/ui/signin", operation_id = "page_signin_submit", tag = "Pages",
    summary = "Sign in (dev key only): sets the session cookie and goes to `next`",
    request_body(content_type = "application/x-www-form-urlencoded", content = SignInForm,
        description = "`role` (`admin` or `client-admin`), `org` (nine digits), `person` (1–64 of A–Z, a–z, 0–9, `.`, `_`, `-`), optional `next`"),
    responses(
        (status = 303, description = "Signed in: to `next`, with the session cookie"),
        (status = 400, description = "A form this page cannot take; nobody is signed in", content_type = "text/html", body = String),
        (status = 403, description = "A form from another site", content_type = "text/html", body = String),
        (status = 404, description = "This service does not sign people in", content_type = "text/html", body = String),
    ))]
pub async fn signin(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (ctx, _) = context(&state, &headers, None, SIGNIN_PATH.to_owned());
    let t = |m| ctx.lang.t(m);
    let Some(key) = &state.dev_key else {
        return message_page(&ctx, StatusCode::NOT_FOUND, t(Msg::SignIn), t(Msg::SignInNotHere));
    };
    if !session::same_origin(&headers, &state.public_url) {
        return message_page(&ctx, StatusCode::FORBIDDEN, t(Msg::SignIn), t(Msg::FormForged));
    }
    let Some(f) = form::<SignInForm>(&body) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, t(Msg::SignIn), t(Msg::FormUnreadable));
    };
    let role = match f.role {
        PageRole::Admin => Role::Admin,
        PageRole::ClientAdmin => Role::ClientAdmin,
    };
    let org = crate::domain::ids::OrgNo::parse(&f.org).ok();
    let person_ok = !f.person.is_empty()
        && f.person.chars().count() <= PERSON_CHARS_MAX
        && f.person.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let (Some(org), true) = (org, person_ok) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, t(Msg::SignIn), t(Msg::FormUnreadable));
    };
    let now_s = chrono::Utc::now().timestamp();
    let token = key.mint(role, Some(&org), Some(&f.person), now_s, session::SESSION_TTL_S);
    let mut response = see_other(&local_path(f.next.as_deref()));
    let cookie = session::set_cookie(session::SESSION_COOKIE, &token, session::SESSION_TTL_S, &state.public_url);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The sign-out form.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOutForm {
    /// The page's CSRF token.
    csrf: String,
}

#[utoipa::path(post, path = "/accessmanagement/ui/signout", operation_id = "page_signout", tag = "Pages",
    summary = "Sign out: forgets the session cookie",
    request_body(content_type = "application/x-www-form-urlencoded", content = SignOutForm, description = "`csrf`: the page's CSRF token"),
    responses(
        (status = 303, description = "Signed out: to the sign-in page, the session cookie cleared"),
        (status = 400, description = "A form this page cannot take", content_type = "text/html", body = String),
        (status = 401, description = "Nobody is signed in", content_type = "text/html", body = String),
        (status = 403, description = "A form from another site", content_type = "text/html", body = String),
    ))]
pub async fn signout(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let ctx = match signed_in(&state, &headers, SIGNIN_PATH.to_owned()) {
        Ok(ctx) => ctx,
        Err(page) => return *page,
    };
    let t = |m| ctx.lang.t(m);
    let who = ctx.who.as_ref().expect("signed in");
    let Some(f) = form::<SignOutForm>(&body) else {
        return message_page(&ctx, StatusCode::BAD_REQUEST, t(Msg::SignOut), t(Msg::FormUnreadable));
    };
    if !form_is_genuine(&state, &headers, who, &f.csrf) {
        return message_page(&ctx, StatusCode::FORBIDDEN, t(Msg::SignOut), t(Msg::FormForged));
    }
    let mut response = see_other(SIGNIN_PATH);
    let cleared = session::set_cookie(session::SESSION_COOKIE, "", 0, &state.public_url);
    response.headers_mut().append(header::SET_COOKIE, cleared);
    response
}

/// 303 See Other to `location` (after a form: the browser GETs it).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[utoipa::path(get, path = "/accessmanagement/ui/portal.css", operation_id = "page_style", tag = "Pages",
    summary = "The pages' style sheet",
    responses((status = 200, description = "The style sheet", content_type = "text/css", body = String)))]
pub async fn style() -> Response {
    let mut response = STYLE.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}
