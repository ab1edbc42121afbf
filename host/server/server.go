// Package server serves the key-exchange commands on one port over TCP
// and UDP, as the RAIDA node does: one request per datagram, one request
// per TCP connection. It only moves bytes: every request is answered by
// the module through a pool.Pool.
package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// Handler answers one request packet into resp (abi.ResponseCap bytes)
// and returns the response length, 0 for no answer. *pool.Pool is one.
type Handler interface {
	Serve(req, resp []byte) (int, error)
}

// Observer is told about every answered request (metrics). It may be nil.
type Observer interface {
	Observe(transport string, req, resp []byte, d time.Duration)
	DroppedConnection(reason string)
}

// Options configures a Server.
type Options struct {
	Listen         string // address to bind, e.g. 127.0.0.1
	Port           int    // TCP and UDP port; 0 picks a free one
	UDPReaders     int    // goroutines receiving datagrams
	MaxConnections int    // open TCP connections; more are closed at once
	// MaxConnectionsPerIP bounds the TCP connections of one client
	// address (clientKey: an IPv6 client's /64) still receiving their
	// request, what a slow client holds; more are closed at once.
	MaxConnectionsPerIP int
	// ReadTimeout is the whole-request deadline: a TCP request must
	// arrive whole within it, counted from accept, however its bytes
	// trickle in.
	ReadTimeout time.Duration
	// IOTimeout bounds sending a TCP answer, counted from when it is
	// ready (the module's time is bounded by the pool).
	IOTimeout time.Duration
	Handler   Handler
	Observer  Observer
	Logger    *slog.Logger
}

// After a TCP answer, the server half-closes and reads what the client
// still sends, up to these bounds, before closing: closing with unread
// bytes would send a reset, which can destroy the answer before the
// client reads it (RFC 1122 4.2.2.13). A request is at most 65,567
// bytes, so drainBytes covers whatever an honest client sent past it.
// An address gets at most MaxConnectionsPerIP connections draining at
// once; past that its connections close right after the answer, so
// that answered requests kept open cannot fill max_connections either.
const drainBytes = 64 << 10

// drainTimeout is a variable for tests.
var drainTimeout = time.Second

// Server is a running server.
type Server struct {
	opts     Options
	logger   *slog.Logger
	tcp      *net.TCPListener
	udp      *net.UDPConn
	conns    chan struct{} // one token per open TCP connection
	perIPMu  sync.Mutex
	reading  perIP // clientKey -> connections receiving their request
	draining perIP // clientKey -> connections draining after their answer
	wg       sync.WaitGroup
	stopping atomic.Bool
	bufs     sync.Pool // *[]byte: a TCP request then its response
}

