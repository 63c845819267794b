//! (being written)
use super::{Ctx, WebResult, not_found};
pub async fn home(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn new_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn create(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn namespace_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub fn routes() -> axum::Router<crate::state::AppState> { axum::Router::new() }
