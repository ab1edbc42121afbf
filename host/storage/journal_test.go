package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// writeBackNow runs a write-back round and returns its outcome.
func (s *PageStore) writeBackNow() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	r := s.joinWriteBackLocked()
	s.mu.Unlock()
	<-r.done
	return r.err
}

func writeBack(t testing.TB, s *PageStore) {
	t.Helper()
	if err := s.writeBackNow(); err != nil {
		t.Fatalf("write-back: %v", err)
	}
}

// jent is a journal entry, encoded by hand below after the format in
// journal.go, independently of the store's code.
type jent struct {
	den int8
	sn  uint32
	rec Record
}

func jentOf(den int8, sn uint32, tag byte) jent { return jent{den, sn, recOf(den, sn, tag)} }

func handHeader(salt uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte("RKXJRNL1"), salt)
}

func handBatch(salt, seq uint64, es ...jent) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b[0:], salt)
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(es)))
	for _, e := range es {
		b = append(b, byte(e.den))
		b = binary.LittleEndian.AppendUint32(b, e.sn)
		b = append(b, e.rec[:]...)
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write(b[:20])
	h.Write(b[24:])
	binary.LittleEndian.PutUint32(b[20:], h.Sum32())
	return b
}

// journalEntries parses the data root's journal by hand: the entries of
// its good batches (none when there is no journal).
func journalEntries(t testing.TB, root string) []jent {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "raidakx.journal"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 16 || string(data[:8]) != "RKXJRNL1" {
		t.Fatalf("journal header %x", data[:min(16, len(data))])
	}
	salt := binary.LittleEndian.Uint64(data[8:])
	var out []jent
	for off, seq := 16, uint64(1); len(data)-off >= 24; seq++ {
		h := data[off : off+24]
		n := int(binary.LittleEndian.Uint32(h[16:]))
		if binary.LittleEndian.Uint64(h) != salt || binary.LittleEndian.Uint64(h[8:]) != seq || n == 0 || off+24+22*n > len(data) {
			break
		}
		if !bytes.Equal(handBatch(salt, seq, decodeJents(data[off+24:off+24+22*n])...), data[off:off+24+22*n]) {
			break
		}
		out = append(out, decodeJents(data[off+24:off+24+22*n])...)
		off += 24 + 22*n
	}
	return out
}

func decodeJents(b []byte) []jent {
	var out []jent
	for ; len(b) >= 22; b = b[22:] {
		e := jent{den: int8(b[0]), sn: binary.LittleEndian.Uint32(b[1:])}
		copy(e.rec[:], b[5:22])
		out = append(out, e)
	}
	return out
}

func writeJournal(t testing.TB, root string, parts ...[]byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, "raidakx.journal"), slices.Concat(parts...), 0o640); err != nil {
		t.Fatal(err)
	}
}

// pageRecord reads a record from its page file by hand (zero when the
// file does not exist).
func pageRecord(t testing.TB, root string, den int8, sn uint32) Record {
	t.Helper()
	var r Record
	data, err := os.ReadFile(filepath.Join(root, "Data", filepath.FromSlash(pagePath(PageKey{den, abi.Page(sn)}))))
	if errors.Is(err, fs.ErrNotExist) {
		return r
	}
	if err != nil {
		t.Fatal(err)
	}
	copy(r[:], data[17*(sn%1024):])
	return r
}

func journalSize(t testing.TB, root string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(root, "raidakx.journal"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A journal written by hand is replayed at open: its records are in the
// store and in the page files, and the journal is emptied.
func TestJournalReplayHandMade(t *testing.T) {
	root := t.TempDir()
	// A page with records of its own, which the journal changes in part.
	pg := make([]byte, PageFileSize)
	for i := range pg {
		pg[i] = byte(i * 3)
	}
	file := filepath.Join(root, "Data", "01", "00", "0000.bin")
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pg, 0o640); err != nil {
		t.Fatal(err)
	}
	const salt = 0x0123456789abcdef
	writeJournal(t, root, handHeader(salt),
		handBatch(salt, 1, jentOf(1, 7, 1), jentOf(-8, 1_023_999, 1), jentOf(6, 500_000, 1)),
		handBatch(salt, 2, jentOf(1, 7, 2)), // the last entry of a record wins
		handBatch(salt, 3, jentOf(1, 1023, 3)))
	s := openStore(t, root, PageStoreOptions{})
	want := map[RecordKey]Record{
		{1, 7}:          recOf(1, 7, 2),
		{-8, 1_023_999}: recOf(-8, 1_023_999, 1),
		{6, 500_000}:    recOf(6, 500_000, 1),
		{1, 1023}:       recOf(1, 1023, 3),
	}
	for k, w := range want {
		if got := getRec(t, s, k.Den, k.SN); got != w {
			t.Errorf("record (%d, %d) = %x, want %x", k.Den, k.SN, got, w)
		}
		if got := pageRecord(t, root, k.Den, k.SN); got != w {
			t.Errorf("page file record (%d, %d) = %x, want %x", k.Den, k.SN, got, w)
		}
	}
	// The rest of the hand-made page is untouched.
	var other Record
	copy(other[:], pg[17*8:])
	if got := getRec(t, s, 1, 8); got != other {
		t.Errorf("untouched record (1, 8) = %x, want %x", got, other)
	}
	if n := journalSize(t, root); n != 16 {
		t.Errorf("journal is %d bytes after the replay, want an empty one (16)", n)
	}
	if st := s.Stats(); st.DirtyPages != 0 || st.PagesSynced != 3 {
		t.Errorf("stats after the replay %+v", st)
	}
	// A clean Close removes the journal; the next open finds nothing to do.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "raidakx.journal")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal after Close: %v", err)
	}
	s2 := openStore(t, root, PageStoreOptions{})
	if got := getRec(t, s2, 1, 7); got != recOf(1, 7, 2) {
		t.Errorf("after reopen (1, 7) = %x", got)
	}
}

