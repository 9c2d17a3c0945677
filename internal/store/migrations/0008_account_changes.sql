-- One counter of committed account and application changes. Every
-- transaction that announces a change takes the next value while holding
-- this row, so values commit in order; the announcement (PostgreSQL
-- NOTIFY) carries it. A replica may answer a lock check from its cache
-- only when its LISTEN connection has heard the value a read at the
-- check's start returns: a lock acknowledged anywhere before the check is
-- then already in its cache, or it reads through.
CREATE TABLE account_changes (
    id INTEGER PRIMARY KEY,
    v  BIGINT NOT NULL
);
INSERT INTO account_changes (id, v) VALUES (1, 0);
