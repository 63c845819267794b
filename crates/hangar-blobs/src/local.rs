//! Blobs on the local filesystem: `<root>/objects/ab/cd/<sha256>`, staged under `<root>/tmp`.

use crate::{check, BlobError, BlobReader, BlobResult, BlobStore, BlobStream, Expect, Staged};
use sha2::{Digest, Sha256};
use std::io::SeekFrom;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

const CHUNK: usize = 512 * 1024;
const READ_AHEAD: usize = 2;

pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating) a store under `root` and removes staging files left by a crash.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("objects"))?;
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(LocalBlobStore { root })
    }

    fn object_path(&self, sha256: &str) -> PathBuf {
        self.root.join("objects").join(&sha256[..2]).join(&sha256[2..4]).join(sha256)
    }
}

fn valid(sha256: &str) -> BlobResult<()> {
    if crate::is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(BlobError::NotFound(sha256.chars().take(64).collect()))
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    async fn stage(&self) -> BlobResult<Staged> {
        let tmp = tempfile::Builder::new().prefix("stage-").tempfile_in(self.root.join("tmp"))?;
        let (std_file, guard) = tmp.into_parts();
        let path = guard.to_path_buf();
        Ok(Staged { file: tokio::fs::File::from_std(std_file), path, hasher: Sha256::new(), len: 0, _guard: guard })
    }

    async fn commit(&self, mut staged: Staged, expect: &Expect) -> BlobResult<String> {
        let sha = check(&staged, expect)?;
        staged.file.flush().await?;
        drop(staged.file);
        self.commit_file(staged._guard, &sha).await?;
        Ok(sha)
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    async fn commit_file(&self, file: tempfile::TempPath, sha256: &str) -> BlobResult<()> {
        valid(sha256)?;
        let dest = self.object_path(sha256);
        if tokio::fs::try_exists(&dest).await? {
            return Ok(());
        }
        let parent = dest.parent().expect("object paths have parents").to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::OpenOptions::new().write(true).open(&file)?.sync_all()?;
            std::fs::create_dir_all(&parent)?;
            // The rename is atomic; syncing the directory makes it durable.
            file.persist(&dest).map_err(|e| e.error)?;
            std::fs::File::open(&parent)?.sync_all()
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(())
    }

    async fn exists(&self, sha256: &str) -> BlobResult<bool> {
        valid(sha256)?;
        Ok(tokio::fs::try_exists(self.object_path(sha256)).await?)
    }

    async fn delete(&self, sha256: &str) -> BlobResult<bool> {
        valid(sha256)?;
        match tokio::fs::remove_file(self.object_path(sha256)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_range(&self, sha256: &str, offset: u64, len: u64) -> BlobResult<BlobReader> {
        valid(sha256)?;
        let mut f = match tokio::fs::File::open(self.object_path(sha256)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound(sha256.into())),
            Err(e) => return Err(e.into()),
        };
        if offset > 0 {
            f.seek(SeekFrom::Start(offset)).await?;
        }
        Ok(Box::pin(f.take(len)))
    }

    /// Reads on a blocking thread, one chunk ahead of the socket, so disk reads overlap network
    /// writes; at most `READ_AHEAD + 1` chunks per download are in memory.
    async fn stream_range(&self, sha256: &str, offset: u64, len: u64) -> BlobResult<BlobStream> {
        use std::io::{Read, Seek};
        valid(sha256)?;
        let mut f = match std::fs::File::open(self.object_path(sha256)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound(sha256.into())),
            Err(e) => return Err(e.into()),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(READ_AHEAD);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = f.seek(std::io::SeekFrom::Start(offset)) {
                let _ = tx.blocking_send(Err(e));
                return;
            }
            let mut left = len;
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                // read_to_end fills spare capacity without zeroing it first.
                let mut buf = Vec::with_capacity(n);
                let res = match (&mut f).take(n as u64).read_to_end(&mut buf) {
                    Ok(got) if got == n => Ok(bytes::Bytes::from(buf)),
                    Ok(_) => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "blob shorter than its record")),
                    Err(e) => Err(e),
                };
                let failed = res.is_err();
                // A closed channel means the client went away: stop reading.
                if tx.blocking_send(res).is_err() || failed {
                    return;
                }
                left -= n as u64;
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })))
    }

    fn local_path(&self, sha256: &str) -> Option<PathBuf> {
        crate::is_sha256_hex(sha256).then(|| self.object_path(sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    async fn put(store: &LocalBlobStore, data: &[u8], expect: Expect) -> BlobResult<String> {
        let mut s = store.stage().await?;
        s.write(data).await?;
        store.commit(s, &expect).await
    }

    #[tokio::test]
    async fn round_trip_and_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let sha = put(&store, b"hello world", Expect::default()).await.unwrap();
        assert_eq!(sha, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assert!(store.exists(&sha).await.unwrap());
        let mut out = String::new();
        store.read_range(&sha, 6, 5).await.unwrap().read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "world");
        use futures::StreamExt;
        let chunks: Vec<_> = store.stream_range(&sha, 3, 5).await.unwrap().collect().await;
        let joined: Vec<u8> = chunks.into_iter().flat_map(|c| c.unwrap().to_vec()).collect();
        assert_eq!(joined, b"lo wo");
        // writing the same content again is harmless
        assert_eq!(put(&store, b"hello world", Expect::default()).await.unwrap(), sha);
    }

    #[tokio::test]
    async fn mismatches_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let wrong = "0".repeat(64);
        let err = put(&store, b"data", Expect { sha256: Some(wrong.clone()), size: None }).await.unwrap_err();
        assert!(matches!(err, BlobError::Mismatch { what: "sha256", .. }));
        let err = put(&store, b"data", Expect { sha256: None, size: Some(5) }).await.unwrap_err();
        assert!(matches!(err, BlobError::Mismatch { what: "size", .. }));
        assert!(!store.exists(&wrong).await.unwrap());
        let objects: Vec<_> = walk(&dir.path().join("objects"));
        assert!(objects.is_empty(), "{objects:?}");
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "staging file left behind");
    }

    #[tokio::test]
    async fn stale_staging_files_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::write(dir.path().join("tmp/stage-crashed"), b"partial").unwrap();
        let _store = LocalBlobStore::open(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    fn walk(p: &Path) -> Vec<PathBuf> {
        let mut out = vec![];
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
