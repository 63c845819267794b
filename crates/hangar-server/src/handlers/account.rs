//! Accounts: sign-up, email verification, log in and out, password reset, email change.

use crate::access::BaseUrl;
use crate::accounts::{self, hash_password, new_code, send_verification, validate_email, validate_namespace_name, validate_password};
use crate::audit::{self, Event};
use crate::auth::{session_cookie, AccountAuth, ClientIp, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::handlers::{iso, json_body};
use crate::mail::Mail;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::token;
use hangar_store::{CodeUse, NewUser, Session, StoreError, User};
use serde::Deserialize;
use serde_json::{json, Value};

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    username: String,
    email: String,
    password: String,
    #[serde(default)]
    fullname: Option<String>,
}

/// Starts a session for `user`: the cookie to set and the CSRF token to send with changes.
pub async fn start_session(state: &AppState, user: &User) -> ApiResult<(HeaderValue, String)> {
    let (id, hash) = new_code();
    let (csrf, _) = new_code();
    let now = state.now_ms();
    state.store.create_session(&hash, Session { user_id: user.id, csrf: csrf.clone(), created_at: now, expires_at: now + SESSION_TTL_MS }).await?;
    let secure = if state.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_TTL_MS / 1000);
    Ok((HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?, csrf))
}

fn account_json(user: &User) -> Value {
    json!({
        "name": user.name,
        "fullname": user.fullname,
        "email": user.email,
        "emailVerified": user.email_verified,
        "pendingEmail": user.pending_email,
        "createdAt": iso(user.created_at),
    })
}

/// Creates an account and mails its verification link. Field errors start with the field's name.
pub async fn create_account(state: &AppState, base: &str, ip: std::net::IpAddr, username: &str, email: &str, password: &str, fullname: &str) -> ApiResult<User> {
    let name = username.trim();
    validate_namespace_name(name, "username")?;
    let email = email.trim();
    validate_email(email)?;
    validate_password(password)?;
    let fullname = fullname.trim().to_owned();
    if fullname.chars().count() > 100 {
        return Err(ApiError::bad_request("fullname: must have at most 100 characters"));
    }
    let new = NewUser {
        name: name.to_owned(),
        fullname,
        email: email.to_owned(),
        email_verified: false,
        password_hash: hash_password(password).await?,
        site_admin: false,
        created_at: state.now_ms(),
    };
    let user = match state.store.create_user(new).await {
        Ok(u) => u,
        Err(StoreError::Conflict("namespaces")) => {
            return Err(ApiError::Conflict { message: format!("username: the name '{name}' is already taken"), url: None })
        }
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict { message: "email: an account with this email address already exists; log in or reset your password".into(), url: None })
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.name, "account created");
    audit::record(state, Event::user(&user.name, user.id, Some(ip)), "signup", json!({})).await;
    send_verification(state, base, &user, &user.email, "verify").await?;
    Ok(user)
}

/// `POST /api/signup`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn signup(State(state): State<AppState>, ClientIp(ip): ClientIp, base: BaseUrl, body: JsonBody<SignupBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    let user = create_account(&state, &base.0, ip, &body.username, &body.email, &body.password, body.fullname.as_deref().unwrap_or("")).await?;
    let (cookie, csrf) = start_session(&state, &user).await?;
    let mut body = account_json(&user);
    body["csrfToken"] = csrf.into();
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

fn code_refusal(used: CodeUse, what: &str) -> ApiError {
    match used {
        CodeUse::AlreadyUsed => ApiError::bad_request(format!("This {what} link was already used. Request a new one if you still need it.")),
        CodeUse::Expired => ApiError::bad_request(format!("This {what} link has expired. Request a new one.")),
        _ => ApiError::bad_request(format!("This {what} link is not valid. Check that you copied all of it, or request a new one.")),
    }
}

/// Consumes a verification code (sign-up or email change) and marks the address verified.
pub async fn verify_code(state: &AppState, ip: std::net::IpAddr, code: &str) -> ApiResult<User> {
    if code.is_empty() {
        return Err(ApiError::bad_request("code: the verification link is missing its code"));
    }
    let hash = token::hash_token(code);
    let now = state.now_ms();
    let mut used = state.store.consume_email_code(&hash, "verify", now).await?;
    if used == CodeUse::Unknown {
        used = state.store.consume_email_code(&hash, "change", now).await?;
    }
    let CodeUse::Consumed(c) = used else { return Err(code_refusal(used, "verification")) };
    let user = state.store.user_by_id(c.user_id).await?.ok_or_else(|| ApiError::bad_request("This verification link belongs to a deleted account."))?;
    if c.purpose == "change" && user.pending_email.as_deref() != Some(c.email.as_str()) {
        return Err(ApiError::bad_request("This link is for an email change that was replaced by a newer one."));
    }
    match state.store.set_email_verified(user.id, &c.email).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(ApiError::Conflict { message: "email: another account now uses this address".into(), url: None }),
        Err(e) => return Err(e.into()),
    }
    let event = if c.purpose == "change" { "email.change" } else { "email.verify" };
    audit::record(state, Event::user(&user.name, user.id, Some(ip)), event, json!({})).await;
    Ok(user)
}

