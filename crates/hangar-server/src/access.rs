//! Loading a repository for a request: the one path every repo route takes, so that existence,
//! privacy and permissions are decided the same way everywhere (by `hangar_core::policy`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hangar_core::policy::{self, Action, RepoFacts};
use hangar_core::{RepoId, RepoType};
use hangar_store::Repo;

/// Loads `repo` and checks that `caller` may perform `action` on it. A repository the caller may
/// not see is reported exactly as a missing one.
pub async fn load_repo(state: &AppState, caller: &Caller, repo_type: RepoType, id: &RepoId, action: Action) -> ApiResult<Repo> {
    let not_found = ApiError::RepoNotFound { anonymous: caller.is_anonymous() };
    let Some(repo) = state.store.repo_by_name(repo_type.as_str(), &id.namespace, &id.name).await? else {
        return Err(not_found);
    };
    check(caller, &repo, action)?;
    Ok(repo)
}

pub fn check(caller: &Caller, repo: &Repo, action: Action) -> ApiResult<()> {
    let display = format!("{}/{}", repo.namespace, repo.name);
    let facts = RepoFacts { namespace: &repo.namespace, display: &display, private: repo.private };
    policy::check_repo(caller.principal().as_ref(), &facts, action)
        .map_err(|d| ApiError::from_denial(d, caller.is_anonymous()))
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
