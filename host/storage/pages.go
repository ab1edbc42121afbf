package storage

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// PageFileSize is the size of one page file of the node's coin database:
// 1024 records of 17 bytes (AN 16, MFS 1).
const PageFileSize = abi.RecordsPerPage * abi.RecordSize

// Defaults of PageStoreOptions.
const (
	DefaultCacheBytes = 64 << 20          // 64 MiB, about 3,850 pages
	DefaultWriteBack  = 300 * time.Second // the node's default backup_freq
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

	errNotLocked = errors.New("storage: page not locked")
)

// PageStoreOptions tunes a PageStore. Zero values select the defaults.
type PageStoreOptions struct {
	// CacheBytes bounds the memory of cached pages (DefaultCacheBytes when
	// <= 0). Locked pages and dirty pages are never evicted, so the bound
	// can be exceeded by those; a Lock that finds the cache over its bound
	// with dirty pages in it first waits for a write-back round.
	CacheBytes int64
	// WriteBack is the interval of the background write-back of dirty
	// pages to their page files (DefaultWriteBack when <= 0): the node's
	// backup_freq. A change is in its page file at most about this long
	// after it was made, even without Commit; a committed change is
	// durable in the journal before that.
	WriteBack time.Duration
	// JournalLimit is the size of the journal past which a commit round
	// starts a write-back round, after which the journal is cut
	// (DefaultJournalLimit when <= 0). It bounds the journal loosely:
	// commits go on while pages are written back.
	JournalLimit int64
	// Logger receives the errors of background write-back rounds
	// (slog.Default() when nil).
	Logger *slog.Logger

	hooks *pageHooks // tests only
}

// pageHooks let tests stop a store at chosen points.
type pageHooks struct {
	// flushing is called by a write-back round once it took its snapshot
	// of the dirty pages, before it writes them.
	flushing func()
	// checkpoint is called by a write-back round once the pages are
	// durable, before it cuts the journal; false skips the cut, as if the
	// process died there.
	checkpoint func() bool
	// journalWrite replaces the write of journal batches.
	journalWrite func(f *os.File, b []byte, off int64) (int, error)
}

// PageStats are the counters of a PageStore, for metrics.
type PageStats struct {
	CacheHits       uint64        // Locks that found the page in the cache
	CacheMisses     uint64        // Locks that had to read the page file (or found none)
	Evictions       uint64        // pages dropped from the cache
	CommitRounds    uint64        // journal rounds that served at least one Commit
	WriteBackRounds uint64        // page write-back rounds (timer, journal size, memory pressure, Close)
	PagesSynced     uint64        // page files written and synced
	SyncErrors      uint64        // rounds in which some record or page could not be made durable
	JournalBytes    uint64        // bytes appended to the journal and synced
	JournalSyncs    uint64        // journal appends synced (one per journal round that had records)
	LastSync        time.Duration // duration of the last sync: a journal append or a page write-back
	TotalSync       time.Duration // total duration of the journal appends and page write-backs
	CachedPages     int           // pages in memory now
	CachedBytes     int64         // their bytes
	DirtyPages      int           // pages changed and not yet written back to their page files
}

// PageStore is the coin database of a RAIDA data root: the page files of
// DATAROOT/Data, byte-compatible with the node's own layout
// (Data/{den:02x}/{page>>8:02x}/{page:04x}.bin). It implements Records
// with an on-demand, memory-bounded page cache and group commit.
//
// Durability comes from a write-ahead journal, DATAROOT/raidakx.journal
// (format in journal.go): Commit appends the records changed since the
// previous commit round to it and syncs that one file, shared by every
// concurrent caller. The page files are written back in the background
// (temporary file, sync, rename, folder sync) every WriteBack interval,
// when the journal grows past JournalLimit, when the cache needs to evict
// dirty pages, and at Close; once a write-back has made durable every page
// that a part of the journal covers, that part is dropped. OpenPageStore
// replays the journal that a store which was not closed left, and Close
// writes every page back and removes the journal, so that after a clean
// stop the data root holds exactly the node's files, up to date. Every
// file access goes through an os.Root opened on DATAROOT or DATAROOT/Data.
//
// A page file that does not exist reads as all zero records; it is created
// by the first write-back of the page.
type PageStore struct {
	dir    string   // DATAROOT/Data, for messages
	jpath  string   // DATAROOT/raidakx.journal, for messages
	top    *os.Root // DATAROOT, for the journal
	root   *os.Root // DATAROOT/Data
	limit  int64
	every  time.Duration
	jlimit int64
	log    *slog.Logger
	hooks  *pageHooks

	mu     sync.Mutex
	pages  map[PageKey]*page
	lru    list.List          // evictable pages (unlocked, clean, journaled, loaded), most recent first
	cached int64              // bytes of loaded pages
	dirty  map[*page]struct{} // pages whose page file is older than the cache
	// Pages with records changed since the last journal round took them
	// (page.changed not zero).
	unjournaled map[*page]struct{}
	jnext       *round // the commit round that has not started yet
	jcur        *round // the journal round in progress, if any
	wnext       *round // the write-back round that has not started yet
	closed      bool
	crashed     bool // crash: stop without the final rounds (tests)

	jkick    chan struct{} // wakes the journaler
	wkick    chan struct{} // wakes the write-back goroutine
	closing  chan struct{} // closed by Close
	jstopped chan struct{} // closed by the journaler when it exits
	wstopped chan struct{} // closed by the write-back goroutine when it exits
	finalErr error         // the final write-back's error, set before wstopped

	// jmu serializes the journal rounds and guards j. A round holds it
	// from its snapshot of the changed records until their append is
	// synced, so rounds append in the order of their snapshots.
	jmu sync.Mutex
	j   *journal

	// Used by the write-back goroutine only (and by OpenPageStore before
	// it starts).
	knownDirs map[string]bool

	hits, misses, evictions      atomic.Uint64
	commitRounds, writeBackRound atomic.Uint64
	pagesSynced, syncErrors      atomic.Uint64
	journalBytes, journalSyncs   atomic.Uint64
	lastSync, totalSync          atomic.Int64
}

