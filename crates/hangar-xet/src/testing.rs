//! Test support: builds what hf_xet would upload for some data (always compiled so other
//! crates' tests can use it). Chunking is fixed-size rather than content-defined, which the
//! server cannot tell apart. These helpers panic on nonsensical arguments; they are for tests.

use sha2::{Digest, Sha256};
use xet_core_structures::merklehash::{self, MerkleHash};
use xet_core_structures::metadata_shard::chunk_verification::range_hash_from_chunks;
use xet_core_structures::metadata_shard::file_structs::{
    FileDataSequenceEntry, FileDataSequenceHeader, FileMetadataExt, FileVerificationEntry,
    MDBFileInfo,
};
use xet_core_structures::metadata_shard::shard_in_memory::MDBInMemoryShard;
use xet_core_structures::xorb_object::constants::MAX_CHUNK_SIZE;
use xet_core_structures::xorb_object::{
    reconstruct_xorb_with_footer, Chunk, CompressionScheme, RawXorbData, SerializedXorbObject,
};

use crate::{Term, XorbMeta};

/// Default number of chunks per xorb in [`upload`] (hf_xet targets about 1024).
pub const DEFAULT_CHUNKS_PER_XORB: usize = 1024;

/// What a client uploads for one file.
pub struct Upload {
    /// Xorb hash and body for each new xorb, serialized exactly as hf_xet 1.8 sends them:
    /// LZ4-compressed chunk frames *without* footer (see [`with_footer`] for the other form).
    pub xorbs: Vec<(MerkleHash, Vec<u8>)>,
    /// The shard: one file (terms, verification entries, optional sha256 extension) plus the
    /// xorb info of the new xorbs, serialized with footer (`MDBInMemoryShard::to_bytes`).
    pub shard: Vec<u8>,
    /// The Xet file hash.
    pub file_hash: MerkleHash,
    /// The SHA-256 of the data, lowercase hex.
    pub sha256: String,
    /// The file's terms, as written in the shard.
    pub terms: Vec<Term>,
}

/// Builds the upload of `data` split into `chunk_size`-byte chunks, at most
/// [`DEFAULT_CHUNKS_PER_XORB`] chunks per xorb.
pub fn upload(data: &[u8], chunk_size: usize, with_sha256: bool) -> Upload {
    upload_with_xorb_limit(data, chunk_size, DEFAULT_CHUNKS_PER_XORB, with_sha256)
}

/// Like [`upload`] with at most `chunks_per_xorb` chunks per xorb (one term per xorb).
pub fn upload_with_xorb_limit(
    data: &[u8],
    chunk_size: usize,
    chunks_per_xorb: usize,
    with_sha256: bool,
) -> Upload {
    assert!(
        chunk_size > 0 && chunk_size <= *MAX_CHUNK_SIZE,
        "chunk_size must be in 1..=MAX_CHUNK_SIZE"
    );
    assert!(chunks_per_xorb > 0);
    let chunks: Vec<Chunk> = data
        .chunks(chunk_size)
        .map(|c| Chunk::new(bytes::Bytes::copy_from_slice(c)))
        .collect();

    let mut xorbs = Vec::new();
    let mut terms = Vec::new();
    let mut verification = Vec::new();
    let mut shard = MDBInMemoryShard::default();
    for group in chunks.chunks(chunks_per_xorb) {
        let raw = RawXorbData::from_chunks(group, vec![0]);
        let info = raw.xorb_info.clone();
        let ser =
            SerializedXorbObject::from_xorb_with_compression(raw, CompressionScheme::LZ4, false, 0)
                .expect("serialize xorb");
        let unpacked: usize = group.iter().map(|c| c.data.len()).sum();
        terms.push(Term {
            xorb: ser.hash,
            chunk_start: 0,
            chunk_end: group.len() as u32,
            unpacked_len: unpacked as u32,
        });
        let hashes: Vec<MerkleHash> = group.iter().map(|c| c.hash).collect();
        verification.push(range_hash_from_chunks(&hashes));
        shard.add_xorb_block(info).expect("add xorb block");
        xorbs.push((ser.hash, ser.serialized_data));
    }

    let list: Vec<(MerkleHash, u64)> = chunks
        .iter()
        .map(|c| (c.hash, c.data.len() as u64))
        .collect();
    let file_hash = merklehash::file_hash(&list);
    let sha256 = format!("{:x}", Sha256::digest(data));
    add_file(
        &mut shard,
        file_hash,
        &terms,
        Some(&verification),
        with_sha256.then_some(sha256.as_str()),
    );
    Upload {
        xorbs,
        shard: shard.to_bytes().expect("serialize shard"),
        file_hash,
        sha256,
        terms,
    }
}

