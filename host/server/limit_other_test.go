//go:build !unix

package server

import "testing"

// raiseFileLimit does nothing where there is no RLIMIT_NOFILE.
func raiseFileLimit(*testing.T, uint64) {}
