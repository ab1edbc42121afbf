package main

// roundtripVectors: 44 answered by node A feeds a 45 record on node B.
//
// A's 44 encrypts its block under C's AN on A from A's initial counter
// block; B decrypts each 45 record from B's initial counter block. The
// round trip therefore only works when the client sends the 45 with the
// same nonce (header bytes 24-31) as the 44s.
func roundtripVectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	// node44 builds A's 44 (type 0) for recipient C and returns the vector
	// and the 16 payload bytes of A's response.
	node44 := func(name, desc string, a byte, nonce []byte, cDen int8, cSN uint32, cAN []byte, long bool) (*Vector, []byte, []byte) {
		e := newEx(name, 4, 44)
		e.h.Raida, e.node, e.h.Nonce = a, a, nonce
		v := vec(name, desc)
		v.Config.RaidaID = int(a)
		v.rec(cDen, cSN, cAN, 44)
		var k, r []byte
		if long {
			k, r = det(name+"/K", 8), det(name+"/R", 2)
			e.payload = cat([]byte{byte(cDen)}, u32(cSN), k)
			v.RandomHex = hx(r)
		} else {
			draw := det(name+"/draw", 10)
			k, r = draw[:8], draw[8:]
			e.payload = cat([]byte{byte(cDen)}, u32(cSN))
			v.RandomHex = hx(draw)
		}
		blk := ctr(cAN, nonce, 0, block44(k, byte(cDen), cSN, r, 0xff))
		resp := e.resp(stOK, true, blk)
		v.io(e.request(), resp)
		add(v)
		return v, resp[32:48], k
	}

	// ---- one 44 on RAIDA 3, its block posted as a 45 record on RAIDA 14
	{
		nonce := det("roundtrip/nonce-1", 8)
		cDen, cSN := int8(2), uint32(4242)
		anOnA := det("roundtrip/1/an-of-C-on-A", 16)
		_, encKey, k := node44("roundtrip/1-a-44", "round trip 1, node A (RAIDA 3): 44 (23-byte form) for coin C = (2,4242) under C's AN on A",
			3, nonce, cDen, cSN, anOnA, false)

		// B: RAIDA 14; the decryption coin file is C's own file, holding the
		// AN of C that A used at offset 40 + 16*3.
		name := "roundtrip/1-b-45"
		e := newEx(name, 4, 45)
		e.h.Nonce = nonce
		ans := coinANs(name)
		ans[3] = anOnA
		file := coinFile(name, defCoin, ans)
		rec := rec45{coinID: defCoin, split: 0, index: 3, shard: 0, den: byte(cDen), sn: cSN, key: encKey}
		e.payload = cat([]byte{byte(cDen)}, u32(cSN), rec.bytes())
		anOnB := det("roundtrip/1/an-of-C-on-B", 16)
		v := vec(name, "round trip 1, node B (RAIDA 14): 45 with the 16 payload bytes of A's 44 response as the key of record (C, index 3, split 0), same nonce as the 44: accepted, C's AN bytes 0-7 on B become A's K").
			rec(cDen, cSN, anOnB, 44).file(coinPath(byte(cDen), cSN), file)
		v.expRec(cDen, cSN, cat(k, anOnB[8:]), mfsAt(defTime))
		v.io(e.request(), e.resp(stSuccess, true, []byte{1}))
		add(v)
	}

	// ---- two 44s (RAIDA 7 short form, RAIDA 20 long form) for both halves
	// of coin C, posted in one type-1 45 on RAIDA 14 with a separate
	// decryption coin file D
	{
		nonce := det("roundtrip/nonce-2", 8)
		cDen, cSN := int8(-4), uint32(1000001)
		an7 := det("roundtrip/2/an-of-C-on-7", 16)
		an20 := det("roundtrip/2/an-of-C-on-20", 16)
		_, key7, k7 := node44("roundtrip/2-a-44-raida7", "round trip 2, node RAIDA 7: 44 (23-byte form) for coin C = (-4,1000001)",
			7, nonce, cDen, cSN, an7, false)
		_, key20, k20 := node44("roundtrip/2-a-44-raida20", "round trip 2, node RAIDA 20: 44 (31-byte form) for coin C",
			20, nonce, cDen, cSN, an20, true)

		name := "roundtrip/2-b-45-type1"
		e := newEx(name, 4, 45)
		e.h.Nonce = nonce
		encAN := det(name+"/enc-an", 16)
		e.type1(0, 10, encAN)
		ans := coinANs(name)
		ans[7], ans[20] = an7, an20
		dDen, dSN := byte(0), uint32(77)
		r1 := rec45{coinID: defCoin, split: 0, index: 7, shard: 1, den: byte(cDen), sn: cSN, key: key7}
		r2 := rec45{coinID: defCoin, split: 1, index: 20, shard: 1, den: byte(cDen), sn: cSN, key: key20}
		r3 := rec45{coinID: defCoin, split: 1, index: 7, shard: 1, den: byte(cDen), sn: cSN, key: key20} // wrong index for this key
		e.payload = cat([]byte{dDen}, u32(dSN), r1.bytes(), r2.bytes(), r3.bytes())
		v := vec(name, "round trip 2, node B (RAIDA 14), type 1: 45 with decryption coin file (0,77) holding C's ANs of RAIDA 7 and 20; records from both 44s set C's halves (accepted), the RAIDA 20 key claimed as index 7 is rejected").
			rec(0, 10, encAN, 45).file(coinPath(dDen, dSN), coinFile(name, defCoin, ans))
		v.expRec(cDen, cSN, cat(k7, k20), mfsAt(defTime))
		p := ctr(an7, nonce, 0, key20)
		if p[15] == 0xff && p[8] == byte(cDen) && string(p[9:13]) == string(u32(cSN)) {
			panic(name)
		}
		v.io(e.request(), e.resp(stSuccess, true, []byte{1, 1, 0}))
		add(v)
	}
	return vs
}
