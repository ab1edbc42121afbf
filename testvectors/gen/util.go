package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"sort"
	"time"

	"github.com/raidakx/raidakx/testvectors/format"
)

// Defaults: the node of the facts sheet's observed exchanges.
const (
	defRaida       = 14
	defCoin        = 6
	defTime  int64 = 1795000000 // 2026-11-18 11:06:40 UTC, MFS 45
)

// Status codes.
const (
	stOK         = 0
	stSplit      = 2
	stRaida      = 3
	stShard      = 4
	stGroup      = 5
	stCommand    = 6
	stCoinID     = 7
	stLength     = 16
	stEncCode    = 27
	stEOF        = 33
	stEncryption = 34
	stEmpty      = 36
	stCRC        = 37
	stNotDiv     = 39
	stSNDen      = 40
	stFS         = 194
	stKeyLength  = 196
	stCoinLoad   = 197
	stSuccess    = 250
	stRouting    = 255
)

// det returns n deterministic pseudo-random bytes derived from label
// (SHA-256 of label and a block counter).
func det(label string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(fmt.Sprintf("raidakx testvectors|%s|%d", label, i)))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// detSN returns a deterministic serial number below 1,024,000.
func detSN(label string) uint32 {
	return binary.BigEndian.Uint32(det(label, 4)) % 1024000
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

func u16(v uint16) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, v)
	return b
}

// crc is CRC-32 (IEEE) of b, big-endian.
func crc(b []byte) []byte { return u32(crc32.ChecksumIEEE(b)) }

// challenge returns 12 deterministic bytes followed by their CRC.
func challenge(label string) []byte {
	c := det(label+"/challenge", 12)
	return cat(c, crc(c))
}

// counterBlock is the initial counter block nonce || 00*8 plus off, added as
// one 128-bit big-endian integer.
func counterBlock(nonce []byte, off uint64) []byte {
	if len(nonce) != 8 {
		panic("nonce must be 8 bytes")
	}
	// The low half of the initial block is zero, so adding off (< 2^64)
	// never carries into the nonce half.
	iv := make([]byte, 16)
	copy(iv[:8], nonce)
	binary.BigEndian.PutUint64(iv[8:], off)
	return iv
}

// ctr is AES-128-CTR of data under key, the counter starting at the initial
// block (nonce || 00*8) plus blockOff.
func ctr(key, nonce []byte, blockOff uint64, data []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(data))
	cipher.NewCTR(b, counterBlock(nonce, blockOff)).XORKeyStream(out, data)
	return out
}

// reqBlocks is the number of counter blocks a type-1 request body of length
// L uses: ceil((L - 2) / 16). The response payload's counter starts there.
func reqBlocks(L int) uint64 { return uint64((L - 2 + 15) / 16) }

