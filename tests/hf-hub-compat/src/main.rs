//! `hf-hub-compat`: drives the official Rust `hf-hub` clients (0.4.x and 1.x)
//! against a Hub-compatible server, so the end-to-end tests can check that
//! Hangar speaks the protocol these clients expect.
//!
//! ```text
//! hf-hub-compat download --client {0.4-sync|0.4-tokio|1} --repo NS/NAME
//!     [--repo-type model|dataset|space] [--revision REV] --file PATH --cache-dir DIR
//! hf-hub-compat info --client {0.4-sync|1} --repo NS/NAME
//!     [--repo-type model|dataset|space] [--revision REV]
//! hf-hub-compat upload --client 1 --repo NS/NAME
//!     [--repo-type model|dataset|space] [--revision REV] --file LOCAL_PATH --path-in-repo PATH
//! ```
//!
//! `upload` commits one local file with hf-hub 1.x (`HFRepository::upload_file`;
//! 0.4 cannot upload): the client asks `preupload` how to send it, and for a
//! large file offers `xet` in the LFS batch request; it uploads through Xet only
//! when the server answers `"transfer": "xet"` and otherwise inlines the content
//! (base64) in the commit. It prints the commit id.
//!
//! The endpoint comes from `HF_ENDPOINT`. The token is whatever each client
//! version reads by itself: 0.4 reads only `$HF_HOME/token` (through
//! `ApiBuilder::from_env()`), 1.x reads `HF_TOKEN`, then `HF_TOKEN_PATH`, then
//! `$HF_HOME/token`. This program never passes a token explicitly.
//!
//! On success one JSON line goes to stdout; on a client error the error goes to
//! stderr and the exit code is 1 (2 for a usage error or a missing HF_ENDPOINT,
//! which would otherwise send both clients to huggingface.co).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hf_hub_04 as hub04;
use hf_hub_1 as hub1;
use serde_json::json;
use sha2::{Digest, Sha256};

type BoxError = Box<dyn std::error::Error>;

const USAGE: &str = "usage:
  hf-hub-compat download --client {0.4-sync|0.4-tokio|1} --repo NS/NAME [--repo-type model|dataset|space] [--revision REV] --file PATH --cache-dir DIR
  hf-hub-compat info --client {0.4-sync|1} --repo NS/NAME [--repo-type model|dataset|space] [--revision REV]
  hf-hub-compat upload --client 1 --repo NS/NAME [--repo-type model|dataset|space] [--revision REV] --file LOCAL_PATH --path-in-repo PATH

Environment: HF_ENDPOINT (server URL); token as each client reads it
(0.4: $HF_HOME/token only; 1.x: HF_TOKEN, HF_TOKEN_PATH, $HF_HOME/token).";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    V04Sync,
    V04Tokio,
    V1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Model,
    Dataset,
    Space,
}

#[derive(Debug)]
enum Command {
    Download,
    Info,
    Upload,
}

