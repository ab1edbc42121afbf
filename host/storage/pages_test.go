package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// openStore opens a PageStore on dataRoot and closes it at the end of the
// test unless the test did.
func openStore(t testing.TB, dataRoot string, opts PageStoreOptions) *PageStore {
	t.Helper()
	s, err := OpenPageStore(dataRoot, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
	return s
}

// kill stops s as a process death would: no final checkpoint, the
// journals stay.
func (s *PageStore) kill() {
	if s.stop() {
		s.closeFiles()
	}
}

func putRec(t testing.TB, s *PageStore, den int8, sn uint32, rec Record) {
	t.Helper()
	if err := s.Lock(den, abi.Page(sn)); err != nil {
		t.Fatalf("Lock(%d, %d): %v", den, abi.Page(sn), err)
	}
	defer s.Unlock(den, abi.Page(sn))
	if err := s.Write(den, sn, &rec); err != nil {
		t.Fatalf("Write(%d, %d): %v", den, sn, err)
	}
}

// readRec reads a record under its lock and reports whether it is pending.
func readRec(t testing.TB, s *PageStore, den int8, sn uint32) (Record, bool) {
	t.Helper()
	if err := s.Lock(den, abi.Page(sn)); err != nil {
		t.Fatalf("Lock(%d, %d): %v", den, abi.Page(sn), err)
	}
	defer s.Unlock(den, abi.Page(sn))
	var rec Record
	pending, err := s.Read(den, sn, &rec)
	if err != nil {
		t.Fatalf("Read(%d, %d): %v", den, sn, err)
	}
	return rec, pending
}

func getRec(t testing.TB, s *PageStore, den int8, sn uint32) Record {
	t.Helper()
	rec, _ := readRec(t, s, den, sn)
	return rec
}

// recOf returns a record that encodes (den, sn, tag) distinctly.
func recOf(den int8, sn uint32, tag byte) Record {
	var r Record
	r[0] = byte(den)
	binary.BigEndian.PutUint32(r[1:], sn)
	for i := 5; i < 16; i++ {
		r[i] = tag ^ byte(i)
	}
	r[16] = tag
	return r
}

// commit commits and waits until the round wrote its records in place,
// which it does after its Commit callers were answered.
func commit(t testing.TB, s *PageStore) {
	t.Helper()
	if err := s.Commit(context.Background()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	s.jmu.Lock()
	s.jmu.Unlock()
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// pageRecord reads record (den, sn) straight from its page file.
func pageRecord(t testing.TB, root string, den int8, sn uint32) Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Data", filepath.FromSlash(PagePath(PageKey{den, abi.Page(sn)}))))
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	copy(r[:], data[17*(sn%1024):])
	return r
}

// The layout is the node's, written and checked by hand here.
var layoutCases = []struct {
	den  int8
	sn   uint32
	path string // relative to the data root
	off  int
}{
	{1, 1_023_000, "Data/01/03/03e7.bin", 17 * (1_023_000 % 1024)},
	{-8, 0, "Data/f8/00/0000.bin", 0},
	{-8, 1023, "Data/f8/00/0000.bin", 17 * 1023},
	{6, 1_023_999, "Data/06/03/03e7.bin", 17 * 1023},
	{0, 256*1024 + 5, "Data/00/01/0100.bin", 17 * 5},
	{-1, 255*1024 + 1000, "Data/ff/00/00ff.bin", 17 * 1000},
	{3, 511*1024 + 17, "Data/03/01/01ff.bin", 17 * 17},
}

func TestLayoutReadHandMadePage(t *testing.T) {
	for _, c := range layoutCases {
		t.Run(c.path+fmt.Sprint("@", c.sn), func(t *testing.T) {
			root := t.TempDir()
			file := filepath.Join(root, filepath.FromSlash(c.path))
			if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
				t.Fatal(err)
			}
			// Every byte of the page differs from its neighbours; the
			// record under test is set to a known value.
			pg := make([]byte, 17408)
			for i := range pg {
				pg[i] = byte(i * 7)
			}
			want := recOf(c.den, c.sn, 0xa5)
			copy(pg[c.off:], want[:])
			if err := os.WriteFile(file, pg, 0o640); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, root, PageStoreOptions{})
			if got, pending := readRec(t, s, c.den, c.sn); got != want || pending {
				t.Fatalf("record = %x (pending %v), want %x", got, pending, want)
			}
			nb := c.sn ^ 1 // a neighbour comes from its own offset too
			var wantNb Record
			copy(wantNb[:], pg[17*int(nb%1024):])
			if got := getRec(t, s, c.den, nb); got != wantNb {
				t.Fatalf("neighbour record = %x, want %x", got, wantNb)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if after, err := os.ReadFile(file); err != nil || !bytes.Equal(after, pg) {
				t.Fatalf("reading changed the page file (err %v)", err)
			}
		})
	}
}

// A committed record is in its page file at once (written in place after
// the journal sync), at the node's offset, and nowhere else.
func TestLayoutWriteLandsAtOffset(t *testing.T) {
	for _, c := range layoutCases {
		t.Run(c.path+fmt.Sprint("@", c.sn), func(t *testing.T) {
			root := t.TempDir()
			s := openStore(t, root, PageStoreOptions{})
			rec := recOf(c.den, c.sn, 0x3c)
			putRec(t, s, c.den, c.sn, rec)
			commit(t, s)
			got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.path)))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, 17408)
			copy(want[c.off:], rec[:])
			if !bytes.Equal(got, want) {
				t.Fatalf("page file differs from the hand-made one")
			}
		})
	}
}

