//! Hub rate limits, as on the Hugging Face Hub: three buckets (the Hub API, resolvers and pages),
//! fixed five-minute windows, limits by plan (anonymous callers per address). Every counted
//! response carries `RateLimit: "<bucket>";r=<remaining>;t=<seconds to reset>` and
//! `RateLimit-Policy: "fixed window";"<bucket>";q=<limit>;w=<window>`, the form the official client
//! parses; past the limit the answer is 429 with `Retry-After`, and the client waits until the
//! window ends, then retries.
//!
//! Counters sit behind [`RateCounter`], so several nodes can share them later; the one here is in
//! memory. Who is calling is read from the credential (token or session) through a small cache,
//! so the hot download path does not make another database round trip per request.

use crate::auth::{presented_token_hash, session_cookie};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Api,
    Resolvers,
    Pages,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Api => "api",
            Bucket::Resolvers => "resolvers",
            Bucket::Pages => "pages",
        }
    }

    /// The bucket a request counts in, or `None` for what is never limited: static files, health,
    /// the Xet CAS and LFS transfer URLs (their requests are paced by the upload or download the
    /// API already counted) and the OAuth device flow (its polling interval is set by the server).
    pub fn of(path: &str) -> Option<Bucket> {
        const EXEMPT: [&str; 5] = ["/static/", "/xet-cas/", "/lfs/", "/oauth/", "/api/health"];
        if EXEMPT.iter().any(|p| path.starts_with(p)) {
            None
        } else if path.contains("/resolve/") {
            Some(Bucket::Resolvers)
        } else if path.starts_with("/api/") || path.contains("/info/lfs/") {
            Some(Bucket::Api)
        } else {
            Some(Bucket::Pages)
        }
    }
}

/// Requests per window in each bucket: API, resolvers, pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub api: u64,
    pub resolvers: u64,
    pub pages: u64,
}

impl Tier {
    fn limit(&self, b: Bucket) -> u64 {
        match b {
            Bucket::Api => self.api,
            Bucket::Resolvers => self.resolvers,
            Bucket::Pages => self.pages,
        }
    }

    /// `api/resolvers/pages`, e.g. `1000/5000/200`.
    pub fn parse(s: &str) -> Option<Tier> {
        let mut it = s.split('/').map(|p| p.trim().parse::<u64>());
        let t = Tier { api: it.next()?.ok()?, resolvers: it.next()?.ok()?, pages: it.next()?.ok()? };
        it.next().is_none().then_some(t)
    }
}

/// The limits of each kind of caller. Defaults: the Hub's published table (per five minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub enabled: bool,
    pub window_secs: u64,
    pub anonymous: Tier,
    pub free: Tier,
    pub pro: Tier,
    pub enterprise: Tier,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            enabled: true,
            window_secs: 300,
            anonymous: Tier { api: 500, resolvers: 3_000, pages: 100 },
            free: Tier { api: 1_000, resolvers: 5_000, pages: 200 },
            pro: Tier { api: 2_500, resolvers: 12_000, pages: 400 },
            enterprise: Tier { api: 6_000, resolvers: 50_000, pages: 600 },
        }
    }
}

/// Counts requests per bucket, caller and window. Implementations must be atomic per key.
pub trait RateCounter: Send + Sync {
    /// Adds one request and returns how many the key has made in this window, this one included.
    fn hit(&self, bucket: Bucket, key: &str, window: i64) -> u64;
}

/// Counters in this process's memory.
#[derive(Default)]
pub struct MemoryRateCounter {
    counts: Mutex<HashMap<(Bucket, String), (i64, u64)>>,
}

impl RateCounter for MemoryRateCounter {
    fn hit(&self, bucket: Bucket, key: &str, window: i64) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (w, _)| *w == window);
        }
        let entry = counts.entry((bucket, key.to_owned())).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

/// Who a credential is, for counting: an account key and its tier, cached for a minute.
#[derive(Default)]
pub struct CallerCache {
    entries: Mutex<HashMap<String, (Instant, Option<(String, Tier)>)>>,
}

const CACHE_TTL: Duration = Duration::from_secs(60);

impl CallerCache {
    fn get(&self, credential: &str) -> Option<Option<(String, Tier)>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(credential).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, v)| v.clone())
    }

    fn put(&self, credential: String, value: Option<(String, Tier)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 50_000 {
            entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(credential, (Instant::now(), value));
    }
}

