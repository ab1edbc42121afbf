package keyexchange

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"

	"github.com/raidakx/raidakx/abi"
)

// fakeHost is an in-memory Host that also checks the lock protocol the
// host enforces (one lock at a time, records only under their page lock).
type fakeHost struct {
	stdCrypto
	t       *testing.T
	records map[[2]int64][17]byte
	files   map[string][]byte
	random  []byte
	now     int64
	locked  bool
	held    [2]int64
	ioFail  bool // every file and page operation fails with ErrIO
}

func newFakeHost(t *testing.T) *fakeHost {
	return &fakeHost{t: t, records: map[[2]int64][17]byte{}, files: map[string][]byte{}, now: 1795000000e9}
}

func (f *fakeHost) Random(dst []byte) abi.Errno {
	if len(dst) > len(f.random) {
		return abi.ErrNoRandom
	}
	copy(dst, f.random)
	f.random = f.random[len(dst):]
	return abi.OK
}

func (f *fakeHost) PageLock(den int8, page uint32) abi.Errno {
	if f.locked {
		f.t.Fatalf("page_lock(%d, %d) while holding %v", den, page, f.held)
	}
	if f.ioFail {
		return abi.ErrIO
	}
	f.locked, f.held = true, [2]int64{int64(den), int64(page)}
	return abi.OK
}

func (f *fakeHost) PageUnlock(den int8, page uint32) abi.Errno {
	if !f.locked || f.held != [2]int64{int64(den), int64(page)} {
		f.t.Fatalf("page_unlock(%d, %d) not held", den, page)
	}
	f.locked = false
	return abi.OK
}

func (f *fakeHost) checkHeld(den int8, sn uint32) {
	if !f.locked || f.held != [2]int64{int64(den), int64(sn / 1024)} {
		f.t.Fatalf("record (%d, %d) accessed without its page lock", den, sn)
	}
}

// RecordRead follows ABI version 2: holding no lock, the read locks the
// record's page itself.
func (f *fakeHost) RecordRead(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	if !f.locked {
		switch {
		case !abi.RecordExists(den, sn):
			return abi.ErrNoRecord
		case f.ioFail:
			return abi.ErrIO
		}
	} else {
		f.checkHeld(den, sn)
	}
	*rec = f.records[[2]int64{int64(den), int64(sn)}]
	return abi.OK
}

func (f *fakeHost) RecordWrite(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	f.checkHeld(den, sn)
	f.records[[2]int64{int64(den), int64(sn)}] = *rec
	return abi.OK
}

func (f *fakeHost) FileRead(dir abi.Dir, name, dst []byte) (int, abi.Errno) {
	if f.ioFail {
		return 0, abi.ErrIO
	}
	data, ok := f.files[dir.String()+"/"+string(name)]
	if !ok {
		return 0, abi.ErrNotFound
	}
	return copy(dst, data), abi.OK
}

func (f *fakeHost) FileWrite(dir abi.Dir, name, data []byte) abi.Errno {
	if f.ioFail {
		return abi.ErrIO
	}
	f.files[dir.String()+"/"+string(name)] = bytes.Clone(data)
	return abi.OK
}

func (f *fakeHost) TimeNow() int64                     { return f.now }
func (f *fakeHost) Log(level abi.LogLevel, msg []byte) { f.t.Logf("module log %d: %s", level, msg) }

var testConfig = abi.Config{RaidaID: 14, CoinID: 6}

// challenge is a valid challenge: 12 bytes and their CRC-32.
func challenge() []byte {
	c := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c))
}

// packet builds a type-0 request for group/command with the body
// challenge || payload || 3E 3E.
func packet(group, command byte, payload []byte) []byte {
	body := append(append(challenge(), payload...), 0x3e, 0x3e)
	h := abi.RequestHeader{Route: abi.Route{Router: 1, RaidaID: 14, Group: group, Command: command, CoinID: 6},
		BodyLength: uint16(len(body)), Nonce: [8]byte{1, 2, 3, 4, 5, 6, 0xaa, 0xbb}}
	p := make([]byte, 32)
	h.Encode(p)
	return append(p, body...)
}

