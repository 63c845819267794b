//! Background work of `hangar serve`: mailing token owners three days before a token expires, and
//! recording expiries in the audit log. Each pass is idempotent (marks what it handled), so several
//! nodes may run it.

use crate::audit::{self, Event};
use crate::handlers::iso;
use crate::mail::Mail;
use crate::state::AppState;
use hangar_core::token::mask;
use std::time::Duration;

const WARN_BEFORE_MS: i64 = 3 * 24 * 3600 * 1000;

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(state.config.expiry_check_interval_secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&state).await {
                tracing::warn!(error = %format!("{e:#}"), "token expiry job failed; retrying at the next tick");
            }
        }
    })
}

/// Collects unreferenced Xet data every `xet_gc_interval_secs` (see `handlers::xet::collect_garbage`).
pub fn spawn_xet_gc(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let every = state.config.xet_gc_interval_secs;
    if every == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = crate::handlers::xet::collect_garbage(&state, state.config.xet_gc_grace_secs).await {
                tracing::warn!(error = %format!("{e:#}"), "Xet garbage collection failed; retrying at the next tick");
            }
        }
    }))
}

pub async fn run_once(state: &AppState) -> anyhow::Result<()> {
    let now = state.now_ms();
    for t in state.store.tokens_to_warn(now, now + WARN_BEFORE_MS).await? {
        state.store.mark_expiry_warned(t.id, now).await?;
        let Some(owner) = state.store.user_by_id(t.user_id).await? else { continue };
        let when = t.expires_at.map(iso).unwrap_or_default();
        let body = format!(
            "Hello {},\n\nYour Hangar access token '{}' ({}) expires on {when}. After that, requests with it fail.\n\n\
             To keep using it, refresh it in your settings (you get a new secret with the same permissions) or create a new token.\n",
            owner.name,
            t.name,
            mask(&t.last4)
        );
        state.mailer.send(Mail { to: owner.email, subject: format!("Your Hangar token '{}' expires soon", t.name), body, links: vec![] });
    }
    for t in state.store.take_newly_expired(now).await? {
        audit::record(state, Event { actor: "system".into(), user_id: Some(t.user_id), org_id: t.org_id, ip: None }, "token.expire", serde_json::json!({"tokenId": t.id, "name": t.name})).await;
    }
    Ok(())
}
