package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// flushWorkers bounds the page files a round writes and syncs at once.
const flushWorkers = 16

// round is one journal round or one write-back round. Everyone who joins a
// round before it starts is covered by it: a journal round makes durable
// every record changed when it starts, a write-back round writes back
// every page dirty when it starts.
type round struct {
	done chan struct{} // closed when the round is over
	err  error         // set before done is closed
}

func newRound() *round { return &round{done: make(chan struct{})} }

// finish sets the round's outcome and releases its waiters.
func (r *round) finish(err error) {
	r.err = err
	close(r.done)
}

// joinCommitLocked returns the commit round that has not started yet,
// creating it, and wakes the journaler. The caller holds s.mu and has
// checked s.closed.
func (s *PageStore) joinCommitLocked() *round {
	if s.jnext == nil {
		s.jnext = newRound()
	}
	wake(s.jkick)
	return s.jnext
}

// joinWriteBackLocked does the same for the next write-back round.
func (s *PageStore) joinWriteBackLocked() *round {
	if s.wnext == nil {
		s.wnext = newRound()
	}
	wake(s.wkick)
	return s.wnext
}

// wakeWriteBack asks for a write-back round without waiting.
func (s *PageStore) wakeWriteBack() { wake(s.wkick) }

// wake sends a wake-up on kick without waiting.
func wake(kick chan struct{}) {
	select {
	case kick <- struct{}{}:
	default:
	}
}

// Commit blocks until every Write that returned before the call is
// durable: the records changed since the previous journal round are
// appended to the journal, which is synced (fdatasync). Concurrent callers
// share journal rounds: a caller that arrives while a round is in progress
// waits for the next one, which covers every caller that joined it, and
// costs one append and one sync whatever the number of records and pages.
// Commit returns nil at once when every change is in the journal already.
// The page files are written back later, in the background.
//
// When the journal cannot be written or synced, every caller of the round
// gets the error; its records are journaled again by the next round.
func (s *PageStore) Commit() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var r *round
	switch {
	case len(s.unjournaled) > 0:
		r = s.joinCommitLocked()
	case s.jcur != nil:
		// Every change was taken by the round in progress (or an earlier
		// one that succeeded; a failed one puts its changes back).
		r = s.jcur
	default:
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	<-r.done
	return r.err
}

// Close writes back every dirty page, removes the journal once they are
// all durable, stops the background rounds and releases the data root.
// After a clean Close the data root holds only the node's own files. When
// some page cannot be written back, Close returns the error and leaves the
// journal, which the next OpenPageStore replays. The store must no longer
// be used; Commit, Lock and Write then return ErrClosed, as does a second
// Close.
func (s *PageStore) Close() error {
	if !s.stop(false) {
		return ErrClosed
	}
	return s.release(s.finalErr)
}

// crash stops the store as a crash of the process would, for tests: no
// final round, the journal and the page files left as they are. Callers
// waiting for a round get ErrClosed.
func (s *PageStore) crash() {
	if s.stop(true) {
		s.release(nil)
	}
}

// stop marks the store closed and waits for its goroutines to exit; false
// when it was closed already.
func (s *PageStore) stop(crash bool) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.closed = true
	s.crashed = crash
	s.mu.Unlock()
	close(s.closing)
	<-s.jstopped
	<-s.wstopped
	return true
}

// release closes the files of a stopped store.
func (s *PageStore) release(err error) error {
	if cerr := s.j.f.Close(); err == nil {
		err = cerr
	}
	if cerr := s.root.Close(); err == nil {
		err = cerr
	}
	if cerr := s.top.Close(); err == nil {
		err = cerr
	}
	return err
}

// runJournal is the journaler: it runs the commit rounds. At Close it
// serves the callers that joined before, then exits.
func (s *PageStore) runJournal() {
	defer close(s.jstopped)
	for {
		final := false
		select {
		case <-s.jkick:
		case <-s.closing:
			final = true
		}
		s.mu.Lock()
		r := s.jnext
		s.jnext = nil
		crashed := s.crashed
		s.mu.Unlock()
		switch {
		case r != nil && crashed:
			r.finish(ErrClosed)
		case r != nil:
			s.journalRound(r)
		}
		if final {
			return
		}
	}
}

// runWriteBack is the write-back goroutine: the only one that writes page
// files. It runs a round when woken (journal size, memory pressure), every
// WriteBack interval, and a final one at Close, once the journaler is done.
func (s *PageStore) runWriteBack() {
	defer close(s.wstopped)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		final := false
		select {
		case <-s.wkick:
		case <-t.C:
		case <-s.closing:
			final = true
			<-s.jstopped // no journal round from here on
		}
		s.mu.Lock()
		r := s.wnext
		s.wnext = nil
		crashed := s.crashed
		s.mu.Unlock()
		if final && crashed {
			if r != nil {
				r.finish(ErrClosed)
			}
			return
		}
		err := s.writeBack(final, r != nil)
		if err != nil && !final {
			s.log.Error("page write-back failed", "err", err)
		}
		if r != nil {
			r.finish(err)
		}
		if final {
			s.finalErr = err
			return
		}
	}
}

