//! Backend conformance: every `Store` method, run on SQLite and on PostgreSQL.
//!
//! PostgreSQL tests connect to `HANGAR_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and create a fresh database per test. Set
//! `HANGAR_TEST_SKIP_POSTGRES=1` to run on SQLite only; CI never does.

use hangar_store::*;
use sqlx::Connection;

struct TestDb {
    store: DynStore,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.drop_pg.take() {
            // Best effort: the pool may still hold connections, so force them out.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await;
                    }
                });
            })
            .join();
        }
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    TestDb { store: connect(&url).await.unwrap(), _dir: Some(dir), drop_pg: None }
}

async fn postgres() -> Option<TestDb> {
    if std::env::var("HANGAR_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        return None;
    }
    let admin_url = std::env::var("HANGAR_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("hangar_test_{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut c = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL is required for the store tests (set HANGAR_TEST_SKIP_POSTGRES=1 to skip)");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
    let mut url = url_with_db(&admin_url, &name);
    if !url.contains('?') {
        url.push_str("?application_name=hangar-test");
    }
    Some(TestDb { store: connect(&url).await.unwrap(), _dir: None, drop_pg: Some((admin_url, name)) })
}

fn url_with_db(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Runs `$body` with `store` bound on each backend.
macro_rules! on_both {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn run($store: DynStore) $body
            #[tokio::test]
            async fn sqlite() {
                let db = super::sqlite().await;
                run(db.store.clone()).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(db) = super::postgres().await {
                    run(db.store.clone()).await;
                }
            }
        }
    };
}

fn new_user(name: &str) -> NewUser {
    NewUser { name: name.into(), email: format!("{name}@example.com"), email_verified: true, password_hash: "x".into(), site_admin: false, created_at: 1 }
}

fn commit_write(repo_id: i64, r: &str, expected: Option<&str>, oid: &str) -> CommitWrite {
    CommitWrite {
        repo_id,
        ref_name: r.into(),
        expected: expected.map(str::to_owned),
        commit_oid: oid.into(),
        objects: vec![(oid.into(), "commit".into(), oid.as_bytes().to_vec())],
        blobs: vec![BlobRecord { oid: format!("b{}", &oid[1..]), size: 5, sha256: "s".repeat(64), lfs: false }],
        now: 10,
    }
}

async fn make_repo(store: &DynStore, ns: &str, name: &str, private: bool) -> Repo {
    let c = format!("{:040}", rand::random::<u32>());
    store
        .create_repo(NewRepo { repo_type: "model".into(), namespace: ns.into(), name: name.into(), private, created_at: 5 }, commit_write(0, "refs/heads/main", None, &c))
        .await
        .unwrap()
}

on_both!(users, |store| {
    let u = store.create_user(new_user("Alice")).await.unwrap();
    assert_eq!(u.name, "Alice");
    assert!(u.email_verified);
    let found = store.user_by_name("alice").await.unwrap().expect("case-insensitive lookup");
    assert_eq!(found, u);
    assert!(store.user_by_name("bob").await.unwrap().is_none());
    let dup = store.create_user(new_user("ALICE")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "names are unique case-insensitively");
});

on_both!(tokens, |store| {
    let u = store.create_user(new_user("alice")).await.unwrap();
    let t = store
        .create_token(NewToken { user_id: u.id, name: "laptop".into(), role: "write".into(), token_hash: "h1".into(), last4: "abcd".into(), created_at: 100, expires_at: None })
        .await
        .unwrap();
    assert_eq!((t.name.as_str(), t.role.as_str(), t.last_used_at, t.revoked_at), ("laptop", "write", None, None));
    let (found, owner) = store.token_by_hash("h1", 200).await.unwrap().unwrap();
    assert_eq!(found, t);
    assert_eq!(owner.id, u.id);
    assert!(store.token_by_hash("nope", 200).await.unwrap().is_none());

    store.touch_token(t.id, 300).await.unwrap();
    assert_eq!(store.token_by_hash("h1", 301).await.unwrap().unwrap().0.last_used_at, Some(300));

    // expiry
    store
        .create_token(NewToken { user_id: u.id, name: "short".into(), role: "read".into(), token_hash: "h2".into(), last4: "wxyz".into(), created_at: 100, expires_at: Some(500) })
        .await
        .unwrap();
    assert!(store.token_by_hash("h2", 499).await.unwrap().is_some());
    assert!(store.token_by_hash("h2", 500).await.unwrap().is_none(), "expired tokens do not authenticate");

    // hashes are unique
    let dup = store
        .create_token(NewToken { user_id: u.id, name: "other".into(), role: "read".into(), token_hash: "h1".into(), last4: "abcd".into(), created_at: 1, expires_at: None })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));

    // revocation
    assert!(store.revoke_token(u.id, "laptop", 600).await.unwrap());
    assert!(!store.revoke_token(u.id, "laptop", 601).await.unwrap(), "already revoked");
    assert!(store.token_by_hash("h1", 602).await.unwrap().is_none());
    let listed = store.list_tokens(u.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].revoked_at, Some(600));
});

