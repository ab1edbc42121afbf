package client_test

// Types 4 and 5 (issue 11). Every expected byte here is computed with the
// standard library (crypto/aes, crypto/cipher, crypto/hmac, crypto/sha256)
// from layouts written out in the test, or copied from TYPES45.md section 7.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The node and coin of TYPES45.md section 7: RAIDA 14, coin id 6, coin
// (1, 5) with its AN there, nonce 10 11 ... 27.
var (
	exampleNode = client.Node{RaidaID: 14, CoinID: 6}
	exampleAN   = []byte{0x38, 0xb4, 0xe6, 0x52, 0xe4, 0x4d, 0xa7, 0xf2, 0x37, 0x0d, 0x9e, 0x26, 0x0e, 0x27, 0x13, 0x65}
	exampleEnc  = client.Encryption{Type: 4, Den: 1, SN: 5, AN: exampleAN}
)

func exampleRequest(group, command byte, payload []byte) *client.Request {
	r := &client.Request{Group: group, Command: command, Payload: payload, Enc: exampleEnc}
	for i := range r.Nonce {
		r.Nonce[i] = 0x10 + byte(i)
	}
	for i := range r.NonceTail {
		r.NonceTail[i] = 0x18 + byte(i)
	}
	return r
}

// refCTR is AES-CTR under key from counter block iv (any key size).
func refCTR(t testing.TB, key, iv, src []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(src))
	cipher.NewCTR(b, iv).XORKeyStream(out, src)
	return out
}

func refMAC(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func TestWorkedExample(t *testing.T) {
	k := unhex(t, "2ab5a2ac7fa5ace77a6498c50f79db8a6c44b5c8b74c91a623791d7b10fb4d89")
	if got := exampleEnc.Key(); !bytes.Equal(got, k) {
		t.Fatalf("K = %x, want %x", got, k)
	}
	if sum := sha256.Sum256(exampleAN); !bytes.Equal(sum[:], k) {
		t.Fatalf("section 7's K is not SHA-256 of its AN")
	}
	// The first keystream block, AES-256(K, N[0..15]).
	b, _ := aes.NewCipher(k)
	var ks [16]byte
	b.Encrypt(ks[:], unhex(t, "101112131415161718191a1b1c1d1e1f"))
	if want := unhex(t, "df086f353057aeec161facb8704c4cf3"); !bytes.Equal(ks[:], want) {
		t.Fatalf("keystream %x, want %x", ks, want)
	}
	c16 := unhex(t, "df096d363452a8eb1e16a6b37c4142fc")
	tests := []struct {
		name    string
		payload []byte
		want    []byte
	}{
		{"echo, empty payload, L 34", nil, unhex(t, `
			01000e0000000006 0000000000000000
			04 0022 01 00000005
			101112131415161718191a1b1c1d1e1f2021222324252627
			f16f15536bcb72b070d656e2419310a8bc17f3b4ba5f0facafdf95cf7aa41533
			3e3e`)},
		{"echo, 00..0f, L 50", unhex(t, "000102030405060708090a0b0c0d0e0f"), slicesConcat(unhex(t, `
			01000e0000000006 0000000000000000
			04 0032 01 00000005
			101112131415161718191a1b1c1d1e1f2021222324252627`),
			c16, refMAC(k, c16), []byte{0x3e, 0x3e})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exampleRequest(0, 0, tt.payload).Encode(exampleNode)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("request\n got %x\nwant %x", got, tt.want)
			}
		})
	}
	if n := len(tests[0].want); n != 82 {
		t.Fatalf("section 7's request is 82 bytes, not %d", n)
	}
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestWorkedExampleReply decodes the reply to the version request that
// TYPES45.md section 7 captured. Its tag is printed there only in part
// (453d727d…88743272); both ends must match the tag computed here.
func TestWorkedExampleReply(t *testing.T) {
	raw := unhex(t, `
		0e00fa00 000000b8 0000002a 00000000 0401000000050000
		167127b5ffe074288d2aeb20f3f1b925125d93e76d9e2627
		07c8872e3ebca8b9`)
	k := exampleEnc.Key()
	tag := refMAC(k, raw[48:])
	if hex.EncodeToString(tag[:4]) != "453d727d" || hex.EncodeToString(tag[28:]) != "88743272" {
		t.Fatalf("tag %x does not match the captured 453d727d…88743272", tag)
	}
	raw = slicesConcat(raw, tag, []byte{0x3e, 0x3e})
	resp, err := exampleRequest(0, 1, nil).Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Payload) != "20250323" {
		t.Fatalf("payload %q, want 20250323", resp.Payload)
	}
	h := resp.Header
	if h.RaidaID != 14 || h.Status != abi.StatusSuccess || h.Group != 0 || h.Micros != 0xb8 || h.BodyLength != 42 || h.Echo != [2]byte{0x26, 0x27} {
		t.Fatalf("header %+v", h)
	}
	if l := resp.Long; l == nil || l.Type != 4 || l.Den != 1 || l.SN != 5 || l.Random[0] != 0x16 || l.Random[21] != 0x9e || l.Echo != [2]byte{0x26, 0x27} {
		t.Fatalf("long header %+v", resp.Long)
	}
}

