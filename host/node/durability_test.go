package node_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// decrypt sends one 45 and requires every record accepted.
func decrypt(t testing.TB, n client.Node, recs ...keyRecord) error {
	r := client.NewRequest(4, 45, nil, client.Encryption{})
	r.Payload = decryptPayload(r.Nonce, recs...)
	resp, err := r.Do(n)
	if err != nil {
		return err
	}
	if resp.Header.Status != abi.StatusSuccess || !bytes.Equal(resp.Payload, bytes.Repeat([]byte{1}, len(recs))) {
		return fmt.Errorf("45: status %v answer %x", resp.Header.Status, resp.Payload)
	}
	return nil
}

func half(i int, split byte) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint32(h, uint32(i))
	h[7] = split + 1
	return h
}

// TestRestartReadsBack changes pages and keys, stops the server, checks
// the files on disk in the node's layout, restarts and reads them back
// over the wire.
func TestRestartReadsBack(t *testing.T) {
	root := newRoot(t)
	srv := start(t, root)
	n := srv.node("tcp")
	// Record (-8, 1_023_999): the last page of den -8, a file that does not
	// exist yet: Data/f8/03/03e7.bin.
	recs := []keyRecord{{1, 7, 0, half(1, 0)}, {1, 7, 1, half(2, 1)}, {-8, 1_023_999, 1, half(3, 1)}}
	if err := decrypt(t, n, recs...); err != nil {
		t.Fatal(err)
	}
	id := bytes.Repeat([]byte{0xab}, 16)
	for _, key := range [][]byte{bytes.Repeat([]byte{1}, 100), {2, 2}} { // a shorter rewrite
		resp, err := client.NewRequest(4, 41, client.PostKeyPayload(id, 0, key), client.Encryption{}).Do(n)
		if err != nil || resp.Header.Status != abi.StatusSuccess {
			t.Fatalf("41: %v %+v", err, resp)
		}
	}
	srv.stop(t)

	if got := pagePath(root, -8, 1_023_999); got != filepath.Join(root, "Data/f8/03/03e7.bin") {
		t.Fatalf("layout: %s", got)
	}
	mfs := abi.MFS(time.Now().UTC().Year(), int(time.Now().UTC().Month()))
	checks := []struct {
		den  int8
		sn   uint32
		want []byte
	}{
		{1, 7, append(append(half(1, 0), half(2, 1)...), mfs)},
		{1, 5, append(bytes.Clone(an15), 30)}, // unchanged neighbour
		{-8, 1_023_999, append(append(make([]byte, 8), half(3, 1)...), mfs)},
	}
	for _, c := range checks {
		if got := readRecord(t, root, c.den, c.sn); !bytes.Equal(got, c.want) {
			t.Errorf("record (%d, %d) on disk %x, want %x", c.den, c.sn, got, c.want)
		}
	}
	keyFile := filepath.Join(root, "Keys", fmt.Sprintf("%x", id))
	data, err := os.ReadFile(keyFile)
	if err != nil || !bytes.Equal(data, []byte{0, 0, 0, 0, 0, 2, 2}) {
		t.Fatalf("key file %x %v", data, err)
	}
	if st, _ := os.Stat(keyFile); st.Mode().Perm() != 0o640 {
		t.Errorf("key file mode %v, want 0640", st.Mode().Perm())
	}

	srv = start(t, root)
	n = srv.node("udp")
	resp, err := client.NewRequest(4, 43, append(bytes.Clone(id), make([]byte, 21)...), client.Encryption{}).Do(n)
	if err != nil || !bytes.Equal(resp.Payload, data) {
		t.Fatalf("43 after restart: %v %+v", err, resp)
	}
	// 44 for (1, 7) is now encrypted under the AN 45 wrote.
	r := client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7, 9, 9, 9, 9, 9, 9, 9, 9}, client.Encryption{})
	if resp, err = r.Do(n); err != nil {
		t.Fatal(err)
	}
	if block := ctr(checks[0].want[:16], r.Nonce, resp.Payload); block[0] != 9 || block[15] != 0xff {
		t.Fatalf("44 after restart: block %x not under the new AN", block)
	}
	srv.stop(t)
}

