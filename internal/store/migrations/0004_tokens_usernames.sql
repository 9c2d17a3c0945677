-- Tokens become objects with a name, a scope, a creation time, a last
-- use, an optional expiry and a revocation. Issued tokens carry their ID
-- and are kept as salted hashes; tokens issued before this migration
-- (random 256-bit "lg_…" values, kept as their SHA-256) stay usable and
-- are found by legacy_hash. The token configured by the environment is not
-- carried over: it is registered again, by name, at the next start, and
-- an old value that is no longer configured stops working.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    person_id    TEXT REFERENCES persons(id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    hash         TEXT NOT NULL,
    legacy_hash  TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tokens_legacy ON tokens(legacy_hash) WHERE legacy_hash IS NOT NULL;
CREATE INDEX tokens_person ON tokens(person_id);

INSERT INTO tokens (id, name, scope, source, hash, legacy_hash, created_at)
SELECT 'tok_' || substr(hash, 1, 32), name, 'admin', 'migrated', 'sha256$' || hash, hash, created_at
FROM admin_tokens WHERE name <> 'configured';

INSERT INTO tokens (id, name, scope, person_id, source, hash, legacy_hash, created_at)
SELECT 'tok_' || substr(hash, 1, 32), 'owner API', 'person', person_id, 'migrated', 'sha256$' || hash, hash, created_at
FROM person_tokens;

DROP TABLE admin_tokens;
DROP TABLE person_tokens;

-- Usernames are matched per application: exact, or caseless (NFKC, case
-- folding, trimmed, zero-width characters removed). username keeps the
-- name as first seen; username_key is its canonical form, by which checks
-- find the account. The keys are computed in Go (the migration's second
-- step), which also keeps every application whose accounts would collide
-- on exact matching, and reports the collisions, instead of merging them.
ALTER TABLE applications ADD COLUMN username_match TEXT NOT NULL DEFAULT 'caseless';
ALTER TABLE accounts ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
