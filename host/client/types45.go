package client

// Encryption types 4 and 5 (issue 11; TYPES45.md sections 1-4): a 48-byte
// header, K = SHA-256 of one or two ANs, AES-256-CTR and an HMAC-SHA256
// tag, following the rules where they differ from the deployed
// node.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/raidakx/raidakx/abi"
)

// Encryption type codes, the request's byte 16.
const (
	TypeNone    = 0 // type 0, 32-byte header
	TypeAN      = 1 // type 1, 32-byte header, AES-128-CTR under the AN
	TypeOneCoin = 4 // type 4, 48-byte header, one coin
	TypeTwoCoin = 5 // type 5, 48-byte header, two coins
)

// The 48-byte form of types 4 and 5 (TYPES45.md sections 1 and 4, issue 11
// rules 1 and 6).
const (
	LongHeaderSize = abi.Header48Size // request and response header
	LongNonceSize  = abi.Nonce48Size  // the request nonce N, bytes 24-47
	TagSize        = sha256.Size
	// MinLongBody is the smallest request body (rule 3): an empty C, the
	// tag and the trailer.
	MinLongBody = TagSize + 2
)

// Errors of Decode for types 4 and 5 (with ErrShortResponse and
// ErrBadTrailer).
var (
	ErrBadLength = errors.New("client: response body length is not 0 or at least 34 (E, tag, trailer) or disagrees with the bytes received")
	ErrBadTag    = errors.New("client: response tag is not HMAC-SHA256(K, E)")
)

// Code returns the encryption type byte Encode sends at offset 16: Type
// when it is set, else 1 when AN is set and 0 when it is nil.
func (e Encryption) Code() byte {
	switch {
	case e.Type != 0:
		return e.Type
	case e.AN != nil:
		return TypeAN
	}
	return TypeNone
}

// Long reports whether e uses the 48-byte header (types 4 and 5).
func (e Encryption) Long() bool { return e.Type == TypeOneCoin || e.Type == TypeTwoCoin }

// Check reports whether e can encode a request: a known type with a
// 16-byte AN where one is needed, and AN2 exactly for type 5. It does not
// check den and sn, so that a caller can ask for status 25.
func (e Encryption) Check() error {
	switch e.Code() {
	case TypeNone:
		return nil
	case TypeAN, TypeOneCoin:
		if e.AN2 != nil {
			return fmt.Errorf("client: type %d takes one coin, AN2 is for type 5", e.Code())
		}
	case TypeTwoCoin:
		if len(e.AN2) != 16 {
			return fmt.Errorf("client: type 5 needs coin 2's 16-byte AN, not %d bytes", len(e.AN2))
		}
	default:
		return fmt.Errorf("client: encryption type %d (0, 1, 4 or 5)", e.Type)
	}
	if len(e.AN) != 16 {
		return fmt.Errorf("client: type %d needs a 16-byte AN, not %d bytes", e.Code(), len(e.AN))
	}
	return nil
}

// Key returns the key the request body is encrypted under: nil for type
// 0, the AN for type 1 (AES-128), and for types 4 and 5 K = SHA-256(AN)
// or SHA-256(AN ‖ AN2), coin 1 first (issue 11 rule 2, TYPES45.md section
// 2). K is both the AES-256 key and the HMAC key, in both directions.
func (e Encryption) Key() []byte {
	switch e.Code() {
	case TypeNone:
		return nil
	case TypeAN:
		return e.AN
	}
	h := sha256.New()
	h.Write(e.AN)
	if e.Code() == TypeTwoCoin {
		h.Write(e.AN2)
	}
	return h.Sum(nil)
}

// LongNonce returns the 24-byte nonce N that a type-4 or type-5 request
// sends at bytes 24-47: Nonce ‖ NonceTail, with coin 2's den and sn in
// N[0..4] for type 5 (rule 1).
func (r *Request) LongNonce() (n [LongNonceSize]byte) {
	copy(n[:8], r.Nonce[:])
	copy(n[8:], r.NonceTail[:])
	if r.Enc.Code() == TypeTwoCoin {
		n[0] = byte(r.Enc.Den2)
		binary.BigEndian.PutUint32(n[1:5], r.Enc.SN2)
	}
	return n
}

// InnerCTR XORs src into dst with the AES-128-CTR keystream 44 and 45 use
// for their key blocks under r: key (an AN) and counter block Nonce ‖ 0^8,
// the first 8 nonce bytes for every type (issue 11 rule 5; RAIDA-FACTS for
// types 0/1). A type-4 44 and a type-1 45 therefore pair when both carry
// the same Nonce. A type-5 request's Nonce starts with coin 2 (Encode
// writes it), so to pair with one, copy its Nonce to the other request.
func (r *Request) InnerCTR(key, dst, src []byte) {
	nonce := r.Nonce
	if r.Enc.Code() == TypeTwoCoin {
		n := r.LongNonce()
		nonce = [8]byte(n[:8])
	}
	CTR(key, nonce, 0, dst, src)
}

