//! Who is calling. Bearer tokens (and HTTP Basic with the token as password, for git) and browser
//! sessions resolve to one [`Caller`]. A header that is present but wrong is a 401, never
//! "anonymous". Account management routes take [`AccountAuth`] instead: a session or the account's
//! password, never a token.

use crate::error::{ApiError, INVALID_CREDENTIALS};
use crate::fine_grained;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use base64::Engine as _;
use hangar_core::policy::{Grant, Principal, Role};
use hangar_core::token;
use hangar_store::{Org, TokenRecord, User};
use std::net::{IpAddr, SocketAddr};

/// `last_used_at` is written at most this often per token, so reads stay reads.
const TOUCH_INTERVAL_MS: i64 = 60_000;
pub const SESSION_COOKIE: &str = "hangar_session";

#[derive(Debug, Clone)]
pub struct Authed {
    /// The account: the token's owner, or for an organization token the admin who created it.
    pub user: User,
    /// The token used, or `None` for a browser session.
    pub token: Option<TokenRecord>,
    /// Set for organization tokens: they act as this organization.
    pub org: Option<Org>,
    pub principal: Principal,
}

impl Authed {
    /// The name the caller acts as: the user, or the organization of an organization token.
    pub fn name(&self) -> &str {
        &self.principal.name
    }
    /// The user behind the request when it acts as a user (not an organization token).
    pub fn acting_user(&self) -> Option<&User> {
        self.org.is_none().then_some(&self.user)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<Authed>);

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref().map(|a| &a.principal)
    }
    pub fn is_anonymous(&self) -> bool {
        self.0.is_none()
    }
    /// The authenticated caller, or a 401 asking for a token.
    pub fn require(&self, what: &str) -> Result<&Authed, ApiError> {
        self.0.as_ref().ok_or_else(|| {
            ApiError::AuthRequired(format!("You must be authenticated to {what}. Pass a token with the Authorization header."))
        })
    }
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim());
    }
    None
}

/// `(username, password)` of an HTTP Basic header.
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned()))
}

/// The SHA-256 of the token in the `Authorization` header: `None` without the header, an error when
/// the header is there but holds no well-formed token (the checksum rejects typos and invented
/// tokens without a database lookup).
pub fn presented_token_hash(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::InvalidCredentials(INVALID_CREDENTIALS))?;
    let secret = match bearer(value) {
        Some(t) => t.to_owned(),
        None => basic_credentials(value).map(|(_, p)| p).ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?,
    };
    if !token::is_well_formed(&secret) {
        return Err(ApiError::InvalidCredentials(INVALID_CREDENTIALS));
    }
    Ok(Some(token::hash_token(&secret)))
}

/// The client's address, for throttling and the audit log.
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Counts a failed authentication; a 429 once the address is past the limit.
pub fn authentication_failed(state: &AppState, ip: IpAddr, error: ApiError) -> ApiError {
    let now = state.now_ms();
    if let Some(secs) = state.throttle.locked(ip, now).or_else(|| state.throttle.record_failure(ip, now)) {
        tracing::warn!(%ip, "too many failed authentications from one address");
        return ApiError::TooManyRequests { retry_after: secs, message: too_many(secs) };
    }
    error
}

pub fn too_many(secs: u64) -> String {
    format!("Too many failed authentication attempts from your address. Try again in {secs} seconds.")
}

/// Turns the stored token found for a presented hash into the caller. A token that was presented
/// but not found (unknown, revoked) or that expired is a 401.
pub async fn caller_from(state: &AppState, ip: IpAddr, presented: bool, found: Option<(TokenRecord, User)>, now: i64) -> Result<Caller, ApiError> {
    if !presented {
        return Ok(Caller(None));
    }
    let Some((record, user)) = found else {
        return Err(authentication_failed(state, ip, ApiError::InvalidCredentials(INVALID_CREDENTIALS)));
    };
    if user.disabled_at.is_some() {
        return Err(ApiError::InvalidCredentials("This token's account is disabled by a site administrator"));
    }
    if record.is_expired(now) {
        let when = record.expires_at.map(crate::handlers::iso).unwrap_or_default();
        return Err(ApiError::TokenExpired(format!(
            "This token ('{}') expired on {when}. Create a new token in your settings, or refresh this one.",
            record.name
        )));
    }
    let grant = match record.role.as_str() {
        "fineGrained" => Grant::FineGrained(fine_grained::to_policy(record.fine_grained.as_deref().unwrap_or("{}"))),
        r => Grant::Classic(Role::parse(r).ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?),
    };
    let org = match record.org_id {
        Some(id) => Some(state.store.org_by_id(id).await?.ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?),
        None => None,
    };
    if record.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL_MS) {
        // At most one write per token per minute; awaited, so a listing right after sees it.
        if let Err(e) = state.store.touch_token(record.id, now).await {
            tracing::warn!(error = %e, token_id = record.id, "could not record token use");
        }
    }
    let principal = match &org {
        Some(o) => Principal { name: o.name.clone(), is_org: true, grant },
        None => Principal { name: user.name.clone(), is_org: false, grant },
    };
    Ok(Caller(Some(Authed { user, token: Some(record), org, principal })))
}