// journalRound appends every record changed since the previous round to
// the journal, syncs it, and finishes r with the outcome: r is a commit
// round, nil for the round that starts a write-back. On an error the records are marked changed again, for the next
// round. A round with no record touches no file.
//
// The round takes the changed records' bits under s.mu, then copies the
// records under their pages' data locks: a Write sets its bit after it
// changed the data, so the copy is at least as new as the bit; a Write
// after the snapshot sets its bit again and goes into the next round. A
// copy can be newer than its bit (a Write between the snapshot and the
// copy), which only journals that value once more than needed.
func (s *PageStore) journalRound(r *round) error {
	commit := r != nil
	if r == nil {
		r = newRound()
	}
	s.jmu.Lock()
	defer s.jmu.Unlock()
	type snap struct {
		p       *page
		changed [abi.RecordsPerPage / 64]uint64
	}
	s.mu.Lock()
	snaps := make([]snap, 0, len(s.unjournaled))
	for p := range s.unjournaled {
		snaps = append(snaps, snap{p, p.changed})
		p.changed = [abi.RecordsPerPage / 64]uint64{}
	}
	clear(s.unjournaled)
	s.jcur = r
	s.mu.Unlock()

	var err error
	if len(snaps) > 0 {
		start := time.Now()
		slices.SortFunc(snaps, func(a, b snap) int {
			return cmp.Or(cmp.Compare(a.p.key.Den, b.p.key.Den), cmp.Compare(a.p.key.Page, b.p.key.Page))
		})
		var entries []journalEntry
		for _, sn := range snaps {
			sn.p.dmu.Lock()
			for w, word := range sn.changed {
				for ; word != 0; word &= word - 1 {
					i := w*64 + bits.TrailingZeros64(word)
					e := journalEntry{den: sn.p.key.Den, sn: sn.p.key.Page*abi.RecordsPerPage + uint32(i)}
					copy(e.rec[:], sn.p.data[i*abi.RecordSize:])
					entries = append(entries, e)
				}
			}
			sn.p.dmu.Unlock()
		}
		b, next := appendBatches(nil, s.j.salt, s.j.seq, entries)
		if err = s.j.append(s.top, b, next); err != nil {
			err = fmt.Errorf("storage: journal %s: %w", s.jpath, err)
			s.syncErrors.Add(1)
		} else {
			s.journalBytes.Add(uint64(len(b)))
			s.journalSyncs.Add(1)
		}
		d := time.Since(start)
		s.lastSync.Store(int64(d))
		s.totalSync.Add(int64(d))
	}
	full := s.j.size >= s.jlimit

	s.mu.Lock()
	for _, sn := range snaps {
		if err != nil {
			for w := range sn.changed {
				sn.p.changed[w] |= sn.changed[w]
			}
			s.unjournaled[sn.p] = struct{}{}
		} else {
			s.settleLocked(sn.p)
		}
	}
	s.evictLocked()
	s.jcur = nil
	s.mu.Unlock()
	if commit {
		s.commitRounds.Add(1)
	}
	r.finish(err)
	if full && err == nil {
		s.wakeWriteBack()
	}
	return err
}

