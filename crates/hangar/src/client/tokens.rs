//! `hangar token list | create | rename | refresh | revoke`: the account's tokens (or an
//! organization's with `--org`), authenticated with the account password, never with a token.

use super::{emit, read_secret, ClientArgs};
use clap::{Args, Subcommand};
use hangar_client::{Client, ClientError, ClientResult};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// Your username (default: the owner of the active token).
    #[arg(long)]
    pub user: Option<String>,
    /// Manage the tokens of this organization (you must be one of its admins).
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// List the tokens (masked).
    List {
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Create a token and print it (shown only this once).
    Create {
        /// A name to recognise it by.
        name: String,
        /// read, write, admin or fineGrained
        #[arg(long, default_value = "read")]
        role: String,
        /// For fineGrained tokens: ENTITY=PERMISSION, repeatable (user:NAME, org:NAME, model:NS/NAME,
        /// dataset:NS/NAME, space:NS/NAME or global).
        #[arg(long = "permission", value_name = "ENTITY=PERM")]
        permissions: Vec<String>,
        /// For fineGrained tokens: read every public gated repo you were accepted to.
        #[arg(long)]
        can_read_gated_repos: bool,
        /// Expiry date (2027-01-31) or timestamp; default: never.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Rename a token.
    Rename {
        /// The token's name or id.
        token: String,
        new_name: String,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Give a token a new secret (the old one stops working at once) and print it.
    Refresh {
        token: String,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Revoke a token: the next request with it fails.
    Revoke {
        token: String,
        #[command(flatten)]
        account: AccountArgs,
    },
}

/// `ENTITY=PERM` pairs as the API's fineGrained object.
pub fn fine_grained(pairs: &[String], gated: bool) -> ClientResult<Value> {
    let (global, scoped) = hangar_core::policy::parse_permission_pairs(pairs).map_err(ClientError::BadRequest)?;
    Ok(json!({
        "canReadGatedRepos": gated,
        "global": global,
        "scoped": scoped.into_iter().map(|(k, n, p)| json!({"entity": {"type": k, "name": n}, "permissions": p})).collect::<Vec<_>>(),
    }))
}

/// The client authenticated with the account password: HANGAR_PASSWORD, else a hidden prompt.
async fn account_client(client: &Client, account: &AccountArgs) -> ClientResult<Client> {
    let user = match &account.user {
        Some(u) => u.clone(),
        None if client.has_token() => client.whoami().await.ok().and_then(|w| w["name"].as_str().map(str::to_owned)).ok_or_else(|| {
            ClientError::BadRequest("Give your username with --user (the active token does not name a user).".into())
        })?,
        None => return Err(ClientError::BadRequest("Give your username with --user (or log in first, so that it is known).".into())),
    };
    let password = match std::env::var("HANGAR_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => read_secret(&format!("Password for {user} on {}: ", client.endpoint))?,
    };
    Ok(client.with_password(&user, &password))
}

fn base(account: &AccountArgs) -> String {
    match &account.org {
        Some(o) => format!("/api/organizations/{o}/settings/tokens"),
        None => "/api/settings/tokens".into(),
    }
}

async fn find(c: &Client, account: &AccountArgs, token: &str) -> ClientResult<Value> {
    let list = c.json(c.request(Method::GET, &base(account)), None).await?;
    let items = list.as_array().cloned().unwrap_or_default();
    items
        .iter()
        .find(|t| t["id"].as_str() == Some(token))
        .or_else(|| items.iter().find(|t| t["name"].as_str() == Some(token) && t["state"] == "active"))
        .cloned()
        .ok_or_else(|| ClientError::NotFound(format!("No live token named '{token}' (nor with that id). See `hangar token list`.")))
}

fn show_secret(args: &ClientArgs, t: &Value, verb: &str) {
    let secret = t["token"].as_str().unwrap_or_default().to_owned();
    if args.json() {
        println!("{t}");
        return;
    }
    eprintln!("{verb} the token '{}' ({}). Store it now: it will not be shown again.", t["name"].as_str().unwrap_or(""), t["role"].as_str().unwrap_or(""));
    println!("{secret}");
}

fn line(t: &Value) -> String {
    format!(
        "{:<6} {:<28} {:<12} {:<18} {:<8} created {} last used {}{}",
        t["id"].as_str().unwrap_or(""),
        t["name"].as_str().unwrap_or(""),
        t["role"].as_str().unwrap_or(""),
        t["masked"].as_str().unwrap_or(""),
        t["state"].as_str().unwrap_or(""),
        t["createdAt"].as_str().map(|s| &s[..10.min(s.len())]).unwrap_or("-"),
        t["lastUsedAt"].as_str().map(|s| &s[..10.min(s.len())]).unwrap_or("never"),
        t["expiresAt"].as_str().map(|s| format!(", expires {s}")).unwrap_or_default(),
    )
}

pub async fn run(args: &ClientArgs, cmd: &TokenCommand) -> ClientResult<()> {
    let (_, client) = args.client()?;
    match cmd {
        TokenCommand::List { account } => {
            let c = account_client(&client, account).await?;
            let list = c.json(c.request(Method::GET, &base(account)), None).await?;
            emit(args, list.clone(), || {
                let items = list.as_array().cloned().unwrap_or_default();
                if items.is_empty() { "No tokens.".into() } else { items.iter().map(line).collect::<Vec<_>>().join("\n") }
            });
        }
        TokenCommand::Create { name, role, permissions, can_read_gated_repos, expires, account } => {
            let c = account_client(&client, account).await?;
            let mut body = json!({"name": name, "role": role});
            if role == "fineGrained" {
                body["fineGrained"] = fine_grained(permissions, *can_read_gated_repos)?;
            } else if !permissions.is_empty() || *can_read_gated_repos {
                return Err(ClientError::BadRequest("--permission and --can-read-gated-repos need --role fineGrained".into()));
            }
            if let Some(e) = expires {
                body["expiresAt"] = e.clone().into();
            }
            let t = c.json(c.request(Method::POST, &base(account)).json(&body), None).await?;
            show_secret(args, &t, "Created");
        }
        TokenCommand::Rename { token, new_name, account } => {
            let c = account_client(&client, account).await?;
            let t = find(&c, account, token).await?;
            let path = format!("{}/{}", base(account), t["id"].as_str().unwrap_or(""));
            let t = c.json(c.request(Method::PATCH, &path).json(&json!({"name": new_name})), None).await?;
            emit(args, t.clone(), || format!("Renamed to '{}'.", t["name"].as_str().unwrap_or("")));
        }
        TokenCommand::Refresh { token, account } => {
            let c = account_client(&client, account).await?;
            let t = find(&c, account, token).await?;
            let path = format!("{}/{}/refresh", base(account), t["id"].as_str().unwrap_or(""));
            let t = c.json(c.request(Method::POST, &path), None).await?;
            show_secret(args, &t, "Refreshed");
        }
        TokenCommand::Revoke { token, account } => {
            let c = account_client(&client, account).await?;
            let t = find(&c, account, token).await?;
            let path = format!("{}/{}", base(account), t["id"].as_str().unwrap_or(""));
            c.send(c.request(Method::DELETE, &path), None).await?;
            emit(args, json!({"revoked": t["name"], "id": t["id"]}), || format!("Revoked the token '{}': requests with it now fail.", t["name"].as_str().unwrap_or("")));
        }
    }
    Ok(())
}