func xor(a, b []byte) []byte {
	if len(a) != len(b) {
		panic("xor length")
	}
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// mfsAt is ((year - 2023) * 12 + (month - 2)) mod 256 in UTC.
func mfsAt(t int64) int {
	tm := time.Unix(t, 0).UTC()
	v := (tm.Year()-2023)*12 + (int(tm.Month()) - 2)
	return ((v % 256) + 256) % 256
}

func utc(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

// denValid / snValid: a record exists exactly when both are in range.
func denValid(d byte) bool   { return int8(d) >= -8 && int8(d) <= 6 }
func snValid(sn uint32) bool { return sn < 1024000 }

func coinPath(den byte, sn uint32) string { return fmt.Sprintf("coins/%02x.%d.bin", den, sn) }
func keyPath(id []byte) string            { return "Keys/" + hx(id) }

// ---------------------------------------------------------------- request

// reqHeader is the 32-byte request header, one field per byte range.
type reqHeader struct {
	Route    byte    // 0
	Split    byte    // 1
	Raida    byte    // 2
	Shard    byte    // 3
	Group    byte    // 4
	Cmd      byte    // 5
	Coin     uint16  // 6-7
	Reserved [8]byte // 8-15
	Enc      byte    // 16
	EncDen   byte    // 17
	EncSN    uint32  // 18-21
	L        uint16  // 22-23
	Nonce    []byte  // 24-31
}

func (h reqHeader) bytes() []byte {
	p := make([]byte, 32)
	p[0] = h.Route
	p[1] = h.Split
	p[2] = h.Raida
	p[3] = h.Shard
	p[4] = h.Group
	p[5] = h.Cmd
	binary.BigEndian.PutUint16(p[6:8], h.Coin)
	copy(p[8:16], h.Reserved[:])
	p[16] = h.Enc
	p[17] = h.EncDen
	binary.BigEndian.PutUint32(p[18:22], h.EncSN)
	binary.BigEndian.PutUint16(p[22:24], h.L)
	copy(p[24:32], h.Nonce)
	return p
}

// ex is one exchange under construction: a well-formed request (valid
// header for the default node, challenge with good CRC, trailer 3E 3E) that
// vectors then break on purpose where they test a failure.
type ex struct {
	h         reqHeader
	an        []byte // type 1: the encryption coin's AN
	challenge []byte
	payload   []byte // plaintext payload (body bytes 16 .. L-2)
	node      byte   // the node's raida_id (response byte 0)
}

func newEx(label string, group, cmd byte) *ex {
	return &ex{
		h: reqHeader{
			Route: 1, Raida: defRaida, Group: group, Cmd: cmd, Coin: defCoin,
			Nonce: det(label+"/nonce", 8),
		},
		challenge: challenge(label),
		node:      defRaida,
	}
}

// type1 switches the exchange to encryption type 1 with coin (den, sn).
func (e *ex) type1(den int8, sn uint32, an []byte) *ex {
	e.h.Enc, e.h.EncDen, e.h.EncSN, e.an = 1, byte(den), sn, an
	return e
}

// L is the body length of the well-formed request.
func (e *ex) L() int { return 16 + len(e.payload) + 2 }

// body is the well-formed body: type 0 challenge || payload || 3E 3E; type
// 1 the same with challenge || payload encrypted from the initial block.
func (e *ex) body() []byte {
	plain := cat(e.challenge, e.payload)
	if e.h.Enc == 1 {
		plain = ctr(e.an, e.h.Nonce, 0, plain)
	}
	return cat(plain, []byte{0x3e, 0x3e})
}

// request is header (with L = len(body)) || body.
func (e *ex) request() []byte {
	h := e.h
	h.L = uint16(e.L())
	return cat(h.bytes(), e.body())
}

// answer is the challenge answer once the CRC check has passed.
func (e *ex) answer() []byte {
	if e.h.Enc == 1 {
		return xor(e.challenge, e.an)
	}
	return e.challenge
}

// seal is the response payload as sent: type 1 encrypts it with the
// encryption coin's AN, the counter continuing after the request's blocks.
func (e *ex) seal(plain []byte) []byte {
	if e.h.Enc == 1 && len(plain) > 0 {
		return ctr(e.an, e.h.Nonce, reqBlocks(e.L()), plain)
	}
	return plain
}

// resp is the response to this exchange with the given status, the
// challenge answered (CRC check passed) or not, and a plaintext payload.
func (e *ex) resp(status byte, answered bool, payload []byte) []byte {
	var ans []byte
	if answered {
		ans = e.answer()
	}
	return response(e.node, status, e.h.Group, e.h.Nonce[6:8], ans, e.seal(payload))
}

// ---------------------------------------------------------------- response

// response writes the response header field by field, then the payload (as
// sent) and its trailer when the payload is not empty.
func response(raida, status, group byte, echo, answer, payload []byte) []byte {
	r := make([]byte, 32)
	r[0] = raida
	r[1] = 0
	r[2] = status
	r[3] = group
	r[4], r[5] = 0, 1
	copy(r[6:8], echo)
	r[8] = 0
	if len(payload) > 0 {
		n := len(payload) + 2
		r[9], r[10], r[11] = byte(n>>16), byte(n>>8), byte(n)
	}
	// 12-15: execution time, written as zero
	copy(r[16:32], answer) // nil: 16 zero bytes
	if len(payload) > 0 {
		r = append(r, payload...)
		r = append(r, 0x3e, 0x3e)
	}
	return r
}

// ---------------------------------------------------------------- vectors

func vec(name, desc string) *Vector {
	return &Vector{format.Vector{
		Name: name, Description: desc,
		Config:   Config{RaidaID: defRaida, CoinID: defCoin},
		TimeUnix: defTime,
		State:    State{Records: []Record{}, Files: map[string]string{}},
		Expect:   State{Records: []Record{}, Files: map[string]string{}},
	}}
}

func (v *Vector) io(req, resp []byte) *Vector {
	v.RequestHex, v.ResponseHex = hx(req), hx(resp)
	return v
}

func (v *Vector) rec(den int8, sn uint32, an []byte, mfs int) *Vector {
	v.State.Records = append(v.State.Records, Record{Den: int(den), SN: sn, AN: hx(an), MFS: mfs})
	return v
}

func (v *Vector) file(path string, content []byte) *Vector {
	v.State.Files[path] = hx(content)
	return v
}

func (v *Vector) expFile(path string, content []byte) *Vector {
	v.Expect.Files[path] = hx(content)
	return v
}

func (v *Vector) expRec(den int8, sn uint32, an []byte, mfs int) *Vector {
	v.Expect.Records = append(v.Expect.Records, Record{Den: int(den), SN: sn, AN: hx(an), MFS: mfs})
	return v
}

// ---------------------------------------------------------------- record book

type coinKey struct {
	den int8
	sn  uint32
}

type coinVal struct {
	an  [16]byte
	mfs int
}

// book tracks the records of one vector: their state before the request
// and after the changes the vector's builder applies.
type book struct {
	before, after map[coinKey]coinVal
}

func newBook() *book {
	return &book{before: map[coinKey]coinVal{}, after: map[coinKey]coinVal{}}
}

// add puts a record into the vector's state and the book.
func (b *book) add(v *Vector, den int8, sn uint32, an []byte, mfs int) {
	v.rec(den, sn, an, mfs)
	var cv coinVal
	copy(cv.an[:], an)
	cv.mfs = mfs
	b.before[coinKey{den, sn}] = cv
	b.after[coinKey{den, sn}] = cv
}

// an is the current AN of (den, sn): zero when never set.
func (b *book) an(den int8, sn uint32) []byte {
	cv := b.after[coinKey{den, sn}]
	return append([]byte(nil), cv.an[:]...)
}

// setHalf replaces AN bytes 8*split .. 8*split+8 and sets the MFS.
func (b *book) setHalf(den int8, sn uint32, split int, k []byte, mfs int) {
	cv := b.after[coinKey{den, sn}]
	copy(cv.an[8*split:8*split+8], k)
	cv.mfs = mfs
	b.after[coinKey{den, sn}] = cv
}

// expect lists every record whose final value differs from its initial one.
func (b *book) expect(v *Vector) {
	keys := make([]coinKey, 0, len(b.after))
	for k := range b.after {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].den != keys[j].den {
			return keys[i].den < keys[j].den
		}
		return keys[i].sn < keys[j].sn
	})
	for _, k := range keys {
		if b.after[k] != b.before[k] {
			a := b.after[k]
			v.expRec(k.den, k.sn, a.an[:], a.mfs)
		}
	}
}