func TestMissingPageReadsZeroAndIsCreatedByWrite(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	const den, sn = 2, 5*1024 + 9
	if got := getRec(t, s, den, sn); got != (Record{}) {
		t.Fatalf("missing page read %x", got)
	}
	denDir := filepath.Join(root, "Data", "02")
	if _, err := os.Stat(denDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reading created %s (err %v)", denDir, err)
	}
	rec := recOf(den, sn, 1)
	putRec(t, s, den, sn, rec)
	// The page exists, whole and zero, before the record is committed.
	file := filepath.Join(root, "Data", "02", "00", "0005.bin")
	if data, err := os.ReadFile(file); err != nil || !bytes.Equal(data, make([]byte, PageFileSize)) {
		t.Fatalf("page file before Commit: %d bytes, err %v; want 17,408 zero bytes", len(data), err)
	}
	commit(t, s)
	if got := pageRecord(t, root, den, sn); got != rec {
		t.Fatalf("page file record %x, want %x", got, rec)
	}
	if m := mode(t, file); m != 0o640 {
		t.Errorf("page file mode %o, want 640", m)
	}
	for _, d := range []string{denDir, filepath.Dir(file)} {
		if m := mode(t, d); m != 0o750 {
			t.Errorf("%s mode %o, want 750", d, m)
		}
	}
	if st := s.Stats(); st.CommitRounds != 1 || st.JournalSyncs != 1 || st.JournalBytes != batchHeaderSize+entrySize || st.PendingRecords != 0 {
		t.Errorf("stats %+v", st)
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Errorf("page folder holds %d entries, want the page alone", len(entries))
	}
}

