//! Xet storage: the token endpoints on the Hub API and the CAS server the `hf_xet` client talks to
//! (under `/xet-cas`, with the Xet token as Bearer).
//!
//! Uploads: the client sends xorbs (groups of compressed chunks), each verified chunk by chunk
//! against its hash before it is stored, then a shard describing its files as ranges of chunks of
//! xorbs. Each file is checked against the stored xorbs (ranges, sizes, the proof that the uploader
//! knows the chunks it references, the file hash), reconstructed once to check its SHA-256, and
//! linked to the repository of the token, so the commit that follows can refer to it by SHA-256 as
//! an `lfsFile`. Downloads: a reconstruction lists the chunk ranges with short-lived signed URLs
//! for the bytes; `/resolve` serves the same files as plain bytes.
//!
//! Xet tokens are derived from the Hangar credential that asked for them: bound to one repository
//! and to read or write, signed by the server, valid [`crate::config::Config::xet_token_ttl_secs`],
//! and checked against the credential on every request, so revoking the Hangar token ends them.

use crate::access::{load_repo, BaseUrl};
use crate::auth::Caller;
use crate::error::{header_safe, ApiError, ApiResult};
use crate::handlers::RepoRevPath;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::policy::Action;
use hangar_store::{XetFile, XetXorb};
use hangar_xet::{MerkleHash, Term, XorbMeta};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Where the CAS routes live, on Hangar's own origin.
pub const CAS_PREFIX: &str = "/xet-cas";
/// A xorb holds at most 64 MiB of chunks; leave room for its footer and for compression overhead.
pub const MAX_XORB_BYTES: usize = 96 * 1024 * 1024;
pub const MAX_SHARD_BYTES: usize = 64 * 1024 * 1024;
/// Physical bytes read from a xorb at a time while reconstructing a file.
const READ_GROUP: u64 = 4 * 1024 * 1024;
/// How long a global dedup answer's key is valid (the client caches the shard that long).
const DEDUP_KEY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);
/// At most this many xorbs (64 MiB of content each) in one global dedup answer.
const DEDUP_MAX_XORBS: i64 = 256;
/// How long a fetch URL of a reconstruction stays valid.
const FETCH_URL_TTL_SECS: i64 = 3600;

// ---------------------------------------------------------------------------------------------
// Tokens

/// What a Xet token allows: one repository, read or write, on behalf of one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XetClaims {
    pub repo_id: i64,
    pub write: bool,
    pub cred: Cred,
    pub exp: i64,
}

/// The Hangar credential a Xet token was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cred {
    Token(i64),
    Session(i64),
    Anonymous,
}

impl XetClaims {
    fn message(&self) -> String {
        let cred = match self.cred {
            Cred::Token(id) => format!("t{id}"),
            Cred::Session(id) => format!("s{id}"),
            Cred::Anonymous => "a".to_owned(),
        };
        format!("xet1.{}.{}.{cred}", self.repo_id, if self.write { "w" } else { "r" })
    }

    /// The access token handed to the client: the claims in clear, their expiry and an HMAC.
    pub fn encode(&self, state: &AppState) -> String {
        let msg = self.message();
        format!("{msg}.{}.{}", self.exp, state.signer.sign(&msg, self.exp))
    }

    fn decode(state: &AppState, token: &str, now: i64) -> Option<XetClaims> {
        let mut parts = token.rsplitn(3, '.');
        let sig = parts.next()?;
        let exp: i64 = parts.next()?.parse().ok()?;
        let msg = parts.next()?;
        if !state.signer.verify(msg, exp, sig, now) {
            return None;
        }
        let mut f = msg.split('.');
        if f.next()? != "xet1" {
            return None;
        }
        let repo_id = f.next()?.parse().ok()?;
        let write = match f.next()? {
            "w" => true,
            "r" => false,
            _ => return None,
        };
        let cred = f.next()?;
        let cred = match cred.split_at(1) {
            ("t", id) => Cred::Token(id.parse().ok()?),
            ("s", id) => Cred::Session(id.parse().ok()?),
            ("a", "") => Cred::Anonymous,
            _ => return None,
        };
        Some(XetClaims { repo_id, write, cred, exp })
    }
}