var (
	an1 = bytes.Repeat([]byte{0xa1}, 16)
	an2 = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	// type 5 under coins (3, 70000) then (-2, 999999)
	type5 = client.Encryption{Type: 5, Den: 3, SN: 70000, AN: an1, Den2: -2, SN2: 999999, AN2: an2}
)

// longResponse builds an answer to a type-4/5 request, layout written
// out (TYPES45.md section 4 with rule 6): 22 random bytes R at 24-45, the
// echo of N[22..23] at 46-47, E = AES-256-CTR(K, R[0..15], payload).
func longResponse(t testing.TB, k []byte, status byte, typ byte, den int8, sn uint32, echo [2]byte, payload []byte) []byte {
	h := make([]byte, 48)
	h[0] = 14
	h[2] = status
	h[3] = 4
	binary.BigEndian.PutUint32(h[4:], 1234)
	h[16] = typ
	h[17] = byte(den)
	binary.BigEndian.PutUint32(h[18:], sn)
	for i := 24; i < 46; i++ {
		h[i] = byte(0xc0 + i) // R
	}
	h[46], h[47] = echo[0], echo[1]
	if len(payload) == 0 {
		return h
	}
	bl := len(payload) + 34
	h[9], h[10], h[11] = byte(bl>>16), byte(bl>>8), byte(bl)
	e := refCTR(t, k, h[24:40], payload)
	return slicesConcat(h, e, refMAC(k, e), []byte{0x3e, 0x3e})
}

func TestLongDecode(t *testing.T) {
	// 45's answer for 40 records, 43's file bytes: more than one AES block.
	long := make([]byte, 45)
	for i := range long {
		long[i] = byte(i * 7)
	}
	for _, enc := range []client.Encryption{exampleEnc, type5} {
		for _, payload := range [][]byte{nil, {1}, []byte("20250323"), long} {
			r := client.NewRequest(4, 45, nil, enc)
			n := r.LongNonce()
			raw := longResponse(t, enc.Key(), 250, enc.Type, enc.Den, enc.SN, [2]byte(n[22:]), payload)
			resp, err := r.Decode(raw)
			if err != nil {
				t.Fatalf("type %d, %d bytes: %v", enc.Type, len(payload), err)
			}
			if !bytes.Equal(resp.Payload, payload) || resp.Header.Status != 250 || resp.Header.Echo != [2]byte(n[22:]) ||
				resp.Long.Den != enc.Den || resp.Long.SN != enc.SN || resp.Long.Type != enc.Type {
				t.Fatalf("type %d, %d bytes: %+v %+v", enc.Type, len(payload), resp, resp.Long)
			}
		}
	}
}

