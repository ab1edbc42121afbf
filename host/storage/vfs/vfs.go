// Package vfs is the file system under the page store: the few operations
// it needs, on a real folder (Dir, through os.Root, so that no name or
// symbolic link reaches outside it) or in memory with simulated power loss
// (CrashFS, for tests). Names are slash-separated and relative to the FS.
//
// The page store relies on these durability rules, which both
// implementations follow and CrashFS enforces strictly:
//   - Data written to a file is durable once Sync or Datasync of that file
//     returned nil; before that, a power loss may drop it, wholly or in
//     part.
//   - A folder entry (a file or folder created, renamed or removed) is
//     durable once SyncDir of the folder that holds it returned nil.
//   - Rename replaces its target atomically: after a power loss the name
//     holds the old or the new file, never a mix.
package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is a folder tree.
type FS interface {
	// OpenFile opens name with os.O_* flags (O_RDONLY, O_RDWR, O_CREATE,
	// O_EXCL, O_TRUNC); a file it creates has mode perm.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Mkdir creates folder name with mode perm.
	Mkdir(name string, perm fs.FileMode) error
	// Rename renames oldname to newname, replacing a file there.
	Rename(oldname, newname string) error
	// Remove removes file (or empty folder) name.
	Remove(name string) error
	// Stat describes name, following symbolic links inside the FS.
	Stat(name string) (fs.FileInfo, error)
	// ReadDirNames lists the names in folder name, unsorted.
	ReadDirNames(name string) ([]string, error)
	// SyncDir makes the entries of folder name durable.
	SyncDir(name string) error
	// Path returns name as a path for messages (the OS path for Dir).
	Path(name string) string
}

// File is an open file. ReadAt and WriteAt may be called concurrently.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Truncate sets the file's size.
	Truncate(size int64) error
	// Sync makes the file's data and metadata durable: fsync(2).
	Sync() error
	// Datasync makes the file's data and size durable, not its times:
	// fdatasync(2).
	Datasync() error
	// Stat describes the open file.
	Stat() (fs.FileInfo, error)
	Close() error
}

// Dir is an FS over a real folder, through an os.Root.
type Dir struct {
	root *os.Root
	path string
}

// OpenDir opens the folder at path, which may be a symbolic link; nothing
// reached through the Dir is outside it.
func OpenDir(path string) (*Dir, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{root: r, path: path}, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// OpenFile implements FS. The mode of a created file is perm whatever the
// umask.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := d.root.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if flag&os.O_CREATE != 0 {
		if err := f.Chmod(perm); err != nil {
			f.Close()
			return nil, err
		}
	}
	return osFile{f}, nil
}

// Mkdir implements FS. The folder's mode is perm whatever the umask.
func (d *Dir) Mkdir(name string, perm fs.FileMode) error {
	if err := d.root.Mkdir(name, perm); err != nil {
		return err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return err
	}
	err = f.Chmod(perm)
	return errors.Join(err, f.Close())
}

// Rename implements FS.
func (d *Dir) Rename(oldname, newname string) error { return d.root.Rename(oldname, newname) }

// Remove implements FS.
func (d *Dir) Remove(name string) error { return d.root.Remove(name) }

// Stat implements FS.
func (d *Dir) Stat(name string) (fs.FileInfo, error) { return d.root.Stat(name) }

// ReadDirNames implements FS.
func (d *Dir) ReadDirNames(name string) ([]string, error) {
	f, err := d.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// SyncDir implements FS.
func (d *Dir) SyncDir(name string) error {
	f, err := d.root.Open(name)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// Path implements FS.
func (d *Dir) Path(name string) string { return filepath.Join(d.path, filepath.FromSlash(name)) }

// osFile is a File over an *os.File.
type osFile struct{ *os.File }

func (f osFile) Datasync() error { return datasync(f.File) }
