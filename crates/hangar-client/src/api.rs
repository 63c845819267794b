//! The Hub API as the client commands use it: one `Client` with the endpoint and the token, and
//! error answers turned into [`ClientError`]s that say what to do.

use crate::env::{Env, TokenSource};
use crate::error::{ClientError, ClientResult};
use hangar_core::RepoType;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";

/// A repository: its type and `namespace/name`.
#[derive(Debug, Clone)]
pub struct RepoRef {
    pub kind: RepoType,
    pub id: String,
}

impl RepoRef {
    pub fn new(kind: RepoType, id: &str) -> ClientResult<RepoRef> {
        let parsed = hangar_core::RepoId::parse(id).map_err(|e| ClientError::BadRequest(format!("{}: use NAMESPACE/NAME", e.0)))?;
        Ok(RepoRef { kind, id: parsed.to_string() })
    }
    pub fn api(&self) -> String {
        format!("/api/{}/{}", self.kind.plural(), self.id)
    }
    /// The repo's own URL path (`/ns/name`, `/datasets/ns/name`).
    pub fn web(&self) -> String {
        format!("/{}{}", self.kind.url_prefix(), self.id)
    }
    /// The cache folder name (`models--ns--name`).
    pub fn cache_folder(&self) -> String {
        format!("{}s--{}", self.kind.as_str(), self.id.replace('/', "--"))
    }
}

pub fn encode_path(p: &str) -> String {
    p.split('/').map(|s| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()).collect::<Vec<_>>().join("/")
}

pub fn encode_rev(r: &str) -> String {
    percent_encoding::utf8_percent_encode(r, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub endpoint: String,
    token: Option<(String, TokenSource)>,
    basic: Option<(String, String)>,
    lookup: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("endpoint", &self.endpoint).field("token", &self.token.as_ref().map(|(_, s)| s)).finish()
    }
}

