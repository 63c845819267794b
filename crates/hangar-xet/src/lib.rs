//! Xet storage protocol format layer for Hangar.
//!
//! This crate is the pure, I/O-free part of a Xet CAS server: it verifies uploaded xorbs and
//! shards, checks file reconstructions against stored xorbs, decodes chunk data for downloads
//! and builds global-dedup answers. All binary formats come from `xet-core-structures`, the
//! crate Hugging Face publishes for them; this crate adds the server-side checks and limits.
//!
//! Every error is an [`XetError`] whose message is meant to be returned to the client as an
//! HTTP 400 (except [`XetError::Internal`]). No function panics on malformed input.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::time::Duration;

use xet_core_structures::merklehash::{self, HMACKey};
use xet_core_structures::metadata_shard::chunk_verification::range_hash_from_chunks;
use xet_core_structures::metadata_shard::constants::hash_is_global_dedup_eligible;
use xet_core_structures::metadata_shard::shard_in_memory::MDBInMemoryShard;
use xet_core_structures::metadata_shard::streaming_shard::MDBMinimalShard;
use xet_core_structures::metadata_shard::xorb_structs::{
    MDBXorbInfo, XorbChunkSequenceEntry, XorbChunkSequenceHeader, MDB_DEFAULT_XORB_FLAG,
};
use xet_core_structures::metadata_shard::MDBShardInfo;
use xet_core_structures::xorb_object::constants::is_stable_chunk_size;
use xet_core_structures::xorb_object::{
    deserialize_chunk_to_writer, parse_chunk_header, reconstruct_xorb_with_footer, XorbObject,
    XORB_CHUNK_HEADER_LENGTH,
};
use xet_core_structures::CoreError;

pub use xet_core_structures::merklehash::MerkleHash;

pub mod testing;

#[cfg(test)]
mod tests;

/// Largest xorb upload body accepted by [`verify_xorb`] (128 MiB).
pub const MAX_XORB_BODY_BYTES: usize = 128 * 1024 * 1024;
/// Largest number of chunks accepted in one xorb by [`verify_xorb`].
pub const MAX_XORB_CHUNKS: usize = 65536;
/// Largest total uncompressed size of one xorb accepted by [`verify_xorb`] (256 MiB; hf_xet
/// cuts xorbs at 64 MiB). Keeps every offset well inside `u32`.
pub const MAX_XORB_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// Largest shard upload body accepted by [`parse_shard`] (256 MiB).
pub const MAX_SHARD_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The error type of every fallible function in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XetError {
    /// The client sent something malformed or inconsistent; the message says what (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// A server-side inconsistency that is not the client's fault (HTTP 500).
    #[error("internal xet format error: {0}")]
    Internal(String),
}

fn invalid(msg: impl Into<String>) -> XetError {
    XetError::Invalid(msg.into())
}

/// Parses a hash written as 64 hex characters in Xet's string order (as in URLs, see
/// [`MerkleHash::from_hex`]).
pub fn parse_hash(hex: &str) -> Result<MerkleHash, XetError> {
    MerkleHash::from_hex(hex)
        .map_err(|_| invalid(format!("invalid hash {hex:?}: expected 64 hex characters")))
}

fn hash_from_bytes(b: &[u8]) -> MerkleHash {
    let mut a = [0u8; 32];
    a.copy_from_slice(&b[..32]);
    MerkleHash::from(a)
}

fn the_empty_file_hash() -> MerkleHash {
    merklehash::file_hash(&[])
}

// ---------------------------------------------------------------------------------------------
// Xorb metadata
// ---------------------------------------------------------------------------------------------

/// What the server keeps about one stored xorb, from its verified footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorbMeta {
    /// The xorb hash.
    pub hash: MerkleHash,
    /// Every chunk of the xorb, in order.
    pub chunks: Vec<ChunkMeta>,
}

/// One chunk of a stored xorb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    /// The chunk hash (`compute_data_hash` of its uncompressed bytes).
    pub hash: MerkleHash,
    /// Exclusive end of this chunk's serialized bytes (header + compressed data) in the xorb.
    pub byte_end: u32,
    /// Uncompressed length of the chunk.
    pub unpacked_len: u32,
}

const XORB_META_VERSION: u8 = 1;
const CHUNK_META_LEN: usize = 32 + 4 + 4;

