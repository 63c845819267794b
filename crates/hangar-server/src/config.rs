//! Server configuration. The binary layers defaults, `hangar.toml`, `HANGAR_*` variables and flags
//! into this struct; tests build it directly.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `sqlite://…` (default: `<data_dir>/hangar.db`) or `postgres://…`.
    pub database_url: String,
    /// The URL clients use, when the server sits behind a proxy; otherwise URLs in responses are
    /// built from the `Host` the client called.
    pub public_url: Option<String>,
    /// Files larger than this are uploaded through LFS (preupload answers `lfs`).
    pub lfs_threshold: u64,
    /// Largest accepted commit request body (inline file contents included).
    pub max_commit_bytes: u64,
    /// Lifetime of signed LFS upload URLs.
    pub upload_url_ttl_secs: u64,
    /// Outgoing mail server; without one, mail is written to `<data_dir>/outbox/`.
    pub smtp: Option<SmtpConfig>,
    /// The sender of every mail.
    pub mail_from: String,
    /// Scan committed text files for Hangar tokens.
    pub secret_scanning: bool,
    /// How often the background job looks for tokens about to expire.
    pub expiry_check_interval_secs: u64,
    /// Failed authentications allowed per client address in one window before it gets 429.
    pub auth_failure_limit: u32,
    pub auth_failure_window_secs: u64,
    /// Lifetime of the Xet access tokens handed to clients (they ask again before it ends).
    pub xet_token_ttl_secs: u64,
    /// Unreferenced Xet data is collected once it has been untouched this long, so uploads in
    /// flight (xorbs sent, shard not yet) are never collected under them.
    pub xet_gc_grace_secs: u64,
    /// How often the background job collects unreferenced Xet data (0: never).
    pub xet_gc_interval_secs: u64,
    /// Monthly included credits of each plan (defaults: the Hub's).
    pub credits: hangar_core::plans::Credits,
    /// Hub rate limits per plan (defaults: the Hub's table, five-minute windows).
    pub rate_limits: crate::ratelimit::Limits,
}

/// How to reach the mail server.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `none` (plain, for a local relay), `starttls` or `tls`.
    pub tls: String,
}

/// Never prints the SMTP password.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .field("tls", &self.tls)
            .finish()
    }
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Self {
        let database_url = default_database_url(&data_dir);
        Config {
            data_dir,
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            database_url,
            public_url: None,
            lfs_threshold: 10 * 1000 * 1000,
            max_commit_bytes: 20 * 1024 * 1024 * 1024,
            upload_url_ttl_secs: 24 * 3600,
            smtp: None,
            mail_from: "Hangar <hangar@localhost>".into(),
            secret_scanning: true,
            expiry_check_interval_secs: 3600,
            auth_failure_limit: 20,
            auth_failure_window_secs: 300,
            xet_token_ttl_secs: 3600,
            xet_gc_grace_secs: 24 * 3600,
            xet_gc_interval_secs: 3600,
            credits: hangar_core::plans::Credits::default(),
            rate_limits: crate::ratelimit::Limits::default(),
        }
    }
}

pub fn default_database_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}", data_dir.join("hangar.db").display())
}

/// Never prints database passwords.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("lfs_threshold", &self.lfs_threshold)
            .field("max_commit_bytes", &self.max_commit_bytes)
            .field("smtp", &self.smtp)
            .field("secret_scanning", &self.secret_scanning)
            .finish()
    }
}

/// Hides the password of a `scheme://user:password@host` URL.
pub fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => u.to_owned(),
    }
}
