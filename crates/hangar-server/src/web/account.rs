//! Account pages: sign up, verification landing, log in and out, forgotten password, settings.

use super::form::Input;
use super::{local_path, notice, see_other, Ctx, Errors, WebForm, WebResult};
use crate::audit::{self, Event};
use crate::auth::{ClientIp, SESSION_COOKIE};
use crate::error::ApiError;
use crate::handlers::account as api;
use axum::extract::Query;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use hangar_core::token;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    notice: Option<String>,
    code: Option<String>,
}

fn join_form(ctx: &Ctx, f: Option<&WebForm>, errors: &Errors) -> Markup {
    let v = |k: &str| f.map(|f| f.get(k).to_owned()).unwrap_or_default();
    let (username, email, fullname) = (v("username"), v("email"), v("fullname"));
    html! {
        h1 { "Create your account" }
        (errors.summary())
        form method="post" action="/join" novalidate {
            (ctx.csrf_field())
            (Input::new("username", "Username").value(&username).autocomplete("username")
                .hint("Letters, digits, '-', '_' and '.'; it is the namespace of your repos.").render(errors))
            (Input::new("email", "Email").kind("email").value(&email).autocomplete("email")
                .hint("We send a link to verify it; tokens can be created once it is verified.").render(errors))
            (Input::new("password", "Password").kind("password").autocomplete("new-password").hint("At least 8 characters.").render(errors))
            (Input::new("fullname", "Full name").value(&fullname).optional().autocomplete("name").render(errors))
            button type="submit" { "Create account" }
        }
        p.muted { "Already have an account? " a href="/login" { "Log in" } }
    }
}

/// `GET /join`.
pub async fn join_page(ctx: Ctx) -> WebResult {
    if ctx.user.is_some() {
        return Ok(see_other("/settings/account"));
    }
    ctx.ok("Sign up", join_form(&ctx, None, &Errors::default()))
}

/// `POST /join`.
pub async fn join(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let mut errors = Errors::default();
    let checks = [
        ("username", crate::accounts::validate_namespace_name(form.get("username").trim(), "username")),
        ("email", crate::accounts::validate_email(form.get("email").trim())),
        ("password", crate::accounts::validate_password(form.get("password"))),
    ];
    for (field, check) in checks {
        if let Err(e) = check {
            let msg = e.public_message();
            errors.add(field, msg.split_once(": ").map(|(_, r)| r.to_owned()).unwrap_or(msg));
        }
    }
    if !errors.is_empty() {
        return ctx.invalid("Sign up", join_form(&ctx, Some(&form), &errors));
    }
    let created = api::create_account(&ctx.state, &ctx.base, ip, form.get("username"), form.get("email"), form.get("password"), form.get("fullname")).await;
    match created {
        Ok(user) => {
            let (cookie, _) = api::start_session(&ctx.state, &user).await?;
            Ok(with_cookie(see_other("/settings/account"), cookie))
        }
        Err(e) => {
            let errors = field_errors(e, &["username", "email", "password", "fullname"])?;
            ctx.invalid("Sign up", join_form(&ctx, Some(&form), &errors))
        }
    }
}

/// Client errors of account functions as form errors; `validate_*` messages name their field.
fn field_errors(e: ApiError, fields: &[&str]) -> WebResult<Errors> {
    if let ApiError::BadRequest(m) = &e {
        for f in fields {
            if m.starts_with(&format!("{f} ")) || m.to_lowercase().starts_with(&format!("{f}:")) {
                let mut errors = Errors::default();
                errors.add(f, m.split_once(": ").map(|(_, r)| r).unwrap_or(m));
                return Ok(errors);
            }
        }
    }
    Errors::from_api(e, fields)
}