impl XorbMeta {
    /// Compact binary encoding for a database column: version byte, xorb hash, chunk count
    /// (u32 LE), then per chunk its hash, byte_end and unpacked_len (u32 LE).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 32 + 4 + self.chunks.len() * CHUNK_META_LEN);
        out.push(XORB_META_VERSION);
        out.extend_from_slice(self.hash.as_bytes());
        out.extend_from_slice(&(self.chunks.len() as u32).to_le_bytes());
        for c in &self.chunks {
            out.extend_from_slice(c.hash.as_bytes());
            out.extend_from_slice(&c.byte_end.to_le_bytes());
            out.extend_from_slice(&c.unpacked_len.to_le_bytes());
        }
        out
    }

    /// Decodes [`XorbMeta::to_bytes`] output, checking its length and that chunk ends increase.
    pub fn from_bytes(b: &[u8]) -> Result<Self, XetError> {
        let bad = |what: &str| invalid(format!("invalid stored xorb metadata: {what}"));
        if b.len() < 37 {
            return Err(bad("too short"));
        }
        if b[0] != XORB_META_VERSION {
            return Err(bad("unknown version"));
        }
        let hash = hash_from_bytes(&b[1..33]);
        let n = u32::from_le_bytes([b[33], b[34], b[35], b[36]]) as usize;
        let body = &b[37..];
        if n.checked_mul(CHUNK_META_LEN) != Some(body.len()) {
            return Err(bad("length does not match chunk count"));
        }
        let mut chunks = Vec::with_capacity(n);
        let mut prev_end = 0u32;
        for rec in body.chunks_exact(CHUNK_META_LEN) {
            let byte_end = u32::from_le_bytes([rec[32], rec[33], rec[34], rec[35]]);
            let unpacked_len = u32::from_le_bytes([rec[36], rec[37], rec[38], rec[39]]);
            if byte_end <= prev_end {
                return Err(bad("chunk byte ends are not increasing"));
            }
            prev_end = byte_end;
            chunks.push(ChunkMeta {
                hash: hash_from_bytes(&rec[..32]),
                byte_end,
                unpacked_len,
            });
        }
        Ok(Self { hash, chunks })
    }

    fn check_range(&self, chunk_start: u32, chunk_end: u32) -> Option<(usize, usize)> {
        let (s, e) = (chunk_start as usize, chunk_end as usize);
        (s < e && e <= self.chunks.len()).then_some((s, e))
    }

    /// Serialized byte range `[start, end)` of chunks `[chunk_start, chunk_end)`, None when out
    /// of range or empty.
    pub fn byte_range(&self, chunk_start: u32, chunk_end: u32) -> Option<(u64, u64)> {
        let (s, e) = self.check_range(chunk_start, chunk_end)?;
        let start = if s == 0 {
            0
        } else {
            self.chunks[s - 1].byte_end as u64
        };
        Some((start, self.chunks[e - 1].byte_end as u64))
    }

    /// Total uncompressed length of chunks `[chunk_start, chunk_end)`, None when out of range or
    /// empty.
    pub fn unpacked_len(&self, chunk_start: u32, chunk_end: u32) -> Option<u64> {
        let (s, e) = self.check_range(chunk_start, chunk_end)?;
        Some(
            self.chunks[s..e]
                .iter()
                .map(|c| c.unpacked_len as u64)
                .sum(),
        )
    }

    /// Chunks of this xorb that go into the global dedup index (`hash_is_global_dedup_eligible`),
    /// with their index. The reference server also indexes the first chunk of every uploaded
    /// file (see [`ShardFile::first_chunk`]).
    pub fn global_dedup_chunks(&self) -> Vec<(MerkleHash, u32)> {
        self.chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| hash_is_global_dedup_eligible(&c.hash))
            .map(|(i, c)| (c.hash, i as u32))
            .collect()
    }

    /// Total uncompressed size of the xorb.
    pub fn total_unpacked_len(&self) -> u64 {
        self.chunks.iter().map(|c| c.unpacked_len as u64).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Chunk decoding
// ---------------------------------------------------------------------------------------------

/// A writer that refuses to grow past the length a chunk header declares, so a hostile chunk
/// cannot make the server decompress more than `MAX_CHUNK_SIZE` bytes.
struct CappedWriter<'a> {
    out: &'a mut Vec<u8>,
    remaining: usize,
}

impl Write for CappedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.remaining {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "chunk decompresses to more bytes than its header declares",
            ));
        }
        self.remaining -= buf.len();
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Result of decoding one chunk frame at a position.
enum Frame {
    /// A chunk ending at `end` (exclusive) that decoded to `len` bytes appended to the output.
    Chunk { end: usize, len: usize },
    /// The xorb footer starts here.
    Footer,
}

/// Decodes the chunk frame at `data[pos..]`, appending its bytes to `out`.
fn decode_frame(data: &[u8], pos: usize, idx: usize, out: &mut Vec<u8>) -> Result<Frame, XetError> {
    let rest = &data[pos..];
    if rest.len() < XORB_CHUNK_HEADER_LENGTH {
        return Err(invalid(format!(
            "chunk {idx} at byte {pos}: truncated chunk header"
        )));
    }
    let mut hb = [0u8; XORB_CHUNK_HEADER_LENGTH];
    hb.copy_from_slice(&rest[..XORB_CHUNK_HEADER_LENGTH]);
    let header = match parse_chunk_header(hb) {
        Ok(h) => h,
        Err(CoreError::ChunkHeaderParse) => return Ok(Frame::Footer),
        Err(e) => {
            return Err(invalid(format!(
                "chunk {idx} at byte {pos}: invalid chunk header: {e}"
            )))
        }
    };
    let frame_len = XORB_CHUNK_HEADER_LENGTH + header.get_compressed_length() as usize;
    if frame_len > rest.len() {
        return Err(invalid(format!(
            "chunk {idx} at byte {pos}: truncated chunk data (needs {frame_len} bytes, {} left)",
            rest.len()
        )));
    }
    let declared = header.get_uncompressed_length() as usize;
    let before = out.len();
    let mut w = CappedWriter {
        out,
        remaining: declared,
    };
    match deserialize_chunk_to_writer(&mut Cursor::new(&rest[..frame_len]), &mut w) {
        Ok((_, n)) if n as usize == declared => Ok(Frame::Chunk {
            end: pos + frame_len,
            len: declared,
        }),
        Ok(_) => {
            out.truncate(before);
            Err(invalid(format!(
                "chunk {idx} at byte {pos}: decompressed length does not match its header"
            )))
        }
        Err(e) => {
            out.truncate(before);
            Err(invalid(format!(
                "chunk {idx} at byte {pos}: cannot decompress: {e}"
            )))
        }
    }
}

