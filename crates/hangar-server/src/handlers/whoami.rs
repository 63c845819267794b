use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, INVALID_CREDENTIALS};
use crate::handlers::iso;
use axum::Json;
use serde_json::{json, Value};

/// `GET /api/whoami-v2`: the caller's account and the token they used, in the Hub's shape.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn whoami(caller: Caller) -> ApiResult<Json<Value>> {
    let Some(a) = caller.0 else {
        return Err(ApiError::InvalidCredentials(INVALID_CREDENTIALS));
    };
    let mut access_token = json!({
        "displayName": a.token.name,
        "role": a.role.as_str(),
        "createdAt": iso(a.token.created_at),
    });
    if let Some(used) = a.token.last_used_at {
        access_token["lastUsedAt"] = iso(used).into();
    }
    let mut auth = json!({"type": "access_token", "accessToken": access_token});
    if let Some(exp) = a.token.expires_at {
        auth["expiresAt"] = iso(exp).into();
    }
    Ok(Json(json!({
        "type": "user",
        "id": format!("{:024x}", a.user.id),
        "name": a.user.name,
        "fullname": a.user.name,
        "email": a.user.email,
        "emailVerified": a.user.email_verified,
        "canPay": false,
        "isPro": false,
        "periodEnd": null,
        "avatarUrl": format!("/avatars/{}.svg", a.user.name),
        "orgs": [],
        "auth": auth,
    })))
}
