//! Organization pages: create, members and roles, invitations, the token policy with its approval
//! queue, and organization-owned tokens.

use super::form::Input;
use super::repo::session_caller;
use super::tokens::{self, NewQuery, Target};
use super::{notice, not_found, see_other, when, Ctx, Errors, WebError, WebForm, WebResult};
use crate::audit::{self, Event};
use crate::auth::{Acting, ClientIp};
use crate::error::ApiError;
use crate::fine_grained::Owner;
use crate::handlers::orgs::{self as api, ApprovalBody, ApprovalPath, MemberPath, NewOrgBody, PolicyBody, RoleBody};
use crate::mail::Mail;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hangar_core::policy::OrgRole;
use hangar_store::{Org, StoreError, User};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

const ROLES: &[&str] = &["read", "contributor", "write", "admin"];

#[derive(Deserialize, Default)]
pub struct Flash {
    notice: Option<String>,
}

fn flash(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "invited" => Some("Invitation sent."),
        "saved" => Some("Saved."),
        "joined" => Some("You joined the organization."),
        "declined" => Some("Invitation declined."),
        "created" => Some("Organization created: you are its admin."),
        "revoked" => Some("The token is revoked."),
        "renamed" => Some("Token renamed."),
        _ => None,
    }
}

/// The organization, when the signed-in user is one of its admins.
async fn admin_org(ctx: &Ctx, user: &User, name: &str) -> WebResult<Org> {
    let org = ctx.state.store.org_by_name(name).await?.ok_or_else(not_found)?;
    match ctx.state.store.member_role(org.id, user.id).await?.as_deref().and_then(OrgRole::parse) {
        Some(OrgRole::Admin) => Ok(org),
        Some(_) => Err(WebError::Status(StatusCode::FORBIDDEN, format!("Only admins of {} can manage it.", org.name))),
        None => Err(not_found()),
    }
}

fn org_tabs(org: &Org, current: &str) -> Markup {
    let cur = |x: &str| if x == current { Some("page") } else { None };
    html! {
        h1 { "Organization " a href={ "/" (org.name) } { (org.name) } }
        nav.tabs aria-label="Organization settings" {
            a href={ "/organizations/" (org.name) "/settings/members" } aria-current=[cur("members")] { "Members" }
            a href={ "/organizations/" (org.name) "/settings/tokens" } aria-current=[cur("tokens")] { "Tokens and policy" }
        }
    }
}

/// `GET /settings/organizations`: the user's organizations and invitations.
pub async fn my_orgs_page(ctx: Ctx, Query(q): Query<Flash>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let orgs = ctx.state.store.user_orgs(user.id).await?;
    let invitations = ctx.state.store.user_invitations(user.id).await?;
    ctx.ok(
        "Your organizations",
        html! {
            h1 { "Your organizations" }
            (notice(flash(q.notice.as_deref())))
            h2 { "Invitations" }
            @if invitations.is_empty() { p.muted { "No pending invitations." } } @else {
                table #invitations { tbody { @for (inv, org) in &invitations {
                    tr data-org=(org.name) {
                        td { strong { (org.name) } " invites you as " strong { (inv.role) } }
                        td { "from " (inv.invited_by) ", " (when(inv.created_at)) }
                        td {
                            form.inline method="post" action={ "/settings/organizations/invitations/" (inv.id) } {
                                (ctx.csrf_field()) input type="hidden" name="answer" value="accept"; button type="submit" { "Accept" }
                            }
                            " "
                            form.inline method="post" action={ "/settings/organizations/invitations/" (inv.id) } {
                                (ctx.csrf_field()) input type="hidden" name="answer" value="decline"; button.secondary type="submit" { "Decline" }
                            }
                        }
                    }
                } } }
            }
            h2 { "Member of" }
            @if orgs.is_empty() { p.muted { "None yet." } } @else {
                table { tbody { @for (o, role) in &orgs {
                    tr { td { a href={ "/" (o.name) } { (o.name) } } td { (role) }
                        td { @if role == "admin" { a href={ "/organizations/" (o.name) "/settings/members" } { "Manage" } } } }
                } } }
            }
            p { a.button href="/organizations/new" { "Create an organization" } }
        },
    )
}

