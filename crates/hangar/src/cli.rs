use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hangar_server::config::{default_database_url, Config};
use hangar_store::DynStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hangar", version, about = "A self-hosted hub for models and datasets that speaks the Hugging Face Hub protocol")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Where the hub keeps its data; accepted before or after any subcommand.
#[derive(Args, Clone)]
struct Global {
    /// Data directory (SQLite database, blobs, uploads). Default: ./hangar-data
    #[arg(long, global = true, env = "HANGAR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default: DATA_DIR/hangar.db) or postgres://USER@HOST/DB
    #[arg(long, global = true, env = "HANGAR_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Configuration file (TOML). Default: hangar.toml in the working directory, when present.
    #[arg(long, global = true, env = "HANGAR_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub server.
    Serve(ServeArgs),
    /// Operator tasks against the database (safe while the server runs).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Log in and out; shares its login with the official `hf` client.
    Auth {
        #[command(subcommand)]
        cmd: crate::client::auth::AuthCommand,
        #[command(flatten)]
        client: crate::client::ClientArgs,
    },
    /// Your access tokens (or an organization's), managed with your password.
    Token {
        #[command(subcommand)]
        cmd: crate::client::tokens::TokenCommand,
        #[command(flatten)]
        client: crate::client::ClientArgs,
    },
    /// Upload a file or a folder to a repository in one commit.
    Upload {
        #[command(flatten)]
        args: crate::client::transfer::UploadArgs,
        #[command(flatten)]
        client: crate::client::ClientArgs,
    },
    /// Download files of a repository into the cache (or a folder).
    Download {
        #[command(flatten)]
        args: crate::client::transfer::DownloadArgs,
        #[command(flatten)]
        client: crate::client::ClientArgs,
    },
    /// Create, delete, inspect and configure repositories.
    Repo {
        #[command(subcommand)]
        cmd: crate::client::repo::RepoCommand,
        #[command(flatten)]
        client: crate::client::ClientArgs,
    },
    /// Review and answer access requests to gated repositories (or ask for access).
    AccessRequests {
        #[command(subcommand)]
        cmd: crate::client::access::AccessCommand,
        #[command(flatten)]
        client: crate::client::ClientArgs,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on. Default: 127.0.0.1:8080
    #[arg(long, env = "HANGAR_LISTEN")]
    listen: Option<String>,
    /// Public URL clients use, when behind a reverse proxy (e.g. https://hub.example.com).
    #[arg(long, env = "HANGAR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Files larger than this many bytes are uploaded through LFS. Default: 10000000
    #[arg(long, env = "HANGAR_LFS_THRESHOLD")]
    lfs_threshold: Option<u64>,
    /// Print an annotated example configuration file and exit.
    #[arg(long)]
    print_config: bool,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Remove Xet data no repository needs any more (after repository deletions), now.
    Gc {
        /// Spare data touched in the last SECONDS (default: the configured xet_gc_grace_secs).
        #[arg(long, value_name = "SECONDS")]
        grace_secs: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user account.
    Create {
        name: String,
        #[arg(long)]
        email: String,
        /// The password (at least 8 characters). Prefer --password-file in scripts.
        #[arg(long, env = "HANGAR_NEW_USER_PASSWORD", hide_env_values = true, required_unless_present = "password_file")]
        password: Option<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Mark the email address as verified.
        #[arg(long)]
        verified: bool,
        /// Make the user a site administrator.
        #[arg(long)]
        site_admin: bool,
    },
    /// Set a user's plan: free or pro.
    SetPlan { name: String, plan: String },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Set an organization's plan: free, or enterprise with its number of paid seats.
    SetPlan {
        name: String,
        plan: String,
        /// Paid seats (enterprise): each brings the plan's monthly credits.
        #[arg(long, default_value_t = 0)]
        seats: u32,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an access token and print it (shown only this once).
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// read, write, admin or fineGrained
        #[arg(long)]
        role: String,
        /// For fineGrained tokens: ENTITY=PERMISSION, repeatable. ENTITY is user:NAME, org:NAME,
        /// model:NS/NAME, dataset:NS/NAME, space:NS/NAME or global.
        #[arg(long = "permission", value_name = "ENTITY=PERM")]
        permissions: Vec<String>,
        /// For fineGrained tokens: read every public gated repo the user was accepted to.
        #[arg(long)]
        can_read_gated_repos: bool,
        /// Expire the token after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Print a JSON object instead of the bare token.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a user's token by name; the next request with it fails.
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
    /// List a user's tokens (masked).
    List {
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
}

/// `hangar.toml`: every key optional; environment variables and flags override it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    lfs_threshold: Option<u64>,
    max_commit_bytes: Option<u64>,
    mail_from: Option<String>,
    secret_scanning: Option<bool>,
    expiry_check_interval_secs: Option<u64>,
    auth_failure_limit: Option<u32>,
    xet_token_ttl_secs: Option<u64>,
    xet_gc_grace_secs: Option<u64>,
    xet_gc_interval_secs: Option<u64>,
    plans: Option<FilePlans>,
    rate_limits: Option<FileRateLimits>,
    smtp: Option<FileSmtp>,
}

/// `[rate_limits]`: Hub rate limits per plan, `"api/resolvers/pages"` requests per window.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileRateLimits {
    enabled: Option<bool>,
    window_secs: Option<u64>,
    anonymous: Option<String>,
    free: Option<String>,
    pro: Option<String>,
    enterprise: Option<String>,
}

/// `[plans]`: the monthly credits included in each plan, in dollars.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilePlans {
    free_credits: Option<String>,
    pro_credits: Option<String>,
    enterprise_credits_per_seat: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSmtp {
    host: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    tls: Option<String>,
}

const EXAMPLE_CONFIG: &str = r#"# hangar.toml: every key is optional. Precedence: defaults < this file < HANGAR_* variables < flags.

# Where the SQLite database, blobs and in-progress uploads live.
data_dir = "./hangar-data"

# sqlite://PATH (default: <data_dir>/hangar.db) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB for several nodes.
# database_url = "postgres://hangar@127.0.0.1:5432/hangar"

# Address to listen on.
listen = "127.0.0.1:8080"

# The URL clients use when Hangar sits behind a reverse proxy. Without it, URLs in responses use the
# host the client called.
# public_url = "https://hub.example.com"

# Files larger than this many bytes are uploaded through LFS (preupload answers "lfs").
lfs_threshold = 10000000

# Largest commit request body in bytes (inline base64 file contents included).
max_commit_bytes = 21474836480

# The sender of verification, reset and security mails.
mail_from = "Hangar <hangar@localhost>"

# Scan committed text files for Hangar tokens (revoked when pushed to a public repo).
secret_scanning = true

# How often (seconds) to look for tokens expiring within three days and mail their owners.
expiry_check_interval_secs = 3600

# Failed authentications per client address in five minutes before it gets 429.
auth_failure_limit = 20

# Lifetime (seconds) of the Xet access tokens clients get for uploads and downloads.
xet_token_ttl_secs = 3600

# Xet data no repository needs any more (after deletions) is removed once untouched this long
# (seconds), every xet_gc_interval_secs (0: only with `hangar admin gc`).
xet_gc_grace_secs = 86400
xet_gc_interval_secs = 3600

# Hub rate limits: requests per window in the API, resolver (downloads) and page buckets, per plan;
# anonymous callers are counted per address. The defaults are the Hub's table.
# [rate_limits]
# enabled = true
# window_secs = 300
# anonymous = "500/3000/100"
# free = "1000/5000/200"
# pro = "2500/12000/400"
# enterprise = "6000/50000/600"

# Monthly credits included in each plan, in dollars (the Hub's amounts).
# [plans]
# free_credits = "0.10"
# pro_credits = "2.00"
# enterprise_credits_per_seat = "2.00"

# Outgoing mail. Without this section, mail is written to <data_dir>/outbox/*.eml and its links logged.
# [smtp]
# host = "smtp.example.com"
# port = 587
# tls = "starttls"          # none, starttls or tls
# username = "hangar"
# password_file = "/run/secrets/smtp-password"
"#;

const KNOWN_ENV: &[&str] = &[
    "HANGAR_DATA_DIR",
    "HANGAR_DATABASE_URL",
    "HANGAR_CONFIG",
    "HANGAR_LISTEN",
    "HANGAR_PUBLIC_URL",
    "HANGAR_LFS_THRESHOLD",
    "HANGAR_NEW_USER_PASSWORD",
    "HANGAR_LOG",
    "HANGAR_MAIL_FROM",
    "HANGAR_SECRET_SCANNING",
    "HANGAR_EXPIRY_CHECK_INTERVAL_SECS",
    "HANGAR_AUTH_FAILURE_LIMIT",
    "HANGAR_XET_TOKEN_TTL_SECS",
    "HANGAR_XET_GC_GRACE_SECS",
    "HANGAR_XET_GC_INTERVAL_SECS",
    "HANGAR_PLAN_FREE_CREDITS",
    "HANGAR_RATE_LIMITS",
    "HANGAR_RATE_LIMIT_WINDOW_SECS",
    "HANGAR_RATE_LIMIT_ANONYMOUS",
    "HANGAR_RATE_LIMIT_FREE",
    "HANGAR_RATE_LIMIT_PRO",
    "HANGAR_RATE_LIMIT_ENTERPRISE",
    "HANGAR_PLAN_PRO_CREDITS",
    "HANGAR_PLAN_ENTERPRISE_CREDITS_PER_SEAT",
    "HANGAR_SMTP_HOST",
    "HANGAR_SMTP_PORT",
    "HANGAR_SMTP_USERNAME",
    "HANGAR_SMTP_PASSWORD",
    "HANGAR_SMTP_PASSWORD_FILE",
    "HANGAR_SMTP_TLS",
    "HANGAR_SMTP_FROM",
    "HANGAR_PASSWORD",
    "HANGAR_BIN",
];

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match env_var(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| anyhow::anyhow!("{name}='{v}' is not valid")),
    }
}

