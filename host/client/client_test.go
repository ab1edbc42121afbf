package client_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/raidakx/raidakx/host/client"
)

// TestType01Unchanged re-encodes type-0/1 requests of testvectors/ (made
// by testvectors/gen with the standard library, copied here) from their
// nonce, challenge and payload, and decodes their answers: types 4 and 5
// must leave these bytes alone.
func TestType01Unchanged(t *testing.T) {
	tests := []struct {
		name     string // the vector
		an       string // the encryption coin's AN, "" for type 0
		den      int8
		sn       uint32
		request  string
		response string
		payload  string // the decrypted answer payload, "" for none
	}{
		{"echo/facts-type0", "", 0, 0,
			"01000e00000000060000000000000000000000000000001282d6ad8ff317aabb000102030405060708090a0b9270c9653e3e",
			"0e00fa000001aabb0000000000000000000102030405060708090a0b9270c965", ""},
		{"echo/facts-type1", "820a3fc6f7d59a62c6d90384853adac9", 1, 5,
			"01000e000000000600000000000000000101000000050012112233445566778883a733f9293fd20c4163a0827fa07efe3e3e",
			"0e00fa00000177880000000000000000820b3dc5f3d09c65ced0098f174a13ac", ""},
		{"k44/23-type0", "", 0, 0,
			"01000e00042c000600000000000000000000000000000017aa0ff632829f02df058fa414252121f56580dff9ed84118d01000013883e3e",
			"0e000004000102df0000001200000000058fa414252121f56580dff9ed84118d7b776ddc0b7bd43d96899008ff3eeb1a3e3e",
			"7b776ddc0b7bd43d96899008ff3eeb1a"},
		{"k44/23-type1", "820a3fc6f7d59a62c6d90384853adac9", 1, 5,
			"01000e00042c000600000000000000000101000000050017aa520448d0a2f6e0d156c31b4a59b5dc4cb8ebf63acb6f1282c1231acc3e3e",
			"0e0000040001f6e000000012000000000a49e1aadb49243d56d0d84e9bdf1b03c24f8851c5253b2da124c4ca2a71c3ef3e3e", ""},
		{"k43/type1", "a22b31d0311bef3f48c7638f49e08593", 5, 55555,
			"01000e00042b0006000000000000000001050000d90300376cd5572076b1e92ce6dee300eb0622dda5cf8ee4cf985ade5135724ba3f27919ff99ef0a6fdc17ce69eaf0ff2371499322692621acdc0fd426de3e81903e3e",
			"0e00fa040001e92c0000002a000000004fa32d19d8f7d36d5e4af014c801fb8487354501102499b3030a4c03ba35d9ae1235e88bd1e5406fe04a7f3a771953c31238387a8cf53b363e3e", ""},
	}
	node := client.Node{RaidaID: 14, CoinID: 6}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.request)
			enc := client.Encryption{Den: tt.den, SN: tt.sn}
			if tt.an != "" {
				enc.AN = unhex(t, tt.an)
			}
			// The plaintext body: challenge (12) ‖ CRC (4) ‖ payload.
			plain := bytes.Clone(want[32 : len(want)-2])
			if enc.AN != nil {
				plain = refCTR(t, enc.AN, append(bytes.Clone(want[24:32]), make([]byte, 8)...), plain)
			}
			r := client.NewRequest(want[4], want[5], plain[16:], enc)
			r.Nonce = [8]byte(want[24:32])
			r.Challenge = [12]byte(plain[:12])
			if got := r.Encode(node); !bytes.Equal(got, want) {
				t.Fatalf("request\n got %x\nwant %x", got, want)
			}
			resp, err := r.Decode(unhex(t, tt.response))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Long != nil {
				t.Fatal("a type-0/1 answer has a long header")
			}
			if tt.payload != "" && !bytes.Equal(resp.Payload, unhex(t, tt.payload)) {
				t.Fatalf("payload %x, want %s", resp.Payload, tt.payload)
			}
		})
	}
}

// TestType01Layout writes out a type-1 request with no body (Empty) and a
// type-0 request: the 32-byte header as RAIDA-FACTS section 2 has it.
func TestType01Layout(t *testing.T) {
	an := bytes.Repeat([]byte{0x15}, 16)
	for _, enc := range []client.Encryption{{Den: 1, SN: 5, AN: an}, {Type: 1, Den: 1, SN: 5, AN: an}, {Den: 1, SN: 5}} {
		r := client.NewRequest(4, 44, []byte{1, 2, 3}, enc)
		r.Empty = true
		r.Nonce = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
		p := r.Encode(client.Node{RaidaID: 7, CoinID: 6})
		typ := byte(1)
		if enc.AN == nil {
			typ = 0
		}
		want := unhex(t, "01000700042c0006 0000000000000000 00 01 00000005 0000 0102030405060708")
		want[16] = typ
		if !bytes.Equal(p, want) {
			t.Fatalf("%+v: %x, want %x", enc, p, want)
		}
		if binary.BigEndian.Uint16(p[22:]) != 0 {
			t.Fatal("L")
		}
	}
}