// A journal cut anywhere in its last batch, or damaged, is applied up to
// its last good batch; the rest is ignored.
func TestJournalTornTail(t *testing.T) {
	const salt = 77
	b1 := handBatch(salt, 1, jentOf(2, 10, 1), jentOf(3, 20, 1))
	b2 := handBatch(salt, 2, jentOf(2, 10, 2), jentOf(4, 2048, 2))
	b3 := handBatch(salt, 3, jentOf(2, 10, 3), jentOf(5, 4096, 3), jentOf(-1, 3, 3))
	full := slices.Concat(handHeader(salt), b1, b2, b3)
	end2 := 16 + len(b1) + len(b2)
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x40
		return b
	}
	cases := []struct {
		name string
		data []byte
		good int // batches applied
	}{
		{"whole", full, 3},
		{"cut in header", full[:end2+10], 2},
		{"cut after header", full[:end2+24], 2},
		{"cut mid entry", full[:end2+24+22+9], 2},
		{"cut one byte short", full[:len(full)-1], 2},
		{"zeros after", slices.Concat(full[:end2], make([]byte, 4096)), 2},
		{"bad crc in last", flip(full, len(full)-3), 2},
		{"bad crc in second", flip(full, end2-5), 1},
		{"stale batch of another file", slices.Concat(full[:end2], handBatch(salt+1, 3, jentOf(2, 10, 9))), 2},
		{"stale batch of this file", slices.Concat(full[:end2], b1), 2},
		{"header only", full[:16], 0},
		{"empty file", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeJournal(t, root, c.data)
			s := openStore(t, root, PageStoreOptions{})
			want := map[RecordKey]Record{}
			for _, b := range [][]byte{b1, b2, b3}[:c.good] {
				for _, e := range decodeJents(b[24:]) {
					want[RecordKey{e.den, e.sn}] = e.rec
				}
			}
			for _, b := range [][]byte{b1, b2, b3} {
				for _, e := range decodeJents(b[24:]) {
					k := RecordKey{e.den, e.sn}
					if got := getRec(t, s, e.den, e.sn); got != want[k] {
						t.Errorf("record (%d, %d) = %x, want %x", e.den, e.sn, got, want[k])
					}
					if got := pageRecord(t, root, e.den, e.sn); got != want[k] {
						t.Errorf("page file record (%d, %d) = %x, want %x", e.den, e.sn, got, want[k])
					}
				}
			}
			if n := journalSize(t, root); n != 16 {
				t.Errorf("journal is %d bytes after the replay, want 16", n)
			}
		})
	}
}

// A journal that is not one, or that holds an entry no store writes, makes
// OpenPageStore fail and is left in place.
func TestJournalUnusable(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"magic", append([]byte("RKXJRNL9"), make([]byte, 40)...), "not a journal"},
		{"short header", []byte("RKXJRN"), "header cut short"},
		{"no such record", slices.Concat(handHeader(5), handBatch(5, 1, jentOf(7, 1, 1))), "does not exist"},
		{"sn out of range", slices.Concat(handHeader(5), handBatch(5, 1, jentOf(0, 1_024_000, 1))), "does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeJournal(t, root, c.data)
			s, err := OpenPageStore(root, PageStoreOptions{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "raidakx.journal") {
				t.Errorf("error %q, want one naming the journal with %q", err, c.want)
			}
			if got, _ := os.ReadFile(filepath.Join(root, "raidakx.journal")); !bytes.Equal(got, c.data) {
				t.Error("the journal was changed")
			}
		})
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "raidakx.journal"), 0o750); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenPageStore(root, PageStoreOptions{}); err == nil {
		s.Close()
		t.Fatal("opened with a folder as the journal")
	}
}

