//! Shared state handed to every handler: configuration, the store, blob storage, the cache of
//! immutable git objects and the signer of self-authorising URLs. No global statics, so each test
//! can build its own.

use crate::config::Config;
use crate::objects::ObjectCache;
use crate::signing::Signer;
use hangar_blobs::BlobStore;
use hangar_store::DynStore;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub mailer: Arc<crate::mail::Mailer>,
    pub throttle: Box<dyn crate::throttle::FailureCounter>,
    pub store: DynStore,
    pub blobs: Arc<dyn BlobStore>,
    pub objects: ObjectCache,
    pub signer: Signer,
    /// Xorb uploads hold it shared while they publish bytes and record them; garbage collection
    /// holds it exclusively while it removes bytes, so it never removes bytes being re-recorded.
    pub xet_gc_lock: tokio::sync::RwLock<()>,
    /// Xorbs (up to 64 MiB each) are verified in memory: this many at a time, so concurrent uploads
    /// wait (their bodies unread) instead of growing the server's memory with each request.
    pub xet_xorb_slots: tokio::sync::Semaphore,
    /// Hub rate limit counters and the cache of who each credential is (`ratelimit.rs`).
    pub rate_counter: Box<dyn crate::ratelimit::RateCounter>,
    pub rate_callers: crate::ratelimit::CallerCache,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Opens the database (running migrations) and blob storage named by `config`.
    pub async fn open(config: Config) -> anyhow::Result<AppState> {
        use anyhow::Context as _;
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
        let store = hangar_store::connect(&config.database_url)
            .await
            .with_context(|| format!("cannot open the database {}", crate::config::redact_url(&config.database_url)))?;
        let blobs = hangar_blobs::LocalBlobStore::open(config.data_dir.join("blobs"))
            .with_context(|| format!("cannot open blob storage under {}", config.data_dir.display()))?;
        let uploads = config.data_dir.join("uploads");
        std::fs::create_dir_all(&uploads)?;
        remove_expired_uploads(&uploads, std::time::Duration::from_secs(config.upload_url_ttl_secs));
        let secret = store.setting_or_init("url_signing_key", &crate::signing::new_key()).await?;
        let mailer = Arc::new(crate::mail::Mailer::new(&config)?);
        let throttle = Box::new(crate::throttle::MemoryCounter::new(config.auth_failure_limit, config.auth_failure_window_secs));
        Ok(AppState(Arc::new(App {
            mailer,
            throttle,
            config,
            store,
            blobs: Arc::new(blobs),
            objects: ObjectCache::default(),
            signer: Signer::new(&secret),
            xet_gc_lock: tokio::sync::RwLock::new(()),
            rate_counter: Box::new(crate::ratelimit::MemoryRateCounter::default()),
            rate_callers: crate::ratelimit::CallerCache::default(),
            xet_xorb_slots: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)),
        })))
    }

    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// Multipart uploads whose URLs have expired can never complete: their parts are deleted at start-up.
fn remove_expired_uploads(dir: &std::path::Path, ttl: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let expired = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age > ttl);
        if expired {
            if let Err(err) = std::fs::remove_dir_all(e.path()) {
                tracing::warn!(error = %err, "could not remove an expired upload");
            }
        }
    }
}