/// Decodes whole chunks from a slice of a serialized xorb (as returned by
/// [`XorbMeta::byte_range`]), appending the bytes to `out`. On error `out` is left as it was.
pub fn decode_chunks(data: &[u8], out: &mut Vec<u8>) -> Result<(), XetError> {
    let start_len = out.len();
    let mut pos = 0;
    let mut idx = 0;
    while pos < data.len() {
        match decode_frame(data, pos, idx, out) {
            Ok(Frame::Chunk { end, .. }) => pos = end,
            Ok(Frame::Footer) => {
                out.truncate(start_len);
                return Err(invalid(format!(
                    "unexpected xorb footer at byte {pos} of chunk data"
                )));
            }
            Err(e) => {
                out.truncate(start_len);
                return Err(e);
            }
        }
        idx += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Xorb verification
// ---------------------------------------------------------------------------------------------

/// Walks the chunk frames of an uploaded body with bounded decompression. Returns the chunks
/// and the footer start, if a footer follows the chunks.
fn scan_xorb(body: &[u8]) -> Result<(Vec<ChunkMeta>, Option<usize>), XetError> {
    let mut chunks = Vec::new();
    let mut scratch = Vec::new();
    let mut pos = 0;
    let mut total: u64 = 0;
    let mut footer = None;
    while pos < body.len() {
        if chunks.len() >= MAX_XORB_CHUNKS {
            return Err(invalid(format!(
                "xorb has more than {MAX_XORB_CHUNKS} chunks"
            )));
        }
        scratch.clear();
        match decode_frame(body, pos, chunks.len(), &mut scratch)? {
            Frame::Footer => {
                footer = Some(pos);
                break;
            }
            Frame::Chunk { end, len } => {
                total += len as u64;
                if total > MAX_XORB_UNPACKED_BYTES {
                    return Err(invalid(format!(
                        "xorb decompresses to more than {MAX_XORB_UNPACKED_BYTES} bytes"
                    )));
                }
                chunks.push(ChunkMeta {
                    hash: merklehash::compute_data_hash(&scratch),
                    // body.len() <= MAX_XORB_BODY_BYTES, so this fits.
                    byte_end: end as u32,
                    unpacked_len: len as u32,
                });
                pos = end;
            }
        }
    }
    if chunks.is_empty() {
        return Err(invalid("xorb contains no chunks"));
    }
    Ok((chunks, footer))
}

fn xorb_hash_of(chunks: &[ChunkMeta]) -> MerkleHash {
    let list: Vec<(MerkleHash, u64)> = chunks
        .iter()
        .map(|c| (c.hash, c.unpacked_len as u64))
        .collect();
    merklehash::xorb_hash(&list)
}

/// Rebuilds the canonical V1 footer for `chunk_bytes` (chunks only) with the crate.
/// Collects what `reconstruct_xorb_with_footer` writes after the chunk bytes (the footer),
/// checking that what it writes first is exactly those bytes, so the footer can be appended to the
/// body in place instead of copying the whole xorb.
struct FooterOnly<'a> {
    chunk_bytes: &'a [u8],
    pos: usize,
    footer: Vec<u8>,
    same: bool,
}

impl std::io::Write for FooterOnly<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk_bytes.len() - self.pos);
        if buf[..n] != self.chunk_bytes[self.pos..self.pos + n] {
            self.same = false;
        }
        self.pos += n;
        self.footer.extend_from_slice(&buf[n..]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `body` (chunk bytes only) with a footer rebuilt by `reconstruct_xorb_with_footer` appended.
fn rebuild_with_footer(
    mut body: Vec<u8>,
    chunks: &[ChunkMeta],
    expected: &MerkleHash,
) -> Result<Vec<u8>, XetError> {
    let mut sink = FooterOnly { chunk_bytes: &body, pos: 0, footer: Vec::with_capacity(128 + chunks.len() * 48), same: true };
    let (obj, computed) = reconstruct_xorb_with_footer(&mut sink, &body)
        .map_err(|e| invalid(format!("invalid xorb chunk data: {e}")))?;
    if computed != *expected {
        return Err(invalid(format!(
            "xorb hash mismatch: the URL names {} but the chunks hash to {}",
            expected.hex(),
            computed.hex()
        )));
    }
    if !sink.same || sink.pos != body.len() {
        return Err(XetError::Internal("rebuilt xorb does not start with the chunks sent".into()));
    }
    let footer = sink.footer;
    let consistent = obj.info.chunk_hashes.len() == chunks.len()
        && obj
            .info
            .chunk_hashes
            .iter()
            .zip(chunks)
            .all(|(h, c)| *h == c.hash)
        && obj
            .info
            .chunk_boundary_offsets
            .iter()
            .zip(chunks)
            .all(|(b, c)| *b == c.byte_end);
    if !consistent {
        return Err(XetError::Internal(
            "rebuilt xorb footer disagrees with the chunk scan".into(),
        ));
    }
    body.extend_from_slice(&footer);
    Ok(body)
}

/// Verifies an uploaded xorb body against the hash in its URL: the footer (or, when the client
/// sent the chunks without a footer — as hf_xet does — a footer rebuilt with
/// `reconstruct_xorb_with_footer`), every chunk decompresses and hashes to its recorded hash,
/// boundaries, and the xorb hash. Returns the bytes to store (always with a V1 footer) and its
/// meta. Refuses bodies larger than [`MAX_XORB_BODY_BYTES`], with more than
/// [`MAX_XORB_CHUNKS`] chunks, and empty xorbs.
pub fn verify_xorb(expected: &MerkleHash, body: Vec<u8>) -> Result<(Vec<u8>, XorbMeta), XetError> {
    if body.is_empty() {
        return Err(invalid("empty xorb body"));
    }
    if body.len() > MAX_XORB_BODY_BYTES {
        return Err(invalid(format!(
            "xorb body of {} bytes exceeds the {MAX_XORB_BODY_BYTES} byte limit",
            body.len()
        )));
    }
    let (chunks, footer_start) = scan_xorb(&body)?;
    let computed = xorb_hash_of(&chunks);
    if computed != *expected {
        return Err(invalid(format!(
            "xorb hash mismatch: the URL names {} but the chunks hash to {}",
            expected.hex(),
            computed.hex()
        )));
    }

    let stored = match footer_start {
        None => rebuild_with_footer(body, &chunks, expected)?,
        Some(footer_start) => {
            let obj = XorbObject::deserialize(&mut Cursor::new(&body))
                .map_err(|e| invalid(format!("invalid xorb footer: {e}")))?;
            if obj.info.num_chunks as usize != chunks.len() {
                return Err(invalid(format!(
                    "xorb footer lists {} chunks but the body holds {}",
                    obj.info.num_chunks,
                    chunks.len()
                )));
            }
            match XorbObject::validate_xorb_object(&mut Cursor::new(&body), expected) {
                Ok(Some(_)) => {},
                Ok(None) => {
                    return Err(invalid(
                        "xorb footer does not match its chunks (hashes, boundaries, sizes or xorb hash)",
                    ))
                },
                Err(e) => return Err(invalid(format!("invalid xorb: {e}"))),
            }
            if obj.info.boundaries_version >= 1
                && obj.info.unpacked_chunk_offsets.len() == chunks.len()
            {
                body
            } else {
                // Legacy footer without uncompressed offsets: store a canonical one instead.
                let mut body = body;
                body.truncate(footer_start);
                rebuild_with_footer(body, &chunks, expected)?
            }
        }
    };
    Ok((
        stored,
        XorbMeta {
            hash: *expected,
            chunks,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Terms
// ---------------------------------------------------------------------------------------------

/// One term of a file reconstruction: chunks `[chunk_start, chunk_end)` of a xorb.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// The xorb holding the chunks.
    pub xorb: MerkleHash,
    /// First chunk index (inclusive).
    pub chunk_start: u32,
    /// Last chunk index (exclusive).
    pub chunk_end: u32,
    /// Uncompressed length of the chunks.
    pub unpacked_len: u32,
}

const TERMS_VERSION: u8 = 1;
const TERM_LEN: usize = 32 + 4 * 3;

/// Compact binary encoding of a term list for a database column.
pub fn terms_to_bytes(t: &[Term]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + t.len() * TERM_LEN);
    out.push(TERMS_VERSION);
    out.extend_from_slice(&(t.len() as u32).to_le_bytes());
    for term in t {
        out.extend_from_slice(term.xorb.as_bytes());
        out.extend_from_slice(&term.chunk_start.to_le_bytes());
        out.extend_from_slice(&term.chunk_end.to_le_bytes());
        out.extend_from_slice(&term.unpacked_len.to_le_bytes());
    }
    out
}

/// Decodes [`terms_to_bytes`] output.
pub fn terms_from_bytes(b: &[u8]) -> Result<Vec<Term>, XetError> {
    let bad = |what: &str| invalid(format!("invalid stored terms: {what}"));
    if b.len() < 5 {
        return Err(bad("too short"));
    }
    if b[0] != TERMS_VERSION {
        return Err(bad("unknown version"));
    }
    let n = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
    let body = &b[5..];
    if n.checked_mul(TERM_LEN) != Some(body.len()) {
        return Err(bad("length does not match term count"));
    }
    let u = |r: &[u8], at: usize| u32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
    body.chunks_exact(TERM_LEN)
        .map(|r| {
            let term = Term {
                xorb: hash_from_bytes(&r[..32]),
                chunk_start: u(r, 32),
                chunk_end: u(r, 36),
                unpacked_len: u(r, 40),
            };
            if term.chunk_start >= term.chunk_end {
                return Err(bad("empty chunk range"));
            }
            Ok(term)
        })
        .collect()
}

/// For a byte range `[start, end)` of a file, the terms that cover it and where the range starts
/// inside the first selected term: `(index of first term, index past last term,
/// offset_into_first_term)`. An empty range, an empty file or a start at or past the end of the
/// file gives an empty selection (`first == past_last`); an end past the file is clamped.
pub fn terms_for_range(terms: &[Term], start: u64, end: u64) -> (usize, usize, u64) {
    if start >= end {
        return (0, 0, 0);
    }
    let mut pos: u64 = 0;
    let mut first = None;
    for (i, t) in terms.iter().enumerate() {
        let t_end = pos.saturating_add(t.unpacked_len as u64);
        if first.is_none() && start < t_end {
            first = Some((i, start - pos));
        }
        if let Some((f, off)) = first {
            if end <= t_end {
                return (f, i + 1, off);
            }
        }
        pos = t_end;
    }
    match first {
        Some((f, off)) => (f, terms.len(), off),
        None => (terms.len(), terms.len(), 0),
    }
}

// ---------------------------------------------------------------------------------------------
// Shards
// ---------------------------------------------------------------------------------------------

/// One file reconstruction from an uploaded shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFile {
    /// The file hash (Xet file id).
    pub hash: MerkleHash,
    /// The reconstruction terms, in file order.
    pub terms: Vec<Term>,
    /// One range hash per term; empty when the shard has no verification entries.
    pub verification: Vec<MerkleHash>,
    /// The file's SHA-256 in lowercase hex, from the metadata extension.
    pub sha256: Option<String>,
}

impl ShardFile {
    /// The file's first chunk as `(xorb, chunk index)`; the reference server puts its hash in
    /// the global dedup index next to [`XorbMeta::global_dedup_chunks`].
    pub fn first_chunk(&self) -> Option<(MerkleHash, u32)> {
        self.terms.first().map(|t| (t.xorb, t.chunk_start))
    }
}

/// Parses an uploaded shard (with or without footer: only the header, file info and xorb info
/// sections are read, with allocation bounded by the body size). Refuses bodies larger than
/// [`MAX_SHARD_BODY_BYTES`], shards where only some files carry verification entries, empty
/// chunk ranges, and files with zero terms unless the file hash is the empty-file hash.
/// Files repeated in one shard are returned once.
pub fn parse_shard(body: &[u8]) -> Result<Vec<ShardFile>, XetError> {
    if body.len() > MAX_SHARD_BODY_BYTES {
        return Err(invalid(format!(
            "shard body of {} bytes exceeds the {MAX_SHARD_BODY_BYTES} byte limit",
            body.len()
        )));
    }
    let mut reader = body;
    let shard = futures::executor::block_on(MDBMinimalShard::from_reader_async(
        &mut reader,
        true,
        true,
        Some(body.len() as u64),
    ))
    .map_err(|e| invalid(format!("invalid shard: {e}")))?;

    let empty = the_empty_file_hash();
    let mut files = Vec::with_capacity(shard.num_files());
    for i in 0..shard.num_files() {
        let Some(view) = shard.file(i) else { break };
        let hash = view.file_hash();
        let n = view.num_entries();
        let mut terms = Vec::with_capacity(n);
        for j in 0..n {
            let e = view.entry(j);
            if e.chunk_index_start >= e.chunk_index_end {
                return Err(invalid(format!(
                    "file {}: term {j} has an empty chunk range [{}, {})",
                    hash.hex(),
                    e.chunk_index_start,
                    e.chunk_index_end
                )));
            }
            terms.push(Term {
                xorb: e.xorb_hash,
                chunk_start: e.chunk_index_start,
                chunk_end: e.chunk_index_end,
                unpacked_len: e.unpacked_segment_bytes,
            });
        }
        if terms.is_empty() && hash != empty {
            return Err(invalid(format!(
                "file {} has no terms but is not the empty file",
                hash.hex()
            )));
        }
        let verification = if view.contains_verification() {
            (0..n).map(|j| view.verification(j).range_hash).collect()
        } else {
            Vec::new()
        };
        let sha256 = view.metadata_ext().map(|m| m.sha256.hex());
        files.push(ShardFile {
            hash,
            terms,
            verification,
            sha256,
        });
    }
    Ok(files)
}

/// Checks one file against the stored xorbs (`xorb` looks one up; None = not stored, an error
/// naming the xorb): every term's chunk range lies inside the xorb, its unpacked_len equals the
/// chunks' unpacked sizes, the verification range hash of every term equals
/// `range_hash_from_chunks` of the xorb's chunk hashes for that range (proof that the uploader
/// knows those chunks; a non-empty file without verification entries is refused), and the file
/// hash recomputed with `merklehash::file_hash` equals `file.hash`. Returns the file size.
pub fn verify_file(
    file: &ShardFile,
    mut xorb: impl FnMut(&MerkleHash) -> Option<XorbMeta>,
) -> Result<u64, XetError> {
    let fh = file.hash.hex();
    if file.terms.is_empty() {
        return if file.hash == the_empty_file_hash() {
            Ok(0)
        } else {
            Err(invalid(format!(
                "file {fh} has no terms but is not the empty file"
            )))
        };
    }
    if file.verification.is_empty() {
        return Err(invalid(format!("file {fh} has no verification entries")));
    }
    if file.verification.len() != file.terms.len() {
        return Err(invalid(format!(
            "file {fh} has {} verification entries for {} terms",
            file.verification.len(),
            file.terms.len()
        )));
    }

    let mut cache: HashMap<MerkleHash, XorbMeta> = HashMap::new();
    let mut chunk_list: Vec<(MerkleHash, u64)> = Vec::new();
    let mut size: u64 = 0;
    for (i, (term, range_hash)) in file.terms.iter().zip(&file.verification).enumerate() {
        let meta: &XorbMeta = match cache.entry(term.xorb) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let meta = xorb(&term.xorb).ok_or_else(|| {
                    invalid(format!(
                        "file {fh}: term {i} references xorb {} which is not stored",
                        term.xorb.hex()
                    ))
                })?;
                if meta.hash != term.xorb {
                    return Err(XetError::Internal(format!(
                        "xorb lookup for {} returned {}",
                        term.xorb.hex(),
                        meta.hash.hex()
                    )));
                }
                v.insert(meta)
            }
        };
        let Some((s, e)) = meta.check_range(term.chunk_start, term.chunk_end) else {
            return Err(invalid(format!(
                "file {fh}: term {i} chunk range [{}, {}) is outside xorb {} ({} chunks)",
                term.chunk_start,
                term.chunk_end,
                term.xorb.hex(),
                meta.chunks.len()
            )));
        };
        let chunks = &meta.chunks[s..e];
        let unpacked: u64 = chunks.iter().map(|c| c.unpacked_len as u64).sum();
        if unpacked != term.unpacked_len as u64 {
            return Err(invalid(format!(
                "file {fh}: term {i} claims {} bytes but chunks [{s}, {e}) of xorb {} hold {unpacked}",
                term.unpacked_len,
                term.xorb.hex()
            )));
        }
        let hashes: Vec<MerkleHash> = chunks.iter().map(|c| c.hash).collect();
        if range_hash_from_chunks(&hashes) != *range_hash {
            return Err(invalid(format!(
                "file {fh}: term {i} verification hash does not match chunks [{s}, {e}) of xorb {}",
                term.xorb.hex()
            )));
        }
        chunk_list.extend(chunks.iter().map(|c| (c.hash, c.unpacked_len as u64)));
        size += unpacked;
    }
    let computed = merklehash::file_hash(&chunk_list);
    if computed != file.hash {
        return Err(invalid(format!(
            "file hash mismatch: the shard names {fh} but its chunks hash to {}",
            computed.hex()
        )));
    }
    Ok(size)
}

