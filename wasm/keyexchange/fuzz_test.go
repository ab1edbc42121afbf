package keyexchange

// FuzzHandle runs arbitrary request packets through the native Handler
// with an in-memory Host and checks every answer against the response
// rules of docs/PROTOCOL.md section 2 and a small reference model of
// sections 1 and 4 written from that page alone (not from this package's
// code). Seeds are the request_hex of every vector in testvectors/ (read
// at fuzz start) plus the files in testdata/fuzz/FuzzHandle.
//
//	go test -run='^$' -fuzz=FuzzHandle -fuzztime=60s ./wasm/keyexchange/

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// The node every fuzz input is sent to, and the host's clock (2026-11,
// MFS 45). Vectors written for another config are still good seeds: they
// exercise the 3 and 7 answers.
var fuzzConfig = abi.Config{RaidaID: 14, CoinID: 6}

const fuzzTimeNanos = int64(1795000000) * 1e9

type fuzzKey struct {
	den int8
	sn  uint32
}

// fuzzState is the state every input starts from. It is built once and
// never modified: a fuzzHost writes to its own overlay.
type fuzzState struct {
	records map[fuzzKey][abi.RecordSize]byte
	files   map[string][]byte // "coins/NAME", "Keys/NAME"
	random  []byte            // the random bytes a host serves, in order
	seeds   [][]byte          // request_hex of every vector
}

// fuzzVector is the part of a test vector (testvectors/README.md) the
// fuzz harness reads. The package testvectors/replay has the full loader;
// this one keeps the tests of this package free of the host packages.
type fuzzVector struct {
	Name   string `json:"name"`
	Config struct {
		RaidaID int `json:"raida_id"`
		CoinID  int `json:"coin_id"`
	} `json:"config"`
	TimeUnix   int64  `json:"time_unix"`
	RequestHex string `json:"request_hex"`
	State      struct {
		Records []struct {
			Den int    `json:"den"`
			SN  uint32 `json:"sn"`
			AN  string `json:"an"`
			MFS int    `json:"mfs"`
		} `json:"records"`
		Files map[string]string `json:"files"`
	} `json:"state"`
}

// loadFuzzVectors reads every testvectors/*.json, in name order.
func loadFuzzVectors() ([]fuzzVector, error) {
	names, err := filepath.Glob("../../testvectors/*.json")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no vector files in ../../testvectors")
	}
	slices.Sort(names)
	var out []fuzzVector
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var file struct {
			Vectors []fuzzVector `json:"vectors"`
		}
		if err := json.Unmarshal(data, &file); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, file.Vectors...)
	}
	return out, nil
}

var loadFuzzState = sync.OnceValues(func() (*fuzzState, error) {
	vectors, err := loadFuzzVectors()
	if err != nil {
		return nil, err
	}
	s := &fuzzState{records: map[fuzzKey][abi.RecordSize]byte{}, files: map[string][]byte{}}
	// The union of every vector's state; where two vectors give the same
	// record or file different contents, the first (in file name order)
	// wins, so a few type-1 vectors fail their CRC here. That is fine for
	// seeds: the vectors themselves are checked by testvectors/replay.
	for _, v := range vectors {
		req, err := hex.DecodeString(v.RequestHex)
		if err != nil {
			return nil, fmt.Errorf("%s: request_hex: %w", v.Name, err)
		}
		s.seeds = append(s.seeds, req)
		for _, r := range v.State.Records {
			an, err := hex.DecodeString(r.AN)
			if err != nil || len(an) != 16 || !abi.RecordExists(int8(r.Den), r.SN) || r.Den != int(int8(r.Den)) {
				return nil, fmt.Errorf("%s: bad record %+v", v.Name, r)
			}
			k := fuzzKey{int8(r.Den), r.SN}
			if _, ok := s.records[k]; !ok {
				var rec [abi.RecordSize]byte
				copy(rec[:], an)
				rec[16] = byte(r.MFS)
				s.records[k] = rec
			}
		}
		for name, h := range v.State.Files {
			data, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("%s: file %s: %w", v.Name, name, err)
			}
			if _, ok := s.files[name]; !ok {
				s.files[name] = data
			}
		}
	}
	// A good coin file and key file of our own, in case the vectors change.
	coin := make([]byte, 440)
	binary.BigEndian.PutUint16(coin[2:], fuzzConfig.CoinID)
	for i := range 25 {
		copy(coin[40+16*i:], bytes.Repeat([]byte{0xa0 + byte(i)}, 16))
	}
	addFile := func(name string, data []byte) {
		if _, ok := s.files[name]; !ok {
			s.files[name] = data
		}
	}
	addFile("coins/01.1.bin", coin)
	addFile("Keys/ffffffffffffffffffffffffffffffff", bytes.Repeat([]byte("key-file"), 80)) // 640 bytes
	if _, ok := s.records[fuzzKey{1, 1}]; !ok {
		s.records[fuzzKey{1, 1}] = [abi.RecordSize]byte{0: 0x11, 15: 0x11, 16: 3}
	}
	s.random = make([]byte, 1024)
	for i := range s.random {
		s.random[i] = byte(i*167 + 13)
	}
	return s, nil
})

