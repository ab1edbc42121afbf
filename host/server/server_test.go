package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// echoHandler answers a request of at least 32 bytes with the request
// itself, and a shorter one not at all, as the module does.
type echoHandler struct{}

func (echoHandler) Serve(req, resp []byte) (int, error) {
	if len(req) < abi.HeaderSize {
		return 0, nil
	}
	return copy(resp, req), nil
}

// gateHandler holds every request until release is closed, after telling
// entered.
type gateHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (h gateHandler) Serve(req, resp []byte) (int, error) {
	h.entered <- struct{}{}
	<-h.release
	return copy(resp, req), nil
}

func startServer(t *testing.T, listen string, h Handler) *Server {
	t.Helper()
	s, err := Start(Options{Listen: listen, UDPReaders: 8, MaxConnections: 8, MaxConnectionsPerIP: 8,
		ReadTimeout: 10 * time.Second, IOTimeout: 10 * time.Second, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

// request returns a 40-byte request numbered i.
func request(i int) []byte {
	req := make([]byte, abi.HeaderSize+8)
	binary.BigEndian.PutUint64(req[abi.HeaderSize:], uint64(i))
	return req
}

// TestUDPManyClients has more clients than readers, each on a connected
// socket (which takes datagrams only from the address it sent to), send
// requests one after the other: each gets its own answer, from the port
// served.
func TestUDPManyClients(t *testing.T) {
	s := startServer(t, "127.0.0.1", echoHandler{})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for c := range 32 {
		wg.Go(func() {
			conn, err := net.Dial("udp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			buf := make([]byte, abi.ResponseCap)
			for i := range 200 {
				req := request(c<<16 | i)
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := conn.Write(req); err != nil {
					errs <- err
					return
				}
				n, err := conn.Read(buf)
				if err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
				if !bytes.Equal(buf[:n], req) {
					errs <- fmt.Errorf("client %d request %d: answer %x", c, i, buf[:n])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUDPAnswerSource reads answers on an unconnected socket: each comes
// from the address and port the request went to, and a datagram shorter
// than a header gets none.
func TestUDPAnswerSource(t *testing.T) {
	for _, listen := range []string{"127.0.0.1", "::1"} {
		t.Run(listen, func(t *testing.T) {
			conn, err := net.ListenPacket("udp", net.JoinHostPort(listen, "0"))
			if err != nil {
				t.Skipf("no %s here: %v", listen, err)
			}
			defer conn.Close()
			uc := conn.(*net.UDPConn)
			s := startServer(t, listen, echoHandler{})
			served := netip.AddrPortFrom(netip.MustParseAddr(listen), uint16(s.Port()))
			uc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := uc.WriteToUDPAddrPort(make([]byte, abi.HeaderSize-1), served); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, abi.ResponseCap)
			for i := range 20 {
				req := request(i)
				if _, err := uc.WriteToUDPAddrPort(req, served); err != nil {
					t.Fatal(err)
				}
				// The short datagram went first: were it answered, its
				// answer would be read here instead.
				n, from, err := uc.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatal(err)
				}
				if from != served || !bytes.Equal(buf[:n], req) {
					t.Fatalf("answer %x from %v, want %x from %v", buf[:n], from, req, served)
				}
			}
		})
	}
}

// TestShutdownFinishesInFlight holds a UDP request in the handler while
// Shutdown runs: it is still answered, Shutdown returns after it, and the
// port is free again.
func TestShutdownFinishesInFlight(t *testing.T) {
	h := gateHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := startServer(t, "127.0.0.1", h)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := request(1)
	answer := make(chan []byte, 1)
	go func() {
		buf := make([]byte, abi.ResponseCap)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(req)
		n, _ := conn.Read(buf)
		answer <- buf[:n]
	}()
	<-h.entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(h.release)
	if got := <-answer; !bytes.Equal(got, req) {
		t.Fatalf("in-flight request answered %x, want %x", got, req)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP port still bound after Shutdown: %v", err)
	}
	pc.Close()
}

// TestUDPSendNoAllocation: answering a datagram allocates nothing.
func TestUDPSendNoAllocation(t *testing.T) {
	for _, listen := range []string{"127.0.0.1", "::1"} {
		t.Run(listen, func(t *testing.T) {
			peer, err := net.ListenPacket("udp", net.JoinHostPort(listen, "0"))
			if err != nil {
				t.Skipf("no %s here: %v", listen, err)
			}
			defer peer.Close()
			conn, err := net.ListenPacket("udp", net.JoinHostPort(listen, "0"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			snd, err := newUDPSender(conn.(*net.UDPConn))
			if err != nil {
				t.Fatal(err)
			}
			to := peer.LocalAddr().(*net.UDPAddr).AddrPort()
			b := request(7)
			if allocs := testing.AllocsPerRun(100, func() {
				if err := snd.send(b, to); err != nil {
					t.Fatal(err)
				}
			}); allocs != 0 {
				t.Errorf("%v allocations per answer", allocs)
			}
			buf := make([]byte, abi.ResponseCap)
			peer.SetDeadline(time.Now().Add(10 * time.Second))
			n, from, err := peer.(*net.UDPConn).ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatal(err)
			}
			if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); from != want || !bytes.Equal(buf[:n], b) {
				t.Errorf("received %x from %v, want %x from %v", buf[:n], from, b, want)
			}
		})
	}
}

// recordHandler answers every request with the request itself and hands a
// copy to seen, as the module would see it.
type recordHandler struct{ seen chan []byte }

func (h recordHandler) Serve(req, resp []byte) (int, error) {
	h.seen <- bytes.Clone(req)
	return copy(resp, req), nil
}

// exchangeTCP sends packet over a new connection from the address local
// ("" for any), closing the write side after it when halfClose, and
// returns all the answer, failing the test if the connection ends in an
// error (a reset) or is still open after 10 s.
func exchangeTCP(t *testing.T, local, addr string, packet []byte, halfClose bool) []byte {
	t.Helper()
	var d net.Dialer
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(packet); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(c); err != nil {
		t.Fatalf("from %q: %v after %d bytes", local, err, buf.Len())
	}
	return buf.Bytes()
}

// TestTCPTypes45Framing: a type-4 or type-5 request has a 48-byte header
// with L at bytes 17-18 (not 22-23). The server reads exactly 48 + L bytes
// and answers without waiting for the client to close; a client that
// closes after 17 to 47 bytes of such a header still gets its answer (the
// module's 16), one that sends fewer than 17 bytes gets none, and so does
// one that sends 17 to 31 bytes of another type.
func TestTCPTypes45Framing(t *testing.T) {
	h := recordHandler{seen: make(chan []byte, 4)}
	s := startServer(t, "127.0.0.1", h)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	n := client.Node{Addr: addr, Network: "tcp", RaidaID: 3, CoinID: 6}
	an, an2 := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16)
	for _, enc := range []client.Encryption{
		{Type: 4, Den: 1, SN: 0x01020304, AN: an},
		{Type: 5, Den: 1, SN: 0x01020304, AN: an, Den2: 2, SN2: 0x0a0b0c0d, AN2: an2},
	} {
		for _, size := range []int{0, 5, 300} {
			r := client.NewRequest(abi.GroupKeys, abi.CommandEncrypt, bytes.Repeat([]byte{0x5a}, size), enc)
			packet := r.Encode(n)
			if len(packet) != abi.Header48Size+size+client.MinLongBody {
				t.Fatalf("type %d: packet of %d bytes", enc.Type, len(packet))
			}
			// Bytes 22-23 hold the sn: read as a 32-byte header's L they
			// would make the server wait for 0x0304 more bytes.
			if got := exchangeTCP(t, "", addr, packet, false); !bytes.Equal(got, packet) {
				t.Fatalf("type %d, payload %d bytes: answer %x, want %x", enc.Type, size, got, packet)
			}
			<-h.seen
		}
	}

	r := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, client.Encryption{Type: 4, AN: an})
	packet := r.Encode(n)
	for _, k := range []int{abi.Header48Min, 30, abi.Header48Size - 1} {
		if got := exchangeTCP(t, "", addr, packet[:k], true); !bytes.Equal(got, packet[:k]) {
			t.Errorf("%d bytes of a type-4 header: answer %x, want the request", k, got)
		}
		<-h.seen
	}
	// Fewer than 17 bytes, or fewer than 32 of type 0: no answer.
	type0 := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, client.Encryption{}).Encode(n)
	for _, p := range [][]byte{packet[:abi.Header48Min-1], packet[:1], type0[:abi.Header48Min], type0[:abi.HeaderSize-1]} {
		if got := exchangeTCP(t, "", addr, p, true); len(got) != 0 {
			t.Errorf("%d bytes (type %d): answered %x", len(p), p[min(len(p)-1, abi.OffEncryptionType)], got)
		}
	}
	// A 48-byte header whose body would pass RequestCap: the module gets
	// the first RequestCap bytes (and answers 16).
	big := make([]byte, abi.Header48Size+0xffff)
	copy(big, packet[:abi.Header48Size])
	binary.BigEndian.PutUint16(big[abi.Off48BodyLength:], 0xffff)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write(big)
	select {
	case got := <-h.seen:
		if !bytes.Equal(got, big[:abi.RequestCap]) {
			t.Errorf("the module got %d bytes of a %d-byte request, want %d", len(got), len(big), abi.RequestCap)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request past RequestCap was not served")
	}
	select {
	case got := <-h.seen:
		t.Errorf("unexpected request of %d bytes served", len(got))
	default:
	}
}

// dropCounter is an Observer that counts refused connections by reason.
type dropCounter struct {
	mu      sync.Mutex
	dropped map[string]int
}

func (d *dropCounter) Observe(string, []byte, []byte, time.Duration) {}

func (d *dropCounter) DroppedConnection(reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropped[reason]++
}

func (d *dropCounter) counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.dropped)
}

// echoPacket is an echo request (type 0, no body) as a client encodes it.
func echoPacket() []byte {
	return client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, client.Encryption{}).Encode(client.Node{RaidaID: 3, CoinID: 6})
}

// TestTCPSlowClientsFromOneAddress holds 500 slow connections from
// 127.0.0.1 (half sent one byte, half nothing), more than the server's
// 400 connections and with a read deadline that outlasts the test: an
// honest client from 127.0.0.2 is still answered, because one address
// gets at most MaxConnectionsPerIP of them and the rest are refused at
// once.
func TestTCPSlowClientsFromOneAddress(t *testing.T) {
	const slow, perIP = 500, 16
	// Both ends of every connection are in this process.
	raiseFileLimit(t, 2*slow+100)
	obs := &dropCounter{dropped: map[string]int{}}
	s, err := Start(Options{Listen: "127.0.0.1", UDPReaders: 1, MaxConnections: 400, MaxConnectionsPerIP: perIP,
		ReadTimeout: time.Minute, IOTimeout: 10 * time.Second, Handler: echoHandler{}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	packet := echoPacket()
	for i := range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		defer c.Close()
		if i%2 == 0 {
			if _, err := c.Write(packet[:1]); err != nil {
				t.Fatalf("slow connection %d: %v", i, err)
			}
		}
	}
	// The listener accepts in order: when the honest connection is
	// accepted, every slow one has been admitted or refused.
	if got := exchangeTCP(t, "127.0.0.2", addr, packet, false); !bytes.Equal(got, packet) {
		t.Fatalf("honest client: answer %x, want %x", got, packet)
	}
	if got, want := obs.counts(), map[string]int{"max_connections_per_ip": slow - perIP}; !maps.Equal(got, want) {
		t.Errorf("refused connections by reason: %v, want %v", got, want)
	}
}

// TestTCPExtraBytesAfterRequest: a client that sends bytes past its
// request still receives the whole answer. The server reads the request,
// answers, half-closes and drains the rest; closing with the extra bytes
// unread would reset the connection and the answer with it. The client
// reads only once the server has closed its socket, as a slow reader
// would.
func TestTCPExtraBytesAfterRequest(t *testing.T) {
	s := startServer(t, "127.0.0.1", echoHandler{})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	packet := echoPacket()
	for _, extra := range []int{100, 4000} {
		for _, closeWrite := range []bool{false, true} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(append(bytes.Clone(packet), make([]byte, extra)...)); err != nil {
				t.Fatal(err)
			}
			if closeWrite {
				c.(*net.TCPConn).CloseWrite()
			}
			waitFor(t, "server closes the connection", func() bool { return len(s.conns) == 0 })
			var buf bytes.Buffer
			_, err = buf.ReadFrom(c)
			c.Close()
			if err != nil || !bytes.Equal(buf.Bytes(), packet) {
				t.Errorf("%d extra bytes (client half-closed: %v): answer %x, %v; want %x", extra, closeWrite, buf.Bytes(), err, packet)
			}
		}
	}
}

// TestTCPDrainPerAddress: connections whose answer was sent but which
// the client keeps open drain for at most drainTimeout, and only
// MaxConnectionsPerIP of one address at once; the others are closed right
// after their answer. Otherwise a client could hold max_connections with
// answered requests, one cheap request per slot per drainTimeout.
func TestTCPDrainPerAddress(t *testing.T) {
	defer func(d time.Duration) { drainTimeout = d }(drainTimeout)
	drainTimeout = time.Hour // the held ones stay held for the test
	const perIP, clients = 4, 10
	s, err := Start(Options{Listen: "127.0.0.1", UDPReaders: 1, MaxConnections: 100, MaxConnectionsPerIP: perIP,
		ReadTimeout: 10 * time.Second, IOTimeout: 10 * time.Second, Handler: echoHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	packet := echoPacket()
	var conns []net.Conn
	for range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(packet); err != nil {
			t.Fatal(err)
		}
		answer := make([]byte, len(packet))
		if _, err := io.ReadFull(c, answer); err != nil || !bytes.Equal(answer, packet) {
			t.Fatalf("answer %x, %v; want %x", answer, err, packet)
		}
		conns = append(conns, c)
	}
	draining := func() int {
		s.perIPMu.Lock()
		defer s.perIPMu.Unlock()
		return s.draining[netip.MustParseAddr("127.0.0.1")]
	}
	waitFor(t, "all but the draining connections closed", func() bool { return len(s.conns) == perIP })
	if n := draining(); n != perIP {
		t.Errorf("%d connections draining, want %d", n, perIP)
	}
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "every connection closed", func() bool { return len(s.conns) == 0 && draining() == 0 })
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClientKey: max_connections_per_ip counts an IPv4 client by its
// address, whether the socket reports it mapped or not, and an IPv6
// client by its /64.
func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ addr, key string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"},
		{"2001:db8:1:2::1", "2001:db8:1:2::"},
		{"2001:db8:1:3::1", "2001:db8:1:3::"},
	} {
		if got := clientKey(netip.MustParseAddr(tt.addr)); got != netip.MustParseAddr(tt.key) {
			t.Errorf("clientKey(%s) = %s, want %s", tt.addr, got, tt.key)
		}
	}
}
