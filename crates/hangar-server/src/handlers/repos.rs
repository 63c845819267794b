//! Creating, deleting, moving, configuring, describing and searching repositories.

use crate::access::{self, load_repo, BaseUrl};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::commit::make_commit;
use crate::handlers::{iso, query_bool, RepoPath, RepoRevPath};
use crate::objects::{list_files, read_commit, resolve_revision, Listed};
use crate::state::AppState;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::git::{self, ObjectKind, TreeEntry};
use hangar_core::policy::Action;
use hangar_core::{RepoId, RepoType};
use hangar_store::{BlobRecord, CommitWrite, NewRepo, Repo, RepoQuery, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

const GITATTRIBUTES: &str = include_str!("../gitattributes.txt");

#[derive(Deserialize)]
pub struct CreateRepoBody {
    pub name: String,
    pub organization: Option<String>,
    #[serde(rename = "type")]
    pub repo_type: Option<String>,
    pub private: Option<bool>,
    pub visibility: Option<String>,
}

fn parse_private(private: Option<bool>, visibility: Option<&str>, t: RepoType) -> ApiResult<Option<bool>> {
    match visibility {
        None => Ok(private),
        Some("public") => Ok(Some(false)),
        Some("private") => Ok(Some(true)),
        Some("protected") if t == RepoType::Space => Err(ApiError::bad_request("Protected visibility is not supported by Hangar yet; use private or public")),
        Some(other) => Err(ApiError::bad_request(format!("Invalid visibility '{other}': expected public or private"))),
    }
}

/// Splits `name` (possibly `ns/name`) and `organization` into a repo id; the caller's namespace by default.
fn target_id(name: &str, organization: Option<&str>, caller_name: &str) -> ApiResult<RepoId> {
    Ok(match (name.split_once('/'), organization) {
        (Some((ns, n)), _) => RepoId::new(ns, n)?,
        (None, Some(org)) => RepoId::new(org, name)?,
        (None, None) => RepoId::new(caller_name, name)?,
    })
}

/// `POST /api/repos/create`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_repo(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Json<CreateRepoBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let body = crate::handlers::json_body(body)?;
    let who = caller.require("create a repository")?;
    let t = RepoType::parse(body.repo_type.as_deref().unwrap_or("model"))?;
    let id = target_id(&body.name, body.organization.as_deref(), who.name())?;
    access::check_create(&state, &caller, &id.namespace).await?;
    let private = parse_private(body.private, body.visibility.as_deref(), t)?.unwrap_or(false);

    let url = base.repo_url(t, &id.namespace, &id.name);
    if let Some(existing) = state.store.repo_by_name(t.as_str(), &id.namespace, &id.name).await? {
        // The client reads `url` from a 409 to support exist_ok=True; only reveal it to those who may see it.
        if access::check(&state, &caller, &existing, Action::ReadMetadata).await.is_ok() {
            let url = base.repo_url(t, &existing.namespace, &existing.name);
            return Err(ApiError::Conflict { message: format!("You already created this {t} repo: {id}"), url: Some(url) });
        }
    }

    let now = state.now_ms();
    let content = GITATTRIBUTES.as_bytes();
    let mut staged = state.blobs.stage().await?;
    staged.write(content).await?;
    let sha256 = state.blobs.commit(staged, &Default::default()).await?;
    let blob_oid = git::object_id(ObjectKind::Blob, content);
    let mut entries = [TreeEntry { mode: git::Mode::File, name: ".gitattributes".into(), oid: blob_oid }];
    let tree_bytes = git::encode_tree(&mut entries);
    let tree_oid = git::object_id(ObjectKind::Tree, &tree_bytes);
    let (commit_oid, commit_obj) = make_commit(tree_oid, None, who.name(), "initial commit", "", now);
    let initial = CommitWrite {
        repo_id: 0,
        ref_name: "refs/heads/main".into(),
        expected: None,
        commit_oid: commit_oid.hex(),
        objects: vec![(tree_oid.hex(), "tree".into(), tree_bytes), commit_obj],
        blobs: vec![BlobRecord { oid: blob_oid.hex(), size: content.len() as i64, sha256, lfs: false }],
        now,
    };
    let new = NewRepo {
        repo_type: t.as_str().into(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
        private,
        created_at: now,
        created_by: who.acting_user().map(|u| u.id),
    };
    match state.store.create_repo(new, initial).await {
        Ok(repo) => {
            tracing::info!(repo = %id, repo_type = %t, private, "repository created");
            Ok(Json(json!({"url": url, "name": format!("{}/{}", repo.namespace, repo.name), "id": format!("{:024x}", repo.id)})))
        }
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict { message: format!("You already created this {t} repo: {id}"), url: Some(url) }),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DeleteRepoBody {
    pub name: String,
    pub organization: Option<String>,
    #[serde(rename = "type")]
    pub repo_type: Option<String>,
}

/// `DELETE /api/repos/delete`. Needs an admin token (or the account itself).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_repo(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<DeleteRepoBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let body = crate::handlers::json_body(body)?;
    let who = caller.require("delete a repository")?;
    let t = RepoType::parse(body.repo_type.as_deref().unwrap_or("model"))?;
    let id = target_id(&body.name, body.organization.as_deref(), who.name())?;
    let repo = load_repo(&state, &caller, t, &id, Action::DeleteRepo).await?;
    state.store.delete_repo(repo.id).await?;
    tracing::info!(repo = %id, repo_type = %t, "repository deleted");
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveRepoBody {
    from_repo: String,
    to_repo: String,
    #[serde(rename = "type")]
    repo_type: Option<String>,
}

/// `POST /api/repos/move`: renames a repository, possibly into another namespace the caller owns.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn move_repo(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Json<MoveRepoBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let body = crate::handlers::json_body(body)?;
    caller.require("move a repository")?;
    let t = RepoType::parse(body.repo_type.as_deref().unwrap_or("model"))?;
    let from = RepoId::parse(&body.from_repo)?;
    let to = RepoId::parse(&body.to_repo)?;
    let repo = load_repo(&state, &caller, t, &from, Action::DeleteRepo).await?;
    access::check_create(&state, &caller, &to.namespace).await?;
    let url = base.repo_url(t, &to.namespace, &to.name);
    match state.store.move_repo(repo.id, &to.namespace, &to.name, state.now_ms()).await {
        Ok(()) => Ok(Json(json!({"url": url}))),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict { message: format!("A {t} repo named {to} already exists"), url: None }),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct SettingsBody {
    pub private: Option<bool>,
    pub visibility: Option<String>,
    pub gated: Option<Value>,
}

/// `PUT /api/{type}s/{repo}/settings`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoPath>,
    body: Result<Json<SettingsBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::Write).await?;
    let body = crate::handlers::json_body(body)?;
    let gated = match &body.gated {
        None => None,
        Some(Value::Bool(false)) | Some(Value::Null) => Some(None),
        Some(Value::String(g)) if g == "auto" || g == "manual" => Some(Some(g.clone())),
        Some(Value::String(g)) if g == "false" => Some(None),
        Some(other) => return Err(ApiError::bad_request(format!("gated: {other} is not one of \"auto\", \"manual\", false"))),
    };
    let private = parse_private(body.private, body.visibility.as_deref(), t)?;
    state.store.update_repo_settings(repo.id, private, gated.clone(), state.now_ms()).await?;
    if let Some(g) = &gated {
        tracing::info!(repo = %id, gated = g.as_deref().unwrap_or("false"), "gating changed");
    }
    if repo.private && private == Some(false) {
        // A repo turning public exposes whatever tokens its files hold.
        crate::scan::on_publish(&state, &repo).await?;
    }
    Ok(Json(json!({})))
}

