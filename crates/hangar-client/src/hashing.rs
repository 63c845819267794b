//! Hashes of local files, computed in one streamed pass: SHA-256 (the LFS oid) and the git blob id.

use sha1::Digest as _;
use std::io::Read as _;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct FileHashes {
    pub size: u64,
    pub sha256: String,
    pub git_oid: String,
    /// The first 512 bytes, which the server uses to tell text from binary.
    pub sample: Vec<u8>,
}

pub fn hash_file(path: &Path) -> std::io::Result<FileHashes> {
    let mut f = std::fs::File::open(path)?;
    let size = f.metadata()?.len();
    let mut sha256 = sha2::Sha256::new();
    let mut sha1 = sha1::Sha1::new();
    sha1.update(format!("blob {size}\0").as_bytes());
    let mut buf = vec![0u8; 1 << 20];
    let mut sample = Vec::new();
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if sample.len() < 512 {
            sample.extend_from_slice(&buf[..n.min(512 - sample.len())]);
        }
        sha256.update(&buf[..n]);
        sha1.update(&buf[..n]);
        total += n as u64;
    }
    if total != size {
        return Err(std::io::Error::other(format!("{} changed while it was read", path.display())));
    }
    Ok(FileHashes { size, sha256: hex::encode(sha256.finalize()), git_oid: hex::encode(sha1.finalize()), sample })
}

/// The git-lfs pointer text standing for a large file.
pub fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

pub fn git_blob_id(data: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}
