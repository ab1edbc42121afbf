// Package client builds key-exchange requests, sends them over TCP or UDP
// and decodes the answers: the operator's raidakx client, the load
// generator and the end-to-end tests use it. Encryption is done with the
// standard library, independently of the module.
package client

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// Node addresses one node.
type Node struct {
	Addr    string // host:port
	Network string // "udp" or "tcp"
	RaidaID byte
	CoinID  uint16
	Timeout time.Duration // for the whole exchange; 0 means 5 s
}

// Encryption selects type 0 (AN nil) or type 1 under the AN of coin (Den,
// SN) as the node stores it, or with Type 4 or 5 the 48-byte types of
// issue 11 (TYPES45.md sections 1-4): type 4 under coin (Den, SN), type 5
// under coins (Den, SN) and (Den2, SN2), whose ANs make the key.
type Encryption struct {
	// Type is 4 or 5 for the 48-byte types. Leave it 0 for types 0 and
	// 1, which AN selects as before; 1 is accepted too.
	Type byte
	Den  int8
	SN   uint32
	AN   []byte // 16 bytes, nil for type 0
	// Type 5 only: coin 2, sent as N[0..4] (issue 11 rule 1), and its AN,
	// hashed after coin 1's (rule 2).
	Den2 int8
	SN2  uint32
	AN2  []byte
}

// Request is one request before encoding.
type Request struct {
	Group, Command byte
	Payload        []byte // the command payload, after the challenge (types 4/5: the whole plaintext)
	// Nonce is the types 0/1 nonce (bytes 24-31) and, for types 4 and 5,
	// N[0..7]; for type 5 its first 5 bytes are coin 2, which Encode
	// writes there. 44 and 45 take their own counter block from it for
	// every type (see InnerCTR).
	Nonce     [8]byte
	NonceTail [16]byte // types 4/5: N[8..23]; N[22..23] come back in the answer
	Challenge [12]byte // the CRC is appended; not sent by types 4/5
	Enc       Encryption
	Empty     bool // send body length 0 (no challenge or tag, no trailer)
}

// NewRequest returns a request with a random nonce and challenge (for
// type 5, Nonce starts with coin 2).
func NewRequest(group, command byte, payload []byte, enc Encryption) *Request {
	r := &Request{Group: group, Command: command, Payload: payload, Enc: enc}
	rand.Read(r.Nonce[:])
	rand.Read(r.Challenge[:])
	rand.Read(r.NonceTail[:])
	if enc.Code() == TypeTwoCoin {
		n := r.LongNonce()
		r.Nonce = [8]byte(n[:8])
	}
	return r
}

// Encode returns the request packet for node n. For types 4 and 5 it
// first sets Nonce[0..4] to coin 2 when the type is 5, so that Nonce
// always holds the nonce bytes sent. It panics when Type is set and
// Enc.Check fails.
func (r *Request) Encode(n Node) []byte {
	if r.Enc.Type != 0 {
		if err := r.Enc.Check(); err != nil {
			panic(err.Error())
		}
		if r.Enc.Long() {
			return r.encodeLong(n)
		}
	}
	var body []byte
	if !r.Empty {
		body = append(body, r.Challenge[:]...)
		body = binary.BigEndian.AppendUint32(body, crc32.ChecksumIEEE(r.Challenge[:]))
		body = append(body, r.Payload...)
		if r.Enc.AN != nil {
			CTR(r.Enc.AN, r.Nonce, 0, body, body)
		}
		body = append(body, abi.TrailerByte, abi.TrailerByte)
	}
	h := abi.RequestHeader{
		Route:         abi.Route{Router: abi.Router, RaidaID: n.RaidaID, Group: r.Group, Command: r.Command, CoinID: n.CoinID},
		EncryptionDen: r.Enc.Den, EncryptionSN: r.Enc.SN,
		BodyLength: uint16(len(body)), Nonce: r.Nonce,
	}
	if r.Enc.AN != nil {
		h.EncryptionType = abi.EncryptionAN
	}
	p := make([]byte, abi.HeaderSize, abi.HeaderSize+len(body))
	h.Encode(p)
	return append(p, body...)
}

