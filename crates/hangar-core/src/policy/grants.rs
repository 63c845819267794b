//! What a credential grants: the account itself (a browser session or an operator), a classic token
//! role, or a fine-grained permission set.

use std::fmt;

/// The role of a classic access token, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's role in an organization, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgRole {
    /// Reads the organization's private repos.
    Read,
    /// Also creates repos, writes to the repos they created and opens pull requests.
    Contributor,
    /// Writes to every repo of the organization.
    Write,
    /// Also deletes and renames repos, handles access requests and manages the organization.
    Admin,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Read => "read",
            OrgRole::Contributor => "contributor",
            OrgRole::Write => "write",
            OrgRole::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<OrgRole> {
        match s {
            "read" => Some(OrgRole::Read),
            "contributor" => Some(OrgRole::Contributor),
            "write" => Some(OrgRole::Write),
            "admin" => Some(OrgRole::Admin),
            _ => None,
        }
    }
}

/// An organization's rule for the tokens of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPolicy {
    AllowAll,
    FineGrainedOnly,
    AdminApproval,
}

impl TokenPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPolicy::AllowAll => "allow_all",
            TokenPolicy::FineGrainedOnly => "fine_grained_only",
            TokenPolicy::AdminApproval => "admin_approval",
        }
    }
    pub fn parse(s: &str) -> Option<TokenPolicy> {
        match s {
            "allow_all" => Some(TokenPolicy::AllowAll),
            "fine_grained_only" => Some(TokenPolicy::FineGrainedOnly),
            "admin_approval" => Some(TokenPolicy::AdminApproval),
            _ => None,
        }
    }
}

/// The Hub's fine-grained permission names Hangar accepts. Unknown names are refused at creation.
pub const PERMISSIONS: &[&str] = &[
    "repo.content.read",
    "repo.write",
    "repo.access.read",
    "repo.access.write",
    "discussion.write",
    "inference.serverless.write",
    "inference.endpoints.infer.write",
    "inference.endpoints.write",
    "org.read",
    "org.write",
    "user.billing.read",
    "user.webhooks.read",
    "user.webhooks.write",
    "collection.read",
    "collection.write",
    "post.write",
    "job.write",
];

pub fn is_known_permission(p: &str) -> bool {
    PERMISSIONS.contains(&p)
}

/// What a scoped grant covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeTarget {
    /// Every repo of a user or organization namespace (and the organization itself).
    Namespace(String),
    /// One repository, by id (so the grant follows the repo when it is renamed).
    Repo(i64),
}

/// A fine-grained token's permissions, in the Hub's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FineGrained {
    pub can_read_gated_repos: bool,
    pub global: Vec<String>,
    pub scoped: Vec<(ScopeTarget, Vec<String>)>,
}

impl FineGrained {
    /// Does a scoped grant give `perm` on the repo `repo_id` in `namespace`?
    pub fn grants_on_repo(&self, perm: &str, namespace: &str, repo_id: i64) -> bool {
        self.scoped.iter().any(|(target, perms)| {
            let covers = match target {
                ScopeTarget::Namespace(ns) => ns.eq_ignore_ascii_case(namespace),
                ScopeTarget::Repo(id) => *id == repo_id,
            };
            covers && perms.iter().any(|p| p == perm)
        })
    }
    /// Does a namespace grant give `perm` on `namespace` itself (creating repos, org settings)?
    pub fn grants_on_namespace(&self, perm: &str, namespace: &str) -> bool {
        self.scoped.iter().any(|(target, perms)| {
            matches!(target, ScopeTarget::Namespace(ns) if ns.eq_ignore_ascii_case(namespace)) && perms.iter().any(|p| p == perm)
        })
    }
    pub fn grants_global(&self, perm: &str) -> bool {
        self.global.iter().any(|p| p == perm)
    }
    /// Does the token reach `namespace` at all (through the namespace or one of its repos)?
    pub fn reaches_namespace(&self, namespace: &str, repo_in_namespace: impl Fn(i64) -> bool) -> bool {
        self.scoped.iter().any(|(target, _)| match target {
            ScopeTarget::Namespace(ns) => ns.eq_ignore_ascii_case(namespace),
            ScopeTarget::Repo(id) => repo_in_namespace(*id),
        })
    }
}

/// What the credential of a request grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A browser session or an operator: the full power of the account.
    Account,
    Classic(Role),
    FineGrained(FineGrained),
}

impl Grant {
    pub fn role_name(&self) -> &'static str {
        match self {
            Grant::Account => "account",
            Grant::Classic(r) => r.as_str(),
            Grant::FineGrained(_) => "fineGrained",
        }
    }
}

/// `ENTITY=PERMISSION` pairs of the command line (`model:alice/bert=repo.content.read`,
/// `global=discussion.write`): the global permissions, and per `(entity type, name)` its permissions
/// in the order given.
#[allow(clippy::type_complexity)]
pub fn parse_permission_pairs(pairs: &[String]) -> Result<(Vec<String>, Vec<(String, String, Vec<String>)>), String> {
    let mut global = Vec::new();
    let mut scoped: Vec<(String, String, Vec<String>)> = Vec::new();
    for pair in pairs {
        let (entity, perm) = pair
            .split_once('=')
            .ok_or_else(|| format!("--permission '{pair}' is not ENTITY=PERMISSION (e.g. model:alice/bert=repo.content.read)"))?;
        if entity == "global" {
            global.push(perm.to_owned());
            continue;
        }
        let (kind, name) = entity
            .split_once(':')
            .ok_or_else(|| format!("entity '{entity}' must be user:NAME, org:NAME, model:NS/NAME, dataset:NS/NAME, space:NS/NAME or global"))?;
        match scoped.iter_mut().find(|(k, n, _)| k == kind && n == name) {
            Some((_, _, p)) => p.push(perm.to_owned()),
            None => scoped.push((kind.to_owned(), name.to_owned(), vec![perm.to_owned()])),
        }
    }
    Ok((global, scoped))
}