impl Client {
    pub fn new(env: &Env) -> ClientResult<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("hangar/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(15))
            .read_timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::Local(format!("cannot start the HTTP client: {e}")))?;
        Ok(Client { http, endpoint: env.endpoint.clone(), token: env.token.clone(), basic: None, lookup: env.lookup_order() })
    }

    /// The same client authenticating with the account's username and password (token management).
    pub fn with_password(&self, user: &str, password: &str) -> Client {
        Client { basic: Some((user.to_owned(), password.to_owned())), token: None, ..self.clone() }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: &str, source: TokenSource) -> Client {
        Client { token: Some((token.to_owned(), source)), basic: None, ..self.clone() }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn token_source(&self) -> Option<&TokenSource> {
        self.token.as_ref().map(|(_, s)| s)
    }

    pub fn require_token(&self) -> ClientResult<()> {
        if self.token.is_none() {
            return Err(ClientError::NotLoggedIn { lookup: self.lookup.clone() });
        }
        Ok(())
    }

    pub fn request(&self, method: Method, path_or_url: &str) -> RequestBuilder {
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.endpoint)
        };
        let rb = self.http.request(method, url);
        match (&self.basic, &self.token) {
            (Some((u, p)), _) => rb.basic_auth(u, Some(p)),
            (None, Some((t, _))) => rb.bearer_auth(t),
            _ => rb,
        }
    }

    /// Sends and turns error answers into teaching errors; `repo` names the repository concerned.
    pub async fn send(&self, rb: RequestBuilder, repo: Option<&RepoRef>) -> ClientResult<Response> {
        let resp = rb.send().await.map_err(|e| self.network(e))?;
        if resp.status().is_success() || resp.status().is_redirection() {
            return Ok(resp);
        }
        Err(self.error_from(resp, repo).await)
    }

    pub async fn json(&self, rb: RequestBuilder, repo: Option<&RepoRef>) -> ClientResult<Value> {
        let resp = self.send(rb, repo).await?;
        resp.json().await.map_err(|e| self.network(e))
    }

    pub fn network(&self, e: reqwest::Error) -> ClientError {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        ClientError::Network { endpoint: self.endpoint.clone(), message }
    }

    async fn error_from(&self, resp: Response, repo: Option<&RepoRef>) -> ClientError {
        let status = resp.status();
        let header = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let code = header("x-error-code");
        let request_id = header("x-request-id");
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let header_message = header("x-error-message");
        let body = resp.text().await.unwrap_or_default();
        let message = header_message
            .or_else(|| serde_json::from_str::<Value>(&body).ok().and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned)))
            .unwrap_or_else(|| if body.len() < 300 && !body.is_empty() { body.clone() } else { status.to_string() });
        let repo_name = repo.map(|r| format!("{} {}", r.kind.as_str(), r.id)).unwrap_or_default();
        let source = match (&self.basic, &self.token) {
            (Some(_), _) => "your username and password".to_owned(),
            (None, Some((_, s))) => s.to_string(),
            _ => "no token".to_owned(),
        };
        match (status, code.as_deref()) {
            (_, Some("GatedRepo")) => ClientError::Gated { repo: repo.map(|r| r.id.clone()).unwrap_or_default(), message },
            (StatusCode::UNAUTHORIZED, Some("TokenExpired")) => ClientError::TokenExpired(message),
            (StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND, Some("RepoNotFound")) => ClientError::RepoNotFound {
                repo: repo_name,
                endpoint: self.endpoint.clone(),
                hint: if self.token.is_none() && self.basic.is_none() { "; if it is private, log in first (`hangar auth login`)" } else { ", and that your account can see it" },
            },
            (StatusCode::UNAUTHORIZED, _) if message == INVALID_CREDENTIALS && self.basic.is_none() => {
                ClientError::InvalidToken { origin: source, endpoint: self.endpoint.clone() }
            }
            (StatusCode::UNAUTHORIZED, _) if self.basic.is_some() => ClientError::AuthRequired(format!("{message}. Check your username and password.")),
            (StatusCode::UNAUTHORIZED, _) => ClientError::AuthRequired(format!("{message}\nTokens are looked for in {}.", self.lookup)),
            (StatusCode::FORBIDDEN, Some("EmailNotVerified" | "TokenNotAllowed" | "CsrfTokenMissing")) => ClientError::Forbidden(message),
            // When the token is what falls short, say which kind of token would do.
            (StatusCode::FORBIDDEN, _) if message.contains("token") => ClientError::Forbidden(format!(
                "{message}\nThe request used {source}. Tokens that can: 'write' to push or change settings, 'admin' to delete or rename repos, or a fine-grained token with the permission named above."
            )),
            (StatusCode::FORBIDDEN, _) => ClientError::Forbidden(format!("{message}\nThe request used {source}.")),
            (StatusCode::NOT_FOUND, _) => ClientError::NotFound(message),
            (StatusCode::TOO_MANY_REQUESTS, _) => ClientError::RateLimited { message, retry_after },
            (StatusCode::CONFLICT, _) => ClientError::Conflict(message),
            (s, _) if s.is_client_error() => ClientError::BadRequest(message),
            (s, _) => ClientError::Server { status: s.as_u16(), message, request_id },
        }
    }

    // --- identity -----------------------------------------------------------------------------

    pub async fn whoami(&self) -> ClientResult<Value> {
        self.require_token()?;
        self.json(self.request(Method::GET, "/api/whoami-v2"), None).await
    }

    // --- repositories -------------------------------------------------------------------------

    pub async fn repo_info(&self, repo: &RepoRef, revision: Option<&str>) -> ClientResult<Value> {
        let path = match revision {
            Some(r) => format!("{}/revision/{}", repo.api(), encode_rev(r)),
            None => repo.api(),
        };
        self.json(self.request(Method::GET, &path), Some(repo)).await
    }

    pub async fn create_repo(&self, repo: &RepoRef, private: bool) -> ClientResult<Value> {
        let body = serde_json::json!({"name": repo.id, "type": repo.kind.as_str(), "private": private});
        self.json(self.request(Method::POST, "/api/repos/create").json(&body), Some(repo)).await
    }

    pub async fn delete_repo(&self, repo: &RepoRef) -> ClientResult<()> {
        let body = serde_json::json!({"name": repo.id, "type": repo.kind.as_str()});
        self.send(self.request(Method::DELETE, "/api/repos/delete").json(&body), Some(repo)).await.map(|_| ())
    }

    pub async fn update_settings(&self, repo: &RepoRef, settings: Value) -> ClientResult<()> {
        let path = format!("{}/settings", repo.api());
        self.send(self.request(Method::PUT, &path).json(&settings), Some(repo)).await.map(|_| ())
    }

    /// Every file of the revision: `(path, size, git oid, lfs sha256)`.
    pub async fn list_files(&self, repo: &RepoRef, revision: &str) -> ClientResult<Vec<RemoteFile>> {
        let mut url = format!("{}{}/tree/{}?recursive=true&expand=false", self.endpoint, repo.api(), encode_rev(revision));
        let mut out = Vec::new();
        loop {
            let resp = self.send(self.request(Method::GET, &url), Some(repo)).await?;
            let next = resp
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split(',').find(|p| p.contains("rel=\"next\"")))
                .and_then(|p| p.split(';').next())
                .map(|u| u.trim().trim_start_matches('<').trim_end_matches('>').to_owned());
            let items: Vec<Value> = resp.json().await.map_err(|e| self.network(e))?;
            for it in items {
                if it.get("type").and_then(Value::as_str) != Some("file") {
                    continue;
                }
                out.push(RemoteFile {
                    path: it["path"].as_str().unwrap_or_default().to_owned(),
                    size: it["size"].as_u64().unwrap_or(0),
                    oid: it["oid"].as_str().unwrap_or_default().to_owned(),
                    lfs_sha256: it.get("lfs").and_then(|l| l.get("oid")).and_then(Value::as_str).map(str::to_owned),
                });
            }
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        Ok(out)
    }
}

/// A file of a remote revision.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    pub path: String,
    pub size: u64,
    /// The git blob id (for an LFS file, of its pointer).
    pub oid: String,
    pub lfs_sha256: Option<String>,
}

impl RemoteFile {
    /// The ETag the Hub sends for it, which names its blob in the cache.
    pub fn etag(&self) -> &str {
        self.lfs_sha256.as_deref().unwrap_or(&self.oid)
    }
}
