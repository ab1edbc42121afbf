package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
)

// Statuses only encryption types 4 and 5 answer (PROTOCOL.md section 6).
const (
	stCoinNotFound = 25  // ENCRYPTION_COIN_NOT_FOUND
	stHMAC         = 204 // INVALID_HMAC
)

// ---------------------------------------------------------------- request

// hdr48 is the 48-byte request header of encryption types 4 and 5
// (PROTOCOL.md section 6.1), one field per byte range.
type hdr48 struct {
	Route    byte     // 0
	Split    byte     // 1
	Raida    byte     // 2
	Shard    byte     // 3
	Group    byte     // 4
	Cmd      byte     // 5
	Coin     uint16   // 6-7
	Reserved [8]byte  // 8-15
	Enc      byte     // 16
	L        uint16   // 17-18
	Den      byte     // 19: coin 1 den
	SN       uint32   // 20-23: coin 1 sn
	Nonce    [24]byte // 24-47: N; type 5: N[0] = coin 2 den, N[1..4] = coin 2 sn
}

func (h hdr48) bytes() []byte {
	p := make([]byte, 48)
	p[0] = h.Route
	p[1] = h.Split
	p[2] = h.Raida
	p[3] = h.Shard
	p[4] = h.Group
	p[5] = h.Cmd
	p[6] = byte(h.Coin >> 8)
	p[7] = byte(h.Coin)
	copy(p[8:16], h.Reserved[:])
	p[16] = h.Enc
	p[17] = byte(h.L >> 8)
	p[18] = byte(h.L)
	p[19] = h.Den
	p[20] = byte(h.SN >> 24)
	p[21] = byte(h.SN >> 16)
	p[22] = byte(h.SN >> 8)
	p[23] = byte(h.SN)
	copy(p[24:48], h.Nonce[:])
	return p
}

// ---------------------------------------------------------------- crypto

// ctr256 is AES-256-CTR of data under a 32-byte key, the counter block
// starting at iv (16 bytes) and incremented as one 128-bit big-endian
// integer (crypto/cipher's CTR; TestCTR256Carry checks the carry).
func ctr256(key, iv, data []byte) []byte {
	if len(key) != 32 || len(iv) != 16 {
		panic("ctr256: key or iv size")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(data))
	cipher.NewCTR(b, iv).XORKeyStream(out, data)
	return out
}

