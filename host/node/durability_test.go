package node_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
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