// Start binds TCP and UDP on the same port and starts serving.
func Start(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.UDPReaders < 1 || opts.MaxConnections < 1 || opts.MaxConnectionsPerIP < 1 || opts.ReadTimeout <= 0 || opts.IOTimeout <= 0 {
		return nil, errors.New("server: UDPReaders, MaxConnections, MaxConnectionsPerIP, ReadTimeout and IOTimeout must be positive")
	}
	s := &Server{opts: opts, logger: opts.Logger, conns: make(chan struct{}, opts.MaxConnections), reading: perIP{}, draining: perIP{}}
	s.bufs.New = func() any { b := make([]byte, abi.RequestCap+abi.ResponseCap); return &b }
	addr := net.JoinHostPort(opts.Listen, strconv.Itoa(opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.tcp = ln.(*net.TCPListener)
	// Port 0: UDP takes the port TCP got.
	udpAddr := net.JoinHostPort(opts.Listen, strconv.Itoa(s.tcp.Addr().(*net.TCPAddr).Port))
	pc, err := net.ListenPacket("udp", udpAddr)
	if err != nil {
		s.tcp.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	s.udp = pc.(*net.UDPConn)
	senders := make([]*udpSender, opts.UDPReaders)
	for i := range senders {
		if senders[i], err = newUDPSender(s.udp); err != nil {
			s.tcp.Close()
			s.udp.Close()
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	s.wg.Add(1 + opts.UDPReaders)
	go s.acceptTCP()
	for _, snd := range senders {
		go s.readUDP(snd)
	}
	return s, nil
}

// Port returns the port served.
func (s *Server) Port() int { return s.tcp.Addr().(*net.TCPAddr).Port }

// Shutdown stops accepting, lets every request in flight finish (or ctx
// end), and closes the sockets.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	s.tcp.Close()
	// Wake the UDP readers; each finishes the request it holds first.
	s.udp.SetReadDeadline(time.Now())
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	defer s.udp.Close()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the sockets at once, without waiting for the requests in
// flight: a request being read is dropped, one in the module is answered
// if its socket still can be. It is the abort after Shutdown (or instead
// of it), so sockets Shutdown closed already are no error.
func (s *Server) Close() error {
	s.stopping.Store(true)
	var errs []error
	for _, c := range []io.Closer{s.tcp, s.udp} {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readUDP receives datagrams one at a time and answers each through snd.
// A reader keeps its request until the answer is sent, through the
// request's sync, so that many requests can wait for one sync round.
//
// Measured for issue 10 and not kept, both for their p99 (1.3-2x that of
// 44 on 2 cores, native and wazero): several sockets on the port with
// SO_REUSEPORT, readers spread over them; and recvmmsg/sendmmsg batches
// (x/net/ipv4). A batch's requests are served one after another, so its
// 45s each waited for a sync round of their own (45 fell to a quarter)
// unless handed to goroutines of their own; batches also need a 64 KiB
// buffer per datagram and, with x/net, allocate an address per datagram.
func (s *Server) readUDP(snd *udpSender) {
	defer s.wg.Done()
	// A datagram is at most 65,507 bytes; one buffer holds any request.
	req := make([]byte, 1<<16)
	resp := make([]byte, abi.ResponseCap)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(req)
		if err != nil {
			if s.stopping.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.logger.Error("udp read", "err", err)
			time.Sleep(10 * time.Millisecond) // never spin on a broken socket
			continue
		}
		s.answer("udp", req[:n], resp, func(b []byte) error { return snd.send(b, from) }, from)
	}
}

// answer runs one request and sends its response with send.
func (s *Server) answer(transport string, req, resp []byte, send func([]byte) error, from netip.AddrPort) {
	// The clock is read only for the Observer (metrics).
	var start time.Time
	if s.opts.Observer != nil {
		start = time.Now()
	}
	n, err := s.opts.Handler.Serve(req, resp)
	if err != nil {
		s.logger.Warn("request failed", "transport", transport, "from", from, "err", err)
	}
	if n > 0 {
		if err := send(resp[:n]); err != nil {
			s.logger.Debug("send", "transport", transport, "from", from, "err", err)
		}
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Observe(transport, req, resp[:n], time.Since(start))
	}
}

func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if s.stopping.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.logger.Error("tcp accept", "err", err)
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		key := clientKey(c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr())
		if !s.admit(s.reading, key) {
			s.drop(c, "max_connections_per_ip")
			continue
		}
		select {
		case s.conns <- struct{}{}:
		default:
			s.release(s.reading, key)
			s.drop(c, "max_connections")
			continue
		}
		s.wg.Add(1)
		go s.serveTCP(c, key)
	}
}

// drop closes a connection refused at accept.
func (s *Server) drop(c *net.TCPConn, reason string) {
	c.Close()
	if s.opts.Observer != nil {
		s.opts.Observer.DroppedConnection(reason)
	}
}

// clientKey is the address max_connections_per_ip counts by: an IPv4
// address, or the /64 of an IPv6 one, since one IPv6 host commonly has a
// whole /64 to draw addresses from.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is4() {
		return a
	}
	p, _ := a.Prefix(64)
	return p.Addr()
}

// perIP counts connections by clientKey, against MaxConnectionsPerIP.
type perIP map[netip.Addr]int

// admit counts a connection from key in m, unless key has
// MaxConnectionsPerIP there already.
func (s *Server) admit(m perIP, key netip.Addr) bool {
	s.perIPMu.Lock()
	defer s.perIPMu.Unlock()
	if m[key] >= s.opts.MaxConnectionsPerIP {
		return false
	}
	m[key]++
	return true
}

// release uncounts a connection from key in m.
func (s *Server) release(m perIP, key netip.Addr) {
	s.perIPMu.Lock()
	defer s.perIPMu.Unlock()
	if m[key]--; m[key] <= 0 {
		delete(m, key)
	}
}

// readHeader reads a request's header into buf: the 32-byte header, or
// for types 4 and 5 (byte 16, abi.Has48ByteHeader) the 48-byte one. It
// returns how many header bytes were read and the body length the header
// announces (bytes 22-23 of the 32-byte header, 17-18 of the 48-byte one).
// head is 0 when the connection ended before a request the module answers:
// fewer than 17 bytes, or fewer than 32 of a type other than 4 and 5. A
// type-4 or type-5 request that ends within its header (17 to 47 bytes) is
// returned as it came, with err io.ErrUnexpectedEOF: the module answers it
// 16. Any other error is a deadline or a reset.
func readHeader(c io.Reader, buf []byte) (head, bodyLen int, err error) {
	if _, err := io.ReadFull(c, buf[:abi.Header48Min]); err != nil {
		return 0, 0, err
	}
	if !abi.Has48ByteHeader(buf[abi.OffEncryptionType]) {
		if _, err := io.ReadFull(c, buf[abi.Header48Min:abi.HeaderSize]); err != nil {
			return 0, 0, err
		}
		h, _ := abi.DecodeRequestHeader(buf)
		return abi.HeaderSize, int(h.BodyLength), nil
	}
	k, err := io.ReadFull(c, buf[abi.Header48Min:abi.Header48Size])
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // 17 bytes at least: answered
		}
		return abi.Header48Min + k, 0, err
	}
	return abi.Header48Size, int(binary.BigEndian.Uint16(buf[abi.Off48BodyLength:])), nil
}