// page is one cached page. Its lock is the page lock of Records; its data
// has a mutex of its own so that the journal and write-back rounds can copy
// a changed page without waiting for a caller that holds the page lock.
type page struct {
	key  PageKey
	lock sync.Mutex // Records.Lock / Unlock

	// Guarded by PageStore.mu.
	refs    int           // holders and waiters of lock; > 0 pins the page
	elem    *list.Element // in PageStore.lru, or nil
	loaded  bool          // data is set and counted in PageStore.cached
	version uint64        // bumped by every Write that changed data
	// Records changed since the last journal round took them: bit i%64
	// of changed[i/64] for record i of the page.
	changed [abi.RecordsPerPage / 64]uint64

	dmu  sync.Mutex
	data []byte // PageFileSize bytes once loaded; never reset
}

// OpenPageStore opens the coin database of the data root dataRoot, creating
// dataRoot/Data when it is missing, and starts its background write-back.
// dataRoot/Data itself may be a symbolic link (e.g. to another disk); no
// access reaches outside it.
//
// When dataRoot holds the journal of a store that was not closed, its
// records are applied to the pages, the pages written back durably and
// the journal emptied before OpenPageStore returns; a journal it cannot
// replay, or pages it cannot write back, make it fail and leave the
// journal in place. The journal ends at its first torn batch, the trace
// of a crash during an append that nobody was told had succeeded.
func OpenPageStore(dataRoot string, opts PageStoreOptions) (*PageStore, error) {
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.WriteBack <= 0 {
		opts.WriteBack = DefaultWriteBack
	}
	if opts.JournalLimit <= 0 {
		opts.JournalLimit = DefaultJournalLimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	top, err := os.OpenRoot(dataRoot)
	if err != nil {
		return nil, fmt.Errorf("storage: open data root: %w", err)
	}
	switch err := top.Mkdir("Data", dirPerm); {
	case err == nil:
		if err := syncDir(top, "."); err != nil {
			top.Close()
			return nil, fmt.Errorf("storage: create %s/Data: %w", dataRoot, err)
		}
	case !errors.Is(err, fs.ErrExist):
		top.Close()
		return nil, fmt.Errorf("storage: create %s/Data: %w", dataRoot, err)
	}
	dir := filepath.Join(dataRoot, "Data")
	root, err := os.OpenRoot(dir)
	if err != nil {
		top.Close()
		return nil, fmt.Errorf("storage: open coin database: %w", err)
	}
	s := &PageStore{
		dir:         dir,
		jpath:       filepath.Join(dataRoot, journalName),
		top:         top,
		root:        root,
		limit:       opts.CacheBytes,
		every:       opts.WriteBack,
		jlimit:      opts.JournalLimit,
		log:         opts.Logger,
		hooks:       opts.hooks,
		pages:       map[PageKey]*page{},
		dirty:       map[*page]struct{}{},
		unjournaled: map[*page]struct{}{},
		jkick:       make(chan struct{}, 1),
		wkick:       make(chan struct{}, 1),
		closing:     make(chan struct{}),
		jstopped:    make(chan struct{}),
		wstopped:    make(chan struct{}),
		knownDirs:   map[string]bool{},
	}
	err = s.removeStaleTemps()
	if err == nil {
		err = s.openJournal()
	}
	if err != nil {
		root.Close()
		top.Close()
		return nil, err
	}
	if s.hooks != nil && s.hooks.journalWrite != nil {
		s.j.write = s.hooks.journalWrite
	}
	go s.runJournal()
	go s.runWriteBack()
	return s, nil
}

// pagePath returns the page file of key relative to Data.
func pagePath(key PageKey) string {
	return fmt.Sprintf("%02x/%02x/%04x.bin", uint8(key.Den), key.Page>>8, key.Page)
}

// pageTemp returns the temporary file a page is written to before it is
// renamed over pagePath(key): a hidden name in the same folder, which the
// write-back goroutine alone uses.
func pageTemp(key PageKey) string {
	return fmt.Sprintf("%02x/%02x/.%04x.bin.tmp", uint8(key.Den), key.Page>>8, key.Page)
}

// removeStaleTemps removes the temporary page files a crash left behind.
func (s *PageStore) removeStaleTemps() error {
	dens, err := readDirNames(s.root, ".")
	if err != nil {
		return fmt.Errorf("storage: read %s: %w", s.dir, err)
	}
	for _, d := range dens {
		groups, err := readDirNames(s.root, d)
		if err != nil {
			continue // not a folder of ours
		}
		for _, g := range groups {
			names, err := readDirNames(s.root, d+"/"+g)
			if err != nil {
				continue
			}
			for _, n := range names {
				if strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".bin.tmp") {
					if err := s.root.Remove(d + "/" + g + "/" + n); err != nil && !errors.Is(err, fs.ErrNotExist) {
						return fmt.Errorf("storage: remove stale temporary page: %w", err)
					}
				}
			}
		}
	}
	return nil
}

