//! Request handlers, one module per resource.

pub mod account;
pub mod commit;
pub mod gated;
pub mod health;
pub mod leaks;
pub mod orgs;
pub mod tokens;
pub mod lfs;
pub mod listing;
pub mod refs;
pub mod repos;
pub mod resolve;
pub mod validate;
pub mod whoami;
pub mod xet;

use serde::Deserialize;

/// `/api/{kind}/{namespace}/{name}` and everything below it.
#[derive(Debug, Deserialize)]
pub struct RepoPath {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct RepoRevPath {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub rev: String,
}

/// Query booleans arrive as `true`/`false` (httpx), `True`/`False` (requests) or `1`/`0`.
pub fn query_bool(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true" | "True" | "TRUE" | "yes"))
}

fn parse_repo(kind: &str, namespace: &str, name: &str) -> crate::error::ApiResult<(hangar_core::RepoType, hangar_core::RepoId)> {
    let t = crate::access::parse_type_plural(kind)?;
    let id = hangar_core::RepoId::new(namespace, name)?;
    Ok((t, id))
}

impl RepoPath {
    pub fn parse(&self) -> crate::error::ApiResult<(hangar_core::RepoType, hangar_core::RepoId)> {
        parse_repo(&self.kind, &self.namespace, &self.name)
    }
}

impl RepoRevPath {
    pub fn parse(&self) -> crate::error::ApiResult<(hangar_core::RepoType, hangar_core::RepoId)> {
        parse_repo(&self.kind, &self.namespace, &self.name)
    }
}

pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A JSON body, or a 400 that says what is wrong with it.
pub fn json_body<T>(body: Result<axum::Json<T>, axum::extract::rejection::JsonRejection>) -> crate::error::ApiResult<T> {
    body.map(|axum::Json(v)| v).map_err(|e| crate::error::ApiError::bad_request(format!("Invalid request body: {}", e.body_text())))
}
