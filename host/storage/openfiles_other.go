//go:build !unix

package storage

// defaultOpenFiles is a conservative bound where descriptor limits are not
// known.
func defaultOpenFiles() int { return 1024 }
