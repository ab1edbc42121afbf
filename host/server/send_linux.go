//go:build linux && !386 && !s390x

package server

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSender sends one UDP reader's answers on its socket.
//
// It calls sendto itself, inside RawConn.Control, rather than
// WriteToUDPAddrPort: Control holds only a reference on the descriptor,
// where a write holds the descriptor's write lock for the whole system
// call. With every reader answering on the one socket, the readers queued
// for that lock and woke each other through the scheduler (the futex
// calls of its unlock were a tenth of the served echo's CPU profile);
// without it, UDP echo is served about 15% faster. The kernel sends one
// datagram on a socket without a lock of its own, so nothing else
// serializes the answers.
//
// The build is limited to the architectures where x/sys/unix calls sendto
// directly (386 and s390x go through socketcall); elsewhere
// send_other.go's sender writes through the net package.
type udpSender struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	// The arguments and result of sendto, fields so that sendtoFn, bound
	// once, needs no closure per answer (the budget is no allocation per
	// request on the UDP path).
	b        []byte
	inet6    bool
	sa4      unix.RawSockaddrInet4
	sa6      unix.RawSockaddrInet6
	errno    unix.Errno
	sendtoFn func(fd uintptr)
}

func newUDPSender(c *net.UDPConn) (*udpSender, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &udpSender{conn: c, raw: raw}
	s.sa4.Family = unix.AF_INET
	s.sa6.Family = unix.AF_INET6
	s.sendtoFn = s.sendto
	return s, nil
}

// send sends b to to, an address a datagram came from on this socket: a
// 4-byte address on an AF_INET socket, a 16-byte one (IPv4 peers mapped)
// on an AF_INET6 socket, as ReadFromUDPAddrPort reports them.
func (s *udpSender) send(b []byte, to netip.AddrPort) error {
	ip := to.Addr()
	if ip.Zone() != "" {
		// A link-local peer: the net package maps the zone to its scope.
		_, err := s.conn.WriteToUDPAddrPort(b, to)
		return err
	}
	s.b, s.inet6 = b, ip.Is6()
	if s.inet6 {
		s.sa6.Addr = ip.As16()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s.sa6.Port))[:], to.Port())
	} else {
		s.sa4.Addr = ip.As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s.sa4.Port))[:], to.Port())
	}
	err := s.raw.Control(s.sendtoFn)
	switch {
	case err != nil:
		return err
	case s.errno == unix.EAGAIN:
		// The send buffer is full: wait for room through the poller.
		_, err = s.conn.WriteToUDPAddrPort(b, to)
		return err
	case s.errno != 0:
		return os.NewSyscallError("sendto", s.errno)
	}
	return nil
}

func (s *udpSender) sendto(fd uintptr) {
	sa, n := unsafe.Pointer(&s.sa4), unsafe.Sizeof(s.sa4)
	if s.inet6 {
		sa, n = unsafe.Pointer(&s.sa6), unsafe.Sizeof(s.sa6)
	}
	_, _, s.errno = unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.b))), uintptr(len(s.b)),
		unix.MSG_DONTWAIT, uintptr(sa), n)
}
