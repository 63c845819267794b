//! Site administration, for site admins only: users (verify, disable, enable), any user's tokens
//! (revoke) and the whole audit log.

use super::{notice, not_found, see_other, when, Ctx, WebError, WebForm, WebResult};
use crate::audit::{self, Event};
use crate::auth::ClientIp;
use axum::extract::Query;
use axum::http::StatusCode;
use hangar_core::token::mask;
use maud::html;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, Default)]
pub struct AdminQuery {
    q: Option<String>,
    user: Option<String>,
    before: Option<i64>,
    after: Option<String>,
    notice: Option<String>,
}

fn flash(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "saved" => Some("Done."),
        "revoked" => Some("The token is revoked."),
        _ => None,
    }
}

fn admin_tabs(current: &str) -> maud::Markup {
    let cur = |x: &str| if x == current { Some("page") } else { None };
    html! {
        h1 { "Site administration" }
        nav.tabs aria-label="Administration" {
            a href="/admin/users" aria-current=[cur("users")] { "Users" }
            a href="/admin/tokens" aria-current=[cur("tokens")] { "Tokens" }
            a href="/admin/audit" aria-current=[cur("audit")] { "Audit log" }
        }
    }
}

/// `GET /admin/users`.
pub async fn users_page(ctx: Ctx, Query(q): Query<AdminQuery>) -> WebResult {
    ctx.require_site_admin()?;
    let search = q.q.clone().unwrap_or_default();
    const PAGE: usize = 100;
    let mut users = ctx.state.store.list_users(Some(search.trim()).filter(|s| !s.is_empty()), q.after.as_deref(), PAGE as i64 + 1).await?;
    let more = users.len() > PAGE;
    users.truncate(PAGE);
    let next = more.then(|| {
        let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("q", &search).append_pair("after", &users[PAGE - 1].name).finish();
        format!("/admin/users?{q}")
    });
    ctx.ok(
        "Users",
        html! {
            (admin_tabs("users"))
            (notice(flash(q.notice.as_deref())))
            form method="get" action="/admin/users" role="search" {
                div.field { label for="q" { "Find users by name or email" } input #q type="search" name="q" value=(search); }
            }
            table #users {
                thead { tr { th { "User" } th { "Email" } th { "State" } th { "Joined" } th { "Actions" } } }
                tbody { @for u in &users {
                    tr data-user=(u.name) {
                        td { (u.name) @if u.site_admin { " " span.badge { "site admin" } } }
                        td { (u.email) " " @if u.email_verified { span.badge.ok { "verified" } } @else { span.badge.warn { "not verified" } } }
                        td { @if u.disabled_at.is_some() { span.badge.bad { "disabled" } } @else { span.badge.ok { "active" } } }
                        td { (when(u.created_at)) }
                        td {
                            @if !u.email_verified {
                                form.inline method="post" action="/admin/users" { (ctx.csrf_field()) input type="hidden" name="user" value=(u.name); input type="hidden" name="action" value="verify"; button.secondary type="submit" { "Verify email" } }
                                " "
                            }
                            @if u.disabled_at.is_some() {
                                form.inline method="post" action="/admin/users" { (ctx.csrf_field()) input type="hidden" name="user" value=(u.name); input type="hidden" name="action" value="enable"; button.secondary type="submit" { "Enable" } }
                            } @else {
                                form.inline method="post" action="/admin/users" data-confirm={ "Disable " (u.name) "? Their sessions and tokens stop working." } { (ctx.csrf_field()) input type="hidden" name="user" value=(u.name); input type="hidden" name="action" value="disable"; button.danger type="submit" { "Disable" } }
                            }
                            " " a href={ "/admin/tokens?user=" (u.name) } { "Tokens" }
                        }
                    }
                } }
            }
            @if let Some(n) = next { p { a href=(n) { "Next users" } } }
        },
    )
}

