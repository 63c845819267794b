//! Organizations: creation, members and roles, the token policy and its approval queue, the audit
//! log. Managed by org admins through account credentials, an admin token or `org.write`.

use crate::access::namespace_facts;
use crate::accounts::validate_namespace_name;
use crate::audit::{self, Event};
use crate::auth::{AccountAuth, Acting, Caller};
use crate::error::{ApiError, ApiResult};
use crate::handlers::{iso, json_body};
use crate::handlers::tokens::admin_org;
use crate::mail::Mail;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::policy::{self, Grant, OrgAction, OrgRole, Role, TokenPolicy};
use hangar_store::{Org, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::IpAddr;

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrgBody {
    pub name: String,
    #[serde(default)]
    pub fullname: Option<String>,
}

/// `POST /api/organizations/new`: the creator becomes its admin.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_org(State(state): State<AppState>, Acting(caller, ip): Acting, body: JsonBody<NewOrgBody>) -> ApiResult<Response> {
    let body = json_body(body)?;
    let who = caller.require("create an organization")?;
    let Some(user) = who.acting_user().cloned() else {
        return Err(ApiError::Forbidden("Organization tokens cannot create organizations.".into()));
    };
    match &who.principal.grant {
        Grant::Account | Grant::Classic(Role::Write | Role::Admin) => {}
        _ => return Err(ApiError::Forbidden("Creating an organization takes your password (or a session) or a 'write' or 'admin' token.".into())),
    }
    let name = body.name.trim();
    validate_namespace_name(name, "name")?;
    let fullname = body.fullname.unwrap_or_else(|| name.to_owned()).trim().chars().take(100).collect::<String>();
    let org = match state.store.create_org(name, &fullname, user.id, state.now_ms()).await {
        Ok(o) => o,
        Err(StoreError::Conflict(_)) => return Err(ApiError::Conflict { message: format!("name: '{name}' is already taken by a user or an organization"), url: None }),
        Err(e) => return Err(e.into()),
    };
    audit::record(&state, Event { actor: user.name.clone(), user_id: Some(user.id), org_id: Some(org.id), ip: Some(ip) }, "org.create", json!({"org": org.name})).await;
    Ok((StatusCode::CREATED, Json(org_json(&org))).into_response())
}

fn org_json(o: &Org) -> Value {
    json!({"name": o.name, "fullname": o.fullname, "type": "org", "tokenPolicy": o.token_policy, "createdAt": iso(o.created_at)})
}

async fn load_org(state: &AppState, name: &str) -> ApiResult<Org> {
    state.store.org_by_name(name).await?.ok_or_else(|| ApiError::NotFound(format!("Organization '{}' not found", name.chars().take(96).collect::<String>())))
}

/// The organization, when the caller may read (or manage) it.
async fn authorize(state: &AppState, caller: &Caller, name: &str, action: OrgAction) -> ApiResult<Org> {
    let org = load_org(state, name).await?;
    let ns = namespace_facts(state, caller, &org.name).await?;
    policy::check_org(caller.principal(), &ns.as_facts(), action).map_err(|d| ApiError::from_denial(d, caller.is_anonymous()))?;
    Ok(org)
}

fn actor(caller: &Caller, org: &Org, ip: IpAddr) -> Event {
    let a = caller.0.as_ref();
    Event { actor: a.map(|a| a.name().to_owned()).unwrap_or_default(), user_id: a.and_then(|a| a.acting_user()).map(|u| u.id), org_id: Some(org.id), ip: Some(ip) }
}

/// `GET /api/organizations/{org}/overview`.
pub async fn overview(State(state): State<AppState>, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let o = load_org(&state, &org).await?;
    let members = state.store.org_members(o.id).await?;
    let mut v = org_json(&o);
    v["numUsers"] = members.len().into();
    Ok(Json(v))
}