fn load_file_config(global: &Global) -> anyhow::Result<FileConfig> {
    let (path, required) = match &global.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("hangar.toml"), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read the configuration file {}", path.display())),
    }
}

fn build_config(global: &Global, serve: Option<&ServeArgs>) -> anyhow::Result<Config> {
    for (k, _) in std::env::vars() {
        if k.starts_with("HANGAR_") && !KNOWN_ENV.contains(&k.as_str()) {
            eprintln!("warning: unknown environment variable {k} is ignored");
        }
    }
    let file = load_file_config(global)?;
    let data_dir = global.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("hangar-data"));
    let mut config = Config::new(data_dir.clone());
    config.database_url = global.database_url.clone().or(file.database_url).unwrap_or_else(|| default_database_url(&data_dir));
    if let Some(listen) = serve.and_then(|s| s.listen.clone()).or(file.listen) {
        config.listen = listen.parse().with_context(|| format!("--listen '{listen}' is not an address like 127.0.0.1:8080"))?;
    }
    config.public_url = serve.and_then(|s| s.public_url.clone()).or(file.public_url).map(|u| u.trim_end_matches('/').to_owned());
    if let Some(t) = serve.and_then(|s| s.lfs_threshold).or(file.lfs_threshold) {
        config.lfs_threshold = t;
    }
    if let Some(m) = file.max_commit_bytes {
        config.max_commit_bytes = m;
    }
    if let Some(f) = env_var("HANGAR_MAIL_FROM").or(env_var("HANGAR_SMTP_FROM")).or(file.mail_from) {
        config.mail_from = f;
    }
    if let Some(b) = env_parse::<bool>("HANGAR_SECRET_SCANNING")?.or(file.secret_scanning) {
        config.secret_scanning = b;
    }
    if let Some(n) = env_parse::<u64>("HANGAR_EXPIRY_CHECK_INTERVAL_SECS")?.or(file.expiry_check_interval_secs) {
        config.expiry_check_interval_secs = n;
    }
    if let Some(n) = env_parse::<u32>("HANGAR_AUTH_FAILURE_LIMIT")?.or(file.auth_failure_limit) {
        config.auth_failure_limit = n;
    }
    if let Some(n) = env_parse::<u64>("HANGAR_XET_TOKEN_TTL_SECS")?.or(file.xet_token_ttl_secs) {
        config.xet_token_ttl_secs = n;
    }
    if let Some(n) = env_parse::<u64>("HANGAR_XET_GC_GRACE_SECS")?.or(file.xet_gc_grace_secs) {
        config.xet_gc_grace_secs = n;
    }
    if let Some(n) = env_parse::<u64>("HANGAR_XET_GC_INTERVAL_SECS")?.or(file.xet_gc_interval_secs) {
        config.xet_gc_interval_secs = n;
    }
    let rl = file.rate_limits.unwrap_or_default();
    if let Some(v) = env_parse::<String>("HANGAR_RATE_LIMITS")? {
        config.rate_limits.enabled = match v.as_str() {
            "on" | "true" | "1" => true,
            "off" | "false" | "0" => false,
            other => anyhow::bail!("HANGAR_RATE_LIMITS='{other}': use on or off"),
        };
    } else if let Some(enabled) = rl.enabled {
        config.rate_limits.enabled = enabled;
    }
    if let Some(n) = env_parse::<u64>("HANGAR_RATE_LIMIT_WINDOW_SECS")?.or(rl.window_secs) {
        anyhow::ensure!(n > 0, "the rate limit window must be at least one second");
        config.rate_limits.window_secs = n;
    }
    for (var, value, slot) in [
        ("HANGAR_RATE_LIMIT_ANONYMOUS", rl.anonymous, &mut config.rate_limits.anonymous),
        ("HANGAR_RATE_LIMIT_FREE", rl.free, &mut config.rate_limits.free),
        ("HANGAR_RATE_LIMIT_PRO", rl.pro, &mut config.rate_limits.pro),
        ("HANGAR_RATE_LIMIT_ENTERPRISE", rl.enterprise, &mut config.rate_limits.enterprise),
    ] {
        if let Some(v) = env_var(var).or(value) {
            *slot = hangar_server::ratelimit::Tier::parse(&v)
                .ok_or_else(|| anyhow::anyhow!("{var} / [rate_limits]: '{v}' is not api/resolvers/pages, e.g. 1000/5000/200"))?;
        }
    }
    let plans = file.plans.unwrap_or_default();
    for (var, value, slot) in [
        ("HANGAR_PLAN_FREE_CREDITS", plans.free_credits, &mut config.credits.free),
        ("HANGAR_PLAN_PRO_CREDITS", plans.pro_credits, &mut config.credits.pro),
        ("HANGAR_PLAN_ENTERPRISE_CREDITS_PER_SEAT", plans.enterprise_credits_per_seat, &mut config.credits.enterprise_per_seat),
    ] {
        if let Some(v) = env_var(var).or(value) {
            *slot = hangar_core::plans::parse_usd(&v).map_err(|e| anyhow::anyhow!("{var} / [plans]: {e}"))?;
        }
    }
    let fs = file.smtp.unwrap_or_default();
    if let Some(host) = env_var("HANGAR_SMTP_HOST").or(fs.host) {
        let tls = env_var("HANGAR_SMTP_TLS").or(fs.tls).unwrap_or_else(|| "starttls".into());
        let default_port = match tls.as_str() {
            "tls" => 465,
            "none" => 25,
            _ => 587,
        };
        let password_file = env_var("HANGAR_SMTP_PASSWORD_FILE").map(PathBuf::from).or(fs.password_file);
        let password = match password_file {
            Some(p) => Some(std::fs::read_to_string(&p).with_context(|| format!("cannot read the SMTP password file {}", p.display()))?.trim_end().to_owned()),
            None => env_var("HANGAR_SMTP_PASSWORD").or(fs.password),
        };
        config.smtp = Some(hangar_server::config::SmtpConfig {
            host,
            port: env_parse::<u16>("HANGAR_SMTP_PORT")?.or(fs.port).unwrap_or(default_port),
            username: env_var("HANGAR_SMTP_USERNAME").or(fs.username),
            password,
            tls,
        });
    }
    Ok(config)
}

