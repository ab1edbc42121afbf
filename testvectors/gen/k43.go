package main

// k43Payload writes the 37-byte payload of 43 Get Key.
func k43Payload(keyID []byte, den byte, sn uint32, ip []byte) []byte {
	p := make([]byte, 37)
	copy(p[0:16], keyID)
	p[16] = den
	copy(p[17:21], u32(sn))
	copy(p[21:37], ip)
	return p
}

// k43Vectors: 43 Get Key.
func k43Vectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	// get builds a 43 for a key file holding content (nil: no file). want is
	// the expected payload (the first 512 bytes), st the expected status.
	get := func(name, desc string, content []byte, typ1 bool, st byte, want []byte) {
		e := newEx(name, 4, 43)
		v := vec(name, desc)
		if typ1 {
			an := det(name+"/an", 16)
			e.type1(5, 55555, an)
			v.rec(5, 55555, an, 45)
		}
		keyID := det(name+"/keyid", 16)
		e.payload = k43Payload(keyID, 1, 5, det(name+"/ip", 16))
		if content != nil {
			v.file(keyPath(keyID), content)
		}
		v.io(e.request(), e.resp(st, true, want))
		add(v)
	}

	c40 := det("k43/content40", 40)
	get("k43/type0", "43 type 0 on a 40-byte key file: 250, payload the 40 bytes", c40, false, stSuccess, c40)
	get("k43/type1", "43 type 1 on a 40-byte key file: 250, payload encrypted with the coin AN, counter from initial block + 4 (ceil(53/16))",
		c40, true, stSuccess, c40)
	c600 := det("k43/content600", 600)
	get("k43/600-bytes", "43 on a 600-byte key file: payload = the first 512 bytes (length field 514)", c600, false, stSuccess, c600[:512])
	get("k43/600-bytes-type1", "43 type 1 on a 600-byte key file: first 512 bytes, encrypted over 32 blocks", c600, true, stSuccess, c600[:512])
	c512 := det("k43/content512", 512)
	get("k43/512-bytes", "43 on a key file of exactly 512 bytes: all of it", c512, false, stSuccess, c512)
	c513 := det("k43/content513", 513)
	get("k43/513-bytes", "43 on a key file of 513 bytes: the first 512", c513, false, stSuccess, c513[:512])
	get("k43/1-byte", "43 on a 1-byte key file: payload 1 byte, length field 3", []byte{0x3e}, false, stSuccess, []byte{0x3e})
	get("k43/1-byte-type1", "43 type 1 on a 1-byte key file", []byte{0x00}, true, stSuccess, []byte{0x00})
	get("k43/empty", "43 on an empty key file: 250, no payload, response length field 0", []byte{}, false, stSuccess, nil)
	get("k43/empty-type1", "43 type 1 on an empty key file: 250, no payload", []byte{}, true, stSuccess, nil)
	get("k43/missing", "43 on a missing key file: 194 FILESYSTEM with the challenge answered; the file is not created", nil, false, stFS, nil)
	get("k43/missing-type1", "43 type 1 on a missing key file: 194", nil, true, stFS, nil)
	{
		// The file written by a 41: den || sn || key segment.
		name := "k43/other-keys-present"
		e := newEx(name, 4, 43)
		keyID := unhex("00000000000000000000000000000001")
		e.payload = k43Payload(keyID, 0xff, 0xffffffff, make([]byte, 16))
		add(vec(name, "43 for key 00..01 while only keys 00..00 and 00..02 exist: 194").
			file("Keys/00000000000000000000000000000000", []byte{1, 2}).
			file("Keys/00000000000000000000000000000002", []byte{3, 4}).
			io(e.request(), e.resp(stFS, true, nil)))
	}
	{
		name := "k43/den-sn-ip-unused"
		e := newEx(name, 4, 43)
		keyID := det(name+"/keyid", 16)
		content := cat([]byte{2}, u32(22), det(name+"/seg", 30))
		e.payload = k43Payload(keyID, 0x7f, 0xffffffff, det(name+"/ip", 16))
		add(vec(name, "43 naming den 127, sn 0xffffffff (no record) and another den/sn than the file's: unused, 250").
			file(keyPath(keyID), content).io(e.request(), e.resp(stSuccess, true, content)))
	}

	// ---- sizes
	for _, c := range []struct {
		name string
		n    int
	}{{"k43/L54", 36}, {"k43/L56", 38}} {
		e := newEx(c.name, 4, 43)
		keyID := det(c.name+"/keyid", 16)
		e.payload = cat(keyID, det(c.name+"/rest", c.n-16))
		add(vec(c.name, "43 with the wrong body length while the key file exists: 16 with the challenge answered").
			file(keyPath(keyID), []byte{1, 2, 3}).io(e.request(), e.resp(stLength, true, nil)))
	}
	{
		name := "k43/L0"
		e := newEx(name, 4, 43)
		h := e.h
		h.L = 0
		add(vec(name, "43 with L = 0: 36 EMPTY_REQUEST").
			io(h.bytes(), response(defRaida, stEmpty, 4, h.Nonce[6:8], nil, nil)))
	}
	return vs
}
