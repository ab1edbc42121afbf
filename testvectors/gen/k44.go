package main

// block44 writes the 16-byte plaintext key block of 44 (and of 45's
// records): K(8) || den || sn(4) || R(2) || end byte (FF when well formed).
func block44(k []byte, den byte, sn uint32, r []byte, end byte) []byte {
	b := make([]byte, 16)
	copy(b[0:8], k)
	b[8] = den
	copy(b[9:13], u32(sn))
	copy(b[13:15], r)
	b[15] = end
	return b
}

// k44Vectors: 44 Encrypt Key.
func k44Vectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	type enc struct {
		name, desc string
		den        int8
		sn         uint32
		recAN      []byte // recipient AN in the state; nil: not in the state (zero)
		long       bool   // 31-byte form (K in the payload)
		typ1       bool
		encCoin    *coinKey // type 1 encryption coin; nil: (1,5) with AN(1,5)
	}
	mk := func(c enc) {
		e := newEx(c.name, 4, 44)
		v := vec(c.name, c.desc)
		recAN := make([]byte, 16)
		if c.recAN != nil {
			recAN = c.recAN
			v.rec(c.den, c.sn, recAN, 33)
		}
		if c.typ1 {
			if c.encCoin != nil {
				// the encryption coin is the recipient itself
				e.type1(c.encCoin.den, c.encCoin.sn, recAN)
			} else {
				e.type1(1, 5, unhex(factsAN15))
				v.rec(1, 5, unhex(factsAN15), 45)
			}
		}
		var k, r []byte
		if c.long {
			k = det(c.name+"/K", 8)
			r = det(c.name+"/R", 2)
			e.payload = cat([]byte{byte(c.den)}, u32(c.sn), k)
			v.RandomHex = hx(r) // one draw of 2 bytes
		} else {
			draw := det(c.name+"/draw", 10)
			k, r = draw[:8], draw[8:10]
			e.payload = cat([]byte{byte(c.den)}, u32(c.sn))
			v.RandomHex = hx(draw) // one draw of 10 bytes
		}
		blk := ctr(recAN, e.h.Nonce, 0, block44(k, byte(c.den), c.sn, r, 0xff))
		v.io(e.request(), e.resp(stOK, true, blk))
		add(v)
	}

	mk(enc{name: "k44/23-type0", desc: "44 type 0, 23-byte body: random draw of 10 (K = first 8, R = last 2), status 0, payload the block encrypted with the recipient AN from the initial block",
		den: 1, sn: 5000, recAN: det("k44/23-type0/an", 16)})
	mk(enc{name: "k44/31-type0", desc: "44 type 0, 31-byte body: K from the payload, random draw of 2 (R)",
		den: 2, sn: 123, recAN: det("k44/31-type0/an", 16), long: true})
	mk(enc{name: "k44/23-type1", desc: "44 type 1 (coin (1,5)), 23-byte body: the 16-byte payload additionally encrypted with AN(1,5), counter initial block + 2",
		den: -2, sn: 999999, recAN: det("k44/23-type1/an", 16), typ1: true})
	mk(enc{name: "k44/31-type1", desc: "44 type 1, 31-byte body: payload encrypted with AN(1,5) from initial block + 2",
		den: 6, sn: 0, recAN: det("k44/31-type1/an", 16), long: true, typ1: true})
	mk(enc{name: "k44/23-zero-an", desc: "44 for a recipient absent from the state: AN all zero is the key",
		den: 0, sn: 77, long: false})
	mk(enc{name: "k44/31-facts-coin", desc: "44 for recipient (1,7) with the facts' AN(1,7)",
		den: 1, sn: 7, recAN: unhex(factsAN17), long: true})
	mk(enc{name: "k44/23-boundary-coin", desc: "44 for recipient den -8, sn 1,023,999 (both boundaries valid)",
		den: -8, sn: 1023999, recAN: det("k44/23-boundary-coin/an", 16)})
	mk(enc{name: "k44/31-boundary-coin", desc: "44 for recipient den 6, sn 1,023,999",
		den: 6, sn: 1023999, recAN: det("k44/31-boundary-coin/an", 16), long: true})
	self := coinKey{den: 3, sn: 3333}
	mk(enc{name: "k44/23-type1-self", desc: "44 type 1 whose encryption coin is the recipient: the block and the payload layer both use its AN",
		den: 3, sn: 3333, recAN: det("k44/23-type1-self/an", 16), typ1: true, encCoin: &self})
	{
		name := "k44/23-trailing-bytes"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 44)
		draw := det(name+"/draw", 10)
		e.payload = cat([]byte{4}, u32(404))
		blk := ctr(an, e.h.Nonce, 0, block44(draw[:8], 4, 404, draw[8:], 0xff))
		v := vec(name, "44 (23) followed by 8 extra bytes (a would-be K): ignored, K from the draw").
			rec(4, 404, an, 1).io(cat(e.request(), det(name+"/extra", 8)), e.resp(stOK, true, blk))
		v.RandomHex = hx(draw)
		add(v)
	}

	// ---- 40: no such recipient record (no random draw)
	bad := func(name, desc string, den byte, sn uint32, long, typ1 bool) {
		e := newEx(name, 4, 44)
		v := vec(name, desc)
		if typ1 {
			an := det(name+"/an", 16)
			e.type1(1, 2, an)
			v.rec(1, 2, an, 45)
		}
		e.payload = cat([]byte{den}, u32(sn))
		if long {
			e.payload = cat(e.payload, det(name+"/K", 8))
		}
		add(v.io(e.request(), e.resp(stSNDen, true, nil)))
	}
	bad("k44/den-7", "44 recipient den 7: 40 INVALID_SN_OR_DENOMINATION, no random draw", 7, 5, false, false)
	bad("k44/den-minus-9", "44 recipient den -9 (f7): 40", 0xf7, 5, true, false)
	bad("k44/den-minus-128", "44 recipient den -128 (80): 40", 0x80, 5, false, false)
	bad("k44/den-127", "44 recipient den 127: 40", 0x7f, 5, true, false)
	bad("k44/sn-1024000", "44 recipient sn 1,024,000: 40", 1, 1024000, false, false)
	bad("k44/sn-ffffffff", "44 recipient sn 0xffffffff: 40", 1, 0xffffffff, true, false)
	bad("k44/sn-67108864", "44 recipient sn 2^26 (aliases to page 0 in the deployed node): 40", 1, 1<<26, false, false)
	bad("k44/den-7-type1", "44 type 1 recipient den 7: 40 with the type-1 challenge answer, no payload", 7, 1, true, true)

	// ---- sizes (no random draw)
	for _, c := range []struct {
		name string
		n    int
	}{{"k44/L18", 0}, {"k44/L22", 4}, {"k44/L24", 6}, {"k44/L30", 12}, {"k44/L32", 14}, {"k44/L41", 23}} {
		e := newEx(c.name, 4, 44)
		e.payload = cat([]byte{1}, u32(5), det(c.name+"/rest", c.n))[:c.n]
		add(vec(c.name, "44 with a body length other than 23 and 31: 16 with the challenge answered, no random draw").
			io(e.request(), e.resp(stLength, true, nil)))
	}
	{
		name := "k44/L30-bad-den"
		e := newEx(name, 4, 44)
		e.payload = cat([]byte{9}, u32(5), det(name+"/rest", 7))
		add(vec(name, "44 with L = 30 and den 9: the length is checked first, 16").
			io(e.request(), e.resp(stLength, true, nil)))
	}
	{
		name := "k44/L0"
		e := newEx(name, 4, 44)
		h := e.h
		h.L = 0
		add(vec(name, "44 with L = 0: 36 EMPTY_REQUEST").
			io(h.bytes(), response(defRaida, stEmpty, 4, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "k44/L0-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 44)
		e.type1(2, 2, an)
		h := e.h
		h.L = 0
		add(vec(name, "44 type 1 with L = 0: 36, challenge answer zero").rec(2, 2, an, 45).
			io(h.bytes(), response(defRaida, stEmpty, 4, h.Nonce[6:8], nil, nil)))
	}
	return vs
}