// Commit writes the journal only; after a crash the reopened store has
// every committed record, in the page files too.
func TestCommitIsJournaledAndSurvivesCrash(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	var all []jent
	for i := range 40 {
		e := jentOf(int8(i%15-8), uint32(i*25_000+i), byte(i))
		all = append(all, e)
		putRec(t, s, e.den, e.sn, e.rec)
		if i%10 == 9 {
			commit(t, s)
		}
	}
	// Rewritten: the last value counts.
	all[3].rec = recOf(all[3].den, all[3].sn, 0xee)
	putRec(t, s, all[3].den, all[3].sn, all[3].rec)
	commit(t, s)
	st := s.Stats()
	if st.PagesSynced != 0 || st.JournalSyncs != 5 || st.CommitRounds != 5 || st.DirtyPages != 40 {
		t.Errorf("stats %+v", st)
	}
	if st.JournalBytes != uint64(5*24+41*22) {
		t.Errorf("JournalBytes %d", st.JournalBytes)
	}
	entries := journalEntries(t, root)
	if len(entries) != 41 || entries[40] != all[3] {
		t.Fatalf("journal holds %d entries, last %+v", len(entries), entries[len(entries)-1])
	}
	if _, err := os.Stat(filepath.Join(root, "Data", "f8")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Commit wrote page files (err %v)", err)
	}
	// Nothing changed since: Commit returns at once.
	commit(t, s)
	if s.Stats().JournalSyncs != 5 {
		t.Error("Commit with nothing to journal synced the journal")
	}
	s.crash()
	s2 := openStore(t, root, PageStoreOptions{})
	for _, e := range all {
		if got := getRec(t, s2, e.den, e.sn); got != e.rec {
			t.Errorf("record (%d, %d) = %x, want %x", e.den, e.sn, got, e.rec)
		}
		if got := pageRecord(t, root, e.den, e.sn); got != e.rec {
			t.Errorf("page file record (%d, %d) = %x, want %x", e.den, e.sn, got, e.rec)
		}
	}
	if n := len(journalEntries(t, root)); n != 0 {
		t.Errorf("%d journal entries after the replay", n)
	}
}

// Records written and committed while a write-back round writes pages
// survive a crash, whether it comes before or after the round cut the
// journal; so do records committed after the round.
func TestWritesDuringWriteBackSurviveCrash(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(map[bool]string{false: "crash before the cut", true: "crash after the cut"}[cut], func(t *testing.T) {
			root := t.TempDir()
			var (
				armed    atomic.Bool
				once     sync.Once
				inFlush  = make(chan struct{})
				resume   = make(chan struct{})
				cutCalls atomic.Int32
			)
			hooks := &pageHooks{
				flushing: func() {
					if armed.Load() {
						once.Do(func() {
							close(inFlush)
							<-resume
						})
					}
				},
				checkpoint: func() bool {
					if armed.Load() {
						cutCalls.Add(1)
						return cut
					}
					return true
				},
			}
			s := openStore(t, root, PageStoreOptions{hooks: hooks})
			a1, b1 := jentOf(3, 5*1024+1, 1), jentOf(4, 9*1024+2, 1)
			putRec(t, s, a1.den, a1.sn, a1.rec)
			putRec(t, s, b1.den, b1.sn, b1.rec)
			commit(t, s)

			armed.Store(true)
			done := make(chan error, 1)
			go func() { done <- s.writeBackNow() }()
			<-inFlush
			// The round has its snapshot of a1's and b1's pages and has
			// not written them yet.
			a2 := jentOf(a1.den, a1.sn, 2)   // same record, newer
			a3 := jentOf(a1.den, a1.sn+1, 2) // same page
			c1 := jentOf(5, 100*1024+3, 2)   // a page not in the round
			e1 := jentOf(4, 9*1024+500, 2)   // b1's page, written and not committed
			for _, e := range []jent{a2, a3, c1} {
				putRec(t, s, e.den, e.sn, e.rec)
			}
			commit(t, s)
			putRec(t, s, e1.den, e1.sn, e1.rec)
			close(resume)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if cutCalls.Load() != 1 {
				t.Fatalf("%d checkpoints", cutCalls.Load())
			}
			got := journalEntries(t, root)
			if cut {
				// Only what was journaled after the round's mark is left.
				if !slices.Equal(got, []jent{a2, a3, c1}) {
					t.Errorf("journal after the cut %+v", got)
				}
			} else if len(got) != 5 {
				t.Errorf("journal without the cut holds %d entries, want 5", len(got))
			}
			d1 := jentOf(6, 7, 3)
			putRec(t, s, d1.den, d1.sn, d1.rec)
			commit(t, s)
			s.crash()

			s2 := openStore(t, root, PageStoreOptions{})
			for _, e := range []jent{a2, a3, b1, c1, d1} {
				if got := getRec(t, s2, e.den, e.sn); got != e.rec {
					t.Errorf("record (%d, %d) = %x, want %x", e.den, e.sn, got, e.rec)
				}
			}
		})
	}
}

