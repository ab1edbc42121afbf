package keyexchange

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/raidakx/raidakx/abi"
)

func TestEncryptKey(t *testing.T) {
	an := mustHex("87d76f0a20024ba1ebd077ddf979f682")
	tests := []struct {
		name    string
		payload []byte
		random  []byte
		status  abi.Status
		block   []byte // the plaintext block
	}{
		{
			name:    "module draws the key (body 23)",
			payload: []byte{1, 0, 0, 0, 7}, // den 1, sn 7
			random:  mustHex("a1a2a3a4a5a6a7a8b1b2"),
			status:  abi.StatusNoError,
			//                 K(8)             den sn(4)    R(2) FF
			block: mustHex("a1a2a3a4a5a6a7a8" + "01" + "00000007" + "b1b2" + "ff"),
		},
		{
			name:    "client key part (body 31)",
			payload: []byte{1, 0, 0, 0, 7, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8},
			random:  mustHex("b1b2"),
			status:  abi.StatusNoError,
			block:   mustHex("c1c2c3c4c5c6c7c8" + "01" + "00000007" + "b1b2" + "ff"),
		},
		{"den 7", []byte{7, 0, 0, 0, 7}, nil, abi.StatusInvalidSNOrDenomination, nil},
		{"den -9", []byte{0xf7, 0, 0, 0, 7}, nil, abi.StatusInvalidSNOrDenomination, nil},
		{"sn 1024000", []byte{1, 0, 0x0f, 0xa0, 0x00}, nil, abi.StatusInvalidSNOrDenomination, nil},
		{"body 24", []byte{1, 0, 0, 0, 7, 0}, nil, abi.StatusInvalidPacketLength, nil},
		{"random fails", []byte{1, 0, 0, 0, 7}, []byte{1}, abi.StatusInternal, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := newFakeHost(t)
			var rec [17]byte
			copy(rec[:], an)
			host.records[[2]int64{1, 7}] = rec
			host.random = tt.random
			req := packet(4, 44, tt.payload)
			resp := handle(t, host, req)
			if abi.Status(resp[2]) != tt.status {
				t.Fatalf("status %v, want %v", abi.Status(resp[2]), tt.status)
			}
			if tt.block == nil {
				if len(resp) != 32 {
					t.Fatalf("error with payload: %x", resp)
				}
				return
			}
			if len(host.random) != 0 {
				t.Errorf("%d random bytes left undrawn", len(host.random))
			}
			var iv [16]byte
			copy(iv[:8], req[24:32])
			want := ctrXOR(t, an, iv, tt.block)
			if !bytes.Equal(resp[32:48], want) || !bytes.Equal(resp[48:], []byte{0x3e, 0x3e}) || resp[11] != 18 {
				t.Errorf("payload %x, want %x 3e3e", resp[32:], want)
			}
		})
	}
}

// coinFile returns a 440-byte coin file for coin id 6 whose AN for RAIDA
// i is 16 bytes of i+1.
func coinFile() []byte {
	f := make([]byte, 440)
	binary.BigEndian.PutUint16(f[2:], 6)
	for i := range 25 {
		copy(f[40+16*i:], bytes.Repeat([]byte{byte(i + 1)}, 16))
	}
	return f
}

// keyRecord returns a 45 record whose key block is encrypted under the
// AN coinFile gives RAIDA index.
func keyRecord(t *testing.T, iv [16]byte, split, index byte, den int8, sn uint32, half []byte, edit func(block []byte)) []byte {
	block := append(bytes.Clone(half), byte(den))
	block = binary.BigEndian.AppendUint32(block, sn)
	block = append(block, 0x55, 0x66, 0xff)
	if edit != nil {
		edit(block)
	}
	key := bytes.Repeat([]byte{index + 1}, 16)
	if index > 24 {
		key = make([]byte, 16)
	}
	//             coin id, split, index, shard, den
	rec := []byte{0, 6, split, index, 0, byte(den)}
	rec = binary.BigEndian.AppendUint32(rec, sn)
	return append(rec, ctrXOR(t, key, iv, block)...)
}

