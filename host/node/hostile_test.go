package node_test

// Hostile clients: the server must keep answering while it is flooded,
// starved or fed lies, and its memory must stay bounded. Nothing here
// times the answers (no timed assertions); a request only has to be
// answered within its client timeout.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// withConfig appends keys to the [server] table of root's config.toml.
func withConfig(t *testing.T, root, keys string) {
	t.Helper()
	path := filepath.Join(root, "config.toml")
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, bytes.Replace(cfg, []byte("[other]"), []byte(keys+"\n[other]"), 1))
}

// rssKiB returns the server's resident memory.
func (s *server) rssKiB(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// mustEcho requires an echo answer over network, retrying a lost datagram.
func mustEcho(t *testing.T, s *server, network string) {
	t.Helper()
	n := s.node(network)
	n.Timeout = 2 * time.Second
	var err error
	for range 3 {
		var resp *client.Response
		if resp, err = client.NewRequest(0, 0, nil, client.Encryption{}).Do(n); err == nil {
			if resp.Header.Status != abi.StatusSuccess {
				t.Fatalf("echo: status %v", resp.Header.Status)
			}
			return
		}
	}
	t.Fatalf("echo over %s not answered: %v", network, err)
}

func TestSlowLoris(t *testing.T) {
	root := newRoot(t)
	// All from 127.0.0.1: max_connections_per_ip must not be what refuses.
	withConfig(t, root, "max_connections = 32\nmax_connections_per_ip = 64\nread_timeout = \"1s\"")
	srv := start(t, root)
	addr := "127.0.0.1:" + strconv.Itoa(srv.port)
	packet := client.NewRequest(0, 0, nil, client.Encryption{}).Encode(srv.node("tcp"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var conns []net.Conn
	trickle := func(count int) {
		for range count {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			t.Cleanup(func() { c.Close() }) // open until the server ends it
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range packet {
					if _, err := c.Write(packet[i : i+1]); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}()
		}
	}
	// 24 connections (under the limit of 32) trickle a request a byte at a
	// time; others are served meanwhile on both transports.
	trickle(24)
	for range 5 {
		mustEcho(t, srv, "udp")
		mustEcho(t, srv, "tcp")
	}
	// 40 more: the connection limit fills and the rest are closed at once
	// rather than queued; UDP is still served.
	trickle(40)
	for range 5 {
		mustEcho(t, srv, "udp")
	}
	// Every slow connection ends without an answer: at once when over the
	// limit, at read_timeout otherwise; then TCP is served again.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := c.Read(make([]byte, 64))
		if b != 0 || err == nil {
			t.Fatalf("slow connection %d: read %d bytes, err %v", i, b, err)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow connection %d still open after 10 s", i)
		}
	}
	close(stop)
	wg.Wait()
	mustEcho(t, srv, "tcp")
	srv.stop(t)
}

func TestUDPFloodsAndLies(t *testing.T) {
	root := newRoot(t)
	srv := start(t, root)
	before := srv.rssKiB(t)
	addr := "127.0.0.1:" + strconv.Itoa(srv.port)
	n := srv.node("udp")

	// A 65,535-byte body cannot fit a datagram: the truncated packet is
	// answered 16. Over TCP the whole body arrives and echo answers 250.
	big := client.NewRequest(0, 0, make([]byte, 0xffff-18), client.Encryption{})
	for _, network := range []string{"udp", "tcp"} {
		nn := srv.node(network)
		packet := big.Encode(nn)
		if network == "udp" {
			packet = packet[:65507]
		}
		raw, err := client.Exchange(nn, packet)
		if err != nil {
			t.Fatalf("%s 65,535-byte body: %v", network, err)
		}
		want := map[string]abi.Status{"udp": abi.StatusInvalidPacketLength, "tcp": abi.StatusSuccess}[network]
		if abi.Status(raw[2]) != want {
			t.Fatalf("%s 65,535-byte body: status %v, want %v", network, abi.Status(raw[2]), want)
		}
	}
	// A header that announces more than is sent: UDP answers 16.
	lie := client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7}, client.Encryption{}).Encode(n)
	binary.BigEndian.PutUint16(lie[22:], 0xffff)
	if raw, err := client.Exchange(n, lie); err != nil || abi.Status(raw[2]) != abi.StatusInvalidPacketLength {
		t.Fatalf("lying header: %x %v", raw, err)
	}

	// Floods of short (no answer) and oversize datagrams from 4 senders,
	// bounded in count, while echo is asked for.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			short, oversize := make([]byte, 1+w*10), make([]byte, 65507)
			for i := range 3000 {
				if i%10 == 0 {
					c.Write(oversize)
				} else {
					c.Write(short)
				}
			}
		}()
	}
	for range 10 {
		mustEcho(t, srv, "udp")
	}
	wg.Wait()
	mustEcho(t, srv, "udp")
	mustEcho(t, srv, "tcp")
	if after := srv.rssKiB(t); after > before+64<<10 {
		t.Errorf("RSS grew from %d KiB to %d KiB under the flood", before, after)
	}
	srv.stop(t)
}

func TestConcurrentPostsSameKey(t *testing.T) {
	root := newRoot(t)
	srv := start(t, root)
	id := bytes.Repeat([]byte{0x5a}, 16)
	var wg sync.WaitGroup
	posted := make([][]byte, 8)
	errs := make(chan error, 8)
	for w := range 8 {
		posted[w] = append(make([]byte, 5), bytes.Repeat([]byte{byte(w + 1)}, 10*(w+1))...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := srv.node([]string{"udp", "tcp"}[w%2])
			for range 25 {
				resp, err := client.NewRequest(4, 41, client.PostKeyPayload(id, 0, posted[w][5:]), client.Encryption{}).Do(n)
				if err != nil || resp.Header.Status != abi.StatusSuccess {
					errs <- fmt.Errorf("41: %v %+v", err, resp)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	srv.stop(t)
	path := filepath.Join(root, "Keys", fmt.Sprintf("%x", id))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range posted {
		found = found || bytes.Equal(got, p)
	}
	if !found {
		t.Fatalf("key file %x is none of the posted contents: torn or mixed", got)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "Keys"))
	if len(entries) != 1 {
		t.Errorf("Keys/ holds %d entries, want 1 (no temp files left)", len(entries))
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Join(root, "Data", "01")); dst != nil && dst.Mode().Perm() != 0o750 {
		t.Errorf("Data/01 mode %v, want 0750", dst.Mode().Perm())
	}
}
