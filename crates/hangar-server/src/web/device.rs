//! (being written)
use super::{Ctx, WebResult, not_found};
pub async fn page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn decide(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn device_authorization(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn token(_ctx: Ctx) -> WebResult { Err(not_found()) }