func TestDecryptRaidaKey(t *testing.T) {
	iv := [16]byte{1, 2, 3, 4, 5, 6, 0xaa, 0xbb}
	h1 := mustHex("1111111111111111")
	h2 := mustHex("2222222222222222")
	records := [][]byte{
		keyRecord(t, iv, 0, 3, 1, 7, h1, nil),                                // accepted: half 0 of (1, 7)
		keyRecord(t, iv, 1, 3, 1, 7, h2, nil),                                // accepted: half 1 of (1, 7)
		keyRecord(t, iv, 2, 3, 1, 8, h1, nil),                                // split 2
		keyRecord(t, iv, 0, 25, 1, 8, h1, nil),                               // index 25
		keyRecord(t, iv, 0, 3, 7, 8, h1, nil),                                // den 7
		keyRecord(t, iv, 0, 3, 1, 1024000, h1, nil),                          // sn out of range
		keyRecord(t, iv, 0, 3, 1, 8, h1, func(b []byte) { b[15] = 0xfe }),    // no FF
		keyRecord(t, iv, 0, 3, 1, 8, h1, func(b []byte) { b[8] = 2 }),        // den differs
		keyRecord(t, iv, 0, 3, 1, 8, h1, func(b []byte) { b[12] = 9 }),       // sn differs
		keyRecord(t, iv, 0, 4, 1, 8, h1, func(b []byte) { copy(b[:8], h2) }), // accepted: (1, 8) half 0 = h2
		keyRecord(t, iv, 0, 4, 1, 8, h1, nil),                                // accepted later: wins
	}
	want := []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1}
	payload := []byte{2, 0, 0, 0x13, 0x88} // decryption coin (2, 5000)
	for _, r := range records {
		payload = append(payload, r...)
	}
	host := newFakeHost(t)
	host.files["coins/02.5000.bin"] = coinFile()
	resp := handle(t, host, packet(4, 45, payload))
	if abi.Status(resp[2]) != abi.StatusSuccess || !bytes.Equal(resp[32:32+len(want)], want) {
		t.Fatalf("status %v answer %x, want %x", abi.Status(resp[2]), resp[32:], want)
	}
	mfs := byte(45) // 2026-11
	if got := host.records[[2]int64{1, 7}]; !bytes.Equal(got[:], append(append(bytes.Clone(h1), h2...), mfs)) {
		t.Errorf("record (1, 7) = %x", got)
	}
	if got := host.records[[2]int64{1, 8}]; !bytes.Equal(got[:], append(append(bytes.Clone(h1), make([]byte, 8)...), mfs)) {
		t.Errorf("record (1, 8) = %x", got)
	}
	if len(host.records) != 2 {
		t.Errorf("%d records changed, want 2", len(host.records))
	}
}

func TestDecryptRaidaKeyErrors(t *testing.T) {
	iv := [16]byte{1, 2, 3, 4, 5, 6, 0xaa, 0xbb}
	rec := keyRecord(t, iv, 0, 3, 1, 7, mustHex("1111111111111111"), nil)
	coin := []byte{2, 0, 0, 0x13, 0x88}
	wrongID := coinFile()
	wrongID[3] = 7
	tests := []struct {
		name    string
		file    []byte // coins/02.5000.bin, nil for none
		payload []byte
		status  abi.Status
	}{
		{"no coin file", nil, append(bytes.Clone(coin), rec...), abi.StatusCoinLoad},
		{"439 bytes", coinFile()[:439], append(bytes.Clone(coin), rec...), abi.StatusCoinLoad},
		{"441 bytes", append(coinFile(), 0), append(bytes.Clone(coin), rec...), abi.StatusCoinLoad},
		{"coin id 7", wrongID, append(bytes.Clone(coin), rec...), abi.StatusCoinLoad},
		{"body 48", coinFile(), append(bytes.Clone(coin), rec[:25]...), abi.StatusInvalidPacketLength},
		{"body 50", coinFile(), append(append(bytes.Clone(coin), rec...), 0), abi.StatusCoinsNotDiv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := newFakeHost(t)
			if tt.file != nil {
				host.files["coins/02.5000.bin"] = tt.file
			}
			resp := handle(t, host, packet(4, 45, tt.payload))
			if abi.Status(resp[2]) != tt.status || len(resp) != 32 {
				t.Errorf("status %v length %d, want %v 32", abi.Status(resp[2]), len(resp), tt.status)
			}
			if len(host.records) != 0 {
				t.Errorf("records changed: %v", host.records)
			}
		})
	}
}

