//! `POST /api/validate-yaml`: the client checks a README's YAML metadata before committing it.

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct ValidateBody {
    content: String,
}

/// The YAML between a leading `---` line and the next `---` line, if the card has one.
fn front_matter(content: &str) -> Result<Option<&str>, String> {
    let rest = match content.strip_prefix("---\n").or_else(|| content.strip_prefix("---\r\n")) {
        Some(r) => r,
        None => return Ok(None),
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Ok(Some(&rest[..offset]));
        }
        offset += line.len();
    }
    Err("The YAML metadata block starts with '---' but is never closed by another '---' line".into())
}

pub async fn validate_yaml(body: Result<Json<ValidateBody>, axum::extract::rejection::JsonRejection>) -> Result<Response, ApiError> {
    let body = crate::handlers::json_body(body)?;
    let error = |message: String| {
        (StatusCode::BAD_REQUEST, [("x-error-message", crate::error::header_safe(&message))], Json(json!({"errors": [{"message": message}], "warnings": []}))).into_response()
    };
    let yaml = match front_matter(&body.content) {
        Ok(y) => y,
        Err(m) => return Ok(error(m)),
    };
    let Some(yaml) = yaml.filter(|y| !y.trim().is_empty()) else {
        let warning = "empty or missing yaml metadata in repo card";
        return Ok(Json(json!({"errors": [], "warnings": [{"message": warning}]})).into_response());
    };
    match serde_yaml::from_str::<serde_yaml::Value>(yaml) {
        Ok(serde_yaml::Value::Mapping(_)) => Ok(Json(json!({"errors": [], "warnings": []})).into_response()),
        Ok(_) => Ok(error("The YAML metadata must be a mapping of keys to values".into())),
        Err(e) => Ok(error(format!("Invalid YAML metadata: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::front_matter;

    #[test]
    fn finds_the_metadata_block() {
        assert_eq!(front_matter("---\nlicense: mit\n---\n# Title\n"), Ok(Some("license: mit\n")));
        assert_eq!(front_matter("# No metadata\n"), Ok(None));
        assert!(front_matter("---\nlicense: mit\n# never closed\n").is_err());
    }
}
