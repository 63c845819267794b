//! Operator tasks run by `hangar admin …` directly against the database. They are safe while a
//! server runs on the same database: every change is a single transaction or row write.

use anyhow::{bail, Context};
use hangar_core::policy::Role;
use hangar_core::token::Secret;
use hangar_store::{DynStore, NewToken, NewUser, StoreError, TokenRecord, User};

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

pub async fn create_user(store: &DynStore, name: &str, email: &str, password: &str, verified: bool, site_admin: bool) -> anyhow::Result<User> {
    crate::accounts::validate_namespace_name(name, "user name").map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::accounts::validate_email(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
    let new = NewUser {
        name: name.to_owned(),
        fullname: String::new(),
        email: email.to_owned(),
        email_verified: verified,
        password_hash: hash,
        site_admin,
        created_at: chrono::Utc::now().timestamp_millis(),
    };
    match store.create_user(new).await {
        Ok(u) => Ok(u),
        Err(StoreError::Conflict("namespaces")) => bail!("the name '{name}' is already taken by a user or an organization"),
        Err(StoreError::Conflict(_)) => bail!("a user with the email '{email}' already exists"),
        Err(e) => Err(e.into()),
    }
}

async fn user(store: &DynStore, name: &str) -> anyhow::Result<User> {
    store.user_by_name(name).await?.with_context(|| format!("no user named '{name}'"))
}

/// Creates a fine-grained token from `ENTITY=PERM` pairs. Operators act for the user, so the
/// email-verification rule does not apply.
pub async fn create_fine_grained_token(
    state: &crate::AppState,
    user_name: &str,
    token_name: &str,
    permissions: &[String],
    can_read_gated_repos: bool,
    expires_in_days: Option<u32>,
) -> anyhow::Result<(TokenRecord, Secret)> {
    let mut u = user(&state.store, user_name).await?;
    u.email_verified = true;
    let spec = crate::fine_grained::spec_from_pairs(permissions, can_read_gated_repos).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = chrono::Utc::now().timestamp_millis();
    let body = crate::handlers::tokens::CreateBody {
        name: token_name.to_owned(),
        role: "fineGrained".into(),
        expires_at: expires_in_days.map(|d| crate::handlers::iso(now + i64::from(d) * 86_400_000)),
        fine_grained: Some(spec),
        password: None,
    };
    crate::handlers::tokens::create_token(state, crate::fine_grained::Owner::User(&u), &u, body).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// Creates a classic token; the secret is returned once and never stored.
pub async fn create_token(store: &DynStore, user_name: &str, token_name: &str, role: &str, expires_in_days: Option<u32>) -> anyhow::Result<(TokenRecord, Secret)> {
    let role = Role::parse(role).with_context(|| format!("unknown role '{role}': use read, write, admin or fineGrained"))?;
    let token_name = token_name.trim();
    if token_name.is_empty() || token_name.len() > 100 {
        bail!("the token name must have 1 to 100 characters");
    }
    let u = user(store, user_name).await?;
    let live = store.list_tokens(u.id).await?.into_iter().filter(|t| t.revoked_at.is_none()).collect::<Vec<_>>();
    if live.iter().any(|t| t.name == token_name) {
        bail!("{user_name} already has a live token named '{token_name}'; revoke it or pick another name");
    }
    let secret = Secret::generate();
    let now = chrono::Utc::now().timestamp_millis();
    let record = store
        .create_token(NewToken {
            user_id: u.id,
            name: token_name.to_owned(),
            role: role.as_str().to_owned(),
            token_hash: secret.hash(),
            last4: secret.expose()[secret.expose().len() - 4..].to_owned(),
            created_at: now,
            expires_at: expires_in_days.map(|d| now + i64::from(d) * 86_400_000),
            org_id: None,
            fine_grained: None,
        })
        .await?;
    Ok((record, secret))
}

pub async fn revoke_token(store: &DynStore, user_name: &str, token_name: &str) -> anyhow::Result<()> {
    let u = user(store, user_name).await?;
    if !store.revoke_token(u.id, token_name, chrono::Utc::now().timestamp_millis()).await? {
        bail!("{user_name} has no live token named '{token_name}'");
    }
    Ok(())
}

pub async fn list_tokens(store: &DynStore, user_name: &str) -> anyhow::Result<Vec<TokenRecord>> {
    let u = user(store, user_name).await?;
    Ok(store.list_tokens(u.id).await?)
}

/// Sets a user's plan (`free` or `pro`).
pub async fn set_user_plan(store: &DynStore, name: &str, plan: &str) -> anyhow::Result<hangar_core::plans::Plan> {
    use hangar_core::plans::{Holder, Plan};
    let plan = Plan::parse(plan, Holder::User)?;
    let user = store.user_by_name(name).await?.ok_or_else(|| anyhow::anyhow!("no user named {name}"))?;
    store.set_user_plan(user.id, plan.as_str()).await?;
    Ok(plan)
}

/// Sets an organization's plan (`free`, or `enterprise` with at least one seat).
pub async fn set_org_plan(store: &DynStore, name: &str, plan: &str, seats: i64) -> anyhow::Result<hangar_core::plans::Plan> {
    use hangar_core::plans::{Holder, Plan};
    let plan = Plan::parse(plan, Holder::Org)?;
    if plan == Plan::Enterprise && seats < 1 {
        anyhow::bail!("the enterprise plan needs its number of paid seats: --seats N");
    }
    let org = store.org_by_name(name).await?.ok_or_else(|| anyhow::anyhow!("no organization named {name}"))?;
    store.set_org_plan(org.id, plan.as_str(), if plan == Plan::Enterprise { seats } else { 0 }).await?;
    Ok(plan)
}