func handle(t *testing.T, host *fakeHost, req []byte) []byte {
	t.Helper()
	resp := make([]byte, abi.ResponseCap)
	n := NewHandler(host, testConfig).Handle(req, resp)
	if host.locked {
		t.Fatalf("handler returned holding page %v", host.held)
	}
	return resp[:n]
}

func TestHeaderChecks(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p []byte)
		status abi.Status
		group  byte
	}{
		{"ok", func(p []byte) {}, abi.StatusSuccess, 4},
		{"router", func(p []byte) { p[0] = 2 }, abi.StatusInvalidRouting, 0},
		{"router before split", func(p []byte) { p[0], p[1] = 0, 1 }, abi.StatusInvalidRouting, 0},
		{"split", func(p []byte) { p[1] = 1 }, abi.StatusInvalidSplitID, 0},
		{"raida id", func(p []byte) { p[2] = 13 }, abi.StatusInvalidRaidaID, 0},
		{"group before shard", func(p []byte) { p[3], p[4] = 9, 16 }, abi.StatusInvalidCommandGroup, 0},
		{"shard", func(p []byte) { p[3] = 4 }, abi.StatusInvalidShardID, 4},
		{"command", func(p []byte) { p[5] = 46 }, abi.StatusInvalidCommand, 4},
		{"unknown group", func(p []byte) { p[4] = 7 }, abi.StatusInvalidCommand, 7},
		{"coin id", func(p []byte) { p[7] = 7 }, abi.StatusInvalidCoinID, 4},
		{"encryption type 2 (locker)", func(p []byte) { p[16] = 2 }, abi.StatusInvalidEncryption, 4},
		{"encryption type 3", func(p []byte) { p[16] = 3 }, abi.StatusInvalidEncryptionCode, 4},
		{"type 1 den 7", func(p []byte) { p[16], p[17] = 1, 7 }, abi.StatusInvalidEncryption, 4},
		{"type 1 sn 1024000", func(p []byte) { p[16] = 1; binary.BigEndian.PutUint32(p[18:], 1024000) }, abi.StatusInvalidEncryption, 4},
		{"truncated body", func(p []byte) { p[23]++ }, abi.StatusInvalidPacketLength, 4},
		{"trailer", func(p []byte) { p[len(p)-1] = 0 }, abi.StatusInvalidEOF, 4},
		{"crc", func(p []byte) { p[32] ^= 1 }, abi.StatusInvalidCRC, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := packet(4, 42, nil)
			tt.edit(req)
			resp := handle(t, newFakeHost(t), req)
			if len(resp) != 32 {
				t.Fatalf("response length %d, want 32", len(resp))
			}
			if abi.Status(resp[2]) != tt.status || resp[3] != tt.group {
				t.Errorf("status %v group %d, want %v group %d", abi.Status(resp[2]), resp[3], tt.status, tt.group)
			}
			// Echo bytes, frame count and node id are always set.
			if resp[0] != 14 || resp[4] != 0 || resp[5] != 1 || resp[6] != 0xaa || resp[7] != 0xbb {
				t.Errorf("fixed fields wrong: %x", resp[:8])
			}
			wantChallenge := make([]byte, 16)
			if tt.status == abi.StatusSuccess {
				wantChallenge = challenge()
			}
			if !bytes.Equal(resp[16:32], wantChallenge) {
				t.Errorf("challenge answer %x, want %x", resp[16:32], wantChallenge)
			}
		})
	}
}

func TestShortPacketGetsNoAnswer(t *testing.T) {
	for n := range 32 {
		if resp := handle(t, newFakeHost(t), packet(0, 0, nil)[:n]); len(resp) != 0 {
			t.Fatalf("%d-byte packet answered %x", n, resp)
		}
	}
}