/// `GET /api/{type}s/{repo}/xet-read-token/{rev}`.
pub async fn read_token(state: State<AppState>, caller: Caller, base: BaseUrl, Path(p): Path<RepoRevPath>) -> ApiResult<Response> {
    issue(state, caller, base, p, false).await
}

/// `GET /api/{type}s/{repo}/xet-write-token/{rev}` (`rev` is `None` with `?create_pr=1`): the
/// revision does not matter here, the commit that follows names it.
pub async fn write_token(state: State<AppState>, caller: Caller, base: BaseUrl, Path(p): Path<RepoRevPath>) -> ApiResult<Response> {
    issue(state, caller, base, p, true).await
}

#[tracing::instrument(level = "debug", skip_all, fields(write))]
async fn issue(State(state): State<AppState>, caller: Caller, base: BaseUrl, p: RepoRevPath, write: bool) -> ApiResult<Response> {
    let (t, id) = p.parse()?;
    // Writing needs what an LFS upload needs (opening a pull request at least): the commit that
    // makes the files visible is checked on its own. A read token never passes this.
    let action = if write { Action::OpenPr } else { Action::ReadContent };
    let repo = load_repo(&state, &caller, t, &id, action).await?;
    if !write {
        crate::objects::resolve_revision(&state, &repo, &p.rev).await?;
    }
    let token = issue_token(&state, &caller, &base, &repo, write);
    let mut resp = Json(json!({"casUrl": token.cas_url, "accessToken": token.access_token, "exp": token.exp})).into_response();
    let h = resp.headers_mut();
    h.insert("x-xet-cas-url", header_safe(&token.cas_url));
    h.insert("x-xet-access-token", header_safe(&token.access_token));
    h.insert("x-xet-token-expiration", HeaderValue::from(token.exp));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A Xet token as the token endpoints and the LFS batch answer hand it out.
pub struct IssuedToken {
    pub cas_url: String,
    pub access_token: String,
    pub exp: i64,
}

/// A Xet token for `repo`, derived from the caller's credential. The caller must already have
/// been checked for the access it asks (`Action::OpenPr` for write, `ReadContent` for read).
pub fn issue_token(state: &AppState, caller: &Caller, base: &BaseUrl, repo: &hangar_store::Repo, write: bool) -> IssuedToken {
    let cred = match &caller.0 {
        Some(a) => match &a.token {
            Some(tok) => Cred::Token(tok.id),
            None => Cred::Session(a.user.id),
        },
        None => Cred::Anonymous,
    };
    let exp = chrono::Utc::now().timestamp() + state.config.xet_token_ttl_secs as i64;
    let access_token = XetClaims { repo_id: repo.id, write, cred, exp }.encode(state);
    IssuedToken { cas_url: format!("{}{CAS_PREFIX}", base.0), access_token, exp }
}

/// The caller of a CAS route: a valid, unexpired Xet token whose Hangar credential still works.
pub struct XetAuth(pub XetClaims);

impl XetAuth {
    fn require_write(&self) -> ApiResult<()> {
        if self.0.write {
            Ok(())
        } else {
            Err(ApiError::Forbidden("This Xet token is read-only: ask for a write token to upload".into()))
        }
    }
}

impl FromRequestParts<AppState> for XetAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let invalid = || ApiError::AuthRequired("A valid Xet access token is required: ask the Hub API for one (xet-read-token or xet-write-token)".into());
        let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(invalid)?;
        let (scheme, token) = value.split_once(' ').ok_or_else(invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(invalid());
        }
        let now = chrono::Utc::now().timestamp();
        let claims = XetClaims::decode(state, token.trim(), now).ok_or_else(invalid)?;
        // The credential behind the token must still work: a revoked or expired token, or a
        // disabled account, ends its Xet tokens at once.
        let user_id = match claims.cred {
            Cred::Token(id) => {
                let tok = state.store.token_by_id(id).await?.ok_or_else(invalid)?;
                if tok.revoked_at.is_some() || tok.expires_at.is_some_and(|e| e <= state.now_ms()) {
                    return Err(invalid());
                }
                Some(tok.user_id)
            }
            Cred::Session(id) => Some(id),
            Cred::Anonymous => None,
        };
        if let Some(uid) = user_id {
            let user = state.store.user_by_id(uid).await?.ok_or_else(invalid)?;
            if user.disabled_at.is_some() {
                return Err(invalid());
            }
        }
        Ok(XetAuth(claims))
    }
}