// writeBack is a write-back round: it makes every dirty page durable in its
// page file and then drops the part of the journal that those pages cover.
// final (at Close, the journaler stopped) removes the journal instead once
// every page is durable. The round counts in WriteBackRounds when someone
// waits for it or it did or failed something.
//
// Checkpoint. Journal rounds go on while the pages are written back, so
// the journal cannot simply be emptied afterwards: records committed
// during the write-back are only in the journal. The round therefore
//
//  1. runs a journal round, so that the changes made so far are journaled
//     (not needed for correctness: it lets pages that were only waiting to
//     be journaled become evictable once written back);
//  2. takes the journal's mark M: its end, between two batches;
//  3. then takes the snapshot of the dirty pages and writes them back
//     (flush), each page copied after its snapshot;
//  4. once every one of them is durable, rewrites the journal with only
//     the batches after M (new file, synced, renamed over the journal, the
//     data root synced), holding the journal lock so that no round appends
//     meanwhile.
//
// Every entry before M was copied from its page before M was taken, when
// the page was dirty (a Write makes it dirty before its bit is set), so
// the page was either still dirty at step 3, and is written back with
// data at least as new as the entry, or had been written back since the
// entry was copied. So when the pages are durable, the page files hold
// every entry before M or a newer value: dropping those entries loses no
// committed record. A crash before the rename is durable leaves the old
// journal, whose replay sets the records of the entries before M back to
// those values and then applies the entries after M, the newer committed
// values: a record can only lose a value that was never committed (its
// Commit did not return), as it can without a journal. After the rename
// the journal holds the entries after M, which replay applies over page
// files that hold everything before M. A failed write-back leaves the
// journal alone; the next round retries.
func (s *PageStore) writeBack(final, waited bool) error {
	jerr := s.journalRound(nil)
	s.jmu.Lock()
	m := s.j.mark()
	s.jmu.Unlock()
	synced, err := s.flush()
	counted := synced > 0 || err != nil // by flush
	if waited && !counted {
		s.writeBackRound.Add(1)
		counted = true
	}
	if err != nil {
		return err
	}
	if s.hooks != nil && s.hooks.checkpoint != nil && !s.hooks.checkpoint() {
		return nil
	}
	switch {
	case final:
		// No round can append any more, and every page is durable: the
		// journal, and whether its last round failed, no longer matter.
		err, jerr = s.removeJournal(), nil
	case m.off > journalHeaderSize:
		err = s.checkpoint(m)
	}
	if err = cmp.Or(err, jerr); err != nil && !counted {
		s.writeBackRound.Add(1)
	}
	return err
}

// checkpoint replaces the journal with one that holds only the batches
// after m (see writeBack).
func (s *PageStore) checkpoint(m journalMark) error {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	entries, err := s.j.entriesFrom(m)
	if err != nil {
		return fmt.Errorf("storage: journal %s: %w", s.jpath, err)
	}
	j, err := newJournal(s.top, s.j.salt, entries)
	if j != nil {
		// In place, even when the data root could not be synced: the old
		// file is gone from the name; j syncs the root before it appends.
		j.write = s.j.write
		s.j.f.Close()
		s.j = j
	}
	if err != nil {
		s.syncErrors.Add(1)
		return fmt.Errorf("storage: journal %s: cut: %w", s.jpath, err)
	}
	return nil
}

// removeJournal removes the journal file and syncs the data root: the
// last step of a clean Close, once every page is durable.
func (s *PageStore) removeJournal() error {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	if err := s.top.Remove(journalName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: remove journal %s: %w", s.jpath, err)
	}
	if err := syncDir(s.top, "."); err != nil {
		return fmt.Errorf("storage: remove journal %s: %w", s.jpath, err)
	}
	return nil
}

// flushJob is one dirty page of a round.
type flushJob struct {
	p       *page
	version uint64 // p.version when the round started
	dir     string // p's folder relative to Data
	err     error
}

// flush makes every page dirty at its start durable and returns how many
// page files it synced. Pages that fail stay dirty. A flush that had pages
// to write counts as a write-back round.
func (s *PageStore) flush() (int, error) {
	s.mu.Lock()
	jobs := make([]*flushJob, 0, len(s.dirty))
	for p := range s.dirty {
		jobs = append(jobs, &flushJob{p: p, version: p.version, dir: path.Dir(pagePath(p.key))})
	}
	s.mu.Unlock()
	if len(jobs) == 0 {
		return 0, nil
	}
	if s.hooks != nil && s.hooks.flushing != nil {
		s.hooks.flushing()
	}
	start := time.Now()
	slices.SortFunc(jobs, func(a, b *flushJob) int {
		return cmp.Or(cmp.Compare(a.p.key.Den, b.p.key.Den), cmp.Compare(a.p.key.Page, b.p.key.Page))
	})

	// Folders, one at a time: a folder seen for the first time (created
	// or not) has its parent synced so that its entry is durable.
	dirErr := map[string]error{}
	for _, j := range jobs {
		err, seen := dirErr[j.dir]
		if !seen {
			err = s.ensureDir(j.dir)
			dirErr[j.dir] = err
		}
		j.err = err
	}
	// Page files: temporary file, write, sync, rename over the page.
	write := okJobs(jobs)
	forEach(len(write), func(i int) { write[i].err = s.writePage(write[i].p) })
	// Folders of the renamed pages, each synced once.
	var dirs []string
	for _, j := range okJobs(jobs) {
		if len(dirs) == 0 || dirs[len(dirs)-1] != j.dir {
			dirs = append(dirs, j.dir)
		}
	}
	syncErr := make([]error, len(dirs))
	forEach(len(dirs), func(i int) { syncErr[i] = syncDir(s.root, dirs[i]) })
	for i, d := range dirs {
		dirErr[d] = syncErr[i]
	}
	for _, j := range okJobs(jobs) {
		if err := dirErr[j.dir]; err != nil {
			j.err = fmt.Errorf("storage: sync %s: %w", filepath.Join(s.dir, j.dir), err)
		}
	}

	var first error
	failed := 0
	for _, j := range jobs {
		if j.err != nil {
			failed++
		}
	}
	// Counted before the pages show as clean: once DirtyPages shows them
	// written back, the counters do too.
	s.writeBackRound.Add(1)
	s.pagesSynced.Add(uint64(len(jobs) - failed))
	s.mu.Lock()
	for _, j := range jobs {
		if j.err != nil {
			first = cmp.Or(first, j.err)
			continue
		}
		// A Write since the round started keeps the page dirty.
		if j.p.version == j.version {
			delete(s.dirty, j.p)
			s.settleLocked(j.p)
		}
	}
	s.evictLocked()
	s.mu.Unlock()

	d := time.Since(start)
	s.lastSync.Store(int64(d))
	s.totalSync.Add(int64(d))
	switch {
	case failed == 0:
		return len(jobs), nil
	case failed == 1:
		clear(s.knownDirs) // a folder may have gone: check them again
		s.syncErrors.Add(1)
		return len(jobs) - failed, first
	default:
		clear(s.knownDirs)
		s.syncErrors.Add(1)
		return len(jobs) - failed, fmt.Errorf("%w (and %d more pages not durable)", first, failed-1)
	}
}

