//! `preupload` and the NDJSON `commit` endpoint: how every upload ends.

use crate::access::{load_repo, repo_type_of, BaseUrl};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::{query_bool, RepoRevPath};
use crate::ndjson::{self, Parser};
use crate::objects::{lookup, read_blob, read_commit, resolve_revision, Found};
use crate::state::AppState;
use crate::tree_build::{NewObject, TreeBuilder};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::Json;
use base64::Engine as _;
use futures::StreamExt;
use hangar_core::git::{self, Commit, ObjectKind, Oid, Signature};
use hangar_core::names::normalize_repo_path;
use hangar_core::policy::Action;
use hangar_store::{BlobRecord, CommitWrite, NewDiscussion, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use tokio::io::AsyncWriteExt;

/// Builds a commit object; Hangar commits carry the user as author and committer.
pub fn make_commit(tree: Oid, parent: Option<Oid>, user: &str, summary: &str, description: &str, now_ms: i64) -> (Oid, NewObject) {
    let sig = Signature { name: user.to_owned(), email: format!("{user}@users.noreply.hangar"), time: now_ms / 1000 };
    let mut message = summary.trim().to_owned();
    if !description.trim().is_empty() {
        message.push_str("\n\n");
        message.push_str(description.trim());
    }
    message.push('\n');
    let c = Commit { tree, parents: parent.into_iter().collect(), author: sig.clone(), committer: sig, message };
    let bytes = c.encode();
    let oid = git::object_id(ObjectKind::Commit, &bytes);
    (oid, (oid.hex(), "commit".into(), bytes))
}

#[derive(Deserialize)]
pub struct PreuploadBody {
    files: Vec<PreuploadFile>,
}

#[derive(Deserialize)]
struct PreuploadFile {
    path: String,
    #[serde(default)]
    sample: String,
    size: u64,
}

/// `POST /api/{type}s/{repo}/preupload/{rev}`: tells the client which files go through LFS and
/// what the revision already holds at each path (for no-op detection).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn preupload(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<RepoRevPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Result<Json<PreuploadBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let (t, id) = p.parse()?;
    let create_pr = query_bool(q.get("create_pr").map(String::as_str));
    let repo = load_repo(&state, &caller, t, &id, if create_pr { Action::OpenPr } else { Action::Write }).await?;
    let body = crate::handlers::json_body(body)?;
    let head = if query_bool(q.get("create_pr").map(String::as_str)) && p.rev == "None" {
        resolve_revision(&state, &repo, "main").await.ok()
    } else {
        // Pushing to a branch that does not exist is refused here, as at commit time.
        Some(resolve_revision(&state, &repo, &p.rev).await?)
    };
    let root = match head {
        Some((c, _)) => Some(read_commit(&state, c).await?.tree),
        None => None,
    };
    let mut files = Vec::with_capacity(body.files.len());
    for f in body.files {
        let path = normalize_repo_path(&f.path)?;
        let sample = base64::engine::general_purpose::STANDARD.decode(f.sample.as_bytes()).unwrap_or_default();
        let lfs = f.size > state.config.lfs_threshold || (f.size > 0 && sample.contains(&0));
        let mut oid = Value::Null;
        if let Some(root) = root {
            if let Some(Found::File { oid: blob_oid, .. }) = lookup(&state, root, &path).await? {
                let b = read_blob(&state, blob_oid).await?;
                oid = if b.lfs { b.sha256.into() } else { blob_oid.hex().into() };
            }
        }
        files.push(json!({
            "path": f.path,
            "uploadMode": if lfs { "lfs" } else { "regular" },
            "shouldIgnore": false,
            "oid": oid,
        }));
    }
    let commit_oid = head.map(|(c, _)| c.hex());
    Ok(Json(json!({"files": files, "commitOid": commit_oid})))
}

enum Op {
    File { path: String, blob: BlobRecord, file: tempfile::TempPath, tokens: Vec<String> },
    Lfs { path: String, sha256: String, size: Option<i64> },
    DeleteFile { path: String },
    DeleteFolder { path: String },
}

struct ParsedCommit {
    summary: String,
    description: String,
    parent_commit: Option<String>,
    ops: Vec<Op>,
}