// readDirNames lists folder name of root; an error when it is not a folder.
func readDirNames(root *os.Root, name string) ([]string, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Lock implements Records. It waits for the page lock without holding any
// lock of the store, and reads the page file into the cache unless the page
// is there already. An unreadable or wrong-size page file is an error of
// this call; the page is then not locked.
func (s *PageStore) Lock(den int8, pg uint32) error {
	if err := checkPage(den, pg); err != nil {
		return err
	}
	key := PageKey{den, pg}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cached > s.limit && s.pinnedLocked() {
		// Over the memory bound because of dirty pages: write them back
		// (making them evictable) before caching one more. The round's
		// outcome does not matter here; a failure is logged by it.
		r := s.joinWriteBackLocked()
		s.mu.Unlock()
		<-r.done
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
	}
	p := s.pages[key]
	if p == nil {
		p = &page{key: key}
		s.pages[key] = p
	}
	p.refs++
	if p.elem != nil {
		s.lru.Remove(p.elem)
		p.elem = nil
	}
	s.mu.Unlock()

	p.lock.Lock()
	if err := s.load(p); err != nil {
		p.lock.Unlock()
		s.unpin(p)
		return err
	}
	return nil
}

// load reads p's page file unless p is cached. The caller holds p.lock.
func (s *PageStore) load(p *page) error {
	p.dmu.Lock()
	if p.data != nil {
		p.dmu.Unlock()
		s.hits.Add(1)
		return nil
	}
	data, err := s.readPage(p.key)
	if err != nil {
		p.dmu.Unlock()
		return err
	}
	p.data = data
	p.dmu.Unlock()
	s.misses.Add(1)
	s.mu.Lock()
	p.loaded = true
	s.cached += PageFileSize
	s.mu.Unlock()
	return nil
}

// readPage reads the page file of key; a missing one reads as zeros.
func (s *PageStore) readPage(key PageKey) ([]byte, error) {
	name := pagePath(key)
	data := make([]byte, PageFileSize)
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return data, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read page: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("storage: read page: %w", err)
	}
	path := filepath.Join(s.dir, name)
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("storage: page %s is not a regular file", path)
	}
	if fi.Size() != PageFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, not %d", ErrBadPageSize, path, fi.Size(), PageFileSize)
	}
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("storage: read page %s: %w", path, err)
	}
	return data, nil
}

// Unlock implements Records. Unlocking a page that is not locked panics.
func (s *PageStore) Unlock(den int8, pg uint32) {
	s.mu.Lock()
	p := s.pages[PageKey{den, pg}]
	held := p != nil && p.refs > 0
	s.mu.Unlock()
	if !held {
		panic(fmt.Sprintf("storage: Unlock(%d, %d) of a page not locked", den, pg))
	}
	p.lock.Unlock()
	s.unpin(p)
}

// unpin drops a reference taken by Lock.
func (s *PageStore) unpin(p *page) {
	s.mu.Lock()
	p.refs--
	s.settleLocked(p)
	s.evictLocked()
	if s.cached > s.limit && s.pinnedLocked() && !s.closed {
		s.wakeWriteBack() // dirty pages keep the cache over its bound
	}
	s.mu.Unlock()
}

