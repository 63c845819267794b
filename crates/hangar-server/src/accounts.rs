//! Account rules shared by the API handlers and the operator CLI: validation of names, emails and
//! passwords, password hashing and checking, and the single-use codes mailed as links.

use crate::audit;
use crate::auth::{authentication_failed, too_many};
use crate::error::{ApiError, ApiResult};
use crate::mail::Mail;
use crate::state::AppState;
use base64::Engine as _;
use hangar_core::names::validate_name_part;
use hangar_core::token;
use hangar_store::{EmailCode, User};
use std::net::IpAddr;

/// Names that would shadow a route (`/datasets/…`, `/api/…`) cannot be taken by users or organizations.
const RESERVED: &[&str] = &[
    "api", "datasets", "spaces", "models", "organizations", "settings", "email", "password", "login", "logout", "signup",
    "lfs", "avatars", "new", "admin", "hangar", "static", "docs", "oauth", "join", "pricing", "hf-inference", "resolve", "device",
];

pub fn validate_namespace_name(name: &str, what: &str) -> ApiResult<()> {
    validate_name_part(name, what)?;
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(ApiError::bad_request(format!("{what}: '{name}' is reserved; pick another name")));
    }
    Ok(())
}

pub fn validate_email(email: &str) -> ApiResult<()> {
    let bad = || ApiError::bad_request(format!("email: '{}' is not a valid email address", email.chars().take(100).collect::<String>()));
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.contains('@') || domain.len() < 3 || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad());
    }
    Ok(())
}

pub fn validate_password(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if n < 8 {
        return Err(ApiError::bad_request("password: must have at least 8 characters"));
    }
    if password.len() > 1024 {
        return Err(ApiError::bad_request("password: must have at most 1024 bytes"));
    }
    Ok(())
}

/// argon2id, off the async runtime.
pub async fn hash_password(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    Ok(tokio::task::spawn_blocking(move || crate::admin::hash_password(&password)).await.map_err(anyhow::Error::from)??)
}

async fn password_matches(hash: String, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody has, checked when the login is unknown so that unknown and known
/// names take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Tj6sJYGdz2xAqXBqZrv1Wn0yqzg2RVbKykGljtODWoM";

/// Checks a username (or email) and password. Failures count against the client address and are
/// audited; a locked-out address gets 429 before any check.
pub async fn verify_password_login(state: &AppState, ip: IpAddr, login: &str, password: &str) -> ApiResult<User> {
    if let Some(secs) = state.throttle.locked(ip, state.now_ms()) {
        return Err(ApiError::TooManyRequests { retry_after: secs, message: too_many(secs) });
    }
    let user = if login.contains('@') { state.store.user_by_email(login).await? } else { state.store.user_by_name(login).await? };
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
    let ok = password_matches(hash, password).await && user.is_some();
    match user {
        Some(u) if ok && u.disabled_at.is_some() => Err(ApiError::ForbiddenCode {
            code: "AccountDisabled",
            message: "This account is disabled. Contact the administrator of this Hangar.".into(),
        }),
        Some(u) if ok => Ok(u),
        found => {
            if let Some(u) = &found {
                audit::record(state, audit::Event::user(&u.name, u.id, Some(ip)), "login.failed", serde_json::json!({})).await;
            }
            Err(authentication_failed(state, ip, ApiError::InvalidCredentials("Invalid username or password")))
        }
    }
}

/// A random code for a link, and its hash for storage.
pub fn new_code() -> (String, String) {
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = token::hash_token(&code);
    (code, hash)
}

pub const VERIFY_TTL_MS: i64 = 24 * 3600 * 1000;
pub const RESET_TTL_MS: i64 = 3600 * 1000;

/// Stores a new single-use code for `user` (only its hash) and returns the code for the link.
pub async fn issue_code(state: &AppState, user: &User, purpose: &str, email: &str, ttl_ms: i64) -> ApiResult<String> {
    let (code, hash) = new_code();
    let now = state.now_ms();
    let record = EmailCode { code_hash: hash, user_id: user.id, purpose: purpose.into(), email: email.into(), created_at: now, expires_at: now + ttl_ms, used_at: None };
    state.store.create_email_code(record).await?;
    Ok(code)
}

/// Mails a verification link for `email` (the account's address, or a new one being changed to).
pub async fn send_verification(state: &AppState, base: &str, user: &User, email: &str, purpose: &str) -> ApiResult<()> {
    let code = issue_code(state, user, purpose, email, VERIFY_TTL_MS).await?;
    let link = format!("{base}/email/verify?code={code}");
    let body = format!(
        "Hello {},\n\nConfirm that {email} is your address on Hangar by opening this link:\n\n{link}\n\n\
         The link works once and expires in 24 hours. Until your address is verified you cannot create access tokens.\n\n\
         If you did not ask for this, ignore this mail.\n",
        user.name
    );
    state.mailer.send(Mail { to: email.into(), subject: "Verify your email address for Hangar".into(), body, links: vec![link] });
    Ok(())
}
