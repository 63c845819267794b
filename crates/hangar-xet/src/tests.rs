use std::collections::HashMap;
use std::io::Cursor;
use std::time::Duration;

use xet_core_structures::merklehash::HMACKey;
use xet_core_structures::metadata_shard::chunk_verification::range_hash_from_chunks;
use xet_core_structures::metadata_shard::streaming_shard::MDBMinimalShard;
use xet_core_structures::metadata_shard::MDBShardInfo;

use super::*;
use crate::testing::{
    build_shard, reuse_shard, sample_data, upload, upload_with_xorb_limit, with_footer, Upload,
};

/// Verifies every xorb of an upload and returns the stored bodies and metas by hash.
fn store(up: &Upload) -> HashMap<MerkleHash, (Vec<u8>, XorbMeta)> {
    up.xorbs
        .iter()
        .map(|(h, body)| (*h, verify_xorb(h, body.clone()).expect("xorb verifies")))
        .collect()
}

fn lookup(
    stored: &HashMap<MerkleHash, (Vec<u8>, XorbMeta)>,
) -> impl FnMut(&MerkleHash) -> Option<XorbMeta> + '_ {
    |h| stored.get(h).map(|(_, m)| m.clone())
}

fn single_file(shard: &[u8]) -> ShardFile {
    let mut files = parse_shard(shard).expect("shard parses");
    assert_eq!(files.len(), 1);
    files.remove(0)
}

