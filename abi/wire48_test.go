package abi

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRequestHeader48 decodes and re-encodes the header of the type-4
// echo of TYPES45.md section 7.
func TestRequestHeader48(t *testing.T) {
	b := unhex(t, "01000e0000000006 0000000000000000"+ // bytes 0-15
		"04 0022 01 00000005"+ // type, L = 34, den 1, sn 5
		"101112131415161718191a1b1c1d1e1f2021222324252627") // N
	h, err := DecodeRequestHeader48(b)
	if err != nil {
		t.Fatal(err)
	}
	want := RequestHeader48{Route: Route{Router: 1, RaidaID: 14, CoinID: 6, EncryptionType: EncryptionCoin}, BodyLength: 34, Den: 1, SN: 5,
		Nonce: [24]byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27}}
	if h != want {
		t.Fatalf("decoded %+v, want %+v", h, want)
	}
	if den, sn := h.Coin2(); den != 0x10 || sn != 0x11121314 {
		t.Errorf("Coin2 = %d, %#x; want 16, 0x11121314", den, sn)
	}
	got := make([]byte, Header48Size)
	h.Encode(got)
	if !bytes.Equal(got, b) {
		t.Errorf("encoded %x, want %x", got, b)
	}
	if _, err := DecodeRequestHeader48(b[:47]); err == nil {
		t.Error("a 47-byte header decoded")
	}
}

// TestResponseHeader48 decodes the reply to the version request of
// TYPES45.md section 7 (node raida 14) and re-encodes it.
func TestResponseHeader48(t *testing.T) {
	b := unhex(t, "0e00fa00 000000b8 0000002a 00000000 04 01 00000005 0000"+
		"167127b5ffe074288d2aeb20f3f1b925125d93e76d9e"+ // R, 22 bytes
		"2627") // N[22:24]
	h, err := DecodeResponseHeader48(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.RaidaID != 14 || h.Status != StatusSuccess || h.Group != 0 || h.Micros != 0xb8 || h.BodyLength != 42 ||
		h.EncryptionType != 4 || h.Den != 1 || h.SN != 5 || h.NonceEcho != [2]byte{0x26, 0x27} ||
		!bytes.Equal(h.Random[:], b[24:46]) {
		t.Fatalf("decoded %+v", h)
	}
	got := make([]byte, Header48Size)
	h.Encode(got)
	if !bytes.Equal(got, b) {
		t.Errorf("encoded %x, want %x", got, b)
	}
}

// TestPutInternalError48 checks the host's 252 answer to type-4/5
// requests: the 48-byte form, written out.
func TestPutInternalError48(t *testing.T) {
	req := unhex(t, "01000e00042c0006 0000000000000000 05 0022 01 00000005"+ // group 4, command 44
		"101112131415161718191a1b1c1d1e1f2021222324252627")
	tests := []struct {
		name string
		req  []byte
		want string
	}{
		{"whole header", req, "0e00fc04 00000000 00000000 00000000 05 00 00000000 0000" + strings.Repeat("00", 22) + "2627"},
		{"17 bytes", req[:17], "0e00fc04 00000000 00000000 00000000 05 00 00000000 0000" + strings.Repeat("00", 24)},
		{"bad router", append([]byte{2}, req[1:]...), "0e00fc00 00000000 00000000 00000000 05 00 00000000 0000" + strings.Repeat("00", 22) + "2627"},
	}
	for _, tt := range tests {
		dst := make([]byte, ResponseCap)
		n := PutInternalError(dst, tt.req, 14)
		if want := unhex(t, tt.want); !bytes.Equal(dst[:n], want) {
			t.Errorf("%s: got %x, want %x", tt.name, dst[:n], want)
		}
	}
	if n := PutInternalError(make([]byte, ResponseCap), req[:16], 14); n != 0 {
		t.Errorf("16 bytes answered with %d", n)
	}
}
