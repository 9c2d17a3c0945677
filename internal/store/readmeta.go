package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// ReadSQLiteMeta reads a value of the meta table of the SQLite database at
// path without writing anything — no migration, no lock file, no journal:
// for config validate, which creates nothing. found is false when the
// database, its meta table or the value does not exist yet.
func ReadSQLiteMeta(ctx context.Context, path, name string) (value string, found bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	q := url.Values{}
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		// No write-ahead log: the file is the whole database, read as
		// it is, without the -shm file a WAL reader would create.
		q.Set("immutable", "1")
	} else {
		// A server has it open (or stopped without checkpointing):
		// read through its log.
		q.Set("mode", "ro")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return "", false, err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = ?`, name).Scan(&value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil && strings.Contains(err.Error(), "no such table"):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return value, true, nil
}
