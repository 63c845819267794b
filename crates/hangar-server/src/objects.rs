//! Reading repositories: revisions to commits, paths to tree entries. Git objects never change, so
//! they are cached in memory by id; the cache is safe to share between nodes' views of one database.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use anyhow::anyhow;
use hangar_core::git::{self, Commit, Mode, Oid, TreeEntry};
use hangar_core::names::is_commit_id;
use hangar_store::{BlobRecord, Repo};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CACHE_LIMIT: usize = 50_000;

#[derive(Default)]
pub struct ObjectCache {
    trees: Mutex<HashMap<Oid, Arc<Vec<TreeEntry>>>>,
    commits: Mutex<HashMap<Oid, Arc<Commit>>>,
    blobs: Mutex<HashMap<Oid, BlobRecord>>,
}

fn cache_put<V>(map: &Mutex<HashMap<Oid, V>>, k: Oid, v: V) {
    let mut m = map.lock().expect("cache lock");
    if m.len() >= CACHE_LIMIT {
        m.clear();
    }
    m.insert(k, v);
}

fn cache_get<V: Clone>(map: &Mutex<HashMap<Oid, V>>, k: &Oid) -> Option<V> {
    map.lock().expect("cache lock").get(k).cloned()
}

pub async fn read_commit(state: &AppState, oid: Oid) -> ApiResult<Arc<Commit>> {
    if let Some(c) = cache_get(&state.objects.commits, &oid) {
        return Ok(c);
    }
    let obj = state.store.get_object(&oid.hex()).await?.ok_or_else(|| anyhow!("missing commit {oid}"))?;
    let commit = Arc::new(Commit::decode(&obj.data).map_err(anyhow::Error::from)?);
    cache_put(&state.objects.commits, oid, commit.clone());
    Ok(commit)
}

pub async fn read_tree(state: &AppState, oid: Oid) -> ApiResult<Arc<Vec<TreeEntry>>> {
    if let Some(t) = cache_get(&state.objects.trees, &oid) {
        return Ok(t);
    }
    let obj = state.store.get_object(&oid.hex()).await?.ok_or_else(|| anyhow!("missing tree {oid}"))?;
    let tree = Arc::new(git::decode_tree(&obj.data).map_err(anyhow::Error::from)?);
    cache_put(&state.objects.trees, oid, tree.clone());
    Ok(tree)
}

pub async fn read_blob(state: &AppState, oid: Oid) -> ApiResult<BlobRecord> {
    if let Some(b) = cache_get(&state.objects.blobs, &oid) {
        return Ok(b);
    }
    let b = state.store.get_blob(&oid.hex()).await?.ok_or_else(|| anyhow!("missing blob record {oid}"))?;
    cache_put(&state.objects.blobs, oid, b.clone());
    Ok(b)
}

/// The refs a revision name may stand for, in order of preference; empty for a commit id.
pub fn revision_refs(rev: &str) -> Vec<String> {
    if is_commit_id(rev) {
        vec![]
    } else if rev.starts_with("refs/") {
        vec![rev.to_owned()]
    } else {
        vec![format!("refs/heads/{rev}"), format!("refs/tags/{rev}")]
    }
}

pub fn revision_not_found(repo: &Repo, rev: &str) -> ApiError {
    ApiError::RevisionNotFound(format!(
        "Invalid rev id: {rev}. The branch, tag or commit does not exist in {}/{}.",
        repo.namespace, repo.name
    ))
}

/// A revision as the Hub accepts it: a branch, a tag, a full ref name or a commit id of this repo.
/// Returns the commit and, for branches and refs, the full ref name.
pub async fn resolve_revision(state: &AppState, repo: &Repo, rev: &str) -> ApiResult<(Oid, Option<String>)> {
    let not_found = || revision_not_found(repo, rev);
    if is_commit_id(rev) {
        if state.store.repo_has_commit(repo.id, rev).await? {
            return Ok((Oid::parse(rev).expect("checked hex"), None));
        }
        return Err(not_found());
    }
    for name in revision_refs(rev) {
        if let Some(target) = state.store.get_ref(repo.id, &name).await? {
            let oid = Oid::parse(&target).ok_or_else(|| anyhow!("corrupt ref {name}"))?;
            return Ok((oid, Some(name)));
        }
    }
    Err(not_found())
}

