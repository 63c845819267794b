//! Direct SQLite reads for the queries every request makes (token, repo, ref, git objects).
//!
//! Through sqlx each SQLite query hops to a worker thread and back, which costs tens of
//! microseconds; a download's metadata request makes three. These reads instead run on the calling
//! thread against a small pool of read-only connections, with cached prepared statements: a few
//! microseconds each for rows in the page cache. WAL mode means they never wait for writers. They run
//! the same SQL as the sqlx path (`sql.rs`), and the conformance suite checks them on SQLite.

use crate::sql::{self, GET_BLOB_SQL, GET_OBJECT_SQL, GET_REF_SQL, HAS_COMMIT_SQL};
use crate::{BlobRecord, DownloadContext, GitObject, Repo, StoreError, StoreResult, TokenRecord, User};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

const MAX_IDLE: usize = 16;

pub struct FastReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

fn token_from(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        last4: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        expires_at: r.get(7)?,
        revoked_at: r.get(8)?,
        org_id: r.get(9)?,
        fine_grained: r.get(10)?,
    })
}

fn token_query(c: &Connection, hash: &str) -> rusqlite::Result<Option<(TokenRecord, User)>> {
    let i = sql::TOKEN_NCOLS;
    c.prepare_cached(&sql::token_by_hash_sql())?
        .query_row(params![hash], |r| {
            let token = token_from(r)?;
            let user = User {
                id: r.get(i)?,
                name: r.get(i + 1)?,
                fullname: r.get(i + 2)?,
                email: r.get(i + 3)?,
                email_verified: r.get::<_, i64>(i + 4)? != 0,
                pending_email: r.get(i + 5)?,
                password_hash: r.get(i + 6)?,
                site_admin: r.get::<_, i64>(i + 7)? != 0,
                created_at: r.get(i + 8)?,
                disabled_at: r.get(i + 9)?,
            };
            Ok((token, user))
        })
        .optional()
}

fn repo_from(r: &Row<'_>) -> rusqlite::Result<Repo> {
    Ok(Repo {
        id: r.get(0)?,
        repo_type: r.get(1)?,
        namespace: r.get(2)?,
        name: r.get(3)?,
        private: r.get::<_, i64>(4)? != 0,
        gated: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        created_by: r.get(8)?,
    })
}

impl FastReads {
    /// `path` is the database file the sqlx pool already created and migrated.
    pub fn new(path: PathBuf) -> Self {
        FastReads { path, idle: Mutex::new(Vec::new()) }
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let conn = self.idle.lock().expect("pool lock").pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
                c.busy_timeout(Duration::from_secs(10))?;
                c.set_prepared_statement_cache_capacity(32);
                c
            }
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        Ok(out?)
    }

    /// Token, repository and ref in one read transaction: SQLite takes its file locks once, not
    /// once per query.
    pub fn download_context(&self, token_hash: Option<&str>, repo_type: &str, namespace: &str, name: &str, refs: &[String]) -> StoreResult<DownloadContext> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let token = match token_hash {
                Some(h) => token_query(c, h)?,
                None => None,
            };
            let repo = c.prepare_cached(&sql::repo_by_name_sql())?.query_row(params![repo_type, namespace, name], repo_from).optional()?;
            let mut found_ref = None;
            if let Some(r) = &repo {
                let mut stmt = c.prepare_cached(GET_REF_SQL)?;
                for n in refs {
                    if let Some(target) = stmt.query_row(params![r.id, n], |row| row.get::<_, String>(0)).optional()? {
                        found_ref = Some((n.clone(), target));
                        break;
                    }
                }
            }
            tx.finish()?;
            Ok(DownloadContext { token, repo, found_ref })
        })
    }

    pub fn token_by_hash(&self, hash: &str) -> StoreResult<Option<(TokenRecord, User)>> {
        self.with(|c| token_query(c, hash))
    }

    pub fn repo_by_name(&self, repo_type: &str, namespace: &str, name: &str) -> StoreResult<Option<Repo>> {
        let q = sql::repo_by_name_sql();
        self.with(|c| c.prepare_cached(&q)?.query_row(params![repo_type, namespace, name], repo_from).optional())
    }

    pub fn get_ref(&self, repo_id: i64, name: &str) -> StoreResult<Option<String>> {
        self.with(|c| c.prepare_cached(GET_REF_SQL)?.query_row(params![repo_id, name], |r| r.get(0)).optional())
    }

    pub fn repo_has_commit(&self, repo_id: i64, oid: &str) -> StoreResult<bool> {
        self.with(|c| Ok(c.prepare_cached(HAS_COMMIT_SQL)?.query_row(params![repo_id, oid], |_| Ok(())).optional()?.is_some()))
    }

    pub fn get_object(&self, oid: &str) -> StoreResult<Option<GitObject>> {
        self.with(|c| c.prepare_cached(GET_OBJECT_SQL)?.query_row(params![oid], |r| Ok(GitObject { kind: r.get(0)?, data: r.get(1)? })).optional())
    }

    pub fn get_blob(&self, oid: &str) -> StoreResult<Option<BlobRecord>> {
        self.with(|c| {
            c.prepare_cached(GET_BLOB_SQL)?
                .query_row(params![oid], |r| Ok(BlobRecord { oid: r.get(0)?, size: r.get(1)?, sha256: r.get(2)?, lfs: r.get::<_, i64>(3)? != 0 }))
                .optional()
        })
    }
}
