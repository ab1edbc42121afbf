package main

// headerVectors: PROTOCOL.md section 1 steps 1-10 (header checks and their
// order) and section 2 (response header fields).
func headerVectors() []*Vector {
	var vs []*Vector

	// headerFail builds an echo request with a valid body, lets mutate break
	// the header, and expects status st with response group byte grp, no
	// challenge answer and no payload.
	headerFail := func(name, desc string, st, grp byte, mutate func(h *reqHeader)) *Vector {
		e := newEx(name, 0, 0)
		mutate(&e.h)
		req := e.request()
		resp := response(defRaida, st, grp, e.h.Nonce[6:8], nil, nil)
		v := vec(name, desc).io(req, resp)
		vs = append(vs, v)
		return v
	}

	// ---- step 1: fewer than 32 bytes, no answer
	{
		e := newEx("header/no-answer-31-bytes", 0, 0)
		req := e.request()[:31]
		vs = append(vs, vec("header/no-answer-31-bytes",
			"31 bytes (the first 31 bytes of an echo header): step 1, no answer at all").io(req, nil))
	}
	{
		vs = append(vs, vec("header/no-answer-1-byte",
			"a single byte 01: step 1, no answer at all").io([]byte{1}, nil))
	}
	{
		e := newEx("header/exactly-32-bytes", 0, 0)
		h := e.h
		h.L = 0
		req := h.bytes()
		resp := response(defRaida, stSuccess, 0, h.Nonce[6:8], nil, nil)
		vs = append(vs, vec("header/exactly-32-bytes",
			"exactly 32 bytes, echo with L = 0: answered (250, challenge answer zero)").io(req, resp))
	}

	// ---- step 2: routing byte
	headerFail("header/routing-0", "byte 0 = 0: 255 INVALID_ROUTING, response group byte 0, no challenge answer",
		stRouting, 0, func(h *reqHeader) { h.Route = 0 })
	headerFail("header/routing-2-on-44", "byte 0 = 2 on a group 4 request: 255, response group byte still 0 (step 5 not reached)",
		stRouting, 0, func(h *reqHeader) { h.Route = 2; h.Group = 4; h.Cmd = 44 })
	headerFail("header/routing-and-split", "byte 0 = 0 and byte 1 = 1 together: byte 0 is checked first, 255",
		stRouting, 0, func(h *reqHeader) { h.Route = 0; h.Split = 1 })
	headerFail("header/routing-all-bad", "every header field bad (routing ff, split, raida, shard, group, command, coin, encryption type): 255",
		stRouting, 0, func(h *reqHeader) {
			h.Route, h.Split, h.Raida, h.Shard, h.Group, h.Cmd, h.Coin, h.Enc = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xffff, 0xff
		})

	// ---- step 3: split byte
	headerFail("header/split-1", "byte 1 = 1: 2 INVALID_SPLIT_ID, group byte 0",
		stSplit, 0, func(h *reqHeader) { h.Split = 1 })
	headerFail("header/split-and-raida", "byte 1 = 5 and a wrong RAIDA id: split is checked first, 2",
		stSplit, 0, func(h *reqHeader) { h.Split = 5; h.Raida = 13; h.Group = 4; h.Cmd = 44 })

	// ---- step 4: RAIDA id
	headerFail("header/raida-13", "byte 2 = 13 on node 14: 3 INVALID_RAIDA_ID; response byte 0 is the node's id (14), group byte 0",
		stRaida, 0, func(h *reqHeader) { h.Raida = 13; h.Group = 4; h.Cmd = 41 })
	headerFail("header/raida-and-group", "wrong RAIDA id and group 200: RAIDA id is checked first, 3 with group byte 0",
		stRaida, 0, func(h *reqHeader) { h.Raida = 0; h.Group = 200 })
	headerFail("header/raida-and-shard", "wrong RAIDA id and shard 9: 3",
		stRaida, 0, func(h *reqHeader) { h.Raida = 25; h.Shard = 9 })

	// ---- step 5: group
	headerFail("header/group-16", "group 16: 5 INVALID_COMMAND_GROUP, response group byte 0",
		stGroup, 0, func(h *reqHeader) { h.Group = 16 })
	headerFail("header/group-255", "group 255: 5, response group byte 0",
		stGroup, 0, func(h *reqHeader) { h.Group = 255; h.Cmd = 44 })
	headerFail("header/group-16-shard-9", "group 16 and shard 9: group is checked before shard, 5 with response group byte 0",
		stGroup, 0, func(h *reqHeader) { h.Group = 16; h.Shard = 9 })

	// ---- step 6: shard
	headerFail("header/shard-9-group-4", "shard 9 on group 4 command 44: 4 INVALID_SHARD_ID with response group byte 4 (request byte 4)",
		stShard, 4, func(h *reqHeader) { h.Shard = 9; h.Group = 4; h.Cmd = 44 })
	headerFail("header/shard-4-group-7", "shard 4 on unknown group 7: shard is checked before the command, 4 with group byte 7",
		stShard, 7, func(h *reqHeader) { h.Shard = 4; h.Group = 7; h.Cmd = 3 })
	headerFail("header/shard-255-echo", "shard 255 on echo: 4 with group byte 0",
		stShard, 0, func(h *reqHeader) { h.Shard = 255 })
	headerFail("header/shard-9-and-coin", "shard 9 and a wrong coin id: 4 (shard before coin id)",
		stShard, 15, func(h *reqHeader) { h.Shard = 9; h.Group = 15; h.Coin = 7 })
	{
		name := "header/shard-3-echo"
		e := newEx(name, 0, 0)
		e.h.Shard = 3
		vs = append(vs, vec(name, "shard 3 (the largest valid shard) on echo: 250").
			io(e.request(), e.resp(stSuccess, true, nil)))
	}

	// ---- step 7: no handler
	headerFail("header/group-7", "unknown group 7: 6 INVALID_COMMAND with group byte 7",
		stCommand, 7, func(h *reqHeader) { h.Group = 7; h.Cmd = 0 })
	headerFail("header/group-15-cmd-0", "group 15 (largest valid group) command 0: no handler, 6 with group byte 15",
		stCommand, 15, func(h *reqHeader) { h.Group = 15 })
	headerFail("header/group-0-cmd-1", "group 0 command 1: no handler, 6 with group byte 0",
		stCommand, 0, func(h *reqHeader) { h.Cmd = 1 })
	headerFail("header/group-0-cmd-44", "group 0 command 44 (a group 4 command in the wrong group): 6",
		stCommand, 0, func(h *reqHeader) { h.Cmd = 44 })
	headerFail("header/group-4-cmd-40", "group 4 command 40: 6 with group byte 4",
		stCommand, 4, func(h *reqHeader) { h.Group = 4; h.Cmd = 40 })
	headerFail("header/group-4-cmd-46", "group 4 command 46: 6 with group byte 4",
		stCommand, 4, func(h *reqHeader) { h.Group = 4; h.Cmd = 46 })
	headerFail("header/group-4-cmd-0", "group 4 command 0: 6 (echo exists only in group 0)",
		stCommand, 4, func(h *reqHeader) { h.Group = 4; h.Cmd = 0 })
	headerFail("header/command-and-coin", "group 4 command 99 and a wrong coin id: command is checked first, 6",
		stCommand, 4, func(h *reqHeader) { h.Group = 4; h.Cmd = 99; h.Coin = 0 })

	// ---- step 8: coin id
	headerFail("header/coin-id-7", "coin id 7 on a coin-6 node, group 4 command 44: 7 INVALID_COIN_ID with group byte 4",
		stCoinID, 4, func(h *reqHeader) { h.Group = 4; h.Cmd = 44; h.Coin = 7 })
	headerFail("header/coin-id-byte-swapped", "coin id bytes 06 00 (little-endian 6): 7, the coin id is big-endian",
		stCoinID, 0, func(h *reqHeader) { h.Coin = 0x0600 })
	headerFail("header/coin-and-encryption", "wrong coin id and encryption type 3: coin id first, 7",
		stCoinID, 0, func(h *reqHeader) { h.Coin = 1; h.Enc = 3 })

	// ---- step 9: encryption type
	headerFail("header/encryption-2", "encryption type 2 (locker): no locker index, 34 INVALID_ENCRYPTION with group byte",
		stEncryption, 4, func(h *reqHeader) { h.Group = 4; h.Cmd = 42; h.Enc = 2 })
	headerFail("header/encryption-255", "encryption type 255: 27",
		stEncCode, 0, func(h *reqHeader) { h.Enc = 255 })
	{
		name := "header/encryption-and-truncated"
		e := newEx(name, 0, 0)
		e.h.Enc = 3
		req := e.request()
		req = req[:len(req)-3] // n < 32 + L as well
		vs = append(vs, vec(name, "encryption type 3 on a truncated packet: type is checked before the length, 27").
			io(req, response(defRaida, stEncCode, 0, e.h.Nonce[6:8], nil, nil)))
	}

	// ---- step 10: type-1 encryption coin must exist
	anyAN := det("header/type1-an", 16)
	badCoin := func(name, desc string, den int8, sn uint32) {
		e := newEx(name, 4, 42)
		e.type1(den, sn, anyAN)
		req := e.request()
		vs = append(vs, vec(name, desc).io(req, response(defRaida, stEncryption, 4, e.h.Nonce[6:8], nil, nil)))
	}
	badCoin("header/type1-den-7", "type 1, encryption coin den 7 (out of range): 34 INVALID_ENCRYPTION", 7, 5)
	badCoin("header/type1-den-minus-9", "type 1, encryption coin den -9 (byte f7): 34", -9, 5)
	badCoin("header/type1-den-minus-128", "type 1, encryption coin den -128 (byte 80): 34", -128, 5)
	badCoin("header/type1-sn-1024000", "type 1, encryption coin sn 1,024,000 (first invalid): 34", 1, 1024000)
	badCoin("header/type1-sn-ffffffff", "type 1, encryption coin sn 0xffffffff: 34", 1, 0xffffffff)
	{
		name := "header/type1-bad-coin-truncated"
		e := newEx(name, 4, 44)
		e.type1(1, 2000000, anyAN)
		e.payload = []byte{1, 0, 0, 0, 7}
		req := e.request()
		req = req[:40]
		vs = append(vs, vec(name, "type 1 with sn 2,000,000 on a truncated packet: the coin is checked before the length, 34").
			io(req, response(defRaida, stEncryption, 4, e.h.Nonce[6:8], nil, nil)))
	}
	{
		name := "header/type1-bad-coin-L0"
		e := newEx(name, 0, 0)
		e.type1(6, 1024000, anyAN)
		h := e.h
		h.L = 0
		vs = append(vs, vec(name, "type 1 echo with L = 0 and a nonexistent encryption coin: 34 (step 10 before step 12)").
			io(h.bytes(), response(defRaida, stEncryption, 0, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "header/type1-coin-minus8-1023999"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(-8, 1023999, an)
		vs = append(vs, vec(name, "type 1 echo with the boundary encryption coin den -8, sn 1,023,999: exists, 250").
			rec(-8, 1023999, an, 12).io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "header/type1-coin-6-0"
		an := det(name+"/an", 16)
		e := newEx(name, 0, 0)
		e.type1(6, 0, an)
		vs = append(vs, vec(name, "type 1 echo with encryption coin den 6, sn 0: exists, 250").
			rec(6, 0, an, 1).io(e.request(), e.resp(stSuccess, true, nil)))
	}

	// ---- node configuration and ignored fields
	{
		name := "header/config-raida-0-coin-1234"
		e := newEx(name, 0, 0)
		e.h.Raida, e.h.Coin, e.node = 0, 0x1234, 0
		v := vec(name, "node raida_id 0, coin_id 0x1234: echo answered 250 with response byte 0 = 0").
			io(e.request(), e.resp(stSuccess, true, nil))
		v.Config = Config{RaidaID: 0, CoinID: 0x1234}
		vs = append(vs, v)
	}
	{
		name := "header/config-raida-24-coin-ffff"
		e := newEx(name, 0, 0)
		e.h.Raida, e.h.Coin, e.node = 24, 0xffff, 24
		v := vec(name, "node raida_id 24, coin_id 0xffff: echo answered 250").
			io(e.request(), e.resp(stSuccess, true, nil))
		v.Config = Config{RaidaID: 24, CoinID: 0xffff}
		vs = append(vs, v)
	}
	{
		name := "header/config-raida-24-request-14"
		e := newEx(name, 0, 0)
		v := vec(name, "node raida_id 24 receiving a request for RAIDA 14: 3, response byte 0 = 24").
			io(e.request(), response(24, stRaida, 0, e.h.Nonce[6:8], nil, nil))
		v.Config = Config{RaidaID: 24, CoinID: defCoin}
		vs = append(vs, v)
	}
	{
		name := "header/config-coin-1234-request-6"
		e := newEx(name, 0, 0)
		v := vec(name, "node coin_id 0x1234 receiving coin id 6: 7").
			io(e.request(), response(defRaida, stCoinID, 0, e.h.Nonce[6:8], nil, nil))
		v.Config = Config{RaidaID: defRaida, CoinID: 0x1234}
		vs = append(vs, v)
	}
	{
		name := "header/reserved-bytes-ignored"
		e := newEx(name, 0, 0)
		copy(e.h.Reserved[:], det(name+"/reserved", 8))
		vs = append(vs, vec(name, "header bytes 8-15 nonzero: ignored, echo 250").
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	{
		name := "header/type0-coin-fields-ignored"
		e := newEx(name, 0, 0)
		e.h.EncDen, e.h.EncSN = 0x7f, 0xffffffff
		vs = append(vs, vec(name, "type 0 with encryption coin bytes 17-21 naming no record (den 127, sn 0xffffffff): ignored, echo 250").
			io(e.request(), e.resp(stSuccess, true, nil)))
	}
	return vs
}
