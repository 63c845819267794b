//! Gated repositories: the request form from the model card, `ask-access`, and the owners'
//! access-request API (list, handle, grant) as the Hub serves it.

use crate::access::{self, repo_display, BaseUrl};
use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::{iso, RepoPath};
use crate::mail::Mail;
use crate::objects::read_main_file;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::policy::{Action, OrgRole};
use hangar_core::{RepoId, RepoType};
use hangar_store::{Repo, StoreError, User};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// One field of the request form (`extra_gated_fields`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    Checkbox,
    Date,
    Country,
    Select(Vec<String>),
}

/// The request form of a gated repo: `extra_gated_fields` of the README's YAML header.
pub async fn request_form(state: &AppState, repo: &Repo) -> ApiResult<Vec<(String, FieldKind)>> {
    let Some(readme) = read_main_file(state, repo, "README.md", 1024 * 1024).await? else { return Ok(vec![]) };
    let text = String::from_utf8_lossy(&readme);
    let Some(rest) = text.strip_prefix("---") else { return Ok(vec![]) };
    let Some(end) = rest.find("\n---") else { return Ok(vec![]) };
    let Ok(meta) = serde_yaml::from_str::<serde_yaml::Value>(&rest[..end]) else { return Ok(vec![]) };
    let Some(fields) = meta.get("extra_gated_fields").and_then(|f| f.as_mapping()) else { return Ok(vec![]) };
    let mut out = Vec::new();
    for (k, v) in fields {
        let Some(name) = k.as_str() else { continue };
        let kind = match v {
            serde_yaml::Value::String(t) => match t.as_str() {
                "checkbox" => FieldKind::Checkbox,
                "date_picker" => FieldKind::Date,
                "country" => FieldKind::Country,
                _ => FieldKind::Text,
            },
            serde_yaml::Value::Mapping(m) if m.get("type").and_then(|t| t.as_str()) == Some("select") => {
                let options = m
                    .get("options")
                    .and_then(|o| o.as_sequence())
                    .map(|seq| {
                        seq.iter()
                            .filter_map(|o| o.as_str().map(str::to_owned).or_else(|| o.get("value").and_then(|v| v.as_str()).map(str::to_owned)))
                            .collect()
                    })
                    .unwrap_or_default();
                FieldKind::Select(options)
            }
            serde_yaml::Value::Mapping(m) => match m.get("type").and_then(|t| t.as_str()) {
                Some("checkbox") => FieldKind::Checkbox,
                Some("date_picker") => FieldKind::Date,
                Some("country") => FieldKind::Country,
                _ => FieldKind::Text,
            },
            _ => FieldKind::Text,
        };
        out.push((name.to_owned(), kind));
    }
    Ok(out)
}

