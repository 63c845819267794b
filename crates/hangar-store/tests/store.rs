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
    NewUser {
        name: name.into(),
        fullname: format!("{name} Example"),
        email: format!("{name}@example.com"),
        email_verified: true,
        password_hash: "x".into(),
        site_admin: false,
        created_at: 1,
    }
}

fn new_token(user_id: i64, name: &str, hash: &str, expires_at: Option<i64>) -> NewToken {
    NewToken {
        user_id,
        name: name.into(),
        role: "read".into(),
        token_hash: hash.into(),
        last4: "abcd".into(),
        created_at: 100,
        expires_at,
        org_id: None,
        fine_grained: None,
    }
}

fn org_token(user_id: i64, org_id: i64, name: &str, hash: &str) -> NewToken {
    NewToken { org_id: Some(org_id), ..new_token(user_id, name, hash, None) }
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
        .create_repo(NewRepo { repo_type: "model".into(), namespace: ns.into(), name: name.into(), private, created_at: 5, created_by: None }, commit_write(0, "refs/heads/main", None, &c))
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
    assert_eq!(u.fullname, "Alice Example");
    assert_eq!(u.pending_email, None);
    let dup = store.create_user(new_user("ALICE")).await;
    assert!(matches!(dup, Err(StoreError::Conflict("namespaces"))), "names are unique case-insensitively: {dup:?}");

    assert_eq!(store.user_by_id(u.id).await.unwrap().unwrap(), u);
    assert!(store.user_by_id(u.id + 1000).await.unwrap().is_none());
    assert_eq!(store.user_by_email("ALICE@Example.com").await.unwrap().unwrap().id, u.id, "emails match case-insensitively");
    assert!(store.user_by_email("nobody@example.com").await.unwrap().is_none());

    // a taken email conflicts on users, and the failed create does not keep the name
    let dup = store.create_user(NewUser { email: "Alice@EXAMPLE.com".into(), ..new_user("bob") }).await;
    assert!(matches!(dup, Err(StoreError::Conflict("users"))), "{dup:?}");
    let bob = store.create_user(new_user("bob")).await.expect("the name of a failed create is free");

    // email change: pending first, then verified
    store.set_pending_email(u.id, Some("new@example.com")).await.unwrap();
    let p = store.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!((p.email.as_str(), p.pending_email.as_deref()), ("Alice@example.com", Some("new@example.com")));
    store.set_pending_email(u.id, None).await.unwrap();
    assert_eq!(store.user_by_id(u.id).await.unwrap().unwrap().pending_email, None);
    store.set_pending_email(u.id, Some("new@example.com")).await.unwrap();
    let unverified = store.create_user(NewUser { email_verified: false, ..new_user("carol") }).await.unwrap();
    assert!(!unverified.email_verified);
    store.set_email_verified(u.id, "new@example.com").await.unwrap();
    let v = store.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!((v.email.as_str(), v.email_verified, v.pending_email), ("new@example.com", true, None));
    assert_eq!(store.user_by_email("new@example.com").await.unwrap().unwrap().id, u.id);
    assert!(store.user_by_email("Alice@example.com").await.unwrap().is_none());
    store.set_email_verified(unverified.id, "carol@example.com").await.unwrap();
    assert!(store.user_by_id(unverified.id).await.unwrap().unwrap().email_verified);
    let taken = store.set_email_verified(bob.id, "NEW@example.com").await;
    assert!(matches!(taken, Err(StoreError::Conflict("users"))), "{taken:?}");
    assert_eq!(store.user_by_id(bob.id).await.unwrap().unwrap().email, "bob@example.com");
});

on_both!(tokens, |store| {
    let u = store.create_user(new_user("alice")).await.unwrap();
    let t = store
        .create_token(NewToken { role: "write".into(), fine_grained: Some("{\"global\":[]}".into()), ..new_token(u.id, "laptop", "h1", None) })
        .await
        .unwrap();
    assert_eq!((t.name.as_str(), t.role.as_str(), t.last_used_at, t.revoked_at, t.org_id), ("laptop", "write", None, None, None));
    assert_eq!(t.fine_grained.as_deref(), Some("{\"global\":[]}"));
    let (found, owner) = store.token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(found, t);
    assert_eq!(owner.id, u.id);
    assert!(store.token_by_hash("nope").await.unwrap().is_none());
    assert_eq!(store.token_by_id(t.id).await.unwrap().unwrap(), t);
    assert!(store.token_by_id(t.id + 1000).await.unwrap().is_none());

    store.touch_token(t.id, 300).await.unwrap();
    assert_eq!(store.token_by_hash("h1").await.unwrap().unwrap().0.last_used_at, Some(300));

    // expiry: the store still returns expired tokens, the server refuses them and says why
    let short = store.create_token(new_token(u.id, "short", "h2", Some(500))).await.unwrap();
    let (found, _) = store.token_by_hash("h2").await.unwrap().expect("expired tokens are returned");
    assert_eq!(found.expires_at, Some(500));
    assert!(!found.is_expired(499));
    assert!(found.is_expired(500));
    assert_eq!((found.state(499), found.state(500)), ("active", "expired"));
    assert_eq!(short.id, found.id);

    // hashes are unique
    let dup = store.create_token(new_token(u.id, "other", "h1", None)).await;
    assert!(matches!(dup, Err(StoreError::Conflict("tokens"))));

    // revocation
    assert!(store.revoke_token(u.id, "laptop", 600).await.unwrap());
    assert!(!store.revoke_token(u.id, "laptop", 601).await.unwrap(), "already revoked");
    assert!(store.token_by_hash("h1").await.unwrap().is_none(), "revoked tokens are never returned");
    let listed = store.list_tokens(u.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].revoked_at, Some(600));
    assert_eq!(listed[0].state(700), "revoked");
    assert_eq!(store.token_by_id(t.id).await.unwrap().unwrap().revoked_at, Some(600), "token_by_id sees revoked tokens");

    // a revoked expired token is not returned either
    assert!(store.revoke_token_by_id(short.id, 700, "user").await.unwrap());
    assert!(store.token_by_hash("h2").await.unwrap().is_none());
});