func TestOpenCreatesDataFolder(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	if m := mode(t, filepath.Join(root, "Data")); m != 0o750 {
		t.Errorf("Data mode %o", m)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPageStore(filepath.Join(root, "nope"), PageStoreOptions{}); err == nil {
		t.Fatal("opened a missing data root")
	}
}

func TestBadPageSize(t *testing.T) {
	for _, size := range []int{0, 1, 17407, 17409, 2 * 17408} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			root := t.TempDir()
			file := filepath.Join(root, "Data", "04", "00", "0007.bin")
			if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
				t.Fatal(err)
			}
			bad := bytes.Repeat([]byte{0xee}, size)
			if err := os.WriteFile(file, bad, 0o640); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, root, PageStoreOptions{})
			if err := s.Lock(4, 7); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the failure is not cached
				var rec Record
				_, err := s.Read(4, 7*1024+3, &rec)
				if !errors.Is(err, ErrBadPageSize) || !strings.Contains(err.Error(), file) {
					t.Fatalf("Read = %v, want ErrBadPageSize naming %s", err, file)
				}
				rec[0] = 1
				if err := s.Write(4, 7*1024+3, &rec); !errors.Is(err, ErrBadPageSize) {
					t.Fatalf("Write = %v, want ErrBadPageSize", err)
				}
			}
			s.Unlock(4, 7)
			putRec(t, s, 4, 8*1024, recOf(4, 8*1024, 1)) // other pages work
			commit(t, s)
			if got, _ := os.ReadFile(file); !bytes.Equal(got, bad) {
				t.Fatal("the wrong-size page file was changed")
			}
			good := make([]byte, PageFileSize) // once repaired, the page is read
			good[17*3] = 0x42
			if err := os.WriteFile(file, good, 0o640); err != nil {
				t.Fatal(err)
			}
			if got := getRec(t, s, 4, 7*1024+3); got[0] != 0x42 {
				t.Fatalf("repaired page read %x", got)
			}
		})
	}
}

func TestNoRecord(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{})
	for _, c := range []struct {
		den  int8
		page uint32
	}{{7, 0}, {-9, 0}, {127, 0}, {-128, 0}, {0, 1000}, {6, 1 << 31}} {
		if err := s.Lock(c.den, c.page); !errors.Is(err, ErrNoRecord) {
			t.Errorf("Lock(%d, %d) = %v", c.den, c.page, err)
		}
	}
	if err := s.Lock(0, 999); err != nil {
		t.Fatal(err)
	}
	defer s.Unlock(0, 999)
	var rec Record
	for _, c := range []struct {
		den int8
		sn  uint32
	}{{0, 1_024_000}, {7, 5}, {-9, 5}} {
		if _, err := s.Read(c.den, c.sn, &rec); !errors.Is(err, ErrNoRecord) {
			t.Errorf("Read(%d, %d) = %v", c.den, c.sn, err)
		}
		if err := s.Write(c.den, c.sn, &rec); !errors.Is(err, ErrNoRecord) {
			t.Errorf("Write(%d, %d) = %v", c.den, c.sn, err)
		}
	}
}

func TestReadWriteNeedLock(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{})
	var rec Record
	if _, err := s.Read(1, 5, &rec); !errors.Is(err, errNotLocked) {
		t.Errorf("Read without Lock = %v", err)
	}
	if err := s.Write(1, 5, &rec); !errors.Is(err, errNotLocked) {
		t.Errorf("Write without Lock = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Unlock of a page not locked did not panic")
		}
	}()
	s.Unlock(1, 0)
}

// Read committed: a value written and not yet synced reads as pending,
// for the writer and for the next holder of the lock, until its round
// syncs.
func TestReadCommitted(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	const den, sn = 3, 40*1024 + 7
	rec := recOf(den, sn, 9)
	putRec(t, s, den, sn, rec)
	if got, pending := readRec(t, s, den, sn); got != rec || !pending {
		t.Fatalf("before Commit: %x pending %v, want %x pending", got, pending, rec)
	}
	if got := pageRecord(t, root, den, sn); got != (Record{}) {
		t.Fatalf("page file holds %x before the journal sync (redo before write)", got)
	}
	commit(t, s)
	if got, pending := readRec(t, s, den, sn); got != rec || pending {
		t.Fatalf("after Commit: %x pending %v", got, pending)
	}
	if st := s.Stats(); st.JournalSyncs != 1 || st.PendingRecords != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Lock waits at most LockTimeout, and a waiter does not hold up other
// pages or Commit.
func TestLockTimeout(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{LockTimeout: 30 * time.Millisecond})
	if err := s.Lock(0, 1); err != nil {
		t.Fatal(err)
	}
	got := make(chan error)
	go func() { got <- s.Lock(0, 1) }()
	putRec(t, s, 0, 5*1024, recOf(0, 5*1024, 1))
	commit(t, s)
	if err := <-got; !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("second Lock of a held page = %v, want ErrLockTimeout", err)
	}
	if s.Stats().LockTimeouts != 1 {
		t.Errorf("LockTimeouts = %d", s.Stats().LockTimeouts)
	}
	go func() { got <- s.Lock(0, 1) }()
	time.Sleep(5 * time.Millisecond)
	s.Unlock(0, 1)
	if err := <-got; err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	s.Unlock(0, 1)
}