fn with_cookie(mut r: Response, cookie: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

fn login_form(ctx: &Ctx, login: &str, next: &str, errors: &Errors) -> Markup {
    html! {
        h1 { "Log in" }
        (errors.summary())
        form method="post" action="/login" novalidate {
            (ctx.csrf_field())
            input type="hidden" name="next" value=(next);
            (Input::new("username", "Username or email").value(login).autocomplete("username").render(errors))
            (Input::new("password", "Password").kind("password").autocomplete("current-password").render(errors))
            button type="submit" { "Log in" }
        }
        p.muted { a href="/password/forgot" { "Forgot your password?" } " · New here? " a href="/join" { "Create an account" } }
    }
}

/// `GET /login`.
pub async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> WebResult {
    let next = q.next.as_deref().and_then(local_path).unwrap_or("/");
    if ctx.user.is_some() {
        return Ok(see_other(next));
    }
    ctx.ok("Log in", html! { (notice(q.notice.as_deref())) (login_form(&ctx, "", next, &Errors::default())) })
}

/// `POST /login`.
pub async fn login(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let next = local_path(form.get("next")).unwrap_or("/").to_owned();
    let login = form.get("username").trim();
    let mut errors = Errors::default();
    let mut status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    if login.is_empty() {
        errors.add("username", "Enter your username or email.");
    }
    if form.get("password").is_empty() {
        errors.add("password", "Enter your password.");
    }
    if errors.is_empty() {
        match crate::accounts::verify_password_login(&ctx.state, ip, login, form.get("password")).await {
            Ok(user) => {
                let (cookie, _) = api::start_session(&ctx.state, &user).await?;
                audit::record(&ctx.state, Event::user(&user.name, user.id, Some(ip)), "login", json!({})).await;
                return Ok(with_cookie(see_other(next), cookie));
            }
            Err(ApiError::InvalidCredentials(_)) => {
                status = axum::http::StatusCode::UNAUTHORIZED;
                errors.add("", "Wrong username or password.");
            }
            Err(e) => {
                status = e.status();
                errors = Errors::from_api(e, &[])?;
            }
        }
    }
    Ok(ctx.page(status, "Log in", login_form(&ctx, login, &next, &errors)))
}

/// `POST /logout`.
pub async fn logout(ctx: Ctx, headers: axum::http::HeaderMap, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    if let Some(cookie) = crate::auth::session_cookie(&headers) {
        ctx.state.store.delete_session(&token::hash_token(&cookie)).await?;
    }
    let clear = HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(with_cookie(see_other("/"), clear))
}

/// `GET /email/verify?code=…`: the link of a verification mail.
pub async fn verify_page(ctx: Ctx, ClientIp(ip): ClientIp, Query(q): Query<NextQuery>) -> WebResult {
    match api::verify_code(&ctx.state, ip, q.code.as_deref().unwrap_or("")).await {
        Ok(user) => ctx.ok(
            "Email verified",
            html! {
                h1 { "Email verified" }
                p.notice.ok { "Thank you, " (user.name) ". Your address " strong { (user.email) } " is verified: you can now create access tokens." }
                p { a.button href="/settings/tokens/new" { "Create your first access token" } }
            },
        ),
        Err(e @ (ApiError::BadRequest(_) | ApiError::Conflict { .. })) => Ok(ctx.page(
            e.status(),
            "Verification failed",
            html! {
                h1 { "This link did not work" }
                p.notice.error { (e.public_message()) }
                p { "Signed in? " a href="/settings/account" { "Send a new verification mail" } " from your settings." }
            },
        )),
        Err(e) => Err(e.into()),
    }
}

fn forgot_form(ctx: &Ctx, email: &str, errors: &Errors) -> Markup {
    html! {
        h1 { "Forgot your password?" }
        p { "Enter the email address of your account. We send a link to choose a new password." }
        (errors.summary())
        form method="post" action="/password/forgot" novalidate {
            (ctx.csrf_field())
            (Input::new("email", "Email").kind("email").value(email).autocomplete("email").render(errors))
            button type="submit" { "Send the link" }
        }
    }
}

pub async fn forgot_page(ctx: Ctx) -> WebResult {
    ctx.ok("Forgot password", forgot_form(&ctx, "", &Errors::default()))
}

/// `POST /password/forgot`: the same answer whether or not the address has an account.
pub async fn forgot(ctx: Ctx, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let email = form.get("email").trim();
    if let Err(e) = api::request_reset(&ctx.state, &ctx.base, email).await {
        let errors = field_errors(e, &["email"])?;
        return ctx.invalid("Forgot password", forgot_form(&ctx, email, &errors));
    }
    ctx.ok(
        "Check your inbox",
        html! {
            h1 { "Check your inbox" }
            p { "If " strong { (email) } " belongs to an account, a link to choose a new password is on its way. It works once, for one hour." }
        },
    )
}

fn reset_form(ctx: &Ctx, code: &str, errors: &Errors) -> Markup {
    html! {
        h1 { "Choose a new password" }
        (errors.summary())
        form method="post" action="/password/reset" novalidate {
            (ctx.csrf_field())
            input type="hidden" name="code" value=(code);
            (Input::new("password", "New password").kind("password").autocomplete("new-password").hint("At least 8 characters.").render(errors))
            button type="submit" { "Set password" }
        }
    }
}

/// `GET /password/reset?code=…`: the page of the reset mail's link.
pub async fn reset_page(ctx: Ctx, Query(q): Query<NextQuery>) -> WebResult {
    ctx.ok("Choose a new password", reset_form(&ctx, q.code.as_deref().unwrap_or(""), &Errors::default()))
}

/// `POST /password/reset`: every session of the account ends.
pub async fn reset(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    match api::reset_with_code(&ctx.state, ip, form.get("code"), form.get("password")).await {
        Ok(_) => ctx.ok(
            "Password changed",
            html! { h1 { "Password changed" } p.notice.ok { "Your password is changed and every session was signed out." } p { a.button href="/login" { "Log in" } } },
        ),
        Err(e) => {
            let errors = field_errors(e, &["password"])?;
            ctx.invalid("Choose a new password", reset_form(&ctx, form.get("code"), &errors))
        }
    }
}

fn settings_body(ctx: &Ctx, email_value: &str, errors: &Errors, flash: Option<&str>, orgs: &[(hangar_store::Org, String)]) -> WebResult<Markup> {
    let u = ctx.require_user()?;
    Ok(html! {
        h1 { "Account settings" }
        (notice(flash))
        @if !u.email_verified {
            div.notice.warn role="status" {
                p { "Your email address is not verified yet: open the link we mailed to " strong { (u.email) } ". Until then you cannot create access tokens." }
                form.inline method="post" action="/settings/account/resend-verification" { (ctx.csrf_field()) button.secondary type="submit" { "Resend verification email" } }
            }
        }
        h2 { "Profile" }
        table {
            tr { th { "Username" } td { (u.name) } }
            tr { th { "Full name" } td { (u.fullname) } }
            tr { th { "Email" } td { (u.email) " "
                @if u.email_verified { span.badge.ok { "verified" } } @else { span.badge.warn { "not verified" } } } }
            @if let Some(p) = &u.pending_email { tr { th { "Pending email" } td { (p) " " span.badge.warn { "waiting for verification" } } } }
            tr { th { "Member since" } td { (super::when(u.created_at)) } }
        }
        h2 { "Organizations" }
        @if orgs.is_empty() { p.muted { "You are not in any organization." } } @else { ul { (super::user_orgs_markup(orgs)) } }
        p { a href="/settings/organizations" { "Your organizations and invitations" } " · " a href="/organizations/new" { "Create an organization" } }
        h2 { "Change your email" }
        (errors.summary())
        form method="post" action="/settings/account/email" novalidate {
            (ctx.csrf_field())
            (Input::new("email", "New email").kind("email").value(email_value).autocomplete("email").render(errors))
            (Input::new("password", "Current password").kind("password").autocomplete("current-password").render(errors))
            button type="submit" { "Change email" }
        }
    })
}

fn flash_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "welcome" => Some("Welcome to Hangar! We sent you a mail with a link to verify your address."),
        "resent" => Some("A new verification mail is on its way."),
        "email" => Some("Check the inbox of your new address: the change takes effect once you open its link."),
        _ => None,
    }
}

