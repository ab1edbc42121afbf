package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// syncWorkers bounds the page files synced at once by a checkpoint.
const syncWorkers = 8

// errNoJournal fails the commit rounds while a checkpoint could not put a
// new journal in place; the checkpointer retries.
var errNoJournal = errors.New("no journal file in place (a checkpoint failed to create it)")

// round is one group-commit round: every Commit that joined it waits for
// done and gets err.
type round struct {
	done chan struct{}
	err  error
}

func (r *round) finish(err error) {
	r.err = err
	close(r.done)
}

// Commit implements Committer: it returns once every record written
// before the call is durable in the journal, or with the round's error, or
// with ctx's error when ctx ends first. Concurrent callers share a round:
// one append and one fdatasync.
func (s *PageStore) Commit(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	r := s.next
	if r == nil {
		r = &round{done: make(chan struct{})}
		s.next = r
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("storage: commit: %w", ctx.Err())
	}
}

// runJournal is the journaler: it runs the commit rounds, one at a time.
// At Close it serves the callers that joined before, then exits.
func (s *PageStore) runJournal() {
	defer close(s.jstopped)
	for {
		final := false
		select {
		case <-s.kick:
		case <-s.closing:
			final = true
		}
		s.mu.Lock()
		r := s.next
		s.next = nil
		entries, gens := s.takeStagedLocked()
		s.mu.Unlock()
		s.round(r, entries, gens)
		if final {
			return
		}
	}
}

// takeStagedLocked takes the staged records for a round: their values
// and generations now. The caller holds s.mu.
func (s *PageStore) takeStagedLocked() ([]journalEntry, []uint64) {
	if len(s.staged) == 0 {
		return nil, nil
	}
	// In record order: the batch, and then the writes in place, go
	// through the pages in order.
	slices.SortFunc(s.staged, compareRecordKeys)
	entries := make([]journalEntry, len(s.staged))
	gens := make([]uint64, len(s.staged))
	for i, key := range s.staged {
		p := s.pending[key]
		p.staged = false
		entries[i] = journalEntry{key: key, rec: p.rec}
		gens[i] = p.gen
	}
	s.staged = s.staged[:0]
	return entries, gens
}

// round appends entries to the journal as one batch, syncs it and
// finishes r (nil when no Commit waits) with the outcome; then it writes
// the entries in place into their page files. On an error the entries are
// staged again for the next round, unless written again meanwhile. A
// round with no entry touches no file.
func (s *PageStore) round(r *round, entries []journalEntry, gens []uint64) {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	s.retryUnapplied()
	var err error
	if len(entries) > 0 {
		err = s.appendLocked(entries)
	}
	s.mu.Lock()
	for i, e := range entries {
		p := s.pending[e.key]
		switch {
		case p.gen != gens[i]: // written again: the newer value is staged
		case err == nil:
			p.durable = true
		case !p.staged:
			p.staged = true
			s.staged = append(s.staged, e.key)
		}
	}
	s.mu.Unlock()
	if r != nil {
		s.commitRounds.Add(1)
		r.finish(err)
	}
	if err != nil || len(entries) == 0 {
		return
	}
	s.applyLocked(entries, gens)
	if s.j.size >= s.opts.JournalLimit {
		s.wakeCheckpoint()
	}
}

// appendLocked appends entries as one batch to the journal and syncs it.
// The caller holds s.jmu.
func (s *PageStore) appendLocked(entries []journalEntry) error {
	if s.j == nil {
		s.journalErrors.Add(1)
		s.wakeCheckpoint()
		return fmt.Errorf("storage: journal %s: %w", s.jpath, errNoJournal)
	}
	b := appendBatch(make([]byte, 0, batchHeaderSize+len(entries)*entrySize), s.j.salt, s.j.seq, entries)
	start := time.Now()
	err := s.j.append(s.top, b)
	d := time.Since(start)
	s.lastSync.Store(int64(d))
	s.totalSync.Add(int64(d))
	if err != nil {
		s.journalErrors.Add(1)
		return fmt.Errorf("storage: journal %s: %w", s.jpath, err)
	}
	s.journalBytes.Add(uint64(len(b)))
	s.journalSyncs.Add(1)
	s.journalAt.Add(int64(len(b)))
	return nil
}

func compareRecordKeys(a, b RecordKey) int {
	return cmp.Or(cmp.Compare(a.Den, b.Den), cmp.Compare(a.SN, b.SN))
}

