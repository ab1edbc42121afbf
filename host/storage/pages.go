package storage

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage/vfs"
)

// PageFileSize is the size of one page file of the node's coin database:
// 1024 records of 17 bytes (AN 16, MFS 1).
const PageFileSize = abi.RecordsPerPage * abi.RecordSize

// Bounds of the store.
const (
	maxOpenFiles = abi.PageCount // more is never useful
	fdHeadroom   = 4096          // descriptors left for sockets, logs, the module cache
	minOpenFiles = 16            // below this every Lock reopens
	defaultLock  = time.Second   // request_timeout's default
	// maxPendingRecords bounds the records written and not yet in their
	// page files (about 80 bytes each): past it writes fail until a
	// commit round drains them.
	maxPendingRecords = 1 << 17
)

// Defaults of PageStoreOptions.
const (
	DefaultCheckpointEvery = 300 * time.Second // the node's default backup_freq
	DefaultJournalLimit    = 8 << 20           // journal size that starts a checkpoint
	DefaultJournalMax      = 64 << 20          // journal size past which writes fail
)

// Permissions of what the stores create.
const (
	dirPerm  fs.FileMode = 0o750
	filePerm fs.FileMode = 0o640
)

var (
	// ErrBadPageSize is returned (wrapped, with the path) for a page file
	// that is not exactly PageFileSize bytes. Such a file is never resized.
	ErrBadPageSize = errors.New("storage: page file has the wrong size")
	// ErrClosed is returned by the methods of a closed store.
	ErrClosed = errors.New("storage: store closed")
	// ErrLockTimeout is returned by a Lock that waited LockTimeout.
	ErrLockTimeout = errors.New("storage: page lock wait timed out")
	// ErrJournalFull is returned by Write while the journal is over
	// JournalMax (checkpoints are failing) or too many records wait for
	// their commit round: writes fail fast, reads go on.
	ErrJournalFull = errors.New("storage: journal full (checkpoints failing) or too many records waiting for a sync")

	errNotLocked = errors.New("storage: page not locked")
)

// PageStoreOptions tunes a PageStore. Zero values select the defaults.
type PageStoreOptions struct {
	// LockTimeout bounds the wait for a page lock (1s, request_timeout's
	// default, when <= 0). A page held longer by a request that the pool
	// interrupts is released at its timeout, so a waiter times out only
	// behind a hung disk.
	LockTimeout time.Duration
	// OpenFiles bounds the page files kept open (by default every page
	// file, 15,000, or fewer when RLIMIT_NOFILE leaves less than 4,096
	// descriptors above them). Each one beyond costs an open per Lock.
	// Files in use are not closed, so the bound is exceeded by those
	// briefly (a checkpoint syncs up to 8 at once).
	OpenFiles int
	// CheckpointEvery is the longest time between checkpoints
	// (DefaultCheckpointEvery when <= 0): the node's backup_freq.
	CheckpointEvery time.Duration
	// JournalLimit is the journal size that starts a checkpoint
	// (DefaultJournalLimit when <= 0).
	JournalLimit int64
	// JournalMax is the size of the journal files past which Write fails
	// with ErrJournalFull (DefaultJournalMax when <= 0). It is only
	// reached when checkpoints fail, e.g. a page file cannot be synced.
	JournalMax int64
	// Logger receives background errors (slog.Default() when nil).
	Logger *slog.Logger
}

// PageStats are the counters of a PageStore, for metrics.
type PageStats struct {
	CommitRounds        uint64        // journal rounds that served at least one Commit
	JournalBytes        uint64        // bytes appended to the journal and synced
	JournalSyncs        uint64        // journal appends synced
	JournalErrors       uint64        // journal appends or syncs that failed
	Checkpoints         uint64        // checkpoints that removed an old journal
	PagesSynced         uint64        // page files synced by checkpoints
	PageSyncErrors      uint64        // page file syncs or in-place writes that failed
	LockTimeouts        uint64        // Locks that gave up
	WritesRejected      uint64        // Writes refused with ErrJournalFull
	LastSync            time.Duration // duration of the last journal sync
	TotalSync           time.Duration // total duration of journal syncs
	OpenFiles           int           // page files open now
	PendingRecords      int           // records written and not yet in their page files
	JournalSize         int64         // bytes in the journal files now
	PagesUncheckpointed int           // page files written since the last checkpoint
}

