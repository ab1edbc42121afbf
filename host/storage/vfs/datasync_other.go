//go:build !linux

package vfs

import "os"

// datasync makes f's data durable: fsync, where fdatasync is not known to
// be available.
func datasync(f *os.File) error { return f.Sync() }
