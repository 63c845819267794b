//! The OAuth device flow (RFC 8628) as `hf auth login` uses it: `POST /oauth/device` hands out a
//! device code and a short user code; a signed-in user approves the code at `/device` and picks the
//! token's permissions; `POST /oauth/token` then issues an ordinary Hangar token (with an expiry and
//! a refresh token) to the polling client. Device codes and refresh tokens are stored as hashes,
//! and the token is created only when the client collects it, so no secret is ever stored.

use super::form::Input;
use super::{Ctx, Errors, WebError, WebForm, WebResult};
use crate::access::BaseUrl;
use crate::audit::{self, Event};
use crate::auth::ClientIp;
use crate::error::ApiError;
use crate::fine_grained::Owner;
use crate::handlers::tokens::{create_token, CreateBody};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::token::{self, Secret};
use hangar_store::{DeviceCode, StoreError};
use maud::html;
use serde::Deserialize;
use serde_json::json;

const CODE_TTL_SECS: i64 = 900;
const POLL_INTERVAL_SECS: i64 = 2;
/// Device-login tokens live this long; the client refreshes them with the refresh token.
const TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;
/// Letters that cannot be mistaken for each other or for digits.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

fn new_user_code() -> String {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            s.push('-');
        }
        s.push(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char);
    }
    s
}

/// `XXXX-XXXX` from what a person typed (lower case, spaces, no dash).
fn normalize_user_code(s: &str) -> String {
    let letters: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

#[derive(Deserialize)]
pub struct DeviceForm {
    client_id: Option<String>,
}

/// `POST /oauth/device`.
pub async fn device_authorization(State(state): State<AppState>, base: BaseUrl, form: Result<axum::Form<DeviceForm>, axum::extract::rejection::FormRejection>) -> Response {
    let Ok(axum::Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Send client_id as a form (application/x-www-form-urlencoded).");
    };
    let client_id: String = form.client_id.unwrap_or_default().chars().take(100).collect();
    let (device_code, device_hash) = crate::accounts::new_code();
    let now = state.now_ms();
    for _ in 0..5 {
        let user_code = new_user_code();
        let record = DeviceCode {
            device_hash: device_hash.clone(),
            user_code: user_code.clone(),
            client_id: client_id.clone(),
            status: "pending".into(),
            user_id: None,
            role: None,
            token_name: None,
            created_at: now,
            expires_at: now + CODE_TTL_SECS * 1000,
            last_poll_at: None,
        };
        match state.store.create_device_code(record).await {
            Ok(()) => {
                let uri = format!("{}/device", base.0);
                return Json(json!({
                    "device_code": device_code,
                    "user_code": user_code,
                    "verification_uri": uri,
                    "verification_uri_complete": format!("{uri}?user_code={user_code}"),
                    "expires_in": CODE_TTL_SECS,
                    "interval": POLL_INTERVAL_SECS,
                }))
                .into_response();
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "Could not allocate a user code; try again.")
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    device_code: Option<String>,
    refresh_token: Option<String>,
}

/// `POST /oauth/token`: the device-code grant (polled) and the refresh-token grant.
pub async fn token(State(state): State<AppState>, ClientIp(ip): ClientIp, form: Result<axum::Form<TokenForm>, axum::extract::rejection::FormRejection>) -> Response {
    let Ok(axum::Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Send the grant as a form (application/x-www-form-urlencoded).");
    };
    let result = match form.grant_type.as_deref() {
        Some("urn:ietf:params:oauth:grant-type:device_code") => device_grant(&state, ip, form.device_code.as_deref().unwrap_or("")).await,
        Some("refresh_token") => refresh_grant(&state, ip, form.refresh_token.as_deref().unwrap_or("")).await,
        _ => Ok(oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Use the device_code or refresh_token grant.")),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn device_grant(state: &AppState, ip: std::net::IpAddr, device_code: &str) -> Result<Response, ApiError> {
    let hash = token::hash_token(device_code);
    let Some(code) = state.store.device_code_by_hash(&hash).await? else {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Unknown device code."));
    };
    let now = state.now_ms();
    if code.status == "pending" && code.expires_at <= now {
        return Ok(oauth_error(StatusCode::BAD_REQUEST, "expired_token", "The device code expired. Start the login again."));
    }
    match code.status.as_str() {
        "pending" => {
            let too_soon = code.last_poll_at.is_some_and(|t| now - t < POLL_INTERVAL_SECS * 1000 / 2);
            state.store.touch_device_poll(&hash, now).await?;
            if too_soon {
                return Ok(oauth_error(StatusCode::BAD_REQUEST, "slow_down", "Polling too fast."));
            }
            Ok(oauth_error(StatusCode::BAD_REQUEST, "authorization_pending", "Waiting for the user to approve the code in a browser."))
        }
        "denied" => Ok(oauth_error(StatusCode::BAD_REQUEST, "access_denied", "The user denied this login.")),
        "approved" => {
            if !state.store.claim_device_code(&hash).await? {
                return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "This device code was already used."));
            }
            let user_id = code.user_id.ok_or_else(|| anyhow::anyhow!("approved device code without a user"))?;
            let Some(user) = state.store.user_by_id(user_id).await? else {
                return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The account of this login no longer exists."));
            };
            let expires = chrono::DateTime::from_timestamp_millis(now + TOKEN_TTL_SECS * 1000).map(|t| t.to_rfc3339()).unwrap_or_default();
            let body = CreateBody {
                name: code.token_name.clone().unwrap_or_else(|| "device login".into()),
                role: code.role.clone().unwrap_or_else(|| "read".into()),
                expires_at: Some(expires),
                fine_grained: None,
                password: None,
            };
            let (record, secret) = match create_token(state, Owner::User(&user), &user, body).await {
                Ok(x) => x,
                Err(e @ (ApiError::BadRequest(_) | ApiError::Conflict { .. } | ApiError::ForbiddenCode { .. })) => {
                    return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e.public_message()));
                }
                Err(e) => return Err(e),
            };
            let (refresh, refresh_hash) = crate::accounts::new_code();
            state.store.put_refresh_token(&refresh_hash, record.id, now).await?;
            audit::record(state, Event::user(&user.name, user.id, Some(ip)), "token.create", json!({"tokenId": record.id, "name": record.name, "role": record.role, "via": "device"})).await;
            Ok(token_answer(&secret, &refresh))
        }
        _ => Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "This device code was already used.")),
    }
}

