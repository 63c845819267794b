//! `hangar auth login | logout | whoami | list | switch`, sharing the official client's files.

use super::{emit, read_secret, ClientArgs};
use clap::Subcommand;
use hangar_client::env::{clean_token, TokenSource};
use hangar_client::{credentials, ClientError, ClientResult};
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Log in with an access token (--token, else a hidden prompt or one line of standard input)
    /// and make it the active token.
    Login,
    /// Forget the stored tokens (or only one of them).
    Logout {
        #[arg(long)]
        token_name: Option<String>,
    },
    /// Who the active token belongs to, and what it may do.
    Whoami,
    /// The stored tokens.
    List,
    /// Make another stored token the active one.
    Switch {
        #[arg(long)]
        token_name: Option<String>,
        /// The token name (same as --token-name).
        name: Option<String>,
    },
}

fn mask(t: &str) -> String {
    if t.len() > 8 {
        format!("{}…{}", &t[..3], &t[t.len() - 4..])
    } else {
        "****".into()
    }
}

/// The permission line `hf auth login` prints, with fine-grained scopes spelled out.
fn permission_summary(who: &Value) -> String {
    let at = &who["auth"]["accessToken"];
    match at["role"].as_str() {
        Some("fineGrained") => {
            let fg = &at["fineGrained"];
            let mut parts: Vec<String> = fg["scoped"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| format!("{} {}: {}", s["entity"]["type"].as_str().unwrap_or(""), s["entity"]["name"].as_str().unwrap_or(""), s["permissions"].as_array().map(|p| p.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(g) = fg["global"].as_array().filter(|g| !g.is_empty()) {
                parts.push(format!("global: {}", g.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")));
            }
            if fg["canReadGatedRepos"].as_bool() == Some(true) {
                parts.push("reads gated repos you were accepted to".into());
            }
            format!("fineGrained ({})", if parts.is_empty() { "no permissions".into() } else { parts.join("; ") })
        }
        Some(r) => r.to_owned(),
        None => "unknown".into(),
    }
}

pub async fn run(args: &ClientArgs, cmd: &AuthCommand) -> ClientResult<()> {
    let (env, client) = args.client()?;
    match cmd {
        AuthCommand::Login => {
            let token = match args.token.clone() {
                Some(t) => t,
                None => read_secret("Enter your token (input is hidden): ")?,
            };
            let token = clean_token(&token).ok_or_else(|| ClientError::BadRequest("No token given. Create one in your settings (Access Tokens), then paste it here.".into()))?;
            if !hangar_core::token::is_well_formed(&token) {
                return Err(ClientError::InvalidToken { origin: "the login prompt".into(), endpoint: client.endpoint.clone() });
            }
            let who = client.with_token(&token, TokenSource::Flag).whoami().await?;
            let name = who["auth"]["accessToken"]["displayName"].as_str().map(str::to_owned).unwrap_or_else(|| format!("oauth-{}", who["name"].as_str().unwrap_or("user")));
            credentials::save_login(&env, &name, &token).map_err(|e| ClientError::Local(format!("cannot save the token in {}: {e}", env.token_path.display())))?;
            let perm = permission_summary(&who);
            emit(args, json!({"user": who["name"], "tokenName": name, "role": who["auth"]["accessToken"]["role"], "endpoint": client.endpoint, "tokenPath": env.token_path}), || {
                format!(
                    "Token is valid (permission: {perm}).\nLogged in as {} on {}. The token is saved as '{name}' in {} and is now active.",
                    who["name"].as_str().unwrap_or(""),
                    client.endpoint,
                    env.stored_tokens_path.display()
                )
            });
        }
        AuthCommand::Logout { token_name } => {
            let found = credentials::logout(&env, token_name.as_deref()).map_err(|e| ClientError::Local(e.to_string()))?;
            if !found {
                return Err(ClientError::NotFound(format!("No stored token named '{}'. See `hangar auth list`.", token_name.as_deref().unwrap_or(""))));
            }
            emit(args, json!({"loggedOut": token_name.clone().unwrap_or_else(|| "all".into())}), || match token_name {
                Some(n) => format!("Removed the token '{n}'."),
                None => "Logged out: every stored token was removed.".into(),
            });
        }
        AuthCommand::Whoami => {
            let who = client.whoami().await?;
            let at = &who["auth"]["accessToken"];
            let orgs: Vec<String> = who["orgs"].as_array().map(|a| a.iter().map(|o| format!("{} ({})", o["name"].as_str().unwrap_or(""), o["roleInOrg"].as_str().unwrap_or("member"))).collect()).unwrap_or_default();
            let mut out = who.clone();
            out["endpoint"] = client.endpoint.clone().into();
            out["tokenSource"] = client.token_source().map(|s| s.to_string()).into();
            emit(args, out, || {
                let mut lines = vec![
                    format!("user: {}{}", who["name"].as_str().unwrap_or(""), if who["type"] == "org" { " (organization token)" } else { "" }),
                    format!("orgs: {}", if orgs.is_empty() { "-".into() } else { orgs.join(", ") }),
                    format!("token: {} ({})", at["displayName"].as_str().unwrap_or("-"), permission_summary(&who)),
                ];
                if let Some(exp) = at["expiration"].as_str() {
                    lines.push(format!("expires: {exp}"));
                }
                lines.push(format!("endpoint: {}", client.endpoint));
                if let Some(s) = client.token_source() {
                    lines.push(format!("token from: {s}"));
                }
                lines.join("\n")
            });
        }
        AuthCommand::List => {
            let stored = credentials::read_stored(&env);
            let active = credentials::active_token(&env);
            let items: Vec<Value> = stored
                .iter()
                .map(|(name, f)| {
                    let t = f.get("hf_token").cloned().unwrap_or_default();
                    json!({"name": name, "token": mask(&t), "active": active.as_deref() == Some(t.as_str())})
                })
                .collect();
            emit(args, Value::Array(items.clone()), || {
                if items.is_empty() {
                    return "No stored tokens. Log in with `hangar auth login`.".into();
                }
                items.iter().map(|i| format!("{} {:<32} {}", if i["active"] == true { "*" } else { " " }, i["name"].as_str().unwrap_or(""), i["token"].as_str().unwrap_or(""))).collect::<Vec<_>>().join("\n")
            });
        }
        AuthCommand::Switch { token_name, name } => {
            let n = token_name.clone().or(name.clone()).ok_or_else(|| ClientError::BadRequest("Which token? Give --token-name NAME (see `hangar auth list`).".into()))?;
            if !credentials::switch(&env, &n).map_err(|e| ClientError::Local(e.to_string()))? {
                return Err(ClientError::NotFound(format!("No stored token named '{n}'. See `hangar auth list`.")));
            }
            emit(args, json!({"active": n}), || format!("The active token is now '{n}'."));
        }
    }
    Ok(())
}
