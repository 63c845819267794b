-- Site administration, organization invitations and the OAuth device flow.

-- A disabled account cannot log in, and its tokens and sessions stop working.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

CREATE TABLE org_invitations (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX org_invitations_once ON org_invitations (org_id, user_id);
CREATE INDEX org_invitations_user ON org_invitations (user_id);

-- RFC 8628 device codes. The device code is stored hashed; the token is created only when the
-- polling client collects it, so no secret is ever stored.
CREATE TABLE device_codes (
    device_hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    role TEXT,
    token_name TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_poll_at INTEGER
);
CREATE UNIQUE INDEX device_codes_user_code ON device_codes (user_code);

-- Refresh tokens of device-login tokens, stored hashed; each use replaces it.
CREATE TABLE oauth_refresh_tokens (
    refresh_hash TEXT PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX oauth_refresh_tokens_token ON oauth_refresh_tokens (token_id);