fn token_answer(secret: &Secret, refresh: &str) -> Response {
    Json(json!({
        "access_token": secret.expose(),
        "token_type": "bearer",
        "expires_in": TOKEN_TTL_SECS,
        "refresh_token": refresh,
    }))
    .into_response()
}

/// A refresh token works once: it gives the same token a new value and a new expiry, and a new
/// refresh token. A revoked token cannot be refreshed.
async fn refresh_grant(state: &AppState, ip: std::net::IpAddr, refresh: &str) -> Result<Response, ApiError> {
    let invalid = || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "This refresh token is not valid (used, expired or its token revoked). Log in again.");
    let Some(token_id) = state.store.take_refresh_token(&token::hash_token(refresh)).await? else { return Ok(invalid()) };
    let Some(t) = state.store.token_by_id(token_id).await? else { return Ok(invalid()) };
    if t.revoked_at.is_some() {
        return Ok(invalid());
    }
    let now = state.now_ms();
    state.store.set_token_expiry(t.id, Some(now + TOKEN_TTL_SECS * 1000)).await?;
    let secret = Secret::generate();
    let last4 = secret.expose()[secret.expose().len() - 4..].to_owned();
    if !state.store.refresh_token(t.id, &secret.hash(), &last4, now).await? {
        return Ok(invalid());
    }
    let (next, next_hash) = crate::accounts::new_code();
    state.store.put_refresh_token(&next_hash, t.id, now).await?;
    if let Some(owner) = state.store.user_by_id(t.user_id).await? {
        audit::record(state, Event::user(&owner.name, owner.id, Some(ip)), "token.refresh", json!({"tokenId": t.id, "name": t.name, "via": "oauth"})).await;
    }
    Ok(token_answer(&secret, &next))
}

