//! `HEAD|GET /{prefix}{repo}/resolve/{rev}/{path}`: file downloads with the headers every official
//! client reads (`X-Repo-Commit`, `ETag`, sizes) and byte ranges.

use crate::access::BaseUrl;
use crate::auth::ClientIp;
use crate::{access, auth};
use crate::error::{header_safe, ApiError, ApiResult};
use crate::objects::{lookup, read_blob, read_commit, resolve_revision, revision_not_found, revision_refs, Found};
use hangar_core::git::Oid;
use hangar_core::names::{is_commit_id, normalize_repo_path};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use hangar_core::policy::Action;
use hangar_core::{RepoId, RepoType};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ResolvePath {
    namespace: String,
    name: String,
    rev: String,
    path: String,
}

pub async fn resolve_model(state: State<AppState>, ip: ClientIp, base: BaseUrl, method: Method, headers: HeaderMap, Path(p): Path<ResolvePath>) -> ApiResult<Response> {
    resolve(state, ip, base, method, headers, RepoType::Model, p).await
}

pub async fn resolve_dataset(state: State<AppState>, ip: ClientIp, base: BaseUrl, method: Method, headers: HeaderMap, Path(p): Path<ResolvePath>) -> ApiResult<Response> {
    resolve(state, ip, base, method, headers, RepoType::Dataset, p).await
}

pub async fn resolve_space(state: State<AppState>, ip: ClientIp, base: BaseUrl, method: Method, headers: HeaderMap, Path(p): Path<ResolvePath>) -> ApiResult<Response> {
    resolve(state, ip, base, method, headers, RepoType::Space, p).await
}

/// Some clients send `refs/pr/1` unencoded; the router then sees the revision `refs`.
fn split_literal_ref(rev: String, path: String) -> (String, String) {
    if rev == "refs" {
        let mut parts = path.splitn(3, '/');
        if let (Some(kind @ ("pr" | "convert" | "heads" | "tags")), Some(name), Some(rest)) = (parts.next(), parts.next(), parts.next()) {
            return (format!("refs/{kind}/{name}"), rest.to_owned());
        }
    }
    (rev, path)
}

/// A single `bytes=` range, resolved against the file size: `Ok(None)` means the whole file.
pub(crate) fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None); // multi-range: answered with the whole file, as RFC 9110 allows
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        return Ok(Some((size.saturating_sub(n), size - 1)));
    }
    let start: u64 = a.parse().map_err(|_| ())?;
    // Clients ask for one byte past the end (hf-hub's last chunk): clamp rather than refuse.
    let end = if b.is_empty() { size.saturating_sub(1) } else { b.parse::<u64>().map_err(|_| ())?.min(size.saturating_sub(1)) };
    if start >= size || end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn hv(s: &str) -> HeaderValue {
    header_safe(s)
}

