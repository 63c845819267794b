//! Who is calling. Bearer tokens (and HTTP Basic with the token as password, for git) resolve to
//! one [`Caller`]. A header that is present but wrong is a 401, never "anonymous".

use crate::error::{ApiError, INVALID_CREDENTIALS};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine as _;
use hangar_core::policy::{Principal, Role};
use hangar_core::token;
use hangar_store::{TokenRecord, User};

/// `last_used_at` is written at most this often per token, so reads stay reads.
const TOUCH_INTERVAL_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub token: TokenRecord,
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<Authed>);

impl Caller {
    pub fn principal(&self) -> Option<Principal> {
        self.0.as_ref().map(|a| Principal { user_name: a.user.name.clone(), token_role: Some(a.role) })
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

fn basic_password(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, p)| p.to_owned())
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
        None => basic_password(value).ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?,
    };
    if !token::is_well_formed(&secret) {
        return Err(ApiError::InvalidCredentials(INVALID_CREDENTIALS));
    }
    Ok(Some(token::hash_token(&secret)))
}

/// Turns the stored token found for a presented hash into the caller. A token that was presented
/// but not found (unknown, revoked, expired) is a 401.
pub async fn caller_from(state: &AppState, presented: bool, found: Option<(TokenRecord, User)>, now: i64) -> Result<Caller, ApiError> {
    if !presented {
        return Ok(Caller(None));
    }
    let (record, user) = found.ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?;
    let role = Role::parse(&record.role).ok_or(ApiError::InvalidCredentials(INVALID_CREDENTIALS))?;
    if record.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL_MS) {
        // At most one write per token per minute; awaited, so a listing right after sees it.
        if let Err(e) = state.store.touch_token(record.id, now).await {
            tracing::warn!(error = %e, token_id = record.id, "could not record token use");
        }
    }
    Ok(Caller(Some(Authed { user, token: record, role })))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(hash) = presented_token_hash(&parts.headers)? else {
            return Ok(Caller(None));
        };
        let now = state.now_ms();
        let found = state.store.token_by_hash(&hash, now).await?;
        caller_from(state, true, found, now).await
    }
}
