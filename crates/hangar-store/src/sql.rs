//! The SQL shared by both backends. `impl_store!` expands the same queries for each sqlx driver, so
//! the two engines cannot drift apart; dialect differences live in each backend's migrations.

use crate::StoreError;

/// Maps a unique violation to `Conflict(what)`; everything else stays a database error.
pub(crate) fn conflict(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

pub(crate) const USER_COLS: &str = "id, name, email, email_verified, password_hash, site_admin, created_at";
pub(crate) const TOKEN_COLS: &str =
    "t.id, t.user_id, t.name, t.role, t.last4, t.created_at, t.last_used_at, t.expires_at, t.revoked_at";
/// The same columns for `RETURNING`, where SQLite does not accept table qualifiers.
pub(crate) const TOKEN_COLS_BARE: &str = "id, user_id, name, role, last4, created_at, last_used_at, expires_at, revoked_at";
pub(crate) const REPO_COLS: &str = "id, repo_type, namespace, name, private, gated, created_at, updated_at";

pub(crate) fn token_by_hash_sql() -> String {
    format!(
        "SELECT {TOKEN_COLS}, u.id AS id, u.name AS name, u.email AS email, u.email_verified AS email_verified, \
         u.password_hash AS password_hash, u.site_admin AS site_admin, u.created_at AS created_at \
         FROM tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
    )
}

pub(crate) fn repo_by_name_sql() -> String {
    format!("SELECT {REPO_COLS} FROM repos WHERE repo_type = $1 AND lower(namespace) = lower($2) AND lower(name) = lower($3)")
}

pub(crate) const GET_REF_SQL: &str = "SELECT target FROM refs WHERE repo_id = $1 AND name = $2";
pub(crate) const HAS_COMMIT_SQL: &str = "SELECT 1 FROM repo_commits WHERE repo_id = $1 AND oid = $2";
pub(crate) const GET_OBJECT_SQL: &str = "SELECT kind, data FROM git_objects WHERE oid = $1";
pub(crate) const GET_BLOB_SQL: &str = "SELECT oid, size, sha256, lfs FROM blobs WHERE oid = $1";

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal) => {
        use sqlx::Row as _;
        use $crate::sql::{conflict, REPO_COLS, TOKEN_COLS, TOKEN_COLS_BARE, USER_COLS};
        use $crate::*;

        type DbRow = <$db as sqlx::Database>::Row;

        fn user_from(r: &DbRow) -> Result<User, sqlx::Error> {
            Ok(User {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                email_verified: r.try_get::<i64, _>("email_verified")? != 0,
                password_hash: r.try_get("password_hash")?,
                site_admin: r.try_get::<i64, _>("site_admin")? != 0,
                created_at: r.try_get("created_at")?,
            })
        }

        fn token_from(r: &DbRow) -> Result<TokenRecord, sqlx::Error> {
            Ok(TokenRecord {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                name: r.try_get(2)?,
                role: r.try_get(3)?,
                last4: r.try_get(4)?,
                created_at: r.try_get(5)?,
                last_used_at: r.try_get(6)?,
                expires_at: r.try_get(7)?,
                revoked_at: r.try_get(8)?,
            })
        }

        fn repo_from(r: &DbRow) -> Result<Repo, sqlx::Error> {
            Ok(Repo {
                id: r.try_get("id")?,
                repo_type: r.try_get("repo_type")?,
                namespace: r.try_get("namespace")?,
                name: r.try_get("name")?,
                private: r.try_get::<i64, _>("private")? != 0,
                gated: r.try_get("gated")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        fn discussion_from(r: &DbRow) -> Result<Discussion, sqlx::Error> {
            Ok(Discussion {
                repo_id: r.try_get("repo_id")?,
                num: r.try_get("num")?,
                title: r.try_get("title")?,
                description: r.try_get("description")?,
                author: r.try_get("author")?,
                is_pull_request: r.try_get::<i64, _>("is_pull_request")? != 0,
                status: r.try_get("status")?,
                created_at: r.try_get("created_at")?,
            })
        }

        async fn write_commit(
            tx: &mut sqlx::Transaction<'_, $db>,
            w: &CommitWrite,
        ) -> StoreResult<()> {
            // Content-addressed rows first: they may exist already, and writing first takes the
            // write lock up front (SQLite) before the ref is compared and swapped.
            for (oid, kind, data) in &w.objects {
                sqlx::query("INSERT INTO git_objects (oid, kind, data) VALUES ($1, $2, $3) ON CONFLICT (oid) DO NOTHING")
                    .bind(oid)
                    .bind(kind)
                    .bind(data)
                    .execute(&mut **tx)
                    .await?;
            }
            for b in &w.blobs {
                sqlx::query("INSERT INTO blobs (oid, size, sha256, lfs) VALUES ($1, $2, $3, $4) ON CONFLICT (oid) DO NOTHING")
                    .bind(&b.oid)
                    .bind(b.size)
                    .bind(&b.sha256)
                    .bind(b.lfs as i64)
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query("INSERT INTO repo_commits (repo_id, oid) VALUES ($1, $2) ON CONFLICT (repo_id, oid) DO NOTHING")
                .bind(w.repo_id)
                .bind(&w.commit_oid)
                .execute(&mut **tx)
                .await?;
            let moved = match &w.expected {
                Some(old) => sqlx::query("UPDATE refs SET target = $1 WHERE repo_id = $2 AND name = $3 AND target = $4")
                    .bind(&w.commit_oid)
                    .bind(w.repo_id)
                    .bind(&w.ref_name)
                    .bind(old)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
                None => sqlx::query("INSERT INTO refs (repo_id, name, target) VALUES ($1, $2, $3) ON CONFLICT (repo_id, name) DO NOTHING")
                    .bind(w.repo_id)
                    .bind(&w.ref_name)
                    .bind(&w.commit_oid)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            };
            if moved != 1 {
                return Err(StoreError::StaleRef);
            }
            sqlx::query("UPDATE repos SET updated_at = $1 WHERE id = $2")
                .bind(w.now)
                .bind(w.repo_id)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn migrate(&self) -> StoreResult<()> {
                Self::migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn create_user(&self, u: NewUser) -> StoreResult<User> {
                let q = format!(
                    "INSERT INTO users (name, email, email_verified, password_hash, site_admin, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLS}"
                );
                let row = sqlx::query(&q)
                    .bind(&u.name)
                    .bind(&u.email)
                    .bind(u.email_verified as i64)
                    .bind(&u.password_hash)
                    .bind(u.site_admin as i64)
                    .bind(u.created_at)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(conflict("users"))?;
                Ok(user_from(&row)?)
            }

            async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
                let q = format!("SELECT {USER_COLS} FROM users WHERE lower(name) = lower($1)");
                let row = sqlx::query(&q).bind(name).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(user_from).transpose()?)
            }

            async fn create_token(&self, t: NewToken) -> StoreResult<TokenRecord> {
                let q = format!(
                    "INSERT INTO tokens (user_id, name, role, token_hash, last4, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLS_BARE}"
                );
                let row = sqlx::query(&q)
                    .bind(t.user_id)
                    .bind(&t.name)
                    .bind(&t.role)
                    .bind(&t.token_hash)
                    .bind(&t.last4)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(conflict("tokens"))?;
                Ok(token_from(&row)?)
            }

            async fn download_context(&self, token_hash: Option<&str>, now: i64, repo_type: &str, namespace: &str, name: &str, refs: &[String]) -> StoreResult<DownloadContext> {
                if let Some(r) = self.fast_reads() {
                    return r.download_context(token_hash, now, repo_type, namespace, name, refs);
                }
                $crate::download_context_by_parts(self, token_hash, now, repo_type, namespace, name, refs).await
            }

            async fn token_by_hash(&self, hash: &str, now: i64) -> StoreResult<Option<(TokenRecord, User)>> {
                if let Some(r) = self.fast_reads() { return r.token_by_hash(hash, now); }
                let q = $crate::sql::token_by_hash_sql();
                let row = sqlx::query(&q).bind(hash).bind(now).fetch_optional(&self.pool).await?;
                match row {
                    None => Ok(None),
                    Some(r) => {
                        let token = token_from(&r)?;
                        let user = User {
                            id: r.try_get(9)?,
                            name: r.try_get(10)?,
                            email: r.try_get(11)?,
                            email_verified: r.try_get::<i64, _>(12)? != 0,
                            password_hash: r.try_get(13)?,
                            site_admin: r.try_get::<i64, _>(14)? != 0,
                            created_at: r.try_get(15)?,
                        };
                        Ok(Some((token, user)))
                    }
                }
            }

            async fn touch_token(&self, id: i64, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<TokenRecord>> {
                let q = format!("SELECT {TOKEN_COLS} FROM tokens t WHERE t.user_id = $1 ORDER BY t.id");
                let rows = sqlx::query(&q).bind(user_id).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(token_from).collect::<Result<_, _>>()?)
            }

            async fn revoke_token(&self, user_id: i64, name: &str, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND name = $3 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .bind(name)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_repo(&self, r: NewRepo, mut initial: CommitWrite) -> StoreResult<Repo> {
                let mut tx = self.pool.begin().await?;
                let q = format!(
                    "INSERT INTO repos (repo_type, namespace, name, private, gated, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, NULL, $5, $5) RETURNING {REPO_COLS}"
                );
                let row = sqlx::query(&q)
                    .bind(&r.repo_type)
                    .bind(&r.namespace)
                    .bind(&r.name)
                    .bind(r.private as i64)
                    .bind(r.created_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(conflict("repos"))?;
                let repo = repo_from(&row)?;
                initial.repo_id = repo.id;
                initial.expected = None;
                write_commit(&mut tx, &initial).await?;
                tx.commit().await?;
                Ok(repo)
            }

            async fn repo_by_name(&self, repo_type: &str, namespace: &str, name: &str) -> StoreResult<Option<Repo>> {
                if let Some(r) = self.fast_reads() { return r.repo_by_name(repo_type, namespace, name); }
                let q = $crate::sql::repo_by_name_sql();
                let row = sqlx::query(&q)
                    .bind(repo_type)
                    .bind(namespace)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(repo_from).transpose()?)
            }

            async fn delete_repo(&self, id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM repos WHERE id = $1").bind(id).execute(&self.pool).await?;
                Ok(())
            }

            async fn move_repo(&self, id: i64, namespace: &str, name: &str, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE repos SET namespace = $1, name = $2, updated_at = $3 WHERE id = $4")
                    .bind(namespace)
                    .bind(name)
                    .bind(now)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(conflict("repos"))?;
                Ok(())
            }

            async fn update_repo_settings(
                &self,
                id: i64,
                private: Option<bool>,
                gated: Option<Option<String>>,
                now: i64,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                if let Some(p) = private {
                    sqlx::query("UPDATE repos SET private = $1, updated_at = $2 WHERE id = $3")
                        .bind(p as i64)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(g) = gated {
                    sqlx::query("UPDATE repos SET gated = $1, updated_at = $2 WHERE id = $3")
                        .bind(g)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_repos(&self, f: &RepoQuery) -> StoreResult<Vec<Repo>> {
                let search = f.search.as_ref().map(|s| {
                    let escaped = s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    format!("%{escaped}%")
                });
                let q = format!(
                    "SELECT {REPO_COLS} FROM repos WHERE repo_type = $1 \
                     AND ($2 IS NULL OR lower(namespace) = lower($2)) \
                     AND ($3 IS NULL OR lower(namespace || '/' || name) LIKE $3 ESCAPE '\\') \
                     AND (private = 0 OR lower(namespace) = lower($4)) \
                     AND id > $5 ORDER BY id LIMIT $6"
                );
                let rows = sqlx::query(&q)
                    .bind(&f.repo_type)
                    .bind(f.author.as_deref())
                    .bind(search.as_deref())
                    .bind(f.viewer.as_deref().unwrap_or(""))
                    .bind(f.after_id.unwrap_or(0))
                    .bind(f.limit)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.iter().map(repo_from).collect::<Result<_, _>>()?)
            }

            async fn get_ref(&self, repo_id: i64, name: &str) -> StoreResult<Option<String>> {
                if let Some(r) = self.fast_reads() { return r.get_ref(repo_id, name); }
                let row = sqlx::query($crate::sql::GET_REF_SQL)
                    .bind(repo_id)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }

            async fn list_refs(&self, repo_id: i64) -> StoreResult<Vec<RefRecord>> {
                let rows = sqlx::query("SELECT name, target FROM refs WHERE repo_id = $1 ORDER BY name")
                    .bind(repo_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok(RefRecord { name: r.try_get(0)?, target: r.try_get(1)? }))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn create_ref(&self, repo_id: i64, name: &str, target: &str) -> StoreResult<()> {
                sqlx::query("INSERT INTO refs (repo_id, name, target) VALUES ($1, $2, $3)")
                    .bind(repo_id)
                    .bind(name)
                    .bind(target)
                    .execute(&self.pool)
                    .await
                    .map_err(conflict("refs"))?;
                Ok(())
            }

            async fn delete_ref(&self, repo_id: i64, name: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM refs WHERE repo_id = $1 AND name = $2")
                    .bind(repo_id)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn repo_has_commit(&self, repo_id: i64, oid: &str) -> StoreResult<bool> {
                if let Some(r) = self.fast_reads() { return r.repo_has_commit(repo_id, oid); }
                let row = sqlx::query($crate::sql::HAS_COMMIT_SQL)
                    .bind(repo_id)
                    .bind(oid)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn apply_commit(&self, w: CommitWrite) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                write_commit(&mut tx, &w).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_object(&self, oid: &str) -> StoreResult<Option<GitObject>> {
                if let Some(r) = self.fast_reads() { return r.get_object(oid); }
                let row = sqlx::query($crate::sql::GET_OBJECT_SQL)
                    .bind(oid)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| Ok::<_, sqlx::Error>(GitObject { kind: r.try_get(0)?, data: r.try_get(1)? })).transpose()?)
            }

            async fn get_blob(&self, oid: &str) -> StoreResult<Option<BlobRecord>> {
                if let Some(r) = self.fast_reads() { return r.get_blob(oid); }
                let row = sqlx::query($crate::sql::GET_BLOB_SQL)
                    .bind(oid)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row
                    .map(|r| {
                        Ok::<_, sqlx::Error>(BlobRecord {
                            oid: r.try_get(0)?,
                            size: r.try_get(1)?,
                            sha256: r.try_get(2)?,
                            lfs: r.try_get::<i64, _>(3)? != 0,
                        })
                    })
                    .transpose()?)
            }

            async fn link_lfs_object(&self, repo_id: i64, sha256: &str, size: i64) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO repo_lfs_objects (repo_id, sha256, size) VALUES ($1, $2, $3) \
                     ON CONFLICT (repo_id, sha256) DO NOTHING",
                )
                .bind(repo_id)
                .bind(sha256)
                .bind(size)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn repo_lfs_object(&self, repo_id: i64, sha256: &str) -> StoreResult<Option<i64>> {
                let row = sqlx::query("SELECT size FROM repo_lfs_objects WHERE repo_id = $1 AND sha256 = $2")
                    .bind(repo_id)
                    .bind(sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }

            async fn create_discussion(&self, d: NewDiscussion) -> StoreResult<Discussion> {
                let mut tx = self.pool.begin().await?;
                // Lock the repo row first, so two discussions never get the same number.
                sqlx::query("UPDATE repos SET updated_at = updated_at WHERE id = $1")
                    .bind(d.repo_id)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query(
                    "INSERT INTO discussions (repo_id, num, title, description, author, is_pull_request, status, created_at) \
                     SELECT $1, COALESCE(MAX(num), 0) + 1, $2, $3, $4, $5, $6, $7 FROM discussions WHERE repo_id = $1 \
                     RETURNING repo_id, num, title, description, author, is_pull_request, status, created_at",
                )
                .bind(d.repo_id)
                .bind(&d.title)
                .bind(&d.description)
                .bind(&d.author)
                .bind(d.is_pull_request as i64)
                .bind(&d.status)
                .bind(d.created_at)
                .fetch_one(&mut *tx)
                .await?;
                let out = discussion_from(&row)?;
                tx.commit().await?;
                Ok(out)
            }

            async fn get_discussion(&self, repo_id: i64, num: i64) -> StoreResult<Option<Discussion>> {
                let row = sqlx::query(
                    "SELECT repo_id, num, title, description, author, is_pull_request, status, created_at \
                     FROM discussions WHERE repo_id = $1 AND num = $2",
                )
                .bind(repo_id)
                .bind(num)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.as_ref().map(discussion_from).transpose()?)
            }

            async fn setting_or_init(&self, key: &str, default: &str) -> StoreResult<String> {
                sqlx::query("INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind(key)
                    .bind(default)
                    .execute(&self.pool)
                    .await?;
                let row = sqlx::query("SELECT value FROM server_settings WHERE key = $1")
                    .bind(key)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get(0)?)
            }
        }
    };
}

pub(crate) use impl_store;
