//! Records read from and written to the store.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub fullname: String,
    pub email: String,
    pub email_verified: bool,
    /// A new address waiting for verification; `email` stays in use until then.
    pub pending_email: Option<String>,
    pub password_hash: String,
    pub site_admin: bool,
    pub created_at: i64,
    /// Set when a site admin disabled the account: no login, no session, no token works.
    pub disabled_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub fullname: String,
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
    /// Set for organization tokens, which act as the organization (`user_id` is the admin who made it).
    pub org_id: Option<i64>,
    /// The JSON permission set of a `fineGrained` token.
    pub fine_grained: Option<String>,
}

impl TokenRecord {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
    /// `active`, `expired` or `revoked`, as token listings show it.
    pub fn state(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.is_expired(now) {
            "expired"
        } else {
            "active"
        }
    }
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
    pub org_id: Option<i64>,
    pub fine_grained: Option<String>,
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
    /// The user who created it (organization contributors may write to the repos they created).
    pub created_by: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewRepo {
    pub repo_type: String,
    pub namespace: String,
    pub name: String,
    pub private: bool,
    pub created_at: i64,
    pub created_by: Option<i64>,
}

/// Filters for repo search. `viewer` sees their own private repos and those of their organizations.
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A single-use code mailed as a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCode {
    pub code_hash: String,
    pub user_id: i64,
    /// `verify`, `reset` or `change`.
    pub purpose: String,
    /// The address the code was sent to (the new one for `change`).
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub fullname: String,
    /// `allow_all`, `fine_grained_only` or `admin_approval`.
    pub token_policy: String,
    pub created_at: i64,
    /// `free` or `enterprise`.
    pub plan: String,
    /// Paid seats of an enterprise plan (each brings its monthly credits).
    pub seats: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    /// `read`, `contributor`, `write` or `admin`.
    pub role: String,
    pub since: i64,
}

/// A token that reaches an organization under its approval policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenApproval {
    pub token: TokenRecord,
    pub owner: User,
    /// `pending`, `approved` or `denied`.
    pub state: String,
    pub decided_by: Option<String>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: i64,
    pub repo_id: i64,
    pub user_id: i64,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    /// The request form's values as a JSON object.
    pub fields: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    /// Who did it: a user name, `system` or `anonymous`.
    pub actor: String,
    pub event: String,
    /// A JSON object; never contains a secret.
    pub detail: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub at: i64,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub actor: String,
    pub event: String,
    pub detail: String,
    pub ip: Option<String>,
}

/// What [`crate::Store::consume_email_code`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    Consumed(EmailCode),
    Unknown,
    AlreadyUsed,
    Expired,
}

/// An invitation to join an organization, waiting for the invited user's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub role: String,
    pub invited_by: String,
    pub created_at: i64,
}

/// An RFC 8628 device authorization: `pending`, then `approved` or `denied` by a signed-in user,
/// then `issued` once the polling client collected its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    pub device_hash: String,
    pub user_code: String,
    pub client_id: String,
    pub status: String,
    pub user_id: Option<i64>,
    pub role: Option<String>,
    pub token_name: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_poll_at: Option<i64>,
}

/// A stored Xet xorb: its bytes are the blob `blob_sha256`; `meta` is the encoded chunk index
/// (`hangar_xet::XorbMeta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XetXorb {
    pub hash: String,
    pub blob_sha256: String,
    pub size: i64,
    pub meta: Vec<u8>,
}

/// A verified Xet file: its Xet hash, the SHA-256 commits refer to, its size and its encoded
/// reconstruction terms (`hangar_xet::Term`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XetFile {
    pub file_hash: String,
    pub sha256: String,
    pub size: i64,
    pub terms: Vec<u8>,
}

/// What one garbage collection removed from the database; the caller removes the xorbs' blobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XetCollected {
    pub files: u64,
    pub xorbs: Vec<XetXorb>,
}