// okJobs returns the jobs without an error.
func okJobs(jobs []*flushJob) []*flushJob {
	var ok []*flushJob
	for _, j := range jobs {
		if j.err == nil {
			ok = append(ok, j)
		}
	}
	return ok
}

// forEach calls fn(0) .. fn(n-1), at most flushWorkers at a time.
func forEach(n int, fn func(int)) {
	if n == 1 {
		fn(0)
		return
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(n, flushWorkers) {
		wg.Go(func() {
			for i := range work {
				fn(i)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// ensureDir makes sure the page folder d ("01/03") and its parent exist
// with durable entries. Write-back only.
func (s *PageStore) ensureDir(d string) error {
	if s.knownDirs[d] {
		return nil
	}
	den, _, _ := strings.Cut(d, "/")
	for _, name := range []string{den, d} {
		if s.knownDirs[name] {
			continue
		}
		if err := mkdirSynced(s.root, name); err != nil {
			return fmt.Errorf("storage: page folder %s: %w", filepath.Join(s.dir, name), err)
		}
		s.knownDirs[name] = true
	}
	return nil
}

// mkdirSynced creates folder name (mode dirPerm) unless it exists, and
// syncs its parent.
func mkdirSynced(root *os.Root, name string) error {
	switch err := root.Mkdir(name, dirPerm); {
	case err == nil:
		f, err := root.Open(name)
		if err != nil {
			return err
		}
		err = f.Chmod(dirPerm) // whatever the umask
		f.Close()
		if err != nil {
			return err
		}
	case errors.Is(err, fs.ErrExist):
		fi, err := root.Stat(name)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return errors.New("not a folder")
		}
	default:
		return err
	}
	return syncDir(root, path.Dir(name))
}

// writePage writes a copy of p's bytes over its page file: temporary file,
// sync, rename. The copy is taken under p.dmu, so a Write during the flush
// is either in it or leaves the page dirty (its version moved on).
// Write-back only.
func (s *PageStore) writePage(p *page) error {
	buf := make([]byte, PageFileSize)
	p.dmu.Lock()
	copy(buf, p.data)
	p.dmu.Unlock()
	name, tmp := pagePath(p.key), pageTemp(p.key)
	if err := writeSynced(s.root, tmp, os.O_TRUNC, buf, nil); err != nil {
		return fmt.Errorf("storage: write page %s: %w", filepath.Join(s.dir, name), err)
	}
	if err := s.root.Rename(tmp, name); err != nil {
		s.root.Remove(tmp)
		return fmt.Errorf("storage: write page %s: %w", filepath.Join(s.dir, name), err)
	}
	return nil
}

// writeSynced creates file name in root (flag adds os.O_TRUNC or
// os.O_EXCL), mode filePerm whatever the umask, writes data with write
// (f.Write when nil) and syncs it. A file it created and could not
// complete is removed.
func writeSynced(root *os.Root, name string, flag int, data []byte, write func(*os.File, []byte) (int, error)) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|flag, filePerm)
	if err != nil {
		return err
	}
	err = f.Chmod(filePerm)
	if err == nil {
		if write == nil {
			write = (*os.File).Write
		}
		_, err = write(f, data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		root.Remove(name)
	}
	return err
}

// syncDir syncs folder name of root, making the entries in it durable.
func syncDir(root *os.Root, name string) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
