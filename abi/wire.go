package abi

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// HeaderSize is the size of the request and of the response header.
const HeaderSize = 32

// Request header offsets (RAIDA-FACTS section 2).
const (
	OffRouter         = 0
	OffSplit          = 1
	OffRaidaID        = 2
	OffShard          = 3
	OffGroup          = 4
	OffCommand        = 5
	OffCoinID         = 6  // u16
	OffEncryptionType = 16 //
	OffEncryptionDen  = 17
	OffEncryptionSN   = 18 // u32
	OffBodyLength     = 22 // u16
	OffNonce          = 24 // 8 bytes; 30-31 are also the echo bytes
	OffEcho           = 30
)

// Response header offsets (RAIDA-FACTS section 4).
const (
	OffRespRaidaID    = 0
	OffRespStatus     = 2
	OffRespGroup      = 3
	OffRespFrames     = 4 // u16, always 1
	OffRespEcho       = 6
	OffRespBodyLength = 9  // u24
	OffRespMicros     = 12 // u32
	OffRespChallenge  = 16 // 16 bytes
)

// Wire constants.
const (
	Router         = 1         // the only accepted router/version byte
	MaxShard       = 3         // shard ids 0..3
	MaxGroup       = 15        // command groups 0..15
	TrailerByte    = 0x3e      // the trailer is two of these
	ChallengeSize  = 16        // the challenge opens every body
	MinDen         = -8        // denominations -8..6
	MaxDen         = 6         //
	SNLimit        = 1_024_000 // serial numbers 0..SNLimit-1
	RaidaCount     = 25        // RAIDA ids 0..24
	GroupStatus    = 0         // group of echo
	GroupKeys      = 4         // key-exchange group
	CommandEcho    = 0         //
	CommandPostKey = 41        // 41 Post Key
	CommandAlert   = 42        // 42 Key Alert
	CommandGetKey  = 43        // 43 Get Key
	CommandEncrypt = 44        // 44 Encrypt Key
	CommandDecrypt = 45        // 45 Decrypt RAIDA Key
	EncryptionNone = 0         // encryption type 0
	EncryptionAN   = 1         // encryption type 1: AES-128-CTR under a coin's AN
)

// ErrShortHeader is returned when fewer than HeaderSize bytes are decoded.
var ErrShortHeader = errors.New("abi: header shorter than 32 bytes")

// Route is what every request header holds at the same offsets, the
// 32-byte header and the 48-byte one of types 4 and 5 alike: bytes 0-7
// (where the request goes) and byte 16 (how its body is encrypted,
// which also says which header it has).
type Route struct {
	Router         byte
	Split          byte
	RaidaID        byte
	Shard          byte
	Group          byte
	Command        byte
	CoinID         uint16
	EncryptionType byte
}

// decodeRoute reads bytes 0-7 and 16 of a header of at least 17 bytes.
func decodeRoute(b []byte) Route {
	return Route{
		Router:         b[OffRouter],
		Split:          b[OffSplit],
		RaidaID:        b[OffRaidaID],
		Shard:          b[OffShard],
		Group:          b[OffGroup],
		Command:        b[OffCommand],
		CoinID:         binary.BigEndian.Uint16(b[OffCoinID:]),
		EncryptionType: b[OffEncryptionType],
	}
}

// encode writes bytes 0-7 and 16 of a header into dst.
func (r *Route) encode(dst []byte) {
	dst[OffRouter], dst[OffSplit], dst[OffRaidaID] = r.Router, r.Split, r.RaidaID
	dst[OffShard], dst[OffGroup], dst[OffCommand] = r.Shard, r.Group, r.Command
	binary.BigEndian.PutUint16(dst[OffCoinID:], r.CoinID)
	dst[OffEncryptionType] = r.EncryptionType
}

// RequestHeader is the 32-byte request header (RAIDA-FACTS section 2).
type RequestHeader struct {
	Route
	EncryptionDen int8
	EncryptionSN  uint32
	BodyLength    uint16
	Nonce         [8]byte // bytes 30-31 are the echo bytes
}

// DecodeRequestHeader reads the first 32 bytes of b.
func DecodeRequestHeader(b []byte) (RequestHeader, error) {
	if len(b) < HeaderSize {
		return RequestHeader{}, ErrShortHeader
	}
	h := RequestHeader{
		Route:         decodeRoute(b),
		EncryptionDen: int8(b[OffEncryptionDen]),
		EncryptionSN:  binary.BigEndian.Uint32(b[OffEncryptionSN:]),
		BodyLength:    binary.BigEndian.Uint16(b[OffBodyLength:]),
	}
	copy(h.Nonce[:], b[OffNonce:OffNonce+8])
	return h, nil
}

// Encode writes the header into dst[:32]; reserved bytes 8-15 become zero.
func (h *RequestHeader) Encode(dst []byte) {
	_ = dst[HeaderSize-1]
	clear(dst[:HeaderSize])
	h.Route.encode(dst)
	dst[OffEncryptionDen] = byte(h.EncryptionDen)
	binary.BigEndian.PutUint32(dst[OffEncryptionSN:], h.EncryptionSN)
	binary.BigEndian.PutUint16(dst[OffBodyLength:], h.BodyLength)
	copy(dst[OffNonce:], h.Nonce[:])
}

// CounterBlock returns the initial AES-CTR counter block, nonce || 00*8.
func (h *RequestHeader) CounterBlock() (iv [16]byte) {
	copy(iv[:8], h.Nonce[:])
	return iv
}

