//! The Xet CAS server over HTTP with uploads built by `hangar_xet::testing` exactly as hf_xet builds
//! them: the whole protocol (tokens, xorbs, shard, commit, reconstruction, fetch, /resolve), and the
//! refusals that are awkward to provoke through the official client (forged shards, corrupted xorbs,
//! a claimed SHA-256 that is not the content's).

mod common;

use common::Hub;
use hangar_xet::testing::{self, Upload};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Xet {
    cas: String,
    token: String,
}

async fn xet_token(hub: &Hub, token: &str, repo: &str, kind: &str) -> reqwest::Response {
    hub.get(&format!("/api/models/{repo}/xet-{kind}-token/main"), Some(token)).send().await.unwrap()
}

async fn xet(hub: &Hub, token: &str, repo: &str, kind: &str) -> Xet {
    let r = xet_token(hub, token, repo, kind).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    Xet { cas: v["casUrl"].as_str().unwrap().to_owned(), token: v["accessToken"].as_str().unwrap().to_owned() }
}

impl Xet {
    async fn post(&self, hub: &Hub, path: &str, body: Vec<u8>) -> reqwest::Response {
        hub.http.post(format!("{}{path}", self.cas)).bearer_auth(&self.token).body(body).send().await.unwrap()
    }

    async fn get(&self, hub: &Hub, path: &str) -> reqwest::Response {
        hub.http.get(format!("{}{path}", self.cas)).bearer_auth(&self.token).send().await.unwrap()
    }

    /// Sends every xorb, then the shard; returns the shard's answer.
    async fn upload(&self, hub: &Hub, up: &Upload) -> reqwest::Response {
        for (hash, bytes) in &up.xorbs {
            let r = self.post(hub, &format!("/v1/xorbs/default/{}", hash.hex()), bytes.clone()).await;
            assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        }
        self.post(hub, "/v1/shards", up.shard.clone()).await
    }
}

/// Commits a file uploaded through Xet the way the official client does: an `lfsFile` naming its SHA-256.
async fn commit_lfs(hub: &Hub, token: &str, repo: &str, path: &str, sha256: &str, size: usize) -> reqwest::Response {
    let lines = [
        json!({"key": "header", "value": {"summary": "add", "description": ""}}),
        json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha256, "size": size}}),
    ];
    hub.commit(token, repo, "main", &lines).await
}

async fn setup(hub: &Hub, private: bool) -> (String, String) {
    hub.user("alice").await;
    let write = hub.token("alice", "write").await;
    hub.create_repo(&write, "model", private).await;
    (write, "alice/model".to_owned())
}

