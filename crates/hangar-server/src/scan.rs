//! Leak response: finding Hangar tokens in committed text, and revoking leaked tokens (found in a
//! public repo, or reported to `POST /api/credentials/revoke`) with one mail per owner.

use crate::audit::{self, Event};
use crate::error::ApiResult;
use crate::mail::Mail;
use crate::objects::{list_files, read_commit, read_small, Listed};
use crate::state::AppState;
use hangar_core::git::Oid;
use hangar_core::token;
use hangar_store::{BlobRecord, Repo, TokenRecord};
use std::collections::{BTreeMap, HashSet};

const TOKEN_LEN: usize = 3 + 34;

/// Well-formed Hangar tokens in `data` (`hf_` and 34 letters with a valid checksum, standing alone).
pub fn find_tokens(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for at in memchr::memmem::find_iter(data, b"hf_") {
        if at > 0 && (data[at - 1].is_ascii_alphanumeric() || data[at - 1] == b'_') {
            continue;
        }
        let Some(candidate) = data.get(at..at + TOKEN_LEN) else { continue };
        if data.get(at + TOKEN_LEN).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            continue;
        }
        if let Ok(s) = std::str::from_utf8(candidate) {
            if token::is_well_formed(s) && !out.iter().any(|t| t == s) {
                out.push(s.to_owned());
            }
        }
    }
    out
}

/// [`find_tokens`] over a file read in chunks (a commit's inline contents, as they are staged), so
/// scanning costs no second read. Binary files (a NUL in the first 8000 bytes) yield nothing.
#[derive(Default)]
pub struct StreamScanner {
    seen: u64,
    binary: bool,
    tail: Vec<u8>,
    found: Vec<String>,
}

impl StreamScanner {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.binary || chunk.is_empty() {
            return;
        }
        if self.seen < 8000 {
            let head = &chunk[..chunk.len().min((8000 - self.seen) as usize)];
            if memchr::memchr(0, head).is_some() {
                self.binary = true;
                self.found.clear();
                return;
            }
        }
        self.seen += chunk.len() as u64;
        // Tokens across the boundary: the previous tail joined to this chunk's start.
        if !self.tail.is_empty() {
            let mut window = self.tail.clone();
            window.extend_from_slice(&chunk[..chunk.len().min(TOKEN_LEN)]);
            self.add(find_tokens(&window));
        }
        self.add(find_tokens(chunk));
        // The last bytes seen, however small the chunks.
        self.tail.extend_from_slice(&chunk[chunk.len().saturating_sub(TOKEN_LEN)..]);
        let excess = self.tail.len().saturating_sub(TOKEN_LEN);
        self.tail.drain(..excess);
    }

    fn add(&mut self, tokens: Vec<String>) {
        for t in tokens {
            if !self.found.contains(&t) {
                self.found.push(t);
            }
        }
    }

    /// The tokens found (none for a binary file).
    pub fn finish(self) -> Vec<String> {
        if self.binary { Vec::new() } else { self.found }
    }
}

fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(8000)]).is_some()
}

/// A live token found in a file.
pub struct Finding {
    pub path: String,
    pub hash: String,
}

/// Scans these files (regular git blobs; LFS files are not scanned) for live Hangar tokens.
pub async fn scan_blobs(state: &AppState, files: &[(String, BlobRecord)]) -> ApiResult<Vec<Finding>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (path, blob) in files {
        if blob.lfs || !seen.insert((path.clone(), blob.oid.clone())) {
            continue;
        }
        let Some(data) = read_small(state, blob, state.config.lfs_threshold.max(1 << 20)).await? else { continue };
        if looks_binary(&data) {
            continue;
        }
        for t in find_tokens(&data) {
            let hash = token::hash_token(&t);
            if let Some((record, _)) = state.store.token_by_hash(&hash).await? {
                if !record.is_expired(state.now_ms()) {
                    out.push(Finding { path: path.clone(), hash });
                }
            }
        }
    }
    Ok(out)
}