/// `POST /settings/organizations/invitations/{id}`: accept or decline.
pub async fn answer_invitation(ctx: Ctx, ClientIp(ip): ClientIp, Path(id): Path<i64>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let mine = ctx.state.store.user_invitations(user.id).await?.into_iter().find(|(i, _)| i.id == id);
    let Some((inv, org)) = mine else { return Err(not_found()) };
    match form.get("answer") {
        "accept" => {
            if ctx.state.store.accept_invitation(inv.id, user.id, ctx.state.now_ms()).await?.is_some() {
                audit::record(&ctx.state, Event { actor: user.name.clone(), user_id: Some(user.id), org_id: Some(org.id), ip: Some(ip) }, "org.invitation.accept", json!({"org": org.name, "role": inv.role})).await;
            }
            Ok(see_other("/settings/organizations?notice=joined"))
        }
        "decline" => {
            ctx.state.store.delete_invitation(inv.id).await?;
            audit::record(&ctx.state, Event { actor: user.name.clone(), user_id: Some(user.id), org_id: Some(org.id), ip: Some(ip) }, "org.invitation.decline", json!({"org": org.name})).await;
            Ok(see_other("/settings/organizations?notice=declined"))
        }
        _ => Err(WebError::Status(StatusCode::BAD_REQUEST, "Answer accept or decline.".into())),
    }
}

fn new_org_form(ctx: &Ctx, f: Option<&WebForm>, errors: &Errors) -> Markup {
    let v = |k: &str| f.map(|f| f.get(k).to_owned()).unwrap_or_default();
    let (name, fullname) = (v("name"), v("fullname"));
    html! {
        h1 { "New organization" }
        (errors.summary())
        form method="post" action="/organizations/new" novalidate {
            (ctx.csrf_field())
            (Input::new("name", "Organization name").value(&name).hint("Its namespace: repos are named <organization>/<repo>.").render(errors))
            (Input::new("fullname", "Full name").value(&fullname).optional().render(errors))
            button type="submit" { "Create organization" }
        }
    }
}

pub async fn new_page(ctx: Ctx) -> WebResult {
    ctx.require_user()?;
    ctx.ok("New organization", new_org_form(&ctx, None, &Errors::default()))
}

pub async fn create(ctx: Ctx, ClientIp(ip): ClientIp, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let name = form.get("name").trim().to_owned();
    let body = NewOrgBody { name: name.clone(), fullname: Some(form.get("fullname").to_owned()).filter(|f| !f.trim().is_empty()) };
    match api::create_org(State(ctx.state.clone()), Acting(session_caller(Some(&user)), ip), Ok(Json(body))).await {
        Ok(_) => Ok(see_other(format!("/organizations/{name}/settings/members?notice=created"))),
        Err(e) => {
            let mut errors = Errors::from_api(e, &["name", "fullname"])?;
            // Name checks that do not say their field are about the name, the only required field.
            for (f, _) in errors.0.iter_mut().filter(|(f, _)| f.is_empty()) {
                *f = "name".into();
            }
            ctx.invalid("New organization", new_org_form(&ctx, Some(&form), &errors))
        }
    }
}

fn role_select(id: &str, current: &str) -> Markup {
    html! { select id=(id) name="role" { @for r in ROLES { option value=(r) selected[*r == current] { (r) } } } }
}