// ---------------------------------------------------------------------------------------------
// Global dedup
// ---------------------------------------------------------------------------------------------

/// Builds the crate's shard description of one xorb: header plus every chunk with hash,
/// unpacked size, unpacked byte start and global dedup flag (as hf_xet writes them).
pub fn xorb_info(meta: &XorbMeta) -> Result<MDBXorbInfo, XetError> {
    let mut entries = Vec::with_capacity(meta.chunks.len());
    let mut start: u32 = 0;
    for c in &meta.chunks {
        entries.push(
            XorbChunkSequenceEntry {
                chunk_hash: c.hash,
                chunk_byte_range_start: start,
                unpacked_segment_bytes: c.unpacked_len,
                flags: 0,
                _unused: 0,
            }
            .with_global_dedup_flag(hash_is_global_dedup_eligible(&c.hash)),
        );
        start = start
            .checked_add(c.unpacked_len)
            .ok_or_else(|| invalid(format!("xorb {} is larger than 4 GiB", meta.hash.hex())))?;
    }
    Ok(MDBXorbInfo {
        metadata: XorbChunkSequenceHeader {
            xorb_hash: meta.hash,
            xorb_flags: MDB_DEFAULT_XORB_FLAG,
            num_entries: meta.chunks.len() as u32,
            num_bytes_in_xorb: start,
            num_bytes_on_disk: meta.chunks.last().map(|c| c.byte_end).unwrap_or(0),
        },
        chunks: entries,
    })
}