/// Decodes a base64 (or UTF-8) file content into a staged file, hashing it both ways.
/// Stages one inline file: decodes it into a temporary file, hashing it and looking for tokens as
/// it goes.
fn stage_content(src: &mut dyn Read, base64: bool, dir: &std::path::Path) -> Result<(BlobRecord, tempfile::TempPath, Vec<String>), String> {
    let tmp = tempfile::Builder::new().prefix("inline-").tempfile_in(dir).map_err(|e| e.to_string())?;
    let (file, path) = tmp.into_parts();
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, file);
    let mut sha = Sha256::new();
    let mut size = 0u64;
    let mut reader: Box<dyn Read> = if base64 {
        Box::new(base64::read::DecoderReader::new(src, &base64::engine::general_purpose::STANDARD))
    } else {
        Box::new(src)
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut scanner = crate::scan::StreamScanner::default();
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("invalid base64 content: {e}"))?;
        if n == 0 {
            break;
        }
        scanner.feed(&buf[..n]);
        sha.update(&buf[..n]);
        size += n as u64;
        w.write_all(&buf[..n]).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    drop(w);
    // The git id needs the length up front, so it is a second pass over the staged bytes.
    let mut hasher = git::ObjectHasher::new(ObjectKind::Blob, size);
    let mut f = BufReader::new(std::fs::File::open(&path).map_err(|e| e.to_string())?);
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let record = BlobRecord { oid: hasher.finish().hex(), size: size as i64, sha256: hex::encode(sha.finalize()), lfs: false };
    Ok((record, path, scanner.finish()))
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// Parses the spooled NDJSON body (blocking I/O). Errors are messages for a 400.
fn parse_commit(body: std::fs::File, dir: &std::path::Path) -> Result<ParsedCommit, String> {
    let mut p = Parser::new(BufReader::with_capacity(256 * 1024, body), dir);
    let mut out = ParsedCommit { summary: String::new(), description: String::new(), parent_commit: None, ops: Vec::new() };
    let mut saw_header = false;
    let mut line_no = 0;
    while p.next_line().map_err(|e| e.to_string())? {
        line_no += 1;
        let line = p.read_line_value().map_err(|e| format!("line {line_no}: {e}"))?;
        let key = str_field(&line, "key").ok_or(format!("line {line_no}: missing \"key\""))?;
        let value = line.get("value").ok_or(format!("line {line_no}: missing \"value\""))?;
        let path = || -> Result<String, String> {
            let raw = str_field(value, "path").ok_or(format!("line {line_no}: missing \"path\""))?;
            normalize_repo_path(raw).map_err(|e| format!("line {line_no}: {e}"))
        };
        match key {
            "header" => {
                saw_header = true;
                out.summary = str_field(value, "summary").unwrap_or("").to_owned();
                out.description = str_field(value, "description").unwrap_or("").to_owned();
                out.parent_commit = str_field(value, "parentCommit").map(str::to_lowercase);
            }
            "file" => {
                let path = path()?;
                let encoding = str_field(value, "encoding").unwrap_or("base64");
                let is_b64 = match encoding {
                    "base64" => true,
                    "utf-8" | "utf8" => false,
                    other => return Err(format!("line {line_no}: unsupported encoding '{other}'")),
                };
                let content = value.get("content").ok_or(format!("line {line_no}: missing \"content\""))?;
                let staged = match ndjson::spilled(content) {
                    Some(i) => {
                        let mut f = BufReader::new(p.spills[i].reopen().map_err(|e| e.to_string())?);
                        stage_content(&mut f, is_b64, dir)
                    }
                    None => {
                        let s = content.as_str().ok_or(format!("line {line_no}: \"content\" must be a string"))?;
                        stage_content(&mut s.as_bytes(), is_b64, dir)
                    }
                }
                .map_err(|e| format!("line {line_no} ({path}): {e}"))?;
                out.ops.push(Op::File { path, blob: staged.0, file: staged.1, tokens: staged.2 });
            }
            "lfsFile" => {
                let path = path()?;
                let algo = str_field(value, "algo").unwrap_or("sha256");
                if algo != "sha256" {
                    return Err(format!("line {line_no}: unsupported LFS hash algorithm '{algo}'"));
                }
                let oid = str_field(value, "oid").ok_or(format!("line {line_no}: missing \"oid\""))?.to_lowercase();
                if !hangar_blobs::is_sha256_hex(&oid) {
                    return Err(format!("line {line_no}: \"oid\" must be 64 hex digits"));
                }
                let size = value.get("size").and_then(Value::as_i64);
                out.ops.push(Op::Lfs { path, sha256: oid, size });
            }
            "deletedFile" => out.ops.push(Op::DeleteFile { path: path()? }),
            "deletedFolder" => out.ops.push(Op::DeleteFolder { path: path()? }),
            other => return Err(format!("line {line_no}: unknown operation '{other}'")),
        }
        // Spilled strings of finished lines are no longer needed.
        p.spills.clear();
    }
    if !saw_header {
        return Err("the first line must be the commit header ({\"key\": \"header\", ...})".into());
    }
    if out.summary.trim().is_empty() {
        return Err("the commit summary must not be empty".into());
    }
    Ok(out)
}