/// `POST /admin/users`.
pub async fn users_action(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let admin = ctx.require_site_admin()?.clone();
    let target = ctx.state.store.user_by_name(form.get("user")).await?.ok_or_else(not_found)?;
    let now = ctx.state.now_ms();
    let action = form.get("action");
    match action {
        "verify" => ctx.state.store.set_email_verified(target.id, &target.email).await?,
        "disable" if target.id == admin.id => return Err(WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, "You cannot disable your own account.".into())),
        "disable" => ctx.state.store.set_user_disabled(target.id, Some(now)).await?,
        "enable" => ctx.state.store.set_user_disabled(target.id, None).await?,
        _ => return Err(WebError::Status(StatusCode::BAD_REQUEST, "Unknown action.".into())),
    }
    audit::record(&ctx.state, Event::user(&admin.name, target.id, Some(ip)), &format!("admin.user.{action}"), json!({"user": target.name})).await;
    Ok(see_other("/admin/users?notice=saved"))
}

/// `GET /admin/tokens?user=`.
pub async fn tokens_page(ctx: Ctx, Query(q): Query<AdminQuery>) -> WebResult {
    ctx.require_site_admin()?;
    let name = q.user.clone().unwrap_or_default();
    let user = if name.is_empty() { None } else { ctx.state.store.user_by_name(&name).await? };
    let tokens = match &user {
        Some(u) => ctx.state.store.list_tokens(u.id).await?,
        None => vec![],
    };
    let now = ctx.state.now_ms();
    ctx.ok(
        "Tokens",
        html! {
            (admin_tabs("tokens"))
            (notice(flash(q.notice.as_deref())))
            form method="get" action="/admin/tokens" {
                div.field { label for="user" { "User" } input #user type="search" name="user" value=(name); }
                button.secondary type="submit" { "Show tokens" }
            }
            @if !name.is_empty() && user.is_none() { p.notice.error { "No user named " (name) "." } }
            @if let Some(u) = &user {
                h2 { "Tokens of " (u.name) }
                @if tokens.is_empty() { p.muted { "No tokens." } } @else {
                    table #tokens {
                        thead { tr { th { "Name" } th { "Type" } th { "Value" } th { "Created" } th { "Last used" } th { "State" } th {} } }
                        tbody { @for t in &tokens {
                            tr data-token-name=(t.name) {
                                td { (t.name) } td { (t.role) } td.mono { (mask(&t.last4)) } td { (when(t.created_at)) }
                                td { @if let Some(l) = t.last_used_at { (when(l)) } @else { "never" } }
                                td { (t.state(now)) }
                                td { @if t.revoked_at.is_none() {
                                    form.inline method="post" action="/admin/tokens" data-confirm="Revoke this token?" {
                                        (ctx.csrf_field()) input type="hidden" name="token" value=(t.id); input type="hidden" name="user" value=(u.name);
                                        button.danger type="submit" { "Revoke" }
                                    }
                                } }
                            }
                        } }
                    }
                }
            }
        },
    )
}

/// `POST /admin/tokens`: revokes any token.
pub async fn tokens_action(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let admin = ctx.require_site_admin()?.clone();
    let id: i64 = form.get("token").parse().map_err(|_| not_found())?;
    let t = ctx.state.store.token_by_id(id).await?.ok_or_else(not_found)?;
    if ctx.state.store.revoke_token_by_id(t.id, ctx.state.now_ms(), "revoked by a site administrator").await? {
        audit::record(&ctx.state, Event { actor: admin.name.clone(), user_id: Some(t.user_id), org_id: t.org_id, ip: Some(ip) }, "admin.token.revoke", json!({"tokenId": t.id, "name": t.name})).await;
    }
    let user = url::form_urlencoded::byte_serialize(form.get("user").as_bytes()).collect::<String>();
    Ok(see_other(format!("/admin/tokens?user={user}&notice=revoked")))
}

/// `GET /admin/audit`: every event, newest first.
pub async fn audit_page(ctx: Ctx, Query(q): Query<AdminQuery>) -> WebResult {
    ctx.require_site_admin()?;
    let events = ctx.state.store.list_audit(None, None, q.before, 100).await?;
    let next = if events.len() == 100 { events.last().map(|e| e.id) } else { None };
    ctx.ok(
        "Audit log",
        html! {
            (admin_tabs("audit"))
            table #audit {
                thead { tr { th { "When" } th { "Who" } th { "Event" } th { "Details" } th { "Address" } } }
                tbody { @for e in &events {
                    tr { td { (when(e.at)) } td { (e.actor) } td { code { (e.event) } } td.mono { (e.detail) } td { (e.ip.clone().unwrap_or_default()) } }
                } }
            }
            @if let Some(n) = next { p { a href={ "/admin/audit?before=" (n) } { "Older events" } } }
        },
    )
}
