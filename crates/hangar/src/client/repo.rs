//! `hangar repo create | delete | info | ls | settings`.

use super::{emit, repo_type, ClientArgs};
use clap::{Args, Subcommand};
use hangar_client::{ClientError, ClientResult, RepoRef};
use serde_json::{json, Value};

#[derive(Args, Debug, Clone)]
pub struct RepoArg {
    /// The repository (NAMESPACE/NAME).
    pub repo: String,
    #[arg(long, default_value = "model")]
    pub repo_type: String,
}

impl RepoArg {
    pub fn get(&self) -> ClientResult<RepoRef> {
        RepoRef::new(repo_type(&self.repo_type)?, &self.repo)
    }
}

#[derive(Subcommand, Debug)]
pub enum RepoCommand {
    /// Create a repository.
    Create {
        #[command(flatten)]
        repo: RepoArg,
        #[arg(long)]
        private: bool,
        /// Succeed when it already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a repository and everything in it (needs an admin token).
    Delete {
        #[command(flatten)]
        repo: RepoArg,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Show a repository's details.
    Info {
        #[command(flatten)]
        repo: RepoArg,
        #[arg(long)]
        revision: Option<String>,
    },
    /// List the files of a revision.
    Ls {
        #[command(flatten)]
        repo: RepoArg,
        #[arg(long, default_value = "main")]
        revision: String,
    },
    /// Change visibility or gating.
    Settings {
        #[command(flatten)]
        repo: RepoArg,
        #[arg(long, conflicts_with = "public")]
        private: bool,
        #[arg(long)]
        public: bool,
        /// auto, manual or off
        #[arg(long)]
        gated: Option<String>,
    },
}

pub async fn run(args: &ClientArgs, cmd: &RepoCommand) -> ClientResult<()> {
    let (_, client) = args.client()?;
    match cmd {
        RepoCommand::Create { repo, private, exist_ok } => {
            let r = repo.get()?;
            client.require_token()?;
            match client.create_repo(&r, *private).await {
                Ok(v) => emit(args, v.clone(), || format!("Created {}", v["url"].as_str().unwrap_or(""))),
                Err(ClientError::Conflict(_)) if *exist_ok => emit(args, json!({"url": format!("{}{}", client.endpoint, r.web()), "existed": true}), || format!("{} already exists.", r.id)),
                Err(e) => return Err(e),
            }
        }
        RepoCommand::Delete { repo, yes } => {
            let r = repo.get()?;
            client.require_token()?;
            if !*yes {
                eprint!("Delete {} {} and all its files? Type its name to confirm: ", r.kind.as_str(), r.id);
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| ClientError::Local(e.to_string()))?;
                if line.trim() != r.id {
                    return Err(ClientError::BadRequest("Not confirmed; nothing was deleted.".into()));
                }
            }
            client.delete_repo(&r).await?;
            emit(args, json!({"deleted": r.id}), || format!("Deleted {}.", r.id));
        }
        RepoCommand::Info { repo, revision } => {
            let r = repo.get()?;
            let v = client.repo_info(&r, revision.as_deref()).await?;
            emit(args, v.clone(), || {
                format!(
                    "{} {}\n  private: {}\n  gated: {}\n  commit: {}\n  last modified: {}\n  files: {}",
                    r.kind.as_str(),
                    v["id"].as_str().unwrap_or(""),
                    v["private"],
                    v["gated"],
                    v["sha"].as_str().unwrap_or(""),
                    v["lastModified"].as_str().unwrap_or(""),
                    v["siblings"].as_array().map(Vec::len).unwrap_or(0)
                )
            });
        }
        RepoCommand::Ls { repo, revision } => {
            let r = repo.get()?;
            let files = client.list_files(&r, revision).await?;
            let v: Vec<Value> = files.iter().map(|f| json!({"path": f.path, "size": f.size, "oid": f.oid, "lfs": f.lfs_sha256})).collect();
            emit(args, Value::Array(v), || files.iter().map(|f| format!("{:>12}  {}{}", f.size, f.path, if f.lfs_sha256.is_some() { "  (LFS)" } else { "" })).collect::<Vec<_>>().join("\n"));
        }
        RepoCommand::Settings { repo, private, public, gated } => {
            let r = repo.get()?;
            client.require_token()?;
            let mut body = json!({});
            if *private {
                body["private"] = true.into();
            }
            if *public {
                body["private"] = false.into();
            }
            if let Some(g) = gated {
                body["gated"] = match g.as_str() {
                    "auto" | "manual" => g.clone().into(),
                    "off" | "false" => false.into(),
                    other => return Err(ClientError::BadRequest(format!("--gated '{other}': use auto, manual or off"))),
                };
            }
            if body.as_object().is_some_and(|o| o.is_empty()) {
                return Err(ClientError::BadRequest("Nothing to change: give --private, --public or --gated".into()));
            }
            client.update_settings(&r, body.clone()).await?;
            emit(args, body.clone(), || format!("Updated {}: {body}", r.id));
        }
    }
    Ok(())
}