func TestLongDecodeRejects(t *testing.T) {
	r := client.NewRequest(4, 43, nil, exampleEnc)
	good := longResponse(t, exampleEnc.Key(), 250, 4, 1, 5, [2]byte{}, bytes.Repeat([]byte{0x55}, 20)) // E at 48-67, tag 68-99, trailer 100-101
	if _, err := r.Decode(good); err != nil {
		t.Fatal(err)
	}
	empty := longResponse(t, exampleEnc.Key(), 16, 4, 0, 0, [2]byte{}, nil)
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"E byte", edit(good, func(p []byte) []byte { p[48] ^= 1; return p }), client.ErrBadTag},
		{"last E byte", edit(good, func(p []byte) []byte { p[67] ^= 0x80; return p }), client.ErrBadTag},
		{"first tag byte", edit(good, func(p []byte) []byte { p[68] ^= 1; return p }), client.ErrBadTag},
		{"last tag byte", edit(good, func(p []byte) []byte { p[99] ^= 1; return p }), client.ErrBadTag},
		{"trailer", edit(good, func(p []byte) []byte { p[101] = 0; return p }), client.ErrBadTrailer},
		{"trailer first byte", edit(good, func(p []byte) []byte { p[100] = 0x3f; return p }), client.ErrBadTrailer},
		{"E dropped, length kept", edit(good, func(p []byte) []byte { return append(p[:48], p[49:]...) }), client.ErrShortResponse},
		{"length one more", edit(good, func(p []byte) []byte { p[11]++; return p }), client.ErrShortResponse},
		{"length one less", edit(good, func(p []byte) []byte { p[11]--; return p }), client.ErrBadLength},
		{"length high byte", edit(good, func(p []byte) []byte { p[9] = 1; return p }), client.ErrShortResponse},
		{"length 33", edit(good, func(p []byte) []byte { p[11] = 33; return p[:48+33] }), client.ErrBadLength},
		{"length 2", edit(good, func(p []byte) []byte { p[11] = 2; return append(p[:48], 0x3e, 0x3e) }), client.ErrBadLength},
		{"length zeroed", edit(good, func(p []byte) []byte { p[11] = 0; return p }), client.ErrBadLength},
		{"extra byte", edit(good, func(p []byte) []byte { return append(p, 0) }), client.ErrBadLength},
		{"empty with extra byte", edit(empty, func(p []byte) []byte { return append(p, 0x3e) }), client.ErrBadLength},
		{"47 bytes", edit(empty, func(p []byte) []byte { return p[:47] }), client.ErrShortResponse},
		{"32-byte form", edit(empty, func(p []byte) []byte { return p[:32] }), client.ErrShortResponse},
		{"nothing", nil, client.ErrShortResponse},
		{"other key", longResponse(t, type5.Key(), 250, 4, 1, 5, [2]byte{}, bytes.Repeat([]byte{0x55}, 20)), client.ErrBadTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := r.Decode(tt.raw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v (resp %+v)", err, tt.want, resp)
			}
		})
	}
}

func edit(p []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(p)) }