// serveTCP reads one whole request, answers it and closes. The request is
// read before an instance is borrowed, so a slow client holds only its
// connection, and only until ReadTimeout. The connection counts against
// its address's MaxConnectionsPerIP until the request is read: past that
// the pool bounds its time, and a client that opens its next connection
// as soon as it has its answer is not refused for the one it finished.
// The drain after the answer has its own budget of MaxConnectionsPerIP
// per address.
func (s *Server) serveTCP(c *net.TCPConn, key netip.Addr) {
	defer s.wg.Done()
	defer func() { <-s.conns }()
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(s.opts.ReadTimeout))
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	// Fewer than 17 bytes, or fewer than 32 of a type other than 4 and
	// 5: no answer.
	head, bodyLen, err := readHeader(c, buf)
	if head == 0 {
		s.release(s.reading, key)
		return
	}
	n := 0
	if err == nil {
		// The module sees at most RequestCap bytes (ABI.md section 3): a
		// type-4/5 body longer than 65,519 bytes is cut and answered 16.
		n, err = io.ReadFull(c, buf[head:min(head+bodyLen, abi.RequestCap)])
	}
	s.release(s.reading, key)
	switch {
	case err == nil, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// The client sent all, or closed early: the module answers a short
		// body, or a type-4/5 header of 17 to 47 bytes, with 16.
	default:
		if s.opts.Observer != nil {
			s.opts.Observer.DroppedConnection("timeout")
		}
		return // deadline or reset: drop
	}
	resp := buf[abi.RequestCap:]
	answered := false
	s.answer("tcp", buf[:head+n], resp, func(b []byte) error {
		c.SetWriteDeadline(time.Now().Add(s.opts.IOTimeout))
		_, err := c.Write(b)
		answered = err == nil
		return err
	}, from)
	if !answered {
		return
	}
	// Half-close, then read what the client still sends (bytes past the
	// request, or nothing until its close), within bounds.
	if c.CloseWrite() == nil && s.admit(s.draining, key) {
		c.SetReadDeadline(time.Now().Add(drainTimeout))
		io.CopyN(io.Discard, c, drainBytes)
		s.release(s.draining, key)
	}
}