on_both!(repos, |store| {
    let r = make_repo(&store, "alice", "Model", false).await;
    assert_eq!((r.namespace.as_str(), r.name.as_str(), r.private), ("alice", "Model", false));
    assert_eq!(store.repo_by_name("model", "ALICE", "model").await.unwrap().unwrap().id, r.id);
    assert!(store.repo_by_name("dataset", "alice", "Model").await.unwrap().is_none(), "types are separate namespaces");

    // a duplicate name conflicts and writes nothing
    let c = "c".repeat(40);
    let dup = store
        .create_repo(NewRepo { repo_type: "model".into(), namespace: "Alice".into(), name: "model".into(), private: true, created_at: 1, created_by: None }, commit_write(0, "refs/heads/main", None, &c))
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
    store.create_token(new_token(u.id, "t", "h", None)).await.unwrap();
    store.create_token(new_token(u.id, "old", "expired", Some(2))).await.unwrap();
    let r = make_repo(&store, "alice", "m", true).await;
    let main = store.get_ref(r.id, "refs/heads/main").await.unwrap().unwrap();
    store.create_ref(r.id, "refs/tags/v1", &main).await.unwrap();
    let refs = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let ctx = store.download_context(Some("h"), "model", "ALICE", "m", &refs(&["refs/heads/v1", "refs/tags/v1"])).await.unwrap();
    assert_eq!(ctx.token.unwrap().1.name, "alice");
    assert_eq!(ctx.repo.unwrap().id, r.id);
    assert_eq!(ctx.found_ref, Some(("refs/tags/v1".to_owned(), main.clone())), "the first existing ref wins");

    let ctx = store.download_context(None, "model", "alice", "m", &refs(&["refs/heads/main"])).await.unwrap();
    assert!(ctx.token.is_none());
    assert_eq!(ctx.found_ref.unwrap().1, main);

    let ctx = store.download_context(Some("unknown"), "dataset", "alice", "m", &refs(&["refs/heads/main"])).await.unwrap();
    assert_eq!(ctx, DownloadContext { token: None, repo: None, found_ref: None });
    let ctx = store.download_context(Some("expired"), "model", "alice", "m", &[]).await.unwrap();
    assert_eq!(ctx.token.expect("expired tokens are returned").0.expires_at, Some(2));
    store.revoke_token(u.id, "t", 6).await.unwrap();
    assert!(store.download_context(Some("h"), "model", "alice", "m", &[]).await.unwrap().token.is_none(), "revoked at once");
});

on_both!(namespaces_shared_by_users_and_orgs, |store| {
    let alice = store.create_user(new_user("Alice")).await.unwrap();
    for name in ["alice", "ALICE", "Alice"] {
        let r = store.create_org(name, "Org", alice.id, 10).await;
        assert!(matches!(r, Err(StoreError::Conflict("namespaces"))), "org {name}: {r:?}");
    }
    let acme = store.create_org("Acme", "Acme Corp", alice.id, 10).await.unwrap();
    assert_eq!((acme.name.as_str(), acme.fullname.as_str(), acme.token_policy.as_str(), acme.created_at), ("Acme", "Acme Corp", "allow_all", 10));
    for name in ["acme", "ACME"] {
        let r = store.create_user(NewUser { email: format!("{name}-x@example.com"), ..new_user(name) }).await;
        assert!(matches!(r, Err(StoreError::Conflict("namespaces"))), "user {name}: {r:?}");
        let r = store.create_org(name, "again", alice.id, 11).await;
        assert!(matches!(r, Err(StoreError::Conflict("namespaces"))), "org {name}: {r:?}");
    }
    assert!(store.user_by_name("acme").await.unwrap().is_none());
    assert_eq!(store.org_by_name("ACME").await.unwrap().unwrap(), acme);
    assert_eq!(store.org_by_id(acme.id).await.unwrap().unwrap(), acme);
    assert!(store.org_by_name("alice").await.unwrap().is_none(), "users are not orgs");
    assert!(store.org_by_id(acme.id + 1000).await.unwrap().is_none());
    assert_eq!(store.member_role(acme.id, alice.id).await.unwrap().as_deref(), Some("admin"), "the creator is the first admin");

    // a failed create (unknown admin) does not keep the name
    assert!(store.create_org("ghost", "", alice.id + 1000, 12).await.is_err());
    assert!(store.org_by_name("ghost").await.unwrap().is_none());
    store.create_user(new_user("ghost")).await.expect("the name of a failed org is free");

    store.set_token_policy(acme.id, "admin_approval").await.unwrap();
    assert_eq!(store.org_by_id(acme.id).await.unwrap().unwrap().token_policy, "admin_approval");
});

on_both!(email_codes, |store| {
    let u = store.create_user(new_user("alice")).await.unwrap();
    let code = |hash: &str, purpose: &str, expires_at: i64| EmailCode {
        code_hash: hash.into(),
        user_id: u.id,
        purpose: purpose.into(),
        email: "new@example.com".into(),
        created_at: 100,
        expires_at,
        used_at: None,
    };
    store.create_email_code(code("c1", "verify", 1000)).await.unwrap();
    store.create_email_code(code("c2", "reset", 1000)).await.unwrap();

    assert_eq!(store.consume_email_code("c1", "reset", 500).await.unwrap(), CodeUse::Unknown, "wrong purpose");
    assert_eq!(store.consume_email_code("nope", "verify", 500).await.unwrap(), CodeUse::Unknown);
    assert_eq!(store.consume_email_code("c1", "verify", 500).await.unwrap(), CodeUse::Consumed(EmailCode { used_at: Some(500), ..code("c1", "verify", 1000) }));
    assert_eq!(store.consume_email_code("c1", "verify", 501).await.unwrap(), CodeUse::AlreadyUsed, "single use");
    assert_eq!(store.consume_email_code("c1", "reset", 501).await.unwrap(), CodeUse::Unknown);

    assert_eq!(store.consume_email_code("c2", "reset", 1000).await.unwrap(), CodeUse::Expired, "expires_at is exclusive");
    assert_eq!(store.consume_email_code("c2", "reset", 2000).await.unwrap(), CodeUse::Expired);
    assert_eq!(store.consume_email_code("c2", "verify", 2000).await.unwrap(), CodeUse::Unknown);

    // used, then expired: still reported as used
    store.create_email_code(code("c3", "change", 1000)).await.unwrap();
    assert!(matches!(store.consume_email_code("c3", "change", 999).await.unwrap(), CodeUse::Consumed(_)));
    assert_eq!(store.consume_email_code("c3", "change", 5000).await.unwrap(), CodeUse::AlreadyUsed);
});

