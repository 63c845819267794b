//! Token management for a user's own tokens and an organization's tokens. Authenticated by account
//! credentials only (a session or the password): a token never mints, renames or revokes tokens.

use crate::audit::{self, Event};
use crate::auth::AccountAuth;
use crate::error::{ApiError, ApiResult};
use crate::fine_grained::{self, Owner, Spec};
use crate::handlers::{iso, json_body};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::policy::{OrgRole, TokenPolicy};
use hangar_core::token::{mask, Secret};
use hangar_store::{NewToken, Org, TokenRecord, User};
use serde::Deserialize;
use serde_json::{json, Value};

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

pub const MAX_LIVE_TOKENS: usize = 500;
const MAX_EXPIRY_MS: i64 = 10 * 366 * 24 * 3600 * 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub fine_grained: Option<Spec>,
    #[serde(default)]
    pub password: Option<String>,
}

/// `2027-01-31` (valid through that day, UTC) or an RFC 3339 timestamp; must be in the future.
pub fn parse_expiry(s: &str, now: i64) -> ApiResult<i64> {
    let s = s.trim();
    let at = if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.succ_opt().and_then(|n| n.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp_millis())
    } else {
        chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
    };
    let at = at.ok_or_else(|| ApiError::bad_request(format!("expiresAt: '{}' is not a date (2027-01-31) or an ISO 8601 timestamp", s.chars().take(40).collect::<String>())))?;
    if at <= now {
        return Err(ApiError::bad_request(format!("expiresAt: {s} is in the past; pick a future date")));
    }
    if at - now > MAX_EXPIRY_MS {
        return Err(ApiError::bad_request("expiresAt: at most 10 years from now; leave it out for a token that never expires"));
    }
    Ok(at)
}

fn validate_token_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("name: a token name has 1 to 100 printable characters"));
    }
    Ok(name.to_owned())
}

/// The token object of listings and answers (never the secret).
pub async fn token_json(state: &AppState, t: &TokenRecord) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut v = json!({
        "id": t.id.to_string(),
        "name": t.name,
        "role": t.role,
        "masked": mask(&t.last4),
        "createdAt": iso(t.created_at),
        "lastUsedAt": t.last_used_at.map(iso),
        "expiresAt": t.expires_at.map(iso),
        "state": t.state(now),
    });
    if let Some(fg) = &t.fine_grained {
        v["fineGrained"] = fine_grained::to_api(state, fg).await?;
    }
    Ok(v)
}

/// Creates a token for a user (or an organization, with `creator` its admin). Returns the record
/// and the secret, which exists only in this answer.
pub async fn create_token(state: &AppState, owner: Owner<'_>, creator: &User, body: CreateBody) -> ApiResult<(TokenRecord, Secret)> {
    let name = validate_token_name(&body.name)?;
    let now = state.now_ms();
    if !creator.email_verified {
        return Err(ApiError::ForbiddenCode {
            code: "EmailNotVerified",
            message: "Verify your email address before creating access tokens: open the link in the mail we sent you, or ask for a new one with POST /api/account/resend-verification.".into(),
        });
    }
    let fine = match (body.role.as_str(), body.fine_grained) {
        ("fineGrained", Some(spec)) => Some(fine_grained::validate(state, owner_ref(&owner), spec).await?),
        ("fineGrained", None) => return Err(ApiError::bad_request("fineGrained: a fine-grained token needs its permissions ({\"scoped\": [...], \"global\": [...]})")),
        ("read" | "write" | "admin", None) => None,
        ("read" | "write" | "admin", Some(_)) => return Err(ApiError::bad_request("fineGrained: only tokens with the role 'fineGrained' take permissions")),
        (other, _) => return Err(ApiError::bad_request(format!("role: '{other}' is not one of read, write, admin, fineGrained"))),
    };
    let expires_at = body.expires_at.as_deref().map(|e| parse_expiry(e, now)).transpose()?;
    let (existing, org_id) = match &owner {
        Owner::User(u) => (state.store.list_tokens(u.id).await?, None),
        Owner::Org(o) => (state.store.list_org_tokens(o.id).await?, Some(o.id)),
    };
    let live: Vec<_> = existing.iter().filter(|t| t.state(now) == "active").collect();
    if live.len() >= MAX_LIVE_TOKENS {
        return Err(ApiError::bad_request(format!("You have {MAX_LIVE_TOKENS} live tokens, the most allowed. Revoke tokens you no longer use first.")));
    }
    if live.iter().any(|t| t.name == name) {
        return Err(ApiError::Conflict { message: format!("name: a live token named '{name}' exists; pick another name or revoke it"), url: None });
    }
    let secret = Secret::generate();
    let record = state
        .store
        .create_token(NewToken {
            user_id: creator.id,
            name,
            role: body.role.clone(),
            token_hash: secret.hash(),
            last4: secret.expose()[secret.expose().len() - 4..].to_owned(),
            created_at: now,
            expires_at,
            org_id,
            fine_grained: fine,
        })
        .await?;
    request_approvals(state, &owner, &record).await?;
    Ok((record, secret))
}