/// Revokes the live tokens among `hashes`, audits each as leaked and mails each owner once.
pub async fn revoke_leaked(state: &AppState, hashes: &[String], where_found: &str) -> ApiResult<Vec<TokenRecord>> {
    if hashes.is_empty() {
        return Ok(vec![]);
    }
    let revoked = state.store.revoke_tokens_by_hash(hashes, state.now_ms(), &format!("leaked: {where_found}")).await?;
    let mut by_owner: BTreeMap<i64, Vec<&TokenRecord>> = BTreeMap::new();
    for t in &revoked {
        by_owner.entry(t.user_id).or_default().push(t);
        audit::record(state, Event { actor: "system".into(), user_id: Some(t.user_id), org_id: t.org_id, ip: None }, "token.leak", serde_json::json!({"tokenId": t.id, "name": t.name, "where": where_found})).await;
    }
    for (user_id, tokens) in by_owner {
        let Some(owner) = state.store.user_by_id(user_id).await? else { continue };
        let names: Vec<String> = tokens.iter().map(|t| format!("'{}' ({})", t.name, token::mask(&t.last4))).collect();
        let body = format!(
            "Hello {},\n\nThese Hangar access tokens were exposed ({where_found}) and have been revoked: {}.\n\n\
             Requests with them now fail. Create new tokens in your settings and update wherever the old ones were used, \
             and remove the exposed secret from where it was published.\n",
            owner.name,
            names.join(", ")
        );
        state.mailer.send(Mail { to: owner.email, subject: "Hangar revoked leaked access tokens".into(), body, links: vec![] });
        tracing::warn!(user = %owner.name, count = tokens.len(), "leaked tokens revoked");
    }
    Ok(revoked)
}

/// After a commit: `candidates` are the token-shaped strings found in each committed text file while
/// it was staged. Revokes the live ones pushed to a public repo; for a private repo, returns the
/// `X-HF-Warning` to send. `None` when nothing live was found.
pub async fn after_commit(state: &AppState, repo: &Repo, candidates: &[(String, Vec<String>)]) -> ApiResult<Option<String>> {
    if !state.config.secret_scanning {
        return Ok(None);
    }
    let mut findings = Vec::new();
    for (path, tokens) in candidates {
        for t in tokens {
            let hash = token::hash_token(t);
            if let Some((record, _)) = state.store.token_by_hash(&hash).await? {
                if !record.is_expired(state.now_ms()) {
                    findings.push(Finding { path: path.clone(), hash });
                }
            }
        }
    }
    if findings.is_empty() {
        return Ok(None);
    }
    let mut paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
    paths.dedup();
    let list = paths.join(", ");
    if repo.private {
        return Ok(Some(format!(
            "secrets; A live Hangar access token is in {list}. Anyone who can read this private repo can use it: revoke it and remove it from the file."
        )));
    }
    let hashes: Vec<String> = findings.iter().map(|f| f.hash.clone()).collect();
    revoke_leaked(state, &hashes, &format!("committed to the public repo {}/{} in {list}", repo.namespace, repo.name)).await?;
    Ok(Some(format!("secrets; A Hangar access token was committed in {list} to a public repo: it has been revoked and its owner notified.")))
}

/// When a repo turns public: scans the files at the head of every branch, tag and PR ref.
pub async fn on_publish(state: &AppState, repo: &Repo) -> ApiResult<()> {
    if !state.config.secret_scanning {
        return Ok(());
    }
    let mut files = Vec::new();
    let mut heads = HashSet::new();
    for r in state.store.list_refs(repo.id).await? {
        let Some(oid) = Oid::parse(&r.target) else { continue };
        if !heads.insert(oid) {
            continue;
        }
        let commit = read_commit(state, oid).await?;
        for f in list_files(state, commit.tree).await? {
            if let Listed::File { path, blob, .. } = f {
                files.push((path, blob));
            }
        }
    }
    let findings = scan_blobs(state, &files).await?;
    let hashes: Vec<String> = findings.iter().map(|f| f.hash.clone()).collect();
    let list: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
    revoke_leaked(state, &hashes, &format!("in the repo {}/{} when it was made public ({})", repo.namespace, repo.name, list.join(", "))).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_scanner_finds_tokens_across_chunk_boundaries() {
        let t = token::Secret::generate();
        let text = format!("{}token: {} and again {}\n", "x".repeat(1000), t.expose(), t.expose());
        for chunk in [1, 7, 36, 37, 38, 4096] {
            let mut s = StreamScanner::default();
            text.as_bytes().chunks(chunk).for_each(|c| s.feed(c));
            assert_eq!(s.finish(), vec![t.expose().to_owned()], "chunks of {chunk}");
        }
        let mut s = StreamScanner::default();
        s.feed(b"\0binary");
        s.feed(t.expose().as_bytes());
        assert!(s.finish().is_empty(), "binary files are not scanned");
    }

    #[test]
    fn finds_standalone_well_formed_tokens_only() {
        let t = token::Secret::generate();
        let t = t.expose();
        let text = format!("HF_TOKEN={t}\nagain: \"{t}\"\nxhf_{}\n{t}x\n", &t[3..]);
        assert_eq!(find_tokens(text.as_bytes()), vec![t.to_owned()], "once, and not when glued to other letters");
        let mut typo = t.to_owned();
        typo.replace_range(5..6, if &t[5..6] == "a" { "b" } else { "a" });
        assert!(find_tokens(typo.as_bytes()).is_empty(), "the checksum rules out look-alikes");
        assert!(find_tokens(b"hf_short").is_empty());
    }
}
