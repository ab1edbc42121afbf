package main

// k42Vectors: 42 Key Alert (no checks, 250, no payload).
func k42Vectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }
	{
		name := "k42/type0"
		e := newEx(name, 4, 42)
		add(vec(name, "42 type 0 with L = 18: 250, no payload").io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "k42/type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 42)
		e.type1(1, 7, an)
		add(vec(name, "42 type 1 with coin (1,7): 250, answer = challenge XOR AN").rec(1, 7, an, 44).
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "k42/payload-type0"
		e := newEx(name, 4, 42)
		e.payload = det(name+"/payload", 100)
		add(vec(name, "42 type 0 with a 100-byte payload: no checks, 250").io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "k42/payload-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 42)
		e.type1(-3, 42, an)
		e.payload = det(name+"/payload", 37)
		add(vec(name, "42 type 1 with a 37-byte payload: 250").rec(-3, 42, an, 44).
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "k42/L0-type0"
		e := newEx(name, 4, 42)
		h := e.h
		h.L = 0
		add(vec(name, "42 type 0 with L = 0: 250, challenge answer zero").
			io(h.bytes(), response(defRaida, stSuccess, 4, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "k42/L0-type1"
		an := det(name+"/an", 16)
		e := newEx(name, 4, 42)
		e.type1(0, 0, an)
		h := e.h
		h.L = 0
		add(vec(name, "42 type 1 with L = 0: 250, challenge answer zero").rec(0, 0, an, 45).
			io(h.bytes(), response(defRaida, stSuccess, 4, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "k42/bad-crc"
		e := newEx(name, 4, 42)
		e.challenge[0] ^= 0x80
		add(vec(name, "42 with a bad challenge CRC: 37 (the CRC is checked even though 42 has no checks)").
			io(e.request(), response(defRaida, stCRC, 4, e.h.Nonce[6:8], nil, nil)))
	}
	return vs
}
