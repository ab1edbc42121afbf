package main

import (
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"math/big"
	"testing"
)

// TestTypes45WorkedExample checks TYPES45.md section 7 (the deployed
// node's type-4 exchange, seen on the wire): every value below is copied
// from the document and recomputed from its documented inputs with the
// standard library.
func TestTypes45WorkedExample(t *testing.T) {
	const (
		docAN    = "38b4e652e44da7f2370d9e260e271365"
		docK     = "2ab5a2ac7fa5ace77a6498c50f79db8a6c44b5c8b74c91a623791d7b10fb4d89"
		docNonce = "101112131415161718191a1b1c1d1e1f2021222324252627"
		docTag   = "f16f15536bcb72b070d656e2419310a8bc17f3b4ba5f0facafdf95cf7aa41533"
		docKS    = "df086f353057aeec161facb8704c4cf3"
		docC16   = "df096d363452a8eb1e16a6b37c4142fc"
		// The request as the document prints it, line by line.
		docRequest = "01000e0000000006" + "0000000000000000" +
			"04" + "0022" + "01" + "00000005" +
			"101112131415161718191a1b1c1d1e1f2021222324252627" +
			"f16f15536bcb72b070d656e2419310a8bc17f3b4ba5f0facafdf95cf7aa41533" +
			"3e3e"
		// The captured version reply: header, then R and N[22..23], then E.
		docReplyHeader = "0e00fa00" + "000000b8" + "0000002a" + "00000000" + "0401000000050000"
		docReplyR      = "167127b5ffe074288d2aeb20f3f1b925125d93e76d9e" + "2627"
		docReplyE      = "07c8872e3ebca8b9"
		docReplyTagPre = "453d727d"
		docReplyTagEnd = "88743272"
	)
	an, nonce := unhex(docAN), unhex(docNonce)
	k := key45(an, nil)
	if hx(k) != docK {
		t.Fatalf("K = SHA-256(AN) = %x, document %s", k, docK)
	}
	if got := hx(mac(k, nil)); got != docTag {
		t.Fatalf("HMAC(K, \"\") = %s, document %s", got, docTag)
	}
	if len(unhex(docRequest)) != 82 {
		t.Fatalf("the document's request is %d bytes, not 82", len(unhex(docRequest)))
	}

	// The request, built field by field from the documented values.
	h := hdr48{Route: 1, Raida: 14, Group: 0, Cmd: 0, Coin: 6, Enc: 4, L: 34, Den: 1, SN: 5}
	copy(h.Nonce[:], nonce)
	req := cat(h.bytes(), mac(k, nil), []byte{0x3e, 0x3e})
	if hx(req) != docRequest {
		t.Fatalf("request\n got %x\nwant %s", req, docRequest)
	}
	// ... and by the generator's exchange.
	e := newEx45("test", 4, 0, 0)
	e.coin1(1, 5, an)
	copy(e.h.Nonce[:], nonce)
	if hx(e.request()) != docRequest {
		t.Fatalf("ex45 request\n got %x\nwant %s", e.request(), docRequest)
	}

	// First keystream block AES-256(K, N[0..15]) and the 16-byte C.
	b, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]byte, 16)
	b.Encrypt(ks, nonce[:16])
	if hx(ks) != docKS {
		t.Fatalf("keystream block %x, document %s", ks, docKS)
	}
	plain := unhex("000102030405060708090a0b0c0d0e0f")
	if got := hx(ctr256(k, nonce[:16], plain)); got != docC16 {
		t.Fatalf("C = %s, document %s", got, docC16)
	}
	if got := hx(xor(plain, ks)); got != docC16 {
		t.Fatalf("plaintext XOR keystream = %s, document %s", got, docC16)
	}

	// The captured version reply: its header has section 6.6's layout,
	// and E decrypts with K from reply bytes 24-39 to "20250323".
	reply := unhex(docReplyHeader + docReplyR + docReplyE)
	E := unhex(docReplyE)
	want := rsp48{raida: 14, status: 250, enc: 4, den: 1, sn: 5, r: reply[24:46], tail: nonce[22:24],
		body: cat(E, mac(k, E))}.bytes()
	if !bytes.Equal(want[:4], reply[:4]) || !bytes.Equal(want[8:56], reply[8:56]) {
		t.Fatalf("reply layout\n got %x\nwant %x (bytes 4-7 are time)", reply, want[:56])
	}
	if got := ctr256(k, reply[24:40], E); string(got) != "20250323" {
		t.Fatalf("version reply decrypts to %q", got)
	}
	if tag := hx(mac(k, E)); tag[:8] != docReplyTagPre || tag[56:] != docReplyTagEnd {
		t.Fatalf("reply tag %s, document %s…%s", tag, docReplyTagPre, docReplyTagEnd)
	}
}