#[derive(Debug)]
struct Args {
    command: Command,
    client: Client,
    repo: String,
    kind: Kind,
    revision: Option<String>,
    file: Option<String>,
    cache_dir: Option<PathBuf>,
    path_in_repo: Option<String>,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut it = argv.iter();
    let command = match it.next().map(String::as_str) {
        Some("download") => Command::Download,
        Some("info") => Command::Info,
        Some("upload") => Command::Upload,
        Some("-h") | Some("--help") | Some("help") => return Err(String::new()),
        Some(other) => return Err(format!("unknown subcommand {other:?}")),
        None => return Err("missing subcommand".into()),
    };
    let mut client = None;
    let mut repo = None;
    let mut kind = Kind::Model;
    let mut revision = None;
    let mut file = None;
    let mut cache_dir = None;
    let mut path_in_repo = None;
    while let Some(flag) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (flag.as_str(), None),
        };
        if name == "-h" || name == "--help" {
            return Err(String::new());
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name {
            "--client" => {
                client = Some(match value.as_str() {
                    "0.4-sync" => Client::V04Sync,
                    "0.4-tokio" => Client::V04Tokio,
                    "1" => Client::V1,
                    other => return Err(format!("unknown --client {other:?}")),
                })
            }
            "--repo" => repo = Some(value),
            "--repo-type" => {
                kind = match value.as_str() {
                    "model" => Kind::Model,
                    "dataset" => Kind::Dataset,
                    "space" => Kind::Space,
                    other => return Err(format!("unknown --repo-type {other:?}")),
                }
            }
            "--revision" => revision = Some(value),
            "--file" => file = Some(value),
            "--cache-dir" => cache_dir = Some(PathBuf::from(value)),
            "--path-in-repo" => path_in_repo = Some(value),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let client = client.ok_or("--client is required")?;
    let repo = repo.ok_or("--repo is required")?;
    if !repo.contains('/') {
        return Err(format!("--repo must be NS/NAME, got {repo:?}"));
    }
    match command {
        Command::Download => {
            if file.is_none() {
                return Err("download: --file is required".into());
            }
            if cache_dir.is_none() {
                return Err("download: --cache-dir is required".into());
            }
        }
        Command::Info => {
            if client == Client::V04Tokio {
                return Err("info: --client must be 0.4-sync or 1".into());
            }
        }
        Command::Upload => {
            if client != Client::V1 {
                return Err("upload: --client must be 1 (hf-hub 0.4 cannot upload)".into());
            }
            if file.is_none() {
                return Err("upload: --file is required".into());
            }
            if path_in_repo.is_none() {
                return Err("upload: --path-in-repo is required".into());
            }
        }
    }
    Ok(Args {
        command,
        client,
        repo,
        kind,
        revision,
        file,
        cache_dir,
        path_in_repo,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

// ---------------------------------------------------------------- hf-hub 0.4

fn repo_04(args: &Args) -> hub04::Repo {
    let kind = match args.kind {
        Kind::Model => hub04::RepoType::Model,
        Kind::Dataset => hub04::RepoType::Dataset,
        Kind::Space => hub04::RepoType::Space,
    };
    let revision = args.revision.clone().unwrap_or_else(|| "main".to_string());
    hub04::Repo::with_revision(args.repo.clone(), kind, revision)
}

/// `ApiBuilder::from_env()` picks up HF_ENDPOINT and the token in
/// `$HF_HOME/token`; `with_cache_dir` only moves the cache (the token has
/// already been read by then).
fn api_04_sync(cache_dir: Option<&Path>) -> Result<hub04::api::sync::Api, BoxError> {
    let mut builder = hub04::api::sync::ApiBuilder::from_env().with_progress(false);
    if let Some(dir) = cache_dir {
        builder = builder.with_cache_dir(dir.to_path_buf());
    }
    Ok(builder.build()?)
}

fn api_04_tokio(cache_dir: Option<&Path>) -> Result<hub04::api::tokio::Api, BoxError> {
    let mut builder = hub04::api::tokio::ApiBuilder::from_env().with_progress(false);
    if let Some(dir) = cache_dir {
        builder = builder.with_cache_dir(dir.to_path_buf());
    }
    Ok(builder.build()?)
}

// ---------------------------------------------------------------- hf-hub 1.x

fn client_1(cache_dir: Option<&Path>) -> Result<hub1::HFClient, BoxError> {
    // main() has checked that HF_ENDPOINT is set; pass it explicitly rather
    // than rely on the builder's own fallback to the variable.
    let endpoint = std::env::var("HF_ENDPOINT")?;
    let mut builder = hub1::HFClient::builder().endpoint(endpoint);
    if let Some(dir) = cache_dir {
        builder = builder.cache_dir(dir.to_path_buf());
    }
    Ok(builder.build()?)
}

async fn download_1<T: hub1::RepoType>(
    repo: hub1::HFRepository<T>,
    file: &str,
    revision: Option<String>,
) -> Result<PathBuf, BoxError> {
    Ok(repo
        .download_file()
        .filename(file)
        .maybe_revision(revision)
        .send()
        .await?)
}

async fn upload_1<T: hub1::RepoType>(
    repo: hub1::HFRepository<T>,
    file: &Path,
    path_in_repo: &str,
    revision: Option<String>,
) -> Result<Option<String>, BoxError> {
    let info = repo
        .upload_file()
        .source(hub1::repository::AddSource::file(file))
        .path_in_repo(path_in_repo)
        .maybe_revision(revision)
        .send()
        .await?;
    Ok(info.commit_oid)
}

// ---------------------------------------------------------------- commands

fn sha256_of(path: &Path) -> Result<(u64, String), BoxError> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((size, hex))
}

fn download(args: &Args) -> Result<serde_json::Value, BoxError> {
    let file = args.file.as_deref().expect("checked by parse_args");
    let cache_dir = args.cache_dir.as_deref();
    let path = match args.client {
        Client::V04Sync => api_04_sync(cache_dir)?.repo(repo_04(args)).download(file)?,
        Client::V04Tokio => {
            let api = api_04_tokio(cache_dir)?;
            let repo = api.repo(repo_04(args));
            runtime()?.block_on(repo.download(file))?
        }
        Client::V1 => {
            let client = client_1(cache_dir)?;
            let (ns, name) = hub1::split_id(&args.repo);
            let rev = args.revision.clone();
            let rt = runtime()?;
            match args.kind {
                Kind::Model => rt.block_on(download_1(client.model(ns, name), file, rev))?,
                Kind::Dataset => rt.block_on(download_1(client.dataset(ns, name), file, rev))?,
                Kind::Space => rt.block_on(download_1(client.space(ns, name), file, rev))?,
            }
        }
    };
    let (size, sha256) = sha256_of(&path)?;
    Ok(json!({
        "path": path.to_string_lossy(),
        "size": size,
        "sha256": sha256,
    }))
}

fn info(args: &Args) -> Result<serde_json::Value, BoxError> {
    let (sha, files): (Option<String>, Option<Vec<String>>) = match args.client {
        Client::V04Sync => {
            let info = api_04_sync(None)?.repo(repo_04(args)).info()?;
            (
                Some(info.sha),
                Some(info.siblings.into_iter().map(|s| s.rfilename).collect()),
            )
        }
        Client::V04Tokio => unreachable!("rejected by parse_args"),
        Client::V1 => {
            let client = client_1(None)?;
            let (ns, name) = hub1::split_id(&args.repo);
            let rev = args.revision.clone();
            let rt = runtime()?;
            let files = |s: Option<Vec<hub1::repository::RepoSibling>>| {
                s.map(|v| v.into_iter().map(|s| s.rfilename).collect())
            };
            match args.kind {
                Kind::Model => {
                    let i = rt.block_on(client.model(ns, name).info().maybe_revision(rev).send())?;
                    (i.sha, files(i.siblings))
                }
                Kind::Dataset => {
                    let i =
                        rt.block_on(client.dataset(ns, name).info().maybe_revision(rev).send())?;
                    (i.sha, files(i.siblings))
                }
                Kind::Space => {
                    let i = rt.block_on(client.space(ns, name).info().maybe_revision(rev).send())?;
                    (i.sha, files(i.siblings))
                }
            }
        }
    };
    Ok(json!({ "sha": sha, "files": files }))
}

fn upload(args: &Args) -> Result<serde_json::Value, BoxError> {
    let file = Path::new(args.file.as_deref().expect("checked by parse_args"));
    let path_in_repo = args.path_in_repo.as_deref().expect("checked by parse_args");
    let client = client_1(None)?;
    let (ns, name) = hub1::split_id(&args.repo);
    let rev = args.revision.clone();
    let rt = runtime()?;
    let commit = match args.kind {
        Kind::Model => rt.block_on(upload_1(client.model(ns, name), file, path_in_repo, rev))?,
        Kind::Dataset => {
            rt.block_on(upload_1(client.dataset(ns, name), file, path_in_repo, rev))?
        }
        Kind::Space => rt.block_on(upload_1(client.space(ns, name), file, path_in_repo, rev))?,
    };
    Ok(json!({ "commit": commit, "path_in_repo": path_in_repo }))
}

fn report(err: &(dyn std::error::Error + 'static)) {
    eprintln!("error: {err}");
    let mut source = err.source();
    while let Some(s) = source {
        eprintln!("  caused by: {s}");
        source = s.source();
    }
    eprintln!("debug: {err:?}");
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Without HF_ENDPOINT both client versions would talk to huggingface.co.
    if std::env::var("HF_ENDPOINT").map_or(true, |e| e.trim().is_empty()) {
        eprintln!("error: HF_ENDPOINT must be set to the server under test");
        return ExitCode::from(2);
    }
    let result = match args.command {
        Command::Download => download(&args),
        Command::Info => info(&args),
        Command::Upload => upload(&args),
    };
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            report(err.as_ref());
            ExitCode::FAILURE
        }
    }
}