// mac is HMAC-SHA256(key, data).
func mac(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// key45 is K: SHA-256 of coin 1's AN, followed for type 5 by coin 2's.
func key45(an1, an2 []byte) []byte {
	k := sha256.Sum256(cat(an1, an2))
	return k[:]
}

// ---------------------------------------------------------------- exchange

// ex45 is one type-4/5 exchange under construction: a well-formed request
// (valid header for the default node, C || HMAC(K, C) || 3E 3E) that
// vectors then break on purpose where they test a failure.
type ex45 struct {
	h        hdr48
	an1, an2 []byte // ANs of coin 1 and (type 5) coin 2
	payload  []byte // plaintext command payload
	node     byte   // the node's raida_id
	r        []byte // R: the 22 random bytes of the response, drawn first
}

// newEx45 starts a type-enc exchange for (group, cmd) on the default node.
// Coin 1 is (1, sn from the label); type 5 adds coin 2 (-3, sn from the
// label) in N[0..4]. No record is in any vector yet: see coins.
func newEx45(label string, enc, group, cmd byte) *ex45 {
	e := &ex45{
		h:    hdr48{Route: 1, Raida: defRaida, Group: group, Cmd: cmd, Coin: defCoin, Enc: enc},
		node: defRaida,
		r:    det(label+"/R", 22),
	}
	copy(e.h.Nonce[:], det(label+"/nonce", 24))
	e.coin1(1, detSN(label+"/sn1"), det(label+"/an1", 16))
	if enc == 5 {
		e.coin2(-3, detSN(label+"/sn2"), det(label+"/an2", 16))
	}
	return e
}

// coin1 sets coin 1 (header bytes 19-23) and its AN.
func (e *ex45) coin1(den int8, sn uint32, an []byte) *ex45 {
	e.h.Den, e.h.SN, e.an1 = byte(den), sn, an
	return e
}

// coin2 sets type 5's coin 2 (N[0] den, N[1..4] sn) and its AN.
func (e *ex45) coin2(den int8, sn uint32, an []byte) *ex45 {
	e.h.Nonce[0] = byte(den)
	copy(e.h.Nonce[1:5], u32(sn))
	e.an2 = an
	return e
}

// coin2Key is (den, sn) of coin 2.
func (e *ex45) coin2Key() coinKey {
	return coinKey{int8(e.h.Nonce[0]), uint32(e.h.Nonce[1])<<24 | uint32(e.h.Nonce[2])<<16 | uint32(e.h.Nonce[3])<<8 | uint32(e.h.Nonce[4])}
}

// coins puts the encryption coins into v's state, through bk when not nil
// (a 45 whose records may change them), with MFS mfs.
func (e *ex45) coins(v *Vector, bk *book, mfs int) {
	add := func(den int8, sn uint32, an []byte) {
		if bk != nil {
			bk.add(v, den, sn, an, mfs)
		} else {
			v.rec(den, sn, an, mfs)
		}
	}
	add(int8(e.h.Den), e.h.SN, e.an1)
	if e.h.Enc == 5 {
		c2 := e.coin2Key()
		if c2 != (coinKey{int8(e.h.Den), e.h.SN}) {
			add(c2.den, c2.sn, e.an2)
		}
	}
}

// key is K (PROTOCOL.md section 6.3).
func (e *ex45) key() []byte {
	if e.h.Enc == 5 {
		return key45(e.an1, e.an2)
	}
	return key45(e.an1, nil)
}

// nonce8 is N[0..7], the nonce of 44's and 45's own AES-128-CTR.
func (e *ex45) nonce8() []byte { return append([]byte(nil), e.h.Nonce[:8]...) }

// ciphertext is C: the payload under AES-256-CTR with K from N[0..15].
func (e *ex45) ciphertext() []byte { return ctr256(e.key(), e.h.Nonce[:16], e.payload) }

// body is the well-formed body C || HMAC(K, C) || 3E 3E.
func (e *ex45) body() []byte {
	c := e.ciphertext()
	return cat(c, mac(e.key(), c), []byte{0x3e, 0x3e})
}

// with is the header with L = len(body), then body.
func (e *ex45) with(body []byte) []byte {
	h := e.h
	h.L = uint16(len(body))
	return cat(h.bytes(), body)
}

// request is the well-formed request.
func (e *ex45) request() []byte { return e.with(e.body()) }

// seal is the response body for a plaintext payload: E || HMAC(K, E),
// E = AES-256-CTR under K from R[0..15]; nil for an empty payload.
func (e *ex45) seal(plain []byte) []byte {
	if len(plain) == 0 {
		return nil
	}
	E := ctr256(e.key(), e.r[:16], plain)
	return cat(E, mac(e.key(), E))
}

// resp is the response once coin 1 is known (step 11 passed): status,
// and the plaintext payload (nil: none).
func (e *ex45) resp(status byte, payload []byte) []byte {
	return rsp48{raida: e.node, status: status, group: e.h.Group, enc: e.h.Enc,
		den: e.h.Den, sn: e.h.SN, r: e.r, tail: e.h.Nonce[22:24], body: e.seal(payload)}.bytes()
}

// early is the response to req for an error found before coin 1 is known:
// den and sn zero, bytes 46-47 from req when it has them, no payload. The
// builder gives the group byte it expects.
func (e *ex45) early(req []byte, status, group byte) []byte {
	x := rsp48{raida: e.node, status: status, group: group, enc: req[16], r: e.r}
	if len(req) >= 48 {
		x.tail = req[46:48]
	}
	return x.bytes()
}

// ---------------------------------------------------------------- response

// rsp48 is the 48-byte response of types 4 and 5 (PROTOCOL.md section
// 6.6), written field by field.
type rsp48 struct {
	raida, status, group, enc byte
	den                       byte   // 17: coin 1 den, 0 until known
	sn                        uint32 // 18-21: coin 1 sn, 0 until known
	r                         []byte // 24-45: R
	tail                      []byte // 46-47: N[22..23]; nil: zero
	body                      []byte // E || tag; nil: no payload
}

func (x rsp48) bytes() []byte {
	if len(x.r) != 22 || (x.tail != nil && len(x.tail) != 2) {
		panic("rsp48: R or tail size")
	}
	p := make([]byte, 48)
	p[0] = x.raida
	p[1] = 0
	p[2] = x.status
	p[3] = x.group
	// 4-7: execution time, written as zero
	p[8] = 0
	if len(x.body) > 0 {
		n := len(x.body) + 2
		p[9], p[10], p[11] = byte(n>>16), byte(n>>8), byte(n)
	}
	// 12-15: zero
	p[16] = x.enc
	p[17] = x.den
	p[18] = byte(x.sn >> 24)
	p[19] = byte(x.sn >> 16)
	p[20] = byte(x.sn >> 8)
	p[21] = byte(x.sn)
	// 22-23: zero
	copy(p[24:46], x.r)
	copy(p[46:48], x.tail)
	if len(x.body) > 0 {
		p = append(p, x.body...)
		p = append(p, 0x3e, 0x3e)
	}
	return p
}

// open45 is what a client does with a 48-byte response that has a body:
// check the tag with K and decrypt E from response bytes 24-39. It
// returns the plaintext payload, or ok false when the tag is wrong.
func open45(k, resp []byte) (plain []byte, ok bool) {
	if len(resp) < 48+34 {
		return nil, false
	}
	body := resp[48 : len(resp)-2]
	E, tag := body[:len(body)-32], body[len(body)-32:]
	if !hmac.Equal(mac(k, E), tag) || !bytes.Equal(resp[len(resp)-2:], []byte{0x3e, 0x3e}) {
		return nil, false
	}
	return ctr256(k, resp[24:40], E), true
}
