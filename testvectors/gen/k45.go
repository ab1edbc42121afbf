package main

import "fmt"

// rec45 is one 26-byte record of 45 Decrypt RAIDA Key.
type rec45 struct {
	coinID uint16 // +0, not checked
	split  byte   // +2
	index  byte   // +3
	shard  byte   // +4, not checked
	den    byte   // +5
	sn     uint32 // +6
	key    []byte // +10, 16 bytes, encrypted
}

func (r rec45) bytes() []byte {
	b := make([]byte, 26)
	copy(b[0:2], u16(r.coinID))
	b[2] = r.split
	b[3] = r.index
	b[4] = r.shard
	b[5] = r.den
	copy(b[6:10], u32(r.sn))
	copy(b[10:26], r.key)
	return b
}

// coinFile writes a 440-byte encryption coin file: bytes 0-1 and 4-39
// filler, bytes 2-3 the coin id, bytes 40+16*i the AN of RAIDA i.
func coinFile(label string, coinID uint16, ans [][]byte) []byte {
	f := make([]byte, 440)
	copy(f, det(label+"/filler", 40))
	copy(f[2:4], u16(coinID))
	for i, an := range ans {
		copy(f[40+16*i:56+16*i], an)
	}
	return f
}

func coinANs(label string) [][]byte {
	ans := make([][]byte, 25)
	for i := range ans {
		ans[i] = det(fmt.Sprintf("%s/raida-an-%d", label, i), 16)
	}
	return ans
}

// d45 is a 45 request under construction: the decryption coin, its file,
// the records and the answer byte the builder expects for each.
type d45 struct {
	name    string
	v       *Vector
	e       *ex
	bk      *book
	coinDen byte
	coinSN  uint32
	ans     [][]byte // the 25 ANs of the decryption coin file
	recs    []rec45
	answers []byte
	mfs     int
	n       int // label counter
}

// newD45 starts a 45 with decryption coin (den, sn) whose 440-byte file is
// in the state.
func newD45(name, desc string, den byte, sn uint32) *d45 {
	d := &d45{name: name, v: vec(name, desc), e: newEx(name, 4, 45), bk: newBook(), coinDen: den, coinSN: sn}
	d.ans = coinANs(name)
	d.v.file(coinPath(den, sn), coinFile(name, defCoin, d.ans))
	d.mfs = mfsAt(d.v.TimeUnix)
	return d
}

func (d *d45) label() string { d.n++; return fmt.Sprintf("%s/rec-%d", d.name, d.n) }

func (d *d45) push(r rec45, answer byte) {
	d.recs = append(d.recs, r)
	d.answers = append(d.answers, answer)
}

// accept adds a well-formed record: block K || den || sn || R || FF
// encrypted with the file's AN for index; the record's half becomes K.
func (d *d45) accept(split, index byte, den int8, sn uint32) []byte {
	l := d.label()
	k := det(l+"/K", 8)
	blk := block44(k, byte(den), sn, det(l+"/R", 2), 0xff)
	d.push(rec45{coinID: defCoin, split: split, index: index, den: byte(den), sn: sn,
		key: ctr(d.ans[index], d.e.h.Nonce, 0, blk)}, 1)
	d.bk.setHalf(den, sn, int(split), k, d.mfs)
	return k
}

// acceptOdd is accept with arbitrary (unchecked) coin id and shard.
func (d *d45) acceptOdd(split, index byte, den int8, sn uint32, coinID uint16, shard byte) {
	d.accept(split, index, den, sn)
	d.recs[len(d.recs)-1].coinID = coinID
	d.recs[len(d.recs)-1].shard = shard
}

// reject adds a record that must be answered 0: fields as given, block
// den/sn/end as given, encrypted with the AN of encIndex (or random bytes
// when encIndex > 24).
func (d *d45) reject(split, index, den byte, sn uint32, bden byte, bsn uint32, end byte, encIndex byte) {
	l := d.label()
	blk := block44(det(l+"/K", 8), bden, bsn, det(l+"/R", 2), end)
	var key []byte
	if encIndex > 24 {
		key = det(l+"/garbage", 16)
	} else {
		key = ctr(d.ans[encIndex], d.e.h.Nonce, 0, blk)
	}
	if index <= 24 && split <= 1 && denValid(den) && snValid(sn) {
		// The builder relies on the key block itself being wrong: make sure.
		p := ctr(d.ans[index], d.e.h.Nonce, 0, key)
		if p[15] == 0xff && p[8] == den && string(p[9:13]) == string(u32(sn)) {
			panic(d.name + ": reject record would be accepted")
		}
	}
	d.push(rec45{coinID: defCoin, split: split, index: index, den: den, sn: sn, key: key}, 0)
}

