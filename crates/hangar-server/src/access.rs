//! Loading a repository for a request: the one path every repo route takes, so that existence,
//! privacy and permissions are decided the same way everywhere (by `hangar_core::policy`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hangar_core::policy::{self, Action, Approval, Gate, Grant, NamespaceFacts, OrgRole, Principal, RepoFacts, Request, TokenPolicy};
use hangar_core::{RepoId, RepoType};
use hangar_store::{Org, Repo, TokenRecord};

/// Loads `repo` and checks that `caller` may perform `action` on it. A repository the caller may
/// not see is reported exactly as a missing one.
pub async fn load_repo(state: &AppState, caller: &Caller, repo_type: RepoType, id: &RepoId, action: Action) -> ApiResult<Repo> {
    let not_found = ApiError::RepoNotFound { anonymous: caller.is_anonymous() };
    let Some(repo) = state.store.repo_by_name(repo_type.as_str(), &id.namespace, &id.name).await? else {
        return Err(not_found);
    };
    check(state, caller, &repo, action).await?;
    Ok(repo)
}

/// May the caller perform `action` on `repo`? Gathers the facts the policy needs and asks it.
pub async fn check(state: &AppState, caller: &Caller, repo: &Repo, action: Action) -> ApiResult<()> {
    let a = caller.0.as_ref();
    // Reading a public, ungated repo is allowed whatever the caller's relation to it: the hot path of
    // downloads skips the membership and access-request queries.
    let reading_public = !repo.private && (repo.gated.is_none() || action == Action::ReadMetadata) && matches!(action, Action::ReadContent | Action::ReadMetadata);
    let user_id = a.and_then(|a| a.acting_user()).map(|u| u.id).filter(|_| !reading_public);
    let facts = gather(state, caller.principal(), user_id, a.and_then(|a| a.token.as_ref()), repo).await?;
    let display = repo_display(repo);
    policy::check_repo(caller.principal(), &facts.as_facts(&display), action).map_err(|d| ApiError::from_denial(d, caller.is_anonymous()))
}

/// `model alice/bert`, as messages name repositories.
pub fn repo_display(repo: &Repo) -> String {
    format!("{} {}/{}", repo.repo_type, repo.namespace, repo.name)
}

/// [`RepoFacts`] with owned values.
#[derive(Debug, Clone)]
pub struct Facts {
    id: i64,
    namespace: String,
    private: bool,
    gated: Option<Gate>,
    membership: Option<OrgRole>,
    org_policy: Option<TokenPolicy>,
    approval: Option<Approval>,
    request: Option<Request>,
    created_by_caller: bool,
}

impl Facts {
    pub fn as_facts<'a>(&'a self, display: &'a str) -> RepoFacts<'a> {
        RepoFacts {
            id: self.id,
            namespace: &self.namespace,
            display,
            private: self.private,
            gated: self.gated,
            membership: self.membership,
            org_policy: self.org_policy,
            approval: self.approval,
            request: self.request.clone(),
            created_by_caller: self.created_by_caller,
        }
    }
}

pub fn gate_of(repo: &Repo) -> Option<Gate> {
    match repo.gated.as_deref() {
        Some("auto") => Some(Gate::Auto),
        Some("manual") => Some(Gate::Manual),
        _ => None,
    }
}

/// The caller's membership in the organization `namespace` (when it is one) and its token policy,
/// with the token's approval state when that policy applies to it.
async fn org_relation(state: &AppState, user_id: i64, token: Option<&TokenRecord>, namespace: &str) -> ApiResult<(Option<Org>, Option<OrgRole>, Option<Approval>)> {
    let Some(org) = state.store.org_by_name(namespace).await? else { return Ok((None, None, None)) };
    let membership = state.store.member_role(org.id, user_id).await?.as_deref().and_then(OrgRole::parse);
    let mut approval = None;
    if let (Some(_), Some(t)) = (membership, token) {
        if t.role == "fineGrained" && org.token_policy == TokenPolicy::AdminApproval.as_str() {
            // Read first: the insert (which records the pending request for the admins) happens once.
            let s = match state.store.token_approval(org.id, t.id).await? {
                Some(s) => s,
                None => state.store.request_token_approval(org.id, t.id, state.now_ms()).await?,
            };
            approval = Some(match s.as_str() {
                "approved" => Approval::Approved,
                "denied" => Approval::Denied,
                _ => Approval::Pending,
            });
        }
    }
    Ok((Some(org), membership, approval))
}

