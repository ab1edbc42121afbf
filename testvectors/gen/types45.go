package main

import (
	"bytes"
	"fmt"
)

// TYPES45.md section 7: the deployed node's worked example.
const (
	workedAN    = "38b4e652e44da7f2370d9e260e271365" // AN(1,5) on that node
	workedNonce = "101112131415161718191a1b1c1d1e1f2021222324252627"
	// The 82-byte type-4 echo request of the example, as printed there.
	workedEcho = "01000e0000000006" + "0000000000000000" +
		"04" + "0022" + "01" + "00000005" +
		workedNonce +
		"f16f15536bcb72b070d656e2419310a8bc17f3b4ba5f0facafdf95cf7aa41533" +
		"3e3e"
	// The 16-byte plaintext 00..0f encrypts to this (L = 50).
	workedC16 = "df096d363452a8eb1e16a6b37c4142fc"
)

// types45Vectors: encryption types 4 and 5 (PROTOCOL.md section 6), type 2
// and the other types next to them (section 1 steps 1, 9, 10).
func types45Vectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) *Vector { vs = append(vs, v); return v }

	// std starts a well-formed exchange and its vector: the encryption
	// coins in the state (MFS 33) and random_hex = R.
	std := func(name, desc string, enc, group, cmd byte) (*ex45, *Vector) {
		e := newEx45(name, enc, group, cmd)
		v := vec(name, desc)
		e.coins(v, nil, 33)
		v.RandomHex = hx(e.r)
		return e, v
	}
	// roundTrip panics unless a client holding the coins' ANs gets want
	// back from resp with K and response bytes 24-39.
	roundTrip := func(e *ex45, resp, want []byte) {
		got, ok := open45(e.key(), resp)
		if !ok || !bytes.Equal(got, want) {
			panic("round trip failed")
		}
	}
	encs := []byte{4, 5}
	t := func(enc byte, rest string) string { return fmt.Sprintf("types45/t%d-%s", enc, rest) }
	keyDesc := func(enc byte) string {
		if enc == 5 {
			return "type 5, K = SHA-256(AN1 || AN2) with coin 2 in N[0..4]"
		}
		return "type 4, K = SHA-256(AN1)"
	}

	// ================================================================ commands

	// ---- echo
	for _, enc := range encs {
		name := t(enc, "echo-L34")
		e, v := std(name, "echo, "+keyDesc(enc)+", empty C (L = 34, tag = HMAC(K, \"\")): 250, the 48-byte header alone with coin 1's den and sn, R at 24-45, N[22..23] at 46-47", enc, 0, 0)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(4, "echo-C16")
		e, v := std(name, "echo, type 4, 16-byte C (L = 50): 250, no payload", 4, 0, 0)
		e.payload = det(name+"/payload", 16)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(5, "echo-C45")
		e, v := std(name, "echo, type 5, 45-byte C (three counter blocks, the last partial): 250, no payload", 5, 0, 0)
		e.payload = det(name+"/payload", 45)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}

	// ---- 41 Post Key
	post := func(name, desc string, enc byte, ks, kl byte, st byte, mod func(e *ex45)) {
		e, v := std(name, desc, enc, 4, 41)
		keyID := det(name+"/keyid", 16)
		space := det(name+"/space", 128)
		e.payload = k41Payload(keyID, det(name+"/ip", 16), 2, 2222, space, ks, kl)
		if mod != nil {
			mod(e)
		}
		if st == stSuccess {
			v.expFile(keyPath(keyID), cat([]byte{2}, u32(2222), space[int(ks):int(ks)+int(kl)]))
		}
		add(v.io(e.request(), e.resp(st, nil)))
	}
	for _, enc := range encs {
		post(t(enc, "41"), "41, "+keyDesc(enc)+", 167-byte payload (L = 201), KS 10 KL 100: 250, key file = den || sn || key space [10:110]", enc, 10, 100, stSuccess, nil)
	}
	post(t(5, "41-KL-127"), "41 type 5, KS 0 KL 127 (the whole key space but its last byte): 250", 5, 0, 127, stSuccess, nil)
	post(t(4, "41-counter-carry"), "41 type 4 with N[8..15] = ff ff ff ff ff ff ff fc: C's 11 counter blocks carry out of bytes 12-15 and 8-15 into N[7] (128-bit increment, not the AES-NI path's 32-bit one): 250",
		4, 3, 33, stSuccess, func(e *ex45) { copy(e.h.Nonce[8:16], unhex("fffffffffffffffc")) })
	post(t(5, "41-KS-KL-128"), "41 type 5, KS 100 + KL 28 = 128 > 127: 196 INVALID_KEY_LENGTH, no file", 5, 100, 28, stKeyLength, nil)
	post(t(4, "41-m166"), "41 type 4 with a 166-byte payload (L = 200): 16, no file", 4, 1, 1, stLength,
		func(e *ex45) { e.payload = e.payload[:166] })
	post(t(4, "41-m151"), "41 type 4 with the deployed node's size (L = 185, payload 151): 16, no file", 4, 1, 1, stLength,
		func(e *ex45) { e.payload = e.payload[:151] })

	// ---- 42 Key Alert
	{
		name := t(4, "42")
		e, v := std(name, "42, type 4, 20-byte payload: 250, no payload", 4, 4, 42)
		e.payload = det(name+"/payload", 20)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(5, "42-L34")
		e, v := std(name, "42, type 5, empty C (L = 34): 250", 5, 4, 42)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}

	// ---- 43 Get Key
	get := func(name, desc string, enc byte, m int, content []byte, st byte, want []byte, mod func(e *ex45)) *ex45 {
		e, v := std(name, desc, enc, 4, 43)
		keyID := det(name+"/keyid", 16)
		e.payload = cat(k43Payload(keyID, 1, 5, det(name+"/ip", 16)), det(name+"/more", 8))[:m]
		if content != nil {
			v.file(keyPath(keyID), content)
		}
		if mod != nil {
			mod(e)
			v.RandomHex = hx(e.r)
		}
		resp := e.resp(st, want)
		add(v.io(e.request(), resp))
		if len(want) > 0 {
			roundTrip(e, resp, want)
		}
		return e
	}
	c40 := det("types45/content40", 40)
	get(t(4, "43-37"), "43, type 4, 37-byte payload (L = 71) on a 40-byte key file: 250, body E || HMAC(K, E) || 3E3E, E = the file under AES-256-CTR with K from response bytes 24-39, length field 74",
		4, 37, c40, stSuccess, c40, nil)
	get(t(5, "43-37-round-trip"), "43, type 5, 37-byte payload on a 40-byte key file: 250; a client decrypts the answer with K = SHA-256(AN1 || AN2) and counter block = response bytes 24-39 (R, not coin 2)",
		5, 37, c40, stSuccess, c40, nil)
	c33 := det("types45/content33", 33)
	get(t(4, "43-21"), "43, type 4, the deployed node's 21-byte payload (L = 55): key id = payload [0:16], 250 with the 33-byte file",
		4, 21, c33, stSuccess, c33, nil)
	get(t(5, "43-21-round-trip"), "43, type 5, 21-byte payload (L = 55) on a 1-byte key file: 250, payload 1 byte (length field 35), decryptable with R",
		5, 21, []byte{0x5a}, stSuccess, []byte{0x5a}, nil)
	get(t(4, "43-empty-file"), "43, type 4, on an empty key file: 250, the header alone (no E, no tag, length field 0)",
		4, 37, []byte{}, stSuccess, nil, nil)
	c600 := det("types45/content600", 600)
	get(t(5, "43-600-bytes"), "43, type 5, on a 600-byte key file: the first 512 bytes, 32 counter blocks from R[0..15], length field 546",
		5, 37, c600, stSuccess, c600[:512], nil)
	get(t(4, "43-response-counter-carry"), "43, type 4, 40-byte file with R[0..15] = R[0..3] || ff*11 || fe: E's third counter block carries into R[3] (128-bit increment)",
		4, 37, c40, stSuccess, c40, func(e *ex45) { copy(e.r[4:16], unhex("fffffffffffffffffffffffe")) })
	get(t(4, "43-missing-file"), "43, type 4, no key file: 194 FILESYSTEM, header alone", 4, 37, nil, stFS, nil, nil)
	get(t(5, "43-21-missing-file"), "43, type 5, 21-byte form, no key file: 194", 5, 21, nil, stFS, nil, nil)
	get(t(4, "43-m20"), "43, type 4, 20-byte payload (L = 54): 16", 4, 20, c40, stLength, nil, nil)
	get(t(5, "43-m38"), "43, type 5, 38-byte payload (L = 72): 16", 5, 38, c40, stLength, nil, nil)
	get(t(4, "43-m22"), "43, type 4, 22-byte payload (L = 56): 16", 4, 22, c40, stLength, nil, nil)
	get(t(4, "43-m36"), "43, type 4, 36-byte payload (L = 70): 16", 4, 36, c40, stLength, nil, nil)

	// ---- 44 Encrypt Key
	// mk44 builds a 44 for recipient (den, sn) with AN recAN (nil: not in
	// the state, AN zero); long is the 13-byte payload form.
	mk44 := func(name, desc string, enc byte, long bool, den int8, sn uint32, recAN []byte) {
		e, v := std(name, desc, enc, 4, 44)
		an := make([]byte, 16)
		if recAN != nil {
			an = recAN
			v.rec(den, sn, an, 20)
		}
		var k, r2 []byte
		if long {
			k, r2 = det(name+"/K", 8), det(name+"/R44", 2)
			e.payload = cat([]byte{byte(den)}, u32(sn), k)
			v.RandomHex += hx(r2) // after R: one draw of 2
		} else {
			draw := det(name+"/draw", 10)
			k, r2 = draw[:8], draw[8:]
			e.payload = cat([]byte{byte(den)}, u32(sn))
			v.RandomHex += hx(draw) // after R: one draw of 10
		}
		blk := ctr(an, e.nonce8(), 0, block44(k, byte(den), sn, r2, 0xff))
		resp := e.resp(stOK, blk)
		add(v.io(e.request(), resp))
		roundTrip(e, resp, blk)
	}
	mk44(t(4, "44-5"), "44, type 4, 5-byte payload (L = 39): random R (22) then one draw of 10 (key part = first 8, R44 = last 2); block encrypted with AES-128-CTR under the recipient AN from N[0..7] || 00*8; status 0, E of the 16 bytes, length field 50",
		4, false, 2, 200200, det("types45/t4-44-5/rec", 16))
	mk44(t(4, "44-13"), "44, type 4, 13-byte payload (L = 47): key part from the payload, R then one draw of 2; status 0",
		4, true, -8, 1023999, det("types45/t4-44-13/rec", 16))
	mk44(t(5, "44-5-round-trip"), "44, type 5, 5-byte payload: the block's counter block N[0..7] starts with coin 2's den and sn; the answer decrypts with K and R",
		5, false, 6, 0, det("types45/t5-44-5/rec", 16))
	mk44(t(5, "44-13"), "44, type 5, 13-byte payload: status 0",
		5, true, 0, 77, det("types45/t5-44-13/rec", 16))
	mk44(t(4, "44-5-zero-an"), "44, type 4, recipient absent from the state (AN all zero): status 0",
		4, false, 3, 31, nil)
	for _, c := range []struct {
		name string
		enc  byte
		m    int
	}{{t(4, "44-m0"), 4, 0}, {t(4, "44-m6"), 4, 6}, {t(5, "44-m12"), 5, 12}, {t(5, "44-m4"), 5, 4}, {t(4, "44-m14"), 4, 14}} {
		e, v := std(c.name, fmt.Sprintf("44, type %d, %d-byte payload (L = %d): 16, no draw after R (an empty payload is not 36 under types 4 and 5)", c.enc, c.m, c.m+34), c.enc, 4, 44)
		e.payload = cat([]byte{1}, u32(5), det(c.name+"/rest", 16))[:c.m]
		add(v.io(e.request(), e.resp(stLength, nil)))
	}
	{
		name := t(4, "44-den-7")
		e, v := std(name, "44, type 4, recipient den 7: 40, no draw after R", 4, 4, 44)
		e.payload = cat([]byte{7}, u32(5))
		add(v.io(e.request(), e.resp(stSNDen, nil)))
	}
	{
		name := t(5, "44-13-sn-1024000")
		e, v := std(name, "44, type 5, 13-byte payload, recipient sn 1,024,000: 40, no draw after R", 5, 4, 44)
		e.payload = cat([]byte{1}, u32(1024000), det(name+"/K", 8))
		add(v.io(e.request(), e.resp(stSNDen, nil)))
	}

	// ---- 45 Decrypt RAIDA Key
	// mk45 starts a 45 with decryption coin (den, sn) whose file is in the
	// state; its records are built from N[0..7] of the exchange.
	mk45 := func(name, desc string, enc byte, den byte, sn uint32) (*d45, *ex45) {
		d := newD45(name, desc, den, sn)
		e := newEx45(name, enc, 4, 45)
		d.e.h.Nonce = e.nonce8()
		e.coins(d.v, d.bk, 33)
		d.v.RandomHex = hx(e.r)
		return d, e
	}
	fin45 := func(d *d45, e *ex45) *Vector {
		e.payload = d.payload()
		resp := e.resp(stSuccess, d.answers)
		d.v.io(e.request(), resp)
		roundTrip(e, resp, d.answers)
		d.bk.expect(d.v)
		return add(d.v)
	}
	fail45 := func(d *d45, e *ex45, extra []byte, st byte) *Vector {
		e.payload = cat(d.payload(), extra)
		d.v.io(e.request(), e.resp(st, nil))
		return add(d.v)
	}
	for _, enc := range encs {
		d, e := mk45(t(enc, "45-one"), "45, "+keyDesc(enc)+", one record (payload 31, L = 65) decrypted with AES-128-CTR from N[0..7] || 00*8: accepted, AN bytes 0-7 replaced, MFS 45; answer byte 01 sent as E || tag", enc, 1, 5000)
		d.bk.add(d.v, 2, 200, det(t(enc, "45-one")+"/old", 16), 20)
		d.accept(0, 4, 2, 200)
		fin45(d, e)
	}
	for _, enc := range encs {
		name := t(enc, "45-several")
		d, e := mk45(name, "45, type "+fmt.Sprint(enc)+", 7 records: accepted (split 0), index 25, split 2, den 7, end byte FE, key under the wrong AN, accepted (split 1): answers 01 00 00 00 00 00 01", enc, 2, 77)
		d.bk.add(d.v, 1, 100, det(name+"/oldA", 16), 10)
		d.accept(0, 0, 1, 100)
		d.rejIndex(25, 1, 100)
		d.rejSplit(2, 2, 1, 100)
		d.rejDen(3, 7, 100)
		d.rejEnd(5, 1, 100, 0xfe)
		d.rejWrongAN(6, 1, 100)
		d.accept(1, 24, -4, 4444)
		fin45(d, e)
	}
	{
		name := t(4, "45-all-rejected")
		d, e := mk45(name, "45, type 4, two records both rejected (sn mismatch, den mismatch): 250, answers 00 00, no record changed", 4, 1, 5001)
		d.rejSNMismatch(1, 1, 100, 101)
		d.rejDenMismatch(2, 1, 100, 2)
		fin45(d, e)
	}
	{
		name := t(4, "45-changes-encryption-coin")
		d, e := mk45(name, "45, type 4, whose records replace both halves of coin 1's AN: the response is still sealed with K from the AN read at step 11", 4, 1, 5002)
		d.accept(0, 14, int8(e.h.Den), e.h.SN)
		d.accept(1, 2, int8(e.h.Den), e.h.SN)
		fin45(d, e)
	}
	{
		name := t(5, "45-changes-coin2")
		d, e := mk45(name, "45, type 5, whose record replaces half of coin 2's AN: the response is still sealed with the K of the ANs read at steps 11-12", 5, 1, 5003)
		c2 := e.coin2Key()
		d.accept(1, 9, c2.den, c2.sn)
		fin45(d, e)
	}
	{
		name := t(4, "45-m30")
		d, e := mk45(name, "45, type 4, 30-byte payload (L = 64): 16, no record changed", 4, 1, 5004)
		d.accept(0, 0, 1, 10)
		e.payload = d.payload()[:30]
		d.v.io(e.request(), e.resp(stLength, nil))
		add(d.v)
	}
	{
		name := t(4, "45-m5")
		d, e := mk45(name, "45, type 4, 5-byte payload (coin only, L = 39): 16", 4, 1, 5005)
		fail45(d, e, nil, stLength)
	}
	{
		name := t(4, "45-m32")
		d, e := mk45(name, "45, type 4, 32-byte payload (one record and one byte): 39 COINS_NOT_DIV, no record changed", 4, 1, 5006)
		d.accept(0, 0, 1, 11)
		fail45(d, e, []byte{0}, stNotDiv)
	}
	{
		name := t(5, "45-m58")
		d, e := mk45(name, "45, type 5, 58-byte payload (two records and one byte): 39", 5, 1, 5007)
		d.accept(0, 0, 1, 12)
		d.accept(1, 1, 1, 12)
		fail45(d, e, []byte{0}, stNotDiv)
	}
	{
		name := t(5, "45-m49")
		d, e := mk45(name, "45, type 5, 49-byte payload (the deployed node's L = 83 for one record minus the challenge it counts): 39", 5, 1, 5008)
		d.accept(0, 0, 1, 13)
		fail45(d, e, det(name+"/x", 18), stNotDiv)
	}
	{
		name := t(4, "45-coin-missing")
		d, e := mk45(name, "45, type 4, decryption coin file missing: 197, no record changed", 4, 1, 5009)
		delete(d.v.State.Files, coinPath(1, 5009))
		d.accept(0, 0, 1, 14)
		fail45(d, e, nil, stCoinLoad)
	}

	// ---- other shapes that succeed
	{
		name := t(5, "same-coin-twice")
		e := newEx45(name, 5, 4, 43)
		e.coin2(int8(e.h.Den), e.h.SN, e.an1)
		v := vec(name, "43, type 5 with coin 2 = coin 1: K = SHA-256(AN || AN), 250")
		e.coins(v, nil, 33)
		v.RandomHex = hx(e.r)
		keyID := det(name+"/keyid", 16)
		e.payload = k43Payload(keyID, 1, 5, det(name+"/ip", 16))
		content := det(name+"/content", 20)
		v.file(keyPath(keyID), content)
		resp := e.resp(stSuccess, content)
		add(v.io(e.request(), resp))
		roundTrip(e, resp, content)
	}
	{
		name := t(4, "zero-an-coin")
		e := newEx45(name, 4, 4, 43)
		e.coin1(0, 999, make([]byte, 16))
		v := vec(name, "43, type 4 with coin 1 (0,999) absent from the state: it exists with AN all zero, K = SHA-256(00*16), 250")
		v.RandomHex = hx(e.r)
		keyID := det(name+"/keyid", 16)
		e.payload = k43Payload(keyID, 1, 5, det(name+"/ip", 16))
		content := det(name+"/content", 17)
		v.file(keyPath(keyID), content)
		add(v.io(e.request(), e.resp(stSuccess, content)))
	}
	{
		name := t(5, "zero-an-coin2")
		e, v := std(name, "echo, type 5 with coin 2 absent from the state (AN zero): 250", 5, 0, 0)
		e.coin2(5, 12, make([]byte, 16))
		v.State.Records = v.State.Records[:1]
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(4, "boundary-coin")
		e, v := std(name, "echo, type 4 with coin 1 (-8, 1,023,999): exists, 250 with den f8 and sn 000f9fff in the answer", 4, 0, 0)
		v.State.Records = nil
		e.coin1(-8, 1023999, det(name+"/an", 16))
		e.coins(v, nil, 1)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(5, "boundary-coins")
		e, v := std(name, "echo, type 5 with coin 1 (6, 0) and coin 2 (-8, 1,023,999): both exist, 250", 5, 0, 0)
		v.State.Records = nil
		e.coin1(6, 0, det(name+"/an1x", 16))
		e.coin2(-8, 1023999, det(name+"/an2x", 16))
		e.coins(v, nil, 2)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(4, "trailing-bytes")
		e, v := std(name, "42, type 4, followed by 10 bytes after 48 + L: ignored, 250", 4, 4, 42)
		e.payload = det(name+"/payload", 7)
		add(v.io(cat(e.request(), det(name+"/extra", 10)), e.resp(stSuccess, nil)))
	}
	{
		name := t(5, "reserved-bytes")
		e, v := std(name, "echo, type 5 with header bytes 8-15 set and shard 3: ignored, 250", 5, 0, 0)
		copy(e.h.Reserved[:], det(name+"/reserved", 8))
		e.h.Shard = 3
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := t(4, "config-raida-0-coin-1234")
		e, v := std(name, "echo, type 4, node raida_id 0 and coin_id 0x1234: 250, response byte 0 = 0", 4, 0, 0)
		e.h.Raida, e.h.Coin, e.node = 0, 0x1234, 0
		v.Config = Config{RaidaID: 0, CoinID: 0x1234}
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}

	// ---- the worked example (TYPES45.md section 7) on this module
	{
		name := "types45/worked-example-echo"
		e := newEx45(name, 4, 0, 0)
		e.coin1(1, 5, unhex(workedAN))
		copy(e.h.Nonce[:], unhex(workedNonce))
		req := e.request()
		if hx(req) != workedEcho {
			panic(name + ": request differs from TYPES45.md section 7")
		}
		v := vec(name, "TYPES45.md section 7: the 82-byte type-4 echo of coin (1,5) with N = 10 11 .. 27, copied from the document: 250, 0e 00 fa 00, time, 00 000000 00000000 04 01 00000005 0000, R, 26 27, as the node answers")
		e.coins(v, nil, 45)
		v.RandomHex = hx(e.r)
		add(v.io(unhex(workedEcho), e.resp(stSuccess, nil)))
	}
	{
		name := "types45/worked-example-16"
		e := newEx45(name, 4, 0, 0)
		e.coin1(1, 5, unhex(workedAN))
		copy(e.h.Nonce[:], unhex(workedNonce))
		e.payload = unhex("000102030405060708090a0b0c0d0e0f")
		if hx(e.ciphertext()) != workedC16 {
			panic(name + ": C differs from TYPES45.md section 7")
		}
		v := vec(name, "TYPES45.md section 7: type-4 echo with plaintext 00..0f, C = df096d36..42fc, L = 50: 250")
		e.coins(v, nil, 45)
		v.RandomHex = hx(e.r)
		add(v.io(e.request(), e.resp(stSuccess, nil)))
	}
	{
		name := "types45/worked-example-version"
		e := newEx45(name, 4, 0, 1)
		e.coin1(1, 5, unhex(workedAN))
		copy(e.h.Nonce[:], unhex(workedNonce))
		v := vec(name, "TYPES45.md section 7's version request (group 0 command 1): this module has no version command, 6 INVALID_COMMAND in the 48-byte form, den and sn zero")
		e.coins(v, nil, 45)
		v.RandomHex = hx(e.r)
		req := e.request()
		add(v.io(req, e.early(req, stCommand, 0)))
	}

	// ================================================================ errors, in the order of checks

	// ---- step 1 and the 17..47-byte packets
	{
		name := t(4, "16-bytes")
		e := newEx45(name, 4, 0, 0)
		add(vec(name, "the first 16 bytes of a type-4 echo (byte 16 missing): no answer, no draw").io(e.request()[:16], nil))
	}
	for _, c := range []struct {
		enc        byte
		n          int
		group, cmd byte
	}{{4, 17, 4, 44}, {5, 31, 0, 0}, {4, 32, 4, 43}, {5, 47, 4, 45}} {
		name := t(c.enc, fmt.Sprintf("%d-bytes", c.n))
		e := newEx45(name, c.enc, c.group, c.cmd)
		v := vec(name, fmt.Sprintf("the first %d bytes of a type-%d request (group %d command %d): bytes 0-7 pass, 16 at step 10 in the 48-byte form, den, sn and bytes 46-47 zero", c.n, c.enc, c.group, c.cmd))
		e.coins(v, nil, 33)
		v.RandomHex = hx(e.r)
		req := e.request()[:c.n]
		add(v.io(req, e.early(req, stLength, c.group)))
	}
	{
		name := t(4, "40-bytes-bad-coin")
		e := newEx45(name, 4, 4, 42)
		e.coin1(7, 5, det(name+"/an", 16))
		v := vec(name, "40 bytes of a type-4 request whose coin 1 has den 7: the length (step 10) is checked before the coin, 16")
		v.RandomHex = hx(e.r)
		req := e.request()[:40]
		add(v.io(req, e.early(req, stLength, 4)))
	}
	{
		name := t(4, "30-bytes-routing-0")
		e := newEx45(name, 4, 4, 44)
		e.h.Route = 0
		v := vec(name, "30 bytes of a type-4 request with byte 0 = 0: bytes 0-7 are checked before the length, 255 in the 48-byte form, group 0")
		v.RandomHex = hx(e.r)
		req := e.request()[:30]
		add(v.io(req, e.early(req, stRouting, 0)))
	}
	{
		name := t(5, "20-bytes-command-46")
		e := newEx45(name, 5, 4, 46)
		v := vec(name, "20 bytes of a type-5 request for group 4 command 46: 6 in the 48-byte form, group byte 4")
		v.RandomHex = hx(e.r)
		req := e.request()[:20]
		add(v.io(req, e.early(req, stCommand, 4)))
	}

	// ---- steps 3-9: bytes 0-7, answered in the 48-byte form
	head := func(name, desc string, enc, st, grp byte, mutate func(h *hdr48)) {
		e := newEx45(name, enc, 4, 44)
		e.payload = cat([]byte{1}, u32(5))
		v := vec(name, desc)
		e.coins(v, nil, 33)
		mutate(&e.h)
		v.RandomHex = hx(e.r)
		req := e.request()
		add(v.io(req, e.early(req, st, grp)))
	}
	head(t(4, "routing-0"), "type-4 44 with byte 0 = 0: 255 in the 48-byte form, group 0, den and sn zero, R, bytes 46-47 = N[22..23]", 4, stRouting, 0, func(h *hdr48) { h.Route = 0 })
	head(t(5, "routing-ff-all-bad"), "type-5 request with every field of bytes 0-7 bad and coin 1 den 7: 255", 5, stRouting, 0, func(h *hdr48) {
		h.Route, h.Split, h.Raida, h.Shard, h.Group, h.Cmd, h.Coin, h.Den = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xffff, 7
	})
	head(t(4, "split-1"), "type-4 44 with byte 1 = 1: 2 INVALID_SPLIT_ID, group 0", 4, stSplit, 0, func(h *hdr48) { h.Split = 1 })
	head(t(5, "raida-13"), "type-5 44 for RAIDA 13 on node 14: 3, group 0, byte 0 = 14", 5, stRaida, 0, func(h *hdr48) { h.Raida = 13 })
	head(t(4, "group-16"), "type-4 request with group 16: 5, group 0", 4, stGroup, 0, func(h *hdr48) { h.Group = 16 })
	head(t(5, "shard-9"), "type-5 44 with shard 9: 4 with group byte 4", 5, stShard, 4, func(h *hdr48) { h.Shard = 9 })
	head(t(4, "command-46"), "type-4 group 4 command 46: 6 with group byte 4", 4, stCommand, 4, func(h *hdr48) { h.Cmd = 46 })
	head(t(5, "group-7"), "type-5 group 7 command 0: 6 with group byte 7", 5, stCommand, 7, func(h *hdr48) { h.Group, h.Cmd = 7, 0 })
	head(t(4, "coin-id-7"), "type-4 44 with coin id 7 on a coin-6 node: 7 with group byte 4", 4, stCoinID, 4, func(h *hdr48) { h.Coin = 7 })
	head(t(5, "coin-id-and-bad-coin1"), "type-5 44 with coin id 0x0600 and coin 1 den 7: the coin id (step 9) comes before the coin (step 11), 7", 5, stCoinID, 4, func(h *hdr48) { h.Coin = 0x0600; h.Den = 7 })

	// ---- the other encryption types next to 4 and 5 (32-byte form)
	{
		name := "types45/t3-48-bytes"
		e := newEx45(name, 3, 4, 42)
		req := e.request()
		add(vec(name, "a type-4-shaped request with byte 16 = 3: 27 INVALID_ENCRYPTION_CODE in the 32-byte form (bytes 6-7 = request bytes 30-31), no draw").
			io(req, response(defRaida, stEncCode, 4, req[30:32], nil, nil)))
	}
	{
		name := "types45/t6-82-bytes"
		e := newEx45(name, 6, 0, 0)
		req := e.request()
		add(vec(name, "an 82-byte echo shaped as type 4 with byte 16 = 6: 27 in the 32-byte form").
			io(req, response(defRaida, stEncCode, 0, req[30:32], nil, nil)))
	}
	{
		name := "types45/t3-20-bytes"
		e := newEx45(name, 3, 0, 0)
		add(vec(name, "20 bytes with byte 16 = 3: under 32 bytes and not type 4 or 5, no answer").io(e.request()[:20], nil))
	}
	{
		name := "types45/t0-20-bytes"
		e := newEx45(name, 0, 0, 0)
		add(vec(name, "20 bytes with byte 16 = 0: no answer").io(e.request()[:20], nil))
	}
	type2 := func(name, desc string, group, cmd byte, cut int, st byte) {
		e := newEx(name, group, cmd)
		e.h.Enc, e.h.EncDen, e.h.EncSN = 2, 0x5e, 0x1badcafe // a locker key prefix
		if cmd == 44 {
			e.payload = cat([]byte{1}, u32(5))
		}
		req := e.request()
		req = req[:len(req)-cut]
		var resp []byte
		if len(req) >= 32 {
			resp = response(defRaida, st, group, e.h.Nonce[6:8], nil, nil)
		}
		add(vec(name, desc).io(req, resp))
	}
	type2("types45/t2-echo", "type 2 (locker) echo: no locker index, 34 INVALID_ENCRYPTION in the 32-byte form, no challenge answer", 0, 0, 0, stEncryption)
	type2("types45/t2-44", "type 2 on 44: 34 with group byte 4, no draw", 4, 44, 0, stEncryption)
	type2("types45/t2-truncated", "type 2 echo missing its last body byte: 34 (step 10 before the length)", 0, 0, 1, stEncryption)
	type2("types45/t2-31-bytes", "31 bytes of a type-2 echo: no answer", 0, 0, 19, 0)

	// ---- steps 11-12: coins
	coinFail := func(name, desc string, enc byte, mutate func(e *ex45), known bool, cut int, L0 bool) {
		e := newEx45(name, enc, 4, 42)
		mutate(e)
		v := vec(name, desc)
		// the coins that exist are in the state
		if denValid(e.h.Den) && snValid(e.h.SN) {
			v.rec(int8(e.h.Den), e.h.SN, e.an1, 33)
		}
		if c2 := e.coin2Key(); enc == 5 && denValid(byte(c2.den)) && snValid(c2.sn) {
			v.rec(c2.den, c2.sn, e.an2, 33)
		}
		v.RandomHex = hx(e.r)
		req := e.request()
		if L0 {
			req = e.with(nil)
		}
		req = req[:len(req)-cut]
		resp := e.early(req, stCoinNotFound, 4)
		if known {
			resp = e.resp(stCoinNotFound, nil)
		}
		add(v.io(req, resp))
	}
	coinFail(t(4, "coin1-den-7"), "type-4 42 with coin 1 den 7: 25 ENCRYPTION_COIN_NOT_FOUND, den and sn zero (the coin is not known)", 4,
		func(e *ex45) { e.h.Den = 7 }, false, 0, false)
	coinFail(t(4, "coin1-den-minus-9"), "type-4 42 with coin 1 den -9 (f7): 25", 4,
		func(e *ex45) { e.h.Den = 0xf7 }, false, 0, false)
	coinFail(t(4, "coin1-sn-1024000"), "type-4 42 with coin 1 sn 1,024,000: 25", 4,
		func(e *ex45) { e.h.SN = 1024000 }, false, 0, false)
	coinFail(t(5, "coin1-sn-ffffffff"), "type-5 42 with coin 1 sn 0xffffffff and a good coin 2: 25, den and sn zero", 5,
		func(e *ex45) { e.h.SN = 0xffffffff }, false, 0, false)
	coinFail(t(5, "coin2-den-7"), "type-5 42 with a good coin 1 and coin 2 den 7 (N[0]): 25 carrying coin 1's den and sn", 5,
		func(e *ex45) { e.h.Nonce[0] = 7 }, true, 0, false)
	coinFail(t(5, "coin2-sn-1024000"), "type-5 42 with coin 2 sn 1,024,000 (N[1..4]): 25 with coin 1's den and sn", 5,
		func(e *ex45) { copy(e.h.Nonce[1:5], u32(1024000)) }, true, 0, false)
	coinFail(t(5, "both-coins-bad"), "type-5 42 with coin 1 den 0x80 and coin 2 den 0x7f: coin 1 is checked first, 25 with den and sn zero", 5,
		func(e *ex45) { e.h.Den, e.h.Nonce[0] = 0x80, 0x7f }, false, 0, false)
	coinFail(t(4, "coin1-bad-truncated"), "type-4 42 with coin 1 sn 2,000,000 missing its last 5 body bytes: the coin (step 11) before the length (step 13), 25", 4,
		func(e *ex45) { e.h.SN = 2000000 }, false, 5, false)
	coinFail(t(5, "coin2-bad-L0"), "type-5 42 with coin 2 den -9 and L = 0: 25 (step 12 before step 14) with coin 1's den and sn", 5,
		func(e *ex45) { e.h.Nonce[0] = 0xf7 }, true, 0, true)

	// ---- steps 13-16: length and trailer
	bodyFail := func(name, desc string, enc, group, cmd byte, body func(e *ex45) []byte, cut int, st byte) {
		e, v := std(name, desc, enc, group, cmd)
		if cmd == 44 {
			e.payload = cat([]byte{1}, u32(5))
		}
		req := e.with(body(e))
		req = req[:len(req)-cut]
		add(v.io(req, e.resp(st, nil)))
	}
	wellFormed := func(e *ex45) []byte { return e.body() }
	bodyFail(t(4, "truncated"), "type-4 echo (L = 34) missing its last byte: 16", 4, 0, 0, wellFormed, 1, stLength)
	bodyFail(t(5, "truncated-44"), "type-5 44 (L = 39) missing 20 bytes: 16, no draw after R", 5, 4, 44, wellFormed, 20, stLength)
	bodyFail(t(4, "L0-echo"), "type-4 echo with L = 0: 16 (not 250: no request goes without a tag)", 4, 0, 0, func(*ex45) []byte { return nil }, 0, stLength)
	bodyFail(t(5, "L0-44"), "type-5 44 with L = 0: 16 (not 36)", 5, 4, 44, func(*ex45) []byte { return nil }, 0, stLength)
	bodyFail(t(4, "L1"), "type-4 42 with L = 1 (body 3e): 16", 4, 4, 42, func(*ex45) []byte { return []byte{0x3e} }, 0, stLength)
	bodyFail(t(4, "L2"), "type-4 echo with L = 2 (body 3e 3e): trailer good, then L < 34: 16", 4, 0, 0, func(*ex45) []byte { return []byte{0x3e, 0x3e} }, 0, stLength)
	bodyFail(t(5, "L2-bad-trailer"), "type-5 echo with L = 2 (body 3e 3f): 33 INVALID_EOF", 5, 0, 0, func(*ex45) []byte { return []byte{0x3e, 0x3f} }, 0, stEOF)
	bodyFail(t(4, "L33"), "type-4 echo with L = 33 (31 bytes, 3e 3e): 16", 4, 0, 0,
		func(e *ex45) []byte { return cat(mac(e.key(), nil)[:31], []byte{0x3e, 0x3e}) }, 0, stLength)
	bodyFail(t(5, "L33-bad-trailer"), "type-5 echo with L = 33 ending 3e 00: the trailer (33) before L < 34", 5, 0, 0,
		func(e *ex45) []byte { return cat(mac(e.key(), nil)[:31], []byte{0x3e, 0x00}) }, 0, stEOF)
	bodyFail(t(4, "L34-bad-trailer"), "type-4 echo with L = 34, the right tag and trailer 00 3e: 33", 4, 0, 0,
		func(e *ex45) []byte { return cat(mac(e.key(), nil), []byte{0x00, 0x3e}) }, 0, stEOF)
	bodyFail(t(5, "44-bad-trailer-bad-tag"), "type-5 44 with a wrong tag and trailer 3e 3d: the trailer is checked first, 33", 5, 4, 44,
		func(e *ex45) []byte {
			b := e.body()
			b[len(b)-3] ^= 1
			b[len(b)-1] = 0x3d
			return b
		}, 0, stEOF)

	// ---- step 17: the tag
	tagFail := func(name, desc string, enc, group, cmd byte, payload []byte, corrupt func(e *ex45, c, tag []byte) ([]byte, []byte), mod func(e *ex45, v *Vector)) {
		e, v := std(name, desc, enc, group, cmd)
		e.payload = payload
		if mod != nil {
			mod(e, v)
		}
		c := e.ciphertext()
		c, tag := corrupt(e, c, mac(e.key(), c))
		req := e.with(cat(c, tag, []byte{0x3e, 0x3e}))
		add(v.io(req, e.resp(stHMAC, nil)))
	}
	flipTag := func(i int) func(e *ex45, c, tag []byte) ([]byte, []byte) {
		return func(e *ex45, c, tag []byte) ([]byte, []byte) { tag[i] ^= 0x01; return c, tag }
	}
	p43 := func(label string) []byte {
		return k43Payload(det("types45/p43/"+label+"/keyid", 16), 1, 5, det("types45/p43/"+label+"/ip", 16))
	}
	tagFail(t(4, "tag-byte-0"), "type-4 43 with tag byte 0 flipped: 204 INVALID_HMAC, header alone", 4, 4, 43, p43("a"), flipTag(0), nil)
	tagFail(t(5, "tag-byte-0"), "type-5 43 with tag byte 0 flipped: 204", 5, 4, 43, p43("b"), flipTag(0), nil)
	tagFail(t(4, "tag-byte-15"), "type-4 echo with tag byte 15 (middle) flipped: 204", 4, 0, 0, det("c", 12), flipTag(15), nil)
	tagFail(t(5, "tag-byte-16"), "type-5 42 with tag byte 16 (middle) flipped: 204", 5, 4, 42, det("d", 3), flipTag(16), nil)
	tagFail(t(4, "tag-byte-31"), "type-4 44 with tag byte 31 (last) flipped: 204, no draw after R", 4, 4, 44, cat([]byte{1}, u32(5)), flipTag(31), nil)
	tagFail(t(5, "tag-byte-31"), "type-5 echo with tag byte 31 (last) flipped: 204", 5, 0, 0, nil, flipTag(31), nil)
	tagFail(t(4, "ciphertext-byte-0"), "type-4 43 with C byte 0 flipped (the tag as for the original C): 204, no file read", 4, 4, 43, p43("e"),
		func(e *ex45, c, tag []byte) ([]byte, []byte) { c[0] ^= 0x80; return c, tag }, nil)
	tagFail(t(5, "ciphertext-last-byte"), "type-5 41 with the last C byte flipped: 204, no file written", 5, 4, 41,
		k41Payload(det("f/id", 16), det("f/ip", 16), 1, 1, det("f/space", 128), 0, 10),
		func(e *ex45, c, tag []byte) ([]byte, []byte) { c[len(c)-1] ^= 0x01; return c, tag }, nil)
	tagFail(t(4, "L34-zero-tag"), "type-4 echo, empty C, tag all zero: 204", 4, 0, 0, nil,
		func(e *ex45, c, tag []byte) ([]byte, []byte) { return c, make([]byte, 32) }, nil)
	tagFail(t(4, "tag-over-plaintext"), "type-4 43 whose tag is HMAC(K, plaintext) instead of HMAC(K, C): 204", 4, 4, 43, p43("g"),
		func(e *ex45, c, tag []byte) ([]byte, []byte) { return c, mac(e.key(), e.payload) }, nil)
	tagFail(t(4, "tag-over-header-and-c"), "type-4 42 whose tag covers header || C: 204 (the tag covers C only)", 4, 4, 42, det("h", 9),
		func(e *ex45, c, tag []byte) ([]byte, []byte) {
			h := e.h
			h.L = uint16(len(c) + 34)
			return c, mac(e.key(), cat(h.bytes(), c))
		}, nil)
	tagFail(t(5, "coins-reversed"), "type-5 43 sealed with K = SHA-256(AN2 || AN1), the reversed order: 204", 5, 4, 43, p43("i"),
		func(e *ex45, c, tag []byte) ([]byte, []byte) {
			k := key45(e.an2, e.an1)
			c = ctr256(k, e.h.Nonce[:16], e.payload)
			return c, mac(k, c)
		}, nil)
	tagFail(t(5, "type4-key"), "type-5 42 sealed with type 4's K = SHA-256(AN1): 204", 5, 4, 42, det("j", 5),
		func(e *ex45, c, tag []byte) ([]byte, []byte) {
			k := key45(e.an1, nil)
			c = ctr256(k, e.h.Nonce[:16], e.payload)
			return c, mac(k, c)
		}, nil)
	tagFail(t(4, "raw-an-key"), "type-4 echo sealed with the AN itself as HMAC key (no SHA-256): 204", 4, 0, 0, det("k", 8),
		func(e *ex45, c, tag []byte) ([]byte, []byte) { return c, mac(e.an1, c) }, nil)
	tagFail(t(4, "44-bad-tag-bad-den"), "type-4 44 with recipient den 7 and a wrong tag: the tag (204) before the command (40), no draw after R", 4, 4, 44,
		cat([]byte{7}, u32(5)), flipTag(7), nil)
	tagFail(t(5, "45-bad-tag-no-coin-file"), "type-5 45 with no decryption coin file and a wrong tag: 204 before 197", 5, 4, 45,
		cat([]byte{1}, u32(5010), det("l", 26)), flipTag(20), nil)

	// ================================================================ pairs: 44 on one node, 45 on another

	// node44 builds a 44 on RAIDA a (type enc, 0/1 via the 32-byte form,
	// 4/5 via the 48-byte form) for coin (den, sn) with AN an on that node;
	// nonce8 is the nonce's first 8 bytes. It returns the block as the
	// client recovers it from the answer, and the key part.
	type pairEnd struct{ blk, k []byte }
	node44 := func(name, desc string, enc, a byte, nonce8 []byte, den int8, sn uint32, an []byte) pairEnd {
		draw := det(name+"/draw", 10)
		plain := block44(draw[:8], byte(den), sn, draw[8:], 0xff)
		blk := ctr(an, nonce8, 0, plain)
		v := vec(name, desc)
		v.Config.RaidaID = int(a)
		v.rec(den, sn, an, 44)
		if enc <= 1 {
			e := newEx(name, 4, 44)
			e.h.Raida, e.node, e.h.Nonce = a, a, nonce8
			if enc == 1 {
				encAN := det(name+"/enc-an", 16)
				e.type1(-1, 1, encAN)
				v.rec(-1, 1, encAN, 44)
			}
			e.payload = cat([]byte{byte(den)}, u32(sn))
			v.RandomHex = hx(draw)
			resp := e.resp(stOK, true, blk)
			add(v.io(e.request(), resp))
			got := resp[32:48]
			if enc == 1 {
				got = ctr(e.an, nonce8, reqBlocks(e.L()), got)
			}
			if !bytes.Equal(got, blk) {
				panic(name + ": the client cannot open the 44 answer")
			}
			return pairEnd{got, draw[:8]}
		}
		e := newEx45(name, enc, 4, 44)
		e.h.Raida, e.node = a, a
		copy(e.h.Nonce[:8], nonce8) // type 5: coin 2 is N[0..4], already there
		e.coins(v, nil, 44)
		e.payload = cat([]byte{byte(den)}, u32(sn))
		v.RandomHex = hx(e.r) + hx(draw)
		resp := e.resp(stOK, blk)
		add(v.io(e.request(), resp))
		got, ok := open45(e.key(), resp)
		if !ok || !bytes.Equal(got, blk) {
			panic(name + ": the client cannot open the 44 answer")
		}
		return pairEnd{got, draw[:8]}
	}
	// node45 builds the 45 on RAIDA 14 that consumes blk as record (C,
	// index a, split 0) with the same first 8 nonce bytes.
	node45 := func(name, desc string, enc, a byte, nonce8 []byte, den int8, sn uint32, anOnA []byte, end pairEnd) {
		anOnB := det(name+"/an-of-C-on-B", 16)
		ans := coinANs(name)
		ans[a] = anOnA
		r := rec45{coinID: defCoin, split: 0, index: a, shard: 0, den: byte(den), sn: sn, key: end.blk}
		payload := cat([]byte{byte(den)}, u32(sn), r.bytes())
		v := vec(name, desc).rec(den, sn, anOnB, 44).file(coinPath(byte(den), sn), coinFile(name, defCoin, ans))
		v.expRec(den, sn, cat(end.k, anOnB[8:]), mfsAt(defTime))
		if enc <= 1 {
			e := newEx(name, 4, 45)
			e.h.Nonce = nonce8
			if enc == 1 {
				encAN := det(name+"/enc-an", 16)
				e.type1(0, 10, encAN)
				v.rec(0, 10, encAN, 45)
			}
			e.payload = payload
			add(v.io(e.request(), e.resp(stSuccess, true, []byte{1})))
			return
		}
		e := newEx45(name, enc, 4, 45)
		copy(e.h.Nonce[:8], nonce8) // type 5: coin 2 is the 44's, with this node's AN
		e.coins(v, nil, 45)
		e.payload = payload
		v.RandomHex = hx(e.r)
		add(v.io(e.request(), e.resp(stSuccess, []byte{1})))
	}
	{
		nonce8 := det("types45/pair-1/nonce8", 8)
		den, sn := int8(2), uint32(4242)
		anOnA := det("types45/pair-1/an-of-C-on-A", 16)
		end := node44("types45/pair-1-t4-44", "pair 1, node A (RAIDA 3): type-4 44 for coin C = (2,4242), N[0..7] shared with pair-1-t1-45; the client opens E with K and R to get the block",
			4, 3, nonce8, den, sn, anOnA)
		node45("types45/pair-1-t1-45", "pair 1, node B (RAIDA 14): type-1 45 whose header nonce (bytes 24-31) is the 44's N[0..7], record (C, index 3, split 0) = the block of pair-1-t4-44: accepted, C's AN bytes 0-7 on B become A's key part",
			1, 3, nonce8, den, sn, anOnA, end)
	}
	{
		e0 := newEx45("types45/pair-2-t5-44", 5, 4, 44) // coin 2 and N[0..7] as the 44 will have them
		nonce8 := e0.nonce8()
		den, sn := int8(-4), uint32(1000001)
		anOnA := det("types45/pair-2-an-of-C-on-A", 16)
		end := node44("types45/pair-2-t5-44", "pair 2, node A (RAIDA 20): type-5 44 for coin C = (-4,1000001); its block's counter block starts with coin 2's den and sn",
			5, 20, nonce8, den, sn, anOnA)
		node45("types45/pair-2-t5-45", "pair 2, node B (RAIDA 14): type-5 45 with the same coin 2 and N[0..7] as pair-2-t5-44, consuming its block as record (C, index 20): accepted",
			5, 20, nonce8, den, sn, anOnA, end)
	}
	{
		nonce8 := det("types45/pair-3/nonce8", 8)
		den, sn := int8(0), uint32(31337)
		anOnA := det("types45/pair-3/an-of-C-on-A", 16)
		end := node44("types45/pair-3-t1-44", "pair 3, node A (RAIDA 0): type-1 44 for coin C = (0,31337); the client decrypts the type-1 payload layer to get the block",
			1, 0, nonce8, den, sn, anOnA)
		node45("types45/pair-3-t4-45", "pair 3, node B (RAIDA 14): type-4 45 whose N[0..7] is the type-1 44's nonce, consuming its block as record (C, index 0): accepted",
			4, 0, nonce8, den, sn, anOnA, end)
	}
	return vs
}