// Regression for the orphan page of the cached store: with a cache of two
// pages, a page evicted while a journal round held it came back as a
// second lock object, and two requests held "the same" lock. Here the
// store keeps at most minOpenFiles files open while every page of the
// test goes in and out of the open set during commit rounds and
// checkpoints; a held page must still exclude every other holder, and
// no increment may be lost.
func TestOnePageLockWhateverTheOpenFiles(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{OpenFiles: 1, JournalLimit: 4 << 10, LockTimeout: 10 * time.Second})
	if s.opts.OpenFiles != minOpenFiles {
		t.Fatalf("OpenFiles = %d, want the floor %d", s.opts.OpenFiles, minOpenFiles)
	}
	const pages, workers, incs = 4 * minOpenFiles, 8, 150
	var held [pages]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range incs {
				pg := rng.Uint32N(pages)
				den := int8(pg%15) - 8
				if err := s.Lock(den, pg); err != nil {
					errs <- err
					return
				}
				if held[pg].Add(1) != 1 {
					errs <- fmt.Errorf("page %d held twice", pg)
				}
				sn := pg * 1024
				var rec Record
				_, err := s.Read(den, sn, &rec)
				if err == nil {
					binary.BigEndian.PutUint64(rec[:], binary.BigEndian.Uint64(rec[:])+1)
					err = s.Write(den, sn, &rec)
				}
				held[pg].Add(-1)
				s.Unlock(den, pg)
				if err == nil {
					err = s.Commit(context.Background())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Files in use stay open: a checkpoint may be syncing some now.
	if n := s.Stats().OpenFiles; n > minOpenFiles+syncWorkers {
		t.Errorf("%d page files open, bound %d (+%d in use by a checkpoint)", n, minOpenFiles, syncWorkers)
	}
	if s.Stats().Checkpoints == 0 {
		t.Error("no checkpoint ran: the test did not exercise them")
	}
	total := func(s *PageStore) (n uint64) {
		for pg := range uint32(pages) {
			rec := getRec(t, s, int8(pg%15)-8, pg*1024)
			n += binary.BigEndian.Uint64(rec[:])
		}
		return n
	}
	if n := total(s); n != workers*incs {
		t.Fatalf("increments = %d, want %d: an update was lost", n, workers*incs)
	}
	s.kill()
	if n := total(openStore(t, root, PageStoreOptions{})); n != workers*incs {
		t.Fatalf("after a crash and replay, increments = %d, want %d", n, workers*incs)
	}
}

// 50 goroutines that each Write and Commit at once share few rounds.
func TestGroupCommit(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	const n = 50
	var ready, wg sync.WaitGroup
	ready.Add(n)
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			sn := uint32(i) * 1024 * 7
			rec := recOf(1, sn, byte(i))
			if err := s.Lock(1, abi.Page(sn)); err != nil {
				errs[i] = err
				return
			}
			errs[i] = s.Write(1, sn, &rec)
			s.Unlock(1, abi.Page(sn))
			ready.Done()
			<-start
			if errs[i] == nil {
				errs[i] = s.Commit(context.Background())
			}
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	commit(t, s) // an empty round: the earlier ones wrote in place
	st := s.Stats()
	if st.CommitRounds > 6 || st.JournalSyncs > st.CommitRounds {
		t.Errorf("%d commits took %d rounds and %d journal syncs", n, st.CommitRounds, st.JournalSyncs)
	}
	for i := range n {
		sn := uint32(i) * 1024 * 7
		if got := pageRecord(t, root, 1, sn); got != recOf(1, sn, byte(i)) {
			t.Fatalf("record %d not in its page after Commit: %x", i, got)
		}
	}
}

// Close syncs the pages and removes the journals: the data root holds the
// node's files alone, and they hold every record.
func TestCloseLeavesNodeLayout(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{JournalLimit: 1 << 10})
	for i := range uint32(300) {
		putRec(t, s, int8(i%15)-8, i*3413%1_024_000, recOf(int8(i%15)-8, i*3413%1_024_000, byte(i)))
		if i%7 == 0 {
			commit(t, s)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "Data" {
		t.Fatalf("data root after Close holds %v, want Data alone", entries)
	}
	for i := range uint32(300) {
		den, sn := int8(i%15)-8, i*3413%1_024_000
		if got := pageRecord(t, root, den, sn); got != recOf(den, sn, byte(i)) {
			t.Fatalf("record (%d, %d) = %x after Close", den, sn, got)
		}
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}
	if err := s.Lock(1, 1); err != nil { // locks need no file
		t.Fatal(err)
	}
	rec := recOf(1, 1024, 1)
	if err := s.Write(1, 1024, &rec); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
}

func TestStaleTempsRemoved(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "Data", "01", "00")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".0003.bin.tmp", "0003.bin"} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, PageFileSize), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, journalTemp), []byte("partial"), 0o640); err != nil {
		t.Fatal(err)
	}
	openStore(t, root, PageStoreOptions{})
	for _, p := range []string{filepath.Join(dir, ".0003.bin.tmp"), filepath.Join(root, journalTemp)} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived open (err %v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "0003.bin")); err != nil {
		t.Errorf("the page itself: %v", err)
	}
}