// fuzzHost is a Host over a fuzzState. It fails the test on any lock
// misuse (a bug in the handler: the real host traps) and records what the
// handler wrote and drew.
type fuzzHost struct {
	stdCrypto
	t       *testing.T
	base    *fuzzState
	records map[fuzzKey][abi.RecordSize]byte // written by this request
	files   map[string][]byte                // written by this request
	drawn   int                              // random bytes served
	now     int64
	locked  bool
	held    fuzzKey // den and page
}

func newFuzzHost(t *testing.T, base *fuzzState) *fuzzHost {
	return &fuzzHost{t: t, base: base, records: map[fuzzKey][abi.RecordSize]byte{}, files: map[string][]byte{}, now: fuzzTimeNanos}
}

func (h *fuzzHost) Random(dst []byte) abi.Errno {
	if h.drawn+len(dst) > len(h.base.random) {
		return abi.ErrNoRandom
	}
	h.drawn += copy(dst, h.base.random[h.drawn:])
	return abi.OK
}

func (h *fuzzHost) PageLock(den int8, page uint32) abi.Errno {
	if h.locked {
		h.t.Fatalf("page_lock(%d, %d) while holding (%d, %d)", den, page, h.held.den, h.held.sn)
	}
	if page >= abi.SNLimit/abi.RecordsPerPage || !abi.RecordExists(den, 0) {
		return abi.ErrNoRecord
	}
	h.locked, h.held = true, fuzzKey{den, page}
	return abi.OK
}

func (h *fuzzHost) PageUnlock(den int8, page uint32) abi.Errno {
	if !h.locked || h.held != (fuzzKey{den, page}) {
		h.t.Fatalf("page_unlock(%d, %d) of a page not held (locked %v, held %v)", den, page, h.locked, h.held)
	}
	h.locked = false
	return abi.OK
}

func (h *fuzzHost) checkHeld(what string, den int8, sn uint32) {
	if !h.locked || h.held != (fuzzKey{den, sn / abi.RecordsPerPage}) {
		h.t.Fatalf("%s(%d, %d) without its page lock (locked %v, held %v)", what, den, sn, h.locked, h.held)
	}
}

func (h *fuzzHost) record(k fuzzKey) [abi.RecordSize]byte {
	if r, ok := h.records[k]; ok {
		return r
	}
	return h.base.records[k]
}

// RecordRead follows ABI version 2: holding no lock, the read locks the
// record's page itself.
func (h *fuzzHost) RecordRead(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	if !h.locked {
		if !abi.RecordExists(den, sn) {
			return abi.ErrNoRecord
		}
	} else {
		h.checkHeld("record_read", den, sn)
	}
	*rec = h.record(fuzzKey{den, sn})
	return abi.OK
}

func (h *fuzzHost) RecordWrite(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	h.checkHeld("record_write", den, sn)
	h.records[fuzzKey{den, sn}] = *rec
	return abi.OK
}

func (h *fuzzHost) file(name string) ([]byte, bool) {
	if d, ok := h.files[name]; ok {
		return d, true
	}
	d, ok := h.base.files[name]
	return d, ok
}

