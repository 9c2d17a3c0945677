-- The owner portal and the admin console: how persons sign in (a
-- password with TOTP, passkeys), the one-time links that enrol them,
-- server-side sessions (the browser holds only a secret whose SHA-256 is
-- kept here), the single-use state of WebAuthn ceremonies, unlock
-- requests and e-mail alerts.
CREATE TABLE portal_logins (
    person_id     TEXT PRIMARY KEY REFERENCES persons(id) ON DELETE CASCADE,
    login         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_sealed   TEXT NOT NULL,
    totp_step     BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX portal_logins_login ON portal_logins(login);

CREATE TABLE portal_passkeys (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    credential   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX portal_passkeys_person ON portal_passkeys(person_id);

CREATE TABLE portal_enrol_links (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    person_id  TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE portal_sessions (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    person_id    TEXT REFERENCES persons(id) ON DELETE CASCADE,
    token_id     TEXT,
    csrf         TEXT NOT NULL,
    method       TEXT NOT NULL,
    data         TEXT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX portal_sessions_person ON portal_sessions(person_id);

CREATE TABLE portal_challenges (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE unlock_requests (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    app_id        TEXT NOT NULL,
    username      TEXT NOT NULL,
    attempt_id    TEXT NOT NULL UNIQUE,
    user_ip       TEXT NOT NULL,
    user_device   TEXT NOT NULL,
    user_location TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    decided_at    BIGINT NOT NULL DEFAULT 0,
    decided_by    TEXT NOT NULL DEFAULT '',
    notified_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX unlock_requests_person ON unlock_requests(person_id, id);
CREATE INDEX unlock_requests_account ON unlock_requests(account_id, state);

CREATE TABLE alert_emails (
    person_id  TEXT PRIMARY KEY REFERENCES persons(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    mailed_upto TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