/// `GET /settings/account`.
pub async fn settings_page(ctx: Ctx, Query(q): Query<NextQuery>) -> WebResult {
    let u = ctx.require_user()?;
    let orgs = ctx.state.store.user_orgs(u.id).await?;
    ctx.ok("Account settings", settings_body(&ctx, "", &Errors::default(), flash_text(q.notice.as_deref()), &orgs)?)
}

/// `POST /settings/account/resend-verification`.
pub async fn resend(ctx: Ctx, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let u = ctx.require_user()?;
    if u.email_verified && u.pending_email.is_none() {
        return Ok(see_other("/settings/account"));
    }
    match &u.pending_email {
        Some(p) => crate::accounts::send_verification(&ctx.state, &ctx.base, u, p, "change").await?,
        None => crate::accounts::send_verification(&ctx.state, &ctx.base, u, &u.email, "verify").await?,
    }
    let back = local_path(form.get("back")).unwrap_or("/settings/account");
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(format!("{back}{sep}notice=resent")))
}

/// `POST /settings/account/email`.
pub async fn change_email(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let u = ctx.require_user()?.clone();
    match api::request_email_change(&ctx.state, &ctx.base, &u, ip, form.get("email"), form.get("password")).await {
        Ok(_) => Ok(see_other("/settings/account?notice=email")),
        Err(e) => {
            let errors = match e {
                ApiError::InvalidCredentials(_) => {
                    let mut e = Errors::default();
                    e.add("password", "This is not your current password.");
                    e
                }
                other => field_errors(other, &["email", "password"])?,
            };
            let orgs = ctx.state.store.user_orgs(u.id).await?;
            let body = settings_body(&ctx, form.get("email"), &errors, None, &orgs)?;
            ctx.invalid("Account settings", body)
        }
    }
}