// TestKill9KeepsAcknowledged kills the server with SIGKILL in the middle
// of a stream of 45 and 41 requests; every change it acknowledged must be
// on disk, and no page or key file torn.
func TestKill9KeepsAcknowledged(t *testing.T) {
	root := newRoot(t)
	srv := start(t, root)
	var (
		mu      sync.Mutex
		records = map[uint32][]byte{} // sn of den 2 -> half 0 acknowledged
		keys    = map[string][]byte{}
		acked   atomic.Int64
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := srv.node([]string{"udp", "tcp"}[w%2])
			n.Timeout = time.Second
			for i := 0; ; i++ {
				sn := uint32(w*100000 + i*37) // many pages of den 2
				if i%2 == 0 {
					h := half(w*100000+i, 0)
					if decrypt(t, n, keyRecord{2, sn, 0, h}) != nil {
						return // the server is gone
					}
					mu.Lock()
					records[sn] = h
					mu.Unlock()
				} else {
					id := fmt.Sprintf("%032x", w*100000+i)
					key := bytes.Repeat([]byte{byte(i)}, 1+i%120)
					idb, _ := hex.DecodeString(id)
					resp, err := client.NewRequest(4, 41, client.PostKeyPayload(idb, 0, key), client.Encryption{}).Do(n)
					if err != nil || resp.Header.Status != abi.StatusSuccess {
						return
					}
					mu.Lock()
					keys[id] = append(make([]byte, 5), key...)
					mu.Unlock()
				}
				acked.Add(1)
			}
		}()
	}
	for acked.Load() < 300 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	wg.Wait()
	t.Logf("%d changes acknowledged before SIGKILL", acked.Load())

	// Nothing torn: every page file has its full size.
	filepath.WalkDir(filepath.Join(root, "Data"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".bin" {
			if st, _ := d.Info(); st.Size() != 17408 {
				t.Errorf("page %s has %d bytes", path, st.Size())
			}
		}
		return nil
	})
	// Acknowledged records may be in the journal only: a restart replays it
	// into the page files, a clean stop removes it.
	srv = start(t, root)
	srv.stop(t)
	if _, err := os.Stat(filepath.Join(root, "raidakx.journal")); !os.IsNotExist(err) {
		t.Errorf("journal after a clean stop: %v", err)
	}
	mfs := abi.MFS(time.Now().UTC().Year(), int(time.Now().UTC().Month()))
	for sn, h := range records {
		want := append(append(bytes.Clone(h), make([]byte, 8)...), mfs)
		if got := readRecord(t, root, 2, sn); !bytes.Equal(got, want) {
			t.Errorf("acknowledged record (2, %d) on disk %x, want %x", sn, got, want)
		}
	}
	for id, want := range keys {
		if got, err := os.ReadFile(filepath.Join(root, "Keys", id)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("acknowledged key %s: %x %v, want %x", id, got, err, want)
		}
	}
}