async fn open_store(config: &Config) -> anyhow::Result<DynStore> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    hangar_store::connect(&config.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", hangar_server::config::redact_url(&config.database_url)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn serve(global: &Global, args: &ServeArgs) -> anyhow::Result<()> {
    if args.print_config {
        print!("{EXAMPLE_CONFIG}");
        return Ok(());
    }
    let config = build_config(global, Some(args))?;
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (is another server using it? pick one with --listen)", config.listen))?;
    let addr = listener.local_addr()?;
    let state = hangar_server::AppState::open(config.clone()).await?;
    let url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    println!("Hangar is listening on {url}");
    println!("  data: {}   database: {}", config.data_dir.display(), state.store.backend());
    println!("To begin:");
    println!("  hangar admin user create alice --email alice@example.com --password '…' --verified --data-dir {}", config.data_dir.display());
    println!("  hangar admin token create --user alice --name laptop --role write --data-dir {}", config.data_dir.display());
    println!("  HF_ENDPOINT={url} hf auth login --token hf_…");
    hangar_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn admin(global: &Global, cmd: &AdminCommand) -> anyhow::Result<()> {
    let config = build_config(global, None)?;
    let store = open_store(&config).await?;
    match cmd {
        AdminCommand::Migrate => {
            println!("database is up to date ({})", store.backend());
        }
        AdminCommand::Gc { grace_secs, json } => {
            drop(store);
            let grace = grace_secs.unwrap_or(config.xet_gc_grace_secs);
            let state = hangar_server::state::AppState::open(config).await?;
            let c = hangar_server::handlers::xet::collect_garbage(&state, grace).await?;
            if *json {
                println!("{}", serde_json::to_string(&c)?);
            } else {
                println!("removed {} files and {} xorbs ({} bytes)", c.files, c.xorbs, c.bytes);
            }
        }
        AdminCommand::User(UserCommand::Create { name, email, password, password_file, verified, site_admin }) => {
            let password = match (password, password_file) {
                (_, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?.trim_end_matches(['\n', '\r']).to_owned(),
                (Some(p), None) => p.clone(),
                (None, None) => anyhow::bail!("give --password or --password-file"),
            };
            let u = hangar_server::admin::create_user(&store, name, email, &password, *verified, *site_admin).await?;
            println!("created user {}{}", u.name, if u.email_verified { "" } else { " (email not verified)" });
        }
        AdminCommand::User(UserCommand::SetPlan { name, plan }) => {
            let plan = hangar_server::admin::set_user_plan(&store, name, plan).await?;
            println!("{name} is now on the {plan} plan ({} of monthly credits)", usd(config.credits.monthly(plan, 0)));
        }
        AdminCommand::Org(OrgCommand::SetPlan { name, plan, seats }) => {
            let plan = hangar_server::admin::set_org_plan(&store, name, plan, i64::from(*seats)).await?;
            println!("{name} is now on the {plan} plan ({} of monthly credits)", usd(config.credits.monthly(plan, i64::from(*seats))));
        }
        AdminCommand::Token(TokenCommand::Create { user, name, role, permissions, can_read_gated_repos, expires_in_days, json }) => {
            let (record, secret) = if role == "fineGrained" {
                let state = hangar_server::AppState::open(config.clone()).await?;
                hangar_server::admin::create_fine_grained_token(&state, user, name, permissions, *can_read_gated_repos, *expires_in_days).await?
            } else {
                if !permissions.is_empty() || *can_read_gated_repos {
                    anyhow::bail!("--permission and --can-read-gated-repos apply to --role fineGrained only");
                }
                hangar_server::admin::create_token(&store, user, name, role, *expires_in_days).await?
            };
            if *json {
                let out = serde_json::json!({
                    "token": secret.expose(),
                    "name": record.name,
                    "role": record.role,
                    "user": user,
                    "createdAt": record.created_at,
                    "expiresAt": record.expires_at,
                });
                println!("{out}");
            } else {
                println!("{}", secret.expose());
            }
        }
        AdminCommand::Token(TokenCommand::Revoke { user, name }) => {
            hangar_server::admin::revoke_token(&store, user, name).await?;
            eprintln!("revoked {user}'s token '{name}'");
        }
        AdminCommand::Token(TokenCommand::List { user, json }) => {
            let tokens = hangar_server::admin::list_tokens(&store, user).await?;
            if *json {
                let items: Vec<_> = tokens
                    .iter()
                    .map(|t| serde_json::json!({"name": t.name, "role": t.role, "masked": hangar_core::token::mask(&t.last4), "createdAt": t.created_at, "lastUsedAt": t.last_used_at, "expiresAt": t.expires_at, "revoked": t.revoked_at.is_some()}))
                    .collect();
                println!("{}", serde_json::Value::Array(items));
            } else {
                for t in tokens {
                    let state = if t.revoked_at.is_some() { "revoked" } else { "live" };
                    println!("{:<24} {:<6} {:<12} {state}", t.name, t.role, hangar_core::token::mask(&t.last4));
                }
            }
        }
    }
    Ok(())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HANGAR_LOG").unwrap_or_else(|_| {
        let default = if matches!(cli.command, Command::Serve(_)) { "info,sqlx=warn" } else { "warn" };
        tracing_subscriber::EnvFilter::new(default)
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    use crate::client as c;
    match &cli.command {
        Command::Auth { cmd, client } => return c::run(&rt, client, c::auth::run(client, cmd)),
        Command::Token { cmd, client } => return c::run(&rt, client, c::tokens::run(client, cmd)),
        Command::Upload { args, client } => return c::run(&rt, client, c::transfer::run_upload(client, args)),
        Command::Download { args, client } => return c::run(&rt, client, c::transfer::run_download(client, args)),
        Command::Repo { cmd, client } => return c::run(&rt, client, c::repo::run(client, cmd)),
        Command::AccessRequests { cmd, client } => return c::run(&rt, client, c::access::run(client, cmd)),
        Command::Serve(_) | Command::Admin(_) => {}
    }
    let result = rt.block_on(async {
        match &cli.command {
            Command::Serve(args) => serve(&cli.global, args).await,
            Command::Admin(cmd) => admin(&cli.global, cmd).await,
            _ => unreachable!("client commands return above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Micro-dollars as dollars: to the cent, or finer when the amount needs it.
fn usd(micro: i64) -> String {
    let (whole, frac) = (micro / 1_000_000, micro % 1_000_000);
    if frac % 10_000 == 0 {
        format!("${whole}.{:02}", frac / 10_000)
    } else {
        format!("${whole}.{frac:06}").trim_end_matches('0').to_owned()
    }
}