func (h *fuzzHost) FileRead(dir abi.Dir, name, dst []byte) (int, abi.Errno) {
	if dir != abi.DirCoins && dir != abi.DirKeys {
		h.t.Fatalf("file_read of folder %d", dir)
	}
	if !abi.ValidFileName(name) {
		return 0, abi.ErrBadName
	}
	d, ok := h.file(dir.String() + "/" + string(name))
	if !ok {
		return 0, abi.ErrNotFound
	}
	return copy(dst, d), abi.OK
}

func (h *fuzzHost) FileWrite(dir abi.Dir, name, data []byte) abi.Errno {
	switch {
	case dir != abi.DirCoins && dir != abi.DirKeys:
		h.t.Fatalf("file_write of folder %d", dir)
	case dir != abi.DirKeys:
		return abi.ErrDenied
	case !abi.ValidFileName(name):
		return abi.ErrBadName
	case len(data) > abi.MaxFileWrite:
		return abi.ErrTooLarge
	}
	h.files[dir.String()+"/"+string(name)] = bytes.Clone(data)
	return abi.OK
}

// TimeNow advances 1.5 us a call, so the execution time field is not
// always 0.
func (h *fuzzHost) TimeNow() int64 {
	h.now += 1500
	return h.now - 1500
}

func (h *fuzzHost) Log(abi.LogLevel, []byte) {}

// fuzzCTR XORs src with the AES-128-CTR keystream of key whose counter
// starts at iv plus blocks, the way docs/PROTOCOL.md section 3 defines it:
// by running crypto/cipher's CTR over the skipped blocks.
func fuzzCTR(key []byte, iv [16]byte, blocks int, src []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 16*blocks+len(src))
	copy(buf[16*blocks:], src)
	cipher.NewCTR(b, iv[:]).XORKeyStream(buf, buf)
	return buf[16*blocks:]
}

var (
	fuzzTrailer   = []byte{0x3e, 0x3e}
	fuzzGroupZero = map[abi.Status]bool{abi.StatusInvalidRouting: true, abi.StatusInvalidSplitID: true, abi.StatusInvalidRaidaID: true, abi.StatusInvalidCommandGroup: true}
)

// fuzzExpect is what the reference model predicts for a request.
type fuzzExpect struct {
	status      abi.Status
	challenge   []byte                           // the challenge answer: nil for 16 zero bytes
	payload     []byte                           // plaintext payload; nil for none
	records     map[fuzzKey][abi.RecordSize]byte // every record whose value the request changes
	mayWrite    map[fuzzKey]bool                 // records the request may write (45's accepted ones)
	files       map[string][]byte                // every file the request changes
	randomBytes int                              // random bytes drawn
}