/// `GET /api/organizations/{org}/members`: roles are shown to members only.
pub async fn list_members(State(state): State<AppState>, Acting(caller, _): Acting, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let o = load_org(&state, &org).await?;
    let members = state.store.org_members(o.id).await?;
    let viewer_is_member = caller.0.as_ref().is_some_and(|a| {
        a.org.as_ref().is_some_and(|t| t.id == o.id) || a.acting_user().is_some_and(|u| members.iter().any(|m| m.user.id == u.id))
    });
    let out: Vec<Value> = members
        .iter()
        .map(|m| {
            let mut v = json!({"user": m.user.name, "fullname": if m.user.fullname.is_empty() { &m.user.name } else { &m.user.fullname }, "type": "user", "isPro": false, "avatarUrl": format!("/avatars/{}.svg", m.user.name)});
            if viewer_is_member {
                v["role"] = m.role.clone().into();
            }
            v
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
pub struct MemberPath {
    pub org: String,
    pub user: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: String,
}

async fn admins_left(state: &AppState, org: &Org, without: i64) -> ApiResult<usize> {
    Ok(state.store.org_members(org.id).await?.iter().filter(|m| m.role == "admin" && m.user.id != without).count())
}

/// `PUT /api/organizations/{org}/members/{user}`: adds a member or changes their role.
pub async fn set_member(State(state): State<AppState>, Acting(caller, ip): Acting, Path(p): Path<MemberPath>, body: JsonBody<RoleBody>) -> ApiResult<Json<Value>> {
    let org = authorize(&state, &caller, &p.org, OrgAction::Write).await?;
    let body = json_body(body)?;
    let role = OrgRole::parse(&body.role).ok_or_else(|| ApiError::bad_request(format!("role: '{}' is not one of read, contributor, write, admin", body.role.chars().take(20).collect::<String>())))?;
    let user = state.store.user_by_name(&p.user).await?.ok_or_else(|| ApiError::NotFound(format!("No user named '{}'", p.user.chars().take(96).collect::<String>())))?;
    if role != OrgRole::Admin && admins_left(&state, &org, user.id).await? == 0 {
        return Err(ApiError::bad_request(format!("{} is the last admin of {}: make someone else admin first", user.name, org.name)));
    }
    let before = state.store.member_role(org.id, user.id).await?;
    state.store.set_member(org.id, user.id, role.as_str(), state.now_ms()).await?;
    audit::record(&state, actor(&caller, &org, ip), "org.member.set", json!({"org": org.name, "user": user.name, "role": role.as_str(), "previousRole": before})).await;
    if before.is_none() {
        let body = format!("Hello {},\n\nYou are now a member of the organization {} on Hangar, with the role '{}'.\n", user.name, org.name, role.as_str());
        state.mailer.send(Mail { to: user.email.clone(), subject: format!("You joined {}", org.name), body, links: vec![] });
    }
    Ok(Json(json!({"user": user.name, "role": role.as_str()})))
}

/// `DELETE /api/organizations/{org}/members/{user}`: their tokens lose the organization at once.
pub async fn remove_member(State(state): State<AppState>, Acting(caller, ip): Acting, Path(p): Path<MemberPath>) -> ApiResult<Json<Value>> {
    let org = load_org(&state, &p.org).await?;
    let user = state.store.user_by_name(&p.user).await?.ok_or_else(|| ApiError::NotFound(format!("No user named '{}'", p.user.chars().take(96).collect::<String>())))?;
    let leaving_self = caller.0.as_ref().and_then(|a| a.acting_user()).is_some_and(|u| u.id == user.id) && access_is_account_or_admin(&caller);
    if !leaving_self {
        authorize(&state, &caller, &p.org, OrgAction::Write).await?;
    }
    if admins_left(&state, &org, user.id).await? == 0 {
        return Err(ApiError::bad_request(format!("{} is the last admin of {}: make someone else admin first", user.name, org.name)));
    }
    if !state.store.remove_member(org.id, user.id).await? {
        return Err(ApiError::NotFound(format!("{} is not a member of {}", user.name, org.name)));
    }
    audit::record(&state, actor(&caller, &org, ip), "org.member.remove", json!({"org": org.name, "user": user.name})).await;
    Ok(Json(json!({})))
}

fn access_is_account_or_admin(caller: &Caller) -> bool {
    matches!(caller.principal().map(|p| &p.grant), Some(Grant::Account | Grant::Classic(Role::Admin)))
}

/// `GET /api/organizations/{org}/settings/token-policy`.
pub async fn get_token_policy(State(state): State<AppState>, Acting(caller, _): Acting, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let org = authorize(&state, &caller, &org, OrgAction::Write).await?;
    Ok(Json(json!({"policy": org.token_policy})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub policy: String,
}

/// `PUT /api/organizations/{org}/settings/token-policy`.
pub async fn set_token_policy(State(state): State<AppState>, Acting(caller, ip): Acting, Path(org): Path<String>, body: JsonBody<PolicyBody>) -> ApiResult<Json<Value>> {
    let org = authorize(&state, &caller, &org, OrgAction::Write).await?;
    let body = json_body(body)?;
    let policy = TokenPolicy::parse(&body.policy).ok_or_else(|| ApiError::bad_request(format!("policy: '{}' is not one of allow_all, fine_grained_only, admin_approval", body.policy.chars().take(30).collect::<String>())))?;
    state.store.set_token_policy(org.id, policy.as_str()).await?;
    audit::record(&state, actor(&caller, &org, ip), "org.token_policy", json!({"org": org.name, "policy": policy.as_str(), "previous": org.token_policy})).await;
    Ok(Json(json!({"policy": policy.as_str()})))
}

/// `GET /api/organizations/{org}/settings/token-approvals`.
pub async fn list_approvals(State(state): State<AppState>, Acting(caller, _): Acting, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let org = authorize(&state, &caller, &org, OrgAction::Write).await?;
    let out: Vec<Value> = state
        .store
        .list_token_approvals(org.id)
        .await?
        .iter()
        .map(|a| {
            json!({"tokenId": a.token.id.to_string(), "name": a.token.name, "user": a.owner.name, "role": a.token.role,
                   "state": a.state, "decidedBy": a.decided_by, "updatedAt": iso(a.updated_at), "createdAt": iso(a.token.created_at)})
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
pub struct ApprovalPath {
    pub org: String,
    pub token_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    pub state: String,
}

/// `POST /api/organizations/{org}/settings/token-approvals/{tokenId}`: approve, deny or back to pending.
pub async fn decide_approval(State(state): State<AppState>, Acting(caller, ip): Acting, Path(p): Path<ApprovalPath>, body: JsonBody<ApprovalBody>) -> ApiResult<Json<Value>> {
    let org = authorize(&state, &caller, &p.org, OrgAction::Write).await?;
    let body = json_body(body)?;
    if !matches!(body.state.as_str(), "approved" | "denied" | "pending") {
        return Err(ApiError::bad_request("state: must be approved, denied or pending"));
    }
    let id: i64 = p.token_id.parse().map_err(|_| ApiError::NotFound("No such token awaiting approval".into()))?;
    let by = caller.0.as_ref().map(|a| a.name().to_owned()).unwrap_or_default();
    if !state.store.set_token_approval(org.id, id, &body.state, &by, state.now_ms()).await? {
        return Err(ApiError::NotFound(format!("No token with id {id} has asked for access to {}", org.name)));
    }
    if let Some(t) = state.store.token_by_id(id).await? {
        audit::record(&state, actor(&caller, &org, ip), "org.token_approval", json!({"org": org.name, "tokenId": id, "name": t.name, "state": body.state})).await;
        if let Some(owner) = state.store.user_by_id(t.user_id).await? {
            let text = format!("Hello {},\n\nAn administrator of {} set your token '{}' to '{}' for the organization's resources.\n", owner.name, org.name, t.name, body.state);
            state.mailer.send(Mail { to: owner.email, subject: format!("Your token for {}: {}", org.name, body.state), body: text, links: vec![] });
        }
    }
    Ok(Json(json!({"state": body.state})))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

pub fn audit_json(events: Vec<hangar_store::AuditEvent>) -> Value {
    Value::Array(
        events
            .into_iter()
            .map(|e| {
                json!({"id": e.id.to_string(), "at": iso(e.at), "actor": e.actor, "event": e.event,
                       "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null), "ip": e.ip})
            })
            .collect(),
    )
}

fn audit_limit(q: &AuditQuery) -> ApiResult<i64> {
    match q.limit {
        None => Ok(100),
        Some(l) if (1..=1000).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::bad_request("limit: between 1 and 1000")),
    }
}

/// `GET /api/settings/audit-log`: the account's events, newest first.
pub async fn user_audit_log(State(state): State<AppState>, auth: AccountAuth, Query(q): Query<AuditQuery>) -> ApiResult<Json<Value>> {
    let events = state.store.list_audit(Some(auth.user.id), None, q.before, audit_limit(&q)?).await?;
    Ok(Json(audit_json(events)))
}

/// `GET /api/organizations/{org}/audit-log`: org admins only.
pub async fn org_audit_log(State(state): State<AppState>, auth: AccountAuth, Path(org): Path<String>, Query(q): Query<AuditQuery>) -> ApiResult<Json<Value>> {
    let o = admin_org(&state, &auth.user, &org).await?;
    let events = state.store.list_audit(None, Some(o.id), q.before, audit_limit(&q)?).await?;
    Ok(Json(audit_json(events)))
}