// The journal growing past JournalLimit starts a write-back, which cuts
// it.
func TestJournalLimitStartsWriteBack(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{JournalLimit: 1000})
	for i := range 60 {
		putRec(t, s, 2, uint32(i*1024), recOf(2, uint32(i*1024), 1))
		commit(t, s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().WriteBackRounds == 0 || journalSize(t, root) > 2000 {
		if time.Now().After(deadline) {
			t.Fatalf("journal %d bytes, stats %+v", journalSize(t, root), s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := pageRecord(t, root, 2, 0); got != recOf(2, 0, 1) {
		t.Errorf("first record not written back: %x", got)
	}
}

// A journal append that fails (full disk, part of the batch written) fails
// its Commit and every Commit until one succeeds; the records are then all
// journaled, and nothing of the failed append gets in the way.
func TestJournalWriteFails(t *testing.T) {
	root := t.TempDir()
	var full atomic.Bool
	hooks := &pageHooks{journalWrite: func(f *os.File, b []byte, off int64) (int, error) {
		if full.Load() {
			n, _ := f.WriteAt(b[:len(b)/2+3], off)
			return n, syscall.ENOSPC
		}
		return f.WriteAt(b, off)
	}}
	s := openStore(t, root, PageStoreOptions{hooks: hooks})
	a := jentOf(1, 1, 1)
	putRec(t, s, a.den, a.sn, a.rec)
	commit(t, s)
	full.Store(true)
	var bs []jent
	for i := range 10 {
		e := jentOf(2, uint32(i*3000), 2)
		bs = append(bs, e)
		putRec(t, s, e.den, e.sn, e.rec)
	}
	for range 2 {
		if err := s.Commit(); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "raidakx.journal") {
			t.Fatalf("Commit on a full disk = %v", err)
		}
	}
	if st := s.Stats(); st.SyncErrors != 2 || st.JournalSyncs != 1 {
		t.Errorf("stats %+v", st)
	}
	full.Store(false)
	c := jentOf(3, 3, 3)
	putRec(t, s, c.den, c.sn, c.rec)
	commit(t, s)
	if got := journalEntries(t, root); len(got) != 12 {
		t.Errorf("journal holds %d entries, want 12", len(got))
	}
	s.crash()
	s2 := openStore(t, root, PageStoreOptions{})
	for _, e := range append(bs, a, c) {
		if got := getRec(t, s2, e.den, e.sn); got != e.rec {
			t.Errorf("record (%d, %d) = %x, want %x", e.den, e.sn, got, e.rec)
		}
	}
}

// Close leaves the data root as the node's: every page written, no
// journal, no temporary file.
func TestCloseLeavesNodeLayout(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	putRec(t, s, 0, 0, recOf(0, 0, 1))
	commit(t, s)
	putRec(t, s, 1, 2048, recOf(1, 2048, 1)) // not committed
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if want := []string{"Data/00/00/0000.bin", "Data/01/00/0002.bin"}; !slices.Equal(files, want) {
		t.Errorf("data root after Close holds %q, want %q", files, want)
	}
	if got := pageRecord(t, root, 1, 2048); got != recOf(1, 2048, 1) {
		t.Errorf("record not written at Close: %x", got)
	}
}

// Pages whose records are only waiting for the journal are not evicted;
// a write-back journals them, after which they are.
func TestEvictionWaitsForJournal(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{CacheBytes: 2 * PageFileSize})
	for i := range 10 {
		putRec(t, s, 0, uint32(i*1024), recOf(0, uint32(i*1024), 1))
	}
	// Every Lock over the bound waited for a write-back, which journaled
	// the records and wrote the pages back.
	st := s.Stats()
	commit(t, s)
	if st.CachedPages > 3 || st.JournalSyncs == 0 || st.CommitRounds != 0 {
		t.Errorf("stats %+v", st)
	}
	s.crash()
	s2 := openStore(t, root, PageStoreOptions{})
	for i := range 10 {
		if got := getRec(t, s2, 0, uint32(i*1024)); got != recOf(0, uint32(i*1024), 1) {
			t.Errorf("record %d = %x", i, got)
		}
	}
}