/// The answer to a global dedup query: a shard describing xorbs (header + all their chunks
/// with hashes, unpacked sizes and byte starts, global dedup flags) with chunk hashes keyed by
/// `key` (`export_as_keyed_shard`), so a client can only recognise chunks it already has.
/// `valid_for` is the key's lifetime written in the footer. An all-zero key means "no key"
/// to the crate (hashes are then left in the clear).
pub fn dedup_shard(
    metas: &[XorbMeta],
    key: [u8; 32],
    valid_for: std::time::Duration,
) -> Result<Vec<u8>, XetError> {
    if std::time::SystemTime::now()
        .checked_add(valid_for)
        .is_none()
        || valid_for > Duration::from_secs(100 * 365 * 86400)
    {
        return Err(XetError::Internal(
            "dedup shard lifetime is too large".into(),
        ));
    }
    let mut shard = MDBInMemoryShard::default();
    for meta in metas {
        shard
            .add_xorb_block(xorb_info(meta)?)
            .map_err(|e| XetError::Internal(format!("building dedup shard: {e}")))?;
    }
    let plain = shard
        .to_bytes()
        .map_err(|e| XetError::Internal(format!("serializing dedup shard: {e}")))?;
    let mut out = Vec::with_capacity(plain.len());
    MDBShardInfo::export_as_keyed_shard_streaming(
        &mut Cursor::new(&plain),
        &mut out,
        HMACKey::from(key),
        valid_for,
        false,
        true,
        true,
    )
    .map_err(|e| XetError::Internal(format!("keying dedup shard: {e}")))?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// File chunk hashes (`GET /v2/file-chunk-hashes/{file}`)
// ---------------------------------------------------------------------------------------------

pub use xet_core_structures::merklehash::MerkleHashSubtree;

/// Header naming the byte ranges a client is about to rewrite, in `Range` syntax:
/// `bytes=A-B,C-D` with inclusive ends.
pub const X_RANGE_DIRTY_HEADER: &str = "X-Range-Dirty";
/// Most ranges accepted in one [`X_RANGE_DIRTY_HEADER`].
pub const MAX_DIRTY_RANGES: usize = 1000;

/// The answer to a file chunk hashes request, field for field the `FileChunkHashesResponse` of
/// `xet-client` (which serializes it in camelCase: `totalChunks`, `fileSize`,
/// `windows: [{"dirtyByteRange": [start, end]}]`, `hashRanges`, `gapVerification` as hex hashes).
///
/// The client re-chunks each window with its edits and merges
/// `[hash_ranges[0], window 0, hash_ranges[1], …, hash_ranges[n]]` with
/// [`MerkleHashSubtree::merge`] (skipping the `None` gaps) to get the new file hash, without ever
/// seeing the hashes of the chunks it keeps.
#[derive(Clone, Debug)]
pub struct FileChunkHashes {
    /// Number of chunks in the file.
    pub total_chunks: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// The windows to re-upload, `[start, end)` in file bytes: sorted, disjoint, on chunk
    /// boundaries, covering every dirty range.
    pub windows: Vec<(u64, u64)>,
    /// `windows.len() + 1` subtrees of the chunks before, between and after the windows; `None`
    /// when that gap holds no chunk.
    pub hash_ranges: Vec<Option<MerkleHashSubtree>>,
    /// The verification range hash of every term that no window touches, in file order (what the
    /// client copies into the verification section of the shard of the edited file).
    pub gap_verification: Vec<MerkleHash>,
}

/// Parses an [`X_RANGE_DIRTY_HEADER`] value (`None` when the header is missing) into half-open
/// byte ranges `[start, end)`, in the order given. Refuses a missing or non-UTF-8 value, any
/// unit but `bytes`, a range that is not `A-B` with `A <= B` (no open or suffix ranges: the
/// client never sends them), no range at all and more than [`MAX_DIRTY_RANGES`] ranges.
pub fn parse_dirty_ranges(value: Option<&[u8]>) -> Result<Vec<(u64, u64)>, XetError> {
    let value =
        value.ok_or_else(|| invalid(format!("the {X_RANGE_DIRTY_HEADER} header is required")))?;
    let value = std::str::from_utf8(value)
        .map_err(|_| invalid(format!("the {X_RANGE_DIRTY_HEADER} header is not text")))?;
    let unparsable = || {
        invalid(format!(
            "invalid {X_RANGE_DIRTY_HEADER} header {value:?}: expected bytes=A-B[,C-D...] with inclusive ends"
        ))
    };
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(unparsable)?;
    let mut out = Vec::new();
    for part in spec.split(',') {
        if out.len() == MAX_DIRTY_RANGES {
            return Err(invalid(format!(
                "the {X_RANGE_DIRTY_HEADER} header names more than {MAX_DIRTY_RANGES} ranges"
            )));
        }
        let (a, b) = part.trim().split_once('-').ok_or_else(unparsable)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        let (a, b) = (a.trim(), b.trim());
        if !digits(a) || !digits(b) {
            return Err(unparsable());
        }
        let start: u64 = a.parse().map_err(|_| unparsable())?;
        let last: u64 = b.parse().map_err(|_| unparsable())?;
        if last < start || last == u64::MAX {
            return Err(unparsable());
        }
        out.push((start, last + 1));
    }
    Ok(out)
}

/// The chunks of a file, `(hash, size)` in order, from its terms and the stored xorbs (`xorb`
/// looks one up). A missing xorb, a term outside its xorb or a term whose size does not match
/// its chunks is an [`XetError::Internal`]: stored files were verified against their xorbs.
pub fn file_chunks(
    terms: &[Term],
    xorb: impl FnMut(&MerkleHash) -> Option<XorbMeta>,
) -> Result<Vec<(MerkleHash, u64)>, XetError> {
    let mut out = Vec::new();
    for_each_term_chunks(terms, xorb, |_, chunks| {
        out.extend(chunks.iter().map(|c| (c.hash, c.unpacked_len as u64)))
    })?;
    Ok(out)
}

/// Calls `f(term index, chunks of the term)` for every term, in order.
fn for_each_term_chunks(
    terms: &[Term],
    mut xorb: impl FnMut(&MerkleHash) -> Option<XorbMeta>,
    mut f: impl FnMut(usize, &[ChunkMeta]),
) -> Result<(), XetError> {
    let mut cache: HashMap<MerkleHash, XorbMeta> = HashMap::new();
    for (i, t) in terms.iter().enumerate() {
        let meta = match cache.entry(t.xorb) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let meta = xorb(&t.xorb).ok_or_else(|| {
                    XetError::Internal(format!("xorb {} of a stored file is missing", t.xorb.hex()))
                })?;
                v.insert(meta)
            }
        };
        let (s, e) = meta
            .check_range(t.chunk_start, t.chunk_end)
            .filter(|_| meta.hash == t.xorb)
            .ok_or_else(|| {
                XetError::Internal(format!(
                    "term {i}: chunks [{}, {}) are not in stored xorb {}",
                    t.chunk_start,
                    t.chunk_end,
                    t.xorb.hex()
                ))
            })?;
        let chunks = &meta.chunks[s..e];
        if chunks.iter().map(|c| c.unpacked_len as u64).sum::<u64>() != t.unpacked_len as u64 {
            return Err(XetError::Internal(format!(
                "term {i}: its size does not match chunks [{s}, {e}) of xorb {}",
                t.xorb.hex()
            )));
        }
        f(i, chunks);
    }
    Ok(())
}

