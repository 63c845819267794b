//! The multi-node backend: PostgreSQL.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, crate::StoreError> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// PostgreSQL reads go through the pool: its round trips are network-bound, not thread hops.
    fn fast_reads(&self) -> Option<&crate::fast_reads::FastReads> {
        None
    }

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/postgres")
    }
}

crate::sql::impl_store!(PostgresStore, sqlx::Postgres, "postgres");
