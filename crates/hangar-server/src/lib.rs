//! Hangar's HTTP server as a library: [`build_router`] and [`serve`], so tests start it in-process
//! on port 0 and the binary only parses arguments.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod fine_grained;
pub mod handlers;
pub mod jobs;
pub mod mail;
pub mod ndjson;
pub mod objects;
pub mod ratelimit;
pub mod router;
pub mod scan;
pub mod signing;
pub mod state;
pub mod throttle;
pub mod tree_build;
pub mod web;
mod middleware;

pub use config::Config;
pub use state::AppState;

use axum::Router;
use std::future::Future;

/// The full application: routes plus middleware.
pub fn build_router(state: AppState) -> Router {
    let limited = router::routes().layer(axum::middleware::from_fn_with_state(state.clone(), ratelimit::limit));
    middleware::apply(limited).with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests. Background jobs run meanwhile.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    let jobs = jobs::spawn(state.clone());
    let gc = jobs::spawn_xet_gc(state.clone());
    let app = build_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Without TCP_NODELAY a response written in two parts (headers, then a small body) waits for the
    // client's delayed ACK: about 40 ms per request on a reused connection.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    jobs.abort();
    if let Some(gc) = gc {
        gc.abort();
    }
    served
}