async fn members_body(ctx: &Ctx, org: &Org, errors: &Errors, invite_user: &str) -> WebResult<Markup> {
    let members = ctx.state.store.org_members(org.id).await?;
    let invitations = ctx.state.store.org_invitations(org.id).await?;
    let action = format!("/organizations/{}/settings/members", org.name);
    Ok(html! {
        (org_tabs(org, "members"))
        (errors.summary())
        h2 { "Members" }
        table #members {
            thead { tr { th { "User" } th { "Role" } th { "Since" } th { "Remove" } } }
            tbody { @for m in &members {
                tr data-member=(m.user.name) {
                    td { (m.user.name) }
                    td {
                        form.inline method="post" action=(action) {
                            (ctx.csrf_field()) input type="hidden" name="action" value="role"; input type="hidden" name="user" value=(m.user.name);
                            label.visually-hidden for={ "role-" (m.user.name) } { "Role of " (m.user.name) }
                            (role_select(&format!("role-{}", m.user.name), &m.role))
                            " " button.secondary type="submit" { "Change role" }
                        }
                    }
                    td { (when(m.since)) }
                    td {
                        form.inline method="post" action=(action) data-confirm={ "Remove " (m.user.name) " from " (org.name) "?" } {
                            (ctx.csrf_field()) input type="hidden" name="action" value="remove"; input type="hidden" name="user" value=(m.user.name);
                            button.danger type="submit" { "Remove" }
                        }
                    }
                }
            } }
        }
        h2 { "Invite a member" }
        form method="post" action=(action) novalidate {
            (ctx.csrf_field())
            input type="hidden" name="action" value="invite";
            (Input::new("user", "Username").value(invite_user).hint("They accept or decline under Settings → Organizations.").render(errors))
            div.field { label for="invite-role" { "Role" } (role_select("invite-role", "read")) }
            button type="submit" { "Invite" }
        }
        h2 { "Pending invitations" }
        @if invitations.is_empty() { p.muted { "None." } } @else {
            table #pending-invitations { tbody { @for (inv, u) in &invitations {
                tr { td { (u.name) } td { (inv.role) } td { "invited by " (inv.invited_by) ", " (when(inv.created_at)) }
                    td { form.inline method="post" action=(action) {
                        (ctx.csrf_field()) input type="hidden" name="action" value="withdraw"; input type="hidden" name="invitation" value=(inv.id);
                        button.secondary type="submit" { "Withdraw" }
                    } } }
            } } }
        }
    })
}

pub async fn members_page(ctx: Ctx, Path(org): Path<String>, Query(q): Query<Flash>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let body = members_body(&ctx, &org, &Errors::default(), "").await?;
    ctx.ok(&format!("Members of {}", org.name), html! { (notice(flash(q.notice.as_deref()))) (body) })
}

pub async fn members_action(ctx: Ctx, ClientIp(ip): ClientIp, Path(org): Path<String>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let caller = Acting(session_caller(Some(&user)), ip);
    let back = format!("/organizations/{}/settings/members", org.name);
    let target = form.get("user").trim().to_owned();
    let result: Result<&str, ApiError> = match form.get("action") {
        "role" => api::set_member(State(ctx.state.clone()), caller, Path(MemberPath { org: org.name.clone(), user: target.clone() }), Ok(Json(RoleBody { role: form.get("role").to_owned() })))
            .await
            .map(|_| "saved"),
        "remove" => api::remove_member(State(ctx.state.clone()), caller, Path(MemberPath { org: org.name.clone(), user: target.clone() })).await.map(|_| "saved"),
        "invite" => invite(&ctx, &user, &org, &target, form.get("role"), ip).await.map(|_| "invited"),
        "withdraw" => {
            let id: i64 = form.get("invitation").parse().map_err(|_| not_found())?;
            match ctx.state.store.org_invitations(org.id).await?.into_iter().find(|(i, _)| i.id == id) {
                Some(_) => {
                    ctx.state.store.delete_invitation(id).await?;
                    Ok("saved")
                }
                None => Err(ApiError::NotFound("No such invitation".into())),
            }
        }
        _ => return Err(WebError::Status(StatusCode::BAD_REQUEST, "Unknown action.".into())),
    };
    match result {
        Ok(code) => Ok(see_other(format!("{back}?notice={code}"))),
        Err(e) => {
            let mut errors = Errors::from_api(e, &[])?;
            if form.get("action") == "invite" {
                errors.0 = errors.0.into_iter().map(|(_, m)| ("user".to_owned(), m)).collect();
            }
            let body = members_body(&ctx, &org, &errors, &target).await?;
            ctx.invalid(&format!("Members of {}", org.name), body)
        }
    }
}

