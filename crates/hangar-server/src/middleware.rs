//! Middleware assembled in one place: request ids, one tracing span per request with the matched
//! route, panic catching and the JSON 404 for unknown routes.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone, Copy)]
struct RandomId;

impl MakeRequestId for RandomId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        use rand::RngCore;
        let mut b = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut b);
        Some(RequestId::new(hex::encode(b).parse().expect("hex is a valid header")))
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("No such endpoint: {}", uri.path()))
}

pub fn apply(routes: Router<AppState>) -> Router<AppState> {
    // The span records the route template, never the raw URI: query strings carry upload signatures.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
        let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        tracing::info_span!("request", method = %req.method(), route, request_id = id)
    });
    routes
        .fallback(not_found)
        .layer(CatchPanicLayer::new())
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomId))
}