/// Sorts `[start, end)` ranges and merges the ones that overlap or touch.
fn merge_ranges(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Cuts a file into dirty windows and clean gaps, chunk by chunk, exactly as the reference
/// server does (`ChunkWindowBuilder` of `xet-client`, mirrored from the Hub's CAS): a window
/// opens at the first chunk touching a dirty range, takes every chunk touching it or a later
/// dirty range it reaches, then keeps going until two consecutive clean chunks both have a
/// stable size (`is_stable_chunk_size`), where content-defined chunking of the edited bytes is
/// back in step with the original chunks; if that never happens it runs to the end of the file.
struct WindowCutter<'a> {
    dirty: &'a [(u64, u64)],
    /// The dirty range the cutter is at.
    at: usize,
    /// A window is open (its dirty chunks or its clean tail are being consumed).
    open: bool,
    /// No window has closed yet: the next gap begins the file.
    gap_at_file_start: bool,
    /// Byte offset of the next chunk.
    pos: u64,
    gap: Vec<(MerkleHash, u64)>,
    windows: Vec<(u64, u64)>,
    gaps: Vec<Option<MerkleHashSubtree>>,
    /// Size of the previous clean chunk of the open window's tail.
    tail_prev: Option<u64>,
}

impl<'a> WindowCutter<'a> {
    fn new(dirty: &'a [(u64, u64)]) -> Self {
        WindowCutter {
            dirty,
            at: 0,
            open: false,
            gap_at_file_start: true,
            pos: 0,
            gap: Vec::new(),
            windows: Vec::new(),
            gaps: Vec::new(),
            tail_prev: None,
        }
    }

