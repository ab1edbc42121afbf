package storage

import (
	"bytes"
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

func getRec(t testing.TB, s *PageStore, den int8, sn uint32) Record {
	t.Helper()
	if err := s.Lock(den, abi.Page(sn)); err != nil {
		t.Fatalf("Lock(%d, %d): %v", den, abi.Page(sn), err)
	}
	defer s.Unlock(den, abi.Page(sn))
	var rec Record
	if err := s.Read(den, sn, &rec); err != nil {
		t.Fatalf("Read(%d, %d): %v", den, sn, err)
	}
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

func commit(t testing.TB, s *PageStore) {
	t.Helper()
	if err := s.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
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
			if got := getRec(t, s, c.den, c.sn); got != want {
				t.Fatalf("record = %x, want %x", got, want)
			}
			// A neighbour comes from its own offset too.
			nb := c.sn ^ 1
			var wantNb Record
			copy(wantNb[:], pg[17*int(nb%1024):])
			if got := getRec(t, s, c.den, nb); got != wantNb {
				t.Fatalf("neighbour record = %x, want %x", got, wantNb)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			after, err := os.ReadFile(file)
			if err != nil || !bytes.Equal(after, pg) {
				t.Fatalf("reading changed the page file (err %v)", err)
			}
		})
	}
}

