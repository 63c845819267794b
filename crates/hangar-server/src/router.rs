//! Every route Hangar serves, grouped by who calls it.

use crate::handlers::{account, commit, gated, health, leaks, lfs, listing, orgs, refs, repos, resolve, tokens, validate, whoami, xet};
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

pub fn routes() -> Router<AppState> {
    // Hub API, as the official clients (huggingface_hub, hf-hub, hub.js) call it.
    let hub_api = Router::new()
        .route("/api/health", get(health::health))
        .route("/api/whoami-v2", get(whoami::whoami))
        .route("/api/validate-yaml", post(validate::validate_yaml))
        .route("/api/repos/create", post(repos::create_repo))
        .route("/api/repos/delete", axum::routing::delete(repos::delete_repo))
        .route("/api/repos/move", post(repos::move_repo))
        .route("/api/{kind}", get(repos::list_repos))
        .route("/api/{kind}/{namespace}/{name}", get(repos::repo_info))
        .route("/api/{kind}/{namespace}/{name}/revision/{rev}", get(repos::repo_info_revision))
        .route("/api/{kind}/{namespace}/{name}/settings", put(repos::update_settings))
        .route("/api/{kind}/{namespace}/{name}/auth-check", get(repos::auth_check))
        .route("/api/{kind}/{namespace}/{name}/auth-check/write", get(repos::auth_check_write))
        .route("/api/{kind}/{namespace}/{name}/tree/{rev}", get(listing::tree))
        .route("/api/{kind}/{namespace}/{name}/tree/{rev}/{*path}", get(listing::tree))
        .route("/api/{kind}/{namespace}/{name}/paths-info/{rev}", post(listing::paths_info))
        .route("/api/{kind}/{namespace}/{name}/refs", get(refs::list_refs))
        .route("/api/{kind}/{namespace}/{name}/commits/{rev}", get(refs::list_commits))
        .route("/api/{kind}/{namespace}/{name}/branch/{rev}", post(refs::create_branch).delete(refs::delete_branch))
        .route("/api/{kind}/{namespace}/{name}/tag/{rev}", post(refs::create_tag).delete(refs::delete_tag))
        .route("/api/{kind}/{namespace}/{name}/preupload/{rev}", post(commit::preupload))
        .route("/api/{kind}/{namespace}/{name}/commit/{rev}", post(commit::commit))
        .route("/api/{kind}/{namespace}/{name}/discussions", post(repos::create_discussion))
        .route("/api/{kind}/{namespace}/{name}/discussions/{num}", get(repos::get_discussion))
        .route("/api/{kind}/{namespace}/{name}/user-access-request/handle", post(gated::handle_request))
        .route("/api/{kind}/{namespace}/{name}/user-access-request/grant", post(gated::grant_access))
        .route("/api/{kind}/{namespace}/{name}/user-access-request/{status}", get(gated::list_requests))
        .route("/api/credentials/revoke", post(leaks::revoke_credentials))
        .route("/api/{kind}/{namespace}/{name}/xet-read-token/{rev}", get(xet::read_token))
        .route("/api/{kind}/{namespace}/{name}/xet-write-token/{rev}", get(xet::write_token));

    // Accounts, tokens, organizations and the audit log (Hangar's own API; see docs/ACCESS.md).
    let access = Router::new()
        .route("/api/signup", post(account::signup))
        .route("/api/login", post(account::login))
        .route("/api/logout", post(account::logout))
        .route("/api/account", get(account::get_account))
        .route("/api/account/resend-verification", post(account::resend_verification))
        .route("/api/account/email", post(account::change_email))
        .route("/api/password/forgot", post(account::forgot_password))
        .route("/api/password/reset", post(account::reset_password))
        .route("/api/settings/tokens", get(tokens::list_tokens).post(tokens::create_user_token))
        .route("/api/settings/tokens/{id}", axum::routing::patch(tokens::rename_user_token).delete(tokens::revoke_user_token))
        .route("/api/settings/tokens/{id}/refresh", post(tokens::refresh_user_token))
        .route("/api/settings/audit-log", get(orgs::user_audit_log))
        .route("/api/organizations/new", post(orgs::create_org))
        .route("/api/organizations/{org}/overview", get(orgs::overview))
        .route("/api/organizations/{org}/members", get(orgs::list_members))
        .route("/api/organizations/{org}/members/{user}", put(orgs::set_member).delete(orgs::remove_member))
        .route("/api/organizations/{org}/settings/token-policy", get(orgs::get_token_policy).put(orgs::set_token_policy))
        .route("/api/organizations/{org}/settings/token-approvals", get(orgs::list_approvals))
        .route("/api/organizations/{org}/settings/token-approvals/{token_id}", post(orgs::decide_approval))
        .route("/api/organizations/{org}/settings/tokens", get(tokens::list_org_tokens).post(tokens::create_org_token))
        .route("/api/organizations/{org}/settings/tokens/{id}", axum::routing::patch(tokens::rename_org_token).delete(tokens::revoke_org_token))
        .route("/api/organizations/{org}/settings/tokens/{id}/refresh", post(tokens::refresh_org_token))
        .route("/api/organizations/{org}/audit-log", get(orgs::org_audit_log));

    // File downloads and the git-lfs batch endpoint, on the repo's own URL.
    let repo_urls = Router::new()
        .route("/{namespace}/{name}/resolve/{rev}/{*path}", get(resolve::resolve_model))
        .route("/datasets/{namespace}/{name}/resolve/{rev}/{*path}", get(resolve::resolve_dataset))
        .route("/spaces/{namespace}/{name}/resolve/{rev}/{*path}", get(resolve::resolve_space))
        .route("/{namespace}/{name}/ask-access", post(gated::ask_model))
        .route("/datasets/{namespace}/{name}/ask-access", post(gated::ask_dataset))
        .route("/spaces/{namespace}/{name}/ask-access", post(gated::ask_space))
        .route("/{namespace}/{name_git}/info/lfs/objects/batch", post(lfs::batch_model))
        .route("/datasets/{namespace}/{name_git}/info/lfs/objects/batch", post(lfs::batch_dataset))
        .route("/spaces/{namespace}/{name_git}/info/lfs/objects/batch", post(lfs::batch_space));

    // Self-authorising LFS transfer URLs handed out by the batch endpoint (no Hub token).
    let transfers = Router::new()
        .route("/lfs/upload/{repo_id}/{oid}/{size}", put(lfs::upload_basic))
        .route("/lfs/part/{repo_id}/{oid}/{size}/{upload_id}/{n}", put(lfs::upload_part))
        .route("/lfs/complete/{repo_id}/{oid}/{size}/{upload_id}", post(lfs::complete_multipart))
        .route("/lfs/verify/{repo_id}/{oid}/{size}", post(lfs::verify));

    // The Xet CAS server the `hf_xet` client talks to, with a Xet token (fetch URLs are signed).
    let cas = Router::new()
        .route("/v1/xorbs/{prefix}/{hash}", post(xet::post_xorb))
        .route("/v1/shards", post(xet::post_shard))
        .route("/v1/chunks/{prefix}/{hash}", get(xet::get_chunk))
        .route("/v1/reconstructions/{hash}", get(xet::reconstruction_v1))
        .route("/v2/reconstructions/{hash}", get(xet::reconstruction_v2))
        .route("/v2/file-chunk-hashes/{hash}", get(xet::file_chunk_hashes))
        .route("/v1/fetch/{hash}", get(xet::fetch))
        .route("/v1/telemetry", post(xet::telemetry))
        .layer(DefaultBodyLimit::max(xet::MAX_XORB_BYTES));

    hub_api
        .merge(access)
        .merge(crate::web::routes())
        .merge(repo_urls)
        .merge(transfers)
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        .nest(xet::CAS_PREFIX, cas)
}