func (d *d45) rejIndex(index byte, den int8, sn uint32) {
	d.reject(0, index, byte(den), sn, byte(den), sn, 0xff, 25)
}
func (d *d45) rejSplit(split, index byte, den int8, sn uint32) {
	d.reject(split, index, byte(den), sn, byte(den), sn, 0xff, index)
}
func (d *d45) rejDen(index, den byte, sn uint32) { d.reject(0, index, den, sn, den, sn, 0xff, index) }
func (d *d45) rejSN(index byte, den int8, sn uint32) {
	d.reject(1, index, byte(den), sn, byte(den), sn, 0xff, index)
}
func (d *d45) rejEnd(index byte, den int8, sn uint32, end byte) {
	d.reject(0, index, byte(den), sn, byte(den), sn, end, index)
}
func (d *d45) rejDenMismatch(index byte, den int8, sn uint32, bden int8) {
	d.reject(0, index, byte(den), sn, byte(bden), sn, 0xff, index)
}
func (d *d45) rejSNMismatch(index byte, den int8, sn uint32, bsn uint32) {
	d.reject(1, index, byte(den), sn, byte(den), bsn, 0xff, index)
}
func (d *d45) rejWrongAN(index byte, den int8, sn uint32) {
	d.reject(0, index, byte(den), sn, byte(den), sn, 0xff, (index+1)%25)
}

// payload is den || sn || records.
func (d *d45) payload() []byte {
	p := cat([]byte{d.coinDen}, u32(d.coinSN))
	for _, r := range d.recs {
		p = append(p, r.bytes()...)
	}
	return p
}

// done finishes an accepted 45: status 250, one answer byte per record.
func (d *d45) done() *Vector {
	d.e.payload = d.payload()
	d.v.io(d.e.request(), d.e.resp(stSuccess, true, d.answers))
	d.bk.expect(d.v)
	return d.v
}

// fail finishes a 45 that fails with st (challenge answered, no change).
func (d *d45) fail(st byte) *Vector {
	d.e.payload = d.payload()
	d.v.io(d.e.request(), d.e.resp(st, true, nil))
	d.v.Expect.Records = nil
	return d.v
}

