//! The git-lfs batch API as the Hub clients use it for uploads: basic and multipart transfers on
//! short-lived self-authorising URLs, completion and verify. Every object is checked against its
//! claimed SHA-256 and size before it becomes visible, and is then linked to the repository the
//! batch call authorised.

use crate::access::{load_repo, BaseUrl};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use hangar_blobs::{is_sha256_hex, Expect};
use hangar_core::policy::Action;
use hangar_core::{RepoId, RepoType};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Parts of a multipart upload; small enough to retry cheaply, large enough to keep the number of
/// requests low for multi-gigabyte files.
const MIN_CHUNK: u64 = 8 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
const LFS_JSON: &str = "application/vnd.git-lfs+json";

#[derive(Deserialize)]
pub struct BatchPath {
    namespace: String,
    name_git: String,
}

#[derive(Deserialize)]
pub struct BatchBody {
    operation: String,
    #[serde(default)]
    objects: Vec<BatchObject>,
    /// The transfer adapters the client can use; `xet` makes Hangar answer with Xet.
    #[serde(default)]
    transfers: Vec<String>,
}

#[derive(Deserialize)]
struct BatchObject {
    oid: String,
    size: i64,
}

pub async fn batch_model(state: State<AppState>, caller: Caller, base: BaseUrl, Path(p): Path<BatchPath>, body: axum::body::Bytes) -> ApiResult<Response> {
    batch(state, caller, base, RepoType::Model, p, body).await
}
pub async fn batch_dataset(state: State<AppState>, caller: Caller, base: BaseUrl, Path(p): Path<BatchPath>, body: axum::body::Bytes) -> ApiResult<Response> {
    batch(state, caller, base, RepoType::Dataset, p, body).await
}
pub async fn batch_space(state: State<AppState>, caller: Caller, base: BaseUrl, Path(p): Path<BatchPath>, body: axum::body::Bytes) -> ApiResult<Response> {
    batch(state, caller, base, RepoType::Space, p, body).await
}

fn chunk_size_for(size: u64) -> u64 {
    MIN_CHUNK.max(size.div_ceil(MAX_PARTS))
}

struct Signed<'a> {
    state: &'a AppState,
    exp: i64,
}

impl Signed<'_> {
    fn query(&self, message: &str) -> String {
        format!("exp={}&sig={}", self.exp, self.state.signer.sign(message, self.exp))
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(repo_type = %t))]
async fn batch(State(state): State<AppState>, caller: Caller, base: BaseUrl, t: RepoType, p: BatchPath, body: axum::body::Bytes) -> ApiResult<Response> {
    let name = p.name_git.strip_suffix(".git").unwrap_or(&p.name_git);
    let id = RepoId::new(&p.namespace, name)?;
    let body: BatchBody = serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("Invalid LFS batch request: {e}")))?;
    if body.operation != "upload" {
        return Err(ApiError::bad_request(format!(
            "LFS operation '{}' is not supported: download files through /resolve",
            body.operation
        )));
    }
    // Whoever may open a pull request may upload its large files; only a commit makes them visible.
    let repo = load_repo(&state, &caller, t, &id, Action::OpenPr).await?;
    if body.objects.len() > 1000 {
        return Err(ApiError::PayloadTooLarge("At most 1000 objects per batch request".into()));
    }
    // Clients that offer Xet (hf-hub 1.x, hub.js, huggingface_hub before 1.20) upload through the
    // CAS server, with a write token from `xet-write-token` (hub.js takes it from the action's
    // headers, with the action's `href` to refresh it).
    let xet = body.transfers.iter().any(|t| t == "xet").then(|| {
        let token = crate::handlers::xet::issue_token(&state, &caller, &base, &repo, true);
        let href = format!("{}/api/{}/{}/{}/xet-write-token/main", base.0, t.plural(), repo.namespace, repo.name);
        let header = json!({"X-Xet-Cas-Url": token.cas_url, "X-Xet-Access-Token": token.access_token, "X-Xet-Token-Expiration": token.exp.to_string()});
        json!({"upload": {"href": href, "header": header}})
    });
    let exp = chrono::Utc::now().timestamp() + state.config.upload_url_ttl_secs as i64;
    let signed = Signed { state: &state, exp };
    let mut objects = Vec::with_capacity(body.objects.len());
    let mut any_multipart = false;
    for o in body.objects {
        let oid = o.oid.to_lowercase();
        if !is_sha256_hex(&oid) || o.size < 0 {
            objects.push(json!({"oid": o.oid, "size": o.size, "error": {"code": 422, "message": "oid must be a SHA-256 (64 hex digits) and size a non-negative integer"}}));
            continue;
        }
        if state.store.repo_lfs_object(repo.id, &oid).await? == Some(o.size) {
            objects.push(json!({"oid": oid, "size": o.size}));
            continue;
        }
        if let Some(actions) = &xet {
            objects.push(json!({"oid": oid, "size": o.size, "authenticated": true, "actions": actions}));
            continue;
        }
        let size = o.size as u64;
        let verify_msg = format!("verify|{}|{oid}|{size}", repo.id);
        let verify = json!({"href": format!("{}/lfs/verify/{}/{oid}/{size}?{}", base.0, repo.id, signed.query(&verify_msg)), "header": {}});
        let chunk = chunk_size_for(size);
        let upload = if size <= chunk {
            let msg = format!("upload|{}|{oid}|{size}", repo.id);
            json!({"href": format!("{}/lfs/upload/{}/{oid}/{size}?{}", base.0, repo.id, signed.query(&msg)), "header": {}, "expires_in": state.config.upload_url_ttl_secs})
        } else {
            any_multipart = true;
            let upload_id = crate::signing::new_key();
            let parts = size.div_ceil(chunk);
            let mut header = serde_json::Map::new();
            header.insert("chunk_size".into(), chunk.to_string().into());
            for n in 1..=parts {
                let msg = format!("part|{}|{oid}|{size}|{upload_id}|{n}", repo.id);
                header.insert(n.to_string(), format!("{}/lfs/part/{}/{oid}/{size}/{upload_id}/{n}?{}", base.0, repo.id, signed.query(&msg)).into());
            }
            let msg = format!("complete|{}|{oid}|{size}|{upload_id}", repo.id);
            json!({"href": format!("{}/lfs/complete/{}/{oid}/{size}/{upload_id}?{}", base.0, repo.id, signed.query(&msg)), "header": header, "expires_in": state.config.upload_url_ttl_secs})
        };
        objects.push(json!({"oid": oid, "size": o.size, "authenticated": true, "actions": {"upload": upload, "verify": verify}}));
    }
    let transfer = if xet.is_some() {
        "xet"
    } else if any_multipart {
        "multipart"
    } else {
        "basic"
    };
    let out = json!({"transfer": transfer, "objects": objects, "hash_algo": "sha256"});
    let mut resp = Json(out).into_response();
    resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(LFS_JSON));
    Ok(resp)
}

