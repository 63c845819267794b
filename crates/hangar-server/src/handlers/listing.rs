//! Tree listings and paths-info.

use crate::access::{load_repo, BaseUrl};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::repos::set_link;
use crate::handlers::{query_bool, RepoRevPath};
use crate::objects::{list_tree, listed, lookup, read_commit, resolve_revision, Found};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::names::normalize_repo_path;
use hangar_core::policy::Action;
use serde::Deserialize;
use serde_json::Value;

const TREE_PAGE: usize = 1000;

#[derive(Deserialize)]
pub struct TreePath {
    kind: String,
    namespace: String,
    name: String,
    rev: String,
    path: Option<String>,
}

/// `GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=&cursor=`: a paginated listing.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn tree(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(p): Path<TreePath>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let rp = RepoRevPath { kind: p.kind, namespace: p.namespace, name: p.name, rev: p.rev };
    let (t, id) = rp.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::ReadMetadata).await?;
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let recursive = query_bool(get("recursive"));
    let (commit, _) = resolve_revision(&state, &repo, &rp.rev).await?;
    let root = read_commit(&state, commit).await?.tree;
    let sub = match p.path.as_deref().map(|s| s.trim_matches('/')).filter(|s| !s.is_empty()) {
        Some(s) => normalize_repo_path(s)?,
        None => String::new(),
    };
    let dir = match lookup(&state, root, &sub).await? {
        Some(Found::Dir { oid }) => oid,
        _ => {
            return Err(ApiError::EntryNotFound {
                message: format!("No folder '{sub}' in {id} at revision {}", rp.rev),
                commit: Some(commit.hex()),
            })
        }
    };
    let entries = list_tree(&state, dir, &sub, recursive).await?;
    let start: usize = get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + TREE_PAGE).min(entries.len());
    let mut page: Vec<Value> = entries.get(start..end).unwrap_or(&[]).iter().map(|e| e.to_json()).collect();
    add_xet_hashes(&state, &mut page).await?;
    let mut resp = Json(page).into_response();
    if end < entries.len() {
        // Pin the listing to the resolved commit so later pages cannot mix revisions.
        let encoded_path = sub.split('/').map(|s| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()).collect::<Vec<_>>().join("/");
        let path_part = if encoded_path.is_empty() { String::new() } else { format!("/{encoded_path}") };
        let next = format!("{}/api/{}/{}/tree/{}{path_part}?recursive={recursive}&cursor={end}", base.0, t.plural(), id, commit.hex());
        set_link(resp.headers_mut(), &next);
    }
    Ok(resp)
}

#[derive(Deserialize)]
struct PathsInfoJson {
    paths: Vec<String>,
}

/// `POST /api/{type}s/{repo}/paths-info/{rev}`: form-encoded (Python) or JSON (hf-hub, hub.js).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn paths_info(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoRevPath>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Vec<Value>>> {
    let (t, id) = p.parse()?;
    let repo = load_repo(&state, &caller, t, &id, Action::ReadMetadata).await?;
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let paths: Vec<String> = if is_json {
        serde_json::from_slice::<PathsInfoJson>(&body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))?.paths
    } else {
        url::form_urlencoded::parse(&body).filter(|(k, _)| k == "paths" || k == "paths[]").map(|(_, v)| v.into_owned()).collect()
    };
    if paths.len() > 1000 {
        return Err(ApiError::PayloadTooLarge("At most 1000 paths per request".into()));
    }
    let (commit, _) = resolve_revision(&state, &repo, &p.rev).await?;
    let root = read_commit(&state, commit).await?.tree;
    let mut out = Vec::new();
    for raw in paths {
        let Ok(path) = normalize_repo_path(&raw) else { continue };
        if let Some(found) = lookup(&state, root, &path).await? {
            let mut v = listed(&state, path, &found).await?.to_json();
            add_xet_hashes(&state, std::slice::from_mut(&mut v)).await?;
            out.push(v);
        }
    }
    Ok(Json(out))
}

/// Files stored through Xet carry their Xet hash, as on the Hub: Xet-capable clients download
/// them from the CAS server.
async fn add_xet_hashes(state: &AppState, entries: &mut [Value]) -> ApiResult<()> {
    for e in entries {
        let Some(sha) = e.get("lfs").and_then(|l| l.get("oid")).and_then(|o| o.as_str()).map(str::to_owned) else { continue };
        if let Some(x) = state.store.xet_file_by_sha256(&sha).await? {
            e["xetHash"] = x.file_hash.into();
        }
    }
    Ok(())
}
