package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage/vfs"
)

// keysTempPrefix starts the names of the temporary files of WriteFile: a
// hidden name, which no valid file name can collide with.
const keysTempPrefix = ".raidakx-tmp-"

// Bounds of the coins/ read cache: every 45 reads its decryption coin's
// file, and opening it through the os.Root cost more than the rest of the
// host's work for the request. A replaced coin file is seen at most
// coinsCacheTTL later; a missing one is never cached.
const (
	coinsCacheTTL     = time.Second
	coinsCacheFiles   = 4096 // entries; the cache is emptied when full
	coinsCacheMaxFile = 4096 // larger files are not cached (a coin file is 440 bytes)
)

// RootFiles is Files over a RAIDA data root: DATAROOT/coins (read only)
// and DATAROOT/Keys (read and write), each accessed through a vfs.Dir (an
// os.Root), so that no name and no symbolic link inside them can reach
// outside them. The folders themselves may be symbolic links. It is safe
// for concurrent use.
type RootFiles struct {
	coins, keys vfs.FS
	closers     []io.Closer

	// write writes a temporary file's data; f.WriteAt when nil. Tests
	// replace it to simulate a full disk.
	write func(f vfs.File, data []byte) (int, error)

	cmu   sync.Mutex
	cache map[string]coinFile // coins/ files read in the last coinsCacheTTL
	ttl   time.Duration
}

// coinFile is a cached coins/ file.
type coinFile struct {
	data []byte
	read time.Time
}

// OpenRootFiles opens the coins/ and Keys/ folders of dataRoot, which must
// both exist, and removes the temporary files an interrupted WriteFile left
// in Keys/.
func OpenRootFiles(dataRoot string) (*RootFiles, error) {
	coins, err := vfs.OpenDir(filepath.Join(dataRoot, abi.DirCoins.String()))
	if err != nil {
		return nil, fmt.Errorf("storage: data root %s: no usable coins/ folder: %w", dataRoot, err)
	}
	keys, err := vfs.OpenDir(filepath.Join(dataRoot, abi.DirKeys.String()))
	if err != nil {
		coins.Close()
		return nil, fmt.Errorf("storage: data root %s: no usable Keys/ folder: %w", dataRoot, err)
	}
	rf, err := openRootFiles(coins, keys)
	if err != nil {
		coins.Close()
		keys.Close()
		return nil, fmt.Errorf("storage: data root %s: Keys/: %w", dataRoot, err)
	}
	rf.closers = []io.Closer{keys, coins}
	return rf, nil
}

// openRootFiles is OpenRootFiles on the two folders.
func openRootFiles(coins, keys vfs.FS) (*RootFiles, error) {
	rf := &RootFiles{coins: coins, keys: keys, cache: map[string]coinFile{}, ttl: coinsCacheTTL}
	if err := rf.removeStaleTemps(); err != nil {
		return nil, err
	}
	return rf, nil
}

