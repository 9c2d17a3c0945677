//go:build !unix

package analyze

import "io/fs"

// fileID gives no identity here: files are compared with os.SameFile.
func fileID(fs.FileInfo) (any, bool) { return nil, false }