func TestType5(t *testing.T) {
	swapped := client.Encryption{Type: 5, Den: type5.Den2, SN: type5.SN2, AN: an2, Den2: type5.Den, SN2: type5.SN, AN2: an1}
	want := sha256.Sum256(slicesConcat(an1, an2))
	if k := type5.Key(); !bytes.Equal(k, want[:]) {
		t.Fatalf("K = %x, want SHA-256(AN1 ‖ AN2) %x", k, want)
	}
	if bytes.Equal(type5.Key(), swapped.Key()) {
		t.Fatal("swapping the coins keeps K")
	}
	if one := (client.Encryption{Type: 4, AN: an1}).Key(); bytes.Equal(one, type5.Key()) {
		t.Fatal("type 4 and type 5 give one K")
	}

	payload := []byte{1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8} // a 44
	r := client.NewRequest(4, 44, payload, type5)
	// NewRequest puts coin 2 in the nonce; Encode puts it back when a
	// caller overwrote it.
	if r.Nonce[0] != 0xfe || binary.BigEndian.Uint32(r.Nonce[1:5]) != 999999 {
		t.Fatalf("nonce %x does not start with coin 2", r.Nonce)
	}
	r.Nonce = [8]byte{9, 9, 9, 9, 9, 9, 9, 9}
	p := r.Encode(client.Node{RaidaID: 3, CoinID: 6})
	head := unhex(t, `
		01 00 03 00 04 2c 0006   0000000000000000
		05 002f 03 00011170
		fe 000f423f 090909`)
	if len(p) != 48+13+34 || !bytes.Equal(p[:32], head) || !bytes.Equal(p[32:48], r.NonceTail[:]) {
		t.Fatalf("packet %x", p)
	}
	if r.Nonce != [8]byte(p[24:32]) {
		t.Fatalf("Nonce %x, sent %x", r.Nonce, p[24:32])
	}
	// Decrypt it as a node would, under SHA-256(AN1 ‖ AN2) from N[0..15].
	c, mac, trailer := p[48:61], p[61:93], p[93:]
	if !hmac.Equal(mac, refMAC(want[:], c)) || !bytes.Equal(trailer, []byte{0x3e, 0x3e}) {
		t.Fatalf("tag or trailer: %x", p[48:])
	}
	if got := refCTR(t, want[:], p[24:40], c); !bytes.Equal(got, payload) {
		t.Fatalf("payload %x, want %x", got, payload)
	}
	// Under the swapped order the tag does not verify (the node answers 204).
	if hmac.Equal(mac, refMAC(swapped.Key(), c)) {
		t.Fatal("tag verifies under the swapped key")
	}
	q := client.NewRequest(4, 44, payload, swapped)
	q.Nonce, q.NonceTail = r.Nonce, r.NonceTail
	if bytes.Equal(q.Encode(client.Node{RaidaID: 3, CoinID: 6})[48:], p[48:]) {
		t.Fatal("swapped coins encode the same body")
	}

	// An answer to it.
	raw := longResponse(t, want[:], 0, 5, 3, 70000, [2]byte(p[46:48]), []byte("a 44 block 16 by"))
	resp, err := r.Decode(raw)
	if err != nil || string(resp.Payload) != "a 44 block 16 by" {
		t.Fatalf("%v %+v", err, resp)
	}
	if _, err := q.Decode(raw); !errors.Is(err, client.ErrBadTag) {
		t.Fatalf("swapped key decodes the answer: %v", err)
	}
}

func TestLongBodyLengths(t *testing.T) {
	tests := []struct {
		name    string
		req     func() *client.Request
		l, size int
	}{
		{"41", func() *client.Request {
			return exampleRequest(4, 41, client.PostKeyPayload(make([]byte, 16), 0, []byte{1}))
		}, 167 + 34, 48 + 167 + 34},
		{"43", func() *client.Request { return exampleRequest(4, 43, make([]byte, 37)) }, 71, 48 + 71},
		{"44 5 bytes", func() *client.Request { return exampleRequest(4, 44, []byte{1, 0, 0, 0, 7}) }, 39, 48 + 39},
		{"44 13 bytes", func() *client.Request { return exampleRequest(4, 44, make([]byte, 13)) }, 47, 48 + 47},
		{"45 2 records", func() *client.Request { return exampleRequest(4, 45, make([]byte, 5+52)) }, 91, 48 + 91},
		{"42", func() *client.Request { return exampleRequest(4, 42, nil) }, 34, 82},
		{"empty: L 0", func() *client.Request { r := exampleRequest(4, 44, []byte{1, 2}); r.Empty = true; return r }, 0, 48},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			p := r.Encode(exampleNode)
			if len(p) != tt.size || int(binary.BigEndian.Uint16(p[17:])) != tt.l {
				t.Fatalf("%d bytes, L %d; want %d, %d", len(p), binary.BigEndian.Uint16(p[17:]), tt.size, tt.l)
			}
			if tt.l == 0 {
				return
			}
			k := exampleEnc.Key()
			c := p[48 : len(p)-34]
			if got := refCTR(t, k, p[24:40], c); !bytes.Equal(got, r.Payload) {
				t.Fatalf("plaintext %x, want the payload %x", got, r.Payload)
			}
			if !bytes.Equal(p[len(p)-34:len(p)-2], refMAC(k, c)) {
				t.Fatal("tag")
			}
		})
	}
}