// TestConcurrentSplitsLoseNothing: for each of several records one client
// rewrites half 0 and another half 1, all at once. Each client's last key
// must be in its half at the end: a lost update would leave an older key
// of the other client in place.
func TestConcurrentSplitsLoseNothing(t *testing.T) {
	root := newRoot(t)
	srv := start(t, root)
	const records, rounds = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*records)
	for r := range records {
		for split := range byte(2) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := srv.node([]string{"udp", "tcp"}[split])
				for i := range rounds {
					if err := decrypt(t, n, keyRecord{3, uint32(r), split, half(i, split)}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	srv.stop(t)
	for r := range records {
		got := readRecord(t, root, 3, uint32(r))
		want := append(half(rounds-1, 0), half(rounds-1, 1)...)
		if !bytes.Equal(got[:16], want) {
			t.Errorf("record (3, %d) = %x, want %x", r, got[:16], want)
		}
	}
}

// TestKill9AllDenominations kills the server with SIGKILL in the middle of
// streams of 45 requests over UDP and TCP whose records cover every
// denomination (-8..6) and pages of every page folder, each request three
// records of three denominations, each record rewritten round after
// round. Each trial kills at another count of acknowledged requests: in
// the first round (pages being created), after some rewrites, and with a
// checkpoint every 100 ms (raidakx.journal.old comes and goes). After the
// kill the server restarts (replay) and stops cleanly: every record must
// hold its last acknowledged value (or the value of the one request per
// client that was in flight), every page file must have its full size and
// no journal may remain.
func TestKill9AllDenominations(t *testing.T) {
	for _, trial := range []struct {
		name       string
		killAt     int64  // acknowledged 45 requests before SIGKILL
		backupFreq string // replaces newRoot's backup_freq = 300 when set
	}{
		{"first-round", 25, ""},
		{"rewrites", 140, ""},
		{"checkpoints", 300, `"100ms"`},
	} {
		t.Run(trial.name, func(t *testing.T) { kill9Trial(t, trial.killAt, trial.backupFreq) })
	}
}

// kill9PerWorker is the number of records of each client of kill9Trial: 3
// per denomination.
const kill9PerWorker = 45

// kill9Record is record (den, sn) of kill9Trial's client w, index r: the
// clients' records are disjoint.
func kill9Record(w, r int) (int8, uint32) {
	idx := w*kill9PerWorker + r
	q := idx / 15                // the record's rank in its denomination
	page := uint32(1 + q*83%999) // distinct for each q: pages 1..999 of all four page folders
	sn := page*1024 + uint32(q*389%1024)
	return int8(-8 + idx%15), sn
}

func kill9Trial(t *testing.T, killAt int64, backupFreq string) {
	const workers, perWorker, perRequest = 4, kill9PerWorker, 3
	root := newRoot(t)
	if backupFreq != "" {
		path := filepath.Join(root, "config.toml")
		cfg, _ := os.ReadFile(path)
		writeFile(t, path, bytes.Replace(cfg, []byte("backup_freq = 300"), []byte("backup_freq = "+backupFreq), 1))
	}
	srv := start(t, root)
	type key struct {
		den int8
		sn  uint32
	}
	type outcome struct {
		acked    map[key][]byte // half 0 of each record, last acknowledged
		inFlight []keyRecord    // the request without an answer, which may or may not be durable
		err      error
	}
	var (
		acked   atomic.Int64
		results = make([]outcome, workers)
		wg      sync.WaitGroup
		done    = make(chan struct{})
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			res.acked = map[key][]byte{}
			n := srv.node([]string{"udp", "tcp"}[w%2])
			n.Timeout = time.Second
			for i := 0; ; i++ {
				round, first := i/(perWorker/perRequest), i%(perWorker/perRequest)*perRequest
				recs := make([]keyRecord, perRequest)
				for j := range recs {
					den, sn := kill9Record(w, first+j)
					recs[j] = keyRecord{den, sn, 0, half(round<<16|w<<8|(first+j), 0)}
				}
				if res.err = decrypt(t, n, recs...); res.err != nil {
					res.inFlight = recs // the server is gone (or the answer was lost)
					return
				}
				for _, r := range recs {
					res.acked[key{r.den, r.sn}] = r.half
				}
				acked.Add(1)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	deadline := time.After(15 * time.Second)
wait:
	for acked.Load() < killAt {
		select {
		case <-done:
			break wait
		case <-deadline:
			break wait
		case <-time.After(2 * time.Millisecond):
		}
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	<-done
	if got := acked.Load(); got < killAt {
		for w, res := range results {
			t.Logf("client %d: %v", w, res.err)
		}
		t.Fatalf("only %d of %d requests acknowledged before the kill", got, killAt)
	}
	t.Logf("%d requests (%d record writes) acknowledged before SIGKILL", acked.Load(), acked.Load()*perRequest)

	// A crash while a page file is created leaves its temporary file
	// (Data/{den}/{group}/.{page}.bin.tmp), which the next start removes.
	checkPageSizes := func(when string, crashed bool) (pages int, dens map[string]bool) {
		dens = map[string]bool{}
		filepath.WalkDir(filepath.Join(root, "Data"), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				t.Errorf("%s: %v", when, err)
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if crashed && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".bin.tmp") {
				t.Logf("%s: temporary page file %s", when, path)
				return nil
			}
			if filepath.Ext(path) != ".bin" {
				t.Errorf("%s: stray file %s", when, path)
				return nil
			}
			pages++
			dens[filepath.Base(filepath.Dir(filepath.Dir(path)))] = true
			if st, err := d.Info(); err != nil || st.Size() != 17408 {
				t.Errorf("%s: page %s: %v, want 17408 bytes", when, path, st)
			}
			return nil
		})
		return pages, dens
	}
	checkPageSizes("after SIGKILL", true)
	for _, name := range []string{"raidakx.journal.old", "raidakx.journal"} {
		if st, err := os.Stat(filepath.Join(root, name)); err == nil {
			t.Logf("after SIGKILL: %s, %d bytes", name, st.Size())
		}
	}

	// Restart: replay puts every acknowledged record in its page file; the
	// clean stop removes the journal files.
	srv = start(t, root)
	srv.stop(t)
	for _, name := range []string{"raidakx.journal", "raidakx.journal.old"} {
		if _, err := os.Stat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("%s after a clean stop: %v", name, err)
		}
	}
	pages, dens := checkPageSizes("after restart and clean stop", false)
	if len(dens) != 15 {
		t.Errorf("page files in %d denominations, want all 15: %v", len(dens), dens)
	}

	mfs := abi.MFS(time.Now().UTC().Year(), int(time.Now().UTC().Month()))
	record := func(h []byte) []byte {
		if h == nil {
			return make([]byte, 17)
		}
		return append(append(bytes.Clone(h), make([]byte, 8)...), mfs)
	}
	checked := 0
	for w, res := range results {
		inFlight := map[key][]byte{}
		for _, r := range res.inFlight {
			inFlight[key{r.den, r.sn}] = r.half
		}
		for r := range perWorker {
			den, sn := kill9Record(w, r)
			k := key{den, sn}
			h, ok := res.acked[k]
			got := readRecord(t, root, den, sn)
			if f, pending := inFlight[k]; pending && bytes.Equal(got, record(f)) {
				continue // the unanswered request reached the journal
			}
			if !bytes.Equal(got, record(h)) {
				t.Errorf("record (%d, %d) of client %d on disk %x, want %x (acknowledged: %t)", den, sn, w, got, record(h), ok)
			}
			if ok {
				checked++
			}
		}
	}
	t.Logf("%d acknowledged records checked in %d page files", checked, pages)
}

// TestJournalCorruptServeRefuses: with a journal damaged before its last
// batch, serve exits 1 naming the file, the offset and the commands to
// recover; journal check and truncate then let it start, with the batch
// before the damage replayed.
func TestJournalCorruptServeRefuses(t *testing.T) {
	root := newRoot(t)
	// The journal format of host/storage/journal.go, written out longhand.
	const salt = 0x5eed
	batch := func(seq uint64, den int8, sn uint32, rec []byte) []byte {
		b := binary.LittleEndian.AppendUint64(nil, salt)
		b = binary.LittleEndian.AppendUint64(b, seq)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = append(b, 0, 0, 0, 0)
		b = append(b, byte(den))
		b = binary.LittleEndian.AppendUint32(b, sn)
		b = append(b, rec...)
		tab := crc32.MakeTable(crc32.Castagnoli)
		binary.LittleEndian.PutUint32(b[20:], crc32.Update(crc32.Checksum(b[:20], tab), tab, b[24:]))
		return b
	}
	recA, recB := bytes.Repeat([]byte{0xa1}, 17), bytes.Repeat([]byte{0xb2}, 17)
	j := binary.LittleEndian.AppendUint64([]byte("RKXJRNL2"), salt)
	j = append(j, batch(1, -3, 4321, recA)...)
	off := len(j)
	j = append(j, batch(2, 5, 999_999, recB)...)
	j[len(j)-1] ^= 1 // batch 2 damaged
	j = append(j, batch(3, 6, 0, recB)...)
	path := filepath.Join(root, "raidakx.journal")
	writeFile(t, path, j)

	cmd := exec.Command(binary_, "serve", "-config", filepath.Join(root, "config.toml"), "-wasm", wasmtest.Path(t))
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("serve on a corrupt journal: exit %d (%v), want 1\n%s", code, err, out)
	}
	for _, want := range []string{"the journal is corrupt", "journal=" + path, fmt.Sprintf("offset=%d", off), "intact_batches_after=1",
		"raidakx journal check " + root, "raidakx journal truncate " + root} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("serve's error does not say %q:\n%s", want, out)
		}
	}
	journal := func(action string) int {
		cmd := exec.Command(binary_, "journal", action, root)
		out, _ := cmd.CombinedOutput()
		t.Logf("raidakx journal %s: exit %d\n%s", action, cmd.ProcessState.ExitCode(), out)
		return cmd.ProcessState.ExitCode()
	}
	if code := journal("check"); code != 1 {
		t.Errorf("journal check: exit %d, want 1", code)
	}
	if code := journal("truncate"); code != 0 {
		t.Fatalf("journal truncate: exit %d, want 0", code)
	}
	if code := journal("check"); code != 0 {
		t.Errorf("journal check after truncate: exit %d, want 0", code)
	}
	srv := start(t, root)
	srv.stop(t)
	if got := readRecord(t, root, -3, 4321); !bytes.Equal(got, recA) {
		t.Errorf("record of batch 1: %x, want %x", got, recA)
	}
	if got := readRecord(t, root, 5, 999_999); !bytes.Equal(got, make([]byte, 17)) {
		t.Errorf("record of the damaged batch: %x, want zeros", got)
	}
}