#[derive(Debug, Clone)]
pub enum Found {
    File { oid: Oid, mode: Mode },
    Dir { oid: Oid },
}

/// Finds `path` ("" is the root) in the tree `root`.
pub async fn lookup(state: &AppState, root: Oid, path: &str) -> ApiResult<Option<Found>> {
    let mut current = Found::Dir { oid: root };
    if path.is_empty() {
        return Ok(Some(current));
    }
    for part in path.split('/') {
        let Found::Dir { oid } = current else { return Ok(None) };
        let tree = read_tree(state, oid).await?;
        let Some(e) = tree.iter().find(|e| e.name == part) else { return Ok(None) };
        current = if e.mode == Mode::Tree { Found::Dir { oid: e.oid } } else { Found::File { oid: e.oid, mode: e.mode } };
    }
    Ok(Some(current))
}

/// One entry of a tree listing, as the tree and paths-info endpoints show it.
#[derive(Debug, Clone)]
pub enum Listed {
    File { path: String, oid: Oid, blob: BlobRecord },
    Dir { path: String, oid: Oid },
}

impl Listed {
    pub fn path(&self) -> &str {
        match self {
            Listed::File { path, .. } | Listed::Dir { path, .. } => path,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Listed::Dir { path, oid } => serde_json::json!({"type": "directory", "oid": oid.hex(), "size": 0, "path": path}),
            Listed::File { path, oid, blob } => {
                let mut v = serde_json::json!({"type": "file", "oid": oid.hex(), "size": blob.size, "path": path});
                if blob.lfs {
                    let pointer = git::lfs_pointer(&blob.sha256, blob.size as u64);
                    v["lfs"] = serde_json::json!({"oid": blob.sha256, "size": blob.size, "pointerSize": pointer.len()});
                }
                v
            }
        }
    }
}

pub async fn listed(state: &AppState, path: String, found: &Found) -> ApiResult<Listed> {
    Ok(match found {
        Found::Dir { oid } => Listed::Dir { path, oid: *oid },
        Found::File { oid, .. } => Listed::File { path, oid: *oid, blob: read_blob(state, *oid).await? },
    })
}

/// Lists the tree `dir` (found at `prefix`), depth-first with directories before their contents.
pub async fn list_tree(state: &AppState, dir: Oid, prefix: &str, recursive: bool) -> ApiResult<Vec<Listed>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir, prefix.to_owned())];
    while let Some((oid, base)) = stack.pop() {
        let tree = read_tree(state, oid).await?;
        let mut subdirs = Vec::new();
        for e in tree.iter() {
            let path = if base.is_empty() { e.name.clone() } else { format!("{base}/{}", e.name) };
            if e.mode == Mode::Tree {
                out.push(Listed::Dir { path: path.clone(), oid: e.oid });
                if recursive {
                    subdirs.push((e.oid, path));
                }
            } else {
                out.push(Listed::File { path, oid: e.oid, blob: read_blob(state, e.oid).await? });
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// Every file under the tree, for repo info `siblings`.
pub async fn list_files(state: &AppState, root: Oid) -> ApiResult<Vec<Listed>> {
    Ok(list_tree(state, root, "", true).await?.into_iter().filter(|l| matches!(l, Listed::File { .. })).collect())
}

/// The bytes of a small regular file (a README, a text file being scanned); `None` when the blob
/// is larger than `max`.
pub async fn read_small(state: &AppState, blob: &BlobRecord, max: u64) -> ApiResult<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt as _;
    if blob.size as u64 > max {
        return Ok(None);
    }
    let mut reader = state.blobs.read_range(&blob.sha256, 0, blob.size as u64).await?;
    let mut out = Vec::with_capacity(blob.size as usize);
    reader.read_to_end(&mut out).await?;
    Ok(Some(out))
}

/// The contents of `path` at the head of `main`, when it is a small file.
pub async fn read_main_file(state: &AppState, repo: &Repo, path: &str, max: u64) -> ApiResult<Option<Vec<u8>>> {
    let Some(head) = state.store.get_ref(repo.id, "refs/heads/main").await? else { return Ok(None) };
    let Some(oid) = Oid::parse(&head) else { return Ok(None) };
    let commit = read_commit(state, oid).await?;
    let Some(Found::File { oid, .. }) = lookup(state, commit.tree, path).await? else { return Ok(None) };
    let blob = read_blob(state, oid).await?;
    read_small(state, &blob, max).await
}