// k45Vectors: 45 Decrypt RAIDA Key.
func k45Vectors() []*Vector {
	var vs []*Vector
	add := func(v *Vector) { vs = append(vs, v) }

	{
		d := newD45("k45/single-split0", "45 type 0, one record, split 0, index 0: accepted, AN bytes 0-7 replaced, MFS 45", 1, 5000)
		d.bk.add(d.v, 2, 200, det("k45/single-split0/old", 16), 20)
		d.accept(0, 0, 2, 200)
		add(d.done())
	}
	{
		d := newD45("k45/single-split1", "45 type 0, one record, split 1, index 14: AN bytes 8-15 replaced of a record absent from the state", 2, 77)
		d.accept(1, 14, 0, 1)
		add(d.done())
	}
	{
		d := newD45("k45/single-index24", "45 record index 24 (the last AN, file offset 424): accepted", 1, 5001)
		d.accept(0, 24, 3, 12345)
		add(d.done())
	}
	{
		d := newD45("k45/single-index1", "45 record index 1: AN at file offset 56 (40 + 16*index, not 40 + index)", 1, 5002)
		d.accept(1, 1, 3, 12346)
		add(d.done())
	}
	{
		name := "k45/type1"
		d := newD45(name, "45 type 1 with two records: body decrypted with the coin AN, answer bytes encrypted from initial block + ceil((L-2)/16) = +5", 1, 5003)
		an := det(name+"/an", 16)
		d.e.type1(4, 4000, an)
		d.bk.add(d.v, 4, 4000, an, 45)
		d.accept(0, 3, -1, 500)
		d.rejSplit(2, 3, -1, 500)
		add(d.done())
	}
	{
		name := "k45/type1-20-records"
		d := newD45(name, "45 type 1 with 20 records (answer payload 20 bytes, two keystream blocks)", 0, 1)
		an := det(name+"/an", 16)
		d.e.type1(-8, 8, an)
		d.bk.add(d.v, -8, 8, an, 45)
		for i := 0; i < 20; i++ {
			if i%3 == 2 {
				d.rejEnd(byte(i), 5, uint32(1000+i), 0xfe)
			} else {
				d.accept(byte(i%2), byte(i), 5, uint32(1000+i))
			}
		}
		add(d.done())
	}
	{
		name := "k45/mixed"
		d := newD45(name, "45 with 15 records: accepted; index 25; split 2; den 7; sn 1,024,000; end byte FE; den mismatch; sn mismatch; accepted twice on one coin and half (later wins); other half of the first coin; key under the wrong AN; coin id/shard unchecked; boundary coin; rejected record on a stored coin", 1, 5004)
		oldA := det(name+"/oldA", 16)
		oldC := det(name+"/oldC", 16)
		d.bk.add(d.v, 1, 100, oldA, 10)
		d.bk.add(d.v, 5, 300, oldC, 30)
		d.accept(0, 0, 1, 100)                 // 1
		d.rejIndex(25, 1, 100)                 // 0
		d.rejSplit(2, 2, 1, 100)               // 0
		d.rejDen(3, 7, 100)                    // 0
		d.rejSN(4, 1, 1024000)                 // 0
		d.rejEnd(5, 1, 100, 0xfe)              // 0
		d.rejDenMismatch(6, 1, 100, 2)         // 0
		d.rejSNMismatch(7, 1, 100, 101)        // 0
		d.accept(0, 24, 2, 200)                // 1
		d.accept(0, 7, 2, 200)                 // 1, later wins
		d.accept(1, 8, 1, 100)                 // 1, other half of (1,100)
		d.rejWrongAN(5, 1, 100)                // 0
		d.acceptOdd(1, 9, 3, 300, 0xbeef, 200) // 1
		d.accept(1, 10, -8, 1023999)           // 1
		d.rejSplit(3, 11, 5, 300)              // 0, (5,300) unchanged
		add(d.done())
	}
	{
		name := "k45/large-100"
		d := newD45(name, "45 with 100 records cycling through 12 kinds (accepted split 0/1, index 25..255, split >= 2, den out of range, sn out of range, end byte, den mismatch, sn mismatch, wrong AN, accepted again on the same coin and half, accepted with odd coin id/shard)", 3, 3)
		type ck struct {
			den int8
			sn  uint32
		}
		pool := make([]ck, 20)
		for i := range pool {
			pool[i] = ck{int8(i%15) - 8, detSN(fmt.Sprintf("%s/pool-%d", name, i))}
			if i%2 == 0 {
				d.bk.add(d.v, pool[i].den, pool[i].sn, det(fmt.Sprintf("%s/pool-an-%d", name, i), 16), 20+i)
			}
		}
		badDen := []byte{7, 8, 0x7f, 0xf7, 0x80}
		badSN := []uint32{1024000, 1024001, 0xffffffff, 1 << 26, 2000000}
		ends := []byte{0xfe, 0x00, 0x7f, 0xef}
		for i := 0; i < 100; i++ {
			c := pool[i%20]
			idx := byte(i % 25)
			switch i % 12 {
			case 0:
				d.accept(0, idx, c.den, c.sn)
			case 1:
				p := pool[(i-1)%20] // other half of the previous record's coin
				d.accept(1, idx, p.den, p.sn)
			case 2:
				d.rejIndex(byte(25+(i*7)%231), c.den, c.sn)
			case 3:
				d.rejSplit(byte(2+(i*5)%254), idx, c.den, c.sn)
			case 4:
				d.rejDen(idx, badDen[(i/12)%len(badDen)], c.sn)
			case 5:
				d.rejSN(idx, c.den, badSN[(i/12)%len(badSN)])
			case 6:
				d.rejEnd(idx, c.den, c.sn, ends[(i/12)%len(ends)])
			case 7:
				bd := c.den + 1
				if bd > 6 {
					bd = -8
				}
				d.rejDenMismatch(idx, c.den, c.sn, bd)
			case 8:
				d.rejSNMismatch(idx, c.den, c.sn, c.sn^(1<<(8*uint((i/12)%4))))
			case 9:
				d.rejWrongAN(idx, c.den, c.sn)
			case 10:
				p := pool[(i-10)%20] // same coin and half as record i-10
				d.accept(0, idx, p.den, p.sn)
			case 11:
				d.acceptOdd(byte(i%2), idx, c.den, c.sn, uint16(i*1000), byte(i))
			}
		}
		add(d.done())
	}
	{
		name := "k45/type1-changes-encryption-coin"
		d := newD45(name, "45 type 1 whose records replace both halves of the encryption coin's own AN: the response is still encrypted with, and the challenge answered with, the old AN", 1, 5)
		old := unhex(factsAN15)
		d.e.type1(1, 5, old)
		d.bk.add(d.v, 1, 5, old, 45)
		d.accept(0, 14, 1, 5)
		d.accept(1, 2, 1, 5)
		d.accept(0, 3, 1, 7)
		add(d.done())
	}
	{
		d := newD45("k45/all-rejected", "45 whose three records are all rejected: 250, answers 00 00 00, no record changed", 1, 5005)
		d.bk.add(d.v, 2, 2, det("k45/all-rejected/old", 16), 9)
		d.rejEnd(0, 2, 2, 0x00)
		d.rejWrongAN(1, 2, 2)
		d.rejIndex(0xff, 2, 2)
		add(d.done())
	}
	{
		d := newD45("k45/trailing-record-ignored", "45 with L = 49 followed by a second well-formed record after the body: ignored, one answer byte", 1, 5006)
		d.accept(0, 5, 4, 44)
		extra := rec45{coinID: defCoin, split: 1, index: 5, den: 4, sn: 44,
			key: ctr(d.ans[5], d.e.h.Nonce, 0, block44(det("k45/trailing-record-ignored/K2", 8), 4, 44, []byte{0, 0}, 0xff))}
		v := d.done()
		v.RequestHex += hx(extra.bytes())
		add(v)
	}

	// ---- decryption coin file name and content
	{
		d := newD45("k45/coin-den-f8", "decryption coin den -8: file coins/f8.<sn>.bin (den as an unsigned byte)", 0xf8, 42)
		d.accept(0, 0, 0, 42)
		add(d.done())
	}
	{
		d := newD45("k45/coin-den-7f", "decryption coin den 127 (no such record): the file coins/7f.5.bin is used anyway", 0x7f, 5)
		d.accept(0, 0, 1, 2)
		add(d.done())
	}
	{
		d := newD45("k45/coin-sn-0", "decryption coin sn 0: coins/01.0.bin", 1, 0)
		d.accept(1, 12, 1, 3)
		add(d.done())
	}
	{
		d := newD45("k45/coin-sn-ffffffff", "decryption coin sn 0xffffffff: coins/01.4294967295.bin (unsigned decimal)", 1, 0xffffffff)
		d.accept(1, 12, 1, 4)
		add(d.done())
	}
	{
		name := "k45/coin-id-config-1234"
		d := newD45(name, "node coin_id 0x1234 and a coin file with bytes 2-3 = 12 34: accepted", 1, 5007)
		d.v.Config.CoinID = 0x1234
		d.e.h.Coin = 0x1234
		d.v.file(coinPath(1, 5007), coinFile(name, 0x1234, d.ans))
		d.accept(0, 3, 1, 9)
		add(d.done())
	}
	coinFail := func(name, desc string, files map[string][]byte, typ1 bool) {
		d := newD45(name, desc, 1, 5008)
		delete(d.v.State.Files, coinPath(1, 5008))
		for p, c := range files {
			d.v.file(p, c)
		}
		if typ1 {
			an := det(name+"/an", 16)
			d.e.type1(1, 6, an)
			d.v.rec(1, 6, an, 45)
		}
		d.accept(0, 0, 1, 10) // would be accepted with a good file
		add(d.fail(stCoinLoad))
	}
	good := coinFile("k45/coin-file", defCoin, coinANs("k45/coin-file"))
	coinFail("k45/coin-missing", "45 whose decryption coin file is missing: 197 COIN_LOAD, challenge answered, no record changed", nil, false)
	coinFail("k45/coin-missing-type1", "45 type 1 with the decryption coin file missing: 197", nil, true)
	coinFail("k45/coin-439-bytes", "decryption coin file of 439 bytes: 197", map[string][]byte{coinPath(1, 5008): good[:439]}, false)
	coinFail("k45/coin-441-bytes", "decryption coin file of 441 bytes: 197", map[string][]byte{coinPath(1, 5008): cat(good, []byte{0})}, false)
	coinFail("k45/coin-0-bytes", "empty decryption coin file: 197", map[string][]byte{coinPath(1, 5008): {}}, false)
	coinFail("k45/coin-wrong-id", "decryption coin file with coin id 7 on a coin-6 node: 197",
		map[string][]byte{coinPath(1, 5008): coinFile("k45/coin-file", 7, coinANs("k45/coin-file"))}, false)
	coinFail("k45/coin-id-swapped", "decryption coin file with bytes 2-3 = 06 00: 197 (big-endian)",
		map[string][]byte{coinPath(1, 5008): coinFile("k45/coin-file", 0x0600, coinANs("k45/coin-file"))}, false)
	coinFail("k45/coin-other-sn", "only the coin file of (1,5080) exists, the request names (1,5008): 197",
		map[string][]byte{coinPath(1, 5080): good}, false)

	// ---- lengths
	lenFail := func(name, desc string, nrec, extra int, st byte, withFile bool) {
		d := newD45(name, desc, 1, 5009)
		if !withFile {
			delete(d.v.State.Files, coinPath(1, 5009))
		}
		for i := 0; i < nrec; i++ {
			d.accept(0, byte(i), 1, uint32(20+i))
		}
		d.e.payload = cat(d.payload(), det(name+"/extra", extra))
		d.v.io(d.e.request(), d.e.resp(st, true, nil))
		d.v.Expect.Records = nil
		add(d.v)
	}
	lenFail("k45/L23", "45 with L = 23 (decryption coin, no record): 16", 0, 0, stLength, true)
	lenFail("k45/L48", "45 with L = 48: 16", 0, 25, stLength, true)
	lenFail("k45/L36", "45 with L = 36: 16", 0, 13, stLength, true)
	lenFail("k45/L48-missing-coin", "45 with L = 48 and no coin file: the length is checked first, 16", 0, 25, stLength, false)
	lenFail("k45/L50", "45 with L = 50: (50 - 23) % 26 != 0, 39 COINS_NOT_DIV", 1, 1, stNotDiv, true)
	lenFail("k45/L74", "45 with L = 74: 39", 1, 25, stNotDiv, true)
	lenFail("k45/L50-missing-coin", "45 with L = 50 and no coin file: 39 before 197", 1, 1, stNotDiv, false)
	{
		name := "k45/L0"
		e := newEx(name, 4, 45)
		h := e.h
		h.L = 0
		add(vec(name, "45 with L = 0: 16 (not 36), challenge answer zero").
			io(h.bytes(), response(defRaida, stLength, 4, h.Nonce[6:8], nil, nil)))
	}
	{
		name := "k45/L1"
		e := newEx(name, 4, 45)
		h := e.h
		h.L = 1
		add(vec(name, "45 with L = 1: 16").
			io(cat(h.bytes(), []byte{0x3e}), response(defRaida, stLength, 4, h.Nonce[6:8], nil, nil)))
	}

	// ---- MFS of accepted records at other times
	mfs := func(name, when string, want int) {
		t := utc(when)
		if mfsAt(t) != want {
			panic(fmt.Sprintf("%s: MFS %d, want %d", name, mfsAt(t), want))
		}
		d := newD45(name, fmt.Sprintf("45 accepted at %s UTC (time_unix %d): MFS ((year-2023)*12 + month-2) mod 256 = %d", when, t, want), 1, 5010)
		d.v.TimeUnix = t
		d.mfs = want
		d.bk.add(d.v, 2, 5, det(name+"/old", 16), 45)
		d.accept(0, 0, 2, 5)
		add(d.done())
	}
	mfs("k45/mfs-2027-01", "2027-01-15T12:00:00Z", 47)
	mfs("k45/mfs-2027-01-31-utc", "2027-01-31T23:59:59Z", 47)
	mfs("k45/mfs-2026-12-31-utc", "2026-12-31T23:30:00Z", 46)
	mfs("k45/mfs-2023-01", "2023-01-20T00:00:00Z", 255)
	mfs("k45/mfs-2023-02", "2023-02-01T00:00:00Z", 0)
	mfs("k45/mfs-2023-12", "2023-12-31T23:59:59Z", 10)
	mfs("k45/mfs-2045-03", "2045-03-10T00:00:00Z", 9)
	return vs
}