on_both!(sessions, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let bob = store.create_user(new_user("bob")).await.unwrap();
    let session = |user_id: i64, csrf: &str| Session { user_id, csrf: csrf.into(), created_at: 10, expires_at: 1000 };
    store.create_session("s1", session(alice.id, "x1")).await.unwrap();
    store.create_session("s2", session(alice.id, "x2")).await.unwrap();
    store.create_session("s3", session(bob.id, "x3")).await.unwrap();

    let (s, u) = store.session_by_hash("s1", 999).await.unwrap().unwrap();
    assert_eq!((s, u), (session(alice.id, "x1"), alice.clone()));
    assert!(store.session_by_hash("s1", 1000).await.unwrap().is_none(), "sessions expire");
    assert!(store.session_by_hash("unknown", 0).await.unwrap().is_none());

    store.delete_session("s1").await.unwrap();
    assert!(store.session_by_hash("s1", 0).await.unwrap().is_none());
    store.delete_session("s1").await.unwrap();
    assert!(store.session_by_hash("s2", 0).await.unwrap().is_some(), "deleting one session keeps the others");

    // a new password ends every session of that user, and only of that user
    store.set_password(alice.id, "newhash").await.unwrap();
    assert_eq!(store.user_by_id(alice.id).await.unwrap().unwrap().password_hash, "newhash");
    assert_eq!(store.user_by_id(bob.id).await.unwrap().unwrap().password_hash, "x");
    assert!(store.session_by_hash("s2", 0).await.unwrap().is_none());
    let (s, u) = store.session_by_hash("s3", 0).await.unwrap().unwrap();
    assert_eq!((s.csrf.as_str(), u.id), ("x3", bob.id));
    store.create_session("s4", session(alice.id, "x4")).await.unwrap();
    assert!(store.session_by_hash("s4", 0).await.unwrap().is_some(), "new sessions work after the change");
});

on_both!(token_management, |store| {
    let u = store.create_user(new_user("alice")).await.unwrap();
    let t = store.create_token(new_token(u.id, "laptop", "h1", None)).await.unwrap();

    store.rename_token(t.id, "desktop").await.unwrap();
    assert_eq!(store.token_by_id(t.id).await.unwrap().unwrap().name, "desktop");

    // refresh: a new secret, the old one stops at once
    store.touch_token(t.id, 150).await.unwrap();
    assert!(store.refresh_token(t.id, "h1b", "wxyz", 200).await.unwrap());
    assert!(store.token_by_hash("h1").await.unwrap().is_none(), "the old secret no longer works");
    let (r, owner) = store.token_by_hash("h1b").await.unwrap().unwrap();
    assert_eq!((r.id, r.last4.as_str(), r.name.as_str(), owner.id), (t.id, "wxyz", "desktop", u.id));
    assert_eq!(r.last_used_at, None);
    assert_eq!(r.created_at, t.created_at);

    // refresh refuses revoked and expired tokens and changes nothing
    let exp = store.create_token(new_token(u.id, "exp", "h2", Some(500))).await.unwrap();
    assert!(!store.refresh_token(exp.id, "h2b", "new4", 500).await.unwrap());
    assert!(store.token_by_hash("h2b").await.unwrap().is_none());
    assert_eq!(store.token_by_hash("h2").await.unwrap().unwrap().0.last4, "abcd");
    assert!(store.refresh_token(exp.id, "h2c", "new4", 499).await.unwrap(), "not expired yet");
    assert!(store.revoke_token_by_id(t.id, 300, "user").await.unwrap());
    assert!(!store.revoke_token_by_id(t.id, 301, "user").await.unwrap(), "already revoked");
    assert_eq!(store.token_by_id(t.id).await.unwrap().unwrap().revoked_at, Some(300));
    assert!(!store.refresh_token(t.id, "h1c", "new4", 400).await.unwrap());
    assert!(store.token_by_hash("h1c").await.unwrap().is_none());
    assert_eq!(store.token_by_id(t.id).await.unwrap().unwrap().last4, "wxyz");
    assert!(!store.refresh_token(t.id + 1000, "h9", "new4", 400).await.unwrap(), "unknown id");
});

on_both!(revoke_tokens_by_hash, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let bob = store.create_user(new_user("bob")).await.unwrap();
    let a = store.create_token(new_token(alice.id, "a", "ha", None)).await.unwrap();
    let b = store.create_token(new_token(bob.id, "b", "hb", Some(10_000))).await.unwrap();
    let gone = store.create_token(new_token(alice.id, "gone", "hgone", None)).await.unwrap();
    store.revoke_token_by_id(gone.id, 50, "user").await.unwrap();
    let exp = store.create_token(new_token(alice.id, "exp", "hexp", Some(200))).await.unwrap();
    let keep = store.create_token(new_token(alice.id, "keep", "hkeep", None)).await.unwrap();

    let hashes = ["ha", "unknown", "hgone", "hb", "hexp", "ha"].map(String::from);
    let revoked = store.revoke_tokens_by_hash(&hashes, 300, "leaked").await.unwrap();
    let mut ids = revoked.iter().map(|t| t.id).collect::<Vec<_>>();
    ids.sort();
    assert_eq!(ids, [a.id, b.id], "only the live tokens it revoked, each once");
    assert!(revoked.iter().all(|t| t.revoked_at == Some(300)));
    assert_eq!(revoked.iter().find(|t| t.id == b.id).unwrap().user_id, bob.id, "records name their owners");

    assert!(store.token_by_hash("ha").await.unwrap().is_none());
    assert!(store.token_by_hash("hb").await.unwrap().is_none());
    assert_eq!(store.token_by_id(gone.id).await.unwrap().unwrap().revoked_at, Some(50), "already revoked: unchanged");
    assert_eq!(store.token_by_id(exp.id).await.unwrap().unwrap().revoked_at, None, "expired tokens are not live");
    assert!(store.token_by_hash("hkeep").await.unwrap().is_some());
    assert_eq!(store.token_by_id(keep.id).await.unwrap().unwrap().revoked_at, None);
    assert!(store.revoke_tokens_by_hash(&[], 400, "leaked").await.unwrap().is_empty());
    assert!(store.revoke_tokens_by_hash(&hashes, 400, "leaked").await.unwrap().is_empty(), "a second report revokes nothing");
});

