//! Form bodies and the errors shown next to their fields.

use super::WebError;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use maud::{html, Markup};

/// An `application/x-www-form-urlencoded` body, keeping repeated fields (checkboxes).
pub struct WebForm(pub Vec<(String, String)>);

impl WebForm {
    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

const MAX_FORM: usize = 256 * 1024;

impl FromRequest<AppState> for WebForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| WebError::Status(StatusCode::BAD_REQUEST, "The form could not be read.".into()))?;
        if bytes.len() > MAX_FORM {
            return Err(WebError::Status(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large.".into()));
        }
        Ok(WebForm(url::form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }
}

/// Errors of a submitted form: per field, or for the form as a whole (field "").
#[derive(Default, Debug)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0.push((field.to_owned(), msg.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn of(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// An API error as a form error: "email: already used" belongs to the field `email` when the
    /// form has one, other client errors to the whole form. Internal errors stay errors.
    pub fn from_api(e: ApiError, fields: &[&str]) -> Result<Errors, WebError> {
        if matches!(e, ApiError::Internal(_)) {
            return Err(WebError::Api(e));
        }
        let msg = e.public_message();
        let mut out = Errors::default();
        match msg.split_once(": ") {
            Some((f, rest)) if fields.contains(&f) => out.add(f, rest),
            _ => out.add("", msg),
        }
        Ok(out)
    }

    /// The summary at the top of a form.
    pub fn summary(&self) -> Markup {
        html! {
            @if !self.is_empty() {
                div.notice.error role="alert" {
                    @if let Some(general) = self.of("") { p { (general) } }
                    @else { p { "Please correct the fields marked below." } }
                }
            }
        }
    }
}

/// One labelled input with its error and hint.
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Input { name, label, kind: "text", value: "", required: true, hint: None, autocomplete: None }
    }
    pub fn kind(mut self, k: &'a str) -> Self {
        self.kind = k;
        self
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }
    pub fn autocomplete(mut self, a: &'a str) -> Self {
        self.autocomplete = Some(a);
        self
    }

    pub fn render(&self, errors: &Errors) -> Markup {
        let err = errors.of(self.name);
        let err_id = format!("{}-error", self.name);
        let hint_id = format!("{}-hint", self.name);
        let described = match (err.is_some(), self.hint.is_some()) {
            (true, true) => Some(format!("{err_id} {hint_id}")),
            (true, false) => Some(err_id.clone()),
            (false, true) => Some(hint_id.clone()),
            (false, false) => None,
        };
        html! {
            div.field.invalid[err.is_some()] {
                label for=(self.name) { (self.label) @if !self.required { span.optional { " (optional)" } } }
                input id=(self.name) name=(self.name) type=(self.kind) value=(self.value) required[self.required]
                    autocomplete=[self.autocomplete] aria-invalid=[err.map(|_| "true")] aria-describedby=[described];
                @if let Some(h) = self.hint { p.hint id=(hint_id) { (h) } }
                @if let Some(e) = err { p.field-error id=(err_id) { (e) } }
            }
        }
    }
}