fn expect_invalid<T: std::fmt::Debug>(r: Result<T, XetError>, needle: &str) {
    match r {
        Err(XetError::Invalid(msg)) => {
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}")
        }
        other => panic!("expected Invalid containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn parse_hash_roundtrip_and_errors() {
    let h = merklehash::compute_data_hash(b"x");
    assert_eq!(parse_hash(&h.hex()).unwrap(), h);
    expect_invalid(parse_hash("abc"), "invalid hash");
    expect_invalid(parse_hash(&"g".repeat(64)), "invalid hash");
}

#[test]
fn xorb_meta_roundtrip() {
    let up = upload(&sample_data(300_000, 1), 16 * 1024, false);
    let stored = store(&up);
    for (_, meta) in stored.values() {
        let b = meta.to_bytes();
        assert_eq!(&XorbMeta::from_bytes(&b).unwrap(), meta);
        // Any truncation or extension is refused, never a panic.
        for cut in [0, 1, 36, 37, b.len() - 1] {
            assert!(XorbMeta::from_bytes(&b[..cut]).is_err());
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(XorbMeta::from_bytes(&longer).is_err());
        let mut wrong_version = b.clone();
        wrong_version[0] = 9;
        assert!(XorbMeta::from_bytes(&wrong_version).is_err());
    }
    // Huge declared count with a short body.
    let mut bogus = vec![1u8];
    bogus.extend_from_slice(&[0u8; 32]);
    bogus.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(XorbMeta::from_bytes(&bogus).is_err());
}

#[test]
fn terms_roundtrip() {
    let terms = vec![
        Term {
            xorb: merklehash::compute_data_hash(b"a"),
            chunk_start: 0,
            chunk_end: 3,
            unpacked_len: 100,
        },
        Term {
            xorb: merklehash::compute_data_hash(b"b"),
            chunk_start: 7,
            chunk_end: 9,
            unpacked_len: u32::MAX,
        },
    ];
    let b = terms_to_bytes(&terms);
    assert_eq!(terms_from_bytes(&b).unwrap(), terms);
    assert_eq!(terms_from_bytes(&terms_to_bytes(&[])).unwrap(), vec![]);
    assert!(terms_from_bytes(&b[..b.len() - 1]).is_err());
    assert!(terms_from_bytes(&[]).is_err());
    let mut bogus = vec![1u8];
    bogus.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(terms_from_bytes(&bogus).is_err());
}

#[test]
fn verify_xorb_accepts_without_and_with_footer() {
    let data = sample_data(200_000, 2);
    let up = upload(&data, 16 * 1024, false);
    assert_eq!(up.xorbs.len(), 1);
    let (hash, body) = &up.xorbs[0];

    let (stored, meta) = verify_xorb(hash, body.clone()).unwrap();
    assert_eq!(meta.hash, *hash);
    assert_eq!(meta.chunks.len(), 13);
    assert_eq!(meta.total_unpacked_len(), data.len() as u64);
    assert_eq!(meta.chunks.last().unwrap().byte_end as usize, body.len());
    // The stored form carries a footer the crate validates.
    assert!(stored.len() > body.len());
    assert!(
        XorbObject::validate_xorb_object(&mut Cursor::new(&stored), hash)
            .unwrap()
            .is_some()
    );

    let footed = with_footer(body);
    let (stored2, meta2) = verify_xorb(hash, footed.clone()).unwrap();
    assert_eq!(meta2, meta);
    assert_eq!(stored2, footed);
    // Storing is idempotent: the stored bytes verify again to the same meta.
    assert_eq!(verify_xorb(hash, stored.clone()).unwrap().1, meta);
}

#[test]
fn verify_xorb_refuses_bad_bodies() {
    let up = upload(&sample_data(100_000, 3), 8 * 1024, false);
    let (hash, body) = &up.xorbs[0];
    let footed = with_footer(body);

    // Wrong URL hash, both forms.
    let other = merklehash::compute_data_hash(b"other");
    expect_invalid(verify_xorb(&other, body.clone()), "hash mismatch");
    expect_invalid(verify_xorb(&other, footed.clone()), "hash mismatch");

    // A flipped byte in chunk data (inside the first chunk's payload), both forms.
    for b in [body, &footed] {
        let mut bad = b.clone();
        bad[XORB_CHUNK_HEADER_LENGTH + 40] ^= 0x55;
        assert!(verify_xorb(hash, bad).is_err());
    }

    // A flipped byte in the footer's chunk hashes.
    let mut bad_footer = footed.clone();
    let n = bad_footer.len();
    bad_footer[body.len() + 7 + 1 + 32 + 7 + 1 + 4 + 3] ^= 1;
    assert!(n > body.len() + 60);
    expect_invalid(verify_xorb(hash, bad_footer), "footer");

    // Truncated bodies, both forms, at many cut points.
    for cut in [1, 5, 8, 9, body.len() / 2, body.len() - 1] {
        assert!(
            verify_xorb(hash, body[..cut].to_vec()).is_err(),
            "cut {cut}"
        );
    }
    for cut in [body.len() + 3, footed.len() - 1, footed.len() - 4] {
        assert!(
            verify_xorb(hash, footed[..cut].to_vec()).is_err(),
            "footed cut {cut}"
        );
    }

    // Garbage and empty.
    assert!(verify_xorb(hash, sample_data(5000, 9)).is_err());
    assert!(verify_xorb(hash, vec![0u8; 64]).is_err());
    assert!(verify_xorb(hash, vec![0xff; 3]).is_err());
    expect_invalid(verify_xorb(hash, Vec::new()), "empty");
    // Only a footer, no chunks.
    expect_invalid(
        verify_xorb(hash, footed[body.len()..].to_vec()),
        "no chunks",
    );
    // Trailing junk after the chunks.
    let mut trailing = body.clone();
    trailing.extend_from_slice(b"junkjunkjunk");
    assert!(verify_xorb(hash, trailing).is_err());
}

#[test]
fn verify_xorb_refuses_lying_chunk_header() {
    // A chunk header that claims a smaller uncompressed size than its data decompresses to.
    let up = upload(&sample_data(10_000, 4), 10_000, false);
    let (hash, body) = &up.xorbs[0];
    let mut bad = body.clone();
    bad[5] = bad[5].wrapping_sub(1); // low byte of uncompressed length
    assert!(verify_xorb(hash, bad.clone()).is_err());
    let mut out = Vec::new();
    assert!(decode_chunks(&bad, &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn parse_and_verify_upload() {
    let data = sample_data(1_000_000, 5);
    for with_sha in [false, true] {
        let up = upload_with_xorb_limit(&data, 32 * 1024, 10, with_sha);
        assert_eq!(up.xorbs.len(), 4);
        let stored = store(&up);
        let file = single_file(&up.shard);
        assert_eq!(file.hash, up.file_hash);
        assert_eq!(file.terms, up.terms);
        assert_eq!(file.verification.len(), file.terms.len());
        assert_eq!(
            file.sha256.as_deref(),
            with_sha.then_some(up.sha256.as_str())
        );
        assert_eq!(
            verify_file(&file, lookup(&stored)).unwrap(),
            data.len() as u64
        );
        assert_eq!(file.first_chunk(), Some((up.terms[0].xorb, 0)));

        // Without the footer (the shard's last 200 bytes) the shard parses the same.
        let footer_len =
            std::mem::size_of::<xet_core_structures::metadata_shard::MDBShardFileFooter>();
        assert_eq!(single_file(&up.shard[..up.shard.len() - footer_len]), file);
    }
    let sha_hex = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&data));
    assert_eq!(upload(&data, 65536, true).sha256, sha_hex);
}

#[test]
fn verify_file_refusals() {
    let data = sample_data(400_000, 6);
    let up = upload_with_xorb_limit(&data, 16 * 1024, 10, true);
    let stored = store(&up);
    let good = single_file(&up.shard);
    assert!(verify_file(&good, lookup(&stored)).is_ok());
    let n_chunks_first = stored[&good.terms[0].xorb].1.chunks.len() as u32;

    // Term pointing past the xorb's chunks (shard-level, as a client would send it).
    let mut terms = good.terms.clone();
    terms[0].chunk_end = n_chunks_first + 1;
    let shard = build_shard(good.hash, &terms, Some(&good.verification), None);
    expect_invalid(
        verify_file(&single_file(&shard), lookup(&stored)),
        "outside xorb",
    );

    // Wrong unpacked_len.
    let mut terms = good.terms.clone();
    terms[1].unpacked_len -= 1;
    let shard = build_shard(good.hash, &terms, Some(&good.verification), None);
    expect_invalid(verify_file(&single_file(&shard), lookup(&stored)), "claims");

    // Wrong verification hash.
    let mut ver = good.verification.clone();
    ver[2] = merklehash::compute_data_hash(b"guess");
    let shard = build_shard(good.hash, &good.terms, Some(&ver), None);
    expect_invalid(
        verify_file(&single_file(&shard), lookup(&stored)),
        "verification hash",
    );

    // Missing verification.
    let shard = build_shard(good.hash, &good.terms, None, None);
    let f = single_file(&shard);
    assert!(f.verification.is_empty());
    expect_invalid(verify_file(&f, lookup(&stored)), "no verification");

    // Wrong file hash.
    let shard = build_shard(
        merklehash::compute_data_hash(b"nope"),
        &good.terms,
        Some(&good.verification),
        None,
    );
    expect_invalid(
        verify_file(&single_file(&shard), lookup(&stored)),
        "file hash mismatch",
    );

    // Unknown xorb.
    let missing = good.terms[1].xorb;
    expect_invalid(
        verify_file(&good, |h: &MerkleHash| {
            if *h == missing {
                None
            } else {
                stored.get(h).map(|(_, m)| m.clone())
            }
        }),
        &missing.hex(),
    );

    // Verification/term count mismatch (built directly: the shard format cannot express it).
    let mut short = good.clone();
    short.verification.pop();
    expect_invalid(verify_file(&short, lookup(&stored)), "verification entries");

    // Terms reordered: hashes still verify per term but the file hash does not.
    let mut swapped = good.clone();
    swapped.terms.swap(0, 1);
    swapped.verification.swap(0, 1);
    expect_invalid(verify_file(&swapped, lookup(&stored)), "file hash mismatch");
}

#[test]
fn reuse_of_existing_chunks() {
    let up = upload(&sample_data(300_000, 7), 16 * 1024, false);
    let stored = store(&up);
    let meta = &stored[&up.xorbs[0].0].1;
    let (shard, fh) = reuse_shard(meta, 3, 9);
    let f = single_file(&shard);
    assert_eq!(f.hash, fh);
    assert_eq!(
        verify_file(&f, lookup(&stored)).unwrap(),
        meta.unpacked_len(3, 9).unwrap()
    );
    // Claiming the same range with a verification hash for a different range fails.
    let wrong =
        range_hash_from_chunks(&meta.chunks[3..8].iter().map(|c| c.hash).collect::<Vec<_>>());
    let shard = build_shard(fh, &f.terms, Some(&[wrong]), None);
    expect_invalid(
        verify_file(&single_file(&shard), lookup(&stored)),
        "verification hash",
    );
}

#[test]
fn empty_file() {
    let up = upload(&[], 1024, true);
    assert!(up.xorbs.is_empty());
    let f = single_file(&up.shard);
    assert!(f.terms.is_empty());
    assert_eq!(verify_file(&f, |_: &MerkleHash| None).unwrap(), 0);
    assert_eq!(terms_for_range(&f.terms, 0, 10), (0, 0, 0));
    // A file with no terms that claims to be something else is refused at parse time.
    let shard = build_shard(merklehash::compute_data_hash(b"x"), &[], Some(&[]), None);
    expect_invalid(parse_shard(&shard), "no terms");
}

#[test]
fn parse_shard_refuses_garbage() {
    assert!(parse_shard(&[]).is_err());
    assert!(parse_shard(&sample_data(10_000, 8)).is_err());
    let up = upload(&sample_data(50_000, 8), 4096, false);
    for cut in [10, 48, 60, 100, up.shard.len() / 2] {
        assert!(parse_shard(&up.shard[..cut]).is_err(), "cut {cut}");
    }
    // A file header declaring u32::MAX entries must be refused without a huge allocation.
    let mut bogus = up.shard[..48].to_vec();
    bogus.extend_from_slice(merklehash::compute_data_hash(b"f").as_bytes());
    bogus.extend_from_slice(&0u32.to_le_bytes());
    bogus.extend_from_slice(&u32::MAX.to_le_bytes());
    bogus.extend_from_slice(&0u64.to_le_bytes());
    expect_invalid(parse_shard(&bogus), "invalid shard");
    // An empty chunk range is refused.
    let t = Term {
        xorb: merklehash::compute_data_hash(b"x"),
        chunk_start: 4,
        chunk_end: 4,
        unpacked_len: 0,
    };
    let shard = build_shard(merklehash::compute_data_hash(b"f"), &[t], None, None);
    expect_invalid(parse_shard(&shard), "empty chunk range");
}

#[test]
fn decode_reproduces_data() {
    let cases: [(usize, usize, usize); 5] = [
        (1, 1024, 1024),          // one byte
        (16_384, 16_384, 1024),   // exactly one chunk
        (16_385, 16_384, 1024),   // one chunk plus one byte
        (700_000, 16_384, 8),     // many chunks across 6 xorbs
        (262_144, 131_072, 1024), // max-size chunks
    ];
    for (len, chunk, per_xorb) in cases {
        let data = sample_data(len, len as u64);
        let up = upload_with_xorb_limit(&data, chunk, per_xorb, false);
        if len == 700_000 {
            assert!(up.xorbs.len() >= 2);
        }
        let stored = store(&up);
        let file = single_file(&up.shard);
        assert_eq!(verify_file(&file, lookup(&stored)).unwrap(), len as u64);
        let mut out = Vec::new();
        for t in &file.terms {
            let (body, meta) = &stored[&t.xorb];
            let (s, e) = meta.byte_range(t.chunk_start, t.chunk_end).unwrap();
            decode_chunks(&body[s as usize..e as usize], &mut out).unwrap();
        }
        assert_eq!(out, data, "len {len}");

        // Sub-ranges of chunks decode to the matching slice.
        let (body, meta) = &stored[&file.terms[0].xorb];
        let n = meta.chunks.len() as u32;
        let (s, e) = meta.byte_range(n / 2, n).unwrap();
        let mut part = Vec::new();
        decode_chunks(&body[s as usize..e as usize], &mut part).unwrap();
        let skip = if n / 2 == 0 {
            0
        } else {
            meta.unpacked_len(0, n / 2).unwrap() as usize
        };
        assert_eq!(part, data[skip..skip + part.len()]);
        assert_eq!(part.len() as u64, meta.unpacked_len(n / 2, n).unwrap());
    }
}

#[test]
fn decode_refuses_partial_and_footer() {
    let up = upload(&sample_data(50_000, 10), 8192, false);
    let (hash, body) = &up.xorbs[0];
    let (stored, meta) = verify_xorb(hash, body.clone()).unwrap();
    let mut out = vec![7u8];
    // Cut in the middle of a chunk.
    assert!(decode_chunks(&stored[..meta.chunks[0].byte_end as usize + 3], &mut out).is_err());
    assert_eq!(out, vec![7u8]);
    // Including the footer.
    assert!(decode_chunks(&stored, &mut out).is_err());
    assert_eq!(out, vec![7u8]);
    // Starting mid-chunk.
    assert!(decode_chunks(&stored[3..meta.chunks[1].byte_end as usize], &mut out).is_err());
    decode_chunks(&[], &mut out).unwrap();
    assert_eq!(out, vec![7u8]);
}

#[test]
fn byte_range_and_unpacked_len_bounds() {
    let up = upload(&sample_data(50_000, 11), 8192, false);
    let (_, meta) = verify_xorb(&up.xorbs[0].0, up.xorbs[0].1.clone()).unwrap();
    let n = meta.chunks.len() as u32;
    assert_eq!(n, 7);
    assert_eq!(
        meta.byte_range(0, n),
        Some((0, meta.chunks[6].byte_end as u64))
    );
    assert_eq!(
        meta.byte_range(2, 3),
        Some((
            meta.chunks[1].byte_end as u64,
            meta.chunks[2].byte_end as u64
        ))
    );
    assert_eq!(meta.byte_range(0, n + 1), None);
    assert_eq!(meta.byte_range(3, 3), None);
    assert_eq!(meta.byte_range(4, 2), None);
    assert_eq!(meta.byte_range(u32::MAX, u32::MAX), None);
    assert_eq!(meta.unpacked_len(0, n), Some(50_000));
    assert_eq!(meta.unpacked_len(6, 7), Some(50_000 - 6 * 8192));
    assert_eq!(meta.unpacked_len(6, 8), None);
    assert_eq!(meta.unpacked_len(0, 0), None);
}

#[test]
fn terms_for_range_cases() {
    let h = merklehash::compute_data_hash(b"x");
    let t = |n: u32| Term {
        xorb: h,
        chunk_start: 0,
        chunk_end: 1,
        unpacked_len: n,
    };
    let terms = vec![t(100), t(50), t(200)]; // [0,100) [100,150) [150,350)
                                             // Whole file.
    assert_eq!(terms_for_range(&terms, 0, 350), (0, 3, 0));
    // Past the end clamps.
    assert_eq!(terms_for_range(&terms, 0, 10_000), (0, 3, 0));
    // Exactly one term, at boundaries.
    assert_eq!(terms_for_range(&terms, 100, 150), (1, 2, 0));
    assert_eq!(terms_for_range(&terms, 0, 100), (0, 1, 0));
    assert_eq!(terms_for_range(&terms, 150, 350), (2, 3, 0));
    // Crossing a boundary.
    assert_eq!(terms_for_range(&terms, 99, 101), (0, 2, 99));
    assert_eq!(terms_for_range(&terms, 100, 151), (1, 3, 0));
    // Inside one term.
    assert_eq!(terms_for_range(&terms, 10, 20), (0, 1, 10));
    assert_eq!(terms_for_range(&terms, 120, 121), (1, 2, 20));
    assert_eq!(terms_for_range(&terms, 349, 350), (2, 3, 199));
    // Empty ranges and out-of-file starts.
    assert_eq!(terms_for_range(&terms, 20, 20), (0, 0, 0));
    assert_eq!(terms_for_range(&terms, 30, 10), (0, 0, 0));
    assert_eq!(terms_for_range(&terms, 350, 400), (3, 3, 0));
    assert_eq!(terms_for_range(&[], 0, 10), (0, 0, 0));
    assert_eq!(terms_for_range(&terms, u64::MAX - 1, u64::MAX), (3, 3, 0));
}

#[test]
fn dedup_shard_is_keyed_and_parses() {
    let up = upload(&sample_data(200_000, 12), 8192, false);
    let (_, meta) = verify_xorb(&up.xorbs[0].0, up.xorbs[0].1.clone()).unwrap();
    let key = [42u8; 32];
    let bytes = dedup_shard(std::slice::from_ref(&meta), key, Duration::from_secs(3600)).unwrap();

    // Full shard with footer: key and expiry are in the footer.
    let info = MDBShardInfo::load_from_reader(&mut Cursor::new(&bytes)).unwrap();
    assert_eq!(info.chunk_hmac_key(), Some(HMACKey::from(key)));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        info.metadata.shard_key_expiry >= now + 3500
            && info.metadata.shard_key_expiry <= now + 3700
    );
    assert_eq!(info.num_xorb_entries(), 1);
    assert_eq!(info.num_file_entries(), 0);
    let blocks = info
        .read_all_xorb_blocks_full(&mut Cursor::new(&bytes))
        .unwrap();
    assert_eq!(blocks.len(), 1);
    let block = &blocks[0];
    assert_eq!(block.metadata.xorb_hash, meta.hash);
    assert_eq!(
        block.metadata.num_bytes_in_xorb as u64,
        meta.total_unpacked_len()
    );
    assert_eq!(block.chunks.len(), meta.chunks.len());
    let mut start = 0;
    for (entry, c) in block.chunks.iter().zip(&meta.chunks) {
        assert_eq!(entry.chunk_hash, c.hash.hmac(HMACKey::from(key)));
        assert_ne!(entry.chunk_hash, c.hash);
        assert_eq!(entry.unpacked_segment_bytes, c.unpacked_len);
        assert_eq!(entry.chunk_byte_range_start, start);
        start += c.unpacked_len;
    }
    // A client that has the chunk finds it through the keyed chunk lookup (the query takes the
    // clear hash and keys it with the footer's key), and matches the following chunk too.
    assert_eq!(
        info.keyed_chunk_hash(meta.chunks[3].hash),
        meta.chunks[3].hash.hmac(HMACKey::from(key))
    );
    let (n, entry) = info
        .chunk_hash_dedup_query(
            &mut Cursor::new(&bytes),
            &[meta.chunks[3].hash, meta.chunks[4].hash],
        )
        .unwrap()
        .expect("keyed chunk found");
    assert_eq!(n, 2);
    assert_eq!(entry.xorb_hash, meta.hash);
    assert_eq!((entry.chunk_index_start, entry.chunk_index_end), (3, 5));
    // A chunk the client does not have is not found.
    let unknown = merklehash::compute_data_hash(b"not in the xorb");
    assert!(info
        .chunk_hash_dedup_query(&mut Cursor::new(&bytes), &[unknown])
        .unwrap()
        .is_none());

    // The streaming parser reads it too.
    let minimal = MDBMinimalShard::from_reader(&mut Cursor::new(&bytes), true, true).unwrap();
    assert_eq!(minimal.num_xorb(), 1);
    assert_eq!(minimal.xorb(0).unwrap().num_entries(), meta.chunks.len());

    // Lifetimes that would overflow the clock are refused, not a panic.
    assert!(dedup_shard(std::slice::from_ref(&meta), key, Duration::MAX).is_err());
}

#[test]
fn global_dedup_chunks_follow_the_crate_rule() {
    // Find, by brute force over small inputs, a few chunk hashes that are eligible.
    let mut chunks = Vec::new();
    let mut eligible = Vec::new();
    let mut i = 0u64;
    while eligible.len() < 2 {
        let h = merklehash::compute_data_hash(&i.to_le_bytes());
        if hash_is_global_dedup_eligible(&h) {
            eligible.push((h, chunks.len() as u32));
        }
        chunks.push(ChunkMeta {
            hash: h,
            byte_end: (chunks.len() as u32 + 1) * 16,
            unpacked_len: 8,
        });
        i += 1;
    }
    let meta = XorbMeta {
        hash: merklehash::compute_data_hash(b"xorb"),
        chunks,
    };
    assert_eq!(meta.global_dedup_chunks(), eligible);
    // And the dedup shard flags exactly those.
    let info = xorb_info(&meta).unwrap();
    for (i, e) in info.chunks.iter().enumerate() {
        let flagged = e.flags
            & xet_core_structures::metadata_shard::xorb_structs::MDB_CHUNK_WITH_GLOBAL_DEDUP_FLAG
            != 0;
        assert_eq!(flagged, eligible.iter().any(|(_, j)| *j as usize == i));
    }
}

// ---------------------------------------------------------------------------------------------
// File chunk hashes

/// Checks an answer the way `xet-data`'s `upload_ranges` consumes it (with the original bytes in
/// every window, so the merged hash must be the file's), plus its shape: chunk-aligned, sorted,
/// disjoint windows covering every dirty range, `windows + 1` gaps, and the verification hash of
/// exactly the terms no window touches.
fn check_chunk_hashes(
    up: &Upload,
    stored: &HashMap<MerkleHash, (Vec<u8>, XorbMeta)>,
    dirty: &[(u64, u64)],
) -> FileChunkHashes {
    let r = file_chunk_hashes(&up.terms, lookup(stored), dirty).expect("chunk hashes");
    let chunks = file_chunks(&up.terms, lookup(stored)).unwrap();
    let size: u64 = chunks.iter().map(|c| c.1).sum();
    assert_eq!((r.total_chunks, r.file_size), (chunks.len() as u64, size));
    let mut bounds = vec![0u64];
    for c in &chunks {
        bounds.push(bounds.last().unwrap() + c.1);
    }

    assert!(!r.windows.is_empty());
    assert_eq!(r.hash_ranges.len(), r.windows.len() + 1);
    for (i, &(s, e)) in r.windows.iter().enumerate() {
        assert!(
            s < e && bounds.contains(&s) && bounds.contains(&e),
            "window {i} {s}-{e} not chunk-aligned"
        );
        if i > 0 {
            assert!(
                r.windows[i - 1].1 <= s,
                "windows overlap or are unsorted: {:?}",
                r.windows
            );
        }
    }
    for &(s, e) in dirty {
        let e = e.min(size);
        assert!(
            r.windows.iter().any(|w| w.0 <= s && e <= w.1),
            "dirty {s}-{e} not covered by {:?}",
            r.windows
        );
    }
    assert_eq!(r.hash_ranges[0].is_none(), r.windows[0].0 == 0);
    assert_eq!(
        r.hash_ranges.last().unwrap().is_none(),
        r.windows.last().unwrap().1 == size
    );

    // The client's merge: [gap 0, window 0, gap 1, ..., gap n], None gaps skipped.
    let first_at_start = r.hash_ranges[0].is_none();
    let last_at_end = r.hash_ranges.last().unwrap().is_none();
    let mut seq = Vec::new();
    for (i, (&(s, e), gap)) in r.windows.iter().zip(&r.hash_ranges).enumerate() {
        if let Some(g) = gap {
            seq.push(g.clone());
        }
        let a = bounds.iter().position(|&b| b == s).unwrap();
        let b = bounds.iter().position(|&b| b == e).unwrap();
        let last = i == r.windows.len() - 1;
        seq.push(MerkleHashSubtree::from_chunks(
            i == 0 && first_at_start,
            &chunks[a..b],
            last && last_at_end,
        ));
    }
    if let Some(g) = r.hash_ranges.last().unwrap() {
        seq.push(g.clone());
    }
    let merged = MerkleHashSubtree::merge(&seq).expect("gaps and windows merge");
    let aggregated = merged.final_hash().expect("merge is closed at both ends");
    assert_eq!(
        aggregated.hmac(MerkleHash::default()),
        up.file_hash,
        "merged hash for {dirty:?}"
    );

    // Verification hashes of the untouched terms, from the shard the client sent.
    let shard = single_file(&up.shard);
    let mut expected = Vec::new();
    let mut pos = 0u64;
    for (t, v) in up.terms.iter().zip(&shard.verification) {
        let end = pos + t.unpacked_len as u64;
        if !r.windows.iter().any(|w| w.0 < end && pos < w.1) {
            expected.push(*v);
        }
        pos = end;
    }
    assert_eq!(
        r.gap_verification, expected,
        "gap verification for {dirty:?}"
    );
    r
}

#[test]
fn file_chunk_hashes_windows_gaps_and_verification() {
    // 16 KiB chunks have a stable CDC size: a window closes two clean chunks after its dirty
    // chunks. 22 chunks (the last one 5000 bytes), 4 per xorb: 6 terms.
    const CS: u64 = 16 * 1024;
    let data = sample_data(21 * CS as usize + 5000, 31);
    let size = data.len() as u64;
    let up = upload_with_xorb_limit(&data, CS as usize, 4, false);
    assert_eq!(up.terms.len(), 6);
    let stored = store(&up);
    type Ranges = Vec<(u64, u64)>;
    let cases: Vec<(Ranges, Ranges)> = vec![
        // Inside one chunk.
        (vec![(5 * CS + 100, 5 * CS + 200)], vec![(5 * CS, 8 * CS)]),
        // Across a chunk boundary that is also a xorb boundary.
        (vec![(3 * CS + 10, 4 * CS + 10)], vec![(3 * CS, 7 * CS)]),
        // The first byte.
        (vec![(0, 1)], vec![(0, 3 * CS)]),
        // The last byte, and the last chunks.
        (vec![(size - 1, size)], vec![(21 * CS, size)]),
        (vec![(20 * CS + 5, size)], vec![(20 * CS, size)]),
        // An end past the file is clamped.
        (vec![(20 * CS, u64::MAX / 2)], vec![(20 * CS, size)]),
        // The tail reaches the small last chunk, which never counts as stable: to the end.
        (vec![(19 * CS, 19 * CS + 1)], vec![(19 * CS, size)]),
        // Overlapping ranges, given out of order, merge into one.
        (
            vec![(2 * CS + 100, 3 * CS + 1), (2 * CS, 2 * CS + 500)],
            vec![(2 * CS, 6 * CS)],
        ),
        // Touching ranges too.
        (
            vec![(2 * CS, 2 * CS + 10), (2 * CS + 10, 2 * CS + 20)],
            vec![(2 * CS, 5 * CS)],
        ),
        // A range inside the clean tail of a window joins it.
        (
            vec![(CS, CS + 1), (3 * CS + 5, 3 * CS + 6)],
            vec![(CS, 6 * CS)],
        ),
        // Far apart: two windows.
        (
            vec![(CS + 1, CS + 2), (15 * CS, 15 * CS + 1)],
            vec![(CS, 4 * CS), (15 * CS, 18 * CS)],
        ),
        // The whole file.
        (vec![(0, size)], vec![(0, size)]),
    ];
    for (dirty, windows) in cases {
        let r = check_chunk_hashes(&up, &stored, &dirty);
        assert_eq!(r.windows, windows, "windows for {dirty:?}");
    }
    // Stable terms really are reported: a window in the middle leaves terms on both sides.
    let r = check_chunk_hashes(&up, &stored, &[(9 * CS, 9 * CS + 1)]);
    assert_eq!(r.windows, vec![(9 * CS, 12 * CS)]);
    // Only term 2 (chunks 8 to 11) is touched.
    assert_eq!(r.gap_verification.len(), 5);
    assert_eq!(r.total_chunks, 22);

    // Many ranges at once, every chunk dirty or not.
    let many: Vec<(u64, u64)> = (0..22)
        .step_by(5)
        .map(|i| (i * CS + 3, i * CS + 4))
        .collect();
    check_chunk_hashes(&up, &stored, &many);
}

#[test]
fn file_chunk_hashes_with_unstable_chunks_and_partial_terms() {
    // 4 KiB chunks are below the stable size: every window runs to the end of the file.
    let data = sample_data(100_000, 32);
    let up = upload_with_xorb_limit(&data, 4096, 5, false);
    let stored = store(&up);
    for dirty in [
        vec![(0u64, 1u64)],
        vec![(40_000, 40_001)],
        vec![(99_999, 100_000)],
        vec![(10, 20), (50_000, 60_000)],
    ] {
        let r = check_chunk_hashes(&up, &stored, &dirty);
        let start = dirty[0].0 / 4096 * 4096;
        assert_eq!(r.windows, vec![(start, 100_000)]);
    }

    // A file made of chunks [1, 4) of a stored xorb (its terms do not start at chunk 0).
    let big = upload(&sample_data(6 * 16384, 33), 16384, false);
    let stored = store(&big);
    let (_, meta) = stored.values().next().unwrap();
    let (shard, file_hash) = reuse_shard(meta, 1, 4);
    let file = single_file(&shard);
    let sub = Upload {
        xorbs: Vec::new(),
        shard,
        file_hash,
        sha256: String::new(),
        terms: file.terms,
    };
    let r = check_chunk_hashes(&sub, &stored, &[(16384, 16385)]);
    assert_eq!(r.windows, vec![(16384, 3 * 16384)]);
    assert_eq!(r.total_chunks, 3);
}

#[test]
fn file_chunk_hashes_refusals() {
    let data = sample_data(50_000, 34);
    let up = upload(&data, 16384, false);
    let stored = store(&up);
    expect_invalid(
        file_chunk_hashes(&up.terms, lookup(&stored), &[]),
        "no dirty range",
    );
    expect_invalid(
        file_chunk_hashes(&up.terms, lookup(&stored), &[(50_000, 50_001)]),
        "past the end",
    );
    expect_invalid(
        file_chunk_hashes(&up.terms, lookup(&stored), &[(0, 1), (60_000, 60_001)]),
        "past the end",
    );
    expect_invalid(
        file_chunk_hashes(&up.terms, lookup(&stored), &[(5, 5)]),
        "empty dirty range",
    );
    let too_many: Vec<(u64, u64)> = (0..1001).map(|i| (i, i + 1)).collect();
    expect_invalid(
        file_chunk_hashes(&up.terms, lookup(&stored), &too_many),
        "more than 1000",
    );
    // The empty file has no byte to edit.
    expect_invalid(
        file_chunk_hashes(&[], lookup(&stored), &[(0, 1)]),
        "past the end",
    );
    // A stored file whose xorb is gone is the server's problem.
    assert!(matches!(
        file_chunk_hashes(&up.terms, |_| None, &[(0, 1)]),
        Err(XetError::Internal(_))
    ));
}

#[test]
fn dirty_range_header_parsing() {
    let p = |s: &str| parse_dirty_ranges(Some(s.as_bytes()));
    assert_eq!(p("bytes=0-0").unwrap(), vec![(0, 1)]);
    assert_eq!(
        p("bytes=10-19,100-100").unwrap(),
        vec![(10, 20), (100, 101)]
    );
    assert_eq!(p(" bytes=5-9 , 1-2 ").unwrap(), vec![(5, 10), (1, 3)]);
    let ok_max = format!(
        "bytes={}",
        (0..1000)
            .map(|i| format!("{i}-{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(p(&ok_max).unwrap().len(), 1000);
    let too_many = format!("{ok_max},2000-2000");
    expect_invalid(p(&too_many), "more than 1000");
    expect_invalid(parse_dirty_ranges(None), "required");
    expect_invalid(parse_dirty_ranges(Some(&[0xff, 0xfe])), "not text");
    for bad in [
        "",
        "bytes=",
        "0-10",
        "items=0-10",
        "bytes=5-4",
        "bytes=-5",
        "bytes=5-",
        "bytes=a-b",
        "bytes=1-2,",
        "bytes=1-2;3-4",
        "bytes=+1-2",
        "bytes=1-18446744073709551615",
        "bytes=99999999999999999999-1",
    ] {
        expect_invalid(p(bad), "X-Range-Dirty");
    }
}