#[tracing::instrument(level = "debug", skip_all, fields(repo_type = %t))]
async fn resolve(State(state): State<AppState>, ClientIp(ip): ClientIp, base: BaseUrl, method: Method, headers: HeaderMap, t: RepoType, p: ResolvePath) -> ApiResult<Response> {
    let id = RepoId::new(&p.namespace, &p.name)?;
    let (rev, raw_path) = split_literal_ref(p.rev, p.path);
    // The hottest path of the hub: who is calling, the repository and the revision's ref are read
    // together, then checked exactly as `load_repo` and `resolve_revision` do for other routes.
    let hash = auth::presented_token_hash(&headers).map_err(|e| auth::authentication_failed(&state, ip, e))?;
    let now = state.now_ms();
    let ctx = state.store.download_context(hash.as_deref(), t.as_str(), &id.namespace, &id.name, &revision_refs(&rev)).await?;
    let caller = match hash {
        Some(_) => auth::caller_from(&state, ip, true, ctx.token, now).await?,
        None => auth::session_caller(&state, &headers, &method).await?,
    };
    let repo = ctx.repo.ok_or(ApiError::RepoNotFound { anonymous: caller.is_anonymous() })?;
    access::check(&state, &caller, &repo, Action::ReadContent).await?;
    let commit = match ctx.found_ref {
        Some((_, target)) => Oid::parse(&target).ok_or_else(|| anyhow::anyhow!("corrupt ref"))?,
        None if is_commit_id(&rev) => resolve_revision(&state, &repo, &rev).await?.0,
        None => return Err(revision_not_found(&repo, &rev)),
    };
    let missing = |path: &str| ApiError::EntryNotFound {
        message: format!("Entry not found: {path} does not exist in {id} at revision {rev}"),
        commit: Some(commit.hex()),
    };
    let path = normalize_repo_path(&raw_path).map_err(|_| missing(&raw_path))?;
    let root = read_commit(&state, commit).await?.tree;
    let Some(Found::File { oid, .. }) = lookup(&state, root, &path).await? else {
        return Err(missing(&path));
    };
    let blob = read_blob(&state, oid).await?;
    let size = blob.size as u64;
    // The ETag names the blob in every client cache: git SHA-1 for regular files, SHA-256 for LFS.
    let etag = if blob.lfs { blob.sha256.clone() } else { oid.hex() };
    // A large file uploaded through Xet: Xet-capable clients download its chunks from the CAS
    // server; everyone else gets the same bytes here.
    let xet = if blob.lfs { state.store.xet_file_by_sha256(&blob.sha256).await? } else { None };
    // The same content may also have been uploaded through LFS: its stored bytes are then served as is.
    let lfs_bytes_stored = xet.is_some() && method != Method::HEAD && state.blobs.exists(&blob.sha256).await?;

    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(v) => match parse_range(v, size) {
            Ok(r) => r,
            // An empty file cannot satisfy `bytes=0-0`; hf-hub 0.4 probes that way, so answer the
            // whole (empty) file with a Content-Range that still carries the size.
            Err(()) if size == 0 => None,
            Err(()) => return Err(ApiError::RangeNotSatisfiable(size)),
        },
    };

    let mut resp = Response::builder();
    let h = resp.headers_mut().expect("builder");
    h.insert("x-repo-commit", hv(&commit.hex()));
    h.insert(header::ETAG, hv(&format!("\"{etag}\"")));
    if blob.lfs {
        h.insert("x-linked-etag", hv(&format!("\"{etag}\"")));
        h.insert("x-linked-size", hv(&size.to_string()));
    }
    if let Some(x) = &xet {
        h.insert("x-xet-hash", hv(&x.file_hash));
        let refresh = format!("{}/api/{}/{}/xet-read-token/{}", base.0, t.plural(), id, commit.hex());
        let info = format!("{}{}/v1/reconstructions/{}", base.0, crate::handlers::xet::CAS_PREFIX, x.file_hash);
        h.insert(header::LINK, hv(&format!("<{refresh}>; rel=\"xet-auth\", <{info}>; rel=\"xet-reconstruction-info\"")));
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let file_name = path.rsplit('/').next().unwrap_or(&path);
    let encoded = percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    let ascii: String = file_name.chars().map(|c| if c.is_ascii_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect();
    h.insert(header::CONTENT_DISPOSITION, hv(&format!("inline; filename*=UTF-8''{encoded}; filename=\"{ascii}\"")));
    let (status, offset, len) = match range {
        Some((start, end)) => {
            h.insert(header::CONTENT_RANGE, hv(&format!("bytes {start}-{end}/{size}")));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        None => {
            if size == 0 && headers.contains_key(header::RANGE) {
                h.insert(header::CONTENT_RANGE, HeaderValue::from_static("bytes */0"));
            }
            (StatusCode::OK, 0, size)
        }
    };
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let body = if method == Method::HEAD || len == 0 {
        Body::empty()
    } else if let Some(x) = xet.as_ref().filter(|_| !lfs_bytes_stored) {
        crate::handlers::xet::stream_file(&state, x, offset, len).await?
    } else {
        Body::from_stream(state.blobs.stream_range(&blob.sha256, offset, len).await?)
    };
    Ok(resp.status(status).body(body).map_err(|e| anyhow::anyhow!(e))?)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_clamped_as_clients_expect() {
        assert_eq!(parse_range("bytes=0-0", 10), Ok(Some((0, 0))));
        assert_eq!(parse_range("bytes=5-", 10), Ok(Some((5, 9))));
        assert_eq!(parse_range("bytes=0-10", 10), Ok(Some((0, 9))), "one past the end is clamped");
        assert_eq!(parse_range("bytes=-3", 10), Ok(Some((7, 9))));
        assert_eq!(parse_range("bytes=10-", 10), Err(()));
        assert_eq!(parse_range("bytes=0-0", 0), Err(()));
        assert_eq!(parse_range("bytes=3-1", 10), Err(()));
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Ok(None));
        assert_eq!(parse_range("items=0-1", 10), Ok(None));
    }
}
