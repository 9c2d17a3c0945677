-- What integrations did about an account (the AWS IAM responder's locks
-- and restores), shown to the owner beside the lock history.
CREATE TABLE account_events (
    id       TEXT PRIMARY KEY,
    at       BIGINT NOT NULL,
    app_id   TEXT NOT NULL,
    username TEXT NOT NULL,
    source   TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX account_events_account ON account_events(app_id, username, id);