// PageStore is the coin database of a RAIDA data root: the page files of
// DATAROOT/Data, byte-compatible with the node's own layout
// (Data/{den:02x}/{page>>8:02x}/{page:04x}.bin). Records are read with
// pread and written in place with pwrite; the kernel's page cache does the
// caching, so the store's memory does not grow with the data.
//
// Invariants, each kept by construction:
//
//   - One lock per page. The page locks are a table indexed by (den,
//     page), made when the store opens and never changed: no two lock
//     objects can exist for one page.
//   - Redo before write. A record reaches its page file only from a
//     commit round, after the journal batch that holds its value is
//     synced. Until then it waits in pending, where Read finds it; so an
//     in-place write torn by a crash is always repaired by replay.
//   - Journal outlives its pages. A journal file is removed only after
//     every page file written from it was synced (checkpoint), and only
//     the newest journal receives appends.
//   - Replay is idempotent. Entries hold whole records and are applied in
//     order; replay ends with the same checkpoint as a running store.
//   - Read committed. Read reports a value whose batch is not synced as
//     pending; the caller commits before it answers on it.
//   - Page files are created whole. A missing page reads as zeros; the
//     first Write to it puts a complete zero page in place (temporary
//     file, synced, renamed, its folder synced) before any record goes in.
//     A page file is never resized.
//   - Every wait is bounded: Lock by LockTimeout, Commit by its context;
//     a disk that hangs gives errors, not a stall.
//
// Every file access goes through a vfs.FS: an os.Root on DATAROOT and one
// on DATAROOT/Data in production, an in-memory file system with simulated
// power loss in tests.
type PageStore struct {
	top, data vfs.FS
	closers   []io.Closer
	jpath     string
	opts      PageStoreOptions
	log       *slog.Logger

	slots [abi.PageCount]pageSlot

	// keepOpen: OpenFiles covers every page file, so none is ever closed
	// before Close and acquire needs no lock once a file is open.
	keepOpen bool
	// fmu guards the open-file fields of the slots and lru.
	fmu  sync.Mutex
	lru  list.List // slots with an open, unused file; least recently used last
	open int       // slots with an open file

	// mu guards the pending records and the round bookkeeping.
	mu      sync.Mutex
	pending map[RecordKey]*pendingRecord
	staged  []RecordKey // pending records not yet taken by a round
	next    *round      // the commit round that has not started yet
	closed  bool

	// cpmu serializes checkpoints, which release jmu while they sync.
	cpmu sync.Mutex
	// jmu serializes the journal: rounds, checkpoints and Close hold it
	// while they append, apply or rotate.
	jmu       sync.Mutex
	j         *journal         // the journal; nil while a checkpoint failed to create it
	old       *journal         // the old journal, while a checkpoint is not done with it
	written   map[PageKey]bool // pages written in place from the journal
	oldPages  map[PageKey]bool // pages written from the old journal, not yet synced
	unapplied []pendingApply   // synced entries whose in-place write failed: retried first

	kick      chan struct{} // wakes the journaler
	ckick     chan struct{} // wakes the checkpointer
	closing   chan struct{}
	jstopped  chan struct{}
	cstopped  chan struct{}
	journalAt atomic.Int64 // journal bytes now (both files), for Write's limit

	commitRounds, journalBytes, journalSyncs, journalErrors atomic.Uint64
	checkpoints, pagesSynced, pageSyncErrors                atomic.Uint64
	lockTimeouts, writesRejected                            atomic.Uint64
	lastSync, totalSync                                     atomic.Int64
}

// pageSlot is one page of the database: its lock and its open file.
type pageSlot struct {
	key  PageKey
	lock chan struct{} // holds a token while the page is locked

	// Guarded by PageStore.fmu.
	f       vfs.File
	missing bool          // the page file was found missing (reads as zeros)
	users   int           // callers using f now; > 0 keeps it open
	elem    *list.Element // in PageStore.lru while open and unused

	// f, once opened, when the store keeps every page file open: read
	// without fmu, since it never changes until Close.
	kept atomic.Pointer[vfs.File]
}

// pendingRecord is a record written and not yet in its page file.
type pendingRecord struct {
	rec     Record
	gen     uint64 // bumped by every Write
	staged  bool   // in PageStore.staged, waiting for a round
	durable bool   // its value is in a synced batch
}

