//! `POST /api/credentials/revoke`: anyone who finds a Hangar token (a scanner, a colleague) can
//! revoke it. No authentication, always 202, so the answer never tells whether a token was live.

use crate::error::{ApiError, ApiResult};
use crate::handlers::json_body;
use crate::scan::revoke_leaked;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hangar_core::token;
use serde::Deserialize;
use serde_json::json;

const MAX_CREDENTIALS: usize = 1000;

#[derive(Deserialize)]
pub struct RevokeBody {
    credentials: Vec<String>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_credentials(State(state): State<AppState>, body: Result<Json<RevokeBody>, axum::extract::rejection::JsonRejection>) -> ApiResult<Response> {
    let body = json_body(body)?;
    if body.credentials.len() > MAX_CREDENTIALS {
        return Err(ApiError::bad_request(format!("credentials: at most {MAX_CREDENTIALS} per request")));
    }
    let hashes: Vec<String> = body
        .credentials
        .iter()
        .map(|c| c.trim())
        .filter(|c| token::is_well_formed(c))
        .map(token::hash_token)
        .collect();
    revoke_leaked(&state, &hashes, "reported to the credentials revocation endpoint").await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": true}))).into_response())
}
