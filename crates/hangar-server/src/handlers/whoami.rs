use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, INVALID_CREDENTIALS};
use crate::fine_grained;
use crate::handlers::iso;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

/// `GET /api/whoami-v2`: the caller's account (or organization, for an organization token) and the
/// token they used, in the Hub's shape.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn whoami(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let Some(a) = caller.0 else {
        return Err(ApiError::InvalidCredentials(INVALID_CREDENTIALS));
    };
    let mut auth = match &a.token {
        Some(t) => {
            let mut access_token = json!({
                "displayName": t.name,
                "role": t.role,
                "createdAt": iso(t.created_at),
            });
            if let Some(used) = t.last_used_at {
                access_token["lastUsedAt"] = iso(used).into();
            }
            if let Some(exp) = t.expires_at {
                access_token["expiration"] = iso(exp).into();
            }
            if let Some(fg) = &t.fine_grained {
                access_token["fineGrained"] = fine_grained::to_api(&state, fg).await?;
            }
            json!({"type": "access_token", "accessToken": access_token})
        }
        None => json!({"type": "session"}),
    };
    if let Some(exp) = a.token.as_ref().and_then(|t| t.expires_at) {
        auth["expiresAt"] = iso(exp).into();
    }
    // Paid plans report the end of the current monthly period, as the Hub does.
    let period_end = |paid: bool| if paid { json!(hangar_core::plans::period(state.now_ms()).1 / 1000) } else { Value::Null };
    if let Some(org) = &a.org {
        let enterprise = org.plan == "enterprise";
        return Ok(Json(json!({
            "type": "org",
            "id": format!("{:024x}", org.id),
            "name": org.name,
            "fullname": org.fullname,
            "email": null,
            "canPay": false,
            "isPro": false,
            "isEnterprise": enterprise,
            "periodEnd": period_end(enterprise),
            "avatarUrl": format!("/avatars/{}.svg", org.name),
            "orgs": [],
            "auth": auth,
        })));
    }
    let orgs: Vec<Value> = state
        .store
        .user_orgs(a.user.id)
        .await?
        .into_iter()
        .map(|(o, role)| {
            let enterprise = o.plan == "enterprise";
            json!({"type": "org", "id": format!("{:024x}", o.id), "name": o.name, "fullname": o.fullname, "email": null,
                   "canPay": false, "periodEnd": period_end(enterprise), "avatarUrl": format!("/avatars/{}.svg", o.name), "roleInOrg": role,
                   "isEnterprise": enterprise})
        })
        .collect();
    let pro = state.store.user_plan(a.user.id).await?.as_deref() == Some("pro");
    Ok(Json(json!({
        "type": "user",
        "id": format!("{:024x}", a.user.id),
        "name": a.user.name,
        "fullname": if a.user.fullname.is_empty() { &a.user.name } else { &a.user.fullname },
        "email": a.user.email,
        "emailVerified": a.user.email_verified,
        "canPay": false,
        "isPro": pro,
        "periodEnd": period_end(pro),
        "avatarUrl": format!("/avatars/{}.svg", a.user.name),
        "orgs": orgs,
        "auth": auth,
    })))
}
