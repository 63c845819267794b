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
