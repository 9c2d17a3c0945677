-- PostgreSQL only. Every lock check inserts an attempt, and each of the
-- attempt's index entries is placed by comparing text: under a libc
-- collation other than "C" (C.UTF-8, en_US.UTF-8, ...) each comparison of
-- two different values copies both and calls strcoll, where "C" compares
-- bytes. The indexed columns hold identifiers and canonical usernames,
-- compared only for equality and, for IDs, for order: IDs are ASCII and
-- time-ordered, so byte order is their order (it is also Go's, which
-- pages by them) and no listing changes. Indexes on these columns are
-- rebuilt; the table is not rewritten. SQLite compares bytes already.
ALTER TABLE attempts
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN app_id TYPE TEXT COLLATE "C",
    ALTER COLUMN username TYPE TEXT COLLATE "C";
ALTER TABLE unalerted_attempts
    ALTER COLUMN attempt_id TYPE TEXT COLLATE "C",
    ALTER COLUMN app_id TYPE TEXT COLLATE "C",
    ALTER COLUMN username TYPE TEXT COLLATE "C";