on_both!(repos, |store| {
    let r = make_repo(&store, "alice", "Model", false).await;
    assert_eq!((r.namespace.as_str(), r.name.as_str(), r.private), ("alice", "Model", false));
    assert_eq!(store.repo_by_name("model", "ALICE", "model").await.unwrap().unwrap().id, r.id);
    assert!(store.repo_by_name("dataset", "alice", "Model").await.unwrap().is_none(), "types are separate namespaces");

    // a duplicate name conflicts and writes nothing
    let c = "c".repeat(40);
    let dup = store
        .create_repo(NewRepo { repo_type: "model".into(), namespace: "Alice".into(), name: "model".into(), private: true, created_at: 1 }, commit_write(0, "refs/heads/main", None, &c))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert!(store.get_object(&c).await.unwrap().is_none(), "the failed create left no objects");

    store.update_repo_settings(r.id, Some(true), None, 50).await.unwrap();
    let r2 = store.repo_by_name("model", "alice", "Model").await.unwrap().unwrap();
    assert!(r2.private);
    assert_eq!(r2.updated_at, 50);

    make_repo(&store, "bob", "public-one", false).await;
    make_repo(&store, "bob", "secret", true).await;
    let all = |viewer: Option<&str>, author: Option<&str>, search: Option<&str>| RepoQuery {
        repo_type: "model".into(),
        author: author.map(str::to_owned),
        search: search.map(str::to_owned),
        viewer: viewer.map(str::to_owned),
        after_id: None,
        limit: 100,
    };
    let names = |v: Vec<Repo>| v.into_iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect::<Vec<_>>();
    assert_eq!(names(store.list_repos(&all(None, None, None)).await.unwrap()), ["bob/public-one"]);
    assert_eq!(names(store.list_repos(&all(Some("bob"), None, None)).await.unwrap()), ["bob/public-one", "bob/secret"]);
    assert_eq!(names(store.list_repos(&all(Some("alice"), Some("alice"), None)).await.unwrap()), ["alice/Model"]);
    assert_eq!(names(store.list_repos(&all(Some("bob"), None, Some("SECR"))).await.unwrap()), ["bob/secret"]);
    assert!(store.list_repos(&all(None, None, Some("%"))).await.unwrap().is_empty(), "LIKE wildcards are escaped");
    let mut page = all(Some("bob"), None, None);
    page.limit = 1;
    let first = store.list_repos(&page).await.unwrap();
    page.after_id = Some(first[0].id);
    assert_eq!(names(store.list_repos(&page).await.unwrap()), ["bob/secret"]);

    // move, with a conflict on an existing name
    assert!(matches!(store.move_repo(r.id, "bob", "secret", 60).await, Err(StoreError::Conflict(_))));
    store.move_repo(r.id, "bob", "moved", 60).await.unwrap();
    assert!(store.repo_by_name("model", "alice", "Model").await.unwrap().is_none());
    let moved = store.repo_by_name("model", "bob", "moved").await.unwrap().unwrap();
    assert_eq!(moved.id, r.id);

    store.delete_repo(r.id).await.unwrap();
    assert!(store.repo_by_name("model", "bob", "moved").await.unwrap().is_none());
    assert!(store.list_refs(r.id).await.unwrap().is_empty(), "refs go with the repo");
});

on_both!(refs_and_commits, |store| {
    let r = make_repo(&store, "alice", "m", false).await;
    let main = store.get_ref(r.id, "refs/heads/main").await.unwrap().expect("initial commit on main");
    assert!(store.repo_has_commit(r.id, &main).await.unwrap());

    let c2 = "2".repeat(40);
    store.apply_commit(commit_write(r.id, "refs/heads/main", Some(&main), &c2)).await.unwrap();
    assert_eq!(store.get_ref(r.id, "refs/heads/main").await.unwrap().unwrap(), c2);
    assert_eq!(store.get_object(&c2).await.unwrap().unwrap(), GitObject { kind: "commit".into(), data: c2.as_bytes().to_vec() });
    let blob = store.get_blob(&format!("b{}", &c2[1..])).await.unwrap().unwrap();
    assert_eq!((blob.size, blob.lfs), (5, false));

    // compare-and-swap: a commit based on a stale head changes nothing
    let c3 = "3".repeat(40);
    let stale = store.apply_commit(commit_write(r.id, "refs/heads/main", Some(&main), &c3)).await;
    assert!(matches!(stale, Err(StoreError::StaleRef)));
    assert_eq!(store.get_ref(r.id, "refs/heads/main").await.unwrap().unwrap(), c2);
    assert!(!store.repo_has_commit(r.id, &c3).await.unwrap());
    assert!(store.get_object(&c3).await.unwrap().is_none(), "the failed commit wrote no objects");

    // a commit known in one repo is not a revision of another
    let other = make_repo(&store, "bob", "m", false).await;
    assert!(!store.repo_has_commit(other.id, &c2).await.unwrap());

    store.create_ref(r.id, "refs/heads/dev", &c2).await.unwrap();
    assert!(matches!(store.create_ref(r.id, "refs/heads/dev", &main).await, Err(StoreError::Conflict(_))));
    store.create_ref(r.id, "refs/tags/v1", &main).await.unwrap();
    let refs = store.list_refs(r.id).await.unwrap();
    assert_eq!(refs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["refs/heads/dev", "refs/heads/main", "refs/tags/v1"]);
    assert!(store.delete_ref(r.id, "refs/heads/dev").await.unwrap());
    assert!(!store.delete_ref(r.id, "refs/heads/dev").await.unwrap());

    // a new ref created by a commit (expected None) must not exist yet
    let c4 = "4".repeat(40);
    assert!(matches!(store.apply_commit(commit_write(r.id, "refs/tags/v1", None, &c4)).await, Err(StoreError::StaleRef)));
});