on_both!(org_tokens, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let acme = store.create_org("acme", "", alice.id, 1).await.unwrap();
    let beta = store.create_org("beta", "", alice.id, 1).await.unwrap();
    let own = store.create_token(new_token(alice.id, "ci", "h-own", None)).await.unwrap();
    let ot = store.create_token(org_token(alice.id, acme.id, "ci", "h-acme")).await.unwrap();
    let bt = store.create_token(org_token(alice.id, beta.id, "deploy", "h-beta")).await.unwrap();
    assert_eq!(ot.org_id, Some(acme.id));

    let ids = |v: Vec<TokenRecord>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_tokens(alice.id).await.unwrap()), [own.id], "user listings exclude org tokens");
    assert_eq!(ids(store.list_org_tokens(acme.id).await.unwrap()), [ot.id]);
    assert_eq!(ids(store.list_org_tokens(beta.id).await.unwrap()), [bt.id]);

    let (t, owner) = store.token_by_hash("h-acme").await.unwrap().unwrap();
    assert_eq!((t.org_id, owner.id), (Some(acme.id), alice.id), "an org token comes with the admin who made it");

    // revoking the user's token by name leaves an org token of the same name alone
    assert!(store.revoke_token(alice.id, "ci", 5).await.unwrap());
    assert!(store.token_by_hash("h-own").await.unwrap().is_none());
    assert!(store.token_by_hash("h-acme").await.unwrap().is_some(), "revoke_token(user, name) must not revoke org tokens");

    // revoked org tokens stay listed
    store.revoke_token_by_id(ot.id, 6, "admin").await.unwrap();
    let listed = store.list_org_tokens(acme.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state(7), "revoked");
});

on_both!(tokens_to_warn, |store| {
    let u = store.create_user(new_user("alice")).await.unwrap();
    let org = store.create_org("acme", "", u.id, 1).await.unwrap();
    let uid = u.id;
    let mk = |name: &'static str, exp: Option<i64>| {
        let store = store.clone();
        async move { store.create_token(new_token(uid, name, &format!("h-{name}"), exp)).await.unwrap() }
    };
    let _never = mk("never", None).await;
    let _past = mk("past", Some(900)).await;
    let _edge = mk("edge", Some(1000)).await;
    let inside = mk("inside", Some(1500)).await;
    let at_end = mk("at_end", Some(2000)).await;
    let _late = mk("late", Some(2001)).await;
    let revoked = mk("revoked", Some(1500)).await;
    store.revoke_token_by_id(revoked.id, 10, "user").await.unwrap();
    let org_t = store.create_token(NewToken { expires_at: Some(1600), ..org_token(u.id, org.id, "org", "h-org") }).await.unwrap();

    let ids = |v: Vec<TokenRecord>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.tokens_to_warn(1000, 2000).await.unwrap()), [inside.id, at_end.id, org_t.id], "live, unwarned, now < expiry <= before");
    store.mark_expiry_warned(inside.id, 1000).await.unwrap();
    assert_eq!(ids(store.tokens_to_warn(1000, 2000).await.unwrap()), [at_end.id, org_t.id], "warned once");
    assert_eq!(ids(store.tokens_to_warn(1000, 3000).await.unwrap()).len(), 3);
    assert!(store.tokens_to_warn(2500, 3000).await.unwrap().is_empty());
});

on_both!(org_membership, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let bob = store.create_user(new_user("Bob")).await.unwrap();
    let carol = store.create_user(new_user("carol")).await.unwrap();
    let zoe = store.create_user(new_user("zoe")).await.unwrap();
    let acme = store.create_org("acme", "Acme", zoe.id, 10).await.unwrap();
    assert_eq!(store.member_role(acme.id, alice.id).await.unwrap(), None);

    store.set_member(acme.id, carol.id, "write", 20).await.unwrap();
    store.set_member(acme.id, bob.id, "read", 30).await.unwrap();
    store.set_member(acme.id, alice.id, "contributor", 40).await.unwrap();
    let members = store.org_members(acme.id).await.unwrap();
    let view = |m: &[Member]| m.iter().map(|m| (m.user.name.clone(), m.role.clone(), m.since)).collect::<Vec<_>>();
    assert_eq!(
        view(&members),
        [("alice", "contributor", 40), ("Bob", "read", 30), ("carol", "write", 20), ("zoe", "admin", 10)].map(|(n, r, s)| (n.to_owned(), r.to_owned(), s)),
        "ordered by name, case-insensitively"
    );
    assert_eq!(members[1].user, bob);

    // changing a role keeps the member's join date
    store.set_member(acme.id, bob.id, "admin", 50).await.unwrap();
    assert_eq!(store.member_role(acme.id, bob.id).await.unwrap().as_deref(), Some("admin"));
    let m = store.org_members(acme.id).await.unwrap();
    assert_eq!(m.iter().find(|m| m.user.id == bob.id).map(|m| (m.role.as_str(), m.since)), Some(("admin", 30)));
    assert_eq!(m.len(), 4);

    let beta = store.create_org("Beta", "", carol.id, 60).await.unwrap();
    store.set_member(beta.id, bob.id, "read", 61).await.unwrap();
    let orgs = |v: Vec<(Org, String)>| v.into_iter().map(|(o, r)| (o.name, r)).collect::<Vec<_>>();
    assert_eq!(orgs(store.user_orgs(bob.id).await.unwrap()), [("acme".to_owned(), "admin".to_owned()), ("Beta".into(), "read".into())]);
    assert_eq!(store.user_orgs(bob.id).await.unwrap()[0].0, acme);
    assert!(store.user_orgs(store.create_user(new_user("dave")).await.unwrap().id).await.unwrap().is_empty());

    assert!(store.remove_member(acme.id, bob.id).await.unwrap());
    assert!(!store.remove_member(acme.id, bob.id).await.unwrap(), "already gone");
    assert_eq!(store.member_role(acme.id, bob.id).await.unwrap(), None);
    assert_eq!(orgs(store.user_orgs(bob.id).await.unwrap()), [("Beta".to_owned(), "read".to_owned())]);
    assert_eq!(store.org_members(acme.id).await.unwrap().len(), 3);
    assert_eq!(store.member_role(beta.id, bob.id).await.unwrap().as_deref(), Some("read"), "other orgs unaffected");
});