// ---------------------------------------------------------------------------------------------
// Uploads

fn bad(e: hangar_xet::XetError) -> ApiError {
    match e {
        hangar_xet::XetError::Invalid(m) => ApiError::bad_request(m),
        internal @ hangar_xet::XetError::Internal(_) => ApiError::Internal(anyhow::anyhow!(internal)),
    }
}

fn parse_hash(hex: &str) -> ApiResult<MerkleHash> {
    hangar_xet::parse_hash(hex).map_err(bad)
}

fn check_prefix(prefix: &str) -> ApiResult<()> {
    if prefix == "default" || prefix == "default-merkledb" {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("Unknown CAS prefix '{prefix}'")))
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(anyhow::anyhow!("verification task failed: {e}")))
}

/// `POST /xet-cas/v1/xorbs/{prefix}/{hash}`: one serialized xorb, verified before it is stored.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn post_xorb(State(state): State<AppState>, auth: XetAuth, Path((prefix, hash)): Path<(String, String)>, headers: HeaderMap, body: Body) -> ApiResult<Json<Value>> {
    auth.require_write()?;
    check_prefix(&prefix)?;
    let expected = parse_hash(&hash)?;
    let key = expected.hex();
    let now = state.now_ms();
    {
        // Stored already: touching it keeps it through the grace period of this upload. Under the
        // lock, no collection runs between the lookup and the touch.
        let _gc = state.xet_gc_lock.read().await;
        if let Some(existing) = state.store.xet_xorb(&key).await? {
            state.store.put_xet_xorb(&existing, &[], now).await?;
            return Ok(Json(json!({"was_inserted": false})));
        }
    }
    let _slot = state.xet_xorb_slots.acquire().await.map_err(|e| anyhow::anyhow!(e))?;
    let body = read_body(body, &headers, MAX_XORB_BYTES).await?;
    let (bytes, meta) = blocking(move || hangar_xet::verify_xorb(&expected, body)).await?.map_err(bad)?;
    let size = bytes.len() as i64;
    let _gc = state.xet_gc_lock.read().await;
    let mut staged = state.blobs.stage().await?;
    staged.write(&bytes).await?;
    drop(bytes);
    let blob_sha256 = state.blobs.commit(staged, &hangar_blobs::Expect::default()).await?;
    let dedup: Vec<String> = meta.global_dedup_chunks().iter().map(|(h, _)| h.hex()).collect();
    let xorb = XetXorb { hash: key, blob_sha256, size, meta: meta.to_bytes() };
    let inserted = state.store.put_xet_xorb(&xorb, &dedup, now).await?;
    Ok(Json(json!({"was_inserted": inserted})))
}