// Response is a decoded answer.
type Response struct {
	Header  abi.ResponseHeader
	Payload []byte // decrypted for types 1, 4 and 5
	Raw     []byte
	// Long holds the rest of a 48-byte answer to a type-4 or type-5
	// request; nil for types 0 and 1.
	Long *LongHeader
}

// Errors of Decode.
var (
	ErrShortResponse = errors.New("client: response shorter than its header announces")
	ErrBadTrailer    = errors.New("client: response trailer is not 3E 3E")
	ErrChallenge     = errors.New("client: challenge answer does not match")
)

// Decode checks and decodes the response to r. It verifies the challenge
// answer whenever the node validated the challenge (it is all zero
// otherwise).
//
// An answer to type 4 or 5 has the 48-byte header (TYPES45.md section 4
// with issue 11 rule 6). Header gets its RAIDA id, status (byte 2), group,
// execution time (4-7), body length (9-11) and, as Echo, the request's
// N[22..23] (46-47); Long gets the rest. A body must be E ‖
// HMAC-SHA256(K, E) ‖ 3E 3E: the tag is compared in constant time, and E
// is decrypted with AES-256-CTR from counter block = answer bytes 24-39.
// The errors are ErrShortResponse, ErrBadLength, ErrBadTrailer and
// ErrBadTag. The header and the status are not authenticated, nor is an
// answer without a body; the echo is not checked.
func (r *Request) Decode(raw []byte) (*Response, error) {
	if r.Enc.Long() {
		return r.decodeLong(raw)
	}
	h, err := abi.DecodeResponseHeader(raw)
	if err != nil {
		return nil, err
	}
	resp := &Response{Header: h, Raw: raw}
	if h.BodyLength > 0 {
		if h.BodyLength < 2 || len(raw) != abi.HeaderSize+int(h.BodyLength) {
			return nil, ErrShortResponse
		}
		end := len(raw) - 2
		if raw[end] != abi.TrailerByte || raw[end+1] != abi.TrailerByte {
			return nil, ErrBadTrailer
		}
		resp.Payload = append([]byte(nil), raw[abi.HeaderSize:end]...)
		if r.Enc.AN != nil {
			used := (len(r.Payload) + 16 + 15) / 16
			CTR(r.Enc.AN, r.Nonce, uint64(used), resp.Payload, resp.Payload)
		}
	} else if len(raw) != abi.HeaderSize {
		return nil, ErrShortResponse
	}
	if h.Challenge != ([16]byte{}) && !r.Empty {
		var want [16]byte
		copy(want[:], r.Challenge[:])
		binary.BigEndian.PutUint32(want[12:], crc32.ChecksumIEEE(r.Challenge[:]))
		for i := range want {
			if r.Enc.AN != nil {
				want[i] ^= r.Enc.AN[i]
			}
		}
		if h.Challenge != want {
			return nil, ErrChallenge
		}
	}
	return resp, nil
}

// Exchange sends packet to n and returns the raw answer.
func Exchange(n Node, packet []byte) ([]byte, error) {
	timeout := n.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c, err := net.DialTimeout(n.Network, n.Addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(packet); err != nil {
		return nil, err
	}
	if n.Network == "udp" {
		buf := make([]byte, abi.ResponseCap)
		k, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		return buf[:k], nil
	}
	// TCP: the node answers and closes.
	return io.ReadAll(io.LimitReader(c, abi.ResponseCap))
}

// Do encodes r, exchanges it with n and decodes the answer.
func (r *Request) Do(n Node) (*Response, error) {
	raw, err := Exchange(n, r.Encode(n))
	if err != nil {
		return nil, err
	}
	return r.Decode(raw)
}

// CTR XORs src into dst with the AES-128-CTR keystream of key, starting
// blocks counter blocks after the initial block nonce || 00*8. With a
// request's Nonce it is also the cipher of 44's and 45's key blocks under
// every type (issue 11 rule 5).
func CTR(key []byte, nonce [8]byte, blocks uint64, dst, src []byte) {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("client: AN of %d bytes", len(key)))
	}
	var iv [16]byte
	copy(iv[:8], nonce[:])
	binary.BigEndian.PutUint64(iv[8:], blocks) // the low half starts at zero
	cipher.NewCTR(b, iv[:]).XORKeyStream(dst, src)
}
