CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    site_admin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_name_key ON users (lower(name));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    last4 TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX tokens_hash_key ON tokens (token_hash);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    repo_type TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    private INTEGER NOT NULL,
    gated TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX repos_name_key ON repos (repo_type, lower(namespace), lower(name));

CREATE TABLE refs (
    repo_id INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (repo_id, name)
);

CREATE TABLE repo_commits (
    repo_id INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    oid TEXT NOT NULL,
    PRIMARY KEY (repo_id, oid)
);

CREATE TABLE git_objects (
    oid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE blobs (
    oid TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    lfs INTEGER NOT NULL
);

CREATE TABLE repo_lfs_objects (
    repo_id INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (repo_id, sha256)
);

CREATE TABLE discussions (
    repo_id INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    num INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    author TEXT NOT NULL,
    is_pull_request INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, num)
);

CREATE TABLE server_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
