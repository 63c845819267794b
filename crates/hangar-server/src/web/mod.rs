//! The web UI: server-rendered pages (maud), one stylesheet and one small script, all served by
//! `hangar serve`. Every page is reached through [`Ctx`] (who is signed in, the CSRF token) and
//! answers through [`Ctx::page`] or a [`WebError`], so layout, security headers and error pages are
//! the same everywhere. The contract of each page is docs/WEB.md.

pub mod account;
pub mod admin;
pub mod device;
mod form;
pub mod orgs;
pub mod repo;
pub mod tokens;
mod markdown;

pub use form::{Errors, WebForm};

use crate::auth::session_cookie;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hangar_core::token;
use hangar_store::{Org, User};
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub const ANON_CSRF_COOKIE: &str = "hangar_csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(repo::home))
        .route("/static/hangar.css", get(|| async { asset("text/css; charset=utf-8", include_str!("static/hangar.css")) }))
        .route("/static/hangar.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("static/hangar.js")) }))
        .route("/join", get(account::join_page).post(account::join))
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        .route("/password/forgot", get(account::forgot_page).post(account::forgot))
        .route("/password/reset", get(account::reset_page).post(account::reset))
        .route("/email/verify", get(account::verify_page))
        .route("/settings/account", get(account::settings_page))
        .route("/settings/account/resend-verification", post(account::resend))
        .route("/settings/account/email", post(account::change_email))
        .route("/settings/tokens", get(tokens::list_page))
        .route("/settings/tokens/new", get(tokens::new_page).post(tokens::create))
        .route("/settings/tokens/{id}/rename", post(tokens::rename))
        .route("/settings/tokens/{id}/refresh", post(tokens::refresh))
        .route("/settings/tokens/{id}/revoke", get(tokens::revoke_page).post(tokens::revoke))
        .route("/settings/organizations", get(orgs::my_orgs_page))
        .route("/settings/organizations/invitations/{id}", post(orgs::answer_invitation))
        .route("/organizations/new", get(orgs::new_page).post(orgs::create))
        .route("/organizations/{org}/settings/members", get(orgs::members_page).post(orgs::members_action))
        .route("/organizations/{org}/settings/tokens", get(orgs::tokens_page).post(orgs::tokens_action))
        .route("/organizations/{org}/settings/tokens/new", get(orgs::new_token_page).post(orgs::create_token))
        .route("/organizations/{org}/settings/tokens/{id}/revoke", get(orgs::token_revoke_page).post(|ctx, ip, axum::extract::Path((o, i)): axum::extract::Path<(String, String)>, form| orgs::token_action(ctx, ip, axum::extract::Path((o, i, "revoke".to_owned())), form)))
        .route("/organizations/{org}/settings/tokens/{id}/{what}", post(orgs::token_action))
        .route("/new", get(repo::new_page).post(repo::create))
        .route("/device", get(device::page).post(device::decide))
        .route("/oauth/device", post(device::device_authorization))
        .route("/oauth/token", post(device::token))
        .route("/admin", get(|| async { axum::response::Redirect::to("/admin/users") }))
        .route("/admin/users", get(admin::users_page).post(admin::users_action))
        .route("/admin/tokens", get(admin::tokens_page).post(admin::tokens_action))
        .route("/admin/audit", get(admin::audit_page))
        .route("/{namespace}", get(repo::namespace_page))
        .merge(repo::routes())
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// Who is looking at a page: the signed-in user (from the session cookie) and the CSRF token its
/// forms carry. Anonymous visitors get a random CSRF cookie (double submit) for the forms they use.
pub struct Ctx {
    pub state: AppState,
    pub user: Option<User>,
    pub csrf: String,
    /// The path and query of this request, for "log in and come back".
    pub here: String,
    pub base: String,
    new_anon_cookie: bool,
    secure: bool,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secure = state.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
        let here = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
        let base = crate::access::BaseUrl::from_request_parts(parts, state).await.map(|b| b.0).unwrap_or_default();
        let mut user = None;
        let mut csrf = None;
        if let Some(cookie) = session_cookie(&parts.headers) {
            match state.store.session_by_hash(&token::hash_token(&cookie), state.now_ms()).await {
                Ok(Some((session, u))) if u.disabled_at.is_none() => {
                    csrf = Some(session.csrf);
                    user = Some(u);
                }
                Ok(_) => {}
                Err(e) => return Err(WebError::Api(e.into()).into_response()),
            }
        }
        let mut new_anon_cookie = false;
        let csrf = match csrf {
            Some(c) => c,
            None => match cookie_value(parts, ANON_CSRF_COOKIE).filter(|v| v.len() >= 20 && v.len() <= 100) {
                Some(v) => v,
                None => {
                    new_anon_cookie = true;
                    crate::accounts::new_code().0
                }
            },
        };
        Ok(Ctx { state: state.clone(), user, csrf, here, base, new_anon_cookie, secure })
    }
}

fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|kv| {
            let (k, val) = kv.trim().split_once('=')?;
            (k == name && !val.is_empty()).then(|| val.to_owned())
        })
    })
}