/// The repo object shared by info and search.
fn repo_json(repo: &Repo) -> Value {
    let id = format!("{}/{}", repo.namespace, repo.name);
    let mut v = json!({
        "_id": format!("{:024x}", repo.id),
        "id": id,
        "author": repo.namespace,
        "private": repo.private,
        "gated": match repo.gated.as_deref() { Some(g @ ("auto" | "manual")) => Value::from(g), _ => Value::Bool(false) },
        "disabled": false,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "createdAt": iso(repo.created_at),
        "lastModified": iso(repo.updated_at),
    });
    if repo.repo_type == "model" {
        v["modelId"] = id.into();
        v["library_name"] = Value::Null;
        v["pipeline_tag"] = Value::Null;
    }
    v
}

/// `GET /api/{type}s/{repo}` and `GET /api/{type}s/{repo}/revision/{rev}`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn repo_info(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoPath>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    info_at(state, caller, t, id, "main".into(), q).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn repo_info_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoRevPath>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    info_at(state, caller, t, id, p.rev, q).await
}

async fn info_at(state: AppState, caller: Caller, t: RepoType, id: RepoId, rev: String, q: Vec<(String, String)>) -> ApiResult<Json<Value>> {
    let repo = load_repo(&state, &caller, t, &id, Action::ReadMetadata).await?;
    let blobs = query_bool(q.iter().find(|(k, _)| k == "blobs").map(|(_, v)| v.as_str()));
    let (commit_oid, _) = resolve_revision(&state, &repo, &rev).await?;
    let commit = read_commit(&state, commit_oid).await?;
    let files = list_files(&state, commit.tree).await?;
    let mut used = 0i64;
    let siblings: Vec<Value> = files
        .iter()
        .map(|f| {
            let Listed::File { path, oid, blob } = f else { unreachable!("list_files returns files") };
            used += blob.size;
            let mut s = json!({"rfilename": path});
            if blobs {
                s["size"] = blob.size.into();
                s["blobId"] = oid.hex().into();
                if blob.lfs {
                    let pointer = git::lfs_pointer(&blob.sha256, blob.size as u64);
                    s["lfs"] = json!({"size": blob.size, "sha256": blob.sha256, "pointerSize": pointer.len()});
                }
            }
            s
        })
        .collect();
    let mut v = repo_json(&repo);
    v["sha"] = commit_oid.hex().into();
    v["lastModified"] = iso(commit.committer.time * 1000).into();
    v["siblings"] = siblings.into();
    v["usedStorage"] = used.into();
    if t == RepoType::Space {
        v["sdk"] = Value::Null;
    }
    Ok(Json(v))
}

