//! Client errors that teach: each says what happened and what to do, and maps to a documented exit
//! code (see `docs/CLI.md`).

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("You are not logged in. Tokens are looked for in {lookup}.\nLog in with `hangar auth login` (or `hf auth login`), or set HF_TOKEN.")]
    NotLoggedIn { lookup: String },
    #[error("The token from {origin} was refused by {endpoint}: it is invalid or revoked.\nCheck that it was copied whole (no stray space or newline), or create a new one and run `hangar auth login`.")]
    InvalidToken { origin: String, endpoint: String },
    #[error("{0}\nCreate or refresh a token, then run `hangar auth login`.")]
    TokenExpired(String),
    #[error("{0}")]
    AuthRequired(String),
    #[error("Repository {repo} not found at {endpoint}. Check the name and --repo-type{hint}.")]
    RepoNotFound { repo: String, endpoint: String, hint: &'static str },
    #[error("{message}{}", gated_hint(message, repo))]
    Gated { repo: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("Rate limited by the server: {message}{}", retry_after.map(|s| format!(" Retry in {s} seconds.")).unwrap_or_default())]
    RateLimited { message: String, retry_after: Option<u64> },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The server answered {status}: {message}{}", request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Server { status: u16, message: String, request_id: Option<String> },
    #[error("Could not reach {endpoint}: {message}. Check the endpoint (--endpoint or HF_ENDPOINT) and your network; running the command again resumes.")]
    Network { endpoint: String, message: String },
    #[error("{0}")]
    Local(String),
    #[error("Interrupted. Nothing was committed; run the command again to resume.")]
    Interrupted,
}

/// What to do next about a gated repo, when the server's message leaves it open.
fn gated_hint(message: &str, repo: &str) -> String {
    let m = message.to_lowercase();
    if m.contains("authorized list") || m.contains("ask for access") {
        format!("\nTo ask for access: `hangar access-requests ask {repo}` (add --field NAME=VALUE for the form's fields); its owners then review the request.")
    } else if m.contains("log in") {
        "\nLog in first (`hangar auth login`), then ask for access.".into()
    } else {
        String::new()
    }
}

impl ClientError {
    /// Exit codes: 1 other, 3 authentication, 4 permission or gated, 5 not found, 6 rate limited,
    /// 7 network, 8 local files, 130 interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::NotLoggedIn { .. } | ClientError::InvalidToken { .. } | ClientError::TokenExpired(_) | ClientError::AuthRequired(_) => 3,
            ClientError::Forbidden(_) | ClientError::Gated { .. } => 4,
            ClientError::RepoNotFound { .. } | ClientError::NotFound(_) => 5,
            ClientError::RateLimited { .. } => 6,
            ClientError::Network { .. } => 7,
            ClientError::Local(_) => 8,
            ClientError::Interrupted => 130,
            _ => 1,
        }
    }

    /// A stable name for `--format json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::NotLoggedIn { .. } => "NotLoggedIn",
            ClientError::InvalidToken { .. } => "InvalidToken",
            ClientError::TokenExpired(_) => "TokenExpired",
            ClientError::AuthRequired(_) => "AuthRequired",
            ClientError::RepoNotFound { .. } => "RepoNotFound",
            ClientError::Gated { .. } => "GatedRepo",
            ClientError::Forbidden(_) => "Forbidden",
            ClientError::NotFound(_) => "NotFound",
            ClientError::RateLimited { .. } => "RateLimited",
            ClientError::BadRequest(_) => "BadRequest",
            ClientError::Conflict(_) => "Conflict",
            ClientError::Server { .. } => "ServerError",
            ClientError::Network { .. } => "Network",
            ClientError::Local(_) => "LocalFile",
            ClientError::Interrupted => "Interrupted",
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;
