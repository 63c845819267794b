use axum::Json;

/// Liveness probe for operators and tests.
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}