// OpenPageStore opens the coin database of the data root dataRoot,
// creating dataRoot/Data when it is missing. dataRoot/Data itself may be a
// symbolic link (e.g. to another disk); no access reaches outside it.
//
// When dataRoot holds journals of a store that was not closed, they are
// replayed into the page files and checkpointed before OpenPageStore
// returns. A journal that cannot be read, or is corrupt before its last
// batch (*JournalCorruptError), makes it fail and leaves every file as it
// was; a torn last batch, the trace of a crash during an append that no
// Commit acknowledged, is ignored.
func OpenPageStore(dataRoot string, opts PageStoreOptions) (*PageStore, error) {
	top, err := vfs.OpenDir(dataRoot)
	if err != nil {
		return nil, fmt.Errorf("storage: open data root: %w", err)
	}
	data, err := openDataDir(top, func() (vfs.FS, error) { return vfs.OpenDir(top.Path("Data")) })
	if err != nil {
		top.Close()
		return nil, err
	}
	s, err := openPageStore(top, data, opts)
	if err != nil {
		data.(*vfs.Dir).Close()
		top.Close()
		return nil, err
	}
	s.closers = []io.Closer{data.(*vfs.Dir), top}
	return s, nil
}

// openDataDir creates folder Data in top (durably) unless it exists, and
// opens it with open.
func openDataDir(top vfs.FS, open func() (vfs.FS, error)) (vfs.FS, error) {
	switch err := top.Mkdir("Data", dirPerm); {
	case err == nil:
		if err := top.SyncDir("."); err != nil {
			return nil, fmt.Errorf("storage: create %s: %w", top.Path("Data"), err)
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("storage: create %s: %w", top.Path("Data"), err)
	}
	data, err := open()
	if err != nil {
		return nil, fmt.Errorf("storage: open coin database: %w", err)
	}
	return data, nil
}

// openPageStore opens the store on the data root top and its Data folder.
func openPageStore(top, data vfs.FS, opts PageStoreOptions) (*PageStore, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLock
	}
	if opts.OpenFiles <= 0 {
		opts.OpenFiles = defaultOpenFiles()
	}
	opts.OpenFiles = min(max(opts.OpenFiles, minOpenFiles), maxOpenFiles)
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.JournalLimit <= 0 {
		opts.JournalLimit = DefaultJournalLimit
	}
	if opts.JournalMax <= 0 {
		opts.JournalMax = DefaultJournalMax
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &PageStore{
		keepOpen: opts.OpenFiles >= abi.PageCount,
		top:      top,
		data:     data,
		jpath:    top.Path(journalName),
		opts:     opts,
		log:      opts.Logger,
		pending:  map[RecordKey]*pendingRecord{},
		written:  map[PageKey]bool{},
		kick:     make(chan struct{}, 1),
		ckick:    make(chan struct{}, 1),
		closing:  make(chan struct{}),
		jstopped: make(chan struct{}),
		cstopped: make(chan struct{}),
	}
	for i := range s.slots {
		s.slots[i].key = PageKey{Den: int8(i/abi.PagesPerDen + abi.MinDen), Page: uint32(i % abi.PagesPerDen)}
		s.slots[i].lock = make(chan struct{}, 1)
	}
	if err := s.removeStaleTemps(); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	go s.runJournal()
	go s.runCheckpoints()
	return s, nil
}

// slot returns the slot of a page that checkPage accepted.
func (s *PageStore) slot(den int8, page uint32) *pageSlot {
	return &s.slots[int(den-abi.MinDen)*abi.PagesPerDen+int(page)]
}

// PagePath returns the page file of key relative to DATAROOT/Data, in the
// node's layout: {den:02x}/{page>>8:02x}/{page:04x}.bin, den printed as an
// unsigned byte. For example (1, 999) is "01/03/03e7.bin" and (-8, 0) is
// "f8/00/0000.bin".
func PagePath(key PageKey) string {
	return fmt.Sprintf("%02x/%02x/%04x.bin", uint8(key.Den), key.Page>>8, key.Page)
}

// pageTemp returns the temporary file a missing page is created as before
// it is renamed to PagePath(key): a hidden name in the same folder.
func pageTemp(key PageKey) string {
	return fmt.Sprintf("%02x/%02x/.%04x.bin.tmp", uint8(key.Den), key.Page>>8, key.Page)
}

// removeStaleTemps removes the temporary page files a crash left behind.
func (s *PageStore) removeStaleTemps() error {
	dens, err := s.data.ReadDirNames(".")
	if err != nil {
		return fmt.Errorf("storage: read %s: %w", s.data.Path("."), err)
	}
	for _, d := range dens {
		groups, err := s.data.ReadDirNames(d)
		if err != nil {
			continue // not a folder of ours
		}
		for _, g := range groups {
			names, err := s.data.ReadDirNames(d + "/" + g)
			if err != nil {
				continue
			}
			for _, n := range names {
				if strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".bin.tmp") {
					if err := s.data.Remove(d + "/" + g + "/" + n); err != nil && !errors.Is(err, fs.ErrNotExist) {
						return fmt.Errorf("storage: remove stale temporary page: %w", err)
					}
				}
			}
		}
	}
	return nil
}