// ctr256 XORs src into dst with the AES-CTR keystream of key from counter
// block iv, incremented as a 128-bit big-endian number (rule 3).
func ctr256(key []byte, iv []byte, dst, src []byte) {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("client: key of %d bytes", len(key)))
	}
	cipher.NewCTR(b, iv).XORKeyStream(dst, src)
}

func tag(key, c []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(c)
	return m.Sum(nil)
}

// encodeLong encodes a type-4 or type-5 request (rules 1-4, TYPES45.md
// sections 1 and 3): the 48-byte header, then unless r.Empty the body
// C ‖ HMAC-SHA256(K, C) ‖ 3E 3E with C = AES-256-CTR(K, N[0..15],
// payload). There is no challenge: the payload is the command payload.
func (r *Request) encodeLong(n Node) []byte {
	nonce := r.LongNonce()
	r.Nonce = [8]byte(nonce[:8]) // type 5: coin 2, so Nonce is what is sent
	var body []byte
	if !r.Empty {
		k := r.Enc.Key()
		body = make([]byte, len(r.Payload), len(r.Payload)+MinLongBody)
		ctr256(k, nonce[:16], body, r.Payload)
		body = append(body, tag(k, body)...)
		body = append(body, abi.TrailerByte, abi.TrailerByte)
	}
	h := abi.RequestHeader48{
		Route: abi.Route{Router: abi.Router, RaidaID: n.RaidaID, Group: r.Group, Command: r.Command,
			CoinID: n.CoinID, EncryptionType: r.Enc.Type},
		BodyLength: uint16(len(body)), Den: r.Enc.Den, SN: r.Enc.SN, Nonce: nonce,
	}
	p := make([]byte, LongHeaderSize, LongHeaderSize+len(body))
	h.Encode(p)
	return append(p, body...)
}

// LongHeader holds the fields of a 48-byte response header (TYPES45.md
// section 4, issue 11 rule 6) that the 32-byte form does not have.
type LongHeader struct {
	Type   byte     // byte 16, the request's type echoed
	Den    int8     // byte 17, coin 1 den (0 when an error came first)
	SN     uint32   // bytes 18-21, coin 1 sn
	Random [22]byte // bytes 24-45, R; R[0..15] is E's counter block
	Echo   [2]byte  // bytes 46-47, the request's N[22..23]
}

// decodeLong is Decode for types 4 and 5.
func (r *Request) decodeLong(raw []byte) (*Response, error) {
	if len(raw) < LongHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, less than the 48-byte header", ErrShortResponse, len(raw))
	}
	h, _ := abi.DecodeResponseHeader48(raw) // 48 bytes at least: no error
	resp := &Response{Raw: raw, Long: &LongHeader{Type: h.EncryptionType, Den: h.Den, SN: h.SN, Random: h.Random, Echo: h.NonceEcho}}
	resp.Header = abi.ResponseHeader{RaidaID: h.RaidaID, Status: h.Status, Group: h.Group, Echo: h.NonceEcho,
		BodyLength: h.BodyLength, Micros: h.Micros}
	bl := int(resp.Header.BodyLength)
	switch {
	case bl != 0 && bl < MinLongBody:
		return nil, fmt.Errorf("%w: body length %d", ErrBadLength, bl)
	case len(raw) < LongHeaderSize+bl:
		return nil, fmt.Errorf("%w: %d bytes, the header announces %d", ErrShortResponse, len(raw), LongHeaderSize+bl)
	case len(raw) > LongHeaderSize+bl:
		return nil, fmt.Errorf("%w: %d bytes, the header announces %d", ErrBadLength, len(raw), LongHeaderSize+bl)
	case bl == 0:
		return resp, nil
	}
	end := len(raw) - 2
	if raw[end] != abi.TrailerByte || raw[end+1] != abi.TrailerByte {
		return nil, ErrBadTrailer
	}
	e, got := raw[LongHeaderSize:end-TagSize], raw[end-TagSize:end]
	k := r.Enc.Key()
	if !hmac.Equal(got, tag(k, e)) {
		return nil, ErrBadTag
	}
	resp.Payload = make([]byte, len(e))
	ctr256(k, raw[abi.Off48RespRandom:abi.Off48RespRandom+16], resp.Payload, e)
	return resp, nil
}
