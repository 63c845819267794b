//! `hangar upload` and `hangar download`.

use super::{emit, repo_type, ClientArgs};
use clap::Args;
use hangar_client::download::{download, DownloadOptions};
use hangar_client::upload::{upload, UploadOptions};
use hangar_client::{ClientResult, RepoRef};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The repository (NAMESPACE/NAME); created when missing.
    pub repo: String,
    /// A file or a folder. Default: the current folder.
    pub local: Option<PathBuf>,
    /// Where it goes in the repo. Default: the file's name, or the repo's root for a folder.
    pub path_in_repo: Option<String>,
    #[arg(long, default_value = "model")]
    pub repo_type: String,
    /// The branch to commit to (created when missing).
    #[arg(long)]
    pub revision: Option<String>,
    /// Create the repo private (when it does not exist yet).
    #[arg(long)]
    pub private: bool,
    /// Only upload files matching these patterns (fnmatch, e.g. "*.safetensors").
    #[arg(long)]
    pub include: Vec<String>,
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Delete remote files matching these patterns that are not part of this upload.
    #[arg(long)]
    pub delete: Vec<String>,
    #[arg(long)]
    pub commit_message: Option<String>,
    /// Open a pull request instead of committing to the branch.
    #[arg(long)]
    pub create_pr: bool,
}

#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// The repository (NAMESPACE/NAME).
    pub repo: String,
    /// Only these files (paths in the repo). Default: every file.
    pub files: Vec<String>,
    #[arg(long, default_value = "model")]
    pub repo_type: String,
    /// Branch, tag or commit. Default: main.
    #[arg(long)]
    pub revision: Option<String>,
    #[arg(long)]
    pub include: Vec<String>,
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Write the files into this folder instead of the cache.
    #[arg(long)]
    pub local_dir: Option<PathBuf>,
    /// The cache folder. Default: HF_HUB_CACHE, else HF_HOME/hub.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Parallel downloads.
    #[arg(long, default_value_t = 8)]
    pub max_workers: usize,
}

fn files(n: usize) -> String {
    if n == 1 { "1 file".into() } else { format!("{n} files") }
}

fn human_size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub async fn run_upload(args: &ClientArgs, a: &UploadArgs) -> ClientResult<()> {
    let (_, client) = args.client()?;
    let opts = UploadOptions {
        repo: RepoRef::new(repo_type(&a.repo_type)?, &a.repo)?,
        local: a.local.clone().unwrap_or_else(|| PathBuf::from(".")),
        path_in_repo: a.path_in_repo.clone(),
        revision: a.revision.clone(),
        private: a.private,
        include: a.include.clone(),
        exclude: a.exclude.clone(),
        delete: a.delete.clone(),
        commit_message: a.commit_message.clone(),
        create_pr: a.create_pr,
        progress: args.progress(),
    };
    let started = std::time::Instant::now();
    let out = upload(&client, &opts).await?;
    emit(args, serde_json::to_value(&out).unwrap_or_default(), || {
        let mut lines = Vec::new();
        if out.created_repo {
            lines.push(format!("Created {}", out.repo_url));
        }
        match (&out.commit_url, &out.pull_request_url) {
            (_, Some(pr)) => lines.push(format!("Opened a pull request: {pr}")),
            (Some(c), None) => lines.push(format!("Committed: {c}")),
            _ => lines.push(format!("Nothing to upload: {} already has these {}.", a.repo, files(out.unchanged.len()))),
        }
        if out.commit_url.is_some() {
            lines.push(format!(
                "{} uploaded ({} through LFS in {:.1} s), {} unchanged, {} deleted.",
                files(out.uploaded.len()),
                human_size(out.lfs_bytes_sent),
                started.elapsed().as_secs_f64(),
                out.unchanged.len(),
                out.deleted.len()
            ));
        }
        lines.join("\n")
    });
    Ok(())
}

pub async fn run_download(args: &ClientArgs, a: &DownloadArgs) -> ClientResult<()> {
    let (env, client) = args.client()?;
    let opts = DownloadOptions {
        repo: RepoRef::new(repo_type(&a.repo_type)?, &a.repo)?,
        files: a.files.clone(),
        revision: a.revision.clone(),
        include: a.include.clone(),
        exclude: a.exclude.clone(),
        local_dir: a.local_dir.clone(),
        cache_dir: a.cache_dir.clone().unwrap_or(env.hub_cache.clone()),
        progress: args.progress(),
        workers: a.max_workers,
    };
    let out = download(&client, &opts).await?;
    let path = if a.files.len() == 1 { out.path.join(&a.files[0]) } else { out.path.clone() };
    emit(args, json!({"path": path, "commit": out.commit, "downloaded": out.downloaded, "upToDate": out.up_to_date, "bytes": out.bytes}), || {
        if !args.quiet {
            eprintln!("{} downloaded ({}), {} already up to date.", files(out.downloaded.len()), human_size(out.bytes), out.up_to_date.len());
        }
        path.display().to_string()
    });
    Ok(())
}
