-- Accounts, organizations, fine-grained and organization tokens, gated access requests, audit log.

ALTER TABLE users ADD COLUMN fullname TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pending_email TEXT;

-- User and organization names share one namespace, unique case-insensitively.
CREATE TABLE namespaces (
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE UNIQUE INDEX namespaces_name_key ON namespaces (lower(name));
INSERT INTO namespaces (name, kind) SELECT name, 'user' FROM users;

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    fullname TEXT NOT NULL,
    token_policy TEXT NOT NULL DEFAULT 'allow_all',
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX orgs_name_key ON orgs (lower(name));

CREATE TABLE org_members (
    org_id INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

-- A token with org_id acts as that organization; user_id is the admin who created it.
ALTER TABLE tokens ADD COLUMN org_id INTEGER REFERENCES orgs (id) ON DELETE CASCADE;
ALTER TABLE tokens ADD COLUMN fine_grained TEXT;
ALTER TABLE tokens ADD COLUMN expiry_warned_at INTEGER;
ALTER TABLE tokens ADD COLUMN expired_noted_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoke_reason TEXT;
CREATE INDEX tokens_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;

-- Tokens that reach an organization with the approval policy.
CREATE TABLE org_token_approvals (
    org_id INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    decided_by TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, token_id)
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Single-use codes mailed as links: email verification, password reset, email change.
CREATE TABLE email_codes (
    code_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

ALTER TABLE repos ADD COLUMN created_by INTEGER;

CREATE TABLE access_requests (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    fields TEXT NOT NULL,
    reason TEXT,
    decided_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX access_requests_key ON access_requests (repo_id, user_id);

-- History outlives what it describes: no foreign keys.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    user_id INTEGER,
    org_id INTEGER,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL,
    ip TEXT
);
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