/// `GET /api/{type}s/{repo}/auth-check[/write]`: 200 when the caller may read (or write).
pub async fn auth_check(State(state): State<AppState>, caller: Caller, Path(p): Path<RepoPath>) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    load_repo(&state, &caller, t, &id, Action::ReadContent).await?;
    Ok(Json(json!({"access": "read"})))
}

pub async fn auth_check_write(State(state): State<AppState>, caller: Caller, Path(p): Path<RepoPath>) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    load_repo(&state, &caller, t, &id, Action::Write).await?;
    Ok(Json(json!({"access": "write"})))
}

const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

/// `GET /api/{type}s?author=&search=&limit=`: public repos plus the caller's own private ones,
/// paginated with a `Link: <…>; rel="next"` header.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_repos(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let t = access::parse_type_plural(&kind)?;
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    // `limit` caps the whole listing (as in the client); pages are at most MAX_PAGE.
    let limit: Option<i64> = match get("limit") {
        Some(l) => Some(l.parse().map_err(|_| ApiError::bad_request("limit must be a positive integer"))?),
        None => None,
    };
    let page = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let cursor: Option<i64> = get("cursor").and_then(|c| c.parse().ok());
    let query = RepoQuery {
        repo_type: t.as_str().into(),
        author: get("author"),
        search: get("search"),
        viewer: caller.0.as_ref().map(|a| a.name().to_owned()),
        after_id: cursor,
        limit: page + 1,
    };
    let mut repos = state.store.list_repos(&query).await?;
    let more = repos.len() as i64 > page && limit.is_none();
    repos.truncate(page as usize);
    let cursor_id = repos.last().map(|r| r.id);
    // A fine-grained token lists only the private repos it may read.
    if let Some(hangar_core::policy::Grant::FineGrained(fg)) = caller.principal().map(|p| &p.grant) {
        repos.retain(|r| !r.private || ["repo.content.read", "repo.write"].iter().any(|p| fg.grants_on_repo(p, &r.namespace, r.id)));
    }
    let items: Vec<Value> = repos.iter().map(repo_json).collect();
    let mut resp = Json(items).into_response();
    if more {
        if let Some(last_id) = cursor_id {
            let kept: Vec<String> = raw
                .unwrap_or_default()
                .split('&')
                .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
                .map(str::to_owned)
                .collect();
            let mut qs = kept.join("&");
            if !qs.is_empty() {
                qs.push('&');
            }
            let next = format!("{}/api/{}?{qs}cursor={last_id}", base.0, t.plural());
            set_link(resp.headers_mut(), &next);
        }
    }
    Ok(resp)
}

