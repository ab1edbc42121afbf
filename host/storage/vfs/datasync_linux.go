package vfs

import (
	"fmt"
	"os"
	"syscall"
)

// datasync makes f's data durable, and the metadata needed to read it back
// (its size), but not its times: fdatasync(2).
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		// Not f.Name(): the journal keeps the temporary name it was
		// created under. The caller names the file.
		return fmt.Errorf("fdatasync: %w", serr)
	}
	return nil
}