/// An answer other than the page asked for.
#[derive(Debug)]
pub enum WebError {
    /// 303 See Other to a local path.
    Redirect(String),
    /// A page with just a heading and a message.
    Status(StatusCode, String),
    Api(ApiError),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

impl From<hangar_store::StoreError> for WebError {
    fn from(e: hangar_store::StoreError) -> Self {
        WebError::Api(e.into())
    }
}

pub type WebResult<T = Response> = Result<T, WebError>;

pub fn not_found() -> WebError {
    WebError::Status(StatusCode::NOT_FOUND, "This page does not exist, or you do not have access to it.".into())
}

pub fn forbidden(msg: impl Into<String>) -> WebError {
    WebError::Status(StatusCode::FORBIDDEN, msg.into())
}

pub fn see_other(to: impl Into<String>) -> Response {
    let to = to.into();
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A `next` target that stays on this site.
pub fn local_path(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control)).then_some(next)
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            WebError::Redirect(to) => return see_other(to),
            WebError::Status(s, m) => (s, m),
            WebError::Api(e) => match e {
                ApiError::RepoNotFound { .. } | ApiError::NotFound(_) | ApiError::RevisionNotFound(_) | ApiError::EntryNotFound { .. } => {
                    (StatusCode::NOT_FOUND, e.to_string())
                }
                ApiError::Internal(err) => {
                    tracing::error!(error = ?err, "internal error on a page");
                    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Try again in a moment.".into())
                }
                other => (other.status(), other.public_message()),
            },
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let body = layout(None, "", title, html! { h1 { (title) } p.notice.error { (message) } p { a href="/" { "Back to the home page" } } });
        let mut r = (status, axum::response::Html(body.into_string())).into_response();
        security_headers(r.headers_mut());
        r
    }
}

fn security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

impl Ctx {
    pub fn require_user(&self) -> WebResult<&User> {
        self.user.as_ref().ok_or_else(|| WebError::Redirect(format!("/login?next={}", percent_encoding::utf8_percent_encode(&self.here, percent_encoding::NON_ALPHANUMERIC))))
    }

    pub fn require_site_admin(&self) -> WebResult<&User> {
        let u = self.require_user()?;
        if !u.site_admin {
            return Err(forbidden("Only site administrators can open this page."));
        }
        Ok(u)
    }

    /// Refuses a form whose `csrf` field is not this visitor's token.
    pub fn check_csrf(&self, form: &WebForm) -> WebResult<()> {
        let sent = form.get("csrf");
        if !crate::signing::constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            return Err(WebError::Status(
                StatusCode::BAD_REQUEST,
                "This form expired or did not come from this site. Go back, reload the page and try again.".into(),
            ));
        }
        Ok(())
    }

    /// The hidden CSRF field of every form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A complete page with the site's layout.
    pub fn page(&self, status: StatusCode, title: &str, body: Markup) -> Response {
        let markup = layout(Some(self), &self.csrf, title, body);
        let mut r = (status, axum::response::Html(markup.into_string())).into_response();
        security_headers(r.headers_mut());
        if self.new_anon_cookie && self.user.is_none() {
            let secure = if self.secure { "; Secure" } else { "" };
            if let Ok(v) = HeaderValue::from_str(&format!("{ANON_CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}", self.csrf)) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        r
    }

    pub fn ok(&self, title: &str, body: Markup) -> WebResult {
        Ok(self.page(StatusCode::OK, title, body))
    }

    /// A form shown again after invalid input.
    pub fn invalid(&self, title: &str, body: Markup) -> WebResult {
        Ok(self.page(StatusCode::UNPROCESSABLE_ENTITY, title, body))
    }
}

/// The site's frame: header with navigation, the page, a footer.
fn layout(ctx: Option<&Ctx>, csrf: &str, title: &str, body: Markup) -> Markup {
    let user = ctx.and_then(|c| c.user.as_ref());
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Hangar" }
                link rel="stylesheet" href="/static/hangar.css";
                script src="/static/hangar.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    a.brand href="/" { "Hangar" }
                    nav aria-label="Main" {
                        a href="/?type=models" { "Models" }
                        a href="/?type=datasets" { "Datasets" }
                        a href="/?type=spaces" { "Spaces" }
                    }
                    nav.account aria-label="Account" {
                        @if let Some(u) = user {
                            a href="/new" { "New repo" }
                            a href={ "/" (u.name) } { "Profile" }
                            a href="/settings/tokens" { "Access Tokens" }
                            a href="/settings/account" { "Settings" }
                            @if u.site_admin { a href="/admin/users" { "Admin" } }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { "Log out " (u.name) }
                            }
                        } @else {
                            a href="/login" { "Log in" }
                            a.button href="/join" { "Sign up" }
                        }
                    }
                }
                main #main { (body) }
                footer.site { "Hangar · a self-hosted hub for models and datasets" }
            }
        }
    }
}

/// `2026-11-24 06:31 UTC`.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// A notice line shown at the top of a page (`?notice=` after a redirect).
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(t) = text { p.notice role="status" { (t) } } }
}

pub fn user_orgs_markup(orgs: &[(Org, String)]) -> Markup {
    html! { @for (o, role) in orgs { li { a href={ "/" (o.name) } { (o.name) } " · " (role) } } }
}

/// Raw HTML that was produced by a trusted renderer (the sanitised model card).
pub fn trusted(html: String) -> PreEscaped<String> {
    PreEscaped(html)
}
