//! `hangar download`: files of a revision into the Hugging Face cache layout (or a local folder),
//! so the official client and `transformers` load them offline. Parallel; each file is streamed to
//! an `.incomplete` file (resumed with `Range` after an interruption), verified against its hash
//! (SHA-256 for LFS files, the git blob id otherwise), then renamed into place.

use crate::api::{encode_path, encode_rev, Client, RemoteFile, RepoRef};
use crate::error::{ClientError, ClientResult};
use crate::globs::selected;
use crate::progress::Progress;
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use sha1::Digest as _;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

#[derive(Debug, Clone)]
pub struct DownloadOptions {
    pub repo: RepoRef,
    pub files: Vec<String>,
    pub revision: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub local_dir: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub progress: bool,
    pub workers: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadOutcome {
    /// The snapshot folder (cache) or the local folder.
    pub path: PathBuf,
    pub commit: String,
    pub downloaded: Vec<String>,
    pub up_to_date: Vec<String>,
    pub bytes: u64,
}

fn io_err(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::Local(format!("cannot write {}: {e}", path.display()))
}

pub async fn download(client: &Client, opts: &DownloadOptions) -> ClientResult<DownloadOutcome> {
    let repo = &opts.repo;
    let revision = opts.revision.clone().unwrap_or_else(|| "main".into());
    let info = client.repo_info(repo, Some(&revision)).await?;
    let commit = info["sha"].as_str().ok_or_else(|| ClientError::Server { status: 200, message: "repo info without a commit".into(), request_id: None })?.to_owned();
    let all = client.list_files(repo, &commit).await?;
    let wanted: Vec<RemoteFile> = if opts.files.is_empty() {
        all.into_iter().filter(|f| selected(&f.path, &opts.include, &opts.exclude)).collect()
    } else {
        let mut v = Vec::new();
        for name in &opts.files {
            let f = all.iter().find(|f| &f.path == name).ok_or_else(|| ClientError::NotFound(format!("{name} is not in {} at revision {revision}", repo.id)))?;
            v.push(f.clone());
        }
        v
    };

    let (root, storage) = match &opts.local_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let storage = opts.cache_dir.join(repo.cache_folder());
            (storage.join("snapshots").join(&commit), Some(storage))
        }
    };
    if let Some(storage) = &storage {
        if revision != commit {
            let refs = storage.join("refs").join(&revision);
            write_atomic(&refs, commit.as_bytes()).map_err(|e| io_err(&refs, e))?;
        }
    }

    let total: u64 = wanted.iter().map(|f| f.size).sum();
    let bar = Progress::bytes(opts.progress, total, "downloading");
    let results: Vec<(String, bool, u64)> = stream::iter(wanted)
        .map(|f| {
            let (bar, root, storage, commit) = (bar.clone(), root.clone(), storage.clone(), commit.clone());
            async move {
                let fetched = match &storage {
                    Some(storage) => fetch_into_cache(client, repo, &commit, &f, storage, &root, &bar).await?,
                    None => fetch_into_dir(client, repo, &commit, &f, &root, &bar).await?,
                };
                Ok::<_, ClientError>((f.path.clone(), fetched.0, fetched.1))
            }
        })
        .buffer_unordered(opts.workers.max(1))
        .try_collect()
        .await?;
    bar.finish();
    let mut out = DownloadOutcome { path: root, commit, ..Default::default() };
    for (path, downloaded, bytes) in results {
        out.bytes += bytes;
        if downloaded { out.downloaded.push(path) } else { out.up_to_date.push(path) }
    }
    out.downloaded.sort();
    out.up_to_date.sort();
    Ok(out)
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `blobs/<etag>` plus the snapshot symlink. Returns (downloaded now, bytes fetched).
async fn fetch_into_cache(client: &Client, repo: &RepoRef, commit: &str, f: &RemoteFile, storage: &Path, snapshot: &Path, bar: &Progress) -> ClientResult<(bool, u64)> {
    let blob = storage.join("blobs").join(f.etag());
    let link = snapshot.join(&f.path);
    let mut fetched = (false, 0);
    if std::fs::metadata(&blob).map(|m| m.len() == f.size).unwrap_or(false) {
        bar.inc(f.size);
    } else {
        let incomplete = storage.join("blobs").join(format!("{}.incomplete", f.etag()));
        fetched = (true, fetch(client, repo, commit, f, &incomplete, bar).await?);
        std::fs::rename(&incomplete, &blob).map_err(|e| io_err(&blob, e))?;
    }
    if std::fs::symlink_metadata(&link).is_err() {
        let parent = link.parent().unwrap_or(snapshot);
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        let depth = f.path.matches('/').count() + 2;
        let target = PathBuf::from("../".repeat(depth)).join("blobs").join(f.etag());
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &link).map_err(|e| io_err(&link, e))?;
        #[cfg(not(unix))]
        std::fs::copy(&blob, &link).map(|_| ()).map_err(|e| io_err(&link, e))?;
    }
    Ok(fetched)
}