on_both!(token_approvals, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let bob = store.create_user(new_user("bob")).await.unwrap();
    let acme = store.create_org("acme", "", alice.id, 1).await.unwrap();
    let beta = store.create_org("beta", "", alice.id, 1).await.unwrap();
    store.set_member(acme.id, bob.id, "read", 2).await.unwrap();
    let t1 = store.create_token(new_token(bob.id, "t1", "h1", None)).await.unwrap();
    let t2 = store.create_token(new_token(bob.id, "t2", "h2", None)).await.unwrap();
    let t3 = store.create_token(new_token(alice.id, "t3", "h3", None)).await.unwrap();

    assert_eq!(store.token_approval(acme.id, t1.id).await.unwrap(), None);
    assert_eq!(store.request_token_approval(acme.id, t1.id, 10).await.unwrap(), "pending");
    assert_eq!(store.token_approval(acme.id, t1.id).await.unwrap().as_deref(), Some("pending"));
    assert_eq!(store.request_token_approval(acme.id, t1.id, 11).await.unwrap(), "pending", "idempotent");
    assert!(!store.set_token_approval(acme.id, t2.id, "approved", "alice", 12).await.unwrap(), "nothing requested");
    assert_eq!(store.token_approval(acme.id, t2.id).await.unwrap(), None);

    assert!(store.set_token_approval(acme.id, t1.id, "approved", "alice", 20).await.unwrap());
    assert_eq!(store.request_token_approval(acme.id, t1.id, 30).await.unwrap(), "approved", "a new request keeps the decision");
    assert_eq!(store.token_approval(acme.id, t1.id).await.unwrap().as_deref(), Some("approved"));
    assert_eq!(store.token_approval(beta.id, t1.id).await.unwrap(), None, "approvals are per organization");

    store.request_token_approval(acme.id, t2.id, 40).await.unwrap();
    store.request_token_approval(acme.id, t3.id, 41).await.unwrap();
    store.set_token_approval(acme.id, t3.id, "denied", "alice", 42).await.unwrap();
    store.request_token_approval(beta.id, t2.id, 43).await.unwrap();
    store.revoke_token_by_id(t2.id, 50, "user").await.unwrap();

    let list = store.list_token_approvals(acme.id).await.unwrap();
    assert_eq!(
        list,
        [
            TokenApproval { token: t1.clone(), owner: bob.clone(), state: "approved".into(), decided_by: Some("alice".into()), updated_at: 20 },
            TokenApproval { token: t3.clone(), owner: alice.clone(), state: "denied".into(), decided_by: Some("alice".into()), updated_at: 42 },
        ],
        "revoked tokens are skipped"
    );
    assert!(store.list_token_approvals(beta.id).await.unwrap().is_empty());
});