// fuzzModel applies docs/PROTOCOL.md to req over state s.
func fuzzModel(s *fuzzState, req []byte) fuzzExpect {
	e := fuzzExpect{records: map[fuzzKey][abi.RecordSize]byte{}, mayWrite: map[fuzzKey]bool{}, files: map[string][]byte{}}
	fail := func(st abi.Status) fuzzExpect { e.status = st; return e }
	group, cmd := req[4], req[5]
	switch {
	case req[0] != 1:
		return fail(255)
	case req[1] != 0:
		return fail(2)
	case req[2] != fuzzConfig.RaidaID:
		return fail(3)
	case group > 15:
		return fail(5)
	case req[3] > 3:
		return fail(4)
	case !(group == 0 && cmd == 0) && !(group == 4 && cmd >= 41 && cmd <= 45):
		return fail(6)
	case binary.BigEndian.Uint16(req[6:8]) != fuzzConfig.CoinID:
		return fail(7)
	case req[16] > 1:
		return fail(27)
	}
	typ := req[16]
	var an []byte
	if typ == 1 {
		den, sn := int8(req[17]), binary.BigEndian.Uint32(req[18:22])
		if !abi.RecordExists(den, sn) {
			return fail(34)
		}
		rec := s.records[fuzzKey{den, sn}]
		an = rec[:16]
	}
	L := int(binary.BigEndian.Uint16(req[22:24]))
	switch {
	case len(req) < 32+L:
		return fail(16)
	case L == 0 && (cmd == 0 || cmd == 42):
		return fail(250)
	case L == 0 && cmd == 45:
		return fail(16)
	case L == 0:
		return fail(36)
	case L == 1:
		return fail(16)
	}
	raw := req[32 : 32+L]
	if !bytes.Equal(raw[L-2:], fuzzTrailer) {
		return fail(33)
	}
	var iv [16]byte
	copy(iv[:8], req[24:32])
	body := raw[:L-2]
	if typ == 1 {
		body = fuzzCTR(an, iv, 0, body)
	}
	if L < 18 {
		return fail(16)
	}
	if crc32.ChecksumIEEE(body[:12]) != binary.BigEndian.Uint32(body[12:16]) {
		return fail(37)
	}
	e.challenge = bytes.Clone(body[:16])
	if typ == 1 {
		for i := range e.challenge {
			e.challenge[i] ^= an[i]
		}
	}
	p := body[16:]
	switch cmd {
	case 0, 42:
		return fail(250)
	case 44:
		if L != 23 && L != 31 {
			return fail(16)
		}
		den, sn := int8(p[0]), binary.BigEndian.Uint32(p[1:5])
		if !abi.RecordExists(den, sn) {
			return fail(40)
		}
		block := make([]byte, 16)
		if L == 23 {
			e.randomBytes = 10
			copy(block[0:8], s.random[0:8])
			copy(block[13:15], s.random[8:10])
		} else {
			e.randomBytes = 2
			copy(block[0:8], p[5:13])
			copy(block[13:15], s.random[0:2])
		}
		block[8] = p[0]
		copy(block[9:13], p[1:5])
		block[15] = 0xff
		rec := s.records[fuzzKey{den, sn}]
		e.payload = fuzzCTR(rec[:16], iv, 0, block)
		return fail(0)
	case 45:
		if L < 49 {
			return fail(16)
		}
		if (L-23)%26 != 0 {
			return fail(39)
		}
		coin, ok := s.files[fmt.Sprintf("coins/%02x.%d.bin", p[0], binary.BigEndian.Uint32(p[1:5]))]
		if !ok || len(coin) != 440 || binary.BigEndian.Uint16(coin[2:4]) != fuzzConfig.CoinID {
			return fail(197)
		}
		t := time.Unix(0, fuzzTimeNanos).UTC()
		mfs := byte(((t.Year()-2023)*12 + int(t.Month()) - 2) % 256)
		n := (L - 23) / 26
		e.payload = make([]byte, n)
		cur := map[fuzzKey][abi.RecordSize]byte{}
		for i := range n {
			r := p[5+26*i : 5+26*(i+1)]
			split, index, den, sn := r[2], r[3], int8(r[5]), binary.BigEndian.Uint32(r[6:10])
			if index > 24 || split > 1 || !abi.RecordExists(den, sn) {
				continue
			}
			key := fuzzCTR(coin[40+16*int(index):56+16*int(index)], iv, 0, r[10:26])
			if key[15] != 0xff || key[8] != r[5] || !bytes.Equal(key[9:13], r[6:10]) {
				continue
			}
			e.payload[i] = 1
			k := fuzzKey{den, sn}
			e.mayWrite[k] = true
			rec, ok := cur[k]
			if !ok {
				rec = s.records[k]
			}
			copy(rec[8*int(split):8*int(split)+8], key[:8])
			rec[16] = mfs
			cur[k] = rec
		}
		for k, rec := range cur {
			if rec != s.records[k] {
				e.records[k] = rec
			}
		}
		return fail(250)
	case 41:
		if L != 185 {
			return fail(16)
		}
		ks, kl := int(p[165]), int(p[166])
		if ks+kl > 127 {
			return fail(196)
		}
		data := append(append([]byte{p[32]}, p[33:37]...), p[37+ks:37+ks+kl]...)
		name := "Keys/" + hex.EncodeToString(p[:16])
		if old, ok := s.files[name]; !ok || !bytes.Equal(old, data) {
			e.files[name] = data
		}
		return fail(250)
	case 43:
		if L != 55 {
			return fail(16)
		}
		data, ok := s.files["Keys/"+hex.EncodeToString(p[:16])]
		if !ok {
			return fail(194)
		}
		if len(data) > 0 {
			e.payload = bytes.Clone(data[:min(len(data), 512)])
		}
		return fail(250)
	}
	panic("unreachable")
}

