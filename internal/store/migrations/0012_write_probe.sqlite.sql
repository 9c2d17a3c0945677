-- One row that readiness rewrites to prove SQLite takes a write (a WAL
-- frame and its fsync) after a batch of attempts failed because the
-- database did (a full disk, an I/O error): see Store.Ping. Rewriting a
-- row with the same bytes writes nothing in SQLite, so the probe stores
-- the time.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);