fn owner_name<'a>(o: &'a Owner<'_>) -> &'a str {
    match o {
        Owner::User(u) => &u.name,
        Owner::Org(o) => &o.name,
    }
}

/// Tells (up to five of) the organization's admins that a token waits for their approval.
async fn notify_admins(state: &AppState, org: &Org, owner: &str, t: &TokenRecord) -> ApiResult<()> {
    let admins = state.store.org_members(org.id).await?.into_iter().filter(|m| m.role == OrgRole::Admin.as_str()).take(5);
    for m in admins {
        let body = format!(
            "Hello {},\n\n{owner} created the fine-grained token '{}' with access to {}. The organization requires \
             administrator approval: it cannot use the organization's resources until an admin approves it.\n\n\
             Review it: GET /api/organizations/{}/settings/token-approvals\n",
            m.user.name, t.name, org.name, org.name
        );
        state.mailer.send(crate::mail::Mail { to: m.user.email, subject: format!("A token waits for approval in {}", org.name), body, links: vec![] });
    }
    Ok(())
}

fn owner_ref<'a>(o: &'a Owner<'a>) -> Owner<'a> {
    match o {
        Owner::User(u) => Owner::User(u),
        Owner::Org(o) => Owner::Org(o),
    }
}

/// A user's fine-grained token that reaches organizations with the approval policy starts pending
/// there, so their admins see it before it is first used.
async fn request_approvals(state: &AppState, owner: &Owner<'_>, t: &TokenRecord) -> ApiResult<()> {
    let (Owner::User(_), Some(fg)) = (owner, &t.fine_grained) else { return Ok(()) };
    for ns in fine_grained::reached_namespaces(state, fg).await? {
        if let Some(org) = state.store.org_by_name(&ns).await? {
            if org.token_policy == TokenPolicy::AdminApproval.as_str() {
                state.store.request_token_approval(org.id, t.id, state.now_ms()).await?;
                notify_admins(state, &org, owner_name(owner), t).await?;
            }
        }
    }
    Ok(())
}

async fn created_response(state: &AppState, record: &TokenRecord, secret: &Secret, status: StatusCode) -> ApiResult<Response> {
    let mut v = token_json(state, record).await?;
    v["token"] = secret.expose().into();
    Ok((status, Json(v)).into_response())
}

fn require_fresh_password(auth: &AccountAuth, body: &CreateBody) -> Option<String> {
    (body.role == "admin" && auth.csrf.is_some()).then(|| body.password.clone().unwrap_or_default())
}

// --- a user's own tokens ------------------------------------------------------------------------

