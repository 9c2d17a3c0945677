-- The IAM policy document mapped to each identity-provider group, read by
-- the authorizer (internal/authz) and managed with `lockgate authz group`.
CREATE TABLE authz_groups (
    name       TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
