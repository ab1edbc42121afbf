package localnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// wasmPath is the module make build writes.
var wasmPath = filepath.Join("..", "..", "build", "keyexchange.wasm")

// freeBase returns a port p such that p .. p+n-1 are free for TCP and
// UDP on 127.0.0.1.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(40000)
		var held []io.Closer
		ok := true
		for p := base; p < base+n && ok; p++ {
			ln, err1 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			pc, err2 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err1 == nil {
				held = append(held, ln)
			}
			if err2 == nil {
				held = append(held, pc)
			}
			ok = err1 == nil && err2 == nil
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// pageFiles returns every page file of every node of dir, by path.
func pageFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, string(filepath.Separator)+"Data"+string(filepath.Separator)) {
			return err
		}
		files[path], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestExchangeEndToEnd serves a 5-node network as raidakx net serve does
// (node 4 stays down), runs the exchange across three different nodes
// under types 0 and 1, a 45 whose records name the wrong RAIDA and every
// bad input, then stops cleanly and compares every page file of every
// node: only the two exchanged records may have changed, to the ANs the
// exchange returned.
func TestExchangeEndToEnd(t *testing.T) {
	if _, err := os.Stat(wasmPath); err != nil {
		t.Fatalf("%v: run make build first", err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "net")
	nt, err := Init(dir, InitOptions{Nodes: 5, Port: freeBase(t, 5), Coins: 8})
	if err != nil {
		t.Fatal(err)
	}
	before := pageFiles(t, dir)
	if len(before) == 0 {
		t.Fatal("init wrote no page file")
	}
	served := *nt
	served.Nodes = nt.Nodes[:4] // RAIDA 4 is down
	srv, err := Serve(context.Background(), &served, ServeOptions{WasmPath: wasmPath, MetricsListen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Shutdown(context.Background())
		}
	}()

	echo := nt.Echo("udp", time.Second)
	for i, r := range echo {
		if r.OK() != (i < 4) {
			t.Errorf("echo RAIDA %d: ok %v, err %v, status %v; want an answer from 0..3 only", i, r.OK(), r.Err, r.Status)
		}
	}

	want := map[int]map[uint32][]byte{} // RAIDA -> sn -> new AN
	for _, c := range []struct {
		to, a, b int
		sn       uint32
		typ      byte
		tr       string
	}{
		{3, 1, 2, 5, 0, "udp"},
		{0, 2, 3, 6, 1, "tcp"},
	} {
		var steps []string
		an, err := nt.Exchange(ExchangeOptions{To: c.to, A: c.a, B: c.b, Den: TestDen, SN: c.sn, Type: c.typ, Transport: c.tr,
			Step: func(s string) { steps = append(steps, s) }})
		if err != nil {
			t.Fatalf("exchange %+v: %v", c, err)
		}
		if len(steps) != 4 {
			t.Errorf("exchange %+v: steps %q, want 44, 44, 45, echo", c, steps)
		}
		want[c.to] = map[uint32][]byte{c.sn: an}
		reopened, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if coin, _ := reopened.Coin(TestDen, c.sn); !bytes.Equal(coin.AN(c.to), an) {
			t.Errorf("wallet AN of 1.%d on RAIDA %d is %x, want the new %x", c.sn, c.to, coin.AN(c.to), an)
		}
	}

	// Wrong node: 45 on RAIDA 0 with the blocks of 44s on RAIDA 1 and 2
	// for coin 1.7, but each record names the other RAIDA, whose AN in
	// RAIDA 0's coin file did not encrypt it: 00 for both.
	coin, _ := nt.Coin(TestDen, 7)
	var nonce [8]byte
	var recs []client.KeyRecord
	for i, via := range []int{1, 2} {
		r := client.NewRequest(abi.GroupKeys, abi.CommandEncrypt, client.EncryptKeyPayload(TestDen, 7, []byte("keypart"+strconv.Itoa(i))), client.Encryption{})
		if i == 0 {
			nonce = r.Nonce
		}
		r.Nonce = nonce
		resp, err := r.Do(nt.Nodes[via].client("udp", time.Second))
		if err != nil || resp.Header.Status != abi.StatusNoError {
			t.Fatalf("44 on RAIDA %d: %v %v", via, err, resp)
		}
		if _, err := client.OpenKeyBlock(r, coin.AN(via), resp.Payload); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, client.KeyRecord{Split: byte(i), Raida: byte(3 - via), Den: TestDen, SN: 7, Block: resp.Payload})
	}
	r45 := client.NewRequest(abi.GroupKeys, abi.CommandDecrypt, client.DecryptKeyPayload(TestDen, 7, recs...), client.Encryption{})
	r45.Nonce = nonce
	resp, err := r45.Do(nt.Nodes[0].client("udp", time.Second))
	if err != nil || resp.Header.Status != abi.StatusSuccess || !bytes.Equal(resp.Payload, []byte{0, 0}) {
		t.Errorf("45 with records naming the wrong RAIDA: %v, %+v; want status 250, answer 00 00", err, resp)
	}

	for _, c := range []struct {
		name string
		o    ExchangeOptions
		say  []string
	}{
		{"unknown node", ExchangeOptions{To: 7, A: 1, B: 2, Den: 1, SN: 5}, []string{"no RAIDA 7", "0..4"}},
		{"A = B", ExchangeOptions{To: 3, A: 1, B: 1, Den: 1, SN: 5}, []string{"-via 1,1"}},
		{"T among A, B", ExchangeOptions{To: 2, A: 1, B: 2, Den: 1, SN: 5}, []string{"-to 2 is also in -via"}},
		{"not a test coin", ExchangeOptions{To: 3, A: 1, B: 2, Den: 1, SN: 99}, []string{"coin 1.99 is not a test coin"}},
		{"not a test coin, den", ExchangeOptions{To: 3, A: 1, B: 2, Den: -1, SN: 5}, []string{"coin -1.5 is not a test coin"}},
		{"node down", ExchangeOptions{To: 1, A: 4, B: 2, Den: 1, SN: 8}, []string{"RAIDA 4 (" + nt.Nodes[4].Addr + ") is down"}},
		{"changed via node", ExchangeOptions{To: 1, A: 3, B: 2, Den: 1, SN: 5}, []string{"holds another AN for RAIDA 3"}},
		{"type 4", ExchangeOptions{To: 3, A: 1, B: 2, Den: 1, SN: 5, Type: 4}, []string{"-type 4"}},
	} {
		_, err := nt.Exchange(c.o)
		var bad *BadInputError
		if !errors.As(err, &bad) {
			t.Errorf("%s: %v, want a BadInputError", c.name, err)
			continue
		}
		for _, s := range c.say {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", c.name, err, s)
			}
		}
	}

	stopped = true
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := pageFiles(t, dir)
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("%s was removed", path)
		}
	}
	for path, got := range after {
		was, ok := before[path]
		if !ok {
			was = make([]byte, len(got))
		}
		for id, sns := range want {
			for sn, an := range sns {
				if path == PagePath(NodeDir(dir, id), TestDen, abi.Page(sn)) {
					off := int(sn%abi.RecordsPerPage) * abi.RecordSize
					if !bytes.Equal(got[off:off+16], an) {
						t.Errorf("RAIDA %d: record 1.%d has AN %x, want %x", id, sn, got[off:off+16], an)
					}
					copy(got[off:off+abi.RecordSize], was[off:off+abi.RecordSize]) // the rest must not change
				}
			}
		}
		if !bytes.Equal(got, was) {
			t.Errorf("%s changed beyond the exchanged records", path)
		}
	}
	if journals, _ := filepath.Glob(filepath.Join(dir, "raida*", "raidakx.journal*")); len(journals) > 0 {
		t.Errorf("journals left after a clean stop: %v", journals)
	}
}
