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

pub(crate) const USER_COLS: &str = "id, name, fullname, email, email_verified, pending_email, password_hash, site_admin, created_at, disabled_at";
/// The user columns qualified with `u.`, in the same order.
pub(crate) const USER_COLS_U: &str =
    "u.id, u.name, u.fullname, u.email, u.email_verified, u.pending_email, u.password_hash, u.site_admin, u.created_at, u.disabled_at";
pub(crate) const TOKEN_COLS: &str = "t.id, t.user_id, t.name, t.role, t.last4, t.created_at, t.last_used_at, t.expires_at, \
     t.revoked_at, t.org_id, t.fine_grained";
/// The same columns for `RETURNING`, where SQLite does not accept table qualifiers.
pub(crate) const TOKEN_COLS_BARE: &str =
    "id, user_id, name, role, last4, created_at, last_used_at, expires_at, revoked_at, org_id, fine_grained";
/// How many columns [`TOKEN_COLS`] has: user columns follow it in joined rows.
pub(crate) const TOKEN_NCOLS: usize = 11;
/// How many columns [`USER_COLS`] has.
pub(crate) const USER_NCOLS: usize = 10;
pub(crate) const REPO_COLS: &str = "id, repo_type, namespace, name, private, gated, created_at, updated_at, created_by";