// applyLocked writes journaled entries in place into their page files and
// drops them from pending unless written again meanwhile. An entry whose
// write fails stays pending (durable: Read still returns it) and is
// retried first by the next round; no checkpoint happens until it is in
// its page. The caller holds s.jmu.
func (s *PageStore) applyLocked(entries []journalEntry, gens []uint64) {
	var failed []pendingApply
	var done []int
	for i, e := range entries {
		if err := s.writeInPlace(e); err != nil {
			s.pageSyncErrors.Add(1)
			s.log.Error("storage: record write failed; it stays in the journal and is retried", "den", e.key.Den, "sn", e.key.SN, "err", err)
			failed = append(failed, pendingApply{e, gens[i]})
			continue
		}
		done = append(done, i)
	}
	s.mu.Lock()
	for _, i := range done {
		if p := s.pending[entries[i].key]; p.gen == gens[i] {
			delete(s.pending, entries[i].key)
		}
	}
	s.mu.Unlock()
	s.unapplied = append(s.unapplied, failed...)
}

// pendingApply is a journaled entry whose in-place write failed.
type pendingApply struct {
	e   journalEntry
	gen uint64
}

// retryUnapplied writes the entries of earlier rounds whose in-place
// write failed, unless written again since. The caller holds s.jmu.
func (s *PageStore) retryUnapplied() {
	if len(s.unapplied) == 0 {
		return
	}
	var entries []journalEntry
	var gens []uint64
	s.mu.Lock()
	for _, u := range s.unapplied {
		if p := s.pending[u.e.key]; p != nil && p.gen == u.gen {
			entries = append(entries, u.e)
			gens = append(gens, u.gen)
		}
	}
	s.mu.Unlock()
	s.unapplied = nil
	s.applyLocked(entries, gens)
}

// writeInPlace writes a journaled record into its page file and notes the
// page for the next checkpoint. The caller holds s.jmu.
func (s *PageStore) writeInPlace(e journalEntry) error {
	sl := s.slot(e.key.Den, abi.Page(e.key.SN))
	f, err := s.acquire(sl, true)
	if err != nil {
		return err
	}
	defer s.release(sl)
	if _, err := f.WriteAt(e.rec[:], recordOffset(e.key.SN)); err != nil {
		return fmt.Errorf("storage: write page %s: %w", s.data.Path(PagePath(sl.key)), err)
	}
	s.written[sl.key] = true
	return nil
}

func (s *PageStore) wakeCheckpoint() {
	select {
	case s.ckick <- struct{}{}:
	default:
	}
}

// runCheckpoints runs a checkpoint every CheckpointEvery, when the journal
// reaches JournalLimit, and again with backoff after a failure.
func (s *PageStore) runCheckpoints() {
	defer close(s.cstopped)
	t := time.NewTimer(s.opts.CheckpointEvery)
	defer t.Stop()
	backoff := time.Second
	for {
		select {
		case <-t.C:
		case <-s.ckick:
		case <-s.closing:
			return
		}
		if err := s.checkpoint(); err != nil {
			s.log.Error("storage: checkpoint failed; the journal is kept and the checkpoint retried", "err", err, "retry_in", backoff)
			t.Reset(backoff)
			backoff = min(2*backoff, s.opts.CheckpointEvery)
			continue
		}
		backoff = time.Second
		t.Reset(s.opts.CheckpointEvery)
	}
}

// checkpoint makes the page files hold everything the journal held before
// it started and drops that part of the journal:
//
//  1. with the journal lock: the journal becomes the old journal (renamed,
//     folder synced) and a new, empty journal is put in place; the pages
//     written in place from the old one are noted;
//  2. without it (rounds go on into the new journal): those page files are
//     synced;
//  3. the old journal is removed.
//
// A failure leaves the old journal in place; the next checkpoint retries
// from where this one stopped (a page whose sync failed is rewritten from
// its current contents first, since a failed sync may have dropped the
// kernel's dirty pages). While an old journal exists no new rotation
// happens, so the journal grows until JournalMax stops writes.
func (s *PageStore) checkpoint() error {
	s.cpmu.Lock()
	defer s.cpmu.Unlock()
	s.jmu.Lock()
	if err := s.rotateLocked(); err != nil {
		s.jmu.Unlock()
		return err
	}
	if s.old == nil {
		s.jmu.Unlock()
		return nil
	}
	pages := slices.SortedFunc(maps.Keys(s.oldPages), comparePageKeys)
	s.jmu.Unlock()

	errs := s.syncPages(pages)

	s.jmu.Lock()
	defer s.jmu.Unlock()
	var failed []error
	for i, key := range pages {
		if errs[i] == nil {
			delete(s.oldPages, key)
			continue
		}
		failed = append(failed, errs[i])
		if err := s.rewritePageLocked(key); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d page files not synced: %w", len(failed), errors.Join(failed...))
	}
	return s.removeOldLocked()
}

