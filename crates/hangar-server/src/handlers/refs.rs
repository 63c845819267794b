//! Refs, commit history, branches and tags.

use crate::access::{load_repo, BaseUrl};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::repos::set_link;
use crate::handlers::{iso, query_bool, RepoPath, RepoRevPath};
use crate::objects::{read_commit, resolve_revision};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::git::Oid;
use hangar_core::names::validate_ref_name;
use hangar_core::policy::Action;
use hangar_store::StoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// `GET /api/{type}s/{repo}/refs[?include_prs=1]`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_refs(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoPath>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::ReadMetadata).await?;
    let include_prs = query_bool(q.get("include_prs").map(String::as_str));
    let (mut branches, mut tags, mut converts, mut prs) = (vec![], vec![], vec![], vec![]);
    for r in state.store.list_refs(repo.id).await? {
        let item = |short: &str| json!({"name": short, "ref": r.name, "targetCommit": r.target});
        if let Some(s) = r.name.strip_prefix("refs/heads/") {
            branches.push(item(s));
        } else if let Some(s) = r.name.strip_prefix("refs/tags/") {
            tags.push(item(s));
        } else if let Some(s) = r.name.strip_prefix("refs/convert/") {
            converts.push(item(s));
        } else if let Some(s) = r.name.strip_prefix("refs/pr/") {
            prs.push(item(s));
        }
    }
    let mut out = json!({"branches": branches, "tags": tags, "converts": converts});
    if include_prs {
        out["pullRequests"] = prs.into();
    }
    Ok(Json(out))
}

const COMMITS_PAGE: usize = 50;

/// `GET /api/{type}s/{repo}/commits/{rev}`: first-parent history, newest first, paginated.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_commits(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(p): Path<RepoRevPath>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::ReadMetadata).await?;
    let (head, _) = resolve_revision(&state, &repo, &p.rev).await?;
    // The cursor is the next commit to show; it must belong to this repo.
    let start = match q.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v.as_str()) {
        Some(c) => resolve_revision(&state, &repo, c).await?.0,
        None => head,
    };
    let formatted = q.iter().any(|(k, v)| (k == "expand" || k == "expand[]") && v == "formatted");
    let mut items = Vec::new();
    let mut next = Some(start);
    while let Some(oid) = next {
        if items.len() == COMMITS_PAGE {
            break;
        }
        let c = read_commit(&state, oid).await?;
        let mut item = json!({
            "id": oid.hex(),
            "title": c.title(),
            "message": c.body(),
            "date": iso(c.committer.time * 1000),
            "authors": [{"user": c.author.name, "avatar": null}],
            "parents": c.parents.iter().map(Oid::hex).collect::<Vec<_>>(),
        });
        if formatted {
            item["formatted"] = json!({"title": c.title(), "message": c.body()});
        }
        items.push(item);
        next = c.parents.first().copied();
    }
    let mut resp = Json(items).into_response();
    if let Some(n) = next {
        let url = format!("{}/api/{}/{}/commits/{}?cursor={}{}", base.0, t.plural(), id, head.hex(), n.hex(), if formatted { "&expand[]=formatted" } else { "" });
        set_link(resp.headers_mut(), &url);
    }
    Ok(resp)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateBranchBody {
    starting_point: Option<String>,
}

/// `POST /api/{type}s/{repo}/branch/{branch}`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_branch(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoRevPath>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::Write).await?;
    let body: CreateBranchBody = if body.is_empty() {
        CreateBranchBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("Invalid body: {e}")))?
    };
    validate_ref_name(&p.rev)?;
    let (start, _) = resolve_revision(&state, &repo, body.starting_point.as_deref().unwrap_or("main")).await?;
    match state.store.create_ref(repo.id, &format!("refs/heads/{}", p.rev), &start.hex()).await {
        Ok(()) => Ok(Json(json!({}))),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict { message: format!("Branch '{}' already exists in {id}", p.rev), url: None }),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /api/{type}s/{repo}/branch/{branch}`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_branch(State(state): State<AppState>, caller: Caller, Path(p): Path<RepoRevPath>) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::Write).await?;
    if p.rev == "main" {
        return Err(ApiError::Forbidden("The default branch 'main' cannot be deleted".into()));
    }
    if !state.store.delete_ref(repo.id, &format!("refs/heads/{}", p.rev)).await? {
        return Err(ApiError::RevisionNotFound(format!("Branch '{}' does not exist in {id}", p.rev)));
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct CreateTagBody {
    tag: String,
    #[allow(dead_code)]
    message: Option<String>,
}

/// `POST /api/{type}s/{repo}/tag/{rev}`: tags the revision in the URL.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoRevPath>,
    body: Result<Json<CreateTagBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::Write).await?;
    let body = crate::handlers::json_body(body)?;
    validate_ref_name(&body.tag)?;
    let (target, _) = resolve_revision(&state, &repo, &p.rev).await?;
    match state.store.create_ref(repo.id, &format!("refs/tags/{}", body.tag), &target.hex()).await {
        Ok(()) => Ok(Json(json!({}))),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict { message: format!("Tag '{}' already exists in {id}", body.tag), url: None }),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /api/{type}s/{repo}/tag/{tag}`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_tag(State(state): State<AppState>, caller: Caller, Path(p): Path<RepoRevPath>) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::Write).await?;
    if !state.store.delete_ref(repo.id, &format!("refs/tags/{}", p.rev)).await? {
        return Err(ApiError::RevisionNotFound(format!("Tag '{}' does not exist in {id}", p.rev)));
    }
    Ok(Json(json!({})))
}