on_both!(concurrent_commits_serialise, |store| {
    let r = make_repo(&store, "alice", "m", false).await;
    let main = store.get_ref(r.id, "refs/heads/main").await.unwrap().unwrap();
    // Ten writers race from the same head: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..10u8 {
        let store = store.clone();
        let main = main.clone();
        tasks.push(tokio::spawn(async move {
            let oid = format!("{:040}", 1000 + i as u32);
            store.apply_commit(commit_write(r.id, "refs/heads/main", Some(&main), &oid)).await.map(|_| oid)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(oid) => winners.push(oid),
            Err(StoreError::StaleRef) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(store.get_ref(r.id, "refs/heads/main").await.unwrap().unwrap(), winners[0]);
});

on_both!(lfs_links, |store| {
    let r = make_repo(&store, "alice", "m", false).await;
    let other = make_repo(&store, "bob", "m", false).await;
    let sha = "a".repeat(64);
    assert!(store.repo_lfs_object(r.id, &sha).await.unwrap().is_none());
    store.link_lfs_object(r.id, &sha, 42).await.unwrap();
    store.link_lfs_object(r.id, &sha, 42).await.unwrap();
    assert_eq!(store.repo_lfs_object(r.id, &sha).await.unwrap(), Some(42));
    assert!(store.repo_lfs_object(other.id, &sha).await.unwrap().is_none(), "links are per repository");
});

on_both!(discussions, |store| {
    let r = make_repo(&store, "alice", "m", false).await;
    let d = |title: &str| NewDiscussion { repo_id: r.id, title: title.into(), description: "".into(), author: "alice".into(), is_pull_request: true, status: "draft".into(), created_at: 7 };
    let one = store.create_discussion(d("first")).await.unwrap();
    let two = store.create_discussion(d("second")).await.unwrap();
    assert_eq!((one.num, two.num), (1, 2));
    assert_eq!(store.get_discussion(r.id, 2).await.unwrap().unwrap().title, "second");
    assert!(store.get_discussion(r.id, 3).await.unwrap().is_none());
});

on_both!(settings, |store| {
    assert_eq!(store.setting_or_init("k", "first").await.unwrap(), "first");
    assert_eq!(store.setting_or_init("k", "second").await.unwrap(), "first", "the first writer wins");
    store.migrate().await.unwrap();
    assert_eq!(store.setting_or_init("k", "third").await.unwrap(), "first", "migrating twice is harmless");
});

on_both!(download_context, |store| {
    let u = store.create_user(new_user("alice")).await.unwrap();
    store
        .create_token(NewToken { user_id: u.id, name: "t".into(), role: "read".into(), token_hash: "h".into(), last4: "abcd".into(), created_at: 1, expires_at: None })
        .await
        .unwrap();
    let r = make_repo(&store, "alice", "m", true).await;
    let main = store.get_ref(r.id, "refs/heads/main").await.unwrap().unwrap();
    store.create_ref(r.id, "refs/tags/v1", &main).await.unwrap();
    let refs = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let ctx = store.download_context(Some("h"), 5, "model", "ALICE", "m", &refs(&["refs/heads/v1", "refs/tags/v1"])).await.unwrap();
    assert_eq!(ctx.token.unwrap().1.name, "alice");
    assert_eq!(ctx.repo.unwrap().id, r.id);
    assert_eq!(ctx.found_ref, Some(("refs/tags/v1".to_owned(), main.clone())), "the first existing ref wins");

    let ctx = store.download_context(None, 5, "model", "alice", "m", &refs(&["refs/heads/main"])).await.unwrap();
    assert!(ctx.token.is_none());
    assert_eq!(ctx.found_ref.unwrap().1, main);

    let ctx = store.download_context(Some("unknown"), 5, "dataset", "alice", "m", &refs(&["refs/heads/main"])).await.unwrap();
    assert_eq!(ctx, DownloadContext { token: None, repo: None, found_ref: None });
    store.revoke_token(u.id, "t", 6).await.unwrap();
    assert!(store.download_context(Some("h"), 7, "model", "alice", "m", &[]).await.unwrap().token.is_none(), "revoked at once");
});
