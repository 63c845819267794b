//! `hangar auth login | logout | whoami | list | switch`, sharing the official client's files.

use super::{emit, read_secret, ClientArgs};
use clap::Subcommand;
use hangar_client::env::{clean_token, TokenSource};
use hangar_client::{credentials, ClientError, ClientResult};
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Log in with an access token (--token, else a hidden prompt or one line of standard input)
    /// and make it the active token; with --browser, approve the login in a browser instead.
    Login {
        /// Log in through the browser (the OAuth device flow, as `hf auth login`).
        #[arg(long)]
        browser: bool,
    },
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
        AuthCommand::Login { browser } => {
            let mut extra = Vec::new();
            let token = match args.token.clone() {
                Some(t) => t,
                None if *browser => {
                    let (token, refresh, expires_at) = device_login(&client).await?;
                    extra.push(("refresh_token", refresh));
                    extra.push(("expires_at", expires_at.to_string()));
                    token
                }
                None => read_secret("Enter your token (input is hidden): ")?,
            };
            let token = clean_token(&token).ok_or_else(|| ClientError::BadRequest("No token given. Create one in your settings (Access Tokens), then paste it here.".into()))?;
            if !hangar_core::token::is_well_formed(&token) {
                return Err(ClientError::InvalidToken { origin: "the login prompt".into(), endpoint: client.endpoint.clone() });
            }
            let who = client.with_token(&token, TokenSource::Flag).whoami().await?;
            let name = who["auth"]["accessToken"]["displayName"].as_str().map(str::to_owned).unwrap_or_else(|| format!("oauth-{}", who["name"].as_str().unwrap_or("user")));
            let extra: Vec<(&str, String)> = extra.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            credentials::save_login_with(&env, &name, &token, &extra).map_err(|e| ClientError::Local(format!("cannot save the token in {}: {e}", env.token_path.display())))?;
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

/// The OAuth device flow: shows the URL and code, waits until the code is approved in a browser.
/// Returns the token, its refresh token and when it expires (Unix seconds).
async fn device_login(client: &hangar_client::api::Client) -> ClientResult<(String, String, i64)> {
    let resp = client
        .request(reqwest::Method::POST, "/oauth/device")
        .form(&[("client_id", "hangar-cli")])
        .send()
        .await
        .map_err(|e| client.network(e))?;
    if !resp.status().is_success() {
        return Err(ClientError::BadRequest(format!("{} does not offer browser login ({}). Log in with --token instead.", client.endpoint, resp.status())));
    }
    let info: Value = resp.json().await.map_err(|e| client.network(e))?;
    let url = info["verification_uri_complete"].as_str().or(info["verification_uri"].as_str()).unwrap_or_default().to_owned();
    let code = info["user_code"].as_str().unwrap_or_default().to_owned();
    let device_code = info["device_code"].as_str().unwrap_or_default().to_owned();
    let mut interval = info["interval"].as_u64().unwrap_or(5).max(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(info["expires_in"].as_u64().unwrap_or(900));
    eprintln!("Open this URL in your browser:\n    {url}\nand check that it shows the code: {code}\nWaiting for approval…");
    while std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
        let sent = client
            .request(reqwest::Method::POST, "/oauth/token")
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", device_code.as_str()), ("client_id", "hangar-cli")])
            .send()
            .await;
        let Ok(resp) = sent else { continue };
        let Ok(v) = resp.json::<Value>().await else { continue };
        if let Some(token) = v["access_token"].as_str() {
            let expires_at = v["expires_in"].as_i64().map(|s| chrono::Utc::now().timestamp() + s).unwrap_or(0);
            return Ok((token.to_owned(), v["refresh_token"].as_str().unwrap_or_default().to_owned(), expires_at));
        }
        match v["error"].as_str() {
            Some("authorization_pending") | None => {}
            Some("slow_down") => interval += 5,
            Some("access_denied") => return Err(ClientError::BadRequest("The login was denied in the browser.".into())),
            Some("expired_token") => return Err(ClientError::BadRequest("The code expired before it was approved. Run the login again.".into())),
            Some(other) => return Err(ClientError::BadRequest(format!("The login failed: {other}: {}", v["error_description"].as_str().unwrap_or("")))),
        }
    }
    Err(ClientError::BadRequest("The code expired before it was approved. Run the login again.".into()))
}
