//! One error type for every handler. Client errors carry what the Hub clients read: the status,
//! `X-Error-Code`, `X-Error-Message` and a JSON body `{"error": ...}`. Internal errors are logged
//! once and answered as a plain 500 whose text never reaches the client.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hangar_core::policy::Denial;

pub const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// A 400 with its own `X-Error-Code` (`RepoNotGated`, ...).
    #[error("{message}")]
    BadRequestCode { code: &'static str, message: String },
    #[error("{0}")]
    InvalidCredentials(&'static str),
    #[error("{0}")]
    AuthRequired(String),
    #[error("{0}")]
    Forbidden(String),
    /// A 403 with its own `X-Error-Code` (`EmailNotVerified`, `TokenNotAllowed`, ...).
    #[error("{message}")]
    ForbiddenCode { code: &'static str, message: String },
    #[error("{0}")]
    TokenExpired(String),
    /// A gated repository the caller cannot read: 401 anonymously, 403 otherwise.
    #[error("{message}")]
    Gated { anonymous: bool, message: String },
    #[error("{message}")]
    TooManyRequests { retry_after: u64, message: String },
    /// A repository that does not exist or that the caller may not see: the two are identical.
    #[error("Repository not found")]
    RepoNotFound { anonymous: bool },
    #[error("{0}")]
    RevisionNotFound(String),
    #[error("{message}")]
    EntryNotFound { message: String, commit: Option<String> },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { message: String, url: Option<String> },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    RangeNotSatisfiable(u64),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    pub fn from_denial(d: Denial, anonymous: bool) -> Self {
        match d {
            Denial::Hidden => ApiError::RepoNotFound { anonymous },
            Denial::AuthRequired(m) => ApiError::AuthRequired(m),
            Denial::Forbidden { message, .. } => ApiError::Forbidden(message),
            Denial::Gated { message } => ApiError::Gated { anonymous, message },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// What the client is told (never the details of an internal error).
    pub fn public_message(&self) -> String {
        self.message()
    }

    fn status_and_code(&self) -> (StatusCode, Option<&'static str>) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, Some("BadRequest")),
            ApiError::BadRequestCode { code, .. } => (StatusCode::BAD_REQUEST, Some(*code)),
            ApiError::InvalidCredentials(_) => (StatusCode::UNAUTHORIZED, None),
            ApiError::AuthRequired(_) => (StatusCode::UNAUTHORIZED, Some("AuthRequired")),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, Some("Forbidden")),
            ApiError::ForbiddenCode { code, .. } => (StatusCode::FORBIDDEN, Some(*code)),
            ApiError::TokenExpired(_) => (StatusCode::UNAUTHORIZED, Some("TokenExpired")),
            ApiError::Gated { anonymous: true, .. } => (StatusCode::UNAUTHORIZED, Some("GatedRepo")),
            ApiError::Gated { anonymous: false, .. } => (StatusCode::FORBIDDEN, Some("GatedRepo")),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, Some("TooManyRequests")),
            ApiError::RepoNotFound { anonymous: true } => (StatusCode::UNAUTHORIZED, Some("RepoNotFound")),
            ApiError::RepoNotFound { anonymous: false } => (StatusCode::NOT_FOUND, Some("RepoNotFound")),
            ApiError::RevisionNotFound(_) => (StatusCode::NOT_FOUND, Some("RevisionNotFound")),
            ApiError::EntryNotFound { .. } => (StatusCode::NOT_FOUND, Some("EntryNotFound")),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, Some("NotFound")),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, Some("Conflict")),
            ApiError::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, Some("PreconditionFailed")),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, Some("PayloadTooLarge")),
            ApiError::RangeNotSatisfiable(_) => (StatusCode::RANGE_NOT_SATISFIABLE, Some("RangeNotSatisfiable")),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, Some("Unprocessable")),
            ApiError::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, Some("NotImplemented")),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::RepoNotFound { anonymous: true } => "Repository not found. If the repo is private, make sure you are authenticated and your token has access to it.".into(),
            ApiError::RepoNotFound { anonymous: false } => "Repository not found. Check the repo id and type, and that your account has access to it.".into(),
            ApiError::RangeNotSatisfiable(size) => format!("Requested range not satisfiable: the file has {size} bytes"),
            ApiError::Internal(_) => "Internal server error".into(),
            other => other.to_string(),
        }
    }
}

/// Header values must be visible ASCII: anything else is replaced, and newlines become spaces.
pub fn header_safe(s: &str) -> HeaderValue {
    let clean: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' || c == '\t' { ' ' } else if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
        .collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let message = self.message();
        let mut body = serde_json::json!({ "error": message });
        if let ApiError::Conflict { url: Some(url), .. } = &self {
            body["url"] = url.clone().into();
        }
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        if let Some(code) = code {
            h.insert("x-error-code", HeaderValue::from_static(code));
        }
        h.insert("x-error-message", header_safe(&message));
        match &self {
            ApiError::EntryNotFound { commit: Some(c), .. } => {
                h.insert("x-repo-commit", header_safe(c));
            }
            ApiError::RangeNotSatisfiable(size) => {
                h.insert("content-range", header_safe(&format!("bytes */{size}")));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                h.insert("retry-after", header_safe(&retry_after.to_string()));
            }
            _ => {}
        }
        resp
    }
}

impl From<hangar_store::StoreError> for ApiError {
    fn from(e: hangar_store::StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<hangar_blobs::BlobError> for ApiError {
    fn from(e: hangar_blobs::BlobError) -> Self {
        match e {
            hangar_blobs::BlobError::Mismatch { what, expected, actual } => ApiError::bad_request(format!(
                "Uploaded content does not match its claimed {what}: expected {expected}, got {actual}. Nothing was stored."
            )),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<hangar_core::NameError> for ApiError {
    fn from(e: hangar_core::NameError) -> Self {
        ApiError::BadRequest(e.0)
    }
}
