//go:build !linux || 386 || s390x

package server

import (
	"net"
	"net/netip"
)

// udpSender sends one UDP reader's answers on its socket, through the net
// package (send_linux.go says why Linux calls sendto itself).
type udpSender struct{ conn *net.UDPConn }

func newUDPSender(c *net.UDPConn) (*udpSender, error) { return &udpSender{conn: c}, nil }

// send sends b to to.
func (s *udpSender) send(b []byte, to netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, to)
	return err
}