#[derive(Deserialize)]
pub struct SigQuery {
    exp: i64,
    sig: String,
}

fn check_sig(state: &AppState, msg: &str, q: &SigQuery) -> ApiResult<()> {
    if state.signer.verify(msg, q.exp, &q.sig, chrono::Utc::now().timestamp()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("This upload URL is invalid or has expired; request a new one through the LFS batch API".into()))
    }
}

#[derive(Deserialize)]
pub struct ObjectPath {
    repo_id: i64,
    oid: String,
    size: u64,
}

async fn stream_into(staged: &mut hangar_blobs::Staged, body: Body, limit: u64) -> ApiResult<()> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("could not read the upload body: {e}")))?;
        if staged.len() + chunk.len() as u64 > limit {
            return Err(ApiError::bad_request(format!("The upload is larger than the announced {limit} bytes. Nothing was stored.")));
        }
        staged.write(&chunk).await?;
    }
    Ok(())
}

/// Links a verified object to the repository, unless the repository was deleted meanwhile.
async fn link(state: &AppState, repo_id: i64, oid: &str, size: u64) -> ApiResult<()> {
    state.store.link_lfs_object(repo_id, oid, size as i64).await.map_err(|e| match e {
        hangar_store::StoreError::Database(sqlx_err) if sqlx_err.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) => {
            ApiError::NotFound("The repository of this upload no longer exists".into())
        }
        other => other.into(),
    })
}

/// `PUT /lfs/upload/...`: a basic transfer, one request with the whole object.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn upload_basic(State(state): State<AppState>, Path(p): Path<ObjectPath>, Query(q): Query<SigQuery>, body: Body) -> ApiResult<StatusCode> {
    check_sig(&state, &format!("upload|{}|{}|{}", p.repo_id, p.oid, p.size), &q)?;
    let mut staged = state.blobs.stage().await?;
    stream_into(&mut staged, body, p.size).await?;
    state.blobs.commit(staged, &Expect { sha256: Some(p.oid.clone()), size: Some(p.size) }).await?;
    link(&state, p.repo_id, &p.oid, p.size).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
pub struct PartPath {
    repo_id: i64,
    oid: String,
    size: u64,
    upload_id: String,
    n: u64,
}

fn upload_dir(state: &AppState, upload_id: &str) -> ApiResult<std::path::PathBuf> {
    if upload_id.len() != 64 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request("invalid upload id"));
    }
    Ok(state.config.data_dir.join("uploads").join(upload_id))
}

