//! `hangar upload`: a file or a folder to a repo in one commit, as the official client does it
//! (preupload, LFS batch with multipart parts in parallel, then the NDJSON commit). Files the
//! revision already holds are skipped; LFS objects already on the server are not sent again, so
//! an interrupted upload resumes. Nothing is committed until every object is stored.

use crate::api::{encode_rev, Client, RepoRef};
use crate::error::{ClientError, ClientResult};
use crate::globs::selected;
use crate::hashing::{git_blob_id, hash_file, lfs_pointer, FileHashes};
use crate::progress::Progress;
use base64::Engine as _;
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct UploadOptions {
    pub repo: RepoRef,
    pub local: PathBuf,
    pub path_in_repo: Option<String>,
    pub revision: Option<String>,
    pub private: bool,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub delete: Vec<String>,
    pub commit_message: Option<String>,
    pub create_pr: bool,
    pub progress: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadOutcome {
    pub repo_url: String,
    pub created_repo: bool,
    pub commit_url: Option<String>,
    pub commit_oid: Option<String>,
    pub pull_request_url: Option<String>,
    pub uploaded: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    pub lfs_bytes_sent: u64,
}

struct LocalFile {
    abs: PathBuf,
    path: String,
}

fn local_err(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::Local(format!("cannot read {}: {e}", path.display()))
}

/// The files to upload, with their paths in the repo.
fn collect(opts: &UploadOptions) -> ClientResult<Vec<LocalFile>> {
    let meta = std::fs::metadata(&opts.local).map_err(|e| local_err(&opts.local, e))?;
    let prefix = opts.path_in_repo.as_deref().map(|p| p.trim_matches('/').to_owned()).unwrap_or_default();
    if meta.is_file() {
        let name = opts.local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = opts.path_in_repo.clone().filter(|p| !p.is_empty()).unwrap_or(name);
        return Ok(vec![LocalFile { abs: opts.local.clone(), path }]);
    }
    let mut out = Vec::new();
    let mut stack = vec![opts.local.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| local_err(&dir, e))? {
            let entry = entry.map_err(|e| local_err(&dir, e))?;
            let p = entry.path();
            let rel = p.strip_prefix(&opts.local).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            // Git internals and the client's own bookkeeping are never uploaded.
            if rel == ".git" || rel.starts_with(".git/") || rel == ".cache/huggingface" || rel.starts_with(".cache/huggingface/") {
                continue;
            }
            let ft = entry.file_type().map_err(|e| local_err(&p, e))?;
            // A link to a folder is skipped, as the official client does (and no loop can form).
            let link_to_dir = ft.is_symlink() && std::fs::metadata(&p).is_ok_and(|m| m.is_dir());
            if ft.is_dir() {
                stack.push(p);
            } else if (ft.is_file() || ft.is_symlink()) && !link_to_dir && selected(&rel, &opts.include, &opts.exclude) {
                let path = if prefix.is_empty() { rel } else { format!("{prefix}/{rel}") };
                out.push(LocalFile { abs: p, path });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

pub async fn upload(client: &Client, opts: &UploadOptions) -> ClientResult<UploadOutcome> {
    client.require_token()?;
    let files = collect(opts)?;
    let repo = &opts.repo;
    let mut outcome = UploadOutcome { repo_url: format!("{}{}", client.endpoint, repo.web()), ..Default::default() };


    // Hash every file (in parallel, off the async runtime).
    let bar = Progress::count(opts.progress, files.len() as u64, "hashing");
    let hashed: Vec<(LocalFile, FileHashes)> = stream::iter(files)
        .map(|f| {
            let bar = bar.clone();
            async move {
                let abs = f.abs.clone();
                let h = tokio::task::spawn_blocking(move || hash_file(&abs)).await.map_err(|e| ClientError::Local(e.to_string()))?.map_err(|e| local_err(&f.abs, e))?;
                bar.inc(1);
                Ok::<_, ClientError>((f, h))
            }
        })
        .buffered(4)
        .try_collect()
        .await?;
    bar.finish();

    // Only now, with every local file read, create what is missing on the server.
    match client.repo_info(repo, None).await {
        Ok(_) => {}
        Err(ClientError::RepoNotFound { .. }) => {
            client.create_repo(repo, opts.private).await?;
            outcome.created_repo = true;
        }
        Err(e) => return Err(e),
    }
    let revision = opts.revision.clone().unwrap_or_else(|| "main".into());
    if revision != "main" && !opts.create_pr {
        let path = format!("{}/branch/{}", repo.api(), encode_rev(&revision));
        match client.send(client.request(Method::POST, &path).json(&json!({})), Some(repo)).await {
            Ok(_) | Err(ClientError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }

    // Ask the server which files go through LFS and what the revision already holds.
    let pr_param = if opts.create_pr { "?create_pr=1" } else { "" };
    let mut modes = std::collections::HashMap::new();
    for chunk in hashed.chunks(256) {
        let body = json!({"files": chunk.iter().map(|(f, h)| json!({"path": f.path, "size": h.size, "sample": base64::engine::general_purpose::STANDARD.encode(&h.sample)})).collect::<Vec<_>>()});
        let path = format!("{}/preupload/{}{pr_param}", repo.api(), encode_rev(&revision));
        let v = client.json(client.request(Method::POST, &path).json(&body), Some(repo)).await?;
        for f in v["files"].as_array().cloned().unwrap_or_default() {
            let p = f["path"].as_str().unwrap_or_default().to_owned();
            modes.insert(p, (f["uploadMode"].as_str() == Some("lfs"), f["oid"].as_str().map(str::to_owned), f["shouldIgnore"].as_bool().unwrap_or(false)));
        }
    }
    let mut regular = Vec::new();
    let mut lfs = Vec::new();
    for (f, h) in hashed {
        let (is_lfs, remote_oid, ignore) = modes.get(&f.path).cloned().unwrap_or((false, None, false));
        if ignore {
            continue;
        }
        // The server names what a path holds by its git blob id, or by its SHA-256 for an LFS file.
        let same = match remote_oid.as_deref() {
            Some(o) if is_lfs => o == h.sha256 || o == git_blob_id(lfs_pointer(&h.sha256, h.size).as_bytes()),
            Some(o) => o == h.git_oid,
            None => false,
        };
        if same {
            outcome.unchanged.push(f.path);
            continue;
        }
        if is_lfs { lfs.push((f, h)) } else { regular.push((f, h)) }
    }

    // Remote files to delete: those matching --delete that this upload does not provide.
    let mut deletions = Vec::new();
    if !opts.delete.is_empty() {
        let prefix = opts.path_in_repo.as_deref().map(|p| p.trim_matches('/')).unwrap_or("");
        let provided: std::collections::HashSet<String> =
            outcome.unchanged.iter().cloned().chain(regular.iter().chain(lfs.iter()).map(|(f, _)| f.path.clone())).collect();
        for rf in client.list_files(repo, &revision).await? {
            let rel = if prefix.is_empty() { rf.path.as_str() } else { match rf.path.strip_prefix(&format!("{prefix}/")) { Some(r) => r, None => continue } };
            if !provided.contains(&rf.path) && selected(rel, &opts.delete, &[]) {
                deletions.push(rf.path.clone());
            }
        }
    }
    if regular.is_empty() && lfs.is_empty() && deletions.is_empty() {
        return Ok(outcome);
    }

    outcome.lfs_bytes_sent = upload_lfs(client, repo, &lfs, opts.progress).await?;
    let commit = write_commit_body(opts, &regular, &lfs, &deletions).map_err(|e| ClientError::Local(format!("cannot prepare the commit: {e}")))?;
    let len = commit.as_file().metadata().map_err(|e| ClientError::Local(e.to_string()))?.len();
    let file = tokio::fs::File::open(commit.path()).await.map_err(|e| ClientError::Local(e.to_string()))?;
    let body = reqwest::Body::wrap_stream(reader_stream(file));
    let path = format!("{}/commit/{}{pr_param}", repo.api(), encode_rev(&revision));
    let rb = client.request(Method::POST, &path).header("content-type", "application/x-ndjson").header("content-length", len).body(body);
    let v = client.json(rb, Some(repo)).await?;
    outcome.commit_url = v["commitUrl"].as_str().map(str::to_owned);
    outcome.commit_oid = v["commitOid"].as_str().map(str::to_owned);
    outcome.pull_request_url = v["pullRequestUrl"].as_str().map(str::to_owned);
    outcome.uploaded = regular.iter().chain(lfs.iter()).map(|(f, _)| f.path.clone()).collect();
    outcome.deleted = deletions;
    Ok(outcome)
}

/// The bytes of a reader as a body stream, 256 KiB at a time.
fn reader_stream<R: tokio::io::AsyncRead + Unpin>(reader: R) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> {
    futures::stream::unfold(reader, |mut r| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; 256 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    })
}

/// The NDJSON commit, written to a temporary file so that no file content is held in memory.
fn write_commit_body(opts: &UploadOptions, regular: &[(LocalFile, FileHashes)], lfs: &[(LocalFile, FileHashes)], deletions: &[String]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::NamedTempFile::new()?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let n = regular.len() + lfs.len();
        let summary = opts.commit_message.clone().unwrap_or_else(|| match (n, deletions.len()) {
            (1, 0) => format!("Upload {}", regular.iter().chain(lfs.iter()).next().map(|(f, _)| f.path.as_str()).unwrap_or("")),
            (_, 0) => format!("Upload {n} files with hangar"),
            _ => format!("Upload {n} files and delete {} with hangar", deletions.len()),
        });
        serde_json::to_writer(&mut w, &json!({"key": "header", "value": {"summary": summary, "description": ""}}))?;
        w.write_all(b"\n")?;
        for (f, _) in regular {
            w.write_all(b"{\"key\":\"file\",\"value\":{\"path\":")?;
            serde_json::to_writer(&mut w, &f.path)?;
            w.write_all(b",\"encoding\":\"base64\",\"content\":\"")?;
            {
                let mut enc = base64::write::EncoderWriter::new(&mut w, &base64::engine::general_purpose::STANDARD);
                let mut src = std::fs::File::open(&f.abs)?;
                std::io::copy(&mut src, &mut enc)?;
                enc.finish()?;
            }
            w.write_all(b"\"}}\n")?;
        }
        for (f, h) in lfs {
            serde_json::to_writer(&mut w, &json!({"key": "lfsFile", "value": {"path": f.path, "algo": "sha256", "oid": h.sha256, "size": h.size}}))?;
            w.write_all(b"\n")?;
        }
        for d in deletions {
            serde_json::to_writer(&mut w, &json!({"key": "deletedFile", "value": {"path": d}}))?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    Ok(tmp)
}

/// Uploads the LFS objects the server does not have yet; returns the bytes sent.
async fn upload_lfs(client: &Client, repo: &RepoRef, files: &[(LocalFile, FileHashes)], progress: bool) -> ClientResult<u64> {
    if files.is_empty() {
        return Ok(0);
    }
    let mut sent = 0u64;
    let total: u64 = files.iter().map(|(_, h)| h.size).sum();
    let bar = Progress::bytes(progress, total, "uploading");
    for chunk in files.chunks(500) {
        let mut seen = std::collections::HashSet::new();
        let objects: Vec<Value> = chunk.iter().filter(|(_, h)| seen.insert(h.sha256.clone())).map(|(_, h)| json!({"oid": h.sha256, "size": h.size})).collect();
        let body = json!({"operation": "upload", "transfers": ["basic", "multipart"], "hash_algo": "sha256", "objects": objects});
        let url = format!("{}.git/info/lfs/objects/batch", repo.web());
        let rb = client.request(Method::POST, &url).header("accept", "application/vnd.git-lfs+json").header("content-type", "application/vnd.git-lfs+json").json(&body);
        let v = client.json(rb, Some(repo)).await?;
        for obj in v["objects"].as_array().cloned().unwrap_or_default() {
            if let Some(err) = obj.get("error") {
                return Err(ClientError::BadRequest(format!("The server refused an LFS object: {}", err["message"].as_str().unwrap_or("unknown error"))));
            }
            let oid = obj["oid"].as_str().unwrap_or_default();
            let Some((f, h)) = chunk.iter().find(|(_, h)| h.sha256 == oid) else { continue };
            let Some(upload) = obj.get("actions").and_then(|a| a.get("upload")) else {
                bar.inc(h.size); // already on the server
                continue;
            };
            let header = upload.get("header").and_then(Value::as_object).cloned().unwrap_or_default();
            let href = upload["href"].as_str().unwrap_or_default().to_owned();
            match header.get("chunk_size").and_then(|c| c.as_str().and_then(|s| s.parse::<u64>().ok()).or_else(|| c.as_u64())) {
                Some(chunk_size) => upload_multipart(client, f, h, &href, &header, chunk_size, &bar).await?,
                None => {
                    let body = file_range_body(&f.abs, 0, h.size).await?;
                    let rb = client.http.put(&href).header("content-length", h.size).body(body);
                    client.send(rb, Some(repo)).await?;
                    bar.inc(h.size);
                }
            }
            sent += h.size;
            if let Some(verify) = obj.get("actions").and_then(|a| a.get("verify")).and_then(|v| v["href"].as_str()) {
                client.send(client.http.post(verify).json(&json!({"oid": h.sha256, "size": h.size})), Some(repo)).await?;
            }
        }
    }
    bar.finish();
    Ok(sent)
}

async fn file_range_body(path: &Path, offset: u64, len: u64) -> ClientResult<reqwest::Body> {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let mut f = tokio::fs::File::open(path).await.map_err(|e| local_err(path, e))?;
    f.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| local_err(path, e))?;
    Ok(reqwest::Body::wrap_stream(reader_stream(f.take(len))))
}

const PARALLEL_PARTS: usize = 8;

async fn upload_multipart(
    client: &Client,
    f: &LocalFile,
    h: &FileHashes,
    complete: &str,
    header: &serde_json::Map<String, Value>,
    chunk_size: u64,
    bar: &Progress,
) -> ClientResult<()> {
    let parts = h.size.div_ceil(chunk_size);
    let etags: Vec<(u64, String)> = stream::iter(1..=parts)
        .map(|n| async move {
            let url = header.get(&n.to_string()).and_then(Value::as_str).ok_or_else(|| ClientError::Server {
                status: 200,
                message: format!("the LFS batch answer has no URL for part {n}"),
                request_id: None,
            })?;
            let offset = (n - 1) * chunk_size;
            let len = chunk_size.min(h.size - offset);
            let body = file_range_body(&f.abs, offset, len).await?;
            let resp = client.send(client.http.put(url).header("content-length", len).body(body), None).await?;
            let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            bar.inc(len);
            Ok::<_, ClientError>((n, etag))
        })
        .buffer_unordered(PARALLEL_PARTS)
        .try_collect()
        .await?;
    let mut etags = etags;
    etags.sort();
    let body = json!({"oid": h.sha256, "parts": etags.iter().map(|(n, e)| json!({"partNumber": n, "etag": e})).collect::<Vec<_>>()});
    client.send(client.http.post(complete).json(&body), None).await?;
    Ok(())
}
