package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage/vfs"
)

// openCrash opens a store on the data root c, as OpenPageStore does on a
// real folder.
func openCrash(c *vfs.CrashFS, opts PageStoreOptions) (*PageStore, error) {
	data, err := openDataDir(c, func() (vfs.FS, error) { return c.Sub("Data"), nil })
	if err != nil {
		return nil, err
	}
	return openPageStore(c, data, opts)
}

func mustOpenCrash(t testing.TB, c *vfs.CrashFS, opts PageStoreOptions) *PageStore {
	t.Helper()
	s, err := openCrash(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	return s
}

// checkPageFiles fails unless every file under Data is a whole page of a
// page's name: no torn page, no temporary file left behind.
func checkPageFiles(t testing.TB, c *vfs.CrashFS) {
	t.Helper()
	dens, err := c.ReadDirNames("Data")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dens {
		groups, _ := c.ReadDirNames("Data/" + d)
		for _, g := range groups {
			names, _ := c.ReadDirNames("Data/" + d + "/" + g)
			for _, n := range names {
				fi, err := c.Stat("Data/" + d + "/" + g + "/" + n)
				if err != nil || fi.Size() != PageFileSize || strings.HasPrefix(n, ".") {
					t.Errorf("Data/%s/%s/%s: %v, err %v", d, g, n, fi, err)
				}
			}
		}
	}
}

// rebootAndCheck cuts the power under s, reopens the store on what the
// disk kept and fails unless every record of want reads back.
func rebootAndCheck(t *testing.T, c *vfs.CrashFS, s *PageStore, mode vfs.CrashMode, rng *rand.Rand, opts PageStoreOptions, want map[RecordKey]Record) {
	t.Helper()
	c = c.Crash(mode, rng)
	s.kill()
	s2 := mustOpenCrash(t, c, opts)
	for k, v := range want {
		if got := getRec(t, s2, k.Den, k.SN); got != v {
			t.Errorf("after the power loss (%d, %d) = %x, want %x", k.Den, k.SN, got, v)
		}
	}
}

// valueOf makes a record from a worker and a counter: distinct for every
// write of the test, with both halves set so that a torn record shows.
func valueOf(worker int, n uint64) Record {
	var r Record
	binary.BigEndian.PutUint64(r[0:], uint64(worker)<<48|n)
	binary.BigEndian.PutUint64(r[8:], ^(uint64(worker)<<48 | n))
	r[16] = byte(n)
	return r
}

// failWithEIO makes op fail with EIO on the files match accepts, until the
// flag it returns is cleared.
func failWithEIO(c *vfs.CrashFS, op vfs.Op, match func(name string) bool) *atomic.Bool {
	fail := new(atomic.Bool)
	fail.Store(true)
	c.Inject(func(o vfs.Op, name string) error {
		if o == op && fail.Load() && match(name) {
			return syscall.EIO
		}
		return nil
	})
	return fail
}

// isJournal reports whether an injected operation is on the journal: its
// handle keeps the temporary name it was created under.
func isJournal(name string) bool { return name == journalName || name == journalTemp }

// history is what one key may hold after a power loss: its last
// acknowledged value (zero before any) or a value written after it.
type history struct {
	acked Record
	since []Record // written after acked, not acknowledged
}

func (h *history) allows(r Record) bool { return r == h.acked || slices.Contains(h.since, r) }

// TestPowerLoss runs writers over every denomination with frequent
// checkpoints, cuts the power at a random moment (every write not covered
// by a sync dropped, or kept whole, torn or dropped at random), reopens
// and checks that every acknowledged record is there, no record holds a
// value never written and no page file is torn.
func TestPowerLoss(t *testing.T) {
	trials := 24
	if testing.Short() {
		trials = 6
	}
	for trial := range trials {
		mode := []vfs.CrashMode{vfs.CrashDropAll, vfs.CrashKeepSome}[trial%2]
		t.Run(fmt.Sprintf("trial=%d/mode=%d", trial, mode), func(t *testing.T) {
			powerLossTrial(t, uint64(trial), mode)
		})
	}
}

func powerLossTrial(t *testing.T, seed uint64, mode vfs.CrashMode) {
	rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
	c := vfs.NewCrashFS()
	opts := PageStoreOptions{JournalLimit: 2 << 10, CheckpointEvery: 3 * time.Millisecond, OpenFiles: minOpenFiles}
	s, err := openCrash(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 6
	keys := make([][]RecordKey, workers) // disjoint: one writer per key
	for w := range workers {
		for range 40 {
			sn := rng.Uint32N(abi.SNLimit/workers)*workers + uint32(w)
			keys[w] = append(keys[w], RecordKey{int8(rng.IntN(15) - 8), sn})
		}
	}
	hist := make([]map[RecordKey]*history, workers)
	var wg sync.WaitGroup
	var acked atomic.Int64
	for w := range workers {
		hist[w] = map[RecordKey]*history{}
		wg.Go(func() {
			wr := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := uint64(1); ; n++ {
				// One to three records, each under its own page lock,
				// then one Commit, as a 45 request does.
				var wrote []RecordKey
				for range 1 + wr.IntN(3) {
					k := keys[w][wr.IntN(len(keys[w]))]
					h := hist[w][k]
					if h == nil {
						h = &history{}
						hist[w][k] = h
					}
					v := valueOf(w, n)
					h.since = append(h.since, v)
					if err := s.Lock(k.Den, abi.Page(k.SN)); err != nil {
						return
					}
					err := s.Write(k.Den, k.SN, &v)
					s.Unlock(k.Den, abi.Page(k.SN))
					if err != nil {
						return
					}
					wrote = append(wrote, k)
					n++
				}
				if s.Commit(context.Background()) != nil {
					return
				}
				for _, k := range wrote {
					if h := hist[w][k]; len(h.since) > 0 { // a key written twice is done once
						h.acked, h.since = h.since[len(h.since)-1], nil
					}
				}
				acked.Add(1)
			}
		})
	}
	time.Sleep(time.Duration(5+rng.IntN(40)) * time.Millisecond)
	c = c.Crash(mode, rng)
	wg.Wait()
	st := s.Stats()
	s.kill()
	t.Logf("%d commits acknowledged, %d checkpoints before the power loss", acked.Load(), st.Checkpoints)

	s2 := mustOpenCrash(t, c, opts)
	checkPageFiles(t, c)
	bad := 0
	for w := range workers {
		for k, h := range hist[w] {
			got := getRec(t, s2, k.Den, k.SN)
			if !h.allows(got) && bad < 5 {
				bad++
				t.Errorf("record (%d, %d) = %x after the power loss; acknowledged %x, written since %d values", k.Den, k.SN, got, h.acked, len(h.since))
			}
		}
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if names, _ := c.ReadDirNames("."); len(names) != 1 || names[0] != "Data" {
		t.Errorf("data root after Close holds %v, want Data alone", names)
	}
}

// TestModelConcurrent runs random lock/read/write/commit/unlock sequences
// from many goroutines on a few pages, checking every Read against a
// sequential model of the records (updated under the same page lock), with
// at most minOpenFiles files open and frequent checkpoints; then a power
// loss after the last Commit must leave the model's records on disk.
func TestModelConcurrent(t *testing.T) {
	c := vfs.NewCrashFS()
	opts := PageStoreOptions{JournalLimit: 4 << 10, CheckpointEvery: 2 * time.Millisecond, OpenFiles: minOpenFiles}
	s := mustOpenCrash(t, c, opts)
	pages := make([]PageKey, 3*minOpenFiles)
	for i := range pages {
		pages[i] = PageKey{int8(i%15) - 8, uint32(i * 37 % abi.PagesPerDen)}
	}
	var mu sync.Mutex // guards model against the test's own races only
	model := map[RecordKey]Record{}
	const goroutines, steps = 8, 300
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range steps {
				pk := pages[rng.IntN(len(pages))]
				if err := s.Lock(pk.Den, pk.Page); err != nil {
					errs <- err
					return
				}
				for range 1 + rng.IntN(4) {
					k := RecordKey{pk.Den, pk.Page*abi.RecordsPerPage + uint32(rng.IntN(8))}
					if rng.IntN(2) == 0 {
						var got Record
						if _, err := s.Read(k.Den, k.SN, &got); err != nil {
							errs <- err
							return
						}
						mu.Lock()
						want := model[k]
						mu.Unlock()
						if got != want {
							errs <- fmt.Errorf("step %d: Read(%d, %d) = %x, model %x", i, k.Den, k.SN, got, want)
							return
						}
						continue
					}
					v := valueOf(g, uint64(i))
					v[16] = byte(rng.IntN(3)) // some writes repeat a value
					if err := s.Write(k.Den, k.SN, &v); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					model[k] = v
					mu.Unlock()
				}
				s.Unlock(pk.Den, pk.Page)
				if rng.IntN(3) == 0 {
					if err := s.Commit(context.Background()); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	commit(t, s)
	rebootAndCheck(t, c, s, vfs.CrashDropAll, nil, opts, model)
}

// A journal write or sync that fails fails its round's Commits; the
// records stay readable and are journaled again by the next round.
func TestJournalFailureRetried(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpWrite, vfs.OpSync} {
		t.Run(op.String(), func(t *testing.T) {
			c := vfs.NewCrashFS()
			s := mustOpenCrash(t, c, PageStoreOptions{})
			fail := failWithEIO(c, op, isJournal)
			rec := recOf(4, 99, 1)
			putRec(t, s, 4, 99, rec)
			if err := s.Commit(context.Background()); !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), journalName) {
				t.Fatalf("Commit = %v, want EIO naming the journal", err)
			}
			if got, pending := readRec(t, s, 4, 99); got != rec || !pending {
				t.Fatalf("after a failed round: %x pending %v", got, pending)
			}
			if st := s.Stats(); st.JournalErrors != 1 {
				t.Errorf("JournalErrors = %d", st.JournalErrors)
			}
			fail.Store(false)
			commit(t, s)
			c = c.Crash(vfs.CrashDropAll, nil)
			s.kill()
			if got := getRec(t, mustOpenCrash(t, c, PageStoreOptions{}), 4, 99); got != rec {
				t.Fatalf("after retry and power loss: %x", got)
			}
		})
	}
}

// A hung journal sync holds up the Commits waiting for it, each only
// until its deadline, and nothing else: locks, reads and writes of other
// records go on.
func TestHungDiskBoundsCommit(t *testing.T) {
	c := vfs.NewCrashFS()
	s := mustOpenCrash(t, c, PageStoreOptions{})
	release := make(chan struct{})
	var hung atomic.Bool
	hung.Store(true)
	c.Inject(func(o vfs.Op, name string) error {
		if o == vfs.OpSync && isJournal(name) && hung.Load() {
			<-release
		}
		return nil
	})
	putRec(t, s, 1, 1, recOf(1, 1, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.Commit(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Commit on a hung disk = %v, want the deadline", err)
	}
	// The store still serves everything that needs no sync.
	putRec(t, s, 2, 2, recOf(2, 2, 1))
	if got := getRec(t, s, 3, 3); got != (Record{}) {
		t.Fatal(got)
	}
	hung.Store(false)
	close(release)
	commit(t, s)
	for _, k := range []RecordKey{{1, 1}, {2, 2}} {
		if got, pending := readRec(t, s, k.Den, k.SN); got != recOf(k.Den, k.SN, 1) || pending {
			t.Errorf("(%d, %d) = %x pending %v after the disk came back", k.Den, k.SN, got, pending)
		}
	}
}

// A page file that cannot be synced stops checkpoints, loudly (errors,
// counted), and keeps the old journal; once the journal reaches
// JournalMax, writes fail fast while reads go on. When the page syncs
// again the checkpoint completes and writes resume; nothing acknowledged
// is lost.
func TestPageSyncFailureKeepsJournal(t *testing.T) {
	c := vfs.NewCrashFS()
	opts := PageStoreOptions{JournalLimit: 1 << 10, JournalMax: 3 << 10, CheckpointEvery: time.Hour}
	s := mustOpenCrash(t, c, opts)
	broken := "Data/" + PagePath(PageKey{5, 7})
	fail := failWithEIO(c, vfs.OpSync, func(name string) bool { return name == broken })
	acked := map[RecordKey]Record{}
	var full error
	for i := range uint32(400) {
		k := RecordKey{5, 7*1024 + i%1024}
		if i%2 == 1 {
			k = RecordKey{-2, 300*1024 + i}
		}
		v := recOf(k.Den, k.SN, byte(i))
		if err := s.Lock(k.Den, abi.Page(k.SN)); err != nil {
			t.Fatal(err)
		}
		err := s.Write(k.Den, k.SN, &v)
		s.Unlock(k.Den, abi.Page(k.SN))
		if err != nil {
			full = err
			break
		}
		commit(t, s)
		acked[k] = v
		if i%8 == 0 {
			if err := s.checkpoint(); err != nil && !strings.Contains(err.Error(), broken) {
				t.Fatalf("checkpoint error %v does not name %s", err, broken)
			}
		}
	}
	if !errors.Is(full, ErrJournalFull) {
		t.Fatalf("writes went on past JournalMax: %v", full)
	}
	st := s.Stats()
	if st.PageSyncErrors == 0 || st.WritesRejected == 0 || st.JournalSize < opts.JournalMax {
		t.Fatalf("stats %+v", st)
	}
	if _, err := c.Stat(journalOldName); err != nil {
		t.Fatalf("old journal gone while a page was not synced: %v", err)
	}
	for k, v := range acked { // reads go on
		if got := getRec(t, s, k.Den, k.SN); got != v {
			t.Fatalf("(%d, %d) = %x", k.Den, k.SN, got)
		}
	}
	fail.Store(false)
	for range 2 { // the old journal, then the journal that grew meanwhile
		if err := s.checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	putRec(t, s, -2, 5, recOf(-2, 5, 1))
	commit(t, s)
	acked[RecordKey{-2, 5}] = recOf(-2, 5, 1)
	rebootAndCheck(t, c, s, vfs.CrashKeepSome, rand.New(rand.NewPCG(1, 2)), opts, acked)
}

// Opening a data root never makes the journals unreadable: a failure in
// the middle of recovery (here: syncing a replayed page) leaves them for
// the next try, which replays them again.
func TestRecoveryFailureKeepsJournal(t *testing.T) {
	c := vfs.NewCrashFS()
	s := mustOpenCrash(t, c, PageStoreOptions{})
	putRec(t, s, 0, 0, recOf(0, 0, 1))
	commit(t, s)
	c = c.Crash(vfs.CrashDropAll, nil) // the page write was not synced
	s.kill()
	failWithEIO(c, vfs.OpSync, func(name string) bool { return strings.HasPrefix(name, "Data/") })
	if _, err := openCrash(c, PageStoreOptions{}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("open with a failing disk = %v", err)
	}
	c = c.Crash(vfs.CrashDropAll, nil)
	c.Inject(nil)
	if got := getRec(t, mustOpenCrash(t, c, PageStoreOptions{}), 0, 0); got != recOf(0, 0, 1) {
		t.Fatalf("after the failed recovery and a power loss: %x", got)
	}
}

// A record whose in-place write fails after its batch synced is still
// acknowledged (the journal has it), still read from pending, and holds
// up checkpoints, loudly, until it reaches its page.
func TestInPlaceWriteFailureRetried(t *testing.T) {
	c := vfs.NewCrashFS()
	s := mustOpenCrash(t, c, PageStoreOptions{CheckpointEvery: time.Hour})
	page := "Data/" + PagePath(PageKey{3, 3})
	fail := failWithEIO(c, vfs.OpWrite, func(name string) bool { return name == page })
	rec := recOf(3, 3*1024+1, 1)
	putRec(t, s, 3, 3*1024+1, rec)
	commit(t, s)
	if got, pending := readRec(t, s, 3, 3*1024+1); got != rec || pending {
		t.Fatalf("after a failed in-place write: %x pending %v, want the durable value", got, pending)
	}
	if err := s.checkpoint(); err == nil {
		t.Fatal("checkpoint succeeded with a record missing from its page")
	}
	if st := s.Stats(); st.PageSyncErrors == 0 || st.PendingRecords != 1 {
		t.Fatalf("stats %+v", st)
	}
	fail.Store(false)
	if err := s.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.PendingRecords != 0 || st.Checkpoints != 1 {
		t.Fatalf("stats after the retry %+v", st)
	}
	rebootAndCheck(t, c, s, vfs.CrashDropAll, nil, PageStoreOptions{}, map[RecordKey]Record{{3, 3*1024 + 1}: rec})
}