/// `PUT /lfs/part/...`: one part of a multipart transfer, written in place at its offset in the
/// upload's data file. Answers the part's ETag (its SHA-256), also recorded beside the data.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn upload_part(State(state): State<AppState>, Path(p): Path<PartPath>, Query(q): Query<SigQuery>, body: Body) -> ApiResult<Response> {
    check_sig(&state, &format!("part|{}|{}|{}|{}|{}", p.repo_id, p.oid, p.size, p.upload_id, p.n), &q)?;
    let chunk = chunk_size_for(p.size);
    let parts = p.size.div_ceil(chunk);
    if p.n == 0 || p.n > parts {
        return Err(ApiError::bad_request(format!("part number must be between 1 and {parts}")));
    }
    let expected = if p.n == parts { p.size - chunk * (parts - 1) } else { chunk };
    let dir = upload_dir(&state, &p.upload_id)?;
    tokio::fs::create_dir_all(&dir).await?;
    // Parts arrive in parallel and in any order; each writes its own byte range of one file.
    let mut file = tokio::fs::OpenOptions::new().create(true).write(true).truncate(false).open(dir.join("data")).await?;
    file.seek(std::io::SeekFrom::Start((p.n - 1) * chunk)).await?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(c) = stream.next().await {
        let c = c.map_err(|e| ApiError::bad_request(format!("could not read the part body: {e}")))?;
        written += c.len() as u64;
        if written > expected {
            return Err(ApiError::bad_request(format!("part {} must have {expected} bytes", p.n)));
        }
        hasher.update(&c);
        file.write_all(&c).await?;
    }
    if written != expected {
        return Err(ApiError::bad_request(format!("part {} must have {expected} bytes, got {written}", p.n)));
    }
    file.flush().await?;
    drop(file);
    let etag = hex::encode(hasher.finalize());
    // The marker is written after the bytes: a part without its marker counts as not uploaded.
    tokio::fs::write(dir.join(format!("{:05}.etag", p.n)), &etag).await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(axum::http::header::ETAG, HeaderValue::from_str(&format!("\"{etag}\"")).expect("hex"));
    Ok(resp)
}

#[derive(Deserialize)]
pub struct CompleteBody {
    oid: String,
    parts: Vec<CompletedPart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletedPart {
    part_number: u64,
    etag: String,
}

#[derive(Deserialize)]
pub struct CompletePath {
    repo_id: i64,
    oid: String,
    size: u64,
    upload_id: String,
}

/// `POST /lfs/complete/...`: checks every part, hashes the assembled object and publishes it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn complete_multipart(State(state): State<AppState>, Path(p): Path<CompletePath>, Query(q): Query<SigQuery>, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    check_sig(&state, &format!("complete|{}|{}|{}|{}", p.repo_id, p.oid, p.size, p.upload_id), &q)?;
    let body: CompleteBody = serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("Invalid completion body: {e}")))?;
    if body.oid.to_lowercase() != p.oid {
        return Err(ApiError::bad_request("the completion body names another object"));
    }
    let parts = p.size.div_ceil(chunk_size_for(p.size));
    let mut listed: Vec<&CompletedPart> = body.parts.iter().collect();
    listed.sort_by_key(|x| x.part_number);
    if listed.len() as u64 != parts || listed.iter().enumerate().any(|(i, x)| x.part_number != i as u64 + 1) {
        return Err(ApiError::bad_request(format!("the completion must list parts 1 to {parts} exactly once")));
    }
    let dir = upload_dir(&state, &p.upload_id)?;
    for part in &listed {
        let recorded = tokio::fs::read_to_string(dir.join(format!("{:05}.etag", part.part_number)))
            .await
            .map_err(|_| ApiError::bad_request(format!("part {} was not uploaded", part.part_number)))?;
        if recorded != part.etag.trim_matches('"') {
            return Err(ApiError::bad_request(format!("part {} does not match its ETag", part.part_number)));
        }
    }
    let result = assemble(&state, &dir, &p).await;
    // The parts are useless after a completion attempt, successful or not.
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result?;
    link(&state, p.repo_id, &p.oid, p.size).await?;
    Ok(Json(json!({})))
}

/// Hashes the assembled data file and, when it is the announced object, publishes it by renaming.
async fn assemble(state: &AppState, dir: &std::path::Path, p: &CompletePath) -> ApiResult<()> {
    let data = dir.join("data");
    let mut f = tokio::fs::File::open(&data).await?;
    let mut h = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    let actual = hex::encode(h.finalize());
    if size != p.size || actual != p.oid {
        return Err(hangar_blobs::BlobError::Mismatch { what: "sha256", expected: p.oid.clone(), actual }.into());
    }
    // The blob store publishes by rename, so the file must move to its staging area first.
    let staged = tempfile::Builder::new().prefix("multipart-").tempfile_in(state.blobs.staging_dir())?.into_temp_path();
    tokio::fs::rename(&data, &staged).await?;
    state.blobs.commit_file(staged, &p.oid).await?;
    Ok(())
}

/// `POST /lfs/verify/...`: confirms the object is stored and linked to the repository.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify(State(state): State<AppState>, Path(p): Path<ObjectPath>, Query(q): Query<SigQuery>) -> ApiResult<Json<Value>> {
    check_sig(&state, &format!("verify|{}|{}|{}", p.repo_id, p.oid, p.size), &q)?;
    match state.store.repo_lfs_object(p.repo_id, &p.oid).await? {
        Some(s) if s as u64 == p.size => Ok(Json(json!({}))),
        _ => Err(ApiError::NotFound(format!("LFS object {} ({} bytes) was not uploaded", p.oid, p.size))),
    }
}