// rotateLocked turns the journal into the old journal and puts a new one
// in place, unless an old journal exists already; it finishes a rotation
// that failed half-way. The caller holds s.jmu.
func (s *PageStore) rotateLocked() error {
	if s.old == nil {
		s.retryUnapplied()
		if len(s.unapplied) > 0 {
			return fmt.Errorf("storage: %d journaled records could not be written to their page files", len(s.unapplied))
		}
		if len(s.written) == 0 {
			return nil // nothing to checkpoint
		}
		if err := s.j.cut(); err != nil {
			return fmt.Errorf("storage: journal %s: %w", s.jpath, err)
		}
		if err := s.top.Rename(journalName, journalOldName); err != nil {
			return fmt.Errorf("storage: journal %s: rotate: %w", s.jpath, err)
		}
		s.old, s.j = s.j, nil
		s.oldPages, s.written = s.written, map[PageKey]bool{}
		// Durable before the new journal's rename, which could otherwise
		// reach the disk first and replace the old journal's contents.
		if err := s.top.SyncDir("."); err != nil {
			return fmt.Errorf("storage: journal %s: rotate: %w", s.jpath, err)
		}
	}
	if s.j == nil {
		j, err := createJournal(s.top)
		if j != nil {
			s.j = j
			s.journalAt.Store(s.j.size + s.old.size)
		}
		if err != nil {
			return fmt.Errorf("storage: journal %s: create: %w", s.jpath, err)
		}
	}
	return nil
}

// removeOldLocked removes the old journal, whose pages are all synced.
func (s *PageStore) removeOldLocked() error {
	if err := s.top.Remove(journalOldName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: remove %s: %w", s.top.Path(journalOldName), err)
	}
	if err := s.top.SyncDir("."); err != nil {
		return fmt.Errorf("storage: remove %s: %w", s.top.Path(journalOldName), err)
	}
	s.old.f.Close()
	s.old, s.oldPages = nil, nil
	s.journalAt.Store(s.j.size)
	s.checkpoints.Add(1)
	return nil
}

func comparePageKeys(a, b PageKey) int {
	return cmp.Or(cmp.Compare(a.Den, b.Den), cmp.Compare(a.Page, b.Page))
}

// syncPages syncs the page files of keys, syncWorkers at a time, and
// returns each one's error.
func (s *PageStore) syncPages(keys []PageKey) []error {
	errs := make([]error, len(keys))
	forEach(len(keys), func(i int) {
		sl := s.slot(keys[i].Den, keys[i].Page)
		f, err := s.acquire(sl, false)
		switch {
		case err != nil:
		case f == nil:
			err = fmt.Errorf("storage: page %s: %w", s.data.Path(PagePath(keys[i])), fs.ErrNotExist)
		default:
			err = f.Datasync()
			s.release(sl)
			if err != nil {
				err = fmt.Errorf("storage: sync page %s: %w", s.data.Path(PagePath(keys[i])), err)
			}
		}
		if err != nil {
			s.pageSyncErrors.Add(1)
		} else {
			s.pagesSynced.Add(1)
		}
		errs[i] = err
	})
	return errs
}

// rewritePageLocked writes a page file's contents over themselves, so that
// a sync that failed (and may have let the kernel drop the dirty pages) is
// retried on dirty data. The caller holds s.jmu: no record is written in
// place meanwhile.
func (s *PageStore) rewritePageLocked(key PageKey) error {
	sl := s.slot(key.Den, key.Page)
	f, err := s.acquire(sl, false)
	if err != nil || f == nil {
		return err
	}
	defer s.release(sl)
	buf := make([]byte, PageFileSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return fmt.Errorf("storage: rewrite page %s: %w", s.data.Path(PagePath(key)), err)
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		return fmt.Errorf("storage: rewrite page %s: %w", s.data.Path(PagePath(key)), err)
	}
	return nil
}