/// `GET /api/settings/tokens`.
pub async fn list_tokens(State(state): State<AppState>, auth: AccountAuth) -> ApiResult<Json<Value>> {
    let mut out = Vec::new();
    for t in state.store.list_tokens(auth.user.id).await? {
        out.push(token_json(&state, &t).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `POST /api/settings/tokens`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_user_token(State(state): State<AppState>, auth: AccountAuth, body: JsonBody<CreateBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    if let Some(password) = require_fresh_password(&auth, &body) {
        if password.is_empty() {
            return Err(ApiError::bad_request("password: creating an admin token needs your password again"));
        }
        crate::accounts::verify_password_login(&state, auth.ip, &auth.user.name, &password).await?;
    }
    let (record, secret) = create_token(&state, Owner::User(&auth.user), &auth.user, body).await?;
    audit::record(&state, Event::user(&auth.user.name, auth.user.id, Some(auth.ip)), "token.create", json!({"tokenId": record.id, "name": record.name, "role": record.role})).await;
    tracing::info!(user = %auth.user.name, token_id = record.id, role = %record.role, "token created");
    created_response(&state, &record, &secret, StatusCode::CREATED).await
}

async fn own_token(state: &AppState, user: &User, id: &str) -> ApiResult<TokenRecord> {
    let not_found = || ApiError::NotFound(format!("You have no token with id '{}'", id.chars().take(24).collect::<String>()));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    match state.store.token_by_id(id).await? {
        Some(t) if t.user_id == user.id && t.org_id.is_none() => Ok(t),
        _ => Err(not_found()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    name: String,
}

async fn rename(state: &AppState, t: &TokenRecord, siblings: Vec<TokenRecord>, name: &str) -> ApiResult<String> {
    let name = validate_token_name(name)?;
    let now = state.now_ms();
    if siblings.iter().any(|o| o.id != t.id && o.name == name && o.state(now) == "active") {
        return Err(ApiError::Conflict { message: format!("name: a live token named '{name}' exists"), url: None });
    }
    state.store.rename_token(t.id, &name).await?;
    Ok(name)
}

/// `PATCH /api/settings/tokens/{id}`: renames.
pub async fn rename_user_token(State(state): State<AppState>, auth: AccountAuth, Path(id): Path<String>, body: JsonBody<RenameBody>) -> ApiResult<Json<Value>> {
    let body = json_body(body)?;
    let t = own_token(&state, &auth.user, &id).await?;
    let name = rename(&state, &t, state.store.list_tokens(auth.user.id).await?, &body.name).await?;
    audit::record(&state, Event::user(&auth.user.name, auth.user.id, Some(auth.ip)), "token.rename", json!({"tokenId": t.id, "from": t.name, "to": name})).await;
    let t = state.store.token_by_id(t.id).await?.ok_or_else(|| ApiError::NotFound("token not found".into()))?;
    Ok(Json(token_json(&state, &t).await?))
}

async fn refresh(state: &AppState, t: &TokenRecord) -> ApiResult<(TokenRecord, Secret)> {
    let secret = Secret::generate();
    let last4 = secret.expose()[secret.expose().len() - 4..].to_owned();
    if !state.store.refresh_token(t.id, &secret.hash(), &last4, state.now_ms()).await? {
        return Err(ApiError::bad_request(format!("The token '{}' is {}: only active tokens can be refreshed", t.name, t.state(state.now_ms()))));
    }
    let t = state.store.token_by_id(t.id).await?.ok_or_else(|| ApiError::NotFound("token not found".into()))?;
    Ok((t, secret))
}

/// `POST /api/settings/tokens/{id}/refresh`: a new secret with the same settings.
pub async fn refresh_user_token(State(state): State<AppState>, auth: AccountAuth, Path(id): Path<String>) -> ApiResult<Response> {
    let t = own_token(&state, &auth.user, &id).await?;
    let (t, secret) = refresh(&state, &t).await?;
    audit::record(&state, Event::user(&auth.user.name, auth.user.id, Some(auth.ip)), "token.refresh", json!({"tokenId": t.id, "name": t.name})).await;
    created_response(&state, &t, &secret, StatusCode::OK).await
}

/// `DELETE /api/settings/tokens/{id}`: revokes; the next request with it fails.
pub async fn revoke_user_token(State(state): State<AppState>, auth: AccountAuth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let t = own_token(&state, &auth.user, &id).await?;
    if state.store.revoke_token_by_id(t.id, state.now_ms(), "revoked by its owner").await? {
        audit::record(&state, Event::user(&auth.user.name, auth.user.id, Some(auth.ip)), "token.revoke", json!({"tokenId": t.id, "name": t.name})).await;
    }
    Ok(Json(json!({})))
}

// --- organization tokens --------------------------------------------------------------------------

/// The organization, when the account is one of its admins.
pub async fn admin_org(state: &AppState, user: &User, org: &str) -> ApiResult<Org> {
    let o = state.store.org_by_name(org).await?.ok_or_else(|| ApiError::NotFound(format!("Organization '{org}' not found")))?;
    match state.store.member_role(o.id, user.id).await?.as_deref().and_then(OrgRole::parse) {
        Some(OrgRole::Admin) => Ok(o),
        _ => Err(ApiError::Forbidden(format!("Only admins of the organization {} can do this.", o.name))),
    }
}

/// `GET /api/organizations/{org}/settings/tokens`.
pub async fn list_org_tokens(State(state): State<AppState>, auth: AccountAuth, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let o = admin_org(&state, &auth.user, &org).await?;
    let mut out = Vec::new();
    for t in state.store.list_org_tokens(o.id).await? {
        out.push(token_json(&state, &t).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `POST /api/organizations/{org}/settings/tokens`: a token that acts as the organization.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_org_token(State(state): State<AppState>, auth: AccountAuth, Path(org): Path<String>, body: JsonBody<CreateBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    let o = admin_org(&state, &auth.user, &org).await?;
    if let Some(password) = require_fresh_password(&auth, &body) {
        crate::accounts::verify_password_login(&state, auth.ip, &auth.user.name, &password).await?;
    }
    let (record, secret) = create_token(&state, Owner::Org(&o), &auth.user, body).await?;
    audit::record(&state, Event { actor: auth.user.name.clone(), user_id: Some(auth.user.id), org_id: Some(o.id), ip: Some(auth.ip) }, "token.create", json!({"tokenId": record.id, "name": record.name, "role": record.role, "org": o.name})).await;
    created_response(&state, &record, &secret, StatusCode::CREATED).await
}

#[derive(Deserialize)]
pub struct OrgTokenPath {
    org: String,
    id: String,
}

async fn org_token(state: &AppState, o: &Org, id: &str) -> ApiResult<TokenRecord> {
    let not_found = || ApiError::NotFound(format!("The organization {} has no token with id '{}'", o.name, id.chars().take(24).collect::<String>()));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    match state.store.token_by_id(id).await? {
        Some(t) if t.org_id == Some(o.id) => Ok(t),
        _ => Err(not_found()),
    }
}

pub async fn rename_org_token(State(state): State<AppState>, auth: AccountAuth, Path(p): Path<OrgTokenPath>, body: JsonBody<RenameBody>) -> ApiResult<Json<Value>> {
    let body = json_body(body)?;
    let o = admin_org(&state, &auth.user, &p.org).await?;
    let t = org_token(&state, &o, &p.id).await?;
    rename(&state, &t, state.store.list_org_tokens(o.id).await?, &body.name).await?;
    let t = org_token(&state, &o, &p.id).await?;
    Ok(Json(token_json(&state, &t).await?))
}

pub async fn refresh_org_token(State(state): State<AppState>, auth: AccountAuth, Path(p): Path<OrgTokenPath>) -> ApiResult<Response> {
    let o = admin_org(&state, &auth.user, &p.org).await?;
    let t = org_token(&state, &o, &p.id).await?;
    let (t, secret) = refresh(&state, &t).await?;
    audit::record(&state, Event { actor: auth.user.name.clone(), user_id: Some(auth.user.id), org_id: Some(o.id), ip: Some(auth.ip) }, "token.refresh", json!({"tokenId": t.id, "name": t.name, "org": o.name})).await;
    created_response(&state, &t, &secret, StatusCode::OK).await
}

pub async fn revoke_org_token(State(state): State<AppState>, auth: AccountAuth, Path(p): Path<OrgTokenPath>) -> ApiResult<Json<Value>> {
    let o = admin_org(&state, &auth.user, &p.org).await?;
    let t = org_token(&state, &o, &p.id).await?;
    if state.store.revoke_token_by_id(t.id, state.now_ms(), "revoked by an organization admin").await? {
        audit::record(&state, Event { actor: auth.user.name.clone(), user_id: Some(auth.user.id), org_id: Some(o.id), ip: Some(auth.ip) }, "token.revoke", json!({"tokenId": t.id, "name": t.name, "org": o.name})).await;
    }
    Ok(Json(json!({})))
}

