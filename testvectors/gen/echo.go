package main

// Facts sheet section 8: the database ANs of the observed exchanges.
const (
	factsAN15 = "820a3fc6f7d59a62c6d90384853adac9" // AN(1,5)
	factsAN17 = "87d76f0a20024ba1ebd077ddf979f682" // AN(1,7)
)

// echoVectors: group 0 command 0, including the two exchanges observed on
// the deployed node (RAIDA-FACTS.md section 8).
func echoVectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	{
		// Request and response bytes copied from the facts sheet.
		req := unhex("01000e0000000006" + "0000000000000000" + "0000000000000012" + "82d6ad8ff317aabb" +
			"000102030405060708090a0b9270c965" + "3e3e")
		resp := unhex("0e00fa000001aabb" + "00000000" + "00000000" + "000102030405060708090a0b9270c965")
		add(vec("echo/facts-type0",
			"observed exchange (facts section 8): type 0 echo on RAIDA 14 coin 6, challenge 000102..0b with CRC 9270c965").io(req, resp))
	}
	{
		// Header written field by field from the facts: type 1, coin (1,5),
		// nonce 1122334455667788, L = 18; body copied from the facts.
		h := reqHeader{Route: 1, Raida: 14, Group: 0, Cmd: 0, Coin: 6, Enc: 1, EncDen: 1, EncSN: 5, L: 18,
			Nonce: unhex("1122334455667788")}
		req := cat(h.bytes(), unhex("83a733f9293fd20c4163a0827fa07efe"), []byte{0x3e, 0x3e})
		resp := unhex("0e00fa0000017788" + "00000000" + "00000000" + "820b3dc5f3d09c65ced0098f174a13ac")
		add(vec("echo/facts-type1",
			"observed exchange (facts section 8): type 1 echo with coin (1,5), nonce 1122334455667788; the body decrypts with the initial block nonce||00*8 to challenge 000102..0b9270c965, answer = challenge XOR AN(1,5)").
			rec(1, 5, unhex(factsAN15), 45).rec(1, 7, unhex(factsAN17), 45).io(req, resp))
	}
	{
		name := "echo/type0"
		e := newEx(name, 0, 0)
		add(vec(name, "echo type 0: 250, challenge returned as received, no payload").io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/type1"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(2, 123456, an)
		add(vec(name, "echo type 1 with coin (2,123456): 250, answer = decrypted challenge XOR AN").
			rec(2, 123456, an, 30).io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/type1-zero-an"
		e := newEx(name, 0, 0)
		e.type1(0, 999, make([]byte, 16))
		add(vec(name, "echo type 1 with a coin absent from the state (AN all zero, MFS 0: it exists): 250, answer = challenge").
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/type1-nonce-ff"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(-8, 1, an)
		e.h.Nonce = unhex("ffffffffffffffff")
		add(vec(name, "echo type 1 with nonce ffffffffffffffff: initial block ff*8||00*8, 250; response bytes 6-7 ffff").
			rec(-8, 1, an, 45).io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/L0-type0"
		e := newEx(name, 0, 0)
		h := e.h
		h.L = 0
		add(vec(name, "echo type 0 with L = 0 and no body: 250, challenge answer zero").
			io(h.bytes(), response(defRaida, stSuccess, 0, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "echo/L0-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(4, 4, an)
		h := e.h
		h.L = 0
		add(vec(name, "echo type 1 with L = 0: 250, challenge answer zero (not AN)").rec(4, 4, an, 45).
			io(h.bytes(), response(defRaida, stSuccess, 0, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "echo/long-body-type0"
		e := newEx(name, 0, 0)
		e.payload = det(name+"/payload", 82)
		add(vec(name, "echo type 0 with L = 100 (82 payload bytes): ignored, 250, no payload").
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/long-body-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(5, 100, an)
		e.payload = det(name+"/payload", 45)
		add(vec(name, "echo type 1 with L = 63: 250, no payload").rec(5, 100, an, 45).
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/challenge-zero"
		e := newEx(name, 0, 0)
		e.challenge = cat(make([]byte, 12), crc(make([]byte, 12)))
		add(vec(name, "echo whose challenge is 12 zero bytes and their CRC: 250").
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "echo/shard-and-reserved"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(6, 1023999, an)
		e.h.Shard = 2
		copy(e.h.Reserved[:], []byte{1, 2, 3, 4, 5, 6, 7, 8})
		add(vec(name, "type 1 echo with shard 2 and reserved bytes set: 250").rec(6, 1023999, an, 200).
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	return vs
}