// forEach calls fn(0) .. fn(n-1), at most syncWorkers at a time.
func forEach(n int, fn func(int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(n, syncWorkers) {
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

// recover replays the journals a store that was not closed left (the old
// one first), syncs the pages they wrote, removes the old journal and puts
// a new, empty journal in place. Both files are scanned before anything is
// written, so a corrupt journal changes nothing. It runs in openPageStore
// before the store's goroutines start.
func (s *PageStore) recover() error {
	if err := s.top.Remove(journalTemp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: remove stale %s: %w", s.top.Path(journalTemp), err)
	}
	var files []string
	for _, name := range []string{journalOldName, journalName} {
		switch _, err := s.top.Stat(name); {
		case err == nil:
			files = append(files, name)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("storage: journal %s: %w", s.top.Path(name), err)
		}
	}
	for _, replay := range []bool{false, true} {
		for _, name := range files {
			if err := s.replayFile(name, replay); err != nil {
				return err
			}
		}
	}
	pages := slices.SortedFunc(maps.Keys(s.written), comparePageKeys)
	if err := errors.Join(s.syncPages(pages)...); err != nil {
		return fmt.Errorf("storage: journal %s: sync the replayed pages: %w", s.jpath, err)
	}
	clear(s.written)
	if err := s.top.Remove(journalOldName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: remove %s: %w", s.top.Path(journalOldName), err)
	}
	j, err := createJournal(s.top)
	if err != nil {
		if j != nil {
			j.f.Close()
		}
		return fmt.Errorf("storage: journal %s: create: %w", s.jpath, err)
	}
	s.j = j
	s.journalAt.Store(j.size)
	return nil
}

// replayFile scans journal file name and, when replay, writes its records
// in place.
func (s *PageStore) replayFile(name string, replay bool) error {
	f, err := s.top.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("storage: journal %s: %w", s.top.Path(name), err)
	}
	defer f.Close()
	var fn func([]journalEntry) error
	if replay {
		fn = func(es []journalEntry) error {
			for _, e := range es {
				if !abi.RecordExists(e.key.Den, e.key.SN) {
					return fmt.Errorf("storage: journal %s: entry for record (%d, %d), which does not exist", s.top.Path(name), e.key.Den, e.key.SN)
				}
				if err := s.writeInPlace(e); err != nil {
					return fmt.Errorf("storage: journal %s: replay: %w", s.top.Path(name), err)
				}
			}
			return nil
		}
	}
	sc, err := scanJournal(f, s.top.Path(name), fn)
	if err != nil {
		return err
	}
	if replay && (sc.Records > 0 || sc.Torn > 0) {
		s.log.Info("storage: journal replayed", "journal", sc.Path, "batches", sc.Batches, "records", sc.Records, "torn_tail_bytes", sc.Torn)
	}
	return nil
}

// Close stops the store: the callers of Commit that joined before get
// their round, then every page written is synced and both journals are
// removed, so that the data root holds exactly the node's files. When
// that fails, the journals stay for the next open to replay.
func (s *PageStore) Close() error {
	if !s.stop() {
		return ErrClosed
	}
	s.jmu.Lock()
	err := s.finalCheckpointLocked()
	s.jmu.Unlock()
	return errors.Join(err, s.closeFiles())
}

// finalCheckpointLocked syncs every page written since the journal files
// were made and removes them. The journaler has stopped.
func (s *PageStore) finalCheckpointLocked() error {
	s.retryUnapplied()
	if len(s.unapplied) > 0 {
		return fmt.Errorf("storage: %d records not written to their pages; the journal %s keeps them", len(s.unapplied), s.jpath)
	}
	pages := slices.SortedFunc(maps.Keys(s.written), comparePageKeys)
	if s.old != nil {
		pages = slices.SortedFunc(maps.Keys(s.oldPages), comparePageKeys)
		for k := range s.written {
			if !s.oldPages[k] {
				pages = append(pages, k)
			}
		}
	}
	if err := errors.Join(s.syncPages(pages)...); err != nil {
		return fmt.Errorf("storage: close: the journal %s is kept: %w", s.jpath, err)
	}
	for _, name := range []string{journalOldName, journalName} {
		if err := s.top.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: close: remove %s: %w", s.top.Path(name), err)
		}
	}
	if err := s.top.SyncDir("."); err != nil {
		return fmt.Errorf("storage: close: %w", err)
	}
	return nil
}

// stop marks the store closed and waits for its goroutines, the
// journaler after its final round; false when it was stopped already.
func (s *PageStore) stop() bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.closed = true
	s.mu.Unlock()
	close(s.closing)
	<-s.jstopped
	<-s.cstopped
	return true
}

// closeFiles closes every open file of the store.
func (s *PageStore) closeFiles() error {
	var errs []error
	s.fmu.Lock()
	for i := range s.slots {
		if f := s.slots[i].f; f != nil {
			errs = append(errs, f.Close())
			s.slots[i].f, s.slots[i].elem = nil, nil
			s.slots[i].kept.Store(nil)
		}
	}
	s.lru.Init()
	s.open = 0
	s.fmu.Unlock()
	for _, j := range []*journal{s.j, s.old} {
		if j != nil {
			errs = append(errs, j.f.Close())
		}
	}
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