#[tokio::test]
async fn a_file_uploaded_through_xet_is_committed_and_read_back_every_way() {
    let hub = Hub::start().await;
    let (write, repo) = setup(&hub, true).await;
    let data = testing::sample_data(700_000, 7);
    let up = testing::upload_with_xorb_limit(&data, 64 * 1024, 4, true);
    assert!(up.xorbs.len() >= 2);
    let x = xet(&hub, &write, &repo, "write").await;
    let r = x.upload(&hub, &up).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["result"], 1);
    let r = commit_lfs(&hub, &write, &repo, "model.bin", &up.sha256, data.len()).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    // /resolve: plain bytes with the Xet metadata, whole and by range.
    let read = hub.token("alice", "read").await;
    let r = hub.get(&format!("/{repo}/resolve/main/model.bin"), Some(&read)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-xet-hash"], up.file_hash.hex().as_str());
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains(&format!("/xet-cas/v1/reconstructions/{}>; rel=\"xet-reconstruction-info\"", up.file_hash.hex())), "{link}");
    assert!(link.contains("/api/models/alice/model/xet-read-token/"), "{link}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    for (a, b) in [(0usize, 0usize), (65_535, 65_536), (100_000, 400_000), (699_999, 699_999)] {
        let r = hub.get(&format!("/{repo}/resolve/main/model.bin"), Some(&read)).header("range", format!("bytes={a}-{b}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[a..=b], "{a}-{b}");
    }

    // The tree names the Xet hash.
    let tree: Value = hub.get(&format!("/api/models/{repo}/tree/main"), Some(&read)).send().await.unwrap().json().await.unwrap();
    let entry = tree.as_array().unwrap().iter().find(|e| e["path"] == "model.bin").unwrap();
    assert_eq!(entry["xetHash"], up.file_hash.hex().as_str());

    // Reconstruction (v1 and v2) and the signed fetch URLs give back the same bytes, as hf_xet reads them.
    let rx = xet(&hub, &read, &repo, "read").await;
    let v1: Value = rx.get(&hub, &format!("/v1/reconstructions/{}", up.file_hash.hex())).await.json().await.unwrap();
    let mut out = Vec::new();
    for term in v1["terms"].as_array().unwrap() {
        let fetch = v1["fetch_info"][term["hash"].as_str().unwrap()]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["range"]["start"].as_u64() <= term["range"]["start"].as_u64() && term["range"]["end"].as_u64() <= f["range"]["end"].as_u64())
            .unwrap();
        let range = format!("bytes={}-{}", fetch["url_range"]["start"], fetch["url_range"]["end"]);
        // Fetch URLs carry no credentials: the signature is the authorisation.
        let r = hub.http.get(fetch["url"].as_str().unwrap()).header("range", range).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        let raw = r.bytes().await.unwrap();
        let before = out.len();
        hangar_xet::decode_chunks(&raw, &mut out).unwrap();
        assert_eq!((out.len() - before) as u64, term["unpacked_length"].as_u64().unwrap());
    }
    assert_eq!(out, data);
    let v2: Value = rx.get(&hub, &format!("/v2/reconstructions/{}", up.file_hash.hex())).await.json().await.unwrap();
    assert_eq!(v2["terms"], v1["terms"]);
    assert_eq!(v2["xorbs"].as_object().unwrap().len(), v1["fetch_info"].as_object().unwrap().len());

    // A range of the file: only the terms that cover it, and where it starts in the first one.
    let r = hub
        .http
        .get(format!("{}/v1/reconstructions/{}", rx.cas, up.file_hash.hex()))
        .bearer_auth(&rx.token)
        .header("range", "bytes=300000-300009")
        .send()
        .await
        .unwrap();
    let part: Value = r.json().await.unwrap();
    assert!(part["terms"].as_array().unwrap().len() < v1["terms"].as_array().unwrap().len());
    assert!(part["offset_into_first_range"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn the_global_dedup_answer_is_keyed_and_found_only_for_stored_chunks() {
    let hub = Hub::start().await;
    let (write, repo) = setup(&hub, false).await;
    let data = testing::sample_data(300_000, 3);
    let up = testing::upload(&data, 64 * 1024, true);
    let x = xet(&hub, &write, &repo, "write").await;
    assert_eq!(x.upload(&hub, &up).await.status(), StatusCode::OK);
    // The first chunk of every file is in the dedup index.
    let first = up.terms[0].xorb;
    let bytes = up.xorbs.iter().find(|(h, _)| *h == first).unwrap().1.clone();
    let (_, meta) = hangar_xet::verify_xorb(&first, bytes).unwrap();
    let chunk = meta.chunks[0].hash;
    let r = x.get(&hub, &format!("/v1/chunks/default/{}", chunk.hex())).await;
    assert_eq!(r.status(), StatusCode::OK);
    let shard = r.bytes().await.unwrap();
    // The shard lists the xorb, but its chunk hashes are keyed: the clear hashes do not appear in it.
    let clear = meta.chunks.iter().filter(|c| shard.windows(32).any(|w| w == c.hash.as_bytes())).count();
    assert_eq!(clear, 0, "chunk hashes must be keyed");
    let unknown = hangar_xet::parse_hash(&"12".repeat(32)).unwrap();
    assert_eq!(x.get(&hub, &format!("/v1/chunks/default/{}", unknown.hex())).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forged_and_corrupted_uploads_are_refused_and_store_nothing() {
    let hub = Hub::start().await;
    let (write, repo) = setup(&hub, false).await;
    let x = xet(&hub, &write, &repo, "write").await;
    let data = testing::sample_data(200_000, 11);
    let up = testing::upload(&data, 64 * 1024, true);

    // A corrupted xorb, and a xorb sent under another xorb's hash.
    let (hash, bytes) = &up.xorbs[0];
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    let r = x.post(&hub, &format!("/v1/xorbs/default/{}", hash.hex()), flipped).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let other = hangar_xet::parse_hash(&"34".repeat(32)).unwrap();
    assert_eq!(x.post(&hub, &format!("/v1/xorbs/default/{}", other.hex()), bytes.clone()).await.status(), StatusCode::BAD_REQUEST);
    assert!(hub.state.store.xet_xorb(&hash.hex()).await.unwrap().is_none());

    // A shard naming xorbs nobody uploaded.
    let r = x.post(&hub, "/v1/shards", up.shard.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(hub.state.store.xet_file(&up.file_hash.hex()).await.unwrap().is_none());

    // Xorbs uploaded, then a shard that claims another file's SHA-256 for this content.
    for (h, b) in &up.xorbs {
        assert_eq!(x.post(&hub, &format!("/v1/xorbs/default/{}", h.hex()), b.clone()).await.status(), StatusCode::OK);
    }
    let lie = "ab".repeat(32);
    let forged = testing::build_shard(up.file_hash, &up.terms, Some(&verification(&hub, &up).await), Some(&lie));
    let r = x.post(&hub, "/v1/shards", forged).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("SHA-256"));
    assert!(hub.state.store.xet_file(&up.file_hash.hex()).await.unwrap().is_none());
    assert_eq!(commit_lfs(&hub, &write, &repo, "x.bin", &lie, data.len()).await.status().as_u16() / 100, 4);

    // Without verification entries the uploader proves nothing about the chunks it names.
    let unverified = testing::build_shard(up.file_hash, &up.terms, None, Some(&up.sha256));
    assert_eq!(x.post(&hub, "/v1/shards", unverified).await.status(), StatusCode::BAD_REQUEST);

    // The honest shard then goes through.
    assert_eq!(x.post(&hub, "/v1/shards", up.shard.clone()).await.status(), StatusCode::OK);
}

/// The verification entries of an upload's shard, recomputed from its stored xorbs.
async fn verification(hub: &Hub, up: &Upload) -> Vec<hangar_xet::MerkleHash> {
    let mut out = Vec::new();
    for t in &up.terms {
        let row = hub.state.store.xet_xorb(&t.xorb.hex()).await.unwrap().unwrap();
        let meta = hangar_xet::XorbMeta::from_bytes(&row.meta).unwrap();
        let (shard, _) = testing::reuse_shard(&meta, t.chunk_start, t.chunk_end);
        out.extend(hangar_xet::parse_shard(&shard).unwrap()[0].verification.clone());
    }
    out
}

#[tokio::test]
async fn xet_tokens_are_bound_to_one_repo_and_to_read_or_write() {
    let hub = Hub::start().await;
    let (write, repo) = setup(&hub, true).await;
    hub.create_repo(&write, "other", true).await;
    let data = testing::sample_data(150_000, 5);
    let up = testing::upload(&data, 64 * 1024, true);
    let x = xet(&hub, &write, &repo, "write").await;
    assert_eq!(x.upload(&hub, &up).await.status(), StatusCode::OK);

    // A read token gets a read Xet token only, and a read Xet token cannot upload.
    let read = hub.token("alice", "read").await;
    assert_eq!(xet_token(&hub, &read, &repo, "write").await.status(), StatusCode::FORBIDDEN);
    let rx = xet(&hub, &read, &repo, "read").await;
    let (h, b) = &up.xorbs[0];
    assert_eq!(rx.post(&hub, &format!("/v1/xorbs/default/{}", h.hex()), b.clone()).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(rx.post(&hub, "/v1/shards", up.shard.clone()).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(rx.get(&hub, &format!("/v1/reconstructions/{}", up.file_hash.hex())).await.status(), StatusCode::OK);

    // A token for another repository of the same owner cannot read this one's files.
    let other = xet(&hub, &write, "alice/other", "read").await;
    assert_eq!(other.get(&hub, &format!("/v1/reconstructions/{}", up.file_hash.hex())).await.status(), StatusCode::NOT_FOUND);

    // A stranger gets nothing for a private repo, and the answer is a missing repo's.
    hub.user("bob").await;
    let bob = hub.token("bob", "write").await;
    assert_eq!(xet_token(&hub, &bob, &repo, "read").await.status(), StatusCode::NOT_FOUND);

    // A tampered token is refused.
    let tampered = Xet { cas: rx.cas.clone(), token: rx.token.replacen(".r.", ".w.", 1) };
    assert_eq!(tampered.post(&hub, "/v1/shards", up.shard.clone()).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn garbage_collection_spares_uploads_in_flight_and_frees_deleted_repos_data() {
    let hub = Hub::start().await;
    let (write, repo) = setup(&hub, false).await;
    let x = xet(&hub, &write, &repo, "write").await;
    let data = testing::sample_data(400_000, 21);
    let up = testing::upload_with_xorb_limit(&data, 64 * 1024, 3, true);
    for (h, b) in &up.xorbs {
        assert_eq!(x.post(&hub, &format!("/v1/xorbs/default/{}", h.hex()), b.clone()).await.status(), StatusCode::OK);
    }
    // The xorbs are sent, the shard not yet: a collection with the grace period leaves them alone.
    let c = hangar_server::handlers::xet::collect_garbage(&hub.state, 3600).await.unwrap();
    assert_eq!((c.files, c.xorbs), (0, 0));
    assert_eq!(x.post(&hub, "/v1/shards", up.shard.clone()).await.status(), StatusCode::OK);
    assert_eq!(commit_lfs(&hub, &write, &repo, "a.bin", &up.sha256, data.len()).await.status(), StatusCode::OK);

    // Linked to a repository: nothing is collected, whatever the grace period.
    let c = hangar_server::handlers::xet::collect_garbage(&hub.state, 0).await.unwrap();
    assert_eq!((c.files, c.xorbs), (0, 0));

    // The repository is deleted: its file and xorbs go, bytes included.
    let blobs: Vec<String> = xorb_blobs(&hub, &up).await;
    let admin = hub.token("alice", "admin").await;
    let r = hub.http.delete(format!("{}/api/repos/delete", hub.url)).bearer_auth(&admin).json(&json!({"name": "model", "type": "model"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let c = hangar_server::handlers::xet::collect_garbage(&hub.state, 0).await.unwrap();
    assert_eq!((c.files, c.xorbs as usize), (1, up.xorbs.len()));
    assert!(c.bytes > 0);
    for b in blobs {
        assert!(!hub.state.blobs.exists(&b).await.unwrap(), "xorb bytes {b} removed");
    }
    assert!(hub.state.store.xet_file(&up.file_hash.hex()).await.unwrap().is_none());

    // A shard sent after its xorbs were collected is refused with a clear message; nothing is linked.
    hub.create_repo(&write, "again", false).await;
    let x2 = xet(&hub, &write, "alice/again", "write").await;
    let r = x2.post(&hub, "/v1/shards", up.shard.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn xorb_blobs(hub: &Hub, up: &Upload) -> Vec<String> {
    let mut out = Vec::new();
    for (h, _) in &up.xorbs {
        out.push(hub.state.store.xet_xorb(&h.hex()).await.unwrap().unwrap().blob_sha256);
    }
    out
}

/// The chunks `(hash, size)` of an uploaded file, from its stored xorbs.
async fn stored_chunks(hub: &Hub, up: &Upload) -> Vec<(hangar_xet::MerkleHash, u64)> {
    let mut metas = std::collections::HashMap::new();
    for t in &up.terms {
        let row = hub.state.store.xet_xorb(&t.xorb.hex()).await.unwrap().unwrap();
        metas.insert(t.xorb, hangar_xet::XorbMeta::from_bytes(&row.meta).unwrap());
    }
    hangar_xet::file_chunks(&up.terms, |h| metas.get(h).cloned()).unwrap()
}

#[tokio::test]
async fn file_chunk_hashes_answer_as_the_client_reads_them() {
    let hub = Hub::start().await;
    let (write, repo) = setup(&hub, true).await;
    hub.create_repo(&write, "other", true).await;
    // 16 KiB chunks (a stable CDC size), 4 per xorb, the last one short.
    const CS: u64 = 16 * 1024;
    let data = testing::sample_data(21 * CS as usize + 5000, 41);
    let size = data.len() as u64;
    let up = testing::upload_with_xorb_limit(&data, CS as usize, 4, true);
    let x = xet(&hub, &write, &repo, "write").await;
    assert_eq!(x.upload(&hub, &up).await.status(), StatusCode::OK);
    let chunks = stored_chunks(&hub, &up).await;
    let mut bounds = vec![0u64];
    for c in &chunks {
        bounds.push(bounds.last().unwrap() + c.1);
    }

    let read = hub.token("alice", "read").await;
    let rx = xet(&hub, &read, &repo, "read").await;
    let path = format!("/v2/file-chunk-hashes/{}", up.file_hash.hex());
    let ask = |header: Option<String>, who: &Xet| {
        let mut req = hub.http.get(format!("{}{path}", who.cas)).bearer_auth(&who.token);
        if let Some(h) = header {
            req = req.header("X-Range-Dirty", h);
        }
        req.send()
    };

    // (header, expected windows): inside one chunk; across a chunk and xorb boundary plus a range
    // far from it; two overlapping ranges merged; the last byte.
    let cases = [
        (format!("bytes={}-{}", 5 * CS + 100, 5 * CS + 199), vec![[5 * CS, 8 * CS]]),
        (format!("bytes={}-{},{}-{}", 3 * CS + 10, 4 * CS + 9, 15 * CS, 15 * CS), vec![[3 * CS, 7 * CS], [15 * CS, 18 * CS]]),
        (format!("bytes={}-{},{}-{}", 0, 500, 100, CS), vec![[0, 4 * CS]]),
        (format!("bytes={}-{}", size - 1, size - 1), vec![[21 * CS, size]]),
    ];
    for (header, expected) in cases {
        let r = ask(Some(header.clone()), &rx).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{header}");
        let v: Value = r.json().await.unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 5, "{v}");
        for k in ["totalChunks", "fileSize", "windows", "hashRanges", "gapVerification"] {
            assert!(keys.contains(&k), "{k} missing in {v}");
        }
        assert_eq!(v["totalChunks"], chunks.len() as u64);
        assert_eq!(v["fileSize"], size);
        let windows: Vec<[u64; 2]> = v["windows"].as_array().unwrap().iter().map(|w| serde_json::from_value(w["dirtyByteRange"].clone()).unwrap()).collect();
        assert_eq!(windows, expected, "{header}");
        let gaps: Vec<Option<hangar_xet::MerkleHashSubtree>> = serde_json::from_value(v["hashRanges"].clone()).unwrap();
        assert_eq!(gaps.len(), windows.len() + 1);

        // The client's merge, with the original bytes in every window: the file hash again.
        let mut seq = Vec::new();
        let (first_at_start, last_at_end) = (gaps[0].is_none(), gaps.last().unwrap().is_none());
        for (i, (w, gap)) in windows.iter().zip(&gaps).enumerate() {
            seq.extend(gap.clone());
            let a = bounds.iter().position(|&b| b == w[0]).unwrap();
            let b = bounds.iter().position(|&b| b == w[1]).unwrap();
            seq.push(hangar_xet::MerkleHashSubtree::from_chunks(i == 0 && first_at_start, &chunks[a..b], i == windows.len() - 1 && last_at_end));
        }
        seq.extend(gaps.last().unwrap().clone());
        let merged = hangar_xet::MerkleHashSubtree::merge(&seq).unwrap();
        assert_eq!(merged.final_hash().unwrap().hmac(hangar_xet::MerkleHash::default()), up.file_hash, "{header}");

        // One verification hash (hex) per term no window touches, as the shard had it.
        let shard_verification = verification(&hub, &up).await;
        let mut expected_gv = Vec::new();
        let mut pos = 0u64;
        for (t, h) in up.terms.iter().zip(&shard_verification) {
            let end = pos + t.unpacked_len as u64;
            if !windows.iter().any(|w| w[0] < end && pos < w[1]) {
                expected_gv.push(Value::from(h.hex()));
            }
            pos = end;
        }
        assert_eq!(v["gapVerification"], Value::Array(expected_gv), "{header}");
    }

    // No header, garbage, a range past the end, too many ranges: 400.
    let too_many = format!("bytes={}", (0..1001).map(|i| format!("{i}-{i}")).collect::<Vec<_>>().join(","));
    for header in [None, Some("garbage".to_owned()), Some("bytes=10-5".to_owned()), Some(format!("bytes={size}-{}", size + 10)), Some(too_many)] {
        let r = ask(header.clone(), &rx).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{header:?}");
    }
    // A token of another repository, an unknown file: the same 404.
    let other = xet(&hub, &write, "alice/other", "read").await;
    let r = ask(Some("bytes=0-0".to_owned()), &other).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let unknown = testing::sample_data(10, 1);
    let r = rx.get(&hub, &format!("/v2/file-chunk-hashes/{}", testing::upload(&unknown, 1024, false).file_hash.hex())).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST); // no header
    let r = hub
        .http
        .get(format!("{}/v2/file-chunk-hashes/{}", rx.cas, testing::upload(&unknown, 1024, false).file_hash.hex()))
        .bearer_auth(&rx.token)
        .header("X-Range-Dirty", "bytes=0-0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // No token at all.
    let r = hub.http.get(format!("{}{path}", rx.cas)).header("X-Range-Dirty", "bytes=0-0").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
