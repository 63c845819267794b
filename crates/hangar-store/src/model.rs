//! Records read from and written to the store.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: String,
    pub site_admin: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: String,
    pub site_admin: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub last4: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub token_hash: String,
    pub last4: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub id: i64,
    pub repo_type: String,
    pub namespace: String,
    pub name: String,
    pub private: bool,
    pub gated: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewRepo {
    pub repo_type: String,
    pub namespace: String,
    pub name: String,
    pub private: bool,
    pub created_at: i64,
}

/// Filters for repo search. `viewer` sees their own private repos; nobody else's.
#[derive(Debug, Clone, Default)]
pub struct RepoQuery {
    pub repo_type: String,
    pub author: Option<String>,
    pub search: Option<String>,
    pub viewer: Option<String>,
    /// Only repos whose id is greater than this (keyset pagination).
    pub after_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefRecord {
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitObject {
    pub kind: String,
    pub data: Vec<u8>,
}

/// Where a git blob's bytes live: the blob store object named by `sha256`. For an LFS pointer blob,
/// `size` and `sha256` describe the large file, not the pointer text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    pub oid: String,
    pub size: i64,
    pub sha256: String,
    pub lfs: bool,
}

/// Everything one commit writes. `objects` and `blobs` are content-addressed and may already exist.
#[derive(Debug, Clone)]
pub struct CommitWrite {
    pub repo_id: i64,
    pub ref_name: String,
    /// The ref's current target; `None` when the ref is created by this commit.
    pub expected: Option<String>,
    pub commit_oid: String,
    pub objects: Vec<(String, String, Vec<u8>)>,
    pub blobs: Vec<BlobRecord>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct NewDiscussion {
    pub repo_id: i64,
    pub title: String,
    pub description: String,
    pub author: String,
    pub is_pull_request: bool,
    pub status: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discussion {
    pub repo_id: i64,
    pub num: i64,
    pub title: String,
    pub description: String,
    pub author: String,
    pub is_pull_request: bool,
    pub status: String,
    pub created_at: i64,
}

/// The answer of [`crate::Store::download_context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadContext {
    pub token: Option<(TokenRecord, User)>,
    pub repo: Option<Repo>,
    /// The first requested ref that exists, and its target.
    pub found_ref: Option<(String, String)>,
}