/// Expired tokens are returned too, so that the refusal can say why.
pub(crate) fn token_by_hash_sql() -> String {
    format!(
        "SELECT {TOKEN_COLS}, {USER_COLS_U} FROM tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
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
        use $crate::sql_web::DEVICE_COLS;
        use $crate::sql::{conflict, REPO_COLS, TOKEN_COLS, TOKEN_COLS_BARE, TOKEN_NCOLS, USER_COLS, USER_COLS_U, USER_NCOLS};
        use $crate::*;

        type DbRow = <$db as sqlx::Database>::Row;

        fn xorb_from(r: &DbRow) -> Result<XetXorb, sqlx::Error> {
            Ok(XetXorb { hash: r.try_get(0)?, blob_sha256: r.try_get(1)?, size: r.try_get(2)?, meta: r.try_get(3)? })
        }

        fn xet_file_from(r: &DbRow) -> Result<XetFile, sqlx::Error> {
            Ok(XetFile { file_hash: r.try_get(0)?, sha256: r.try_get(1)?, size: r.try_get(2)?, terms: r.try_get(3)? })
        }

        fn user_from(r: &DbRow) -> Result<User, sqlx::Error> {
            user_at(r, 0)
        }

        /// A user whose columns start at index `i` (after a joined record).
        fn user_at(r: &DbRow, i: usize) -> Result<User, sqlx::Error> {
            Ok(User {
                id: r.try_get(i)?,
                name: r.try_get(i + 1)?,
                fullname: r.try_get(i + 2)?,
                email: r.try_get(i + 3)?,
                email_verified: r.try_get::<i64, _>(i + 4)? != 0,
                pending_email: r.try_get(i + 5)?,
                password_hash: r.try_get(i + 6)?,
                site_admin: r.try_get::<i64, _>(i + 7)? != 0,
                created_at: r.try_get(i + 8)?,
                disabled_at: r.try_get(i + 9)?,
            })
        }

        $crate::sql_web::web_row_mappers!();

        fn org_from(r: &DbRow) -> Result<Org, sqlx::Error> {
            Ok(Org {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                fullname: r.try_get(2)?,
                token_policy: r.try_get(3)?,
                created_at: r.try_get(4)?,
                plan: r.try_get(5)?,
                seats: r.try_get(6)?,
            })
        }

        fn access_request_from(r: &DbRow) -> Result<AccessRequest, sqlx::Error> {
            Ok(AccessRequest {
                id: r.try_get(0)?,
                repo_id: r.try_get(1)?,
                user_id: r.try_get(2)?,
                status: r.try_get(3)?,
                fields: r.try_get(4)?,
                reason: r.try_get(5)?,
                decided_by: r.try_get(6)?,
                created_at: r.try_get(7)?,
                updated_at: r.try_get(8)?,
            })
        }

        fn email_code_from(r: &DbRow) -> Result<EmailCode, sqlx::Error> {
            Ok(EmailCode {
                code_hash: r.try_get(0)?,
                user_id: r.try_get(1)?,
                purpose: r.try_get(2)?,
                email: r.try_get(3)?,
                created_at: r.try_get(4)?,
                expires_at: r.try_get(5)?,
                used_at: r.try_get(6)?,
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
                org_id: r.try_get(9)?,
                fine_grained: r.try_get(10)?,
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
                created_by: r.try_get("created_by")?,
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
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO namespaces (name, kind) VALUES ($1, 'user')")
                    .bind(&u.name)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict("namespaces"))?;
                let q = format!(
                    "INSERT INTO users (name, fullname, email, email_verified, password_hash, site_admin, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLS}"
                );
                let row = sqlx::query(&q)
                    .bind(&u.name)
                    .bind(&u.fullname)
                    .bind(&u.email)
                    .bind(u.email_verified as i64)
                    .bind(&u.password_hash)
                    .bind(u.site_admin as i64)
                    .bind(u.created_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(conflict("users"))?;
                let user = user_from(&row)?;
                tx.commit().await?;
                Ok(user)
            }

            async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
                let q = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
                let row = sqlx::query(&q).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(user_from).transpose()?)
            }

            async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                let q = format!("SELECT {USER_COLS} FROM users WHERE lower(email) = lower($1)");
                let row = sqlx::query(&q).bind(email).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(user_from).transpose()?)
            }

            async fn set_email_verified(&self, user_id: i64, email: &str) -> StoreResult<()> {
                sqlx::query("UPDATE users SET email = $1, email_verified = 1, pending_email = NULL WHERE id = $2")
                    .bind(email)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(conflict("users"))?;
                Ok(())
            }

            async fn set_pending_email(&self, user_id: i64, email: Option<&str>) -> StoreResult<()> {
                sqlx::query("UPDATE users SET pending_email = $1 WHERE id = $2")
                    .bind(email)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_password(&self, user_id: i64, hash: &str) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_email_code(&self, c: EmailCode) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO email_codes (code_hash, user_id, purpose, email, created_at, expires_at, used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                )
                .bind(&c.code_hash)
                .bind(c.user_id)
                .bind(&c.purpose)
                .bind(&c.email)
                .bind(c.created_at)
                .bind(c.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn consume_email_code(&self, code_hash: &str, purpose: &str, now: i64) -> StoreResult<CodeUse> {
                let cols = "code_hash, user_id, purpose, email, created_at, expires_at, used_at";
                let q = format!(
                    "UPDATE email_codes SET used_at = $1 WHERE code_hash = $2 AND purpose = $3 \
                     AND used_at IS NULL AND expires_at > $1 RETURNING {cols}"
                );
                if let Some(row) = sqlx::query(&q).bind(now).bind(code_hash).bind(purpose).fetch_optional(&self.pool).await? {
                    return Ok(CodeUse::Consumed(email_code_from(&row)?));
                }
                let q = format!("SELECT {cols} FROM email_codes WHERE code_hash = $1 AND purpose = $2");
                let found = sqlx::query(&q).bind(code_hash).bind(purpose).fetch_optional(&self.pool).await?;
                Ok(match found.as_ref().map(email_code_from).transpose()? {
                    None => CodeUse::Unknown,
                    Some(c) if c.used_at.is_some() => CodeUse::AlreadyUsed,
                    Some(_) => CodeUse::Expired,
                })
            }

            async fn create_session(&self, id_hash: &str, s: Session) -> StoreResult<()> {
                sqlx::query("INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id_hash)
                    .bind(s.user_id)
                    .bind(&s.csrf)
                    .bind(s.created_at)
                    .bind(s.expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_by_hash(&self, id_hash: &str, now: i64) -> StoreResult<Option<(Session, User)>> {
                let q = format!(
                    "SELECT s.user_id, s.csrf, s.created_at, s.expires_at, {USER_COLS_U} FROM sessions s \
                     JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2"
                );
                let row = sqlx::query(&q).bind(id_hash).bind(now).fetch_optional(&self.pool).await?;
                let Some(r) = row else { return Ok(None) };
                let s = Session { user_id: r.try_get(0)?, csrf: r.try_get(1)?, created_at: r.try_get(2)?, expires_at: r.try_get(3)? };
                Ok(Some((s, user_at(&r, 4)?)))
            }

            async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
                let q = format!("SELECT {USER_COLS} FROM users WHERE lower(name) = lower($1)");
                let row = sqlx::query(&q).bind(name).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(user_from).transpose()?)
            }

            async fn create_token(&self, t: NewToken) -> StoreResult<TokenRecord> {
                let q = format!(
                    "INSERT INTO tokens (user_id, name, role, token_hash, last4, created_at, expires_at, org_id, fine_grained) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {TOKEN_COLS_BARE}"
                );
                let row = sqlx::query(&q)
                    .bind(t.user_id)
                    .bind(&t.name)
                    .bind(&t.role)
                    .bind(&t.token_hash)
                    .bind(&t.last4)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .bind(t.org_id)
                    .bind(&t.fine_grained)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(conflict("tokens"))?;
                Ok(token_from(&row)?)
            }

            async fn download_context(&self, token_hash: Option<&str>, repo_type: &str, namespace: &str, name: &str, refs: &[String]) -> StoreResult<DownloadContext> {
                if let Some(r) = self.fast_reads() {
                    return r.download_context(token_hash, repo_type, namespace, name, refs);
                }
                $crate::download_context_by_parts(self, token_hash, repo_type, namespace, name, refs).await
            }

            async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<(TokenRecord, User)>> {
                if let Some(r) = self.fast_reads() { return r.token_by_hash(hash); }
                let q = $crate::sql::token_by_hash_sql();
                let row = sqlx::query(&q).bind(hash).fetch_optional(&self.pool).await?;
                match row {
                    None => Ok(None),
                    Some(r) => Ok(Some((token_from(&r)?, user_at(&r, TOKEN_NCOLS)?))),
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
                let q = format!("SELECT {TOKEN_COLS} FROM tokens t WHERE t.user_id = $1 AND t.org_id IS NULL ORDER BY t.id");
                let rows = sqlx::query(&q).bind(user_id).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(token_from).collect::<Result<_, _>>()?)
            }

            async fn list_org_tokens(&self, org_id: i64) -> StoreResult<Vec<TokenRecord>> {
                let q = format!("SELECT {TOKEN_COLS} FROM tokens t WHERE t.org_id = $1 ORDER BY t.id");
                let rows = sqlx::query(&q).bind(org_id).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(token_from).collect::<Result<_, _>>()?)
            }

            async fn token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>> {
                let q = format!("SELECT {TOKEN_COLS} FROM tokens t WHERE t.id = $1");
                let row = sqlx::query(&q).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(token_from).transpose()?)
            }

            async fn revoke_token_by_id(&self, id: i64, now: i64, reason: &str) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE tokens SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(reason)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn rename_token(&self, id: i64, name: &str) -> StoreResult<()> {
                sqlx::query("UPDATE tokens SET name = $1 WHERE id = $2").bind(name).bind(id).execute(&self.pool).await?;
                Ok(())
            }

            async fn refresh_token(&self, id: i64, new_hash: &str, last4: &str, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE tokens SET token_hash = $1, last4 = $2, last_used_at = NULL, expiry_warned_at = NULL \
                     WHERE id = $3 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4)",
                )
                .bind(new_hash)
                .bind(last4)
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_tokens_by_hash(&self, hashes: &[String], now: i64, reason: &str) -> StoreResult<Vec<TokenRecord>> {
                let mut tx = self.pool.begin().await?;
                let mut out = Vec::new();
                let q = format!(
                    "UPDATE tokens SET revoked_at = $1, revoke_reason = $2 WHERE token_hash = $3 AND revoked_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $1) RETURNING {TOKEN_COLS_BARE}"
                );
                for h in hashes {
                    if let Some(row) = sqlx::query(&q).bind(now).bind(reason).bind(h).fetch_optional(&mut *tx).await? {
                        out.push(token_from(&row)?);
                    }
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn tokens_to_warn(&self, now: i64, before: i64) -> StoreResult<Vec<TokenRecord>> {
                let q = format!(
                    "SELECT {TOKEN_COLS} FROM tokens t WHERE t.revoked_at IS NULL AND t.expiry_warned_at IS NULL \
                     AND t.expires_at IS NOT NULL AND t.expires_at > $1 AND t.expires_at <= $2 ORDER BY t.id"
                );
                let rows = sqlx::query(&q).bind(now).bind(before).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(token_from).collect::<Result<_, _>>()?)
            }

            async fn mark_expiry_warned(&self, id: i64, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE tokens SET expiry_warned_at = $1 WHERE id = $2").bind(now).bind(id).execute(&self.pool).await?;
                Ok(())
            }

            async fn take_newly_expired(&self, now: i64) -> StoreResult<Vec<TokenRecord>> {
                let q = format!(
                    "UPDATE tokens SET expired_noted_at = $1 WHERE revoked_at IS NULL AND expired_noted_at IS NULL \
                     AND expires_at IS NOT NULL AND expires_at <= $1 RETURNING {TOKEN_COLS_BARE}"
                );
                let rows = sqlx::query(&q).bind(now).fetch_all(&self.pool).await?;
                Ok(rows.iter().map(token_from).collect::<Result<_, _>>()?)
            }

            async fn create_org(&self, name: &str, fullname: &str, admin: i64, now: i64) -> StoreResult<Org> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO namespaces (name, kind) VALUES ($1, 'org')")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict("namespaces"))?;
                let row = sqlx::query(
                    "INSERT INTO orgs (name, fullname, token_policy, created_at) VALUES ($1, $2, 'allow_all', $3) \
                     RETURNING id, name, fullname, token_policy, created_at, plan, seats",
                )
                .bind(name)
                .bind(fullname)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict("namespaces"))?;
                let org = org_from(&row)?;
                sqlx::query("INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($1, $2, 'admin', $3)")
                    .bind(org.id)
                    .bind(admin)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(org)
            }

            async fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>> {
                let row = sqlx::query("SELECT id, name, fullname, token_policy, created_at, plan, seats FROM orgs WHERE lower(name) = lower($1)")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(org_from).transpose()?)
            }

            async fn org_by_id(&self, id: i64) -> StoreResult<Option<Org>> {
                let row = sqlx::query("SELECT id, name, fullname, token_policy, created_at, plan, seats FROM orgs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(org_from).transpose()?)
            }

            async fn org_members(&self, org_id: i64) -> StoreResult<Vec<Member>> {
                let q = format!(
                    "SELECT m.role, m.created_at, {USER_COLS_U} FROM org_members m JOIN users u ON u.id = m.user_id \
                     WHERE m.org_id = $1 ORDER BY lower(u.name)"
                );
                let rows = sqlx::query(&q).bind(org_id).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok(Member { role: r.try_get(0)?, since: r.try_get(1)?, user: user_at(r, 2)? }))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn user_orgs(&self, user_id: i64) -> StoreResult<Vec<(Org, String)>> {
                let rows = sqlx::query(
                    "SELECT o.id, o.name, o.fullname, o.token_policy, o.created_at, o.plan, o.seats, m.role FROM org_members m \
                     JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY lower(o.name)",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((org_from(r)?, r.try_get(7)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn member_role(&self, org_id: i64, user_id: i64) -> StoreResult<Option<String>> {
                let row = sqlx::query("SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2")
                    .bind(org_id)
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }

            async fn set_member(&self, org_id: i64, user_id: i64, role: &str, now: i64) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(role)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn remove_member(&self, org_id: i64, user_id: i64) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2")
                    .bind(org_id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_token_policy(&self, org_id: i64, policy: &str) -> StoreResult<()> {
                sqlx::query("UPDATE orgs SET token_policy = $1 WHERE id = $2").bind(policy).bind(org_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn token_approval(&self, org_id: i64, token_id: i64) -> StoreResult<Option<String>> {
                let row = sqlx::query("SELECT state FROM org_token_approvals WHERE org_id = $1 AND token_id = $2")
                    .bind(org_id)
                    .bind(token_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }

            async fn request_token_approval(&self, org_id: i64, token_id: i64, now: i64) -> StoreResult<String> {
                sqlx::query(
                    "INSERT INTO org_token_approvals (org_id, token_id, state, decided_by, updated_at) \
                     VALUES ($1, $2, 'pending', NULL, $3) ON CONFLICT (org_id, token_id) DO NOTHING",
                )
                .bind(org_id)
                .bind(token_id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(self.token_approval(org_id, token_id).await?.unwrap_or_else(|| "pending".into()))
            }

            async fn set_token_approval(&self, org_id: i64, token_id: i64, state: &str, by: &str, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE org_token_approvals SET state = $1, decided_by = $2, updated_at = $3 WHERE org_id = $4 AND token_id = $5",
                )
                .bind(state)
                .bind(by)
                .bind(now)
                .bind(org_id)
                .bind(token_id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_token_approvals(&self, org_id: i64) -> StoreResult<Vec<TokenApproval>> {
                let q = format!(
                    "SELECT {TOKEN_COLS}, {USER_COLS_U}, a.state, a.decided_by, a.updated_at FROM org_token_approvals a \
                     JOIN tokens t ON t.id = a.token_id JOIN users u ON u.id = t.user_id \
                     WHERE a.org_id = $1 AND t.revoked_at IS NULL ORDER BY t.id"
                );
                let rows = sqlx::query(&q).bind(org_id).fetch_all(&self.pool).await?;
                let n = TOKEN_NCOLS + USER_NCOLS;
                rows.iter()
                    .map(|r| {
                        Ok(TokenApproval {
                            token: token_from(r)?,
                            owner: user_at(r, TOKEN_NCOLS)?,
                            state: r.try_get(n)?,
                            decided_by: r.try_get(n + 1)?,
                            updated_at: r.try_get(n + 2)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn create_access_request(&self, repo_id: i64, user_id: i64, status: &str, fields: &str, now: i64) -> StoreResult<AccessRequest> {
                let row = sqlx::query(
                    "INSERT INTO access_requests (repo_id, user_id, status, fields, reason, decided_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, NULL, NULL, $5, $5) \
                     RETURNING id, repo_id, user_id, status, fields, reason, decided_by, created_at, updated_at",
                )
                .bind(repo_id)
                .bind(user_id)
                .bind(status)
                .bind(fields)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(conflict("access_requests"))?;
                Ok(access_request_from(&row)?)
            }

            async fn access_request(&self, repo_id: i64, user_id: i64) -> StoreResult<Option<AccessRequest>> {
                let row = sqlx::query(
                    "SELECT id, repo_id, user_id, status, fields, reason, decided_by, created_at, updated_at \
                     FROM access_requests WHERE repo_id = $1 AND user_id = $2",
                )
                .bind(repo_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.as_ref().map(access_request_from).transpose()?)
            }

            async fn list_access_requests(&self, repo_id: i64, status: &str) -> StoreResult<Vec<(AccessRequest, User)>> {
                let q = format!(
                    "SELECT a.id, a.repo_id, a.user_id, a.status, a.fields, a.reason, a.decided_by, a.created_at, a.updated_at, \
                     {USER_COLS_U} FROM access_requests a JOIN users u ON u.id = a.user_id \
                     WHERE a.repo_id = $1 AND a.status = $2 ORDER BY a.id"
                );
                let rows = sqlx::query(&q).bind(repo_id).bind(status).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok((access_request_from(r)?, user_at(r, 9)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn set_access_request(&self, id: i64, status: &str, reason: Option<&str>, by: &str, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE access_requests SET status = $1, reason = $2, decided_by = $3, updated_at = $4 \
                     WHERE id = $5 AND status <> $1",
                )
                .bind(status)
                .bind(reason)
                .bind(by)
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn add_audit(&self, e: NewAuditEvent) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_events (at, user_id, org_id, actor, event, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.at)
                .bind(e.user_id)
                .bind(e.org_id)
                .bind(&e.actor)
                .bind(&e.event)
                .bind(&e.detail)
                .bind(&e.ip)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn list_audit(&self, user_id: Option<i64>, org_id: Option<i64>, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditEvent>> {
                let rows = sqlx::query(
                    "SELECT id, at, user_id, org_id, actor, event, detail, ip FROM audit_events \
                     WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR org_id = $2) AND id < $3 \
                     ORDER BY id DESC LIMIT $4",
                )
                .bind(user_id)
                .bind(org_id)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditEvent {
                            id: r.try_get(0)?,
                            at: r.try_get(1)?,
                            user_id: r.try_get(2)?,
                            org_id: r.try_get(3)?,
                            actor: r.try_get(4)?,
                            event: r.try_get(5)?,
                            detail: r.try_get(6)?,
                            ip: r.try_get(7)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn revoke_token(&self, user_id: i64, name: &str, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND name = $3 AND revoked_at IS NULL AND org_id IS NULL",
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
                    "INSERT INTO repos (repo_type, namespace, name, private, gated, created_at, updated_at, created_by) \
                     VALUES ($1, $2, $3, $4, NULL, $5, $5, $6) RETURNING {REPO_COLS}"
                );
                let row = sqlx::query(&q)
                    .bind(&r.repo_type)
                    .bind(&r.namespace)
                    .bind(&r.name)
                    .bind(r.private as i64)
                    .bind(r.created_at)
                    .bind(r.created_by)
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

            async fn repo_by_id(&self, id: i64) -> StoreResult<Option<Repo>> {
                let q = format!("SELECT {REPO_COLS} FROM repos WHERE id = $1");
                let row = sqlx::query(&q).bind(id).fetch_optional(&self.pool).await?;
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
                     AND (private = 0 OR lower(namespace) = lower($4) OR EXISTS (SELECT 1 FROM orgs o \
                          JOIN org_members m ON m.org_id = o.id JOIN users u ON u.id = m.user_id \
                          WHERE lower(o.name) = lower(repos.namespace) AND lower(u.name) = lower($4))) \
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

            // --- site administration, organization invitations, OAuth device flow ---

            async fn list_users(&self, search: Option<&str>, after: Option<&str>, limit: i64) -> StoreResult<Vec<User>> {
                let q = format!(
                    "SELECT {USER_COLS} FROM users WHERE ($1 IS NULL OR lower(name) LIKE $1 ESCAPE '\\' OR lower(email) LIKE $1 ESCAPE '\\') \
                     AND ($3 IS NULL OR lower(name) > lower($3)) ORDER BY lower(name) LIMIT $2"
                );
                let pattern = search.map(|s| format!("%{}%", s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
                let rows = sqlx::query(&q).bind(pattern).bind(limit).bind(after).fetch_all(&self.pool).await?;
                rows.iter().map(user_from).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
            }

            async fn set_user_disabled(&self, user_id: i64, at: Option<i64>) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2").bind(at).bind(user_id).execute(&mut *tx).await?;
                if at.is_some() {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_invitation(&self, org_id: i64, user_id: i64, role: &str, by: &str, now: i64) -> StoreResult<Invitation> {
                let row = sqlx::query(
                    "INSERT INTO org_invitations (org_id, user_id, role, invited_by, created_at) VALUES ($1, $2, $3, $4, $5) \
                     RETURNING id, org_id, user_id, role, invited_by, created_at",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(role)
                .bind(by)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(conflict("org_invitations"))?;
                Ok(invitation_at(&row, 0)?)
            }

            async fn org_invitations(&self, org_id: i64) -> StoreResult<Vec<(Invitation, User)>> {
                let q = format!(
                    "SELECT i.id, i.org_id, i.user_id, i.role, i.invited_by, i.created_at, {USER_COLS_U} FROM org_invitations i \
                     JOIN users u ON u.id = i.user_id WHERE i.org_id = $1 ORDER BY i.id"
                );
                let rows = sqlx::query(&q).bind(org_id).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok((invitation_at(r, 0)?, user_at(r, 6)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn user_invitations(&self, user_id: i64) -> StoreResult<Vec<(Invitation, Org)>> {
                let rows = sqlx::query(
                    "SELECT o.id, o.name, o.fullname, o.token_policy, o.created_at, o.plan, o.seats, i.id, i.org_id, i.user_id, i.role, i.invited_by, \
                     i.created_at FROM org_invitations i JOIN orgs o ON o.id = i.org_id WHERE i.user_id = $1 ORDER BY i.id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((invitation_at(r, 7)?, org_from(r)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn accept_invitation(&self, id: i64, user_id: i64, now: i64) -> StoreResult<Option<Invitation>> {
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "DELETE FROM org_invitations WHERE id = $1 AND user_id = $2 \
                     RETURNING id, org_id, user_id, role, invited_by, created_at",
                )
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let inv = invitation_at(&row, 0)?;
                sqlx::query(
                    "INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(inv.org_id)
                .bind(inv.user_id)
                .bind(&inv.role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(inv))
            }

            async fn delete_invitation(&self, id: i64) -> StoreResult<Option<Invitation>> {
                let row = sqlx::query("DELETE FROM org_invitations WHERE id = $1 RETURNING id, org_id, user_id, role, invited_by, created_at")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(|r| invitation_at(r, 0)).transpose()?)
            }

            async fn create_device_code(&self, c: DeviceCode) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO device_codes (device_hash, user_code, client_id, status, user_id, role, token_name, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&c.device_hash)
                .bind(&c.user_code)
                .bind(&c.client_id)
                .bind(&c.status)
                .bind(c.user_id)
                .bind(&c.role)
                .bind(&c.token_name)
                .bind(c.created_at)
                .bind(c.expires_at)
                .execute(&self.pool)
                .await
                .map_err(conflict("device_codes"))?;
                // Codes expired for a day are of no use to anyone.
                sqlx::query("DELETE FROM device_codes WHERE expires_at < $1").bind(c.created_at - 86_400_000).execute(&self.pool).await?;
                Ok(())
            }

            async fn device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>> {
                let row = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM device_codes WHERE user_code = $1"))
                    .bind(user_code)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(device_code_from).transpose()?)
            }

            async fn device_code_by_hash(&self, device_hash: &str) -> StoreResult<Option<DeviceCode>> {
                let row = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM device_codes WHERE device_hash = $1"))
                    .bind(device_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(device_code_from).transpose()?)
            }

            async fn decide_device_code(&self, user_code: &str, user_id: i64, status: &str, role: Option<&str>, token_name: Option<&str>, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE device_codes SET status = $1, user_id = $2, role = $3, token_name = $4 \
                     WHERE user_code = $5 AND status = 'pending' AND expires_at > $6",
                )
                .bind(status)
                .bind(user_id)
                .bind(role)
                .bind(token_name)
                .bind(user_code)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_device_code(&self, device_hash: &str) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE device_codes SET status = 'issued' WHERE device_hash = $1 AND status = 'approved'")
                    .bind(device_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn touch_device_poll(&self, device_hash: &str, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE device_codes SET last_poll_at = $1 WHERE device_hash = $2").bind(now).bind(device_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn put_refresh_token(&self, refresh_hash: &str, token_id: i64, now: i64) -> StoreResult<()> {
                sqlx::query("INSERT INTO oauth_refresh_tokens (refresh_hash, token_id, created_at) VALUES ($1, $2, $3)")
                    .bind(refresh_hash)
                    .bind(token_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_refresh_token(&self, refresh_hash: &str) -> StoreResult<Option<i64>> {
                let row = sqlx::query("DELETE FROM oauth_refresh_tokens WHERE refresh_hash = $1 RETURNING token_id")
                    .bind(refresh_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }

            async fn set_token_expiry(&self, token_id: i64, expires_at: Option<i64>) -> StoreResult<()> {
                sqlx::query("UPDATE tokens SET expires_at = $1, expiry_warned_at = NULL, expired_noted_at = NULL WHERE id = $2")
                    .bind(expires_at)
                    .bind(token_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn xet_xorb(&self, hash: &str) -> StoreResult<Option<XetXorb>> {
                let row = sqlx::query("SELECT hash, blob_sha256, size, meta FROM xet_xorbs WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| xorb_from(&r)).transpose()?)
            }

            async fn put_xet_xorb(&self, xorb: &XetXorb, dedup_chunks: &[String], now: i64) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let touched = sqlx::query("UPDATE xet_xorbs SET touched_at = $1 WHERE hash = $2")
                    .bind(now)
                    .bind(&xorb.hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let mut inserted = false;
                if touched == 0 {
                    inserted = sqlx::query(
                        "INSERT INTO xet_xorbs (hash, blob_sha256, size, meta, created_at, touched_at) \
                         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (hash) DO NOTHING",
                    )
                    .bind(&xorb.hash)
                    .bind(&xorb.blob_sha256)
                    .bind(xorb.size)
                    .bind(&xorb.meta)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    for chunk in dedup_chunks {
                        sqlx::query("INSERT INTO xet_dedup_chunks (chunk_hash, xorb_hash) VALUES ($1, $2) ON CONFLICT (chunk_hash) DO NOTHING")
                            .bind(chunk)
                            .bind(&xorb.hash)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(inserted)
            }

            async fn xet_dedup_xorb(&self, chunk_hash: &str, now: i64) -> StoreResult<Option<XetXorb>> {
                let row = sqlx::query(
                    "SELECT x.hash, x.blob_sha256, x.size, x.meta FROM xet_dedup_chunks d \
                     JOIN xet_xorbs x ON x.hash = d.xorb_hash WHERE d.chunk_hash = $1",
                )
                .bind(chunk_hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let xorb = xorb_from(&row)?;
                let touched = sqlx::query("UPDATE xet_xorbs SET touched_at = $1 WHERE hash = $2")
                    .bind(now)
                    .bind(&xorb.hash)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok((touched == 1).then_some(xorb))
            }

            async fn xet_sibling_xorbs(&self, xorb: &str, limit: i64) -> StoreResult<Vec<XetXorb>> {
                let rows = sqlx::query(
                    "SELECT x.hash, x.blob_sha256, x.size, x.meta FROM xet_xorbs x WHERE x.hash IN \
                     (SELECT DISTINCT b.xorb_hash FROM xet_file_xorbs a JOIN xet_file_xorbs b ON b.file_hash = a.file_hash \
                      WHERE a.xorb_hash = $1 AND b.xorb_hash <> $1) ORDER BY x.hash LIMIT $2",
                )
                .bind(xorb)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.iter().map(xorb_from).collect::<Result<Vec<_>, _>>()?)
            }

            async fn put_xet_file(&self, file: &XetFile, xorbs: &[String], dedup_chunk: Option<(&str, &str)>, repo_id: i64, now: i64) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                // Touch first: a collection that already removed a xorb leaves nothing to touch.
                for x in xorbs {
                    let n = sqlx::query("UPDATE xet_xorbs SET touched_at = $1 WHERE hash = $2")
                        .bind(now)
                        .bind(x)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n == 0 {
                        return Ok(false);
                    }
                }
                let touched = sqlx::query("UPDATE xet_files SET created_at = $1 WHERE file_hash = $2")
                    .bind(now)
                    .bind(&file.file_hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if touched == 0 {
                    sqlx::query(
                        "INSERT INTO xet_files (file_hash, sha256, size, terms, created_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (file_hash) DO NOTHING",
                    )
                    .bind(&file.file_hash)
                    .bind(&file.sha256)
                    .bind(file.size)
                    .bind(&file.terms)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    for x in xorbs {
                        sqlx::query("INSERT INTO xet_file_xorbs (file_hash, xorb_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                            .bind(&file.file_hash)
                            .bind(x)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                if let Some((chunk, xorb)) = dedup_chunk {
                    sqlx::query("INSERT INTO xet_dedup_chunks (chunk_hash, xorb_hash) VALUES ($1, $2) ON CONFLICT (chunk_hash) DO NOTHING")
                        .bind(chunk)
                        .bind(xorb)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("INSERT INTO repo_lfs_objects (repo_id, sha256, size) VALUES ($1, $2, $3) ON CONFLICT (repo_id, sha256) DO NOTHING")
                    .bind(repo_id)
                    .bind(&file.sha256)
                    .bind(file.size)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn xet_file(&self, file_hash: &str) -> StoreResult<Option<XetFile>> {
                let row = sqlx::query("SELECT file_hash, sha256, size, terms FROM xet_files WHERE file_hash = $1")
                    .bind(file_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| xet_file_from(&r)).transpose()?)
            }

            async fn xet_file_by_sha256(&self, sha256: &str) -> StoreResult<Option<XetFile>> {
                let row = sqlx::query("SELECT file_hash, sha256, size, terms FROM xet_files WHERE sha256 = $1 ORDER BY file_hash LIMIT 1")
                    .bind(sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| xet_file_from(&r)).transpose()?)
            }

            async fn xet_collect(&self, cutoff: i64) -> StoreResult<XetCollected> {
                let mut tx = self.pool.begin().await?;
                let files = sqlx::query(
                    "DELETE FROM xet_files WHERE created_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM repo_lfs_objects r WHERE r.sha256 = xet_files.sha256)",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let rows = sqlx::query(
                    "DELETE FROM xet_xorbs WHERE touched_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM xet_file_xorbs f WHERE f.xorb_hash = xet_xorbs.hash) \
                     RETURNING hash, blob_sha256, size, meta",
                )
                .bind(cutoff)
                .fetch_all(&mut *tx)
                .await?;
                let xorbs = rows.iter().map(xorb_from).collect::<Result<Vec<_>, _>>()?;
                tx.commit().await?;
                Ok(XetCollected { files, xorbs })
            }

            async fn blob_in_use(&self, sha256: &str) -> StoreResult<bool> {
                let row = sqlx::query(
                    "SELECT 1 FROM xet_xorbs WHERE blob_sha256 = $1 \
                     UNION ALL SELECT 1 FROM repo_lfs_objects WHERE sha256 = $1 \
                     UNION ALL SELECT 1 FROM blobs WHERE sha256 = $1 LIMIT 1",
                )
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.is_some())
            }

            async fn user_plan(&self, user_id: i64) -> StoreResult<Option<String>> {
                let row = sqlx::query("SELECT plan FROM users WHERE id = $1").bind(user_id).fetch_optional(&self.pool).await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }

            async fn set_user_plan(&self, user_id: i64, plan: &str) -> StoreResult<()> {
                sqlx::query("UPDATE users SET plan = $1 WHERE id = $2").bind(plan).bind(user_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn set_org_plan(&self, org_id: i64, plan: &str, seats: i64) -> StoreResult<()> {
                sqlx::query("UPDATE orgs SET plan = $1, seats = $2 WHERE id = $3").bind(plan).bind(seats).bind(org_id).execute(&self.pool).await?;
                Ok(())
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
