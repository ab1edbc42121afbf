package main

// bodyVectors: PROTOCOL.md section 1 steps 11-17 (length, trailer,
// decryption, CRC) and the bytes after the body.
func bodyVectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	// fail expects status st with no challenge answer.
	fail := func(e *ex, st byte) []byte {
		return response(defRaida, st, e.h.Group, e.h.Nonce[6:8], nil, nil)
	}

	// ---- step 11: n < 32 + L
	{
		name := "body/truncated-echo"
		e := newEx(name, 0, 0)
		req := e.request()
		req = req[:len(req)-1]
		add(vec(name, "echo with L = 18 and only 17 body bytes: 16 INVALID_PACKET_LENGTH, no challenge answer").io(req, fail(e, stLength)))
	}
	{
		name := "body/truncated-44"
		e := newEx(name, 4, 44)
		e.payload = []byte{1, 0, 0, 0, 9}
		req := e.request()
		req = req[:len(req)-1]
		add(vec(name, "44 with L = 23 and 22 body bytes: 16 with group byte 4, no random draw").io(req, fail(e, stLength)))
	}
	{
		name := "body/truncated-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 42)
		e.type1(2, 77, an)
		req := e.request()
		req = req[:40]
		add(vec(name, "type 1 42 with L = 18 and 8 body bytes: 16").rec(2, 77, an, 40).io(req, fail(e, stLength)))
	}
	{
		name := "body/length-ffff"
		e := newEx(name, 0, 0)
		h := e.h
		h.L = 0xffff
		req := cat(h.bytes(), e.body())
		add(vec(name, "L = 65535 with an 18-byte body: 16").io(req, fail(e, stLength)))
	}
	{
		name := "body/truncated-no-trailer"
		e := newEx(name, 4, 43)
		e.payload = det(name+"/payload", 37)
		req := e.request()
		req = req[:len(req)-2]
		add(vec(name, "43 with L = 55 missing its 2 trailer bytes: the length is checked before the trailer, 16").io(req, fail(e, stLength)))
	}

	// ---- step 13: L == 1
	{
		name := "body/L1-echo"
		e := newEx(name, 0, 0)
		h := e.h
		h.L = 1
		req := cat(h.bytes(), []byte{0x3e})
		add(vec(name, "echo with L = 1 (body 3e): 16").io(req, fail(e, stLength)))
	}
	{
		name := "body/L1-44"
		e := newEx(name, 4, 44)
		h := e.h
		h.L = 1
		req := cat(h.bytes(), []byte{0x00})
		add(vec(name, "44 with L = 1: 16 (not 36, L is not 0)").io(req, fail(e, stLength)))
	}

	// ---- L between 2 and 17
	short := func(name, desc string, group, cmd byte, L int, trailer []byte, st byte) {
		e := newEx(name, group, cmd)
		h := e.h
		h.L = uint16(L)
		b := cat(det(name+"/body", L-2), trailer)
		add(vec(name, desc).io(cat(h.bytes(), b), fail(e, st)))
	}
	short("body/L2-trailer-only", "echo with L = 2, body 3e3e: 16", 0, 0, 2, []byte{0x3e, 0x3e}, stLength)
	short("body/L17-good-trailer", "echo with L = 17 ending 3e3e: 16", 0, 0, 17, []byte{0x3e, 0x3e}, stLength)
	short("body/L10-good-trailer-42", "42 with L = 10 ending 3e3e: 16", 4, 42, 10, []byte{0x3e, 0x3e}, stLength)
	short("body/L17-good-trailer-44", "44 with L = 17 ending 3e3e: 16", 4, 44, 17, []byte{0x3e, 0x3e}, stLength)
	short("body/L17-bad-trailer", "echo with L = 17 ending 3e3f: the trailer is checked before L < 18, 33 INVALID_EOF", 0, 0, 17, []byte{0x3e, 0x3f}, stEOF)
	short("body/L2-bad-trailer", "echo with L = 2, body 0000: 33", 0, 0, 2, []byte{0, 0}, stEOF)
	{
		name := "body/L5-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(0, 5, an)
		h := e.h
		h.L = 5
		b := cat(det(name+"/body", 3), []byte{0x3e, 0x3e})
		add(vec(name, "type 1 echo with L = 5 ending 3e3e: 16").rec(0, 5, an, 3).io(cat(h.bytes(), b), fail(e, stLength)))
	}

	// ---- step 14: trailer
	eof := func(name, desc string, group, cmd byte, payload, trailer []byte) {
		e := newEx(name, group, cmd)
		e.payload = payload
		req := e.request()
		copy(req[len(req)-2:], trailer)
		add(vec(name, desc).io(req, fail(e, stEOF)))
	}
	eof("body/eof-3e3f", "echo ending 3e3f: 33", 0, 0, nil, []byte{0x3e, 0x3f})
	eof("body/eof-3f3e", "echo ending 3f3e: 33", 0, 0, nil, []byte{0x3f, 0x3e})
	eof("body/eof-44", "well-formed 44 (L = 23) ending 0000: 33, no random draw", 4, 44, []byte{1, 0, 0, 0, 9}, []byte{0, 0})
	{
		name := "body/eof-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 42)
		e.type1(3, 1000, an)
		req := e.request()
		req[len(req)-1] = 0x3d
		add(vec(name, "type 1 42 ending 3e3d: 33").rec(3, 1000, an, 44).io(req, fail(e, stEOF)))
	}
	{
		name := "body/eof-type1-encrypted-trailer"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(3, 1001, an)
		// The sender wrongly encrypts the trailer too.
		full := ctr(an, e.h.Nonce, 0, cat(e.challenge, []byte{0x3e, 0x3e}))
		if full[16] == 0x3e && full[17] == 0x3e {
			panic(name)
		}
		h := e.h
		h.L = 18
		add(vec(name, "type 1 echo whose trailer was encrypted with the body: the trailer is raw, 33").
			rec(3, 1001, an, 44).io(cat(h.bytes(), full), fail(e, stEOF)))
	}

	// ---- step 17: CRC
	{
		name := "body/crc-bad-type0"
		e := newEx(name, 0, 0)
		e.challenge[15] ^= 1
		add(vec(name, "echo whose challenge CRC has its last bit flipped: 37 INVALID_CRC, no challenge answer").
			io(e.request(), fail(e, stCRC)))
	}
	{
		name := "body/crc-little-endian"
		e := newEx(name, 4, 44)
		e.payload = []byte{1, 0, 0, 0, 9}
		c := e.challenge
		c[12], c[13], c[14], c[15] = c[15], c[14], c[13], c[12]
		add(vec(name, "44 whose challenge CRC is stored little-endian: 37 (it is big-endian), no random draw").
			io(e.request(), fail(e, stCRC)))
	}
	{
		name := "body/crc-bad-type1-wrong-key"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(1, 4444, det(name+"/other-an", 16)) // encrypted with the wrong AN
		dec := ctr(an, e.h.Nonce, 0, ctr(e.an, e.h.Nonce, 0, e.challenge))
		if string(crc(dec[:12])) == string(dec[12:16]) {
			panic(name)
		}
		add(vec(name, "type 1 echo encrypted with another key than the coin's AN: decrypts to a bad CRC, 37").
			rec(1, 4444, an, 20).io(e.request(), fail(e, stCRC)))
	}
	{
		name := "body/crc-bad-type1-plaintext"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 42)
		e.type1(1, 4445, an)
		h := e.h
		h.L = 18
		req := cat(h.bytes(), e.challenge, []byte{0x3e, 0x3e}) // body not encrypted
		dec := ctr(an, e.h.Nonce, 0, e.challenge)
		if string(crc(dec[:12])) == string(dec[12:16]) {
			panic(name)
		}
		add(vec(name, "type 1 42 whose body was sent unencrypted: decrypts to a bad CRC, 37").
			rec(1, 4445, an, 20).io(req, fail(e, stCRC)))
	}

	// ---- bytes after 32 + L are ignored
	{
		name := "body/trailing-bytes-echo"
		e := newEx(name, 0, 0)
		req := cat(e.request(), det(name+"/extra", 40))
		add(vec(name, "echo followed by 40 extra bytes: ignored, 250").io(req, e.resp(stSuccess, true, nil)))
	}
	{
		name := "body/trailing-bytes-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(-1, 31337, an)
		req := cat(e.request(), []byte{0x3e, 0x3e, 0x00})
		add(vec(name, "type 1 echo followed by 3 extra bytes 3e3e00: ignored, 250").
			rec(-1, 31337, an, 44).io(req, e.resp(stSuccess, true, nil)))
	}
	return vs
}