    fn touches(&self, i: usize, start: u64, end: u64) -> bool {
        self.dirty
            .get(i)
            .is_some_and(|&(s, e)| end > s && start < e)
    }

    /// Moves to the last dirty range starting before `end` (they join the open window).
    fn reach(&mut self, end: u64) {
        while self.dirty.get(self.at + 1).is_some_and(|&(s, _)| end > s) {
            self.at += 1;
        }
    }

    fn gap_subtree(&mut self, at_end: bool) -> Option<MerkleHashSubtree> {
        let t = MerkleHashSubtree::from_chunks(self.gap_at_file_start, &self.gap, at_end);
        self.gap.clear();
        (!t.is_empty()).then_some(t)
    }

    fn chunk(&mut self, hash: MerkleHash, size: u64) {
        let (start, end) = (self.pos, self.pos + size);
        self.pos = end;
        let dirty_here = self.touches(self.at, start, end);
        if !self.open {
            if dirty_here {
                let g = self.gap_subtree(false);
                self.gaps.push(g);
                self.windows.push((start, end));
                self.open = true;
                self.tail_prev = None;
                self.reach(end);
            } else {
                self.gap.push((hash, size));
            }
            return;
        }
        self.windows.last_mut().expect("an open window").1 = end;
        if dirty_here || self.touches(self.at + 1, start, end) {
            if !dirty_here {
                self.at += 1;
            }
            self.reach(end);
            self.tail_prev = None;
            return;
        }
        let stable = |n: u64| is_stable_chunk_size(n as usize);
        let resynced = self.tail_prev.is_some_and(|p| stable(p) && stable(size));
        self.tail_prev = Some(size);
        if resynced {
            self.at += 1;
            self.open = false;
            self.gap_at_file_start = false;
            self.tail_prev = None;
        }
    }