/// The session cookie's value, when the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|kv| {
            let (k, val) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE && !val.is_empty()).then(|| val.to_owned())
        })
    })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The user of a valid session cookie. A request that changes something must also carry the
/// session's CSRF token in `X-CSRF-Token`.
pub async fn session_user(state: &AppState, parts: &Parts) -> Result<Option<(User, String)>, ApiError> {
    session_user_of(state, &parts.headers, &parts.method).await
}

pub async fn session_user_of(state: &AppState, headers: &HeaderMap, method: &Method) -> Result<Option<(User, String)>, ApiError> {
    let Some(cookie) = session_cookie(headers) else { return Ok(None) };
    let Some((session, user)) = state.store.session_by_hash(&token::hash_token(&cookie), state.now_ms()).await? else {
        return Ok(None);
    };
    if !is_safe(method) {
        let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !crate::signing::constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
            return Err(ApiError::ForbiddenCode {
                code: "CsrfTokenMissing",
                message: "This request needs the X-CSRF-Token header of your session (GET /api/account returns it).".into(),
            });
        }
    }
    Ok(Some((user, session.csrf)))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        if let Some(hash) = presented_token_hash(&parts.headers).map_err(|e| authentication_failed(state, ip, e))? {
            let now = state.now_ms();
            let found = state.store.token_by_hash(&hash).await?;
            return caller_from(state, ip, true, found, now).await;
        }
        session_caller(state, &parts.headers, &parts.method).await
    }
}

/// The caller of a request without a token: a browser session, or anonymous.
pub async fn session_caller(state: &AppState, headers: &HeaderMap, method: &Method) -> Result<Caller, ApiError> {
    if let Some((user, _)) = session_user_of(state, headers, method).await? {
        let principal = Principal { name: user.name.clone(), is_org: false, grant: Grant::Account };
        return Ok(Caller(Some(Authed { user, token: None, org: None, principal })));
    }
    Ok(Caller(None))
}

/// Account credentials: a browser session, or HTTP Basic with the username (or email) and the
/// account password. Access tokens are refused: a token never manages tokens.
#[derive(Debug, Clone)]
pub struct AccountAuth {
    pub user: User,
    /// The session's CSRF token, when authenticated by a session.
    pub csrf: Option<String>,
    pub ip: IpAddr,
}

impl FromRequestParts<AppState> for AccountAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let value = value.to_str().map_err(|_| ApiError::InvalidCredentials(INVALID_CREDENTIALS))?;
            let token_like = bearer(value).is_some() || basic_credentials(value).is_some_and(|(_, p)| token::is_well_formed(&p));
            if token_like {
                return Err(ApiError::ForbiddenCode {
                    code: "TokenNotAllowed",
                    message: "Access tokens cannot manage the account or its tokens. Log in with your username and password (HTTP Basic) or a browser session.".into(),
                });
            }
            let (login, password) = basic_credentials(value).ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?;
            let user = crate::accounts::verify_password_login(state, ip, &login, &password).await?;
            return Ok(AccountAuth { user, csrf: None, ip });
        }
        if let Some((user, csrf)) = session_user(state, parts).await? {
            return Ok(AccountAuth { user, csrf: Some(csrf), ip });
        }
        Err(ApiError::AuthRequired(
            "Log in first: this needs your account's username and password (HTTP Basic) or a browser session, not an access token.".into(),
        ))
    }
}

/// The client address as an extractor.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// A [`Caller`] that may also be the account itself through HTTP Basic with the password: for
/// routes that accept both tokens and account credentials (organization management).
pub struct Acting(pub Caller, pub IpAddr);

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        let password_login = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials)
            .filter(|(_, p)| !token::is_well_formed(p));
        if let Some((login, password)) = password_login {
            let user = crate::accounts::verify_password_login(state, ip, &login, &password).await?;
            let principal = Principal { name: user.name.clone(), is_org: false, grant: Grant::Account };
            return Ok(Acting(Caller(Some(Authed { user, token: None, org: None, principal })), ip));
        }
        Ok(Acting(Caller::from_request_parts(parts, state).await?, ip))
    }
}