fn add_file(
    shard: &mut MDBInMemoryShard,
    file_hash: MerkleHash,
    terms: &[Term],
    verification: Option<&[MerkleHash]>,
    sha256: Option<&str>,
) {
    let metadata_ext =
        sha256.map(|s| FileMetadataExt::new(MerkleHash::from_hex(s).expect("sha256 hex")));
    shard
        .add_file_reconstruction_info(MDBFileInfo {
            metadata: FileDataSequenceHeader::new(
                file_hash,
                terms.len(),
                verification.is_some(),
                metadata_ext.is_some(),
            ),
            segments: terms
                .iter()
                .map(|t| {
                    FileDataSequenceEntry::new(t.xorb, t.unpacked_len, t.chunk_start, t.chunk_end)
                })
                .collect(),
            verification: verification
                .map(|v| v.iter().map(|h| FileVerificationEntry::new(*h)).collect())
                .unwrap_or_default(),
            metadata_ext,
        })
        .expect("add file");
}

/// Builds a shard holding one file with exactly these terms, verification entries (None = the
/// file carries none) and sha256 (lowercase hex), with no xorb section entries. Nothing is
/// checked, so this also builds the wrong shards negative tests need.
pub fn build_shard(
    file_hash: MerkleHash,
    terms: &[Term],
    verification: Option<&[MerkleHash]>,
    sha256: Option<&str>,
) -> Vec<u8> {
    let mut shard = MDBInMemoryShard::default();
    add_file(&mut shard, file_hash, terms, verification, sha256);
    shard.to_bytes().expect("serialize shard")
}

/// Builds a correct shard for a file made of chunks `[chunk_start, chunk_end)` of an existing
/// (already stored) xorb, as a client that deduplicated against it would. Returns the shard and
/// the file hash.
pub fn reuse_shard(xorb: &XorbMeta, chunk_start: u32, chunk_end: u32) -> (Vec<u8>, MerkleHash) {
    let chunks = &xorb.chunks[chunk_start as usize..chunk_end as usize];
    let list: Vec<(MerkleHash, u64)> = chunks
        .iter()
        .map(|c| (c.hash, c.unpacked_len as u64))
        .collect();
    let file_hash = merklehash::file_hash(&list);
    let unpacked: u64 = list.iter().map(|(_, n)| n).sum();
    let term = Term {
        xorb: xorb.hash,
        chunk_start,
        chunk_end,
        unpacked_len: unpacked as u32,
    };
    let hashes: Vec<MerkleHash> = chunks.iter().map(|c| c.hash).collect();
    let verification = [range_hash_from_chunks(&hashes)];
    (
        build_shard(file_hash, &[term], Some(&verification), None),
        file_hash,
    )
}

/// Appends the canonical footer to a footer-less xorb body (what a client sending footers
/// would upload).
pub fn with_footer(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    reconstruct_xorb_with_footer(&mut out, body).expect("reconstruct footer");
    out
}

/// Deterministic, partly compressible test data.
pub fn sample_data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (i / 64) % 2 == 0 {
                (i % 251) as u8
            } else {
                x as u8
            }
        })
        .collect()
}
