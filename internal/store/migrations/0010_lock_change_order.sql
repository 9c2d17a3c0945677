-- An account's lock history lists its changes in the order they
-- committed: seq is the account's version the change produced (each
-- change bumps it while holding the account's row). The time taken by the
-- service before the transaction is not that order: concurrent changes
-- and replicas with different clocks interleave. Changes recorded before
-- have seq 0 and list after every newer one, by ID among themselves.
ALTER TABLE lock_changes ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
DROP INDEX lock_changes_account;
CREATE INDEX lock_changes_account ON lock_changes(account_id, seq, id);