/// Reads a request body of at most `limit` bytes into one buffer sized from `Content-Length`.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> ApiResult<Vec<u8>> {
    use futures::StreamExt;
    let too_large = || ApiError::PayloadTooLarge(format!("A xorb is at most {limit} bytes"));
    let announced = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(announced.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("could not read the upload body: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The stored xorbs a set of terms needs, decoded once each.
async fn load_xorbs(state: &AppState, terms: &[Term]) -> ApiResult<HashMap<MerkleHash, Arc<XorbMeta>>> {
    let mut out: HashMap<MerkleHash, Arc<XorbMeta>> = HashMap::new();
    for t in terms {
        if out.contains_key(&t.xorb) {
            continue;
        }
        if let Some(row) = state.store.xet_xorb(&t.xorb.hex()).await? {
            let meta = XorbMeta::from_bytes(&row.meta).map_err(|e| anyhow::anyhow!("corrupt xorb index {}: {e}", row.hash))?;
            out.insert(t.xorb, Arc::new(meta));
        }
    }
    Ok(out)
}

/// Reads and decodes the file bytes of `terms` in order, a few MiB at a time (never a whole file
/// in memory).
struct PieceReader {
    state: AppState,
    xorbs: HashMap<MerkleHash, Arc<XorbMeta>>,
    blob_of: HashMap<MerkleHash, String>,
    terms: Vec<Term>,
    term: usize,
    chunk: u32,
}

impl PieceReader {
    fn new(state: &AppState, xorbs: HashMap<MerkleHash, Arc<XorbMeta>>, terms: Vec<Term>) -> Self {
        let chunk = terms.first().map_or(0, |t| t.chunk_start);
        PieceReader { state: state.clone(), xorbs, blob_of: HashMap::new(), terms, term: 0, chunk }
    }

    async fn next(&mut self) -> ApiResult<Option<Vec<u8>>> {
        use tokio::io::AsyncReadExt;
        let Some(t) = self.terms.get(self.term).cloned() else { return Ok(None) };
        let gone = || anyhow::anyhow!("xorb {} of a stored file is missing", t.xorb.hex());
        let meta = self.xorbs.get(&t.xorb).ok_or_else(gone)?.clone();
        let blob = match self.blob_of.get(&t.xorb) {
            Some(b) => b.clone(),
            None => {
                let row = self.state.store.xet_xorb(&t.xorb.hex()).await?.ok_or_else(gone)?;
                self.blob_of.insert(t.xorb, row.blob_sha256.clone());
                row.blob_sha256
            }
        };
        // Whole chunks, about READ_GROUP physical bytes.
        let c = self.chunk;
        let mut end_chunk = c + 1;
        while end_chunk < t.chunk_end && meta.byte_range(c, end_chunk + 1).is_some_and(|(s, e)| e - s <= READ_GROUP) {
            end_chunk += 1;
        }
        let (s, e) = meta.byte_range(c, end_chunk).ok_or_else(|| anyhow::anyhow!("chunk range outside its xorb"))?;
        let mut raw = Vec::with_capacity((e - s) as usize);
        self.state.blobs.read_range(&blob, s, e - s).await?.read_to_end(&mut raw).await?;
        let data = blocking(move || {
            let mut out = Vec::new();
            hangar_xet::decode_chunks(&raw, &mut out).map(|_| out)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("stored xorb does not decode: {e}"))?;
        if end_chunk >= t.chunk_end {
            self.term += 1;
            self.chunk = self.terms.get(self.term).map_or(0, |t| t.chunk_start);
        } else {
            self.chunk = end_chunk;
        }
        Ok(Some(data))
    }
}

#[derive(serde::Serialize)]
struct ShardResult {
    result: u8,
}

/// `POST /xet-cas/v1/shards`: the files of an upload. Every file is verified against the stored
/// xorbs and its SHA-256 before anything is recorded; then each is linked to the token's repo.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn post_shard(State(state): State<AppState>, auth: XetAuth, body: Bytes) -> ApiResult<Response> {
    auth.require_write()?;
    if body.len() > MAX_SHARD_BYTES {
        return Err(ApiError::PayloadTooLarge(format!("A shard is at most {MAX_SHARD_BYTES} bytes")));
    }
    let files = blocking(move || hangar_xet::parse_shard(&body)).await?.map_err(bad)?;
    let mut verified = Vec::with_capacity(files.len());
    for f in files {
        let xorbs = load_xorbs(&state, &f.terms).await?;
        let size = hangar_xet::verify_file(&f, |h| xorbs.get(h).map(|m| (**m).clone())).map_err(bad)?;
        let key = f.hash.hex();
        let sha256 = match state.store.xet_file(&key).await? {
            // Known file: its SHA-256 was computed when it was first stored.
            Some(known) => known.sha256,
            None => {
                let mut hasher = Sha256::new();
                let mut n = 0u64;
                let mut reader = PieceReader::new(&state, xorbs.clone(), f.terms.clone());
                while let Some(piece) = reader.next().await? {
                    n += piece.len() as u64;
                    hasher.update(&piece);
                }
                if n != size {
                    return Err(ApiError::bad_request(format!("file {key}: reconstructed {n} bytes, expected {size}")));
                }
                hex::encode(hasher.finalize())
            }
        };
        if let Some(claimed) = &f.sha256 {
            if !claimed.eq_ignore_ascii_case(&sha256) {
                return Err(ApiError::bad_request(format!(
                    "file {key}: the shard claims SHA-256 {claimed} but its content hashes to {sha256}. Nothing was stored."
                )));
            }
        }
        let mut xorb_keys: Vec<String> = f.terms.iter().map(|t| t.xorb.hex()).collect();
        xorb_keys.sort();
        xorb_keys.dedup();
        let first = f.terms.first().and_then(|t| xorbs.get(&t.xorb).and_then(|m| m.chunks.get(t.chunk_start as usize)).map(|c| (c.hash.hex(), t.xorb.hex())));
        let file = XetFile { file_hash: key, sha256, size: size as i64, terms: hangar_xet::terms_to_bytes(&f.terms) };
        verified.push((file, xorb_keys, first));
    }
    let now = state.now_ms();
    for (file, xorbs, first) in &verified {
        let first = first.as_ref().map(|(c, x)| (c.as_str(), x.as_str()));
        if !state.store.put_xet_file(file, xorbs, first, auth.0.repo_id, now).await.map_err(repo_gone)? {
            return Err(ApiError::bad_request(format!("file {}: a xorb it uses is no longer stored; upload it again", file.file_hash)));
        }
    }
    Ok(Json(ShardResult { result: 1 }).into_response())
}

fn repo_gone(e: hangar_store::StoreError) -> ApiError {
    match e {
        hangar_store::StoreError::Database(sqlx_err) if sqlx_err.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) => {
            ApiError::NotFound("The repository of this upload, or a xorb it uses, no longer exists".into())
        }
        other => other.into(),
    }
}

/// `GET /xet-cas/v1/chunks/{prefix}/{hash}`: global dedup. The answer describes the xorb holding
/// the chunk with every chunk hash keyed by a fresh key, so the client can only recognise chunks
/// it already has; nothing says which repository or file the xorb belongs to.
pub async fn get_chunk(State(state): State<AppState>, _auth: XetAuth, Path((prefix, hash)): Path<(String, String)>) -> ApiResult<Response> {
    check_prefix(&prefix)?;
    let chunk = parse_hash(&hash)?;
    // The touches below must not race a collection (see `post_xorb`).
    let _gc = state.xet_gc_lock.read().await;
    let Some(row) = state.store.xet_dedup_xorb(&chunk.hex(), state.now_ms()).await? else {
        return Err(ApiError::NotFound("No dedup information for this chunk".into()));
    };
    // Like the Hub, describe the whole upload the chunk came from (the xorbs of the files that
    // use its xorb): one hit then dedups every chunk of a re-uploaded file the client still has.
    let mut rows = vec![row];
    let siblings = state.store.xet_sibling_xorbs(&rows[0].hash, DEDUP_MAX_XORBS - 1).await?;
    let now = state.now_ms();
    for x in &siblings {
        // The asking upload may reference any of them: they get their grace period again.
        state.store.put_xet_xorb(x, &[], now).await?;
    }
    rows.extend(siblings);
    let metas = rows
        .iter()
        .map(|r| XorbMeta::from_bytes(&r.meta).map_err(|e| anyhow::anyhow!("corrupt xorb index {}: {e}", r.hash)))
        .collect::<Result<Vec<_>, _>>()?;
    let key: [u8; 32] = rand::random();
    let shard = hangar_xet::dedup_shard(&metas, key, DEDUP_KEY_LIFETIME).map_err(|e| anyhow::anyhow!("dedup shard: {e}"))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], shard).into_response())
}