/// Everything the policy needs to know about `repo` and this caller. Queries run only when they
/// can matter: nothing for anonymous callers or a user's own repos.
pub async fn gather(state: &AppState, who: Option<&Principal>, user_id: Option<i64>, token: Option<&TokenRecord>, repo: &Repo) -> ApiResult<Facts> {
    let gated = gate_of(repo);
    let mut facts = Facts {
        id: repo.id,
        namespace: repo.namespace.clone(),
        private: repo.private,
        gated,
        membership: None,
        org_policy: None,
        approval: None,
        request: None,
        created_by_caller: user_id.is_some() && repo.created_by == user_id,
    };
    let (Some(who), Some(uid)) = (who, user_id) else { return Ok(facts) };
    if who.name.eq_ignore_ascii_case(&repo.namespace) {
        return Ok(facts);
    }
    let (org, membership, approval) = org_relation(state, uid, token, &repo.namespace).await?;
    facts.org_policy = org.as_ref().and_then(|o| TokenPolicy::parse(&o.token_policy));
    facts.membership = membership;
    facts.approval = approval;
    if gated.is_some() && membership.is_none() {
        facts.request = state.store.access_request(repo.id, uid).await?.map(|r| match r.status.as_str() {
            "accepted" => Request::Accepted,
            "rejected" => Request::Rejected(r.reason),
            _ => Request::Pending,
        });
    }
    Ok(facts)
}

/// [`NamespaceFacts`] with owned values, plus the organization when the namespace is one.
pub struct NsFacts {
    pub name: String,
    pub org: Option<Org>,
    membership: Option<OrgRole>,
    approval: Option<Approval>,
}

impl NsFacts {
    pub fn as_facts(&self) -> NamespaceFacts<'_> {
        NamespaceFacts {
            name: &self.name,
            is_org: self.org.is_some(),
            membership: self.membership,
            org_policy: self.org.as_ref().and_then(|o| TokenPolicy::parse(&o.token_policy)),
            approval: self.approval,
        }
    }
}

pub async fn namespace_facts(state: &AppState, caller: &Caller, namespace: &str) -> ApiResult<NsFacts> {
    let mut out = NsFacts { name: namespace.to_owned(), org: None, membership: None, approval: None };
    match caller.0.as_ref().and_then(|a| a.acting_user().map(|u| (u.id, a.token.as_ref()))) {
        Some((uid, token)) if !caller.principal().is_some_and(|p| p.name.eq_ignore_ascii_case(namespace)) => {
            let (org, membership, approval) = org_relation(state, uid, token, namespace).await?;
            out.org = org;
            out.membership = membership;
            out.approval = approval;
        }
        _ => out.org = state.store.org_by_name(namespace).await?,
    }
    Ok(out)
}

/// May the caller create a repository in `namespace`?
pub async fn check_create(state: &AppState, caller: &Caller, namespace: &str) -> ApiResult<()> {
    let ns = namespace_facts(state, caller, namespace).await?;
    policy::check_create(caller.principal(), &ns.as_facts()).map_err(|d| ApiError::from_denial(d, caller.is_anonymous()))
}

/// Is the caller's credential the account itself (a session), not a token?
pub fn is_account(caller: &Caller) -> bool {
    caller.principal().is_some_and(|p| p.grant == Grant::Account)
}

pub fn parse_type_plural(kind: &str) -> ApiResult<RepoType> {
    RepoType::from_plural(kind).ok_or_else(|| ApiError::NotFound(format!("Unknown repo type '{kind}': use models, datasets or spaces")))
}

/// The scheme and host clients reach us at, for URLs inside responses: the configured public URL,
/// else the `Host` the client called (so `HF_ENDPOINT` and response URLs always agree).
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(u) = &state.config.public_url {
            return Ok(BaseUrl(u.trim_end_matches('/').to_owned()));
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
            .unwrap_or_else(|| state.config.listen.to_string());
        Ok(BaseUrl(format!("http://{host}")))
    }
}

impl BaseUrl {
    pub fn repo_url(&self, repo_type: RepoType, namespace: &str, name: &str) -> String {
        format!("{}/{}{namespace}/{name}", self.0, repo_type.url_prefix())
    }
}

pub fn repo_type_of(repo: &Repo) -> RepoType {
    RepoType::parse(&repo.repo_type).unwrap_or(RepoType::Model)
}
