-- Lock checks of a locked account whose attempt.locked the per-account
-- throttle held back, until an attempt.locked.summary counts them. A row
-- is written in the transaction that records its attempt and deleted in
-- the one that queues the summary: a restart loses none of them, and no
-- summary counts one twice.
CREATE TABLE unalerted_attempts (
    attempt_id TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL,
    username   TEXT NOT NULL,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX unalerted_attempts_account ON unalerted_attempts(app_id, username);
