//! The server on a real socket (port 0), driven over HTTP: protocol details and failure cases that
//! are awkward to reach through the official clients.

use base64::Engine as _;
use hangar_server::{AppState, Config};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod common;
use common::Hub;

fn header(summary: &str) -> Value {
    json!({"key": "header", "value": {"summary": summary, "description": ""}})
}

fn file(path: &str, data: &[u8]) -> Value {
    json!({"key": "file", "value": {"path": path, "encoding": "base64", "content": base64::engine::general_purpose::STANDARD.encode(data)}})
}

fn git_blob_sha1(data: &[u8]) -> String {
    use sha1::{Digest as _, Sha1};
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}

#[tokio::test]
async fn bad_tokens_are_rejected_never_anonymous() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let good = hub.token("alice", "read").await;
    let mut typo = good.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let invented = format!("hf_{}", "a".repeat(34));
    for bad in [typo.as_str(), invented.as_str(), "hf_short", "", "not-a-token"] {
        // even on a public endpoint, a bad token is an error, not a downgrade to anonymous
        let r = hub.http.get(format!("{}/api/models", hub.url)).header("authorization", format!("Bearer {bad}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(r.headers()["x-error-message"], "Invalid credentials in Authorization header");
    }
    let r = hub.get("/api/whoami-v2", Some(&good)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["name"], "alice");
    assert_eq!(v["auth"]["accessToken"]["role"], "read");
    assert_eq!(hub.get("/api/whoami-v2", None).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revocation_applies_to_the_next_request_and_use_is_recorded() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let (record, secret) = hangar_server::admin::create_token(&hub.state.store, "alice", "ci", "write", None).await.unwrap();
    assert!(record.last_used_at.is_none());
    assert_eq!(hub.get("/api/whoami-v2", Some(secret.expose())).send().await.unwrap().status(), StatusCode::OK);
    hangar_server::admin::revoke_token(&hub.state.store, "alice", "ci").await.unwrap();
    let r = hub.get("/api/whoami-v2", Some(secret.expose())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let tokens = hangar_server::admin::list_tokens(&hub.state.store, "alice").await.unwrap();
    assert!(tokens[0].last_used_at.is_some(), "the successful request was recorded as a use");
}

#[tokio::test]
async fn private_repos_answer_exactly_like_missing_ones() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    hub.user("bob").await;
    let alice = hub.token("alice", "write").await;
    let bob = hub.token("bob", "admin").await;
    hub.create_repo(&alice, "secret", true).await;
    for path in ["/api/models/alice/secret", "/api/models/alice/secret/tree/main", "/alice/secret/resolve/main/.gitattributes", "/api/models/alice/secret/refs"] {
        let missing_path = path.replace("secret", "nothing-here");
        for token in [Some(bob.as_str()), None] {
            let a = hub.get(path, token).send().await.unwrap();
            let b = hub.get(&missing_path, token).send().await.unwrap();
            assert_eq!(a.status(), b.status(), "{path} {token:?}");
            assert_eq!(a.headers()["x-error-code"], "RepoNotFound");
            assert_eq!(a.headers()["x-error-message"], b.headers()["x-error-message"]);
            assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
        }
        assert_eq!(hub.get(path, Some(&alice)).send().await.unwrap().status(), StatusCode::OK, "{path}");
    }
    // anonymous callers get 401, known users 404, as the Hub does
    assert_eq!(hub.get("/api/models/alice/secret", None).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(hub.get("/api/models/alice/secret", Some(&bob)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // and the repo is not listed for others
    let listed: Value = hub.get("/api/models?author=alice", Some(&bob)).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]));
    // nor does creating the same name tell bob it exists
    let r = hub.http.post(format!("{}/api/repos/create", hub.url)).bearer_auth(&bob).json(&json!({"name": "secret", "organization": "alice"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn roles_limit_what_a_token_can_do() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let read = hub.token("alice", "read").await;
    let write = hub.token("alice", "write").await;
    let admin = hub.token("alice", "admin").await;
    let r = hub.http.post(format!("{}/api/repos/create", hub.url)).bearer_auth(&read).json(&json!({"name": "m"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers()["x-error-message"].to_str().unwrap().contains("repo.write"));
    hub.create_repo(&write, "m", false).await;
    let r = hub.commit(&read, "alice/m", "main", &[header("x"), file("a.txt", b"a")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let del = |t: &str| hub.http.delete(format!("{}/api/repos/delete", hub.url)).bearer_auth(t.to_owned()).json(&json!({"name": "m"})).send();
    let r = del(&write).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let msg = r.headers()["x-error-message"].to_str().unwrap().to_owned();
    assert!(msg.contains("'admin' role") && msg.contains("delete"), "{msg}");
    assert_eq!(del(&admin).await.unwrap().status(), StatusCode::OK);
    assert_eq!(hub.get("/api/models/alice/m", Some(&admin)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stale_parent_commits_are_refused_and_change_nothing() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    let first = hub.head("alice/m").await;
    let r = hub.commit(&t, "alice/m", "main", &[header("one"), file("a.txt", b"1")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second = hub.head("alice/m").await;
    let mut h = header("two");
    h["value"]["parentCommit"] = first.clone().into();
    let r = hub.commit(&t, "alice/m", "main", &[h, file("a.txt", b"2")]).await;
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert!(r.headers()["x-error-message"].to_str().unwrap().contains(&second));
    assert_eq!(hub.head("alice/m").await, second);
    let body = hub.get("/alice/m/resolve/main/a.txt", None).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "1");
    // a matching parent (even abbreviated) is accepted
    let mut h = header("three");
    h["value"]["parentCommit"] = second[..8].into();
    assert_eq!(hub.commit(&t, "alice/m", "main", &[h, file("a.txt", b"3")]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_commits_are_4xx_and_write_nothing() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    let before = hub.head("alice/m").await;
    let bad_bodies: Vec<Vec<Value>> = vec![
        vec![file("a.txt", b"no header")],
        vec![header("x"), json!({"key": "file", "value": {"path": "a.txt", "content": "!!!not base64!!!"}})],
        vec![header("x"), file("../escape.txt", b"x")],
        vec![header("x"), file(".git/config", b"x")],
        vec![header("x"), json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "a".repeat(64), "size": 5}})],
        vec![header("x"), json!({"key": "deletedFile", "value": {"path": "nope.txt"}})],
        vec![header("x"), json!({"key": "frobnicate", "value": {}})],
        vec![header("x"), file("d/f.txt", b"x"), file("d", b"file where a folder is")],
    ];
    for lines in bad_bodies {
        let r = hub.commit(&t, "alice/m", "main", &lines).await;
        assert!(r.status().is_client_error(), "{lines:?} gave {}", r.status());
        assert!(r.headers().contains_key("x-error-message"));
    }
    let r = hub.http.post(format!("{}/api/models/alice/m/commit/main", hub.url)).bearer_auth(&t).body("{\"key\": \"header\", \"value\": {\"summ").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(hub.head("alice/m").await, before, "no failed commit moved main");
    let r = hub.commit(&t, "alice/m", "refs%2Ftags%2Fv1", &[header("x"), file("a", b"a")]).await;
    assert!(r.status().is_client_error());
    let r = hub.commit(&t, "alice/m", "no-such-branch", &[header("x"), file("a", b"a")]).await;
    assert_eq!(r.headers()["x-error-code"], "RevisionNotFound");
}

#[tokio::test]
async fn large_inline_files_round_trip() {
    // Far above the parser's in-memory limit for one string: the content is spilled and streamed.
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let r = hub.commit(&t, "alice/m", "main", &[header("big inline"), file("big.bin", &data)]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = hub.get("/alice/m/resolve/main/big.bin", None).send().await.unwrap();
    assert_eq!(r.headers()["etag"], format!("\"{}\"", git_blob_sha1(&data)));
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
}

#[tokio::test]
async fn resolve_headers_and_ranges() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    let data = b"0123456789";
    hub.commit(&t, "alice/m", "main", &[header("files"), file("dir/ten.txt", data), file("empty", b"")]).await;
    let head = hub.head("alice/m").await;
    let url = "/alice/m/resolve/main/dir/ten.txt";

    let r = hub.http.head(format!("{}{url}", hub.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-repo-commit"], head.as_str());
    assert_eq!(r.headers()["etag"], format!("\"{}\"", git_blob_sha1(data)));
    assert_eq!(r.headers()["content-length"], "10");

    let range = |spec: &'static str| hub.get(url, None).header("range", spec).send();
    let r = range("bytes=0-0").await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 0-0/10");
    assert_eq!(r.text().await.unwrap(), "0");
    let r = range("bytes=5-").await.unwrap();
    assert_eq!(r.headers()["content-range"], "bytes 5-9/10");
    assert_eq!(r.text().await.unwrap(), "56789");
    let r = range("bytes=8-10").await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "an end one past the last byte is clamped");
    assert_eq!(r.headers()["content-range"], "bytes 8-9/10");
    let r = range("bytes=10-").await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */10");

    // an empty file with the hf-hub 0.4 probe still reports its size
    let r = hub.get("/alice/m/resolve/main/empty", None).header("range", "bytes=0-0").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-range"].to_str().unwrap().ends_with("/0"));

    // errors carry the codes clients map to exceptions
    let r = hub.get("/alice/m/resolve/main/missing.txt", None).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["x-error-code"], "EntryNotFound");
    assert_eq!(r.headers()["x-repo-commit"], head.as_str());
    let r = hub.get("/alice/m/resolve/nope/dir/ten.txt", None).send().await.unwrap();
    assert_eq!(r.headers()["x-error-code"], "RevisionNotFound");
    // percent-encoded and literal PR refs
    let pr = hub.commit(&t, "alice/m", "main?create_pr=1", &[header("pr"), file("pr.txt", b"pr")]).await;
    assert_eq!(pr.status(), StatusCode::OK);
    let v: Value = pr.json().await.unwrap();
    assert!(v["pullRequestUrl"].as_str().unwrap().ends_with("/discussions/1"));
    for u in ["/alice/m/resolve/refs%2Fpr%2F1/pr.txt", "/alice/m/resolve/refs/pr/1/pr.txt"] {
        assert_eq!(hub.get(u, None).send().await.unwrap().text().await.unwrap(), "pr", "{u}");
    }
    assert_eq!(hub.get("/alice/m/resolve/main/pr.txt", None).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lfs_uploads_are_verified_against_their_hash() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    hub.user("bob").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    let data = vec![7u8; 100_000];
    let oid = hex::encode(Sha256::digest(&data));
    let batch = |token: String, objects: Value| {
        hub.http
            .post(format!("{}/alice/m.git/info/lfs/objects/batch", hub.url))
            .bearer_auth(token)
            .header("content-type", "application/vnd.git-lfs+json")
            .json(&json!({"operation": "upload", "transfers": ["basic", "multipart"], "objects": objects}))
            .send()
    };
    // another user's read token cannot get upload URLs for alice's repo (a write token can, for
    // the large files of a pull request; only a commit, which takes write access, makes them visible)
    let bob = hub.token("bob", "read").await;
    assert_eq!(batch(bob, json!([{"oid": oid, "size": data.len()}])).await.unwrap().status(), StatusCode::FORBIDDEN);

    let v: Value = batch(t.clone(), json!([{"oid": oid, "size": data.len()}])).await.unwrap().json().await.unwrap();
    let href = v["objects"][0]["actions"]["upload"]["href"].as_str().unwrap().to_owned();
    // wrong bytes with the right length: refused, nothing stored
    let r = hub.http.put(&href).body(vec![8u8; 100_000]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!hub.state.blobs.exists(&oid).await.unwrap());
    // a tampered signature is refused
    let r = hub.http.put(href.replace("sig=", "sig=00")).body(data.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = hub.http.put(&href).body(data.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let verify = v["objects"][0]["actions"]["verify"]["href"].as_str().unwrap();
    assert_eq!(hub.http.post(verify).bearer_auth(&t).json(&json!({"oid": oid, "size": data.len()})).send().await.unwrap().status(), StatusCode::OK);
    // once uploaded, the batch answers without actions
    let v: Value = batch(t.clone(), json!([{"oid": oid, "size": data.len()}, {"oid": "xyz", "size": 1}])).await.unwrap().json().await.unwrap();
    assert!(v["objects"][0].get("actions").is_none());
    assert_eq!(v["objects"][1]["error"]["code"], 422);
    // and a commit can reference it; the download's ETag is the SHA-256
    let lfs = json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": data.len()}});
    assert_eq!(hub.commit(&t, "alice/m", "main", &[header("lfs"), lfs]).await.status(), StatusCode::OK);
    let r = hub.get("/alice/m/resolve/main/w.bin", None).send().await.unwrap();
    assert_eq!(r.headers()["etag"], format!("\"{oid}\""));
    assert_eq!(r.headers()["x-linked-size"], "100000");
    assert_eq!(r.bytes().await.unwrap().len(), 100_000);
}

#[tokio::test]
async fn urls_in_responses_use_the_host_the_client_called() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    let r = hub.http.post(format!("{}/api/repos/create", hub.url)).bearer_auth(&t).header("host", "hub.internal:9999").json(&json!({"name": "m", "type": "dataset"})).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["url"], "http://hub.internal:9999/datasets/alice/m");
    let r = hub.http.post(format!("{}/api/repos/create", hub.url)).bearer_auth(&t).json(&json!({"name": "m", "type": "dataset"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["url"], format!("{}/datasets/alice/m", hub.url));
}

/// Every object of a commit, written into a real git repository by `git hash-object`, gets the id
/// Hangar gave it, and `git fsck` finds the history well-formed: a git remote can be added later
/// without a migration.
#[tokio::test]
async fn objects_are_real_git_objects() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    hub.commit(&t, "alice/m", "main", &[header("first"), file("a.txt", b"hello\n"), file("dir/sub/b c.txt", b"x"), file("dir/z", b"")]).await;
    hub.commit(&t, "alice/m", "main", &[header("second\n\nwith a body"), file("dir/a-b", b"y"), json!({"key": "deletedFile", "value": {"path": "a.txt"}})]).await;
    let head = hub.head("alice/m").await;

    let repo = tempfile::tempdir().unwrap();
    assert!(Command::new("git").args(["init", "-q", "--bare"]).arg(repo.path()).status().unwrap().success());
    let write = |kind: &str, data: &[u8]| -> String {
        let mut child = Command::new("git")
            .args(["hash-object", "-w", "--literally", "-t", kind, "--stdin"])
            .env("GIT_DIR", repo.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    // Walk every commit, tree and blob reachable from main.
    let mut pending = vec![head.clone()];
    let mut seen = std::collections::HashSet::new();
    while let Some(oid) = pending.pop() {
        if !seen.insert(oid.clone()) {
            continue;
        }
        if let Some(obj) = hub.state.store.get_object(&oid).await.unwrap() {
            assert_eq!(write(&obj.kind, &obj.data), oid, "{} {oid}", obj.kind);
            if obj.kind == "commit" {
                let c = hangar_core::git::Commit::decode(&obj.data).unwrap();
                pending.push(c.tree.hex());
                pending.extend(c.parents.iter().map(|p| p.hex()));
            } else {
                pending.extend(hangar_core::git::decode_tree(&obj.data).unwrap().into_iter().map(|e| e.oid.hex()));
            }
        } else {
            let blob = hub.state.store.get_blob(&oid).await.unwrap().expect("every tree entry is a known blob");
            let path = hub.state.blobs.local_path(&blob.sha256).unwrap();
            assert_eq!(write("blob", &std::fs::read(path).unwrap()), oid);
        }
    }
    let run = |args: &[&str]| {
        let out = Command::new("git").args(args).env("GIT_DIR", repo.path()).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["update-ref", "refs/heads/main", &head]);
    run(&["fsck", "--strict", "--no-dangling"]);
    assert_eq!(run(&["log", "--format=%s", "main"]), "second\nfirst\ninitial commit\n");
    assert_eq!(run(&["ls-tree", "-r", "--name-only", "main"]), ".gitattributes\ndir/a-b\ndir/sub/b c.txt\ndir/z\n");
    assert_eq!(run(&["show", "main:dir/sub/b c.txt"]), "x");
}

#[tokio::test]
async fn only_files_stored_through_xet_advertise_xet() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    // Clients switch to Xet downloads on these headers: a regular file never carries them.
    let r = hub.get("/alice/m/resolve/main/.gitattributes", None).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().keys().all(|k| !k.as_str().contains("xet")));
    assert!(!r.headers().get("link").is_some_and(|l| l.to_str().unwrap().contains("xet")));
}

#[tokio::test]
async fn multipart_uploads_assemble_parts_in_any_order_and_verify_the_whole() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    hub.create_repo(&t, "m", false).await;
    let data: Vec<u8> = (0..20_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let oid = hex::encode(Sha256::digest(&data));
    let batch = |oid: String, size: usize| {
        hub.http
            .post(format!("{}/alice/m.git/info/lfs/objects/batch", hub.url))
            .bearer_auth(&t)
            .json(&json!({"operation": "upload", "transfers": ["basic", "multipart"], "objects": [{"oid": oid, "size": size}]}))
            .send()
    };
    let v: Value = batch(oid.clone(), data.len()).await.unwrap().json().await.unwrap();
    let upload = &v["objects"][0]["actions"]["upload"];
    let chunk: usize = upload["header"]["chunk_size"].as_str().unwrap().parse().unwrap();
    let parts = data.len().div_ceil(chunk);
    assert!(parts >= 2, "a 20 MB object is sent in parts");
    // parts sent last-first, as parallel clients may
    let mut etags = vec![String::new(); parts];
    for n in (1..=parts).rev() {
        let url = upload["header"][n.to_string()].as_str().unwrap();
        let body = data[(n - 1) * chunk..(n * chunk).min(data.len())].to_vec();
        let r = hub.http.put(url).body(body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        etags[n - 1] = r.headers()["etag"].to_str().unwrap().to_owned();
    }
    let complete = upload["href"].as_str().unwrap();
    let parts_json = |etags: &[String]| etags.iter().enumerate().map(|(i, e)| json!({"partNumber": i + 1, "etag": e})).collect::<Vec<_>>();
    // a wrong ETag is refused
    let mut wrong = etags.clone();
    wrong[0] = "\"0000\"".into();
    let r = hub.http.post(complete).json(&json!({"oid": oid, "parts": parts_json(&wrong)})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!hub.state.blobs.exists(&oid).await.unwrap());
    let r = hub.http.post(complete).json(&json!({"oid": oid, "parts": parts_json(&etags)})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let lfs = json!({"key": "lfsFile", "value": {"path": "big.bin", "algo": "sha256", "oid": oid, "size": data.len()}});
    assert_eq!(hub.commit(&t, "alice/m", "main", &[header("big"), lfs]).await.status(), StatusCode::OK);
    let got = hub.get("/alice/m/resolve/main/big.bin", None).send().await.unwrap().bytes().await.unwrap();
    assert!(got.as_ref() == data.as_slice());

    // parts whose bytes are not the announced object: every part is accepted, the whole is not
    let claimed = hex::encode(Sha256::digest(b"something else entirely"));
    let v: Value = batch(claimed.clone(), data.len()).await.unwrap().json().await.unwrap();
    let upload = &v["objects"][0]["actions"]["upload"];
    let mut etags = vec![];
    for n in 1..=parts {
        let url = upload["header"][n.to_string()].as_str().unwrap();
        let r = hub.http.put(url).body(data[(n - 1) * chunk..(n * chunk).min(data.len())].to_vec()).send().await.unwrap();
        etags.push(r.headers()["etag"].to_str().unwrap().to_owned());
    }
    let r = hub.http.post(upload["href"].as_str().unwrap()).json(&json!({"oid": claimed, "parts": parts_json(&etags)})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!hub.state.blobs.exists(&claimed).await.unwrap());
    let lfs = json!({"key": "lfsFile", "value": {"path": "fake.bin", "algo": "sha256", "oid": claimed, "size": data.len()}});
    assert_eq!(hub.commit(&t, "alice/m", "main", &[header("fake"), lfs]).await.status(), StatusCode::BAD_REQUEST, "an unverified object cannot be committed");
}

/// Follows `Link: <…>; rel="next"` as the clients do, collecting every page.
async fn all_pages(hub: &Hub, first: &str, token: &str) -> (Vec<Value>, usize) {
    let mut url = format!("{}{first}", hub.url);
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = hub.http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("rel=\"next\""), "{l}");
            l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_owned()
        });
        let page: Vec<Value> = r.json().await.unwrap();
        items.extend(page);
        pages += 1;
        match next {
            Some(n) => url = n,
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn long_listings_are_paginated_with_link_headers() {
    let hub = Hub::start().await;
    hub.user("alice").await;
    let t = hub.token("alice", "write").await;
    for i in 0..102 {
        hub.create_repo(&t, &format!("r{i:03}"), i % 10 == 0).await;
    }
    let (repos, pages) = all_pages(&hub, "/api/models?author=alice", &t).await;
    assert!(pages >= 2);
    let mut ids: Vec<String> = repos.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 102, "every repo exactly once, private ones included for their owner");

    // a tree of 1,005 files in one folder
    let mut lines = vec![header("many files")];
    lines.extend((0..1005).map(|i| file(&format!("data/f{i:04}.txt"), format!("{i}").as_bytes())));
    assert_eq!(hub.commit(&t, "alice/r001", "main", &lines).await.status(), StatusCode::OK);
    let (entries, pages) = all_pages(&hub, "/api/models/alice/r001/tree/main/data", &t).await;
    assert!(pages >= 2);
    let mut paths: Vec<String> = entries.iter().map(|e| e["path"].as_str().unwrap().to_owned()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 1005);
    assert_eq!(paths[0], "data/f0000.txt");

    // 60 commits: newest first, across pages, ending with the initial commit
    for i in 0..59 {
        assert_eq!(hub.commit(&t, "alice/r002", "main", &[header(&format!("commit {i}")), file("n.txt", format!("{i}").as_bytes())]).await.status(), StatusCode::OK);
    }
    let (commits, pages) = all_pages(&hub, "/api/models/alice/r002/commits/main", &t).await;
    assert!(pages >= 2);
    let titles: Vec<&str> = commits.iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 60);
    assert_eq!(titles[0], "commit 58");
    assert_eq!(titles[58], "commit 0");
    assert_eq!(titles[59], "initial commit");
}

/// Behind https (`public_url`), every cookie the pages set is `Secure`, besides `HttpOnly` and `SameSite`.
#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_owned());
    config.public_url = Some("https://hub.example.com".into());
    let state = AppState::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(hangar_server::serve(listener, state.clone(), std::future::pending()));
    let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let page = http.get(format!("{url}/join")).send().await.unwrap();
    let cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("hangar_csrf="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    let csrf = cookie.trim_start_matches("hangar_csrf=").split(';').next().unwrap().to_owned();
    let form = [("csrf", csrf.as_str()), ("username", "secure-sam"), ("email", "sam@example.com"), ("password", "password123")];
    let joined = http.post(format!("{url}/join")).header("cookie", format!("hangar_csrf={csrf}")).form(&form).send().await.unwrap();
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let session = joined.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|c| c.starts_with("hangar_session=")).unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(session.contains(attr), "{attr} missing in {session}");
    }
}