/// `POST /xet-cas/v1/telemetry`: accepted and dropped.
pub async fn telemetry() -> StatusCode {
    StatusCode::OK
}

// ---------------------------------------------------------------------------------------------
// Downloads

/// A file the token's repository may read, or the same 404 as a missing one.
async fn readable_file(state: &AppState, auth: &XetAuth, hash: &str) -> ApiResult<(XetFile, Vec<Term>)> {
    let not_found = || ApiError::NotFound("File not found".into());
    let key = parse_hash(hash)?.hex();
    let file = state.store.xet_file(&key).await?.ok_or_else(not_found)?;
    if state.store.repo_lfs_object(auth.0.repo_id, &file.sha256).await?.is_none() {
        return Err(not_found());
    }
    let terms = hangar_xet::terms_from_bytes(&file.terms).map_err(|e| anyhow::anyhow!("corrupt terms of {key}: {e}"))?;
    Ok((file, terms))
}

/// The `Range` of a request as `[start, end)`, parsed and clamped exactly as `/resolve` does;
/// `None` for the whole file (no header, or one that names no single byte range).
fn file_range(headers: &HeaderMap, size: u64) -> ApiResult<Option<(u64, u64)>> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    match crate::handlers::resolve::parse_range(v, size) {
        Ok(r) => Ok(r.map(|(start, end)| (start, end + 1))),
        Err(()) if size == 0 => Ok(None),
        Err(()) => Err(ApiError::RangeNotSatisfiable(size)),
    }
}