// BenchmarkWriteCommit measures Write+Commit of one record per operation
// from 1, 16 and 64 goroutines, as a server that commits before every
// response would: on one page, and spread over a full-size database (all
// 15,000 page files present, sparse, as on a node).
func BenchmarkWriteCommit(b *testing.B) {
	full := b.TempDir()
	for i := range abi.PageCount {
		key := PageKey{int8(i/abi.PagesPerDen + abi.MinDen), uint32(i % abi.PagesPerDen)}
		name := filepath.Join(full, "Data", filepath.FromSlash(PagePath(key)))
		if key.Page%256 == 0 {
			if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
				b.Fatal(err)
			}
		}
		f, err := os.Create(name)
		if err == nil {
			err = errors.Join(f.Truncate(PageFileSize), f.Close())
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, spread := range []struct {
		name  string
		pages uint32 // per den
		dens  int
	}{
		{"one", 1, 1},
		{"all", 1000, 15},
	} {
		for _, g := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("pages=%s/goroutines=%d", spread.name, g), func(b *testing.B) {
				benchWriteCommit(b, full, g, spread.pages, spread.dens)
			})
		}
	}
}

func benchWriteCommit(b *testing.B, root string, g int, pagesPerDen uint32, dens int) {
	s, err := OpenPageStore(root, PageStoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range g {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
			for k := uint64(1); left.Add(-1) >= 0; k++ {
				den := int8(rng.IntN(dens) - 8)
				pg := rng.Uint32N(pagesPerDen)
				sn := pg*1024 + rng.Uint32N(1024)
				var rec Record
				binary.BigEndian.PutUint64(rec[:], k)
				rec[8] = byte(i)
				if err := s.Lock(den, pg); err != nil {
					b.Error(err)
					return
				}
				err := s.Write(den, sn, &rec)
				s.Unlock(den, pg)
				if err == nil {
					err = s.Commit(context.Background())
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
	if st.CommitRounds > 0 {
		b.ReportMetric(float64(b.N)/float64(st.CommitRounds), "commits/round")
	}
}