// fuzzCheck asserts the invariants of one answered request. It
// returns the problems found, empty when there are none.
func fuzzCheck(s *fuzzState, host *fuzzHost, req, resp []byte) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if host.locked {
		bad("returned holding page lock %v", host.held)
	}
	if len(req) < 32 {
		if len(resp) != 0 {
			bad("%d-byte request answered", len(req))
		}
		if len(host.records)+len(host.files)+host.drawn != 0 {
			bad("unanswered request changed state or drew random bytes")
		}
		return problems
	}
	if len(resp) < 32 || len(resp) > abi.ResponseCap {
		return append(problems, fmt.Sprintf("response length %d for a %d-byte request", len(resp), len(req)))
	}

	// The response rules (PROTOCOL.md section 2), model-independent.
	st := abi.Status(resp[2])
	if resp[0] != fuzzConfig.RaidaID || resp[1] != 0 || resp[4] != 0 || resp[5] != 1 || resp[8] != 0 {
		bad("fixed header bytes wrong: %x", resp[:9])
	}
	if !bytes.Equal(resp[6:8], req[30:32]) {
		bad("echo bytes %x, want %x", resp[6:8], req[30:32])
	}
	if !st.Known() || st == abi.StatusInvalidKeyStart || st == abi.StatusMemoryAlloc || st == abi.StatusInternal {
		bad("status %d (%v) is never answered by a healthy node", st, st)
	}
	bodyLen := int(resp[9])<<16 | int(resp[10])<<8 | int(resp[11])
	if bodyLen != len(resp)-32 || bodyLen == 1 || bodyLen == 2 {
		bad("body length field %d in a %d-byte response", bodyLen, len(resp))
	}
	if bodyLen > 0 && !bytes.HasSuffix(resp, fuzzTrailer) {
		bad("payload not followed by 3E 3E: %x", resp[32:])
	}
	wantGroup := req[4]
	if fuzzGroupZero[st] {
		wantGroup = 0
	}
	if resp[3] != wantGroup {
		bad("group byte %d for status %d, want %d", resp[3], st, wantGroup)
	}
	cmd := req[5]
	if req[4] != 4 || cmd != 45 || st != abi.StatusSuccess {
		if len(host.records) != 0 {
			bad("records written by group %d command %d status %d: %v", req[4], cmd, st, host.records)
		}
	}
	if req[4] != 4 || cmd != 41 || st != abi.StatusSuccess {
		if len(host.files) != 0 {
			bad("files written by group %d command %d status %d: %v", req[4], cmd, st, slices.Sorted(maps.Keys(host.files)))
		}
	} else if len(host.files) > 1 {
		bad("41 wrote %d files", len(host.files))
	}
	if host.drawn != 0 && (req[4] != 4 || cmd != 44 || st != abi.StatusNoError) {
		bad("%d random bytes drawn by group %d command %d status %d", host.drawn, req[4], cmd, st)
	}

	// The plaintext payload: type 1 responses are encrypted under the
	// encryption coin's AN as it was before the request, continuing the
	// keystream after the request body's blocks.
	payload := resp[32:max(32, len(resp)-2)]
	if req[16] == 1 && len(payload) > 0 {
		rec := s.records[fuzzKey{int8(req[17]), binary.BigEndian.Uint32(req[18:22])}]
		var iv [16]byte
		copy(iv[:8], req[24:32])
		L := int(binary.BigEndian.Uint16(req[22:24]))
		payload = fuzzCTR(rec[:16], iv, (L-2+15)/16, payload)
	}
	// 45: no record changes unless its answer byte says so.
	if req[4] == 4 && cmd == 45 && st == abi.StatusSuccess && len(host.records) != 0 && !slices.Contains(payload, 1) {
		bad("45 answered %x but wrote records %v", payload, host.records)
	}

	// The reference model.
	want := fuzzModel(s, req)
	if st != want.status {
		bad("status %d (%v), model says %d (%v)", st, st, want.status, want.status)
	}
	wantChallenge := want.challenge
	if wantChallenge == nil {
		wantChallenge = make([]byte, 16)
	}
	if !bytes.Equal(resp[16:32], wantChallenge) {
		bad("challenge answer %x, model says %x", resp[16:32], wantChallenge)
	}
	if (want.payload == nil) != (bodyLen == 0) || !bytes.Equal(payload, want.payload) {
		bad("payload (plaintext) %x, model says %x", payload, want.payload)
	}
	if host.drawn != want.randomBytes {
		bad("%d random bytes drawn, model says %d", host.drawn, want.randomBytes)
	}
	for k, rec := range host.records {
		if !want.mayWrite[k] {
			bad("record (%d, %d) written to %x, model allows no write", k.den, k.sn, rec)
		}
		if rec != s.records[k] && rec != want.records[k] {
			bad("record (%d, %d) = %x, model says %x", k.den, k.sn, rec, want.records[k])
		}
	}
	for k, rec := range want.records {
		if got := host.record(k); got != rec {
			bad("record (%d, %d) = %x, model says %x", k.den, k.sn, got, rec)
		}
	}
	for name, data := range host.files {
		old, existed := s.files[name]
		if w, ok := want.files[name]; ok && !bytes.Equal(data, w) || !ok && (!existed || !bytes.Equal(data, old)) {
			bad("file %s = %x, model says %x (unchanged: %v)", name, data, w, !ok)
		}
	}
	for name, data := range want.files {
		if got, _ := host.file(name); !bytes.Equal(got, data) {
			bad("file %s = %x, model says %x", name, got, data)
		}
	}
	return problems
}