struct Plan {
    offset_into_first_range: u64,
    terms: Vec<Value>,
    /// (xorb, chunk start, chunk end, byte start, byte end inclusive), once each.
    fetches: Vec<(MerkleHash, u32, u32, u64, u64)>,
}

async fn plan(state: &AppState, terms: &[Term], start: u64, end: u64) -> ApiResult<Plan> {
    let (first, last, offset) = hangar_xet::terms_for_range(terms, start, end);
    let selected = &terms[first..last];
    let xorbs = load_xorbs(state, selected).await?;
    let mut out_terms = Vec::with_capacity(selected.len());
    let mut fetches: Vec<(MerkleHash, u32, u32, u64, u64)> = Vec::new();
    for t in selected {
        let meta = xorbs.get(&t.xorb).ok_or_else(|| anyhow::anyhow!("xorb {} of a stored file is missing", t.xorb.hex()))?;
        let (s, e) = meta.byte_range(t.chunk_start, t.chunk_end).ok_or_else(|| anyhow::anyhow!("term outside its xorb"))?;
        out_terms.push(json!({"hash": t.xorb.hex(), "unpacked_length": t.unpacked_len, "range": {"start": t.chunk_start, "end": t.chunk_end}}));
        if !fetches.iter().any(|f| f.0 == t.xorb && f.1 <= t.chunk_start && t.chunk_end <= f.2) {
            fetches.push((t.xorb, t.chunk_start, t.chunk_end, s, e - 1));
        }
    }
    Ok(Plan { offset_into_first_range: offset, terms: out_terms, fetches })
}

fn fetch_url(state: &AppState, base: &BaseUrl, xorb: &MerkleHash) -> String {
    let exp = chrono::Utc::now().timestamp() + FETCH_URL_TTL_SECS;
    let msg = format!("xetfetch|{}", xorb.hex());
    format!("{}{CAS_PREFIX}/v1/fetch/{}?exp={exp}&sig={}", base.0, xorb.hex(), state.signer.sign(&msg, exp))
}

/// `GET /xet-cas/v1/reconstructions/{file}`: the terms of a file (or of the `Range` asked) and
/// where to fetch each chunk range.
pub async fn reconstruction_v1(state: State<AppState>, auth: XetAuth, base: BaseUrl, headers: HeaderMap, Path(hash): Path<String>) -> ApiResult<Json<Value>> {
    reconstruction(state, auth, base, headers, hash, 1).await
}

/// `GET /xet-cas/v2/reconstructions/{file}`: the same plan in the v2 shape (one range per URL).
pub async fn reconstruction_v2(state: State<AppState>, auth: XetAuth, base: BaseUrl, headers: HeaderMap, Path(hash): Path<String>) -> ApiResult<Json<Value>> {
    reconstruction(state, auth, base, headers, hash, 2).await
}

