//go:build unix

package server

import (
	"syscall"
	"testing"
)

// raiseFileLimit raises the soft RLIMIT_NOFILE to need descriptors, or
// fails the test if the hard limit is lower.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		t.Fatalf("RLIMIT_NOFILE %d, want %d: %v", lim.Cur, need, err)
	}
}
