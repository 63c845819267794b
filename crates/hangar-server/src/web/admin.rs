//! (being written)
use super::{Ctx, WebResult, not_found};
pub async fn users_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn users_action(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn tokens_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn tokens_action(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn audit_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