async fn reconstruction(State(state): State<AppState>, auth: XetAuth, base: BaseUrl, headers: HeaderMap, hash: String, version: u8) -> ApiResult<Json<Value>> {
    let (file, terms) = readable_file(&state, &auth, &hash).await?;
    let (start, end) = file_range(&headers, file.size as u64)?.unwrap_or((0, file.size as u64));
    let plan = plan(&state, &terms, start, end).await?;
    let mut by_xorb: serde_json::Map<String, Value> = serde_json::Map::new();
    for (x, cs, ce, bs, be) in &plan.fetches {
        let url = fetch_url(&state, &base, x);
        let entry = if version == 1 {
            json!({"range": {"start": cs, "end": ce}, "url": url, "url_range": {"start": bs, "end": be}})
        } else {
            json!({"url": url, "ranges": [{"chunks": {"start": cs, "end": ce}, "bytes": {"start": bs, "end": be}}]})
        };
        by_xorb.entry(x.hex()).or_insert_with(|| Value::Array(vec![])).as_array_mut().expect("array").push(entry);
    }
    let key = if version == 1 { "fetch_info" } else { "xorbs" };
    Ok(Json(json!({"offset_into_first_range": plan.offset_into_first_range, "terms": plan.terms, key: by_xorb})))
}

/// `GET /xet-cas/v2/file-chunk-hashes/{file}` with `X-Range-Dirty: bytes=A-B,C-D` (inclusive
/// ends): for a client about to rewrite those ranges of a file it may read, the chunk-aligned
/// windows to re-upload and opaque subtrees of the chunks around them (never the chunk hashes),
/// from which it computes the new file hash, plus the verification hashes of the terms it keeps
/// (`xet-data`'s `upload_ranges`). Same privacy rule as reconstructions.
pub async fn file_chunk_hashes(State(state): State<AppState>, auth: XetAuth, headers: HeaderMap, Path(hash): Path<String>) -> ApiResult<Json<FileChunkHashesResponse>> {
    let dirty = hangar_xet::parse_dirty_ranges(headers.get(hangar_xet::X_RANGE_DIRTY_HEADER).map(|v| v.as_bytes())).map_err(bad)?;
    let (_file, terms) = readable_file(&state, &auth, &hash).await?;
    let xorbs = load_xorbs(&state, &terms).await?;
    let answer = blocking(move || hangar_xet::file_chunk_hashes(&terms, |h| xorbs.get(h).map(|m| (**m).clone()), &dirty)).await?.map_err(bad)?;
    Ok(Json(FileChunkHashesResponse::from(answer)))
}

/// The JSON of a file chunk hashes answer, as `xet-client`'s `FileChunkHashesResponse` reads it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChunkHashesResponse {
    total_chunks: u64,
    file_size: u64,
    windows: Vec<ChunkWindow>,
    /// `MerkleHashSubtree`'s own serde form (`nodes` as `{hash, size}` with hex hashes, `levels`,
    /// `at_start`, `at_end`), `null` for an empty gap.
    hash_ranges: Vec<Option<hangar_xet::MerkleHashSubtree>>,
    /// Hashes in Xet's hex string order, like every hash in the CAS API.
    gap_verification: Vec<String>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ChunkWindow {
    dirty_byte_range: [u64; 2],
}

impl From<hangar_xet::FileChunkHashes> for FileChunkHashesResponse {
    fn from(a: hangar_xet::FileChunkHashes) -> Self {
        FileChunkHashesResponse {
            total_chunks: a.total_chunks,
            file_size: a.file_size,
            windows: a.windows.into_iter().map(|(s, e)| ChunkWindow { dirty_byte_range: [s, e] }).collect(),
            hash_ranges: a.hash_ranges,
            gap_verification: a.gap_verification.iter().map(|h| h.hex()).collect(),
        }
    }
}

#[derive(Deserialize)]
pub struct FetchQuery {
    exp: i64,
    sig: String,
}