/// `POST /api/account/resend-verification`.
pub async fn resend_verification(State(state): State<AppState>, base: BaseUrl, auth: AccountAuth) -> ApiResult<Response> {
    let u = &auth.user;
    if u.email_verified && u.pending_email.is_none() {
        return Err(ApiError::bad_request("Your email address is already verified."));
    }
    match &u.pending_email {
        Some(pending) => send_verification(&state, &base.0, u, pending, "change").await?,
        None => send_verification(&state, &base.0, u, &u.email, "verify").await?,
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"sent": true}))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// `POST /api/login`: starts a browser session.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, body: JsonBody<LoginBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    let user = accounts::verify_password_login(&state, ip, body.username.trim(), &body.password).await?;
    let (cookie, csrf) = start_session(&state, &user).await?;
    audit::record(&state, Event::user(&user.name, user.id, Some(ip)), "login", json!({})).await;
    let mut resp = Json(json!({"name": user.name, "csrfToken": csrf})).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// `POST /api/logout`: ends the session of the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, _auth: AccountAuth) -> ApiResult<Response> {
    if let Some(cookie) = session_cookie(&headers) {
        state.store.delete_session(&token::hash_token(&cookie)).await?;
    }
    let mut resp = Json(json!({})).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("hangar_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    Ok(resp)
}

/// `GET /api/account`.
pub async fn get_account(State(state): State<AppState>, auth: AccountAuth) -> ApiResult<Json<Value>> {
    let mut v = account_json(&auth.user);
    let orgs = state.store.user_orgs(auth.user.id).await?;
    v["orgs"] = orgs.iter().map(|(o, role)| json!({"name": o.name, "fullname": o.fullname, "roleInOrg": role})).collect::<Vec<_>>().into();
    if let Some(csrf) = auth.csrf {
        v["csrfToken"] = csrf.into();
    }
    Ok(Json(v))
}

/// Mails a reset link when the address has an account; says nothing either way.
pub async fn request_reset(state: &AppState, base: &str, email: &str) -> ApiResult<()> {
    validate_email(email.trim())?;
    if let Some(user) = state.store.user_by_email(email.trim()).await? {
        let code = accounts::issue_code(state, &user, "reset", &user.email, accounts::RESET_TTL_MS).await?;
        let link = format!("{base}/password/reset?code={code}");
        let body = format!(
            "Hello {},\n\nSomeone (hopefully you) asked to reset your Hangar password. Choose a new one here:\n\n{link}\n\n\
             The link works once and expires in one hour. If you did not ask for this, ignore this mail: your password is unchanged.\n",
            user.name
        );
        state.mailer.send(Mail { to: user.email.clone(), subject: "Reset your Hangar password".into(), body, links: vec![link] });
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    email: String,
}

/// `POST /api/password/forgot`: always 202, so it never tells whether an address has an account.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn forgot_password(State(state): State<AppState>, base: BaseUrl, body: JsonBody<ForgotBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    request_reset(&state, &base.0, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"sent": true}))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    code: String,
    password: String,
}

pub async fn reset_with_code(state: &AppState, ip: std::net::IpAddr, code: &str, password: &str) -> ApiResult<User> {
    validate_password(password)?;
    let used = state.store.consume_email_code(&token::hash_token(code), "reset", state.now_ms()).await?;
    let CodeUse::Consumed(c) = used else { return Err(code_refusal(used, "password reset")) };
    let user = state.store.user_by_id(c.user_id).await?.ok_or_else(|| ApiError::bad_request("This link belongs to a deleted account."))?;
    state.store.set_password(user.id, &hash_password(password).await?).await?;
    audit::record(state, Event::user(&user.name, user.id, Some(ip)), "password.reset", json!({})).await;
    Ok(user)
}

/// `POST /api/password/reset`: sets a new password with the mailed code; every session ends.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reset_password(State(state): State<AppState>, ClientIp(ip): ClientIp, body: JsonBody<ResetBody>) -> ApiResult<Json<Value>> {
    let body = json_body(body)?;
    let user = reset_with_code(&state, ip, &body.code, &body.password).await?;
    Ok(Json(json!({"name": user.name})))
}

/// Starts an email change: checks the password, mails a link to the new address and a notice to
/// the old one. Returns the new address.
pub async fn request_email_change(state: &AppState, base: &str, user: &User, ip: std::net::IpAddr, email: &str, password: &str) -> ApiResult<String> {
    let email = email.trim();
    validate_email(email)?;
    accounts::verify_password_login(state, ip, &user.name, password).await?;
    if email.eq_ignore_ascii_case(&user.email) {
        return Err(ApiError::bad_request("email: this is already your address"));
    }
    if state.store.user_by_email(email).await?.is_some() {
        return Err(ApiError::Conflict { message: "email: another account uses this address".into(), url: None });
    }
    state.store.set_pending_email(user.id, Some(email)).await?;
    send_verification(state, base, user, email, "change").await?;
    let notice = format!(
        "Hello {},\n\nA change of your Hangar email address was requested. The new address will be used once it is verified.\n\
         If you did not ask for this, reset your password now.\n",
        user.name
    );
    state.mailer.send(Mail { to: user.email.clone(), subject: "Your Hangar email address is changing".into(), body: notice, links: vec![] });
    Ok(email.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeBody {
    email: String,
    password: String,
}

/// `POST /api/account/email`: the new address replaces the old one once verified.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn change_email(State(state): State<AppState>, base: BaseUrl, auth: AccountAuth, body: JsonBody<EmailChangeBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    let email = request_email_change(&state, &base.0, &auth.user, auth.ip, &body.email, &body.password).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"pendingEmail": email}))).into_response())
}