func TestBodyLengths(t *testing.T) {
	tests := []struct {
		name    string
		command byte
		body    []byte // the whole body, challenge and trailer included
		status  abi.Status
	}{
		{"echo empty", 0, nil, abi.StatusSuccess},
		{"42 empty", 42, nil, abi.StatusSuccess},
		{"41 empty", 41, nil, abi.StatusEmptyRequest},
		{"43 empty", 43, nil, abi.StatusEmptyRequest},
		{"44 empty", 44, nil, abi.StatusEmptyRequest},
		{"45 empty", 45, nil, abi.StatusInvalidPacketLength},
		{"one byte", 42, []byte{0x3e}, abi.StatusInvalidPacketLength},
		{"trailer only", 42, []byte{0x3e, 0x3e}, abi.StatusInvalidPacketLength},
		{"bad trailer before short", 42, []byte{0x3e, 0}, abi.StatusInvalidEOF},
		{"17 bytes", 42, append(make([]byte, 15), 0x3e, 0x3e), abi.StatusInvalidPacketLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group := byte(4)
			if tt.command == 0 {
				group = 0
			}
			req := packet(group, tt.command, nil)[:32]
			binary.BigEndian.PutUint16(req[22:], uint16(len(tt.body)))
			req = append(req, tt.body...)
			resp := handle(t, newFakeHost(t), req)
			if abi.Status(resp[2]) != tt.status {
				t.Errorf("status %v, want %v", abi.Status(resp[2]), tt.status)
			}
			if !bytes.Equal(resp[16:32], make([]byte, 16)) {
				t.Errorf("challenge answer %x, want zeros", resp[16:32])
			}
		})
	}
}

func TestBytesAfterBodyIgnored(t *testing.T) {
	req := append(packet(0, 0, nil), 0xde, 0xad)
	if resp := handle(t, newFakeHost(t), req); abi.Status(resp[2]) != abi.StatusSuccess {
		t.Fatalf("status %v", abi.Status(resp[2]))
	}
}

func ctrXOR(t *testing.T, key []byte, iv [16]byte, src []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(src))
	cipher.NewCTR(b, iv[:]).XORKeyStream(out, src)
	return out
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestType1ResponseContinuesKeystream(t *testing.T) {
	an := mustHex("820a3fc6f7d59a62c6d90384853adac9")
	host := newFakeHost(t)
	var rec [17]byte
	copy(rec[:], an)
	host.records[[2]int64{1, 5}] = rec
	host.files["Keys/"+hex.EncodeToString(make([]byte, 16))] = []byte("0123456789abcdefXYZ") // 19 bytes

	plain := packet(4, 43, make([]byte, 37)) // 43: body 55
	req := bytes.Clone(plain)
	req[16], req[17] = 1, 1
	binary.BigEndian.PutUint32(req[18:], 5)
	var iv [16]byte
	copy(iv[:8], req[24:32])
	copy(req[32:32+53], ctrXOR(t, an, iv, plain[32:32+53]))

	resp := handle(t, host, req)
	if abi.Status(resp[2]) != abi.StatusSuccess || len(resp) != 32+19+2 {
		t.Fatalf("status %v length %d: %x", abi.Status(resp[2]), len(resp), resp)
	}
	// The request used ceil(53/16) = 4 blocks: the payload starts at block 4.
	full := ctrXOR(t, an, iv, make([]byte, 64+19))
	for i, c := range []byte("0123456789abcdefXYZ") {
		if resp[32+i] != c^full[64+i] {
			t.Fatalf("payload byte %d: got %02x, want %02x", i, resp[32+i], c^full[64+i])
		}
	}
	for i := range 16 {
		if resp[16+i] != challenge()[i]^an[i] {
			t.Fatalf("challenge answer %x", resp[16:32])
		}
	}
}
