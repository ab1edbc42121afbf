//go:build unix

package storage

import "syscall"

// defaultOpenFiles keeps every page file open when RLIMIT_NOFILE leaves
// fdHeadroom descriptors beside them (the Go runtime raised the soft limit
// to the hard one at start-up), fewer otherwise.
func defaultOpenFiles() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return minOpenFiles
	}
	return int(min(uint64(maxOpenFiles), max(uint64(minOpenFiles), l.Cur-min(l.Cur, fdHeadroom))))
}
