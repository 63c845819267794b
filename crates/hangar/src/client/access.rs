//! `hangar access-requests list | accept | reject | grant | ask` for gated repos.

use super::repo::RepoArg;
use super::{emit, ClientArgs};
use clap::Subcommand;
use hangar_client::{ClientError, ClientResult};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum AccessCommand {
    /// List the requests of a gated repo you own.
    List {
        #[command(flatten)]
        repo: RepoArg,
        #[arg(long, default_value = "pending")]
        status: String,
    },
    /// Accept a user's request.
    Accept {
        #[command(flatten)]
        repo: RepoArg,
        user: String,
    },
    /// Reject a user's request, optionally with a reason they will see.
    Reject {
        #[command(flatten)]
        repo: RepoArg,
        user: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Give a user access without a request.
    Grant {
        #[command(flatten)]
        repo: RepoArg,
        user: String,
    },
    /// Ask for access to a gated repo, with the form's fields as NAME=VALUE.
    Ask {
        #[command(flatten)]
        repo: RepoArg,
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
}

pub async fn run(args: &ClientArgs, cmd: &AccessCommand) -> ClientResult<()> {
    let (_, client) = args.client()?;
    client.require_token()?;
    match cmd {
        AccessCommand::List { repo, status } => {
            let r = repo.get()?;
            let v = client.json(client.request(Method::GET, &format!("{}/user-access-request/{status}", r.api())), Some(&r)).await?;
            emit(args, v.clone(), || {
                let items = v.as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    return format!("No {status} requests.");
                }
                items.iter().map(|i| format!("{:<24} {:<10} {}  {}", i["user"]["user"].as_str().unwrap_or(""), i["status"].as_str().unwrap_or(""), i["timestamp"].as_str().unwrap_or(""), i["fields"])).collect::<Vec<_>>().join("\n")
            });
        }
        AccessCommand::Accept { repo, user } | AccessCommand::Reject { repo, user, .. } => {
            let r = repo.get()?;
            let (status, reason) = match cmd {
                AccessCommand::Reject { reason, .. } => ("rejected", reason.clone()),
                _ => ("accepted", None),
            };
            let mut body = json!({"user": user, "status": status});
            if let Some(reason) = reason {
                body["rejectionReason"] = reason.into();
            }
            client.send(client.request(Method::POST, &format!("{}/user-access-request/handle", r.api())).json(&body), Some(&r)).await?;
            emit(args, body.clone(), || format!("{user}'s request to {} is now {status}.", r.id));
        }
        AccessCommand::Grant { repo, user } => {
            let r = repo.get()?;
            client.send(client.request(Method::POST, &format!("{}/user-access-request/grant", r.api())).json(&json!({"user": user})), Some(&r)).await?;
            emit(args, json!({"granted": user}), || format!("{user} now has access to {}.", r.id));
        }
        AccessCommand::Ask { repo, fields } => {
            let r = repo.get()?;
            let mut body = serde_json::Map::new();
            for f in fields {
                let (k, v) = f.split_once('=').ok_or_else(|| ClientError::BadRequest(format!("--field '{f}' is not NAME=VALUE")))?;
                body.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            let v = client.json(client.request(Method::POST, &format!("{}/ask-access", r.web())).json(&Value::Object(body)), Some(&r)).await?;
            emit(args, v.clone(), || match v["status"].as_str() {
                Some("accepted") => format!("Access to {} granted.", r.id),
                Some(s) => format!("Your request to {} is {s}: its owners will review it.", r.id),
                None => String::new(),
            });
        }
    }
    Ok(())
}