// Lock implements Records. It waits at most LockTimeout for the page lock.
func (s *PageStore) Lock(den int8, page uint32) error {
	if err := checkPage(den, page); err != nil {
		return err
	}
	sl := s.slot(den, page)
	select {
	case sl.lock <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.opts.LockTimeout)
	defer t.Stop()
	select {
	case sl.lock <- struct{}{}:
		return nil
	case <-t.C:
		s.lockTimeouts.Add(1)
		return fmt.Errorf("%w: page (%d, %d) after %v", ErrLockTimeout, den, page, s.opts.LockTimeout)
	case <-s.closing:
		return ErrClosed
	}
}

// Unlock implements Records. Unlocking a page that is not locked panics.
func (s *PageStore) Unlock(den int8, page uint32) {
	if checkPage(den, page) == nil {
		select {
		case <-s.slot(den, page).lock:
			return
		default:
		}
	}
	panic(fmt.Sprintf("storage: Unlock(%d, %d) of a page not locked", den, page))
}

// lockedSlot returns the slot of record (den, sn), which must be locked.
func (s *PageStore) lockedSlot(den int8, sn uint32) (*pageSlot, error) {
	if !abi.RecordExists(den, sn) {
		return nil, ErrNoRecord
	}
	sl := s.slot(den, abi.Page(sn))
	if len(sl.lock) == 0 {
		return nil, fmt.Errorf("%w: record (%d, %d)", errNotLocked, den, sn)
	}
	return sl, nil
}

// Read implements Records. The caller holds the page lock.
func (s *PageStore) Read(den int8, sn uint32, rec *Record) (bool, error) {
	sl, err := s.lockedSlot(den, sn)
	if err != nil {
		return false, err
	}
	key := RecordKey{den, sn}
	s.mu.Lock()
	if p := s.pending[key]; p != nil {
		*rec = p.rec
		pending := !p.durable
		s.mu.Unlock()
		return pending, nil
	}
	s.mu.Unlock()
	return false, s.readRecord(sl, sn, rec)
}

// readRecord reads record sn from its page file; a missing page reads as
// zeros.
func (s *PageStore) readRecord(sl *pageSlot, sn uint32, rec *Record) error {
	f, err := s.acquire(sl, false)
	if err != nil {
		return err
	}
	if f == nil {
		*rec = Record{}
		return nil
	}
	defer s.release(sl)
	if _, err := f.ReadAt(rec[:], recordOffset(sn)); err != nil {
		return fmt.Errorf("storage: read page %s: %w", s.data.Path(PagePath(sl.key)), err)
	}
	return nil
}

func recordOffset(sn uint32) int64 { return int64(sn%abi.RecordsPerPage) * abi.RecordSize }

// Write implements Records. The caller holds the page lock. The value is
// what Read returns from then on; it is durable after the next Commit, and
// in the page file right after that.
func (s *PageStore) Write(den int8, sn uint32, rec *Record) error {
	sl, err := s.lockedSlot(den, sn)
	if err != nil {
		return err
	}
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	if s.journalAt.Load() >= s.opts.JournalMax {
		s.writesRejected.Add(1)
		return ErrJournalFull
	}
	// The page file exists before the record can be journaled, so that a
	// commit round never creates files.
	if _, err := s.acquire(sl, true); err != nil {
		return err
	}
	s.release(sl)
	key := RecordKey{den, sn}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	p := s.pending[key]
	if p == nil {
		if len(s.pending) >= maxPendingRecords {
			s.writesRejected.Add(1)
			return ErrJournalFull
		}
		p = &pendingRecord{}
		s.pending[key] = p
	}
	p.rec, p.durable = *rec, false
	p.gen++
	if !p.staged {
		p.staged = true
		s.staged = append(s.staged, key)
	}
	return nil
}