/// Checks submitted values against the form; returns the values to store.
pub fn validate_fields(form: &[(String, FieldKind)], submitted: &Map<String, Value>) -> ApiResult<Map<String, Value>> {
    let mut out = Map::new();
    for (name, kind) in form {
        let raw = submitted.get(name);
        let text = match raw {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let missing = || ApiError::bad_request(format!("Field '{name}' is required"));
        let value = match kind {
            FieldKind::Checkbox => {
                if !matches!(text.as_str(), "true" | "on" | "yes" | "1") {
                    return Err(ApiError::bad_request(format!("Field '{name}' must be checked")));
                }
                Value::Bool(true)
            }
            _ if text.is_empty() => return Err(missing()),
            _ if text.chars().count() > 1000 => return Err(ApiError::bad_request(format!("Field '{name}' is longer than 1000 characters"))),
            FieldKind::Date => {
                chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| ApiError::bad_request(format!("Field '{name}' must be a date like 2026-01-31")))?;
                Value::String(text)
            }
            FieldKind::Select(options) => {
                if !options.iter().any(|o| o == &text) {
                    return Err(ApiError::bad_request(format!("Field '{name}' must be one of: {}", options.join(", "))));
                }
                Value::String(text)
            }
            FieldKind::Country | FieldKind::Text => Value::String(text),
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// The addresses to tell about a new request: the owner, or the organization's admins.
async fn admin_emails(state: &AppState, repo: &Repo) -> ApiResult<Vec<String>> {
    if let Some(org) = state.store.org_by_name(&repo.namespace).await? {
        let members = state.store.org_members(org.id).await?;
        return Ok(members.into_iter().filter(|m| OrgRole::parse(&m.role) == Some(OrgRole::Admin)).map(|m| m.user.email).collect());
    }
    Ok(state.store.user_by_name(&repo.namespace).await?.map(|u| vec![u.email]).unwrap_or_default())
}

async fn org_id_of(state: &AppState, repo: &Repo) -> ApiResult<Option<i64>> {
    Ok(state.store.org_by_name(&repo.namespace).await?.map(|o| o.id))
}

fn not_gated(repo: &Repo) -> ApiError {
    ApiError::BadRequestCode { code: "RepoNotGated", message: format!("{} is not gated", repo_display(repo)) }
}

#[derive(Deserialize)]
pub struct AskPath {
    pub namespace: String,
    pub name: String,
}

pub async fn ask_model(state: State<AppState>, caller: Caller, base: BaseUrl, headers: HeaderMap, Path(p): Path<AskPath>, body: Bytes) -> ApiResult<Response> {
    ask_access(state, caller, base, headers, RepoType::Model, p, body).await
}
pub async fn ask_dataset(state: State<AppState>, caller: Caller, base: BaseUrl, headers: HeaderMap, Path(p): Path<AskPath>, body: Bytes) -> ApiResult<Response> {
    ask_access(state, caller, base, headers, RepoType::Dataset, p, body).await
}
pub async fn ask_space(state: State<AppState>, caller: Caller, base: BaseUrl, headers: HeaderMap, Path(p): Path<AskPath>, body: Bytes) -> ApiResult<Response> {
    ask_access(state, caller, base, headers, RepoType::Space, p, body).await
}

/// `POST /{repo}/ask-access`: records a request with the form's values (JSON or form body).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ask_access(State(state): State<AppState>, caller: Caller, base: BaseUrl, headers: HeaderMap, t: RepoType, p: AskPath, body: Bytes) -> ApiResult<Response> {
    let id = RepoId::new(&p.namespace, &p.name)?;
    let who = caller.require("ask for access to a gated repository")?;
    let Some(user) = who.acting_user().cloned() else {
        return Err(ApiError::Forbidden("Organization tokens cannot ask for access; ask with a user's token.".into()));
    };
    let repo = state.store.repo_by_name(t.as_str(), &id.namespace, &id.name).await?.ok_or(ApiError::RepoNotFound { anonymous: false })?;
    let gate = access::gate_of(&repo);
    if repo.private || gate.is_none() {
        // Private repos answer as if missing to outsiders; an ungated repo needs no request.
        access::check(&state, &caller, &repo, Action::ReadContent).await?;
        return Err(not_gated(&repo));
    }
    let page = base.repo_url(t, &repo.namespace, &repo.name);
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let answer = |status: &str| -> Response {
        if wants_html {
            (StatusCode::SEE_OTHER, [(header::LOCATION, page.clone())]).into_response()
        } else {
            Json(json!({"status": status})).into_response()
        }
    };
    if access::check(&state, &caller, &repo, Action::ReadContent).await.is_ok() && state.store.access_request(repo.id, user.id).await?.is_none() {
        return Ok(answer("accepted")); // the owner or a member: access without asking
    }
    if let Some(existing) = state.store.access_request(repo.id, user.id).await? {
        return match existing.status.as_str() {
            "rejected" => Err(ApiError::Gated {
                anonymous: false,
                message: format!("Your request to access {} was rejected by the repo's authors; you cannot ask again.", repo_display(&repo)),
            }),
            s => Ok(answer(s)),
        };
    }
    let submitted = parse_body(&headers, &body)?;
    let form = request_form(&state, &repo).await?;
    let fields = validate_fields(&form, &submitted)?;
    let status = if gate == Some(hangar_core::policy::Gate::Auto) { "accepted" } else { "pending" };
    let now = state.now_ms();
    match state.store.create_access_request(repo.id, user.id, status, &Value::Object(fields).to_string(), now).await {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let detail = json!({"repo": format!("{}/{}", repo.namespace, repo.name), "repoType": repo.repo_type, "status": status});
    audit::record(&state, Event::user(&user.name, user.id, None), "access_request.create", detail.clone()).await;
    if let Some(org_id) = org_id_of(&state, &repo).await? {
        audit::record(&state, Event::org(&user.name, org_id, None), "access_request.create", detail).await;
    }
    if status == "pending" {
        let review = format!("{}/api/{}/{}/{}/user-access-request/pending", base.0, t.plural(), repo.namespace, repo.name);
        for to in admin_emails(&state, &repo).await? {
            let body = format!(
                "{} asked for access to {}.\n\nReview pending requests: {review}\n(or with huggingface_hub: HfApi().list_pending_access_requests(\"{}/{}\"))\n",
                user.name,
                repo_display(&repo),
                repo.namespace,
                repo.name
            );
            state.mailer.send(Mail { to, subject: format!("New access request for {}/{}", repo.namespace, repo.name), body, links: vec![review.clone()] });
        }
    }
    tracing::info!(repo = %id, status, "access request recorded");
    Ok(answer(status))
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ctype.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(body);
        return Ok(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::bad_request("The body must be a JSON object or a form of the request's fields")),
    }
}

fn serde_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[derive(Deserialize)]
pub struct RequestsPath {
    kind: String,
    namespace: String,
    name: String,
    status: String,
}

async fn gated_repo(state: &AppState, caller: &Caller, p: &RepoPath, action: Action) -> ApiResult<Repo> {
    let (t, id) = p.parse()?;
    let repo = access::load_repo(state, caller, t, &id, action).await?;
    if access::gate_of(&repo).is_none() {
        return Err(not_gated(&repo));
    }
    Ok(repo)
}

fn request_json(r: &hangar_store::AccessRequest, u: &User) -> Value {
    let fields: Value = serde_json::from_str(&r.fields).unwrap_or(Value::Null);
    let mut v = json!({
        "user": {"user": u.name, "fullname": if u.fullname.is_empty() { &u.name } else { &u.fullname }, "email": u.email, "type": "user"},
        "requestId": r.id.to_string(),
        "status": r.status,
        "timestamp": iso(r.created_at),
        "fields": fields,
    });
    if let Some(reason) = &r.reason {
        v["rejectionReason"] = reason.clone().into();
    }
    v
}

/// `GET /api/{type}s/{repo}/user-access-request/{pending|accepted|rejected}`.
pub async fn list_requests(State(state): State<AppState>, caller: Caller, Path(p): Path<RequestsPath>) -> ApiResult<Json<Value>> {
    if !matches!(p.status.as_str(), "pending" | "accepted" | "rejected") {
        return Err(ApiError::NotFound(format!("Unknown status '{}': use pending, accepted or rejected", p.status.chars().take(20).collect::<String>())));
    }
    let rp = RepoPath { kind: p.kind, namespace: p.namespace, name: p.name };
    let repo = gated_repo(&state, &caller, &rp, Action::ReadAccessRequests).await?;
    let rows = state.store.list_access_requests(repo.id, &p.status).await?;
    Ok(Json(Value::Array(rows.iter().map(|(r, u)| request_json(r, u)).collect())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleBody {
    pub user: Option<String>,
    pub request_id: Option<String>,
    pub status: String,
    pub rejection_reason: Option<String>,
}

async fn decision_mail(state: &AppState, repo: &Repo, user: &User, status: &str, reason: Option<&str>) {
    let d = repo_display(repo);
    let body = match status {
        "accepted" => format!("Hello {},\n\nYour request to access {d} was accepted: you can now download it.\n", user.name),
        "rejected" => format!("Hello {},\n\nYour request to access {d} was rejected by its authors.{}\n", user.name, reason.map(|r| format!("\nReason: {r}")).unwrap_or_default()),
        _ => format!("Hello {},\n\nYour request to access {d} is pending a review again.\n", user.name),
    };
    state.mailer.send(Mail { to: user.email.clone(), subject: format!("Your access request for {}/{}", repo.namespace, repo.name), body, links: vec![] });
}

/// `POST /api/{type}s/{repo}/user-access-request/handle`: accept, reject (with a reason) or back to pending.
pub async fn handle_request(State(state): State<AppState>, caller: Caller, Path(p): Path<RepoPath>, body: Result<Json<HandleBody>, axum::extract::rejection::JsonRejection>) -> ApiResult<Json<Value>> {
    let repo = gated_repo(&state, &caller, &p, Action::ManageAccessRequests).await?;
    let body = crate::handlers::json_body(body)?;
    if !matches!(body.status.as_str(), "accepted" | "rejected" | "pending") {
        return Err(ApiError::bad_request(format!("status: '{}' is not one of accepted, rejected, pending", body.status.chars().take(20).collect::<String>())));
    }
    let reason = body.rejection_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some() && body.status != "rejected" {
        return Err(ApiError::bad_request("rejectionReason: only a rejection takes a reason"));
    }
    if reason.is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::bad_request("rejectionReason: at most 200 characters"));
    }
    let (req, user) = find_request(&state, &repo, body.user.as_deref(), body.request_id.as_deref()).await?;
    let by = caller.0.as_ref().map(|a| a.name().to_owned()).unwrap_or_default();
    if !state.store.set_access_request(req.id, &body.status, reason, &by, state.now_ms()).await? {
        return Err(ApiError::NotFound(format!("The request of {} is already {}", user.name, body.status)));
    }
    decided(&state, &caller, &repo, &user, &body.status, reason).await?;
    Ok(Json(json!({})))
}

async fn decided(state: &AppState, caller: &Caller, repo: &Repo, user: &User, status: &str, reason: Option<&str>) -> ApiResult<()> {
    let by = caller.0.as_ref().map(|a| a.name().to_owned()).unwrap_or_default();
    let detail = json!({"repo": format!("{}/{}", repo.namespace, repo.name), "user": user.name, "status": status});
    audit::record(state, Event::user(&by, user.id, None), "access_request.decide", detail.clone()).await;
    if let Some(org_id) = org_id_of(state, repo).await? {
        audit::record(state, Event::org(&by, org_id, None), "access_request.decide", detail).await;
    }
    decision_mail(state, repo, user, status, reason).await;
    Ok(())
}

async fn find_request(state: &AppState, repo: &Repo, user: Option<&str>, request_id: Option<&str>) -> ApiResult<(hangar_store::AccessRequest, User)> {
    match (user, request_id) {
        (Some(name), _) => {
            let u = state.store.user_by_name(name).await?.ok_or_else(|| ApiError::NotFound(format!("No user named '{name}'")))?;
            let r = state.store.access_request(repo.id, u.id).await?.ok_or_else(|| ApiError::NotFound(format!("{name} has not asked for access to {}", repo_display(repo))))?;
            Ok((r, u))
        }
        (None, Some(id)) => {
            for status in ["pending", "accepted", "rejected"] {
                if let Some((r, u)) = state.store.list_access_requests(repo.id, status).await?.into_iter().find(|(r, _)| r.id.to_string() == id) {
                    return Ok((r, u));
                }
            }
            Err(ApiError::NotFound(format!("No access request with id '{}'", id.chars().take(24).collect::<String>())))
        }
        (None, None) => Err(ApiError::bad_request("Give the request's \"user\" or \"requestId\"")),
    }
}

#[derive(Deserialize)]
pub struct GrantBody {
    pub user: String,
}

/// `POST /api/{type}s/{repo}/user-access-request/grant`: gives a user access without a request.
pub async fn grant_access(State(state): State<AppState>, caller: Caller, Path(p): Path<RepoPath>, body: Result<Json<GrantBody>, axum::extract::rejection::JsonRejection>) -> ApiResult<Json<Value>> {
    let repo = gated_repo(&state, &caller, &p, Action::ManageAccessRequests).await?;
    let body = crate::handlers::json_body(body)?;
    let u = state.store.user_by_name(&body.user).await?.ok_or_else(|| ApiError::NotFound(format!("No user named '{}'", body.user)))?;
    let by = caller.0.as_ref().map(|a| a.name().to_owned()).unwrap_or_default();
    let now = state.now_ms();
    match state.store.access_request(repo.id, u.id).await? {
        Some(r) if r.status == "accepted" => return Err(ApiError::bad_request(format!("{} already has access to {}", u.name, repo_display(&repo)))),
        Some(r) => {
            state.store.set_access_request(r.id, "accepted", None, &by, now).await?;
        }
        None => {
            state.store.create_access_request(repo.id, u.id, "accepted", "{}", now).await?;
        }
    }
    decided(&state, &caller, &repo, &u, "accepted", None).await?;
    Ok(Json(json!({})))
}