func TestLayoutWriteLandsAtOffset(t *testing.T) {
	for _, c := range layoutCases {
		t.Run(c.path+fmt.Sprint("@", c.sn), func(t *testing.T) {
			root := t.TempDir()
			s := openStore(t, root, PageStoreOptions{})
			rec := recOf(c.den, c.sn, 0x3c)
			putRec(t, s, c.den, c.sn, rec)
			commit(t, s)
			writeBack(t, s)
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
	commit(t, s)
	denDir := filepath.Join(root, "Data", "02")
	if _, err := os.Stat(denDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reading created %s (err %v)", denDir, err)
	}

	rec := recOf(den, sn, 1)
	putRec(t, s, den, sn, rec)
	file := filepath.Join(root, "Data", "02", "00", "0005.bin")
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("page file exists before Commit (err %v)", err)
	}
	commit(t, s)
	// Commit made it durable in the journal; the write-back writes the
	// page file.
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("page file exists before write-back (err %v)", err)
	}
	writeBack(t, s)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != PageFileSize || !bytes.Equal(data[17*9:17*10], rec[:]) {
		t.Fatalf("page file: %d bytes, record %x", len(data), data[17*9:17*10])
	}
	if m := mode(t, file); m != 0o640 {
		t.Errorf("page file mode %o, want 640", m)
	}
	for _, d := range []string{denDir, filepath.Dir(file)} {
		if m := mode(t, d); m != 0o750 {
			t.Errorf("%s mode %o, want 750", d, m)
		}
	}
	if st := s.Stats(); st.PagesSynced != 1 || st.CommitRounds != 1 || st.DirtyPages != 0 ||
		st.JournalSyncs != 1 || st.JournalBytes != batchHeaderSize+entrySize {
		t.Errorf("stats %+v", st)
	}
	// No temporary file is left.
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("page folder holds %d entries", len(entries))
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
			for range 2 { // the failure is not cached
				err := s.Lock(4, 7)
				if !errors.Is(err, ErrBadPageSize) || !strings.Contains(err.Error(), file) {
					t.Fatalf("Lock = %v, want ErrBadPageSize naming %s", err, file)
				}
			}
			// The page is not locked after the failure and other pages work.
			var rec Record
			if err := s.Read(4, 7*1024, &rec); err == nil {
				t.Fatal("Read of a page whose Lock failed succeeded")
			}
			putRec(t, s, 4, 8*1024, recOf(4, 8*1024, 1))
			commit(t, s)
			if got, _ := os.ReadFile(file); !bytes.Equal(got, bad) {
				t.Fatal("the wrong-size page file was changed")
			}
			// Once repaired, the page is read.
			good := make([]byte, PageFileSize)
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
		if err := s.Read(c.den, c.sn, &rec); !errors.Is(err, ErrNoRecord) {
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
	if err := s.Read(1, 5, &rec); err == nil {
		t.Error("Read without Lock succeeded")
	}
	if err := s.Write(1, 5, &rec); err == nil {
		t.Error("Write without Lock succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("Unlock of a page not locked did not panic")
		}
	}()
	s.Unlock(1, 0)
}

func TestCacheHitsAndUnchangedWrite(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{})
	getRec(t, s, 0, 1)
	getRec(t, s, 0, 2)
	putRec(t, s, 0, 3, Record{}) // the same bytes: nothing to write
	st := s.Stats()
	if st.CacheMisses != 1 || st.CacheHits != 2 || st.CachedPages != 1 || st.DirtyPages != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A small cache stays bounded while many pages are written without Commit;
// the dirty pages are written back before they are evicted, never lost.
func TestEvictionBoundsMemoryAndLosesNothing(t *testing.T) {
	root := t.TempDir()
	const limit = 4 * PageFileSize
	s := openStore(t, root, PageStoreOptions{CacheBytes: limit})
	type key struct {
		den int8
		sn  uint32
	}
	var keys []key
	for i := range 60 {
		keys = append(keys, key{int8(i%15 - 8), uint32(i*1024*7%1_024_000) + uint32(i)})
	}
	var maxCached int64
	for round := range 3 {
		for _, k := range keys {
			putRec(t, s, k.den, k.sn, recOf(k.den, k.sn, byte(round)))
			maxCached = max(maxCached, s.Stats().CachedBytes)
		}
		// Everything reads back, from the cache or from disk.
		for _, k := range keys {
			if got := getRec(t, s, k.den, k.sn); got != recOf(k.den, k.sn, byte(round)) {
				t.Fatalf("round %d: record (%d, %d) = %x", round, k.den, k.sn, got)
			}
			maxCached = max(maxCached, s.Stats().CachedBytes)
		}
	}
	st := s.Stats()
	t.Logf("max cached %d bytes (limit %d), stats %+v", maxCached, limit, st)
	if maxCached > limit+2*PageFileSize {
		t.Errorf("cache grew to %d bytes, limit %d", maxCached, limit)
	}
	if st.Evictions == 0 || st.WriteBackRounds == 0 {
		t.Errorf("no eviction or write-back: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, root, PageStoreOptions{CacheBytes: limit})
	for _, k := range keys {
		if got := getRec(t, s2, k.den, k.sn); got != recOf(k.den, k.sn, 2) {
			t.Fatalf("after reopen: record (%d, %d) = %x", k.den, k.sn, got)
		}
	}
}

// Writers of one page under its lock lose no update, also with commits
// and write-back going on.
func TestConcurrentWritersSamePage(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{CacheBytes: PageFileSize, WriteBack: time.Millisecond})
	const den, pg, workers, incs = 2, 3, 16, 200
	counter := uint32(pg*1024 + 5)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			own := uint32(pg*1024 + 100 + w)
			for i := range incs {
				if err := s.Lock(den, pg); err != nil {
					errs <- err
					return
				}
				var rec Record
				err := s.Read(den, counter, &rec)
				if err == nil {
					binary.BigEndian.PutUint64(rec[:], binary.BigEndian.Uint64(rec[:])+1)
					err = s.Write(den, counter, &rec)
				}
				if err == nil {
					mine := recOf(den, own, byte(i))
					err = s.Write(den, own, &mine)
				}
				s.Unlock(den, pg)
				if err == nil && i%20 == 0 {
					err = s.Commit()
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
	check := func(s *PageStore) {
		t.Helper()
		rec := getRec(t, s, den, counter)
		if n := binary.BigEndian.Uint64(rec[:]); n != workers*incs {
			t.Fatalf("counter = %d, want %d", n, workers*incs)
		}
		for w := range workers {
			own := uint32(pg*1024 + 100 + w)
			if got := getRec(t, s, den, own); got != recOf(den, own, incs-1) {
				t.Fatalf("record of worker %d = %x", w, got)
			}
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openStore(t, root, PageStoreOptions{}))
}

// A Write to a page while a write-back flushes it, or a journal round
// copies it, is not lost: after the last Commit and write-back the page
// file holds the last value.
func TestWriteDuringFlushNotLost(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	const den, sn = 5, 77*1024 + 3
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Commit(); err != nil {
				t.Error(err)
				return
			}
			if err := s.writeBackNow(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var last uint64
	for i := range uint64(2000) {
		var rec Record
		binary.BigEndian.PutUint64(rec[:], i+1)
		putRec(t, s, den, sn, rec)
		last = i + 1
	}
	close(stop)
	wg.Wait()
	commit(t, s)
	writeBack(t, s)
	data, err := os.ReadFile(filepath.Join(root, "Data", "05", "00", "004d.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(data[17*3:]); got != last {
		t.Fatalf("page file holds %d, want %d", got, last)
	}
	if s.Stats().DirtyPages != 0 {
		t.Fatal("page still dirty after write-back")
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
			den, sn := int8(i%15-8), uint32(i*1024+i)
			rec := recOf(den, sn, 9)
			if err := s.Lock(den, abi.Page(sn)); err != nil {
				errs[i] = err
				ready.Done()
				return
			}
			errs[i] = s.Write(den, sn, &rec)
			s.Unlock(den, abi.Page(sn))
			ready.Done()
			<-start
			if errs[i] == nil {
				errs[i] = s.Commit()
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
	st := s.Stats()
	t.Logf("%d commits: %d rounds, %d journal syncs", n, st.CommitRounds, st.JournalSyncs)
	if st.CommitRounds >= n || st.CommitRounds == 0 || st.JournalSyncs > st.CommitRounds {
		t.Errorf("%d commit rounds, %d journal syncs for %d concurrent commits", st.CommitRounds, st.JournalSyncs, n)
	}
	if st.PagesSynced != 0 {
		t.Errorf("commits wrote %d page files", st.PagesSynced)
	}
	// Durable: after a crash, the reopened store replays the journal into
	// the page files, read by hand.
	s.crash()
	openStore(t, root, PageStoreOptions{})
	for i := range n {
		den, sn := int8(i%15-8), uint32(i*1024+i)
		file := filepath.Join(root, "Data", fmt.Sprintf("%02x", uint8(den)), "00", fmt.Sprintf("%04x.bin", i))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if want := recOf(den, sn, 9); !bytes.Equal(data[17*i:17*i+17], want[:]) {
			t.Fatalf("%s: record not durable", file)
		}
	}
}

func TestCloseFlushesAndReopen(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	type kv struct {
		den int8
		sn  uint32
	}
	var all []kv
	for den := int8(-8); den <= 6; den++ {
		for _, sn := range []uint32{0, 1023, 1024, 500_000, 1_023_999} {
			all = append(all, kv{den, sn})
			putRec(t, s, den, sn, recOf(den, sn, 7))
		}
	}
	// No Commit: Close writes everything back.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}
	if err := s.Lock(0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Lock after Close = %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	s2 := openStore(t, root, PageStoreOptions{})
	for _, k := range all {
		if got := getRec(t, s2, k.den, k.sn); got != recOf(k.den, k.sn, 7) {
			t.Fatalf("after reopen: (%d, %d) = %x", k.den, k.sn, got)
		}
	}
	if st := s2.Stats(); st.CacheMisses != uint64(len(all)/5*4) {
		t.Errorf("%d misses for %d pages", st.CacheMisses, len(all)/5*4)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{})
	if err := s.Lock(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rec := recOf(1, 1024, 1)
	if err := s.Write(1, 1024, &rec); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	s.Unlock(1, 1)
}

func TestBackgroundWriteBack(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{WriteBack: 20 * time.Millisecond})
	putRec(t, s, 0, 42, recOf(0, 42, 1))
	file := filepath.Join(root, "Data", "00", "00", "0000.bin")
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().DirtyPages != 0 {
		if time.Now().After(deadline) {
			t.Fatal("dirty page never written back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := recOf(0, 42, 1); !bytes.Equal(data[17*42:17*43], want[:]) {
		t.Fatal("written-back page lacks the record")
	}
	if st := s.Stats(); st.WriteBackRounds == 0 || st.CommitRounds != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A write-back round that cannot write a page fails, keeps the page dirty
// and the journal, and succeeds once the obstacle is gone. Commit is not
// affected: it only writes the journal.
func TestFailedRoundKeepsPageDirty(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	putRec(t, s, 1, 3, recOf(1, 3, 1))
	putRec(t, s, 2, 3, recOf(2, 3, 1))
	// A file where the den folder should be.
	blocker := filepath.Join(root, "Data", "01")
	if err := os.WriteFile(blocker, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	if err := s.writeBackNow(); err == nil {
		t.Fatal("write-back succeeded with a file in place of Data/01")
	}
	st := s.Stats()
	if st.DirtyPages != 1 || st.SyncErrors != 1 || st.PagesSynced != 1 {
		t.Fatalf("stats after the failed round %+v", st)
	}
	if n := len(journalEntries(t, root)); n != 2 {
		t.Fatalf("journal holds %d entries after the failed write-back, want 2", n)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	writeBack(t, s)
	if n := len(journalEntries(t, root)); n != 0 {
		t.Fatalf("journal holds %d entries after the write-back, want 0", n)
	}
	data, err := os.ReadFile(filepath.Join(root, "Data", "01", "00", "0000.bin"))
	if want := recOf(1, 3, 1); err != nil || !bytes.Equal(data[17*3:17*4], want[:]) {
		t.Fatalf("page not written after the retry (err %v)", err)
	}
}

func TestStaleTempPagesRemoved(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "Data", "01", "00")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{".0000.bin.tmp", "0001.bin"} {
		if err := os.WriteFile(filepath.Join(dir, n), make([]byte, 100), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	openStore(t, root, PageStoreOptions{})
	if _, err := os.Stat(filepath.Join(dir, ".0000.bin.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("stale temporary page kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "0001.bin")); err != nil {
		t.Error("a page file was removed")
	}
}

// Several Lock waiters of one page queue without blocking other pages.
func TestLockWaitDoesNotBlockOtherPages(t *testing.T) {
	s := openStore(t, t.TempDir(), PageStoreOptions{})
	if err := s.Lock(0, 1); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	got := make(chan struct{})
	go func() {
		close(waiting)
		if err := s.Lock(0, 1); err != nil {
			t.Error(err)
		}
		close(got)
		s.Unlock(0, 1)
	}()
	<-waiting
	// Another page, and Commit, proceed while the waiter waits.
	putRec(t, s, 0, 5*1024, recOf(0, 5*1024, 1))
	commit(t, s)
	select {
	case <-got:
		t.Fatal("second Lock of a locked page succeeded")
	case <-time.After(20 * time.Millisecond):
	}
	s.Unlock(0, 1)
	<-got
}

// BenchmarkWriteCommit measures Write+Commit of one record per operation
// from 1, 8, 16, 64 and 256 goroutines, as a server that commits before
// every response would. Every operation writes one record of a random page
// of a random den, so that concurrent operations are on different pages
// and a commit round covers many pages.
//
//   - pages=960: 64 pages of each den (16 MiB), which the default cache
//     holds: the commit path alone.
//   - pages=all: the whole database (15,000 pages, 261 MB) with the
//     default cache (64 MiB): once the cache is full of dirty pages, each
//     Lock of a page not cached waits for a write-back round, so page
//     write-back bounds the rate.
//   - pages=all/cache=db: the same with a cache that holds the database.
func BenchmarkWriteCommit(b *testing.B) {
	for _, spread := range []struct {
		name  string
		pages uint32 // per den
		cache int64
	}{
		{"960", 64, 0},
		{"all", 1000, 0},
		{"all/cache=db", 1000, 15 * 1000 * PageFileSize},
	} {
		for _, g := range []int{1, 8, 16, 64, 256} {
			b.Run(fmt.Sprintf("pages=%s/goroutines=%d", spread.name, g), func(b *testing.B) {
				benchWriteCommit(b, g, spread.pages, spread.cache)
			})
		}
	}
}

func benchWriteCommit(b *testing.B, g int, pagesPerDen uint32, cache int64) {
	s := openStore(b, b.TempDir(), PageStoreOptions{CacheBytes: cache})
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range g {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
			for k := uint64(1); left.Add(-1) >= 0; k++ {
				den := int8(rng.IntN(15) - 8)
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
					err = s.Commit()
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
	s.crash() // the write-back of Close is not measured; skip it
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
	b.ReportMetric(float64(st.CommitRounds)/float64(b.N), "rounds/op")
	if st.CommitRounds > 0 {
		b.ReportMetric(float64(b.N)/float64(st.CommitRounds), "commits/round")
	}
	b.ReportMetric(float64(st.JournalSyncs)/float64(b.N), "jsyncs/op")
	b.ReportMetric(float64(st.PagesSynced)/float64(b.N), "pages/op")
}