/// The account behind a token or session and the best tier it has (its plan, or an enterprise
/// organization it belongs to). `None` when the credential is not valid: such requests are
/// counted by address, like anonymous ones.
async fn account(state: &AppState, token_hash: Option<String>, session_hash: Option<String>) -> Option<(String, Tier)> {
    let credential = token_hash.clone().or(session_hash.clone())?;
    if let Some(hit) = state.rate_callers.get(&credential) {
        return hit;
    }
    let user = match (token_hash, session_hash) {
        (Some(t), _) => state.store.token_by_hash(&t).await.ok().flatten().map(|(_, u)| u),
        (None, Some(s)) => state.store.session_by_hash(&s, state.now_ms()).await.ok().flatten().map(|(_, u)| u),
        (None, None) => None,
    };
    let value = match user {
        None => None,
        Some(u) => {
            let limits = &state.config.rate_limits;
            let pro = state.store.user_plan(u.id).await.ok().flatten().as_deref() == Some("pro");
            let enterprise = state.store.user_orgs(u.id).await.map(|orgs| orgs.iter().any(|(o, _)| o.plan == "enterprise")).unwrap_or(false);
            let tier = if enterprise {
                limits.enterprise
            } else if pro {
                limits.pro
            } else {
                limits.free
            };
            Some((format!("u{}", u.id), tier))
        }
    };
    state.rate_callers.put(credential, value.clone());
    value
}

/// The middleware: counts the request, refuses it past the limit, and adds the headers.
pub async fn limit(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let limits = state.config.rate_limits;
    let Some(bucket) = Bucket::of(req.uri().path()).filter(|_| limits.enabled) else {
        return next.run(req).await;
    };
    // A malformed token is the handler's to refuse (401); count it by address meanwhile.
    let token = presented_token_hash(req.headers()).ok().flatten();
    let session = if token.is_none() { session_cookie(req.headers()).map(|c| hangar_core::token::hash_token(&c)) } else { None };
    let (key, tier) = match account(&state, token, session).await {
        Some(found) => found,
        None => {
            let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default();
            (format!("ip{ip}"), limits.anonymous)
        }
    };
    let window_ms = limits.window_secs.max(1) as i64 * 1000;
    let now = state.now_ms();
    let window = now.div_euclid(window_ms);
    let reset = ((window + 1) * window_ms - now + 999) / 1000;
    let limit = tier.limit(bucket);
    let count = state.rate_counter.hit(bucket, &key, window);
    let remaining = limit.saturating_sub(count);
    let mut resp = if count > limit {
        let message = format!(
            "You have exceeded the rate limit for {} requests ({limit} per {} seconds). Retry after {reset} seconds.",
            bucket.as_str(),
            limits.window_secs
        );
        crate::error::ApiError::TooManyRequests { retry_after: reset as u64, message }.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\";r={remaining};t={reset}", bucket.as_str())) {
        h.insert("ratelimit", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"fixed window\";\"{}\";q={limit};w={}", bucket.as_str(), limits.window_secs)) {
        h.insert("ratelimit-policy", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_in_the_hubs_buckets() {
        assert_eq!(Bucket::of("/api/models"), Some(Bucket::Api));
        assert_eq!(Bucket::of("/alice/m.git/info/lfs/objects/batch"), Some(Bucket::Api));
        assert_eq!(Bucket::of("/alice/m/resolve/main/config.json"), Some(Bucket::Resolvers));
        assert_eq!(Bucket::of("/datasets/alice/d/resolve/main/x"), Some(Bucket::Resolvers));
        assert_eq!(Bucket::of("/alice/m"), Some(Bucket::Pages));
        assert_eq!(Bucket::of("/settings/tokens"), Some(Bucket::Pages));
        for exempt in ["/static/hangar.css", "/xet-cas/v1/shards", "/lfs/upload/1/a/2", "/oauth/device", "/api/health"] {
            assert_eq!(Bucket::of(exempt), None, "{exempt}");
        }
    }

    #[test]
    fn counters_reset_with_each_window_and_keep_keys_apart() {
        let c = MemoryRateCounter::default();
        assert_eq!(c.hit(Bucket::Api, "u1", 7), 1);
        assert_eq!(c.hit(Bucket::Api, "u1", 7), 2);
        assert_eq!(c.hit(Bucket::Pages, "u1", 7), 1, "buckets are separate");
        assert_eq!(c.hit(Bucket::Api, "u2", 7), 1, "callers are separate");
        assert_eq!(c.hit(Bucket::Api, "u1", 8), 1, "a new window starts from zero");
    }

    #[test]
    fn tiers_parse_as_api_resolvers_pages() {
        assert_eq!(Tier::parse("1000/5000/200"), Some(Tier { api: 1000, resolvers: 5000, pages: 200 }));
        assert_eq!(Tier::parse("1/2"), None);
        assert_eq!(Tier::parse("1/2/3/4"), None);
        assert_eq!(Tier::parse("a/2/3"), None);
    }
}