/// Streams the request body to a temporary file, refusing bodies larger than the limit.
async fn spool(state: &AppState, body: Body) -> ApiResult<tempfile::NamedTempFile> {
    let tmp = tempfile::Builder::new().prefix("commit-").tempfile_in(state.blobs.staging_dir())?;
    let mut file = tokio::fs::File::from_std(tmp.reopen()?);
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        total += chunk.len() as u64;
        if total > state.config.max_commit_bytes {
            return Err(ApiError::PayloadTooLarge(format!(
                "The commit body exceeds {} bytes; upload large files through LFS",
                state.config.max_commit_bytes
            )));
        }
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok(tmp)
}

/// Maps the requested revision to the ref a commit moves. Commits go to branches and PR refs only.
fn branch_ref(rev: &str) -> ApiResult<String> {
    if rev.starts_with("refs/heads/") || rev.starts_with("refs/pr/") {
        return Ok(rev.to_owned());
    }
    if rev.starts_with("refs/") || hangar_core::names::is_commit_id(rev) {
        return Err(ApiError::bad_request(format!("Cannot commit to '{rev}': commits can only be pushed to a branch or a pull request ref")));
    }
    Ok(format!("refs/heads/{rev}"))
}

/// `POST /api/{type}s/{repo}/commit/{rev}`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn commit(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(p): Path<RepoRevPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<axum::response::Response> {
    let (t, id) = p.parse()?;
    let create_pr = query_bool(q.get("create_pr").map(String::as_str));
    let repo = load_repo(&state, &caller, t, &id, if create_pr { Action::OpenPr } else { Action::Write }).await?;
    let user = caller.0.as_ref().expect("write access implies a caller").name().to_owned();

    let spooled = spool(&state, body).await?;
    let dir = state.blobs.staging_dir();
    let file = spooled.reopen()?;
    let parsed = tokio::task::spawn_blocking(move || parse_commit(file, &dir))
        .await
        .map_err(|e| anyhow::anyhow!("commit parser panicked: {e}"))?
        .map_err(|m| ApiError::bad_request(format!("Invalid commit body: {m}")))?;
    drop(spooled);

    // Content first: once published, blobs are immutable and harmless if the commit fails.
    let mut blob_records = Vec::new();
    let mut changes = Vec::new();
    let mut scanned = Vec::new();
    for op in parsed.ops {
        match op {
            Op::File { path, blob, file, tokens } => {
                state.blobs.commit_file(file, &blob.sha256).await?;
                changes.push(Change::Put { path: path.clone(), oid: Oid::parse(&blob.oid).expect("hex") });
                if !tokens.is_empty() {
                    scanned.push((path, tokens));
                }
                blob_records.push(blob);
            }
            Op::Lfs { path, sha256, size } => {
                let Some(stored) = state.store.repo_lfs_object(repo.id, &sha256).await? else {
                    return Err(ApiError::bad_request(format!(
                        "LFS object {sha256} for '{path}' was not uploaded to this repository. Upload it through the LFS batch API first."
                    )));
                };
                if size.is_some_and(|s| s != stored) {
                    return Err(ApiError::bad_request(format!(
                        "LFS object {sha256} for '{path}' has {stored} bytes, not the {} the commit claims",
                        size.unwrap_or_default()
                    )));
                }
                let pointer = git::lfs_pointer(&sha256, stored as u64);
                let oid = git::object_id(ObjectKind::Blob, pointer.as_bytes());
                blob_records.push(BlobRecord { oid: oid.hex(), size: stored, sha256, lfs: true });
                changes.push(Change::Put { path, oid });
            }
            Op::DeleteFile { path } => changes.push(Change::DeleteFile { path }),
            Op::DeleteFolder { path } => changes.push(Change::DeleteFolder { path }),
        }
    }

    let (ref_name, pr_num) = if create_pr {
        let base_rev = if p.rev == "None" { "main" } else { p.rev.as_str() };
        let (base_commit, _) = resolve_revision(&state, &repo, base_rev).await?;
        let d = state
            .store
            .create_discussion(NewDiscussion {
                repo_id: repo.id,
                title: parsed.summary.clone(),
                description: parsed.description.clone(),
                author: user.clone(),
                is_pull_request: true,
                status: "draft".into(),
                created_at: state.now_ms(),
            })
            .await?;
        let name = format!("refs/pr/{}", d.num);
        state.store.create_ref(repo.id, &name, &base_commit.hex()).await?;
        (name, Some(d.num))
    } else {
        (branch_ref(&p.rev)?, None)
    };

    let mut attempts = 0;
    let commit_oid = loop {
        attempts += 1;
        let head = state.store.get_ref(repo.id, &ref_name).await?.ok_or_else(|| {
            ApiError::RevisionNotFound(format!("Invalid rev id: {}. Create the branch before committing to it.", p.rev))
        })?;
        if let Some(parent) = &parsed.parent_commit {
            if parent.len() < 5 || !head.starts_with(parent.as_str()) {
                return Err(ApiError::PreconditionFailed(format!(
                    "A commit has happened since the parent commit {parent} you based this commit on: {ref_name} is now at {head}. Nothing was changed; pull the latest revision and retry."
                )));
            }
        }
        let head_oid = Oid::parse(&head).ok_or_else(|| anyhow::anyhow!("corrupt ref"))?;
        let parent_tree = read_commit(&state, head_oid).await?.tree;
        let mut builder = TreeBuilder::new(Some(parent_tree));
        for c in &changes {
            match c {
                Change::Put { path, oid } => builder.put_file(&state, path, *oid).await?,
                Change::DeleteFile { path } => {
                    if !builder.delete_file(&state, path).await? {
                        return Err(ApiError::EntryNotFound {
                            message: format!("Cannot delete '{path}': A file with this name doesn't exist in {ref_name}"),
                            commit: Some(head.clone()),
                        });
                    }
                }
                Change::DeleteFolder { path } => {
                    if !builder.delete_folder(&state, path).await? {
                        return Err(ApiError::EntryNotFound {
                            message: format!("Cannot delete the folder '{path}': A folder with this name doesn't exist in {ref_name}"),
                            commit: Some(head.clone()),
                        });
                    }
                }
            }
        }
        let (tree, mut objects) = builder.finish();
        let now = state.now_ms();
        let (oid, obj) = make_commit(tree, Some(head_oid), &user, &parsed.summary, &parsed.description, now);
        objects.push(obj);
        let write = CommitWrite {
            repo_id: repo.id,
            ref_name: ref_name.clone(),
            expected: Some(head.clone()),
            commit_oid: oid.hex(),
            objects,
            blobs: blob_records.clone(),
            now,
        };
        match state.store.apply_commit(write).await {
            Ok(()) => break oid,
            Err(StoreError::StaleRef) if parsed.parent_commit.is_none() && attempts < 10 => continue,
            Err(StoreError::StaleRef) => {
                return Err(ApiError::PreconditionFailed(format!(
                    "{ref_name} moved while this commit was being written. Nothing was changed; retry."
                )))
            }
            Err(e) => return Err(e.into()),
        }
    };

    let repo_url = base.repo_url(repo_type_of(&repo), &repo.namespace, &repo.name);
    let mut out = json!({
        "success": true,
        "commitOid": commit_oid.hex(),
        "commitUrl": format!("{repo_url}/commit/{}", commit_oid.hex()),
        "commitMessage": parsed.summary,
        "hookOutput": "",
    });
    if let Some(n) = pr_num {
        out["pullRequestUrl"] = format!("{repo_url}/discussions/{n}").into();
        out["prUrl"] = out["pullRequestUrl"].clone();
        out["prNum"] = n.into();
    }
    let warning = crate::scan::after_commit(&state, &repo, &scanned).await?;
    let mut resp = axum::response::IntoResponse::into_response(Json(out));
    if let Some(w) = warning {
        resp.headers_mut().insert("x-hf-warning", crate::error::header_safe(&w));
    }
    Ok(resp)
}

enum Change {
    Put { path: String, oid: Oid },
    DeleteFile { path: String },
    DeleteFolder { path: String },
}
