package vfs

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// CrashFS is an FS in memory that simulates power loss strictly, in the
// style of Pebble's strict MemFS and SQLite's crash-test VFS, so that crash
// tests meet every loss the durability rules of this package allow. Each
// file and folder is an inode with a current and a durable state: writes
// and folder changes touch the current state, Sync and SyncDir copy it to
// the durable one, and Crash rebuilds the tree from the durable states.
// Permissions are recorded but not enforced. All methods are safe for
// concurrent use.
type CrashFS struct {
	s   *crashState
	dir string // the folder this view is of, relative to the root; "." for the root
}

// crashState is the tree and crash state that a CrashFS and its Sub views
// share.
type crashState struct {
	mu    sync.Mutex
	root  *inode
	dead  bool          // the machine lost power: every operation fails
	epoch atomic.Uint64 // crashes so far; changed only with mu held
	hook  atomic.Pointer[func(Op, string) error]
}

// inode is a file or a folder.
type inode struct {
	dir     bool
	perm    fs.FileMode
	data    []byte   // file: current content
	durable []byte   // file: content at the last Sync or Datasync
	pending []change // file: writes and truncates since then, in order, for CrashKeepSome

	entries    map[string]*inode // folder: current entries
	durEntries map[string]*inode // folder: entries at the last SyncDir
}

// change is an unsynced write (p at off) or truncate (to size off).
type change struct {
	off   int64
	p     []byte
	trunc bool
}

// crashSector is the unit in which CrashKeepSome tears a write, counted
// from the start of the file as a disk counts its sectors.
const crashSector = 512

// CrashMode says what a power loss keeps of the changes not made durable.
type CrashMode int

const (
	// CrashDropAll loses every write and folder change not covered by a
	// sync: the least a store can count on.
	CrashDropAll CrashMode = iota
	// CrashKeepSome keeps each unsynced file write whole, keeps a random
	// nonempty proper subset of its 512-byte sectors (torn), or loses it,
	// at random, applying the kept ones in their original order; an
	// unsynced truncate is kept or lost. Folder changes not covered by
	// SyncDir are all lost, as with CrashDropAll, so that a test cannot pass
	// by luck on a missing SyncDir.
	CrashKeepSome
)

// ErrCrashed is returned by every method of a File opened before a Crash
// (Close excepted), and by an operation whose Inject hook was still
// running when the crash happened: such operations belong to the world
// that was lost.
var ErrCrashed = errors.New("vfs: file handle from before a crash")

// errEscapes is the error for a name that leaves its FS, as os.Root says.
var errEscapes = errors.New("path escapes from parent")

// Op is the kind of operation passed to an Inject hook.
type Op int

const (
	OpOpen     Op = iota // FS.OpenFile
	OpRead               // File.ReadAt
	OpWrite              // File.WriteAt
	OpTruncate           // File.Truncate
	OpSync               // File.Sync and File.Datasync
	OpMkdir              // FS.Mkdir
	OpRename             // FS.Rename; the hook gets the old name
	OpRemove             // FS.Remove
	OpSyncDir            // FS.SyncDir
	OpStat               // FS.Stat and File.Stat
	OpReadDir            // FS.ReadDirNames
)

var opNames = [...]string{"open", "read", "write", "truncate", "sync", "mkdir", "rename", "remove", "syncdir", "stat", "readdir"}

