package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// flushWorkers bounds the page files a round writes and syncs at once.
const flushWorkers = 16

// round is one sync round of the committer. Everyone who joins a round
// before it starts is covered by it: it writes back every page that was
// dirty when it started.
type round struct {
	done   chan struct{} // closed when the round is over
	err    error         // set before done is closed
	commit bool          // a Commit waits for it
}

// joinLocked returns the round that has not started yet, creating it, and
// wakes the committer. The caller holds s.mu and has checked s.closed.
func (s *PageStore) joinLocked(commit bool) *round {
	if s.next == nil {
		s.next = &round{done: make(chan struct{})}
	}
	s.next.commit = s.next.commit || commit
	s.wake()
	return s.next
}

// wake asks the committer for a round without waiting.
func (s *PageStore) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Commit blocks until every Write that returned before the call is durable:
// each page dirty at the call is written to a temporary file in its folder,
// synced, renamed over the page file, and the folder synced. Concurrent
// callers share sync rounds: a caller that arrives while a round is in
// progress waits for the next one, which covers every caller that joined
// it. Commit returns nil at once when no page is dirty.
//
// When some page of the round could not be made durable, every caller of
// the round gets the error (the pages stay dirty and are retried by the
// next round).
func (s *PageStore) Commit() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if len(s.dirty) == 0 {
		s.mu.Unlock()
		return nil
	}
	r := s.joinLocked(true)
	s.mu.Unlock()
	<-r.done
	return r.err
}

// Close writes back every dirty page, stops the background write-back and
// releases the data root. The store must no longer be used; Commit, Lock
// and Write then return ErrClosed, as does a second Close.
func (s *PageStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	close(s.closing)
	<-s.stopped
	err := s.finalErr
	if cerr := s.root.Close(); err == nil {
		err = cerr
	}
	return err
}

// run is the committer: the only goroutine that writes page files. It
// runs a round when woken (Commit, memory pressure), every WriteBack
// interval, and a final one at Close.
func (s *PageStore) run() {
	defer close(s.stopped)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		final := false
		select {
		case <-s.kick:
		case <-t.C:
		case <-s.closing:
			final = true
		}
		s.mu.Lock()
		r := s.next
		s.next = nil
		s.mu.Unlock()
		synced, err := s.flush()
		switch {
		case r != nil && r.commit:
			s.commitRounds.Add(1)
		case r != nil || synced > 0 || err != nil:
			s.writeBackRound.Add(1)
			if err != nil && !final {
				s.log.Error("page write-back failed", "err", err)
			}
		}
		if r != nil {
			r.err = err
			close(r.done)
		}
		if final {
			s.finalErr = err
			return
		}
	}
}

// flushJob is one dirty page of a round.
type flushJob struct {
	p       *page
	version uint64 // p.version when the round started
	dir     string // p's folder relative to Data
	err     error
}

// flush makes every page dirty at its start durable and returns how many
// page files it synced. Pages that fail stay dirty.
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
	s.mu.Lock()
	for _, j := range jobs {
		if j.err != nil {
			failed++
			first = cmp.Or(first, j.err)
			continue
		}
		// A Write since the round started keeps the page dirty.
		if j.p.version == j.version {
			delete(s.dirty, j.p)
			if j.p.refs == 0 {
				s.releaseLocked(j.p)
			}
		}
	}
	s.evictLocked()
	s.mu.Unlock()

	d := time.Since(start)
	s.lastSync.Store(int64(d))
	s.totalSync.Add(int64(d))
	s.pagesSynced.Add(uint64(len(jobs) - failed))
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
// with durable entries. Committer only.
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