func FuzzHandle(f *testing.F) {
	s, err := loadFuzzState()
	if err != nil {
		f.Fatal(err)
	}
	for _, req := range s.seeds {
		f.Add(req)
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		host := newFuzzHost(t, s)
		resp := make([]byte, abi.ResponseCap)
		n := NewHandler(host, fuzzConfig).Handle(req, resp)
		if n < 0 || n > abi.ResponseCap {
			t.Fatalf("Handle returned %d", n)
		}
		if problems := fuzzCheck(s, host, req, resp[:n]); len(problems) > 0 {
			t.Errorf("request  %x\nresponse %x", req, resp[:n])
			for _, p := range problems {
				t.Error(p)
			}
		}
	})
}

// TestFuzzModelVectors checks the fuzz harness itself on the vectors whose
// state it reproduces exactly: with the vector's own state as the base,
// every invariant and the model must agree with the handler, and a wrong
// answer must be caught.
func TestFuzzModelVectors(t *testing.T) {
	union, err := loadFuzzState()
	if err != nil {
		t.Fatal(err)
	}
	vectors, err := loadFuzzVectors()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, v := range vectors {
		if v.Config.RaidaID != int(fuzzConfig.RaidaID) || v.Config.CoinID != int(fuzzConfig.CoinID) || v.TimeUnix != fuzzTimeNanos/1e9 {
			continue
		}
		s := &fuzzState{records: map[fuzzKey][abi.RecordSize]byte{}, files: map[string][]byte{}, random: union.random}
		for _, r := range v.State.Records {
			var rec [abi.RecordSize]byte
			copy(rec[:], fuzzHex(r.AN))
			rec[16] = byte(r.MFS)
			s.records[fuzzKey{int8(r.Den), r.SN}] = rec
		}
		for name, h := range v.State.Files {
			s.files[name] = fuzzHex(h)
		}
		req := fuzzHex(v.RequestHex)
		host := newFuzzHost(t, s)
		resp := make([]byte, abi.ResponseCap)
		resp = resp[:NewHandler(host, fuzzConfig).Handle(req, resp)]
		if p := fuzzCheck(s, host, req, resp); len(p) > 0 {
			t.Errorf("%s: %q", v.Name, p)
		}
		checked++
		if len(resp) >= 32 {
			resp[3] ^= 0x80 // the group byte is checked for every status
			if p := fuzzCheck(s, host, req, resp); len(p) == 0 {
				t.Errorf("%s: a corrupted group byte passed", v.Name)
			}
		}
	}
	if checked < 150 {
		t.Errorf("only %d vectors checked", checked)
	}
}

func fuzzHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
