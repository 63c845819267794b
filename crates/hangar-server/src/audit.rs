//! The audit log: who did what to tokens, logins, organizations and access requests. Details
//! never hold a secret; failing to write an event is logged, never fails the request.

use crate::state::AppState;
use hangar_store::NewAuditEvent;
use serde_json::Value;
use std::net::IpAddr;

/// Where an event belongs and who caused it.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub actor: String,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub ip: Option<IpAddr>,
}

impl Event {
    pub fn user(actor: &str, user_id: i64, ip: Option<IpAddr>) -> Event {
        Event { actor: actor.to_owned(), user_id: Some(user_id), org_id: None, ip }
    }
    pub fn org(actor: &str, org_id: i64, ip: Option<IpAddr>) -> Event {
        Event { actor: actor.to_owned(), user_id: None, org_id: Some(org_id), ip }
    }
}

pub async fn record(state: &AppState, who: Event, event: &str, detail: Value) {
    let e = NewAuditEvent {
        at: state.now_ms(),
        user_id: who.user_id,
        org_id: who.org_id,
        actor: who.actor,
        event: event.to_owned(),
        detail: detail.to_string(),
        ip: who.ip.filter(|ip| !ip.is_unspecified()).map(|ip| ip.to_string()),
    };
    if let Err(err) = state.store.add_audit(e).await {
        tracing::error!(error = %err, event, "could not write an audit event");
    }
}