// String returns the operation's name, for test names and messages.
func (op Op) String() string {
	if op >= 0 && int(op) < len(opNames) {
		return opNames[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// NewCrashFS returns an empty CrashFS (just the root folder "."), whose
// root is durable from the start as a formatted disk is.
func NewCrashFS() *CrashFS {
	return &CrashFS{s: &crashState{root: newDir(0o755)}, dir: "."}
}

func newDir(perm fs.FileMode) *inode {
	return &inode{dir: true, perm: perm & fs.ModePerm, entries: map[string]*inode{}, durEntries: map[string]*inode{}}
}

// Sub returns the FS of folder name inside c, like os.Root for a
// subfolder, so that a store can be given part of a tree: same tree, same
// crash state, names relative to the folder. The folder must exist when
// its methods are used; a name that leaves c makes every method fail.
func (c *CrashFS) Sub(name string) FS {
	dir := path.Join(c.dir, name)
	if path.IsAbs(name) {
		dir = ".." // escapes, so every operation fails
	}
	return &CrashFS{s: c.s, dir: dir}
}

// Inject sets a hook called before every operation with its kind and the
// name of the file or folder relative to the root of c, to inject faults:
// a non-nil error is returned by the operation instead of doing it, and
// the hook may block to simulate a hung disk (it is called without the
// lock, so other operations go on). nil removes it. ReadFile, WriteFile
// and MkdirAll, being test setup, do not call it.
func (c *CrashFS) Inject(hook func(op Op, name string) error) {
	if hook == nil {
		c.s.hook.Store(nil)
		return
	}
	c.s.hook.Store(&hook)
}

// Crash simulates a power loss and returns the file system the machine
// boots with: what was durable, plus (in CrashKeepSome mode, as rng
// decides) some unsynced writes. c itself, its Sub views and every File
// opened on them fail with ErrCrashed from then on, as a process that lost
// its machine can change nothing more, so that a store left running on c
// cannot touch the rebooted tree. The same rng seed on the same history
// gives the same result.
func (c *CrashFS) Crash(mode CrashMode, rng *rand.Rand) *CrashFS {
	if mode != CrashDropAll && (mode != CrashKeepSome || rng == nil) {
		panic("vfs: Crash needs CrashDropAll, or CrashKeepSome and an rng")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	next := &crashState{root: survive(c.s.root, mode, rng, map[*inode]*inode{})}
	if h := c.s.hook.Load(); h != nil {
		next.hook.Store(h)
	}
	c.s.dead = true
	c.s.epoch.Add(1)
	return &CrashFS{s: next, dir: "."}
}

// survive returns the inode n becomes after a crash. done maps the inodes
// already rebuilt, so that an odd durable graph cannot loop; names are
// walked in order so that a seeded rng is deterministic.
func survive(n *inode, mode CrashMode, rng *rand.Rand, done map[*inode]*inode) *inode {
	if m := done[n]; m != nil {
		return m
	}
	m := &inode{dir: n.dir, perm: n.perm}
	done[n] = m
	if n.dir {
		m.entries = make(map[string]*inode, len(n.durEntries))
		for _, name := range slices.Sorted(maps.Keys(n.durEntries)) {
			m.entries[name] = survive(n.durEntries[name], mode, rng, done)
		}
		m.durEntries = maps.Clone(m.entries)
		return m
	}
	m.data = slices.Clone(n.durable)
	if mode == CrashKeepSome {
		for _, ch := range n.pending {
			m.data = ch.replay(m.data, rng)
		}
	}
	m.durable = slices.Clone(m.data)
	return m
}

// replay applies ch to b as a power loss may have left it.
func (ch change) replay(b []byte, rng *rand.Rand) []byte {
	if ch.trunc {
		if rng.IntN(2) == 0 {
			return resize(b, ch.off)
		}
		return b
	}
	end := ch.off + int64(len(ch.p))
	first, last := ch.off/crashSector, (end-1)/crashSector
	n := int(last - first + 1)
	outcome := rng.IntN(3)
	if outcome == 1 && n == 1 {
		outcome = 2 // one sector cannot tear
	}
	switch outcome {
	case 0: // whole
		return writeAt(b, ch.off, ch.p)
	case 1: // torn
		for _, i := range rng.Perm(n)[:1+rng.IntN(n-1)] {
			s := (first + int64(i)) * crashSector
			lo, hi := max(s, ch.off), min(s+crashSector, end)
			b = writeAt(b, lo, ch.p[lo-ch.off:hi-ch.off])
		}
	}
	return b // lost, or torn
}

// writeAt writes p at off in b, extending it with zeros as needed.
func writeAt(b []byte, off int64, p []byte) []byte {
	b = resize(b, max(int64(len(b)), off+int64(len(p))))
	copy(b[off:], p)
	return b
}

// resize cuts b or extends it with zeros; extending with append overwrites
// whatever an earlier cut left in the capacity.
func resize(b []byte, size int64) []byte {
	if size <= int64(len(b)) {
		return b[:size]
	}
	return append(b, make([]byte, size-int64(len(b)))...)
}

// full returns name relative to the root of c, or the error (to wrap) for
// a name that leaves c.
func (c *CrashFS) full(name string) (string, error) {
	if name == "" {
		return "", syscall.ENOENT
	}
	rel := path.Clean(name)
	full := path.Join(c.dir, rel)
	if path.IsAbs(name) || escapes(rel) || escapes(full) {
		return "", errEscapes
	}
	return full, nil
}

func escapes(p string) bool { return p == ".." || strings.HasPrefix(p, "../") }

// opSetup is the Op of the test helpers, which do not call the hook.
const opSetup Op = -1

// begin calls the hook for op on full, then locks s for the caller to
// unlock. It fails unlocked if the hook fails or a crash happened while it
// ran.
func (s *crashState) begin(op Op, full string) error {
	epoch := s.epoch.Load()
	if h := s.hook.Load(); h != nil && op != opSetup {
		if err := (*h)(op, full); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.dead || s.epoch.Load() != epoch {
		s.mu.Unlock()
		return ErrCrashed
	}
	return nil
}

// walk finds full's folder, its last name and its inode (nil if there is no
// such entry); for "." the folder is nil and the inode is the root. It
// fails if a folder on the way is missing or a file.
func (s *crashState) walk(full string) (parent *inode, base string, n *inode, err error) {
	if full == "." {
		return nil, ".", s.root, nil
	}
	parts := strings.Split(full, "/")
	parent = s.root
	for _, p := range parts[:len(parts)-1] {
		switch next := parent.entries[p]; {
		case next == nil:
			return nil, "", nil, syscall.ENOENT
		case !next.dir:
			return nil, "", nil, syscall.ENOTDIR
		default:
			parent = next
		}
	}
	base = parts[len(parts)-1]
	return parent, base, parent.entries[base], nil
}

// do runs fn on name's folder, last name and inode, after the hook and
// under the lock. An error from resolving name or from fn is passed through
// wrap; a hook error comes back as it is.
func (c *CrashFS) do(op Op, name string, wrap func(error) error, fn func(parent *inode, base string, n *inode) error) error {
	full, err := c.full(name)
	if err != nil {
		return wrap(err)
	}
	if err := c.s.begin(op, full); err != nil {
		return err
	}
	defer c.s.mu.Unlock()
	parent, base, n, err := c.s.walk(full)
	if err == nil {
		err = fn(parent, base, n)
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

func pathErr(op, name string) func(error) error {
	return func(err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }
}

// onExisting is do for the operations on an existing name, which must be a
// folder if dir is 1 and a file if it is 0 (any if -1).
func (c *CrashFS) onExisting(op Op, opName, name string, dir int, fn func(n *inode)) error {
	return c.do(op, name, pathErr(opName, name), func(_ *inode, _ string, n *inode) error {
		switch {
		case n == nil:
			return syscall.ENOENT
		case dir == 1 && !n.dir:
			return syscall.ENOTDIR
		case dir == 0 && n.dir:
			return syscall.EISDIR
		}
		fn(n)
		return nil
	})
}

// OpenFile implements FS. O_TRUNC is an unsynced truncate; O_APPEND is not
// supported, as File has only WriteAt.
func (c *CrashFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	f := &crashFile{s: c.s, name: name, read: acc != os.O_WRONLY, write: acc == os.O_WRONLY || acc == os.O_RDWR}
	err := c.do(OpOpen, name, pathErr("open", name), func(parent *inode, base string, n *inode) error {
		switch {
		case flag&os.O_APPEND != 0:
			return syscall.EINVAL
		case n == nil && flag&os.O_CREATE == 0:
			return syscall.ENOENT
		case n == nil:
			n = &inode{perm: perm & fs.ModePerm}
			parent.entries[base] = n
		case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
			return syscall.EEXIST
		case n.dir && (f.write || flag&os.O_CREATE != 0):
			return syscall.EISDIR
		case f.write && flag&os.O_TRUNC != 0:
			n.truncate(0)
		}
		f.n, f.full, f.epoch = n, path.Join(c.dir, name), c.s.epoch.Load()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Mkdir implements FS.
func (c *CrashFS) Mkdir(name string, perm fs.FileMode) error {
	return c.do(OpMkdir, name, pathErr("mkdir", name), func(parent *inode, base string, n *inode) error {
		if n != nil {
			return syscall.EEXIST
		}
		parent.entries[base] = newDir(perm)
		return nil
	})
}

// Rename implements FS. Like os.Rename it refuses to replace a folder, and
// to move a folder into itself.
func (c *CrashFS) Rename(oldname, newname string) error {
	wrap := func(err error) error { return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err} }
	return c.do(OpRename, oldname, wrap, func(op *inode, ob string, on *inode) error {
		newFull, err := c.full(newname)
		if err != nil {
			return err
		}
		oldFull := path.Join(c.dir, oldname)
		if oldFull == c.dir || newFull == c.dir {
			return syscall.EINVAL
		}
		np, nb, nn, err := c.s.walk(newFull)
		switch {
		case on == nil:
			return syscall.ENOENT
		case err != nil:
			return err
		case nn == on:
			return nil
		case nn != nil && nn.dir:
			return syscall.EEXIST
		case on.dir && nn != nil:
			return syscall.ENOTDIR
		case on.dir && strings.HasPrefix(newFull, oldFull+"/"):
			return syscall.EINVAL
		}
		delete(op.entries, ob)
		np.entries[nb] = on
		return nil
	})
}

// Remove implements FS.
func (c *CrashFS) Remove(name string) error {
	return c.do(OpRemove, name, pathErr("remove", name), func(parent *inode, base string, n *inode) error {
		switch {
		case path.Clean(name) == ".":
			return syscall.EINVAL
		case n == nil:
			return syscall.ENOENT
		case n.dir && len(n.entries) > 0:
			return syscall.ENOTEMPTY
		}
		delete(parent.entries, base)
		return nil
	})
}

// Stat implements FS.
func (c *CrashFS) Stat(name string) (fi fs.FileInfo, err error) {
	err = c.onExisting(OpStat, "stat", name, -1, func(n *inode) { fi = n.info(path.Base(path.Clean(name))) })
	return fi, err
}

// ReadDirNames implements FS.
func (c *CrashFS) ReadDirNames(name string) (names []string, err error) {
	err = c.onExisting(OpReadDir, "readdirent", name, 1, func(n *inode) { names = slices.Collect(maps.Keys(n.entries)) })
	return names, err
}

// SyncDir implements FS. Unlike Dir it fails on a file, to catch a sync of
// the wrong name.
func (c *CrashFS) SyncDir(name string) error {
	return c.onExisting(OpSyncDir, "sync", name, 1, (*inode).sync)
}

// Path implements FS: "crashfs:" and the name relative to the root.
func (c *CrashFS) Path(name string) string { return "crashfs:" + path.Join(c.dir, name) }

// ReadFile returns the current content of file name, durable or not, for
// assertions.
func (c *CrashFS) ReadFile(name string) (data []byte, err error) {
	err = c.onExisting(opSetup, "open", name, 0, func(n *inode) { data = slices.Clone(n.data) })
	return data, err
}

// WriteFile creates or replaces file name (mode 0644 when created) with
// data and makes both the data and its folder entry durable, for test
// setup. Its folder must exist.
func (c *CrashFS) WriteFile(name string, data []byte) error {
	return c.do(opSetup, name, pathErr("open", name), func(parent *inode, base string, n *inode) error {
		if n == nil {
			n = &inode{perm: 0o644}
		} else if n.dir {
			return syscall.EISDIR
		}
		n.data, n.durable, n.pending = slices.Clone(data), slices.Clone(data), nil
		parent.entries[base], parent.durEntries[base] = n, n
		return nil
	})
}

// MkdirAll creates folder name and the missing folders above it (mode
// 0755) and makes every folder entry on the way durable, for test setup.
func (c *CrashFS) MkdirAll(name string) error {
	full, err := c.full(name)
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	dir := c.s.root
	for _, p := range strings.Split(full, "/") {
		if err != nil || p == "." {
			break
		}
		n := dir.entries[p]
		if n == nil {
			n = newDir(0o755)
			dir.entries[p] = n
		} else if !n.dir {
			err = syscall.ENOTDIR
			break
		}
		dir.durEntries[p] = n
		dir = n
	}
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	return nil
}

func (n *inode) writeAt(p []byte, off int64) {
	n.data = writeAt(n.data, off, p)
	n.pending = append(n.pending, change{off: off, p: slices.Clone(p)})
}

func (n *inode) truncate(size int64) {
	n.data = resize(n.data, size)
	n.pending = append(n.pending, change{off: size, trunc: true})
}

// sync makes n's current state durable.
func (n *inode) sync() {
	if n.dir {
		n.durEntries = maps.Clone(n.entries)
		return
	}
	n.durable, n.pending = slices.Clone(n.data), nil
}

func (n *inode) info(name string) fs.FileInfo {
	if n.dir {
		return crashInfo{name: name, mode: fs.ModeDir | n.perm}
	}
	return crashInfo{name: name, size: int64(len(n.data)), mode: n.perm}
}

// crashInfo is the fs.FileInfo of a CrashFS inode.
type crashInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i crashInfo) Name() string       { return i.name }
func (i crashInfo) Size() int64        { return i.size }
func (i crashInfo) Mode() fs.FileMode  { return i.mode }
func (i crashInfo) ModTime() time.Time { return time.Time{} }
func (i crashInfo) IsDir() bool        { return i.mode.IsDir() }
func (i crashInfo) Sys() any           { return nil }

// crashFile is a File of a CrashFS. It keeps its inode across Rename and
// Remove, as a POSIX file descriptor does, until a crash.
type crashFile struct {
	s           *crashState
	n           *inode
	name        string // as given to OpenFile, for errors
	full        string // relative to the root, for the hook
	epoch       uint64 // crashes before it was opened
	read, write bool
	closed      bool // guarded by s.mu
}

// do runs fn on f's inode after the hook and under the lock, if f is open
// and not from before a crash. An error from fn is wrapped in a
// *fs.PathError, except io.EOF.
func (f *crashFile) do(op Op, opName string, fn func(n *inode) error) error {
	if err := f.s.begin(op, f.full); err != nil {
		return err
	}
	defer f.s.mu.Unlock()
	err := ErrCrashed
	if f.epoch == f.s.epoch.Load() {
		err = fs.ErrClosed
		if !f.closed {
			err = fn(f.n)
		}
	}
	if err == nil || err == io.EOF || err == ErrCrashed {
		return err
	}
	return &fs.PathError{Op: opName, Path: f.name, Err: err}
}

var errNegative = errors.New("negative offset")

// ReadAt implements File. Like os.File it returns io.EOF when it reads
// less than len(p).
func (f *crashFile) ReadAt(p []byte, off int64) (k int, err error) {
	err = f.do(OpRead, "read", func(n *inode) error {
		switch {
		case n.dir:
			return syscall.EISDIR
		case !f.read:
			return syscall.EBADF
		case off < 0:
			return errNegative
		case len(p) == 0:
			return nil
		case off >= int64(len(n.data)):
			return io.EOF
		}
		if k = copy(p, n.data[off:]); k < len(p) {
			return io.EOF
		}
		return nil
	})
	return
}

// WriteAt implements File. Writing past the end extends the file with
// zeros.
func (f *crashFile) WriteAt(p []byte, off int64) (int, error) {
	err := f.do(OpWrite, "write", func(n *inode) error {
		switch {
		case !f.write:
			return syscall.EBADF
		case off < 0:
			return errNegative
		case len(p) > 0:
			n.writeAt(p, off)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Truncate implements File.
func (f *crashFile) Truncate(size int64) error {
	return f.do(OpTruncate, "truncate", func(n *inode) error {
		if !f.write || size < 0 {
			return syscall.EINVAL
		}
		n.truncate(size)
		return nil
	})
}

// Sync implements File. On a folder it acts as SyncDir, as fsync(2) does.
func (f *crashFile) Sync() error {
	return f.do(OpSync, "sync", func(n *inode) error { n.sync(); return nil })
}

// Datasync implements File; it is Sync, as CrashFS keeps no times.
func (f *crashFile) Datasync() error { return f.Sync() }

// Stat implements File.
func (f *crashFile) Stat() (fi fs.FileInfo, err error) {
	err = f.do(OpStat, "stat", func(n *inode) error {
		fi = n.info(path.Base(path.Clean(f.name)))
		return nil
	})
	return
}

// Close implements File. It does not call the hook, and returns nil for a
// File from before a crash so that deferred closes stay quiet.
func (f *crashFile) Close() error {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.closed && f.epoch == f.s.epoch.Load() {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}