// ResponseHeader is the 32-byte response header (RAIDA-FACTS section 4).
type ResponseHeader struct {
	RaidaID    byte
	Status     Status
	Group      byte
	Echo       [2]byte
	BodyLength uint32 // u24: payload + 2, or 0 without payload
	Micros     uint32 // execution time
	Challenge  [16]byte
}

// Encode writes the header into dst[:32].
func (h *ResponseHeader) Encode(dst []byte) {
	_ = dst[HeaderSize-1]
	clear(dst[:HeaderSize])
	dst[OffRespRaidaID] = h.RaidaID
	dst[OffRespStatus] = byte(h.Status)
	dst[OffRespGroup] = h.Group
	binary.BigEndian.PutUint16(dst[OffRespFrames:], 1)
	copy(dst[OffRespEcho:], h.Echo[:])
	dst[OffRespBodyLength] = byte(h.BodyLength >> 16)
	dst[OffRespBodyLength+1] = byte(h.BodyLength >> 8)
	dst[OffRespBodyLength+2] = byte(h.BodyLength)
	binary.BigEndian.PutUint32(dst[OffRespMicros:], h.Micros)
	copy(dst[OffRespChallenge:], h.Challenge[:])
}

// DecodeResponseHeader reads the first 32 bytes of b.
func DecodeResponseHeader(b []byte) (ResponseHeader, error) {
	if len(b) < HeaderSize {
		return ResponseHeader{}, ErrShortHeader
	}
	h := ResponseHeader{
		RaidaID:    b[OffRespRaidaID],
		Status:     Status(b[OffRespStatus]),
		Group:      b[OffRespGroup],
		BodyLength: uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11]),
		Micros:     binary.BigEndian.Uint32(b[OffRespMicros:]),
	}
	copy(h.Echo[:], b[OffRespEcho:])
	copy(h.Challenge[:], b[OffRespChallenge:])
	return h, nil
}

// ResponseGroup is the group byte of the response to req: the request's
// group once the checks of bytes 0, 1, 2 and 4 have passed, else 0.
// req must hold at least 5 bytes.
func ResponseGroup(req []byte, raidaID byte) byte {
	if req[OffRouter] != Router || req[OffSplit] != 0 ||
		req[OffRaidaID] != raidaID || req[OffGroup] > MaxGroup {
		return 0
	}
	return req[OffGroup]
}

// PutInternalError writes into dst the response a host sends when the
// module could not answer req (a trap, a timeout): status 252, no
// challenge answer, no payload. It returns the response length, 0 when req
// is too short to be answered at all.
func PutInternalError(dst, req []byte, raidaID byte) int {
	if len(req) > OffEncryptionType && Has48ByteHeader(req[OffEncryptionType]) {
		// Types 4 and 5 (PROTOCOL.md section 6.6): the 48-byte form, R
		// zero as when the module cannot draw it, den and sn zero.
		h := ResponseHeader48{RaidaID: raidaID, Status: StatusInternal, Group: ResponseGroup(req, raidaID), EncryptionType: req[OffEncryptionType]}
		if len(req) >= Header48Size {
			copy(h.NonceEcho[:], req[Off48RespNonceEcho:])
		}
		h.Encode(dst)
		return Header48Size
	}
	if len(req) < HeaderSize {
		return 0
	}
	h := ResponseHeader{RaidaID: raidaID, Status: StatusInternal, Group: ResponseGroup(req, raidaID)}
	copy(h.Echo[:], req[OffEcho:])
	h.Encode(dst)
	return HeaderSize
}

// Config is the node's identity, the arguments of raidakx_configure.
type Config struct {
	RaidaID byte   // 0..24
	CoinID  uint16 // the coin id requests must carry
}

// Valid reports whether c can be used.
func (c Config) Valid() bool { return c.RaidaID < RaidaCount }

// The coin database's shape: DenCount denominations of PagesPerDen page
// files, each of RecordsPerPage records.
const (
	DenCount    = MaxDen - MinDen + 1      // 15
	PagesPerDen = SNLimit / RecordsPerPage // 1,000
	PageCount   = DenCount * PagesPerDen   // 15,000 page files
)

// RecordExists reports whether (den, sn) names a record of the coin
// database: den in -8..6 and sn below 1,024,000.
func RecordExists(den int8, sn uint32) bool {
	return den >= MinDen && den <= MaxDen && sn < SNLimit
}

// Page returns the page that holds sn.
func Page(sn uint32) uint32 { return sn / RecordsPerPage }

// MFS returns the months-from-start byte of a UTC year and month (1..12):
// ((year - 2023) * 12 + (month - 2)) mod 256.
func MFS(year int, month int) byte {
	return byte((year-2023)*12 + (month - 2))
}

// AppendCoinFileName appends the coin file name for (den, sn), relative to
// coins/: "{den:02x}.{sn}.bin" with den as an unsigned byte.
func AppendCoinFileName(dst []byte, den int8, sn uint32) []byte {
	const hexdigits = "0123456789abcdef"
	dst = append(dst, hexdigits[byte(den)>>4], hexdigits[byte(den)&15], '.')
	dst = strconv.AppendUint(dst, uint64(sn), 10)
	return append(dst, ".bin"...)
}

// ValidFileName reports whether name is a plain file name a host accepts:
// 1 to MaxFileNameSize bytes of [0-9A-Za-z._-], not starting with a dot.
func ValidFileName(name []byte) bool {
	if len(name) == 0 || len(name) > MaxFileNameSize || name[0] == '.' {
		return false
	}
	for _, c := range name {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
