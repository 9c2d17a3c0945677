-- Times are microseconds since the Unix epoch (0 = none); secrets are
-- sealed text. The same DDL runs on SQLite and PostgreSQL.
CREATE TABLE applications (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    unknown_account TEXT NOT NULL,
    default_state   TEXT NOT NULL,
    locked_message  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE app_issuers (
    issuer TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE
);
CREATE INDEX app_issuers_app ON app_issuers(app_id);

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    sealed     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signing_keys_app ON signing_keys(app_id);

CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    username     TEXT NOT NULL,
    person_id    TEXT REFERENCES persons(id) ON DELETE SET NULL,
    state        TEXT NOT NULL,
    unlock_until BIGINT NOT NULL DEFAULT 0,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (app_id, username)
);
CREATE INDEX accounts_person ON accounts(person_id);
CREATE INDEX accounts_relock ON accounts(unlock_until) WHERE unlock_until > 0;

CREATE TABLE lock_changes (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    username     TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    unlock_until BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    actor_ip     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX lock_changes_account ON lock_changes(account_id, id);

-- Attempts outlive their account and application on purpose: they are
-- the audit trail. Every index costs each lock check a B-tree insert, so
-- there are two: by application, and by application and username (which
-- also serves a person's attempts).
CREATE TABLE attempts (
    id               TEXT PRIMARY KEY,
    at               BIGINT NOT NULL,
    app_id           TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    username         TEXT NOT NULL,
    user_ip          TEXT NOT NULL,
    user_device      TEXT NOT NULL,
    user_location    TEXT NOT NULL,
    integration_type TEXT NOT NULL,
    integration_data TEXT NOT NULL,
    locked           INTEGER NOT NULL
);
CREATE INDEX attempts_app ON attempts(app_id, id);
CREATE INDEX attempts_app_user ON attempts(app_id, username, id);

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    owner_kind TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    url        TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks(owner_kind, owner_id);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    dead            INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at = 0 AND dead = 0;

CREATE TABLE admin_tokens (
    hash       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE person_tokens (
    hash       TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

-- Facts about the database itself, such as a value sealed under the
-- master key that tells a wrong key at start-up.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