/// `GET /xet-cas/v1/fetch/{xorb}?exp&sig`: bytes of a stored xorb, on a signed URL from a
/// reconstruction (clients send no credentials there), with `Range`.
pub async fn fetch(State(state): State<AppState>, headers: HeaderMap, Path(hash): Path<String>, Query(q): Query<FetchQuery>) -> ApiResult<Response> {
    let xorb = parse_hash(&hash)?;
    if !state.signer.verify(&format!("xetfetch|{}", xorb.hex()), q.exp, &q.sig, chrono::Utc::now().timestamp()) {
        return Err(ApiError::Forbidden("This fetch URL is invalid or has expired; ask for a new reconstruction".into()));
    }
    let row = state.store.xet_xorb(&xorb.hex()).await?.ok_or_else(|| ApiError::NotFound("xorb not found".into()))?;
    let size = row.size as u64;
    let (start, end_excl, partial) = match file_range(&headers, size)? {
        None => (0, size, false),
        Some((s, e)) => (s, e, true),
    };
    let len = end_excl - start;
    let mut resp = Response::builder()
        .status(if partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK })
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, len);
    if partial {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", end_excl - 1));
    }
    let body = if len == 0 { Body::empty() } else { Body::from_stream(state.blobs.stream_range(&row.blob_sha256, start, len).await?) };
    Ok(resp.body(body).map_err(|e| anyhow::anyhow!(e))?)
}

// ---------------------------------------------------------------------------------------------
// Plain downloads of Xet files (`/resolve`)

/// The bytes [offset, offset + len) of a stored Xet file, as a response body stream: chunks are
/// read and decoded a few MiB at a time by a background task, two pieces ahead of the socket.
pub async fn stream_file(state: &AppState, file: &XetFile, offset: u64, len: u64) -> ApiResult<Body> {
    let terms = hangar_xet::terms_from_bytes(&file.terms).map_err(|e| anyhow::anyhow!("corrupt terms of {}: {e}", file.file_hash))?;
    let end = offset + len;
    let (first, last, skip) = hangar_xet::terms_for_range(&terms, offset, end);
    let selected = terms[first..last].to_vec();
    let xorbs = load_xorbs(state, &selected).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    let mut reader = PieceReader::new(state, xorbs, selected);
    tokio::spawn(async move {
        let mut to_skip = skip;
        let mut remaining = len;
        while remaining > 0 {
            let mut piece = match reader.next().await {
                Ok(Some(p)) => Bytes::from(p),
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "reading a Xet file failed");
                    let _ = tx.send(Err(std::io::Error::other("reading the file failed"))).await;
                    return;
                }
            };
            if to_skip > 0 {
                let n = (to_skip as usize).min(piece.len());
                piece = piece.slice(n..);
                to_skip -= n as u64;
            }
            if piece.len() as u64 > remaining {
                piece = piece.slice(..remaining as usize);
            }
            remaining -= piece.len() as u64;
            if !piece.is_empty() && tx.send(Ok(piece)).await.is_err() {
                return; // the client went away
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Body::from_stream(stream))
}

// ---------------------------------------------------------------------------------------------
// Garbage collection

/// What one collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Collected {
    pub files: u64,
    pub xorbs: u64,
    pub bytes: u64,
}

/// Removes Xet data nothing needs any more: files no repository links to (their repositories were
/// deleted) and xorbs no file uses, both untouched for `grace_secs`. Uploads in flight touch what
/// they send or reuse (xorbs, dedup answers), so they are never collected under them; a xorb
/// uploaded again while its bytes are being removed waits for the lock and stores them anew.
pub async fn collect_garbage(state: &AppState, grace_secs: u64) -> anyhow::Result<Collected> {
    let cutoff = state.now_ms() - (grace_secs as i64).saturating_mul(1000);
    let _exclusive = state.xet_gc_lock.write().await;
    let gone = state.store.xet_collect(cutoff).await?;
    let mut out = Collected { files: gone.files, xorbs: gone.xorbs.len() as u64, bytes: 0 };
    for x in gone.xorbs {
        if !state.store.blob_in_use(&x.blob_sha256).await? && state.blobs.delete(&x.blob_sha256).await? {
            out.bytes += x.size as u64;
        }
    }
    if out.files + out.xorbs > 0 {
        tracing::info!(files = out.files, xorbs = out.xorbs, bytes = out.bytes, "collected unreferenced Xet data");
    }
    Ok(out)
}