#[derive(Deserialize, Default)]
pub struct CodeQuery {
    user_code: Option<String>,
}

fn approval_form(ctx: &Ctx, code: &str, name: &str, role: &str, errors: &Errors) -> maud::Markup {
    html! {
        h1 { "Log in a device" }
        p { "A program (for example " code { "hf auth login" } " or " code { "hangar auth login" } ") asks to act as " strong { (ctx.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")) } "." }
        p { "Check that the code below is the one the program shows, then choose what its token may do." }
        (errors.summary())
        form method="post" action="/device" novalidate {
            (ctx.csrf_field())
            (Input::new("user_code", "Code").value(code).hint("Eight letters, as XXXX-XXXX.").render(errors))
            (Input::new("name", "Token name").value(name).render(errors))
            fieldset.choices {
                legend { "Permissions of the new token" }
                label for="role-read" { input #role-read type="radio" name="role" value="read" checked[role != "write"]; " " strong { "Read" } " · download and run inference" }
                label for="role-write" { input #role-write type="radio" name="role" value="write" checked[role == "write"]; " " strong { "Write" } " · also create repos and upload" }
            }
            button type="submit" name="decision" value="approve" { "Authorize" }
            " "
            button.secondary type="submit" name="decision" value="deny" { "Deny" }
        }
    }
}

/// `GET /device?user_code=…`.
pub async fn page(ctx: Ctx, Query(q): Query<CodeQuery>) -> WebResult {
    ctx.require_user()?;
    let code = normalize_user_code(q.user_code.as_deref().unwrap_or(""));
    let name = format!("device login {}", chrono::Utc::now().format("%Y-%m-%d %H:%M"));
    ctx.ok("Log in a device", approval_form(&ctx, &code, &name, "read", &Errors::default()))
}

/// `POST /device`: approve or deny a code.
pub async fn decide(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let code = normalize_user_code(form.get("user_code"));
    let name = form.get("name").trim().to_owned();
    let role = form.get("role");
    let mut errors = Errors::default();
    let found = ctx.state.store.device_code_by_user_code(&code).await?;
    let now = ctx.state.now_ms();
    match &found {
        None => errors.add("user_code", "No login is waiting for this code. Check it, or start the login again."),
        Some(c) if c.status != "pending" => errors.add("user_code", "This code was already used."),
        Some(c) if c.expires_at <= now => errors.add("user_code", "This code expired. Start the login again."),
        Some(_) => {}
    }
    let approve = form.get("decision") != "deny";
    if approve {
        if name.is_empty() || name.chars().count() > 100 {
            errors.add("name", "A token name has 1 to 100 characters.");
        }
        if !matches!(role, "read" | "write") {
            errors.add("", "Choose Read or Write.");
        }
        if !user.email_verified {
            errors.add("", "Verify your email address before creating tokens.");
        }
    }
    if !errors.is_empty() {
        return ctx.invalid("Log in a device", approval_form(&ctx, &code, &name, role, &errors));
    }
    let status = if approve { "approved" } else { "denied" };
    let decided = ctx.state.store.decide_device_code(&code, user.id, status, approve.then_some(role), approve.then_some(name.as_str()), now).await?;
    if !decided {
        return Err(WebError::Status(StatusCode::CONFLICT, "This code was decided meanwhile.".into()));
    }
    audit::record(&ctx.state, Event::user(&user.name, user.id, Some(ip)), "device.decide", json!({"decision": status, "role": role})).await;
    let title = if approve { "Device authorized" } else { "Login denied" };
    ctx.ok(
        title,
        html! {
            h1 { (title) }
            @if approve { p.notice.ok { "You can close this page: the program receives its " strong { (role) } " token within a few seconds." } }
            @else { p.notice { "The program was told that the login was denied." } }
            p { a href="/settings/tokens" { "Your access tokens" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_read_back_however_they_are_typed() {
        let c = new_user_code();
        assert_eq!(c.len(), 9);
        assert_eq!(normalize_user_code(&c.to_lowercase().replace('-', " ")), c);
        assert_eq!(normalize_user_code("bcdf-ghjk"), "BCDF-GHJK");
    }
}