async fn invite(ctx: &Ctx, by: &User, org: &Org, name: &str, role: &str, ip: std::net::IpAddr) -> Result<(), ApiError> {
    let role = OrgRole::parse(role).ok_or_else(|| ApiError::bad_request("role: choose read, contributor, write or admin"))?;
    if name.is_empty() {
        return Err(ApiError::bad_request("Enter the username to invite."));
    }
    let u = ctx.state.store.user_by_name(name).await?.ok_or_else(|| ApiError::NotFound(format!("No user named '{}'", name.chars().take(96).collect::<String>())))?;
    if ctx.state.store.member_role(org.id, u.id).await?.is_some() {
        return Err(ApiError::bad_request(format!("{} is already a member of {}.", u.name, org.name)));
    }
    match ctx.state.store.create_invitation(org.id, u.id, role.as_str(), &by.name, ctx.state.now_ms()).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Err(ApiError::bad_request(format!("{} is already invited.", u.name))),
        Err(e) => return Err(e.into()),
    }
    audit::record(&ctx.state, Event { actor: by.name.clone(), user_id: Some(by.id), org_id: Some(org.id), ip: Some(ip) }, "org.invitation.create", json!({"org": org.name, "user": u.name, "role": role.as_str()})).await;
    let link = format!("{}/settings/organizations", ctx.base);
    let body = format!("Hello {},\n\n{} invites you to join the organization {} on Hangar as '{}'.\n\nAccept or decline: {link}\n", u.name, by.name, org.name, role.as_str());
    ctx.state.mailer.send(Mail { to: u.email.clone(), subject: format!("Invitation to join {}", org.name), body, links: vec![link] });
    Ok(())
}

