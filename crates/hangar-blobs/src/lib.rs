//! Content-addressed blob storage. Objects are named by the SHA-256 of their bytes, written once,
//! never modified, and streamed in and out: nothing here holds a whole file in memory.
//!
//! Writes go through a [`Staged`] file: bytes are streamed to a temporary file while being hashed,
//! then [`BlobStore::commit`] verifies the hash and size and publishes the object atomically. A
//! crash at any point leaves either no object or a complete one; stray temporary files are removed
//! at start-up.

mod local;

pub use local::LocalBlobStore;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("content does not match: expected {what} {expected}, got {actual}")]
    Mismatch { what: &'static str, expected: String, actual: String },
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("blob storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type BlobResult<T> = Result<T, BlobError>;

pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;
pub type BlobStream = Pin<Box<dyn futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

/// A file being written to staging, hashed as it goes.
pub struct Staged {
    file: tokio::fs::File,
    path: PathBuf,
    hasher: Sha256,
    len: u64,
    _guard: tempfile::TempPath,
}

impl Staged {
    pub async fn write(&mut self, data: &[u8]) -> BlobResult<()> {
        self.hasher.update(data);
        self.len += data.len() as u64;
        self.file.write_all(data).await?;
        Ok(())
    }

    /// Copies everything from `reader` into the staged file.
    pub async fn write_from(&mut self, reader: &mut (dyn AsyncRead + Send + Unpin)) -> BlobResult<()> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            self.write(&buf[..n]).await?;
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SHA-256 of what was written so far.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

/// What a caller claims about an object; [`BlobStore::commit`] refuses the object otherwise.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A new empty staged file.
    async fn stage(&self) -> BlobResult<Staged>;
    /// Verifies and publishes a staged file; returns its SHA-256. Publishing content that already
    /// exists is a no-op. On a mismatch nothing is published and the staged file is removed.
    async fn commit(&self, staged: Staged, expect: &Expect) -> BlobResult<String>;
    /// Where callers that write with blocking I/O put their temporary files, so that
    /// [`BlobStore::commit_file`] can publish them by renaming.
    fn staging_dir(&self) -> PathBuf;
    /// Publishes a complete file written under [`BlobStore::staging_dir`] whose SHA-256 and size the
    /// caller computed while writing it.
    async fn commit_file(&self, file: tempfile::TempPath, sha256: &str) -> BlobResult<()>;
    async fn exists(&self, sha256: &str) -> BlobResult<bool>;
    /// Removes an object (garbage collection); false when it was not there.
    async fn delete(&self, sha256: &str) -> BlobResult<bool>;
    /// Opens `len` bytes starting at `offset`.
    async fn read_range(&self, sha256: &str, offset: u64, len: u64) -> BlobResult<BlobReader>;
    /// The same bytes as a stream of chunks, for response bodies. Backends may read ahead.
    async fn stream_range(&self, sha256: &str, offset: u64, len: u64) -> BlobResult<BlobStream> {
        let reader = self.read_range(sha256, offset, len).await?;
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024)))
    }
    /// A path on local disk for the object, when the backend keeps one (used to build git blobs
    /// and for zero-copy serving).
    fn local_path(&self, sha256: &str) -> Option<PathBuf>;
}

pub(crate) fn check(staged: &Staged, expect: &Expect) -> BlobResult<String> {
    let actual = staged.sha256();
    if let Some(size) = expect.size {
        if size != staged.len {
            return Err(BlobError::Mismatch { what: "size", expected: size.to_string(), actual: staged.len.to_string() });
        }
    }
    if let Some(sha) = &expect.sha256 {
        if !sha.eq_ignore_ascii_case(&actual) {
            return Err(BlobError::Mismatch { what: "sha256", expected: sha.clone(), actual });
        }
    }
    Ok(actual)
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
