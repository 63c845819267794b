//! (being written)
use super::{Ctx, WebResult, not_found};
pub async fn my_orgs_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn answer_invitation(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn new_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn create(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn members_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn members_action(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn tokens_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn tokens_action(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn new_token_page(_ctx: Ctx) -> WebResult { Err(not_found()) }
pub async fn create_token(_ctx: Ctx) -> WebResult { Err(not_found()) }
