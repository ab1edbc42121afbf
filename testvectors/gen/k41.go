package main

// k41Payload writes the 167-byte payload of 41 Post Key field by field.
func k41Payload(keyID, ip []byte, den byte, sn uint32, space []byte, ks, kl byte) []byte {
	p := make([]byte, 167)
	copy(p[0:16], keyID)
	copy(p[16:32], ip)
	p[32] = den
	copy(p[33:37], u32(sn))
	copy(p[37:165], space)
	p[165] = ks
	p[166] = kl
	return p
}

// k41Vectors: 41 Post Key.
func k41Vectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	type post struct {
		name, desc string
		ks, kl     byte
		den        byte
		sn         uint32
		keyID      []byte
		existing   []byte // existing key file, nil for none
		typ1       bool
		st         byte // expected status: 250 or 196
	}
	mk := func(p post) {
		e := newEx(p.name, 4, 41)
		var an []byte
		if p.typ1 {
			an = det(p.name+"/an", 16)
			e.type1(3, 3030, an)
		}
		keyID := p.keyID
		if keyID == nil {
			keyID = det(p.name+"/keyid", 16)
		}
		space := det(p.name+"/space", 128)
		e.payload = k41Payload(keyID, det(p.name+"/ip", 16), p.den, p.sn, space, p.ks, p.kl)
		v := vec(p.name, p.desc)
		if p.typ1 {
			v.rec(3, 3030, an, 45)
		}
		path := keyPath(keyID)
		if p.existing != nil {
			v.file(path, p.existing)
		}
		if p.st == stKeyLength {
			v.io(e.request(), e.resp(stKeyLength, true, nil))
		} else {
			content := cat([]byte{p.den}, u32(p.sn), space[int(p.ks):int(p.ks)+int(p.kl)])
			v.expFile(path, content)
			v.io(e.request(), e.resp(stSuccess, true, nil))
		}
		add(v)
	}

	mk(post{name: "k41/type0", desc: "41 type 0, KS 10, KL 20: 250; Keys/<id> = den || sn || key space [10:30]",
		ks: 10, kl: 20, den: 1, sn: 5000, st: stSuccess})
	mk(post{name: "k41/type1", desc: "41 type 1, KS 3, KL 64: 250, no payload",
		ks: 3, kl: 64, den: 2, sn: 77777, typ1: true, st: stSuccess})
	mk(post{name: "k41/ks100-kl27", desc: "KS 100 + KL 27 = 127: accepted, key bytes taken from payload [137:164]",
		ks: 100, kl: 27, den: 0, sn: 1, st: stSuccess})
	mk(post{name: "k41/ks0-kl127", desc: "KS 0, KL 127: accepted, file 132 bytes",
		ks: 0, kl: 127, den: 6, sn: 1023999, st: stSuccess})
	mk(post{name: "k41/ks127-kl0", desc: "KS 127, KL 0: accepted, file is den || sn only",
		ks: 127, kl: 0, den: 0xf8, sn: 12, st: stSuccess})
	mk(post{name: "k41/kl0", desc: "KS 5, KL 0: accepted, file of 5 bytes",
		ks: 5, kl: 0, den: 3, sn: 333, st: stSuccess})
	mk(post{name: "k41/ks100-kl28", desc: "KS 100 + KL 28 = 128: 196 INVALID_KEY_LENGTH, no file",
		ks: 100, kl: 28, den: 1, sn: 5, st: stKeyLength})
	mk(post{name: "k41/ks127-kl1", desc: "KS 127 + KL 1 = 128: 196",
		ks: 127, kl: 1, den: 1, sn: 5, st: stKeyLength})
	mk(post{name: "k41/ks0-kl128", desc: "KS 0, KL 128: 196",
		ks: 0, kl: 128, den: 1, sn: 5, st: stKeyLength})
	mk(post{name: "k41/ks128-kl128", desc: "KS 128 + KL 128 = 256 (0 in a byte): 196, the sum is not taken mod 256",
		ks: 128, kl: 128, den: 1, sn: 5, st: stKeyLength})
	mk(post{name: "k41/ks255-kl255", desc: "KS 255 + KL 255 = 510: 196",
		ks: 255, kl: 255, den: 1, sn: 5, st: stKeyLength})
	mk(post{name: "k41/ks200-kl0", desc: "KS 200, KL 0: sum 200 > 127, 196 even though no byte would be copied",
		ks: 200, kl: 0, den: 1, sn: 5, st: stKeyLength})
	mk(post{name: "k41/type1-196", desc: "41 type 1 with KS 64 + KL 64: 196 with the type-1 challenge answer",
		ks: 64, kl: 64, den: 1, sn: 5, typ1: true, st: stKeyLength})
	mk(post{name: "k41/ks128-kl128-existing", desc: "196 with an existing key file: the file is left unchanged",
		ks: 128, kl: 128, den: 1, sn: 5, existing: det("k41/ks128-kl128-existing/old", 60), st: stKeyLength})
	mk(post{name: "k41/overwrite-shorter", desc: "existing key file of 200 bytes rewritten with 15: the file is exactly the new 15 bytes (no stale tail)",
		ks: 40, kl: 10, den: 2, sn: 22, existing: det("k41/overwrite-shorter/old", 200), st: stSuccess})
	mk(post{name: "k41/overwrite-longer", desc: "existing key file of 3 bytes rewritten with 105",
		ks: 0, kl: 100, den: 2, sn: 23, existing: []byte{1, 2, 3}, st: stSuccess})
	mk(post{name: "k41/overwrite-empty-with-empty-key", desc: "existing empty key file rewritten with KL 0: file = den || sn",
		ks: 9, kl: 0, den: 4, sn: 44, existing: []byte{}, st: stSuccess})
	mk(post{name: "k41/den-sn-unchecked", desc: "den 0x7f and sn 0xffffffff (no such record): not checked, stored as sent",
		ks: 1, kl: 8, den: 0x7f, sn: 0xffffffff, st: stSuccess})
	mk(post{name: "k41/key-id-hex", desc: "key id abcdef0123456789fedcba9876543210: file name in lowercase hex",
		ks: 2, kl: 2, den: 1, sn: 9, keyID: unhex("abcdef0123456789fedcba9876543210"), st: stSuccess})
	{
		// Another key file exists and must stay untouched.
		name := "k41/other-key-untouched"
		e := newEx(name, 4, 41)
		keyID, other := det(name+"/keyid", 16), det(name+"/other", 16)
		space := det(name+"/space", 128)
		e.payload = k41Payload(keyID, make([]byte, 16), 1, 1, space, 0, 16)
		add(vec(name, "41 with another key file present: only Keys/<id> is created").
			file(keyPath(other), []byte{9, 9, 9}).
			expFile(keyPath(keyID), cat([]byte{1}, u32(1), space[0:16])).
			io(e.request(), e.resp(stSuccess, true, nil)))
	}

	// ---- sizes
	for _, c := range []struct {
		name string
		n    int
	}{{"k41/L184", 166}, {"k41/L186", 168}, {"k41/L18", 0}} {
		e := newEx(c.name, 4, 41)
		e.payload = det(c.name+"/payload", c.n)
		if c.n >= 167 {
			e.payload[165], e.payload[166] = 0, 10
		}
		add(vec(c.name, "41 with the wrong body length: 16 with the challenge answered").
			io(e.request(), e.resp(stLength, true, nil)))
	}
	{
		name := "k41/L0"
		e := newEx(name, 4, 41)
		h := e.h
		h.L = 0
		add(vec(name, "41 with L = 0: 36 EMPTY_REQUEST, no challenge answer").
			io(h.bytes(), response(defRaida, stEmpty, 4, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "k41/L0-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 41)
		e.type1(1, 1, an)
		h := e.h
		h.L = 0
		add(vec(name, "41 type 1 with L = 0: 36").rec(1, 1, an, 45).
			io(h.bytes(), response(defRaida, stEmpty, 4, h.Nonce[6:8], nil, nil)))
	}
	return vs
}