// TestCTR256Carry: ctr256 increments the counter block as one 128-bit
// big-endian integer, across bytes 12-15 and 8-15 and around 2^128.
func TestCTR256Carry(t *testing.T) {
	k := det("ctr-carry-key", 32)
	b, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	mod := new(big.Int).Lsh(big.NewInt(1), 128)
	for _, ivHex := range []string{
		"000102030405060708090a0bfffffffe",
		"0001020304050607fffffffffffffffc",
		"fffffffffffffffffffffffffffffffe",
		"00000000000000000000000000000000",
	} {
		iv := unhex(ivHex)
		data := det("ctr-carry-data/"+ivHex, 16*5+7)
		want := make([]byte, 0, len(data))
		c := new(big.Int).SetBytes(iv)
		for off := 0; off < len(data); off += 16 {
			blk := make([]byte, 16)
			c.FillBytes(blk)
			ks := make([]byte, 16)
			b.Encrypt(ks, blk)
			end := min(off+16, len(data))
			want = append(want, xor(data[off:end], ks[:end-off])...)
			c.Add(c, big.NewInt(1)).Mod(c, mod)
		}
		if got := ctr256(k, iv, data); !bytes.Equal(got, want) {
			t.Errorf("iv %s:\n got %x\nwant %x", ivHex, got, want)
		}
	}
}

// TestTypes45Seals opens every types45 vector as a client and a node
// would, with K from the ANs in the vector's state: each answer with a
// body carries a good tag and decrypts from response bytes 24-39; each
// request answered 204 has a bad tag; each request that reached its
// command has a good one.
func TestTypes45Seals(t *testing.T) {
	preTag := map[byte]bool{stRouting: true, stSplit: true, stRaida: true, stGroup: true, stShard: true,
		stCommand: true, stCoinID: true, stLength: true, stCoinNotFound: true, stEOF: true, stHMAC: true}
	bodies, commands := 0, 0
	for _, v := range allVectors(t)["types45.json"] {
		req, resp := unhex(v.RequestHex), unhex(v.ResponseHex)
		if len(req) < 48 || (req[16] != 4 && req[16] != 5) || len(resp) < 48 {
			continue
		}
		an := func(den byte, sn []byte) []byte {
			s := uint32(sn[0])<<24 | uint32(sn[1])<<16 | uint32(sn[2])<<8 | uint32(sn[3])
			for _, r := range v.State.Records {
				if r.Den == int(int8(den)) && r.SN == s {
					return unhex(r.AN)
				}
			}
			return make([]byte, 16)
		}
		var k []byte
		if req[16] == 4 {
			k = key45(an(req[19], req[20:24]), nil)
		} else {
			k = key45(an(req[19], req[20:24]), an(req[24], req[25:29]))
		}
		if len(resp) > 48 {
			if _, ok := open45(k, resp); !ok {
				t.Errorf("%s: the answer's tag is wrong", v.Name)
			}
			bodies++
		}
		L := int(req[17])<<8 | int(req[18])
		st := resp[2]
		if len(req) < 48+L || L < 34 {
			continue
		}
		body := req[48 : 48+L]
		good := hmac.Equal(mac(k, body[:L-34]), body[L-34:L-2])
		switch {
		case st == stHMAC && good:
			t.Errorf("%s: answered 204 but the tag is good", v.Name)
		case !preTag[st] && !good:
			t.Errorf("%s: answered %d but the tag is bad", v.Name, st)
		case !preTag[st]:
			commands++
		}
	}
	if bodies < 15 || commands < 40 {
		t.Errorf("only %d answers with a body and %d requests reaching their command", bodies, commands)
	}
}

func TestTypes45Count(t *testing.T) {
	vs := allVectors(t)["types45.json"]
	if len(vs) < 60 {
		t.Fatalf("types45.json has %d vectors, the issue asks for at least 60", len(vs))
	}
}