func postKeyPayload(id []byte, ks, kl byte) []byte {
	p := make([]byte, 167)
	copy(p, id)
	p[32] = 0xfe                       // den
	copy(p[33:37], []byte{1, 2, 3, 4}) // sn
	for i := range 128 {
		p[37+i] = byte(i)
	}
	p[165], p[166] = ks, kl
	return p
}

func TestPostAndGetKey(t *testing.T) {
	id := mustHex("00112233445566778899aabbccddeeff")
	name := "Keys/" + hex.EncodeToString(id)
	host := newFakeHost(t)
	host.files[name] = bytes.Repeat([]byte{0xee}, 600) // longer: must not survive

	resp := handle(t, host, packet(4, 41, postKeyPayload(id, 100, 27))) // KS + KL = 127
	if abi.Status(resp[2]) != abi.StatusSuccess || len(resp) != 32 {
		t.Fatalf("41: status %v length %d", abi.Status(resp[2]), len(resp))
	}
	want := []byte{0xfe, 1, 2, 3, 4}
	for i := 100; i < 127; i++ {
		want = append(want, byte(i))
	}
	if !bytes.Equal(host.files[name], want) {
		t.Fatalf("key file %x, want %x", host.files[name], want)
	}
	resp = handle(t, host, packet(4, 41, postKeyPayload(id, 100, 28))) // 128
	if abi.Status(resp[2]) != abi.StatusInvalidKeyLength {
		t.Fatalf("41 KS+KL=128: status %v", abi.Status(resp[2]))
	}

	get := append(bytes.Clone(id), make([]byte, 21)...) // id, den, sn, IP
	resp = handle(t, host, packet(4, 43, get))
	if abi.Status(resp[2]) != abi.StatusSuccess || !bytes.Equal(resp[32:len(resp)-2], want) {
		t.Fatalf("43: status %v payload %x", abi.Status(resp[2]), resp[32:])
	}

	host.files[name] = bytes.Repeat([]byte{7}, 513)
	resp = handle(t, host, packet(4, 43, get))
	if len(resp) != 32+512+2 {
		t.Errorf("43 of 513 bytes: response length %d, want %d", len(resp), 32+512+2)
	}
	host.files[name] = nil
	if resp = handle(t, host, packet(4, 43, get)); abi.Status(resp[2]) != abi.StatusSuccess || len(resp) != 32 || resp[11] != 0 {
		t.Errorf("43 of an empty file: %x", resp)
	}
	delete(host.files, name)
	if resp = handle(t, host, packet(4, 43, get)); abi.Status(resp[2]) != abi.StatusFilesystem {
		t.Errorf("43 of a missing file: status %v", abi.Status(resp[2]))
	}
	if _, ok := host.files[name]; ok {
		t.Error("43 created the key file")
	}
	host.ioFail = true
	if resp = handle(t, host, packet(4, 41, postKeyPayload(id, 0, 1))); abi.Status(resp[2]) != abi.StatusFilesystem {
		t.Errorf("41 with a failing disk: status %v", abi.Status(resp[2]))
	}
}

func TestMFS(t *testing.T) {
	tests := []struct {
		year, month int
		want        byte
	}{
		{2023, 2, 0},
		{2023, 1, 255}, // before the start wraps
		{2026, 11, 45},
		{2044, 6, 0}, // 256 months later
	}
	for _, tt := range tests {
		if got := abi.MFS(tt.year, tt.month); got != tt.want {
			t.Errorf("MFS(%d, %d) = %d, want %d", tt.year, tt.month, got, tt.want)
		}
	}
}