/// `GET /organizations/{org}/settings/tokens`: organization tokens, policy and approval queue.
pub async fn tokens_page(ctx: Ctx, Path(org): Path<String>, Query(q): Query<Flash>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let list = ctx.state.store.list_org_tokens(org.id).await?;
    let approvals = ctx.state.store.list_token_approvals(org.id).await?;
    let base = format!("/organizations/{}/settings/tokens", org.name);
    let policy = org.token_policy.as_str();
    ctx.ok(
        &format!("Tokens of {}", org.name),
        html! {
            (org_tabs(&org, "tokens"))
            (notice(flash(q.notice.as_deref())))
            h2 { "Organization tokens" }
            p { "These tokens act as " strong { (org.name) } ", not as a person: use them for shared automation." }
            p { a.button href={ (base) "/new" } { "New organization token" } }
            (tokens::token_table(&ctx, &list, &base, &HashMap::new()))
            h2 { "Token policy" }
            form method="post" action=(base) {
                (ctx.csrf_field())
                input type="hidden" name="action" value="policy";
                fieldset.choices {
                    legend { "Which members' tokens may access " (org.name) "'s resources" }
                    @for (value, label) in [("allow_all", "Allow all access tokens"), ("fine_grained_only", "Only fine-grained tokens"), ("admin_approval", "Fine-grained tokens after an admin approves them")] {
                        label for={ "policy-" (value) } { input id={ "policy-" (value) } type="radio" name="policy" value=(value) checked[policy == value]; " " (label) }
                    }
                }
                button type="submit" { "Save policy" }
            }
            h2 { "Tokens awaiting approval" }
            @if approvals.is_empty() { p.muted { "No token has asked for access." } } @else {
                table #approvals {
                    thead { tr { th { "Token" } th { "Owner" } th { "State" } th { "Created" } th { "Decide" } } }
                    tbody { @for a in &approvals {
                        tr data-token-name=(a.token.name) {
                            td { (a.token.name) } td { (a.owner.name) } td { (a.state) } td { (when(a.token.created_at)) }
                            td {
                                @for (state, label) in [("approved", "Approve"), ("denied", "Deny")] {
                                    @if a.state != state {
                                        form.inline method="post" action=(base) {
                                            (ctx.csrf_field()) input type="hidden" name="action" value="approval";
                                            input type="hidden" name="token" value=(a.token.id); input type="hidden" name="state" value=(state);
                                            button.secondary type="submit" { (label) }
                                        }
                                        " "
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        },
    )
}

/// `POST /organizations/{org}/settings/tokens`: policy, approvals, and the actions on its tokens.
pub async fn tokens_action(ctx: Ctx, ClientIp(ip): ClientIp, Path(org): Path<String>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let base = format!("/organizations/{}/settings/tokens", org.name);
    let caller = Acting(session_caller(Some(&user)), ip);
    let result = match form.get("action") {
        "policy" => api::set_token_policy(State(ctx.state.clone()), caller, Path(org.name.clone()), Ok(Json(PolicyBody { policy: form.get("policy").to_owned() }))).await.map(|_| ()),
        "approval" => {
            let path = ApprovalPath { org: org.name.clone(), token_id: form.get("token").to_owned() };
            api::decide_approval(State(ctx.state.clone()), caller, Path(path), Ok(Json(ApprovalBody { state: form.get("state").to_owned() }))).await.map(|_| ())
        }
        _ => return Err(WebError::Status(StatusCode::BAD_REQUEST, "Unknown action.".into())),
    };
    match result {
        Ok(()) => Ok(see_other(format!("{base}?notice=saved"))),
        Err(e @ (ApiError::BadRequest(_) | ApiError::NotFound(_))) => Err(WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, e.public_message())),
        Err(e) => Err(e.into()),
    }
}

pub async fn new_token_page(ctx: Ctx, Path(org): Path<String>, Query(q): Query<NewQuery>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let target = Target { owner: Owner::Org(&org), action: format!("/organizations/{}/settings/tokens/new", org.name), list: format!("/organizations/{}/settings/tokens", org.name) };
    tokens::render_new(&ctx, &target, q).await
}

pub async fn create_token(ctx: Ctx, ClientIp(ip): ClientIp, Path(org): Path<String>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let target = Target { owner: Owner::Org(&org), action: format!("/organizations/{}/settings/tokens/new", org.name), list: format!("/organizations/{}/settings/tokens", org.name) };
    tokens::submit(&ctx, &target, ip, &form).await
}

/// `/organizations/{org}/settings/tokens/{id}/{rename|refresh|revoke}`.
pub async fn token_action(ctx: Ctx, ClientIp(ip): ClientIp, Path((org, id, what)): Path<(String, String, String)>, form: WebForm) -> WebResult {
    ctx.check_csrf(&form)?;
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let list = format!("/organizations/{}/settings/tokens", org.name);
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let t = match ctx.state.store.token_by_id(id).await? {
        Some(t) if t.org_id == Some(org.id) => t,
        _ => return Err(not_found()),
    };
    match what.as_str() {
        "rename" => tokens::rename_token(&ctx, &user, Some(&org), &t, form.get("name"), &list).await,
        "refresh" => tokens::refresh_token(&ctx, &user, Some(&org), &t, &list).await,
        "revoke" => {
            if ctx.state.store.revoke_token_by_id(t.id, ctx.state.now_ms(), "revoked by an organization admin").await? {
                audit::record(&ctx.state, Event { actor: user.name.clone(), user_id: Some(user.id), org_id: Some(org.id), ip: Some(ip) }, "token.revoke", json!({"tokenId": t.id, "name": t.name, "org": org.name})).await;
            }
            Ok(see_other(format!("{list}?notice=revoked")))
        }
        _ => Err(not_found()),
    }
}

/// `GET /organizations/{org}/settings/tokens/{id}/revoke`: the confirmation.
pub async fn token_revoke_page(ctx: Ctx, Path((org, id)): Path<(String, String)>) -> WebResult {
    let user = ctx.require_user()?.clone();
    let org = admin_org(&ctx, &user, &org).await?;
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let t = match ctx.state.store.token_by_id(id).await? {
        Some(t) if t.org_id == Some(org.id) => t,
        _ => return Err(not_found()),
    };
    let list = format!("/organizations/{}/settings/tokens", org.name);
    tokens::revoke_confirm(&ctx, &t, &format!("{list}/{}/revoke", t.id), &list)
}