/// `<dir>/<path>` plus the official client's metadata file, so `hf download --local-dir` sees it
/// as up to date.
async fn fetch_into_dir(client: &Client, repo: &RepoRef, commit: &str, f: &RemoteFile, dir: &Path, bar: &Progress) -> ClientResult<(bool, u64)> {
    let target = dir.join(&f.path);
    let meta_dir = dir.join(".cache").join("huggingface").join("download");
    let metadata = meta_dir.join(format!("{}.metadata", f.path));
    let current = std::fs::read_to_string(&metadata).ok();
    let up_to_date = current.as_deref().is_some_and(|m| {
        let mut lines = m.lines();
        lines.next() == Some(commit) && lines.next() == Some(f.etag())
    }) && std::fs::metadata(&target).map(|m| m.len() == f.size).unwrap_or(false);
    if up_to_date {
        bar.inc(f.size);
        return Ok((false, 0));
    }
    let incomplete = meta_dir.join(format!("{}.incomplete", f.path));
    let n = fetch(client, repo, commit, f, &incomplete, bar).await?;
    let parent = target.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    std::fs::rename(&incomplete, &target).map_err(|e| io_err(&target, e))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    write_atomic(&metadata, format!("{commit}\n{}\n{now}\n", f.etag()).as_bytes()).map_err(|e| io_err(&metadata, e))?;
    Ok((true, n))
}

/// Streams the file into `dest` (resuming a partial one), checks its size and hash. Returns the
/// bytes fetched now.
async fn fetch(client: &Client, repo: &RepoRef, commit: &str, f: &RemoteFile, dest: &Path, bar: &Progress) -> ClientResult<u64> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    // Hash what an earlier, interrupted run already fetched.
    let mut have = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    if have > f.size {
        let _ = std::fs::remove_file(dest);
        have = 0;
    }
    let mut hasher = Hasher::new(f);
    if have > 0 {
        let dest2 = dest.to_path_buf();
        let h2 = hasher.clone();
        hasher = tokio::task::spawn_blocking(move || -> std::io::Result<Hasher> {
            let mut h = h2;
            let mut file = std::fs::File::open(&dest2)?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = std::io::Read::read(&mut file, &mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            Ok(h)
        })
        .await
        .map_err(|e| ClientError::Local(e.to_string()))?
        .map_err(|e| io_err(dest, e))?;
        bar.inc(have);
    }
    let mut fetched = 0u64;
    if have < f.size || f.size == 0 {
        let url = format!("{}/resolve/{}/{}", repo.web(), encode_rev(commit), encode_path(&f.path));
        let mut rb = client.request(Method::GET, &url);
        if have > 0 {
            rb = rb.header("range", format!("bytes={have}-"));
        }
        let resp = client.send(rb, Some(repo)).await?;
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(dest).await.map_err(|e| io_err(dest, e))?;
        if have > 0 && resp.status() != reqwest::StatusCode::PARTIAL_CONTENT {
            // The server sent the whole file: start over.
            file.set_len(0).await.map_err(|e| io_err(dest, e))?;
            hasher = Hasher::new(f);
        }
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| client.network(e))?;
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| io_err(dest, e))?;
            fetched += chunk.len() as u64;
            bar.inc(chunk.len() as u64);
        }
        file.flush().await.map_err(|e| io_err(dest, e))?;
        file.sync_all().await.map_err(|e| io_err(dest, e))?;
    }
    let size = std::fs::metadata(dest).map(|m| m.len()).map_err(|e| io_err(dest, e))?;
    let actual = hasher.finish();
    if size != f.size || actual != f.etag() {
        let _ = std::fs::remove_file(dest);
        return Err(ClientError::Server {
            status: 200,
            message: format!("{} arrived corrupted (expected {} bytes with hash {}, got {size} bytes with hash {actual}); it was discarded, run the command again", f.path, f.size, f.etag()),
            request_id: None,
        });
    }
    Ok(fetched)
}

/// SHA-256 for LFS files, the git blob id for the others.
#[derive(Clone)]
enum Hasher {
    Sha256(sha2::Sha256),
    Git(sha1::Sha1),
}

impl Hasher {
    fn new(f: &RemoteFile) -> Hasher {
        if f.lfs_sha256.is_some() {
            Hasher::Sha256(sha2::Sha256::new())
        } else {
            let mut h = sha1::Sha1::new();
            h.update(format!("blob {}\0", f.size).as_bytes());
            Hasher::Git(h)
        }
    }
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Git(h) => h.update(data),
        }
    }
    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Git(h) => hex::encode(h.finalize()),
        }
    }
}
