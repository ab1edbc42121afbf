package abi

import "encoding/binary"

// Encryption types 4 and 5 (issue 11, docs/PROTOCOL.md section 6) use
// 48-byte request and response headers, laid out as the deployed node's
// (TYPES45.md sections 1 and 4) except where PROTOCOL.md says otherwise.

// The encryption types with a 48-byte header, and type 2 (locker).
const (
	EncryptionLocker   = 2 // type 2: answered 34, the module has no locker index
	EncryptionCoin     = 4 // type 4: AES-256-CTR and HMAC-SHA256 under SHA-256(AN1)
	EncryptionTwoCoins = 5 // type 5: the same under SHA-256(AN1 || AN2)
)

// Header48Size is the size of the request and response headers of types
// 4 and 5. Header48Min is how many bytes of a request must arrive for its
// type (byte 16) to be known.
const (
	Header48Size = 48
	Header48Min  = OffEncryptionType + 1
	Nonce48Size  = 24
	Random48Size = 22 // response bytes 24-45
)

// Request header offsets of types 4 and 5 (TYPES45.md section 1). Bytes
// 0-7 and 16 are those of the 32-byte header.
const (
	Off48BodyLength = 17 // u16
	Off48Den        = 19 // coin 1
	Off48SN         = 20 // u32, coin 1
	Off48Nonce      = 24 // 24 bytes N; type 5: N[0] coin 2 den, N[1:5] its sn
)

// Response header offsets of types 4 and 5 (TYPES45.md section 4).
const (
	Off48RespMicros     = 4  // u32
	Off48RespBodyLength = 9  // u24: payload + 32 + 2, or 0
	Off48RespType       = 16 // the request's encryption type
	Off48RespDen        = 17 // coin 1, once known
	Off48RespSN         = 18 // u32
	Off48RespRandom     = 24 // R, 22 bytes; R[0:16] is the payload's counter block
	Off48RespNonceEcho  = 46 // the request's N[22:24]
)

// Has48ByteHeader reports whether a request whose byte 16 is t uses the
// 48-byte header.
func Has48ByteHeader(t byte) bool { return t == EncryptionCoin || t == EncryptionTwoCoins }

// RequestHeader48 is the 48-byte request header of types 4 and 5.
type RequestHeader48 struct {
	Route
	BodyLength uint16
	Den        int8 // coin 1
	SN         uint32
	Nonce      [Nonce48Size]byte
}

// DecodeRequestHeader48 reads the first 48 bytes of b.
func DecodeRequestHeader48(b []byte) (RequestHeader48, error) {
	if len(b) < Header48Size {
		return RequestHeader48{}, ErrShortHeader
	}
	h := RequestHeader48{
		Route:      decodeRoute(b),
		BodyLength: binary.BigEndian.Uint16(b[Off48BodyLength:]),
		Den:        int8(b[Off48Den]),
		SN:         binary.BigEndian.Uint32(b[Off48SN:]),
	}
	copy(h.Nonce[:], b[Off48Nonce:])
	return h, nil
}

// Coin2 returns type 5's second coin, N[0] and N[1:5].
func (h *RequestHeader48) Coin2() (den int8, sn uint32) {
	return int8(h.Nonce[0]), binary.BigEndian.Uint32(h.Nonce[1:5])
}

// Encode writes the header into dst[:48]; bytes 8-15 become zero.
func (h *RequestHeader48) Encode(dst []byte) {
	_ = dst[Header48Size-1]
	clear(dst[:Header48Size])
	h.Route.encode(dst)
	binary.BigEndian.PutUint16(dst[Off48BodyLength:], h.BodyLength)
	dst[Off48Den] = byte(h.Den)
	binary.BigEndian.PutUint32(dst[Off48SN:], h.SN)
	copy(dst[Off48Nonce:], h.Nonce[:])
}

// ResponseHeader48 is the 48-byte response header of types 4 and 5.
type ResponseHeader48 struct {
	RaidaID        byte
	Status         Status
	Group          byte
	Micros         uint32
	BodyLength     uint32 // u24
	EncryptionType byte
	Den            int8 // coin 1, zero until it is known
	SN             uint32
	Random         [Random48Size]byte
	NonceEcho      [2]byte
}

// Encode writes the header into dst[:48].
func (h *ResponseHeader48) Encode(dst []byte) {
	_ = dst[Header48Size-1]
	clear(dst[:Header48Size])
	dst[OffRespRaidaID] = h.RaidaID
	dst[OffRespStatus] = byte(h.Status)
	dst[OffRespGroup] = h.Group
	binary.BigEndian.PutUint32(dst[Off48RespMicros:], h.Micros)
	dst[Off48RespBodyLength] = byte(h.BodyLength >> 16)
	dst[Off48RespBodyLength+1] = byte(h.BodyLength >> 8)
	dst[Off48RespBodyLength+2] = byte(h.BodyLength)
	dst[Off48RespType] = h.EncryptionType
	dst[Off48RespDen] = byte(h.Den)
	binary.BigEndian.PutUint32(dst[Off48RespSN:], h.SN)
	copy(dst[Off48RespRandom:], h.Random[:])
	copy(dst[Off48RespNonceEcho:], h.NonceEcho[:])
}

// DecodeResponseHeader48 reads the first 48 bytes of b.
func DecodeResponseHeader48(b []byte) (ResponseHeader48, error) {
	if len(b) < Header48Size {
		return ResponseHeader48{}, ErrShortHeader
	}
	h := ResponseHeader48{
		RaidaID:        b[OffRespRaidaID],
		Status:         Status(b[OffRespStatus]),
		Group:          b[OffRespGroup],
		Micros:         binary.BigEndian.Uint32(b[Off48RespMicros:]),
		BodyLength:     uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11]),
		EncryptionType: b[Off48RespType],
		Den:            int8(b[Off48RespDen]),
		SN:             binary.BigEndian.Uint32(b[Off48RespSN:]),
	}
	copy(h.Random[:], b[Off48RespRandom:])
	copy(h.NonceEcho[:], b[Off48RespNonceEcho:])
	return h, nil
}