    fn finish(mut self) -> (Vec<(u64, u64)>, Vec<Option<MerkleHashSubtree>>) {
        let g = self.gap_subtree(true);
        self.gaps.push(g);
        (self.windows, self.gaps)
    }
}

/// The answer to `GET /v2/file-chunk-hashes/{file}` for a file made of `terms` (`xorb` looks up
/// a stored xorb) and the dirty ranges of its [`X_RANGE_DIRTY_HEADER`] (`[start, end)`, as
/// [`parse_dirty_ranges`] returns them), computed as the reference server does: ranges are sorted
/// and merged, cut into chunk-aligned windows extended to the next stable chunk boundary (see
/// the Hub's `ChunkWindowBuilder`), with the subtrees of the gaps and the verification range
/// hash of every term left untouched.
///
/// No range, more than [`MAX_DIRTY_RANGES`] ranges or a range starting at or past the end of the
/// file is [`XetError::Invalid`]; an end past the end of the file is clamped to it.
pub fn file_chunk_hashes(
    terms: &[Term],
    xorb: impl FnMut(&MerkleHash) -> Option<XorbMeta>,
    dirty: &[(u64, u64)],
) -> Result<FileChunkHashes, XetError> {
    if dirty.is_empty() {
        return Err(invalid("no dirty range given"));
    }
    if dirty.len() > MAX_DIRTY_RANGES {
        return Err(invalid(format!(
            "more than {MAX_DIRTY_RANGES} dirty ranges"
        )));
    }
    let file_size: u64 = terms.iter().map(|t| t.unpacked_len as u64).sum();
    for &(s, e) in dirty {
        if s >= e {
            return Err(invalid(format!("empty dirty range [{s}, {e})")));
        }
        if s >= file_size {
            return Err(invalid(format!(
                "dirty range starting at byte {s} is past the end of the file ({file_size} bytes)"
            )));
        }
    }
    let dirty = merge_ranges(dirty.iter().map(|&(s, e)| (s, e.min(file_size))).collect());

    // The chunks of the file, and where each term's chunks end in that list.
    let mut chunks: Vec<(MerkleHash, u64)> = Vec::new();
    let mut term_ends: Vec<usize> = Vec::with_capacity(terms.len());
    for_each_term_chunks(terms, xorb, |_, cs| {
        chunks.extend(cs.iter().map(|c| (c.hash, c.unpacked_len as u64)));
        term_ends.push(chunks.len());
    })?;
    let mut cutter = WindowCutter::new(&dirty);
    for &(hash, size) in &chunks {
        cutter.chunk(hash, size);
    }
    let (windows, hash_ranges) = cutter.finish();
    if windows.is_empty() {
        return Err(XetError::Internal("dirty ranges cover no chunk".into()));
    }

    // Terms no window touches; terms and windows are both sorted, so one walk does it.
    let mut gap_verification = Vec::new();
    let (mut w, mut first_chunk, mut term_start) = (0usize, 0usize, 0u64);
    for &last_chunk in &term_ends {
        let term = &chunks[first_chunk..last_chunk];
        let term_end = term_start + term.iter().map(|c| c.1).sum::<u64>();
        while w < windows.len() && windows[w].1 <= term_start {
            w += 1;
        }
        if !(w < windows.len() && windows[w].0 < term_end) {
            let hashes: Vec<MerkleHash> = term.iter().map(|c| c.0).collect();
            gap_verification.push(range_hash_from_chunks(&hashes));
        }
        (first_chunk, term_start) = (last_chunk, term_end);
    }

    Ok(FileChunkHashes {
        total_chunks: chunks.len() as u64,
        file_size,
        windows,
        hash_ranges,
        gap_verification,
    })
}
