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
// SN) as the node stores it.
type Encryption struct {
	Den int8
	SN  uint32
	AN  []byte // 16 bytes, nil for type 0
}

// Request is one request before encoding.
type Request struct {
	Group, Command byte
	Payload        []byte // the command payload, after the challenge
	Nonce          [8]byte
	Challenge      [12]byte // the CRC is appended
	Enc            Encryption
	Empty          bool // send body length 0 (no challenge, no trailer)
}

// NewRequest returns a request with a random nonce and challenge.
func NewRequest(group, command byte, payload []byte, enc Encryption) *Request {
	r := &Request{Group: group, Command: command, Payload: payload, Enc: enc}
	rand.Read(r.Nonce[:])
	rand.Read(r.Challenge[:])
	return r
}

// Encode returns the request packet for node n.
func (r *Request) Encode(n Node) []byte {
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
		Router: abi.Router, RaidaID: n.RaidaID, Group: r.Group, Command: r.Command,
		CoinID: n.CoinID, EncryptionDen: r.Enc.Den, EncryptionSN: r.Enc.SN,
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
	Payload []byte // decrypted for type 1
	Raw     []byte
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
func (r *Request) Decode(raw []byte) (*Response, error) {
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
// blocks counter blocks after the initial block nonce || 00*8.
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