// acquire returns the open page file of sl, opening it if needed (nil when
// it is missing, unless create, which creates it). A file returned is kept
// open until release.
func (s *PageStore) acquire(sl *pageSlot, create bool) (vfs.File, error) {
	if s.keepOpen {
		if f := sl.kept.Load(); f != nil {
			return *f, nil
		}
	}
	s.fmu.Lock()
	if sl.f != nil {
		sl.users++
		if sl.elem != nil {
			s.lru.Remove(sl.elem)
			sl.elem = nil
		}
		f := sl.f
		s.fmu.Unlock()
		return f, nil
	}
	missing := sl.missing
	s.fmu.Unlock()
	if missing && !create {
		return nil, nil
	}
	f, err := s.openPage(sl.key, create)
	if err != nil {
		return nil, err
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if f == nil {
		sl.missing = true
		return nil, nil
	}
	sl.missing = false
	if sl.f != nil { // opened meanwhile by another caller
		f.Close()
	} else {
		sl.f = f
		s.open++
		if s.keepOpen {
			sl.kept.Store(&f)
		}
	}
	sl.users++
	if sl.elem != nil {
		s.lru.Remove(sl.elem)
		sl.elem = nil
	}
	return sl.f, nil
}

// release ends a use of sl's file begun by acquire, closing the least
// recently used files while more than OpenFiles are open.
func (s *PageStore) release(sl *pageSlot) {
	if s.keepOpen {
		return // nothing is closed before Close
	}
	var toClose []vfs.File
	s.fmu.Lock()
	sl.users--
	if sl.users == 0 {
		sl.elem = s.lru.PushFront(sl)
	}
	for s.open > s.opts.OpenFiles && s.lru.Len() > 0 {
		v := s.lru.Remove(s.lru.Back()).(*pageSlot)
		v.elem = nil
		toClose = append(toClose, v.f)
		v.f = nil
		s.open--
	}
	s.fmu.Unlock()
	for _, f := range toClose {
		f.Close()
	}
}

// openPage opens the page file of key for reading and writing; nil when
// it does not exist, unless create, which puts a zero page in place first.
func (s *PageStore) openPage(key PageKey, create bool) (vfs.File, error) {
	name := PagePath(key)
	f, err := s.data.OpenFile(name, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, nil
		}
		if err := s.createPage(key); err != nil {
			return nil, fmt.Errorf("storage: create page %s: %w", s.data.Path(name), err)
		}
		f, err = s.data.OpenFile(name, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open page %s: %w", s.data.Path(name), err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("storage: page %s: %w", s.data.Path(name), err)
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("storage: page %s is not a regular file", s.data.Path(name))
	case fi.Size() != PageFileSize:
		err = fmt.Errorf("%w: %s is %d bytes, not %d", ErrBadPageSize, s.data.Path(name), fi.Size(), PageFileSize)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// createPage puts a page file of zero records in place: its folders
// (created and their parents synced, if missing), a temporary file sized
// (sparse) and synced, renamed to the page's name, the folder synced. The
// caller holds the page lock, so no one else creates it meanwhile.
func (s *PageStore) createPage(key PageKey) error {
	name, tmp := PagePath(key), pageTemp(key)
	dir := path.Dir(name)
	for _, d := range []string{path.Dir(dir), dir} {
		if err := mkdirSynced(s.data, d); err != nil {
			return err
		}
	}
	f, err := s.data.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	err = f.Truncate(PageFileSize)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.data.Rename(tmp, name)
	}
	if err != nil {
		s.data.Remove(tmp)
		return err
	}
	return s.data.SyncDir(dir)
}

// mkdirSynced creates folder name (mode dirPerm) unless it exists, and
// then syncs its parent.
func mkdirSynced(fsys vfs.FS, name string) error {
	switch err := fsys.Mkdir(name, dirPerm); {
	case err == nil:
		return fsys.SyncDir(path.Dir(name))
	case errors.Is(err, fs.ErrExist):
		fi, err := fsys.Stat(name)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a folder", fsys.Path(name))
		}
		return nil
	default:
		return err
	}
}

// Stats returns the store's counters.
func (s *PageStore) Stats() PageStats {
	st := PageStats{
		CommitRounds:   s.commitRounds.Load(),
		JournalBytes:   s.journalBytes.Load(),
		JournalSyncs:   s.journalSyncs.Load(),
		JournalErrors:  s.journalErrors.Load(),
		Checkpoints:    s.checkpoints.Load(),
		PagesSynced:    s.pagesSynced.Load(),
		PageSyncErrors: s.pageSyncErrors.Load(),
		LockTimeouts:   s.lockTimeouts.Load(),
		WritesRejected: s.writesRejected.Load(),
		LastSync:       time.Duration(s.lastSync.Load()),
		TotalSync:      time.Duration(s.totalSync.Load()),
		JournalSize:    s.journalAt.Load(),
	}
	s.fmu.Lock()
	st.OpenFiles = s.open
	s.fmu.Unlock()
	s.mu.Lock()
	st.PendingRecords = len(s.pending)
	s.mu.Unlock()
	s.jmu.Lock()
	st.PagesUncheckpointed = len(s.written) + len(s.oldPages)
	s.jmu.Unlock()
	return st
}

var _ Records = (*PageStore)(nil)
var _ Committer = (*PageStore)(nil)