// settleLocked files a page, unless someone holds it or it is evictable
// already: a page never loaded is forgotten, a clean page whose changes
// are all journaled becomes evictable, a dirty or unjournaled page waits
// for the journal and write-back rounds (which settle it again). The
// caller holds s.mu.
//
// A page with unjournaled records stays cached even when its page file is
// up to date: the next journal round reads the records from it.
func (s *PageStore) settleLocked(p *page) {
	if p.refs > 0 || p.elem != nil {
		return
	}
	_, dirty := s.dirty[p]
	_, unjournaled := s.unjournaled[p]
	switch {
	case !p.loaded:
		delete(s.pages, p.key)
	case dirty || unjournaled:
	default:
		p.elem = s.lru.PushFront(p)
	}
}

// pinnedLocked reports whether some pages cannot be evicted until a
// write-back round. The caller holds s.mu.
func (s *PageStore) pinnedLocked() bool {
	return len(s.dirty) > 0 || len(s.unjournaled) > 0
}

// evictLocked drops least recently used clean pages while the cache is over
// its bound. The caller holds s.mu.
func (s *PageStore) evictLocked() {
	for s.cached > s.limit {
		e := s.lru.Back()
		if e == nil {
			break
		}
		p := s.lru.Remove(e).(*page)
		p.elem = nil
		delete(s.pages, p.key)
		s.cached -= PageFileSize
		s.evictions.Add(1)
	}
}

// record returns the cached, locked page of (den, sn) and the record's
// offset in it.
func (s *PageStore) record(den int8, sn uint32, write bool) (*page, int, error) {
	if !abi.RecordExists(den, sn) {
		return nil, 0, ErrNoRecord
	}
	s.mu.Lock()
	p := s.pages[PageKey{den, abi.Page(sn)}]
	ok := p != nil && p.refs > 0 && p.loaded
	closed := s.closed
	s.mu.Unlock()
	switch {
	case write && closed:
		return nil, 0, ErrClosed
	case !ok:
		return nil, 0, fmt.Errorf("%w: record (%d, %d)", errNotLocked, den, sn)
	}
	return p, int(sn%abi.RecordsPerPage) * abi.RecordSize, nil
}

// Read implements Records. The caller holds the page lock.
func (s *PageStore) Read(den int8, sn uint32, rec *Record) error {
	p, off, err := s.record(den, sn, false)
	if err != nil {
		return err
	}
	p.dmu.Lock()
	copy(rec[:], p.data[off:off+abi.RecordSize])
	p.dmu.Unlock()
	return nil
}

// Write implements Records. The caller holds the page lock. The change is
// in the cache when Write returns, durable (in the journal) after the next
// Commit, and in the page file after the next write-back.
func (s *PageStore) Write(den int8, sn uint32, rec *Record) error {
	p, off, err := s.record(den, sn, true)
	if err != nil {
		return err
	}
	p.dmu.Lock()
	dst := p.data[off : off+abi.RecordSize]
	if bytes.Equal(dst, rec[:]) {
		p.dmu.Unlock()
		return nil
	}
	copy(dst, rec[:])
	p.dmu.Unlock()
	// The version and the changed bit are set after the data changed: a
	// write-back that read the version before copying the data has a copy
	// at least that new, and so has a journal round that took the bit.
	i := sn % abi.RecordsPerPage
	s.mu.Lock()
	p.version++
	s.dirty[p] = struct{}{}
	p.changed[i/64] |= 1 << (i % 64)
	s.unjournaled[p] = struct{}{}
	s.mu.Unlock()
	return nil
}

// Stats returns the store's counters.
func (s *PageStore) Stats() PageStats {
	st := PageStats{
		CacheHits:       s.hits.Load(),
		CacheMisses:     s.misses.Load(),
		Evictions:       s.evictions.Load(),
		CommitRounds:    s.commitRounds.Load(),
		WriteBackRounds: s.writeBackRound.Load(),
		PagesSynced:     s.pagesSynced.Load(),
		SyncErrors:      s.syncErrors.Load(),
		JournalBytes:    s.journalBytes.Load(),
		JournalSyncs:    s.journalSyncs.Load(),
		LastSync:        time.Duration(s.lastSync.Load()),
		TotalSync:       time.Duration(s.totalSync.Load()),
	}
	s.mu.Lock()
	st.CachedBytes = s.cached
	st.CachedPages = int(s.cached / PageFileSize)
	st.DirtyPages = len(s.dirty)
	s.mu.Unlock()
	return st
}

var _ Records = (*PageStore)(nil)