pub fn set_link(h: &mut HeaderMap, next: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
        h.insert(axum::http::header::LINK, v);
    }
}

/// The minimal discussions API behind `create_pr`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewDiscussionBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    pull_request: bool,
}

#[derive(Deserialize)]
pub struct DiscussionPath {
    kind: String,
    namespace: String,
    name: String,
    num: i64,
}

/// `POST /api/{type}s/{repo}/discussions`: only pull requests are supported for now.
pub async fn create_discussion(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(p): Path<RepoPath>,
    body: Result<Json<NewDiscussionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::OpenPr).await?;
    let body = crate::handlers::json_body(body)?;
    if !body.pull_request {
        return Err(ApiError::bad_request("Only pull requests can be opened on this Hangar version"));
    }
    let user = caller.0.as_ref().expect("opening a PR implies a caller").name().to_owned();
    let (main, _) = resolve_revision(&state, &repo, "main").await?;
    let d = state
        .store
        .create_discussion(hangar_store::NewDiscussion {
            repo_id: repo.id,
            title: body.title,
            description: body.description,
            author: user,
            is_pull_request: true,
            status: "draft".into(),
            created_at: state.now_ms(),
        })
        .await?;
    state.store.create_ref(repo.id, &format!("refs/pr/{}", d.num), &main.hex()).await?;
    let url = format!("{}/discussions/{}", base.repo_url(t, &repo.namespace, &repo.name), d.num);
    Ok(Json(json!({"num": d.num, "url": url, "pullRequest": true, "title": d.title, "status": d.status})))
}

/// `GET /api/{type}s/{repo}/discussions/{num}`.
pub async fn get_discussion(State(state): State<AppState>, caller: Caller, Path(p): Path<DiscussionPath>) -> ApiResult<Json<Value>> {
    let rp = RepoPath { kind: p.kind, namespace: p.namespace, name: p.name };
    let (t, id) = rp.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::ReadMetadata).await?;
    let d = state
        .store
        .get_discussion(repo.id, p.num)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Discussion #{} not found in {id}", p.num)))?;
    let pr_ref = format!("refs/pr/{}", d.num);
    let head = state.store.get_ref(repo.id, &pr_ref).await?;
    Ok(Json(json!({
        "num": d.num,
        "title": d.title,
        "status": d.status,
        "isPullRequest": d.is_pull_request,
        "createdAt": iso(d.created_at),
        "author": {"name": d.author, "type": "user"},
        "repo": {"name": id.to_string(), "type": t.as_str()},
        "events": [{"id": format!("{:024x}", d.num), "type": "status-change", "createdAt": iso(d.created_at), "author": {"name": d.author}, "data": {"status": d.status}}],
        "changes": {"base": "refs/heads/main", "mergeCommitId": null},
        "gitReference": pr_ref,
        "headCommit": head,
        "filesWithConflicts": [],
        "diff": "",
    })))
}
