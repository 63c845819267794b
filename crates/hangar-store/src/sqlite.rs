//! The embedded default backend: one SQLite file in WAL mode.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
    fast: Option<crate::fast_reads::FastReads>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, crate::StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged commit survives power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // An in-memory database has no file that other connections could open.
        let file = opts.get_filename().to_owned();
        let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        let fast = (!in_memory).then(|| crate::fast_reads::FastReads::new(file));
        Ok(SqliteStore { pool, fast })
    }

    fn fast_reads(&self) -> Option<&crate::fast_reads::FastReads> {
        self.fast.as_ref()
    }

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }
}

crate::sql::impl_store!(SqliteStore, sqlx::Sqlite, "sqlite");
