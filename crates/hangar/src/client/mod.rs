//! The client commands: `auth`, `token`, `upload`, `download`, `repo`, `access-requests`. They
//! follow the official client's conventions (HF_ENDPOINT, HF_TOKEN, the token files, the cache),
//! print what they did, and exit with the codes documented in docs/CLI.md.

pub mod access;
pub mod auth;
pub mod repo;
pub mod tokens;
pub mod transfer;

use clap::{Args, ValueEnum};
use hangar_client::{Client, ClientError, ClientResult, Env};
use hangar_core::RepoType;
use std::io::IsTerminal as _;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// The hub's URL. Default: HF_ENDPOINT, else http://127.0.0.1:8080
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// The token to use instead of HF_TOKEN or the logged-in one.
    #[arg(long, global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Output for people (default) or for scripts.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub format: Format,
    /// Shorthand for --format json.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl ClientArgs {
    pub fn json(&self) -> bool {
        self.json || self.format == Format::Json
    }
    pub fn progress(&self) -> bool {
        !self.quiet && !self.json() && std::io::stderr().is_terminal()
    }
    pub fn env(&self) -> Env {
        let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
        Env::resolve(&cwd, self.endpoint.as_deref(), self.token.as_deref())
    }
    pub fn client(&self) -> ClientResult<(Env, Client)> {
        let env = self.env();
        let client = Client::new(&env)?;
        Ok((env, client))
    }
}

pub fn repo_type(s: &str) -> ClientResult<RepoType> {
    RepoType::parse(s).map_err(|e| ClientError::BadRequest(e.0))
}

/// Prints a JSON value (for --format json) or a human line.
pub fn emit(args: &ClientArgs, json: serde_json::Value, human: impl FnOnce() -> String) {
    if args.json() {
        println!("{json}");
    } else {
        let text = human();
        if !text.is_empty() {
            println!("{text}");
        }
    }
}

/// Runs a client command: Ctrl-C interrupts cleanly, errors are printed with what to do, and the
/// exit code says which kind of failure it was.
pub fn run<F>(rt: &tokio::runtime::Runtime, args: &ClientArgs, fut: F) -> ExitCode
where
    F: std::future::Future<Output = ClientResult<()>>,
{
    let result = rt.block_on(async {
        tokio::select! {
            r = fut => r,
            _ = tokio::signal::ctrl_c() => Err(ClientError::Interrupted),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if args.json() {
                println!("{}", serde_json::json!({"error": e.kind(), "message": e.to_string(), "exitCode": e.exit_code()}));
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Reads a secret: a hidden prompt on a terminal, else one line of standard input.
pub fn read_secret(prompt: &str) -> ClientResult<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|e| ClientError::Local(format!("cannot read the input: {e}")))
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| ClientError::Local(format!("cannot read standard input: {e}")))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