// TestInnerCTR: 44's and 45's key blocks use Nonce ‖ 0^8 under every type
// (rule 5), so a type-4 44 pairs with a type-1 45 given the same Nonce.
func TestInnerCTR(t *testing.T) {
	recipient := bytes.Repeat([]byte{0x77}, 16)
	block := []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 7, 0, 0, 0xff}
	r44 := client.NewRequest(4, 44, nil, exampleEnc)
	r45 := client.NewRequest(4, 45, nil, client.Encryption{Den: 1, SN: 5, AN: an1})
	r45.Nonce = r44.Nonce
	enc, dec := make([]byte, 16), make([]byte, 16)
	r44.InnerCTR(recipient, enc, block)
	r45.InnerCTR(recipient, dec, enc)
	if !bytes.Equal(dec, block) {
		t.Fatalf("type-1 45 reads %x, want %x", dec, block)
	}
	wire := r44.Encode(exampleNode)
	if want := refCTR(t, recipient, slicesConcat(wire[24:32], make([]byte, 8)), block); !bytes.Equal(enc, want) {
		t.Fatalf("44 block %x, want %x (counter block N[0..7] ‖ 0^8)", enc, want)
	}
	// Type 5: the counter block starts with coin 2.
	r5 := client.NewRequest(4, 44, nil, type5)
	r5.Nonce = r44.Nonce
	r5.InnerCTR(recipient, enc, block)
	wire = r5.Encode(exampleNode)
	if want := refCTR(t, recipient, slicesConcat(wire[24:32], make([]byte, 8)), block); !bytes.Equal(enc, want) {
		t.Fatalf("type-5 44 block %x, want %x", enc, want)
	}
	client.CTR(recipient, r5.Nonce, 0, dec, enc)
	if !bytes.Equal(dec, block) {
		t.Fatal("CTR with Nonce after Encode differs from InnerCTR")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		enc  client.Encryption
		code byte
		ok   bool
	}{
		{client.Encryption{}, 0, true},
		{client.Encryption{AN: an1}, 1, true},
		{client.Encryption{Type: 1, AN: an1}, 1, true},
		{client.Encryption{Type: 1}, 1, false},
		{client.Encryption{Type: 4, AN: an1}, 4, true},
		{client.Encryption{Type: 4, AN: an1[:15]}, 4, false},
		{client.Encryption{Type: 4, AN: an1, AN2: an2}, 4, false},
		{type5, 5, true},
		{client.Encryption{Type: 5, AN: an1}, 5, false},
		{client.Encryption{Type: 5, AN2: an2}, 5, false},
		{client.Encryption{Type: 2, AN: an1}, 2, false},
		{client.Encryption{Type: 3, AN: an1}, 3, false},
	}
	for _, tt := range tests {
		if err := tt.enc.Check(); (err == nil) != tt.ok || tt.enc.Code() != tt.code {
			t.Errorf("%+v: code %d, check %v", tt.enc, tt.enc.Code(), err)
		}
		if !tt.ok && tt.enc.Type != 0 {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%+v: Encode did not panic", tt.enc)
					}
				}()
				client.NewRequest(0, 0, nil, tt.enc).Encode(exampleNode)
			}()
		}
	}
}

// TestLongCounterCarry: the body's counter block N[0..15] is incremented
// as one 128-bit big-endian number (rule 3), carrying out of N[8..15].
func TestLongCounterCarry(t *testing.T) {
	r := exampleRequest(0, 0, make([]byte, 32))
	for i := range 8 {
		r.NonceTail[i] = 0xff
	}
	p := r.Encode(exampleNode)
	b, _ := aes.NewCipher(exampleEnc.Key())
	var ks [16]byte
	b.Encrypt(ks[:], unhex(t, "10111213141516 18 0000000000000000"))
	if !bytes.Equal(p[48+16:48+32], ks[:]) {
		t.Fatalf("second block %x, want AES(K, 101112131415161800..00) %x", p[64:80], ks)
	}
}