// removeStaleTemps removes the temporary files of WriteFile left by a crash.
func (rf *RootFiles) removeStaleTemps() error {
	names, err := rf.keys.ReadDirNames(".")
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, keysTempPrefix) {
			if err := rf.keys.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Close releases the folders.
func (rf *RootFiles) Close() error {
	var errs []error
	for _, c := range rf.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// root returns the folder of dir after checking name.
func (rf *RootFiles) root(dir abi.Dir, name string) (vfs.FS, error) {
	// The caller validated name (abi.ValidFileName); this is defence in
	// depth on top of os.Root.
	if name == "" || name[0] == '.' || strings.ContainsAny(name, "/\\\x00") {
		return nil, fmt.Errorf("storage: bad file name %q", name)
	}
	switch dir {
	case abi.DirCoins:
		return rf.coins, nil
	case abi.DirKeys:
		return rf.keys, nil
	}
	return nil, fmt.Errorf("storage: unknown folder %d", dir)
}

// ReadFile implements Files: it reads at most len(dst) bytes from the start
// of dir/name and returns how many it read (fewer when the file is
// shorter). A missing file is an error wrapping fs.ErrNotExist. Files of
// coins/ (read only for the module) are served from a cache for up to a
// second after they were read.
func (rf *RootFiles) ReadFile(dir abi.Dir, name string, dst []byte) (int, error) {
	r, err := rf.root(dir, name)
	if err != nil {
		return 0, err
	}
	if dir != abi.DirCoins {
		return readFile(r, dir, name, dst)
	}
	now := time.Now()
	rf.cmu.Lock()
	c, ok := rf.cache[name]
	rf.cmu.Unlock()
	if ok && now.Sub(c.read) < rf.ttl {
		return copy(dst, c.data), nil
	}
	buf := make([]byte, coinsCacheMaxFile+1)
	n, err := readFile(r, dir, name, buf)
	if err != nil {
		return 0, err
	}
	if n <= coinsCacheMaxFile {
		rf.cmu.Lock()
		if len(rf.cache) >= coinsCacheFiles {
			clear(rf.cache)
		}
		rf.cache[name] = coinFile{data: buf[:n:n], read: now}
		rf.cmu.Unlock()
		return copy(dst, buf[:n]), nil
	}
	return readFile(r, dir, name, dst)
}

// readFile reads at most len(dst) bytes of the regular file name of r.
func readFile(r vfs.FS, dir abi.Dir, name string, dst []byte) (int, error) {
	f, err := r.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("storage: read %s/%s: %w", dir, name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return 0, fmt.Errorf("storage: read %s/%s: %w", dir, name, err)
	} else if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("storage: read %s/%s: not a regular file", dir, name)
	}
	n, err := f.ReadAt(dst, 0)
	if err != nil && err != io.EOF {
		return 0, fmt.Errorf("storage: read %s/%s: %w", dir, name, err)
	}
	return n, nil
}

// WriteFile implements Files for Keys/ (coins/ is read only): it replaces
// the file with data as a whole and atomically, mode 0640. The data goes to
// a new temporary file in Keys/, which is synced and renamed over the file,
// then Keys/ is synced: a reader sees the old or the new file, and the new
// one is durable when WriteFile returns nil. On an error (a full disk
// wraps syscall.ENOSPC) the old file is left as it was.
func (rf *RootFiles) WriteFile(dir abi.Dir, name string, data []byte) error {
	r, err := rf.root(dir, name)
	if err != nil {
		return err
	}
	if dir != abi.DirKeys {
		return fmt.Errorf("storage: write %s/%s: %w", dir, name, fs.ErrPermission)
	}
	var tmp string
	for range 10 {
		tmp = fmt.Sprintf("%s%016x", keysTempPrefix, rand.Uint64())
		err = writeSynced(r, tmp, os.O_EXCL, data, rf.write)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("storage: write %s/%s: %w", dir, name, err)
	}
	if err := r.Rename(tmp, name); err != nil {
		r.Remove(tmp)
		return fmt.Errorf("storage: write %s/%s: %w", dir, name, err)
	}
	if err := r.SyncDir("."); err != nil {
		return fmt.Errorf("storage: write %s/%s: sync folder: %w", dir, name, err)
	}
	return nil
}

var _ Files = (*RootFiles)(nil)

// writeSynced creates file name in fsys (flag adds os.O_TRUNC or
// os.O_EXCL), mode filePerm, writes data with write (f.WriteAt when nil)
// and syncs it. A file it created and could not complete is removed.
func writeSynced(fsys vfs.FS, name string, flag int, data []byte, write func(vfs.File, []byte) (int, error)) error {
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|flag, filePerm)
	if err != nil {
		return err
	}
	if write == nil {
		_, err = f.WriteAt(data, 0)
	} else {
		_, err = write(f, data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fsys.Remove(name)
	}
	return err
}
