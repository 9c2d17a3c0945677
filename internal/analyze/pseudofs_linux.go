package analyze

import "syscall"

// pseudoFS names the kernel's pseudo file system path lies on, or is
// empty. A symbolic link in a log directory that leads into /proc or /sys
// would have the walk read files that never end or block for ever
// (/proc/kmsg reports itself a regular empty file; /proc/self leads back
// into the process's own descriptors), so the walk does not follow it
// there (atk16i F8). A path the user names is read as named.
func pseudoFS(path string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return ""
	}
	// Magic numbers from linux/magic.h.
	switch uint64(st.Type) {
	case 0x9fa0:
		return "proc"
	case 0x62656572:
		return "sysfs"
	case 0x64626720:
		return "debugfs"
	case 0x74726163:
		return "tracefs"
	case 0x73636673:
		return "securityfs"
	case 0x27e0eb, 0x63677270:
		return "cgroup"
	case 0x1cd1:
		return "devpts"
	case 0x42494e4d:
		return "binfmt_misc"
	case 0xcafe4a11:
		return "bpf"
	}
	return ""
}