on_both!(access_requests, |store| {
    let bob = store.create_user(new_user("bob")).await.unwrap();
    let carol = store.create_user(new_user("carol")).await.unwrap();
    let dave = store.create_user(new_user("dave")).await.unwrap();
    let repo = make_repo(&store, "alice", "gated", false).await;
    let other = make_repo(&store, "alice", "other", false).await;

    let req = store.create_access_request(repo.id, bob.id, "pending", r#"{"why":"research"}"#, 10).await.unwrap();
    assert_eq!(
        req,
        AccessRequest { id: req.id, repo_id: repo.id, user_id: bob.id, status: "pending".into(), fields: r#"{"why":"research"}"#.into(), reason: None, decided_by: None, created_at: 10, updated_at: 10 }
    );
    let dup = store.create_access_request(repo.id, bob.id, "accepted", "{}", 11).await;
    assert!(matches!(dup, Err(StoreError::Conflict("access_requests"))), "{dup:?}");
    let auto = store.create_access_request(repo.id, carol.id, "accepted", "{}", 12).await.unwrap();
    store.create_access_request(other.id, bob.id, "pending", "{}", 13).await.expect("one request per repo");

    assert_eq!(store.access_request(repo.id, bob.id).await.unwrap().unwrap(), req);
    assert!(store.access_request(repo.id, dave.id).await.unwrap().is_none());

    let repo_id = repo.id;
    let list = |status: &'static str| {
        let store = store.clone();
        async move { store.list_access_requests(repo_id, status).await.unwrap().into_iter().map(|(r, u)| (r.id, u.name)).collect::<Vec<_>>() }
    };
    assert_eq!(list("pending").await, [(req.id, "bob".to_owned())]);
    assert_eq!(list("accepted").await, [(auto.id, "carol".to_owned())]);
    assert!(list("rejected").await.is_empty());

    assert!(store.set_access_request(req.id, "rejected", Some("no"), "alice", 20).await.unwrap());
    assert!(!store.set_access_request(req.id, "rejected", Some("still no"), "root", 21).await.unwrap(), "unchanged status");
    let r = store.access_request(repo.id, bob.id).await.unwrap().unwrap();
    assert_eq!((r.status.as_str(), r.reason.as_deref(), r.decided_by.as_deref(), r.created_at, r.updated_at), ("rejected", Some("no"), Some("alice"), 10, 20));
    assert!(list("pending").await.is_empty());
    assert_eq!(list("rejected").await, [(req.id, "bob".to_owned())]);

    assert!(store.set_access_request(req.id, "accepted", None, "root", 30).await.unwrap());
    let r = store.access_request(repo.id, bob.id).await.unwrap().unwrap();
    assert_eq!((r.status.as_str(), r.reason, r.decided_by.as_deref(), r.updated_at), ("accepted", None, Some("root"), 30));
    assert_eq!(list("accepted").await, [(req.id, "bob".to_owned()), (auto.id, "carol".to_owned())]);
    assert!(!store.set_access_request(req.id + 1000, "accepted", None, "root", 31).await.unwrap(), "unknown id");
});

on_both!(audit_log, |store| {
    let ev = |at: i64, user_id: Option<i64>, org_id: Option<i64>, event: &str| NewAuditEvent {
        at,
        user_id,
        org_id,
        actor: "alice".into(),
        event: event.into(),
        detail: format!(r#"{{"n":{at}}}"#),
        ip: (at % 2 == 0).then(|| "10.0.0.1".to_owned()),
    };
    store.add_audit(ev(1, Some(1), None, "token.create")).await.unwrap();
    store.add_audit(ev(2, Some(2), None, "login")).await.unwrap();
    store.add_audit(ev(3, Some(1), Some(7), "org.member.add")).await.unwrap();
    store.add_audit(ev(4, Some(1), None, "token.revoke")).await.unwrap();
    store.add_audit(ev(5, None, Some(7), "org.token_policy")).await.unwrap();
    store.add_audit(ev(6, None, Some(8), "org.create")).await.unwrap();

    let ats = |v: Vec<AuditEvent>| v.into_iter().map(|e| e.at).collect::<Vec<_>>();
    let mine = store.list_audit(Some(1), None, None, 100).await.unwrap();
    assert_eq!(ats(mine.clone()), [4, 3, 1], "newest first");
    let e = &mine[0];
    assert_eq!((e.user_id, e.org_id, e.actor.as_str(), e.event.as_str(), e.detail.as_str(), e.ip.as_deref()), (Some(1), None, "alice", "token.revoke", r#"{"n":4}"#, Some("10.0.0.1")));
    assert_eq!(mine[2].ip, None);
    assert_eq!(ats(store.list_audit(None, Some(7), None, 100).await.unwrap()), [5, 3]);
    assert_eq!(ats(store.list_audit(Some(1), Some(7), None, 100).await.unwrap()), [3]);
    assert_eq!(ats(store.list_audit(None, None, None, 100).await.unwrap()), [6, 5, 4, 3, 2, 1]);
    assert!(store.list_audit(Some(99), None, None, 100).await.unwrap().is_empty());

    // paging
    let first = store.list_audit(Some(1), None, None, 2).await.unwrap();
    assert_eq!(ats(first.clone()), [4, 3]);
    assert!(first[0].id > first[1].id);
    assert_eq!(ats(store.list_audit(Some(1), None, Some(first[1].id), 2).await.unwrap()), [1]);
    assert!(store.list_audit(Some(1), None, Some(mine[2].id), 2).await.unwrap().is_empty());
    assert_eq!(ats(store.list_audit(None, Some(7), Some(mine[1].id), 10).await.unwrap()), Vec::<i64>::new());
    assert_eq!(ats(store.list_audit(None, None, None, 1).await.unwrap()), [6]);
});

on_both!(private_repos_of_orgs, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    let bob = store.create_user(new_user("bob")).await.unwrap();
    let mallory = store.create_user(new_user("mallory")).await.unwrap();
    let acme = store.create_org("Acme", "", alice.id, 1).await.unwrap();
    store.set_member(acme.id, bob.id, "read", 2).await.unwrap();
    store.create_org("other", "", mallory.id, 3).await.unwrap();

    let c = format!("{:040}", 77);
    let secret = store
        .create_repo(
            NewRepo { repo_type: "model".into(), namespace: "acme".into(), name: "secret".into(), private: true, created_at: 5, created_by: Some(bob.id) },
            commit_write(0, "refs/heads/main", None, &c),
        )
        .await
        .unwrap();
    assert_eq!(secret.created_by, Some(bob.id));
    assert_eq!(store.repo_by_name("model", "acme", "secret").await.unwrap().unwrap().created_by, Some(bob.id));
    make_repo(&store, "Acme", "public", false).await;
    make_repo(&store, "other", "hidden", true).await;
    make_repo(&store, "bob", "mine", true).await;

    let q = |viewer: Option<&str>| RepoQuery { repo_type: "model".into(), viewer: viewer.map(str::to_owned), limit: 100, ..Default::default() };
    let names = |v: Vec<Repo>| v.into_iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect::<Vec<_>>();
    assert_eq!(names(store.list_repos(&q(None)).await.unwrap()), ["Acme/public"]);
    assert_eq!(names(store.list_repos(&q(Some("bob"))).await.unwrap()), ["acme/secret", "Acme/public", "bob/mine"]);
    assert_eq!(names(store.list_repos(&q(Some("BOB"))).await.unwrap()), ["acme/secret", "Acme/public", "bob/mine"]);
    assert_eq!(names(store.list_repos(&q(Some("alice"))).await.unwrap()), ["acme/secret", "Acme/public"]);
    assert_eq!(names(store.list_repos(&q(Some("mallory"))).await.unwrap()), ["Acme/public", "other/hidden"]);

    store.remove_member(acme.id, bob.id).await.unwrap();
    assert_eq!(names(store.list_repos(&q(Some("bob"))).await.unwrap()), ["Acme/public", "bob/mine"], "former members lose access");
});

on_both!(listing_and_disabling_users, |store| {
    let alice = store.create_user(new_user("alice")).await.unwrap();
    store.create_user(new_user("bob_1")).await.unwrap();
    store.create_user(new_user("bobby")).await.unwrap();
    let all = store.list_users(None, None, 10).await.unwrap();
    assert_eq!(all.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["alice", "bob_1", "bobby"]);
    let bobs = store.list_users(Some("BOB"), None, 10).await.unwrap();
    assert_eq!(bobs.len(), 2);
    // `_` is a literal character in a search, not a wildcard.
    let exact = store.list_users(Some("b_1"), None, 10).await.unwrap();
    assert_eq!(exact.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["bob_1"]);
    assert_eq!(store.list_users(None, None, 1).await.unwrap().len(), 1);
    let next = store.list_users(None, Some("alice"), 10).await.unwrap();
    assert_eq!(next.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["bob_1", "bobby"], "paging continues after a name");

    let now = 1_000_000;
    store.create_session("s1", Session { user_id: alice.id, csrf: "c".into(), created_at: now, expires_at: now + 10_000 }).await.unwrap();
    store.set_user_disabled(alice.id, Some(now)).await.unwrap();
    let a = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(a.disabled_at, Some(now));
    assert!(store.session_by_hash("s1", now).await.unwrap().is_none(), "disabling ends the sessions");
    let t = store.create_token(new_token(alice.id, "t", "h-alice", None)).await.unwrap();
    let (_, owner) = store.token_by_hash("h-alice").await.unwrap().unwrap();
    assert_eq!(owner.disabled_at, Some(now), "token lookups see the account state");
    assert_eq!(t.user_id, alice.id);
    store.set_user_disabled(alice.id, None).await.unwrap();
    assert_eq!(store.user_by_id(alice.id).await.unwrap().unwrap().disabled_at, None);
});

on_both!(organization_invitations, |store| {
    let admin = store.create_user(new_user("admin")).await.unwrap();
    let carol = store.create_user(new_user("carol")).await.unwrap();
    let dave = store.create_user(new_user("dave")).await.unwrap();
    let org = store.create_org("acme", "Acme", admin.id, 1).await.unwrap();
    let inv = store.create_invitation(org.id, carol.id, "write", "admin", 2).await.unwrap();
    assert!(matches!(store.create_invitation(org.id, carol.id, "read", "admin", 3).await, Err(StoreError::Conflict(_))));
    let d = store.create_invitation(org.id, dave.id, "read", "admin", 3).await.unwrap();
    let pending = store.org_invitations(org.id).await.unwrap();
    assert_eq!(pending.iter().map(|(i, u)| (u.name.as_str(), i.role.as_str())).collect::<Vec<_>>(), [("carol", "write"), ("dave", "read")]);
    let mine = store.user_invitations(carol.id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1.name, "acme");

    // Only the invited user can accept; accepting makes the membership with the invited role.
    assert!(store.accept_invitation(inv.id, dave.id, 4).await.unwrap().is_none());
    assert_eq!(store.member_role(org.id, carol.id).await.unwrap(), None);
    let accepted = store.accept_invitation(inv.id, carol.id, 4).await.unwrap().unwrap();
    assert_eq!(accepted.role, "write");
    assert_eq!(store.member_role(org.id, carol.id).await.unwrap().as_deref(), Some("write"));
    assert!(store.accept_invitation(inv.id, carol.id, 5).await.unwrap().is_none(), "an invitation is used once");

    // Declining (deleting) leaves no membership.
    assert_eq!(store.delete_invitation(d.id).await.unwrap().map(|i| i.user_id), Some(dave.id));
    assert!(store.delete_invitation(d.id).await.unwrap().is_none());
    assert_eq!(store.member_role(org.id, dave.id).await.unwrap(), None);
    assert!(store.org_invitations(org.id).await.unwrap().is_empty());
});

on_both!(device_codes_and_refresh_tokens, |store| {
    let u = store.create_user(new_user("erin")).await.unwrap();
    let code = |hash: &str, user_code: &str, expires_at: i64| DeviceCode {
        device_hash: hash.into(),
        user_code: user_code.into(),
        client_id: "cli".into(),
        status: "pending".into(),
        user_id: None,
        role: None,
        token_name: None,
        created_at: 1_000,
        expires_at,
        last_poll_at: None,
    };
    store.create_device_code(code("d1", "BCDF-GHJK", 100_000)).await.unwrap();
    assert!(matches!(store.create_device_code(code("d2", "BCDF-GHJK", 100_000)).await, Err(StoreError::Conflict(_))), "user codes are unique");
    store.create_device_code(code("d3", "ZZZZ-ZZZZ", 2_000)).await.unwrap();

    // An expired code cannot be approved; a pending one once.
    assert!(!store.decide_device_code("ZZZZ-ZZZZ", u.id, "approved", Some("read"), Some("n"), 5_000).await.unwrap());
    assert!(store.decide_device_code("BCDF-GHJK", u.id, "approved", Some("write"), Some("laptop"), 5_000).await.unwrap());
    assert!(!store.decide_device_code("BCDF-GHJK", u.id, "denied", None, None, 5_000).await.unwrap());
    let c = store.device_code_by_hash("d1").await.unwrap().unwrap();
    assert_eq!((c.status.as_str(), c.user_id, c.role.as_deref(), c.token_name.as_deref()), ("approved", Some(u.id), Some("write"), Some("laptop")));
    assert_eq!(store.device_code_by_user_code("BCDF-GHJK").await.unwrap().unwrap().device_hash, "d1");
    store.touch_device_poll("d1", 6_000).await.unwrap();
    assert_eq!(store.device_code_by_hash("d1").await.unwrap().unwrap().last_poll_at, Some(6_000));

    // Collected exactly once.
    assert!(store.claim_device_code("d1").await.unwrap());
    assert!(!store.claim_device_code("d1").await.unwrap());
    assert!(!store.claim_device_code("d3").await.unwrap(), "a code that was never approved cannot be claimed");

    let t = store.create_token(new_token(u.id, "laptop", "tok", None)).await.unwrap();
    store.put_refresh_token("r1", t.id, 7_000).await.unwrap();
    assert_eq!(store.take_refresh_token("r1").await.unwrap(), Some(t.id));
    assert_eq!(store.take_refresh_token("r1").await.unwrap(), None, "a refresh token works once");
    store.set_token_expiry(t.id, Some(9_000_000)).await.unwrap();
    assert_eq!(store.token_by_id(t.id).await.unwrap().unwrap().expires_at, Some(9_000_000));
});

on_both!(xet_storage_and_collection, |store| {
    let xorb = |h: &str, blob: &str| XetXorb { hash: h.into(), blob_sha256: blob.into(), size: 10, meta: vec![1, 2, 3] };
    let file = |h: &str, sha: &str| XetFile { file_hash: h.into(), sha256: sha.into(), size: 20, terms: vec![9, 9] };
    let keep = make_repo(&store, "xet", "keep", false).await;
    let drop = make_repo(&store, "xet", "drop", false).await;

    // Xorbs: stored once; storing again only touches.
    assert!(store.put_xet_xorb(&xorb("x1", "b1"), &["c1".into()], 1_000).await.unwrap());
    assert!(!store.put_xet_xorb(&xorb("x1", "b1"), &["c9".into()], 2_000).await.unwrap());
    assert!(store.put_xet_xorb(&xorb("x2", "b2"), &[], 1_000).await.unwrap());
    assert!(store.put_xet_xorb(&xorb("x3", "b3"), &["c3".into()], 1_000).await.unwrap());
    assert_eq!(store.xet_xorb("x1").await.unwrap().unwrap(), xorb("x1", "b1"));
    assert!(store.xet_xorb("nope").await.unwrap().is_none());
    assert_eq!(store.xet_dedup_xorb("c1", 3_000).await.unwrap().unwrap().hash, "x1");
    assert!(store.xet_dedup_xorb("c9", 3_000).await.unwrap().is_none(), "a known xorb's second upload adds no index entries");

    // Files: x1+x2 in `keep` and `drop`, x3 only in `drop`.
    assert!(store.put_xet_file(&file("f1", "s1"), &["x1".into(), "x2".into()], Some(("c1b", "x1")), keep.id, 3_000).await.unwrap());
    assert!(store.put_xet_file(&file("f1", "s1"), &["x1".into(), "x2".into()], None, drop.id, 3_000).await.unwrap());
    assert!(store.put_xet_file(&file("f3", "s3"), &["x3".into()], None, drop.id, 3_000).await.unwrap());
    assert!(!store.put_xet_file(&file("f4", "s4"), &["gone".into()], None, keep.id, 3_000).await.unwrap(), "a missing xorb writes nothing");
    assert!(store.xet_file("f4").await.unwrap().is_none());
    assert_eq!(store.repo_lfs_object(keep.id, "s4").await.unwrap(), None);
    assert_eq!(store.xet_file("f1").await.unwrap().unwrap(), file("f1", "s1"));
    assert_eq!(store.xet_file_by_sha256("s3").await.unwrap().unwrap().file_hash, "f3");
    assert_eq!(store.repo_lfs_object(drop.id, "s3").await.unwrap(), Some(20));
    assert_eq!(store.xet_dedup_xorb("c1b", 3_000).await.unwrap().unwrap().hash, "x1", "a file's first chunk is indexed");
    let siblings: Vec<String> = store.xet_sibling_xorbs("x1", 10).await.unwrap().into_iter().map(|x| x.hash).collect();
    assert_eq!(siblings, vec!["x2".to_owned()]);

    // Nothing is collected while everything is linked or within its grace period.
    assert_eq!(store.xet_collect(2_500).await.unwrap(), XetCollected::default());
    store.delete_repo(drop.id).await.unwrap();
    // An unreferenced xorb uploaded late (an upload in flight) is spared by the cutoff.
    assert!(store.put_xet_xorb(&xorb("x5", "b5"), &[], 9_000).await.unwrap());
    let gone = store.xet_collect(5_000).await.unwrap();
    assert_eq!(gone.files, 1, "f3 lost its only repository");
    assert_eq!(gone.xorbs.iter().map(|x| x.hash.as_str()).collect::<Vec<_>>(), vec!["x3"]);
    assert!(store.xet_file("f3").await.unwrap().is_none());
    assert!(store.xet_dedup_xorb("c3", 6_000).await.unwrap().is_none(), "the index forgets collected xorbs");
    assert!(store.xet_file("f1").await.unwrap().is_some(), "f1 is still in `keep`");
    assert!(store.xet_xorb("x5").await.unwrap().is_some());
    assert!(!store.blob_in_use("b3").await.unwrap());
    assert!(store.blob_in_use("b1").await.unwrap());
});

on_both!(plans, |store| {
    let u = store.create_user(new_user("paula")).await.unwrap();
    assert_eq!(store.user_plan(u.id).await.unwrap().as_deref(), Some("free"), "every account starts free");
    store.set_user_plan(u.id, "pro").await.unwrap();
    assert_eq!(store.user_plan(u.id).await.unwrap().as_deref(), Some("pro"));
    assert_eq!(store.user_plan(u.id + 999).await.unwrap(), None);

    let org = store.create_org("acme-plans", "Acme", u.id, 5).await.unwrap();
    assert_eq!((org.plan.as_str(), org.seats), ("free", 0));
    store.set_org_plan(org.id, "enterprise", 12).await.unwrap();
    let again = store.org_by_name("ACME-plans").await.unwrap().unwrap();
    assert_eq!((again.plan.as_str(), again.seats), ("enterprise", 12));
    assert_eq!(store.org_by_id(org.id).await.unwrap().unwrap(), again);
    let (listed, role) = store.user_orgs(u.id).await.unwrap().pop().unwrap();
    assert_eq!((listed, role.as_str()), (again.clone(), "admin"), "the role still follows the organization's columns");
    let v = store.create_user(new_user("vic")).await.unwrap();
    let inv = store.create_invitation(org.id, v.id, "read", "paula", 6).await.unwrap();
    let (got, inv_org) = store.user_invitations(v.id).await.unwrap().pop().unwrap();
    assert_eq!((got, inv_org), (inv, again));
});
